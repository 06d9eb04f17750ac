"""The model registry, architecture sizes (paper Table 1), outputs, decode and metadata."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from yolopose.core.errors import ConfigError  # noqa: E402
from yolopose.core.metadata import ModelMetadata  # noqa: E402
from yolopose.training.models import (  # noqa: E402
    ModelConfig,
    check_imgsz,
    count_macs,
    count_params,
    create_model,
    get_config,
    list_models,
    model_metadata,
    predict_candidates,
    to_nhwc_numpy,
)

EXPECTED_NAMES = [
    f"yolov5{size}{family}{variant}"
    for family, sizes in (("6-pose", "nsml"), ("-pose", "ns"))
    for size in sizes
    for variant in ("", "-lite", "-dense")
]

# paper Table 1: params and GMACs at 960x960 (BN folded, batch 1)
TABLE1 = [
    ("yolov5s6-pose", 15_114_860, 22.80),
    ("yolov5m6-pose", 41_430_924, 66.29),
    ("yolov5l6-pose", 87_072_812, 145.55),
]


def _meta_model(name: str):
    with torch.device("meta"):  # shapes only, no memory for weights
        return create_model(name)


# ---------------------------------------------------------------------- registry
def test_registry_names():
    assert sorted(list_models()) == sorted(EXPECTED_NAMES)


def test_unknown_name_lists_known_ones():
    with pytest.raises(ConfigError) as info:
        create_model("yolov5x6-pose")
    msg = str(info.value)
    assert "yolov5x6-pose" in msg
    for name in EXPECTED_NAMES:
        assert name in msg


@pytest.mark.parametrize("name", EXPECTED_NAMES)
def test_config_facts(name):
    cfg = get_config(name)
    p6 = "6-pose" in name
    assert cfg.strides == ((8, 16, 32, 64) if p6 else (8, 16, 32))
    assert cfg.num_anchors == 3 and cfg.num_keypoints == 17 and cfg.num_classes == 1
    lite = name.endswith("-lite")
    assert cfg.kpt_head_convs == (2 if name.endswith("-dense") else 0)
    assert cfg.activation == ("relu" if lite else "silu")
    assert cfg.stem == ("conv" if lite else "focus")
    if p6:
        assert cfg.anchors[0] == ((19, 27), (44, 40), (38, 94))
        assert cfg.anchors[3] == ((436, 615), (739, 380), (925, 792))
        assert cfg.spp_kernels == (3, 5, 7)
    else:
        assert cfg.anchors[2] == ((116, 90), (156, 198), (373, 326))
    assert ModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


def test_config_rejects_bad_fields():
    cfg = get_config("yolov5n-pose")
    with pytest.raises(ConfigError, match="activation"):
        ModelConfig.from_dict({**cfg.to_dict(), "activation": "gelu"})
    with pytest.raises(ConfigError, match="unknown model config fields"):
        ModelConfig.from_dict({**cfg.to_dict(), "colour": "red"})


# ---------------------------------------------------------------------- sizes
@pytest.mark.parametrize("name,params,gmacs", TABLE1)
def test_table1_params_and_gmacs_at_960(name, params, gmacs):
    model = _meta_model(name)
    got_params = count_params(model)
    got_gmacs = count_macs(model, 960) / 1e9
    assert abs(got_params - params) / params < 0.005, got_params
    assert abs(got_gmacs - gmacs) / gmacs < 0.005, got_gmacs


def test_macs_counter_by_hand():
    """One keypoint-head block less removes, per level, a depthwise 3x3 and a 1x1 conv:
    MACs = pixels * c * (9 + 1) + pixels * c * (c + 1) (the +1: the folded BN bias)."""
    cfg = get_config("yolov5n-pose-lite")
    with torch.device("meta"):
        full = create_model(cfg)
        fewer = create_model(dataclasses.replace(cfg, kpt_head_blocks=cfg.kpt_head_blocks - 1))
    imgsz = 128
    expected = 0
    for conv, s in zip(full.head.det, full.strides):
        c, pixels = conv.in_channels, (imgsz // s) ** 2
        expected += pixels * c * (9 + 1) + pixels * c * (c + 1)
    assert count_macs(full, imgsz) - count_macs(fewer, imgsz) == expected
    # every output's area scales with the input area (sizes are multiples of the max stride)
    assert count_macs(full, 2 * imgsz) == 4 * count_macs(full, imgsz)
    assert count_params(full) - count_params(fewer) == sum(
        c.in_channels * (9 + 2) + c.in_channels * (c.in_channels + 2) for c in full.head.det
    )


def test_lite_variant_has_relu_and_no_silu():
    model = create_model("yolov5n-pose-lite")
    kinds = {type(m).__name__ for m in model.modules()}
    assert "ReLU" in kinds and "SiLU" not in kinds
    assert "SiLU" in {type(m).__name__ for m in create_model("yolov5n-pose").modules()}


def test_dense_variant_keypoint_branch_has_full_convs_only():
    """-dense: per level two full 3x3 convs of channels(256) (64 for n), no grouped conv in the
    keypoint branch; box/obj/cls still read the level feature; the output convs read the branch."""
    model = create_model("yolov5n-pose-dense")
    for branch, det, kxy, kconf in zip(model.head.kpt, model.head.det, model.head.kpt_xy, model.head.kpt_conf):
        convs = [m for m in branch.modules() if isinstance(m, torch.nn.Conv2d)]
        assert [(c.in_channels, c.out_channels, c.kernel_size, c.groups) for c in convs] == [
            (det.in_channels, 64, (3, 3), 1), (64, 64, (3, 3), 1)]
        assert kxy.in_channels == kconf.in_channels == 64
    stock = create_model("yolov5n-pose")
    assert any(m.groups > 1 for m in stock.head.kpt.modules() if isinstance(m, torch.nn.Conv2d))
    with pytest.raises(ConfigError, match="head_layout 'split'"):
        ModelConfig.from_dict({**get_config("yolov5n-pose-dense").to_dict(), "head_layout": "official"})


# ---------------------------------------------------------------------- forward
@pytest.mark.parametrize("name", list_models())
def test_output_layout_all_models(name):
    """Every registered model (a new entry too, without editing this test) gives the raw head
    outputs the exporters and the SDK read, at every stride."""
    model = _meta_model(name)
    h, w = 2 * model.max_stride, 3 * model.max_stride  # non-square on purpose
    out = model(torch.zeros(2, 3, h, w, device="meta"))
    assert len(out) == len(model.strides)
    na, k, nc = model.config.num_anchors, model.num_keypoints, model.num_classes
    for (det, kxy, kconf), s in zip(out, model.strides):
        assert tuple(det.shape) == (2, na * (5 + nc), h // s, w // s)
        assert tuple(kxy.shape) == (2, na * 2 * k, h // s, w // s)
        assert tuple(kconf.shape) == (2, na * k, h // s, w // s)


def test_keypoint_and_class_override():
    model = create_model("yolov5n-pose", num_keypoints=5, num_classes=2)
    assert model.num_keypoints == 5 and model.config.num_keypoints == 5
    det, kxy, kconf = model.eval()(torch.zeros(1, 3, 64, 64))[0]
    assert (det.shape[1], kxy.shape[1], kconf.shape[1]) == (3 * 7, 3 * 10, 3 * 5)
    with pytest.raises(ConfigError):
        create_model("yolov5n-pose", num_keypoints=0)


@pytest.mark.parametrize("size", [(100, 96), (64, 48), (0, 64)])
def test_bad_input_size_is_a_config_error(size):
    model = create_model("yolov5n6-pose-lite").eval()
    if size[0] > 0:
        with pytest.raises(ConfigError, match="multiples of its largest stride 64"):
            model(torch.zeros(1, 3, *size))
    with pytest.raises(ConfigError, match="64"):
        check_imgsz(size, model.max_stride)


def test_bias_priors():
    model = create_model("yolov5n-pose")
    for conv, s in zip(model.head.det, model.strides):
        b = conv.bias.detach().view(3, 6)
        bound = 1 / conv.in_channels**0.5  # torch's default bias init range
        prior_obj = np.log(8 / (640 / s) ** 2)
        assert torch.all((b[:, 4] - prior_obj).abs() <= bound + 1e-6)
        assert torch.all((b[:, 5] - np.log(0.6 / 0.01)).abs() <= bound + 1e-6)


@pytest.mark.slow
def test_torch_export_matches_eager():
    model = create_model("yolov5n-pose-lite").eval()
    x = torch.rand(1, 3, 64, 96)
    ep = torch.export.export(model, (x,))
    got = ep.module()(x)
    want = model(x)
    for g, w in zip(got, want):
        for a, b in zip(g, w):
            torch.testing.assert_close(a, b)


# ---------------------------------------------------------------------- decode & metadata
def _direct_decode(model, raw, conf):
    """The decode formulas (docs/architecture.md) evaluated with torch, one row per (level, image, y, x, anchor)."""
    rows = []
    k = model.num_keypoints
    for (det, kxy, kconf), s, anchors in zip(raw, model.strides, model.anchors):
        b, _, h, w = det.shape
        d = det.view(b, 3, 6, h, w).permute(0, 3, 4, 1, 2)  # b, y, x, a, c
        kp = kxy.view(b, 3, k, 2, h, w).permute(0, 4, 5, 1, 2, 3)
        kc = kconf.view(b, 3, k, h, w).permute(0, 3, 4, 1, 2)
        gy, gx = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
        g = torch.stack((gx, gy), -1).float()[None, :, :, None, :]  # 1, h, w, 1, 2
        anc = torch.tensor(anchors, dtype=torch.float32)[None, None, None]
        xy = (2 * d[..., :2].sigmoid() - 0.5 + g) * s
        wh = (2 * d[..., 2:4].sigmoid()) ** 2 * anc
        score = d[..., 4].sigmoid() * d[..., 5].sigmoid()
        kpt_xy = (2 * kp - 0.5 + g[..., None, :]) * s
        kpts = torch.cat((kpt_xy, kc.sigmoid()[..., None]), -1)
        boxes = torch.cat((xy - wh / 2, xy + wh / 2), -1)
        for i in range(b):
            keep = score[i] >= conf
            rows.append((i, boxes[i][keep], score[i][keep], kpts[i][keep]))
    return rows


def test_predict_candidates_matches_design_formulas():
    torch.manual_seed(0)
    model = create_model("yolov5n-pose").eval()
    with torch.no_grad():
        for conv in model.head.kpt_xy:
            conv.bias.normal_(0, 1)  # spread the keypoints
    x = torch.rand(2, 3, 64, 96)
    conf = 0.005  # below the objectness prior of the coarse levels, so every image has candidates
    cands = predict_candidates(model, x, conf)
    with torch.no_grad():
        rows = _direct_decode(model, model(x), conf)
    assert len(cands) == 2
    for i, cand in enumerate(cands):
        mine = [r for r in rows if r[0] == i]
        boxes = torch.cat([r[1] for r in mine]).numpy()
        scores = torch.cat([r[2] for r in mine]).numpy()
        kpts = torch.cat([r[3] for r in mine]).numpy()
        assert len(cand) == len(scores) > 0
        # both enumerate level, then row-major cells, then anchors
        np.testing.assert_allclose(cand.boxes, boxes, rtol=1e-5, atol=1e-3)
        np.testing.assert_allclose(cand.scores, scores, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(cand.keypoints, kpts, rtol=1e-5, atol=1e-3)


def test_nhwc_and_metadata_agree():
    model = create_model("yolov5n-pose").eval()
    raw = model(torch.zeros(1, 3, 64, 96))
    levels = to_nhwc_numpy(raw)
    meta = model_metadata(model, (64, 96), version="test")
    assert isinstance(meta, ModelMetadata)
    assert ModelMetadata.from_json(meta.to_json()) == meta
    shapes = meta.raw_output_shapes(batch=1)
    for lvl, arrays in enumerate(levels):
        for kind, arr in zip(("det", "kpt_xy", "kpt_conf"), arrays):
            assert arr.dtype == np.float32
            assert arr.shape == shapes[(lvl, kind)]
    assert len(meta.outputs) == 9 and meta.outputs[0].name == "p3_det"
    with pytest.raises(ConfigError):
        model_metadata(model, 100)


def test_cli_models_json_and_table():
    from click.testing import CliRunner

    from yolopose.training.cli import main

    runner = CliRunner()
    result = runner.invoke(main, ["models", "--imgsz", "960", "--json", "--name", "yolov5s6-pose"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data == [{"name": "yolov5s6-pose", "params": 15_114_860, "gmacs": pytest.approx(22.80, abs=0.005),
                     "imgsz": 960, "strides": [8, 16, 32, 64]}]
    result = runner.invoke(main, ["models", "--imgsz", "96"])
    assert result.exit_code == 0, result.output
    assert "yolov5n-pose-lite" in result.stdout and "yolov5s6-pose" not in result.stdout
    result = runner.invoke(main, ["models", "--name", "nope"])
    assert result.exit_code != 0 and "known models" in result.output
