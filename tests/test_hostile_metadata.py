"""Model metadata is untrusted input: every field is checked on load against the schema
(``yolopose.core.metadata.FIELD_RULES``), and a bad value is a ``MetadataError`` naming the file and
the field, through every engine and the CLI (issue 30, case 2)."""
from __future__ import annotations

import json
import math

import pytest

import _graphs as g
import _hostile as h
import _hostile_metadata as hm
from yolopose import PoseEstimator
from yolopose.core.errors import MetadataError
from yolopose.core.metadata import FIELD_RULES, ModelMetadata

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# the cases of the issue: (field, value, words of the message)
ISSUE_CASES = [
    ("strides", [0, 32], "strides[0]"),  # was ZeroDivisionError
    ("imgsz", [math.inf, 256], "imgsz[0]"),  # OverflowError
    ("num_classes", "one", "num_classes"),  # TypeError
    ("letterbox", {"pad_value": "abc"}, "letterbox.pad_value"),  # ValueError at predict time
    ("letterbox", {"pad_value": 1000}, "letterbox.pad_value"),  # wrapped around in uint8
    ("letterbox", [1, 2], "letterbox"),  # AttributeError at predict time
    ("extra", hm.Deep(100_000), "nested too deeply"),  # RecursionError
]


def _engines():
    out = []
    for engine, (backend, _) in hm.ENGINES.items():
        module = {"onnxruntime": "onnxruntime", "openvino": "openvino", "tflite": "ai_edge_litert"}[engine]
        try:
            __import__(module)
        except ImportError:
            continue
        out.append(engine)
    return out


@pytest.mark.parametrize("engine", _engines())
def test_the_issue_cases_are_metadata_errors_naming_file_and_field(tmp_path, engine):
    cases = [(f, "issue", v) for f, v, _ in ISSUE_CASES]
    paths = hm.write_cases(tmp_path, engine, cases)
    results = h.load_in_child(paths, backend=hm.ENGINES[engine][0])
    for (_, value, words), path, result in zip(ISSUE_CASES, paths, results):
        assert result.get("error") == "MetadataError", (path.name, result)
        assert str(path) in result["message"] and words in result["message"], result["message"]


def test_the_cli_reports_bad_metadata_on_one_line(tmp_path):
    path = hm.write_onnx(tmp_path / "bad.onnx", hm.metadata_text("strides", [0, 32]))
    image = g.FIXTURES / "pose_tiny/images/train/p1.jpg"
    h.assert_one_line_error(h.cli("predict", str(image), "-m", str(path), "--json"), str(path), "strides[0]")


def test_every_field_has_a_rule_and_the_table_covers_the_dataclass():
    from dataclasses import fields

    assert [f.name for f in fields(ModelMetadata)] == list(FIELD_RULES)


def test_the_whole_corpus_in_process():
    """All 31 x 17 cases (every field, wrong types, non-finite and out-of-range values, sizes,
    nesting) parse to valid metadata or raise MetadataError naming the field; nothing else."""
    for field, label, value in hm.CASES:
        text = hm.metadata_text(field, value)
        try:
            ModelMetadata.from_json(text, source="m.onnx")
        except MetadataError as exc:
            assert (field, label) not in hm.VALID, (field, label, str(exc))
            top = field.split(".")[0]
            assert str(exc).startswith("m.onnx: ") and (top in str(exc) or "nested too deeply" in str(exc)), str(exc)
        else:
            assert (field, label) in hm.VALID, f"{field}={label} was accepted"


ENGINE_VALUES = ("string", "empty-object", "nan", "inf", "negative", "huge-int", "deep")


@pytest.mark.slow
@pytest.mark.parametrize("engine", _engines())
def test_hostile_metadata_fuzz_through_the_engine(tmp_path, engine):
    """Each field with a wrong type, a non-finite, an out-of-range and a deeply nested value, loaded
    and run by the engine in a child process: a MetadataError naming file and field, or a run."""
    cases = [c for c in hm.CASES if c[1] in ENGINE_VALUES]
    paths = hm.write_cases(tmp_path, engine, cases)
    results = h.load_in_child(paths, backend=hm.ENGINES[engine][0])
    for (field, label, _), path, result in zip(cases, paths, results):
        if (field, label) in hm.VALID:
            assert result.get("ok"), (path.name, result)
        else:
            assert result.get("error") == "MetadataError" and str(path) in result["message"], (path.name, result)


def _json_values():
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-(10**20), 10**20), st.floats(allow_nan=True),
                        st.text(max_size=20))
    return st.recursive(scalars, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                        st.dictionaries(st.text(max_size=8), kids, max_size=4)),
                        max_leaves=20)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(sorted(FIELD_RULES)), value=_json_values())
def test_random_json_in_any_field_is_valid_or_a_metadata_error(field, value):
    data = json.loads(g.metadata().to_json())
    data[field] = value
    try:
        meta = ModelMetadata.from_json(json.dumps(data), source="fuzz.onnx")
    except MetadataError as exc:
        assert "fuzz.onnx" in str(exc)
    else:  # accepted: it survives a round trip unchanged
        assert ModelMetadata.from_json(meta.to_json()) == meta


def test_extra_stays_open_for_other_writers():
    """Unknown keys of ``extra`` (e.g. an int8 artifact's float layers, an output layout) are kept,
    checked only for size, depth and finite numbers."""
    meta = g.metadata(extra={"float_layers": ["model.24.m.0", "model.24.m.1"], "layout": {"end2end": True, "n": 300}})
    again = ModelMetadata.from_json(meta.to_json())
    assert again.extra["float_layers"] == ["model.24.m.0", "model.24.m.1"] and again.extra["layout"]["n"] == 300
    with pytest.raises(MetadataError, match=r"extra\.layout\.n"):
        g.metadata(extra={"layout": {"n": math.nan}})


def test_numpy_numbers_are_accepted_as_numbers():
    import numpy as np

    meta = g.metadata(imgsz=(np.int64(64), np.int64(64)), batch=np.int32(1))
    assert meta.imgsz == (64, 64) and type(meta.imgsz[0]) is int and meta.batch == 1


def test_foreign_properties_are_checked_too(tmp_path):
    """Another tool's decoded export whose properties say ``imgsz: [Infinity, 64]`` or
    ``kpt_shape: [a, 3]``: a MetadataError, not an OverflowError or ValueError."""
    for props, words in (({"imgsz": "[Infinity, 64]"}, "imgsz"), ({"kpt_shape": "['a', 3]"}, "kpt_shape")):
        path = g.make_decoded_onnx(tmp_path / "foreign.onnx", props={**g.ULTRALYTICS_PROPS, **props})
        with pytest.raises(MetadataError, match=words):
            PoseEstimator(path)
