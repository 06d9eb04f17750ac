"""yolopose.bench and ``yolopose bench``: statistics, system info, memory, report, chart, CLI."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from yolopose.bench import (
    STAGES,
    BenchReport,
    MemoryUsage,
    ModelBenchmark,
    ModelSpec,
    PeakMemory,
    expand_specs,
    format_report,
    format_table,
    parse_model_spec,
    render_chart,
    rss_bytes,
    run_benchmarks,
    save_chart,
    summarize,
    synthetic_image,
    system_info,
)
from yolopose.bench.measurements import DECODE
from yolopose.bench.runner import _artifact_size, time_pipeline
from yolopose.core.errors import ConfigError


# ---------------------------------------------------------------- statistics
def test_summarize_known_values():
    s = summarize([int(v * 1e6) for v in range(1, 101)])  # 1..100 ms
    assert s.count == 100
    assert s.mean_ms == pytest.approx(50.5)
    assert s.median_ms == pytest.approx(50.5)
    assert s.p90_ms == pytest.approx(np.percentile(np.arange(1, 101), 90))
    assert s.p99_ms == pytest.approx(np.percentile(np.arange(1, 101), 99))
    assert (s.min_ms, s.max_ms) == (1.0, 100.0)
    assert s.fps == pytest.approx(1000.0 / 50.5)


def test_summarize_empty_and_bad():
    assert summarize([]).count == 0 and summarize([]).fps == 0.0
    with pytest.raises(ValueError):
        summarize([-5])


# ---------------------------------------------------------------- model specs
@pytest.mark.parametrize(
    "text, expected",
    [
        ("m.onnx", ModelSpec("m.onnx", "auto", None)),
        ("m.xml@openvino", ModelSpec("m.xml", "openvino", None)),
        ("m.xml@OpenVINO:GPU.0", ModelSpec("m.xml", "openvino", "GPU.0")),
        ("dir@x/m.onnx@onnxruntime:CPU", ModelSpec("dir@x/m.onnx", "onnxruntime", "CPU")),
    ],
)
def test_parse_model_spec(text, expected):
    assert parse_model_spec(text) == expected


def test_parse_model_spec_existing_path_with_at(tmp_path):
    p = tmp_path / "model@v2.onnx"
    p.write_bytes(b"x")
    assert parse_model_spec(str(p)) == ModelSpec(str(p), "auto", None)
    with pytest.raises(ConfigError):
        parse_model_spec("m.onnx@")


def test_expand_specs_backends_and_device():
    specs = expand_specs(["a.onnx", "b.xml@openvino:NPU", "a.onnx"], ["onnxruntime", "openvino"], device="CPU")
    assert specs == [
        ModelSpec("a.onnx", "onnxruntime", "CPU"),
        ModelSpec("a.onnx", "openvino", "CPU"),
        ModelSpec("b.xml", "openvino", "NPU"),
    ]
    assert [s.label for s in specs] == ["a.onnx@onnxruntime:CPU", "a.onnx@openvino:CPU", "b.xml@openvino:NPU"]
    assert expand_specs(["a.onnx"]) == [ModelSpec("a.onnx")]


# ---------------------------------------------------------------- system and memory
def test_system_info_structure():
    info = system_info()
    json.dumps(info)  # JSON-ready
    assert info["cpu"] and info["os"] and info["python"]
    assert info["cores"]["logical"] >= 1 and info["cores"]["usable"] >= 1
    assert info["packages"]["numpy"] == np.__version__
    assert "onnxruntime" in info["packages"] and "ai-edge-litert" in info["packages"]


def test_peak_memory_sees_an_allocation():
    mem = PeakMemory().start()
    if mem.method == "none":
        pytest.skip("no way to read resident memory on this platform")
    before = rss_bytes()
    block = np.ones(40 * 1024 * 1024 // 8)  # 40 MiB, touched
    mem.sample()
    del block
    assert mem.peak_bytes is not None
    if before is not None and mem.method in ("vmhwm", "sampled"):
        assert mem.peak_bytes - before >= 30 * 1024 * 1024


def test_synthetic_image():
    img = synthetic_image(120, 200)
    assert img.shape == (120, 200, 3) and img.dtype == np.uint8
    assert np.array_equal(img, synthetic_image(120, 200))


# ---------------------------------------------------------------- report, JSON, chart
def _fake_result(label, scale, **kw):
    """A result built from known samples (no engine involved: this tests the rendering only)."""
    stats = {
        "preprocess": summarize([int(1e6 * scale)] * 5),
        "inference": summarize([int(8e6 * scale), int(10e6 * scale)] * 3),
        "postprocess": summarize([int(0.5e6 * scale)] * 5),
    }
    stats["total"] = summarize([int(11e6 * scale)] * 6)
    mib = 1024 * 1024
    return ModelBenchmark(
        label=label, model=f"/m/{label}", backend="onnxruntime", device="CPU", threads=2, imgsz=(64, 64),
        precision="fp32", file_size=int(4 * mib * scale), load_ms=20.0 * scale, warmup=2, runs_requested=6,
        stats=stats, memory=MemoryUsage(100 * mib, 110 * mib, int((100 + 20 * scale) * mib), "vmhwm"),
        detections=3, **kw,
    )


def _report(results, interrupted=False):
    return BenchReport(system=system_info(), settings={"warmup": 2, "runs": 6, "image": "synthetic",
                                                       "image_shape": [72, 128, 3]},
                       results=results, interrupted=interrupted, created="2025-01-01T00:00:00+00:00")


def test_report_json_ratios_and_table():
    a, b = _fake_result("a.onnx", 1.0), _fake_result("b.tflite", 0.5)
    bad = ModelBenchmark(label="c.xml", model="/m/c.xml", error="backend 'openvino' is not installed")
    report = _report([a, b, bad])
    d = json.loads(report.to_json())
    assert d["format"] == "yolopose-bench/1" and d["baseline"] == "a.onnx"
    assert [r["label"] for r in d["results"]] == ["a.onnx", "b.tflite", "c.xml"]
    r0, r1, r2 = d["results"]
    assert set(r0["stages"]) == set(STAGES)
    assert set(r0["stages"]["total"]) >= {"median_ms", "p90_ms", "p99_ms", "mean_ms", "fps", "count"}
    assert r0["ratios_vs_baseline"]["total_median"] == pytest.approx(1.0)
    assert r1["ratios_vs_baseline"]["total_median"] == pytest.approx(0.5, rel=1e-3)
    assert r1["ratios_vs_baseline"]["file_size"] == pytest.approx(0.5)
    assert r1["ratios_vs_baseline"]["peak_delta_memory"] == pytest.approx(0.5)
    assert r0["memory"]["peak_delta_mb"] == pytest.approx(20.0) and r0["memory"]["load_delta_mb"] == pytest.approx(10.0)
    assert r2["error"] and r2["ratios_vs_baseline"] == {} and r2["runs"] == 0
    table = format_table(report)
    lines = table.splitlines()
    assert len(lines) == 2 + 3 and "total ms" in lines[0] and "vs #1" in lines[0]
    assert "1.00x" in lines[2] and "0.50x" in lines[3] and "not installed" in lines[4]
    text = format_report(report)
    assert "CPU:" in text and "Interrupted" not in text and "kernel high-water mark" in text


def test_report_interrupted_marks_partial_rows():
    a = _fake_result("a.onnx", 1.0, interrupted=True)
    text = format_report(_report([a], interrupted=True))
    assert "Interrupted" in text and "*" in format_table(_report([a], interrupted=True))


def test_chart_png(tmp_path):
    report = _report([_fake_result("a.onnx", 1.0), _fake_result("b.tflite", 0.5)])
    out = tmp_path / "chart.png"
    size = save_chart(report, out)
    with Image.open(out) as img:
        assert img.format == "PNG" and img.size == size
        arr = np.asarray(img.convert("RGB"))
    # the three stage colours are drawn
    for color in [(86, 180, 233), (230, 159, 0), (0, 158, 115)]:
        assert np.all(arr == color, axis=-1).sum() > 50
    # an empty report still renders
    assert render_chart(_report([])).size[0] > 0


# ---------------------------------------------------------------- progress bar fallback
@pytest.mark.parametrize("without_tqdm", [False, True])
def test_progress_bar_with_and_without_tqdm(monkeypatch, capsys, without_tqdm):
    from yolopose._progress import progress_bar

    if without_tqdm:
        monkeypatch.setitem(sys.modules, "tqdm", None)  # as on a minimal install
    with progress_bar(3, desc="bench", enabled=True) as bar:
        for i in range(3):
            bar.describe(f"step {i}")
            bar.update(1)
    with progress_bar(3, enabled=False) as bar:
        bar.update(1)
    assert capsys.readouterr().out == ""  # progress goes to stderr, never stdout


# ---------------------------------------------------------------- real tiny artifacts of each engine
FIX = Path(__file__).parent / "fixtures"
_ENGINE_MODULES = {"onnxruntime": ("onnxruntime",), "openvino": ("openvino",), "tflite": ("ai_edge_litert", "tflite_runtime")}


def _installed(backend):
    return any(importlib.util.find_spec(m) is not None for m in _ENGINE_MODULES[backend])


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    """(path, backend it runs on) of a tiny real model per installed engine."""
    folder = tmp_path_factory.mktemp("bench_models")
    out = {}
    if importlib.util.find_spec("onnx") is not None:
        from _graphs import make_raw_onnx, save_openvino_ir

        onnx_path = make_raw_onnx(folder / "tiny.onnx")
        if _installed("onnxruntime"):
            out["onnxruntime"] = onnx_path
        if _installed("openvino"):
            out["openvino"] = save_openvino_ir(onnx_path, folder / "tiny.xml")
    if _installed("tflite"):
        out["tflite"] = FIX / "tiny_raw_int8.tflite"
    return out


def _need(artifacts, backend):
    if backend not in artifacts:
        pytest.skip(f"{backend} (or onnx to build the test model) is not installed")
    return artifacts[backend]


@pytest.mark.parametrize("backend", ["onnxruntime", "openvino", "tflite"])
def test_bench_each_engine(artifacts, backend):
    path = _need(artifacts, backend)
    steps = []
    report = run_benchmarks(expand_specs([str(path)]), image=synthetic_image(96, 128), warmup=2, runs=4, threads=1,
                            image_label="synthetic", on_step=lambda label, phase: steps.append(phase))
    assert steps == ["warmup"] * 2 + ["run"] * 4
    assert not report.interrupted and len(report.results) == 1
    r = report.results[0]
    assert r.ok and r.error is None and r.backend == backend and r.device
    assert r.imgsz == (64, 64) and r.threads == 1 and r.precision in ("fp32", "int8")
    expected_size = path.stat().st_size + (path.with_suffix(".bin").stat().st_size if path.suffix == ".xml" else 0)
    assert r.file_size == expected_size
    assert r.load_ms is not None and r.load_ms > 0
    assert all(r.stats[s].count == 4 for s in STAGES)
    assert isinstance(r.detections, int) and r.detections >= 1
    assert r.memory.method in ("vmhwm", "sampled", "maxrss", "none")
    if r.memory.method != "none":
        assert r.memory.peak >= r.memory.before_load > 0
    d = json.loads(report.to_json())["results"][0]
    assert d["runs"] == 4 and d["backend"] == backend and d["ratios_vs_baseline"]["total_median"] == 1.0


def test_bench_cli_comparison_json_and_plot(artifacts, tmp_path):
    from click.testing import CliRunner

    from yolopose.cli import main

    if not artifacts:
        pytest.skip("no inference engine installed")
    models = [str(p) for p in artifacts.values()]
    if "onnxruntime" in artifacts and "openvino" in artifacts:
        models.append(f"{artifacts['onnxruntime']}@openvino:CPU")  # the same ONNX on another engine
    image = tmp_path / "people.png"
    Image.fromarray(synthetic_image(96, 128)).save(image)
    out_json, out_png = tmp_path / "bench.json", tmp_path / "plots" / "bench.png"
    res = CliRunner().invoke(main, ["bench", *models, "--warmup", "1", "--runs", "3", "--image", str(image),
                                    "--json", str(out_json), "--plot", str(out_png), "--no-progress"])
    assert res.exit_code == 0, res.output
    header = next(line for line in res.output.splitlines() if line.startswith("#  model"))
    assert all(h in header for h in ("pre ms", "infer ms", "post ms", "total ms", "p90 ms", "p99 ms", "FPS", "vs #1"))
    assert "CPU:" in res.output and "Python:" in res.output and "people.png (128x96)" in res.output
    data = json.loads(out_json.read_text())
    assert data["format"] == "yolopose-bench/1" and not data["interrupted"]
    assert [r["label"] for r in data["results"]] == [parse_model_spec(m).label for m in models]
    assert data["baseline"] == data["results"][0]["label"]
    assert data["settings"]["runs"] == 3 and data["settings"]["image_shape"] == [96, 128, 3]
    assert data["system"]["packages"]["numpy"] == np.__version__
    assert data["settings"]["decode_timed"] is True
    assert "decode (the image file to pixels, a part of pre ms): #1 " in res.output
    assert "preprocess starts from the image file" in res.output
    for r in data["results"]:
        # from a file, the decode is timed too: a part of preprocess, not a stage of its own in total
        assert r["error"] is None and r["runs"] == 3 and set(r["stages"]) == set(STAGES) | {DECODE}
        assert r["stages"][DECODE]["count"] == 3
        assert r["ratios_vs_baseline"]["total_median"] > 0
    with Image.open(out_png) as img:
        assert img.format == "PNG" and img.height > 100


class _FilePipeline:
    """Records what preprocess was given; runs nothing."""

    input_size = (64, 64)

    def __init__(self) -> None:
        self.seen = []

    def preprocess(self, image):
        self.seen.append(image)
        return np.zeros((1, 3, 64, 64), np.float32), [None]

    def infer(self, x):
        return [x]

    def postprocess(self, raw, transforms):
        return [[]]


def test_time_pipeline_from_a_file_times_the_decode_apart(tmp_path):
    path = tmp_path / "frame.jpg"
    Image.fromarray(synthetic_image(720, 1280)).save(path, quality=90)
    pipe = _FilePipeline()
    timed = time_pipeline(pipe, str(path), warmup=1, runs=3)
    assert pipe.seen == [str(path)] * 4  # preprocess starts from the file (decode included)
    assert len(timed.samples[DECODE]) == 3 and all(v > 0 for v in timed.samples[DECODE])
    assert all(len(timed.samples[s]) == 3 for s in STAGES)
    plain = time_pipeline(_FilePipeline(), synthetic_image(96, 128), warmup=0, runs=2)
    assert DECODE not in plain.samples  # from pixels there is nothing to decode


def test_bench_size_of_an_openvino_export_folder(artifacts, tmp_path):
    xml = _need(artifacts, "openvino")
    folder = tmp_path / "tiny_openvino"  # what yolopose-export writes: one folder, .xml + .bin
    folder.mkdir()
    for f in (xml, xml.with_suffix(".bin")):
        (folder / f.name).write_bytes(f.read_bytes())
    expected = xml.stat().st_size + xml.with_suffix(".bin").stat().st_size
    assert _artifact_size(folder) == _artifact_size(folder / xml.name) == expected
    report = run_benchmarks(expand_specs([str(folder)]), image=synthetic_image(96, 128), warmup=0, runs=1)
    assert report.results[0].ok and report.results[0].file_size == expected
    assert _artifact_size(tmp_path) == 0  # a folder without exactly one model


def test_bench_reports_a_bad_model_and_goes_on(artifacts, tmp_path):
    from click.testing import CliRunner

    from yolopose.cli import main

    if not artifacts:
        pytest.skip("no inference engine installed")
    good = str(next(iter(artifacts.values())))
    res = CliRunner().invoke(main, ["bench", str(tmp_path / "missing.onnx"), good, "--warmup", "0", "--runs", "2", "--no-progress"])
    assert res.exit_code == 1
    assert "missing.onnx" in res.output and "does not exist" in res.output and "Traceback" not in res.output
    assert res.output.count("1.00x") == 1  # the first model that ran is the baseline


# ---------------------------------------------------------------- Ctrl-C
class _CtrlC:
    """Raises KeyboardInterrupt on the n-th call, as if Ctrl-C arrived at that moment."""

    def __init__(self, n):
        self.n, self.calls = n, 0

    def __call__(self, *args):
        self.calls += 1
        if self.calls == self.n:
            raise KeyboardInterrupt


def test_ctrl_c_keeps_what_was_measured(artifacts):
    if not artifacts:
        pytest.skip("no inference engine installed")
    path = str(next(iter(artifacts.values())))
    specs = expand_specs([path, path + "@onnxruntime"])
    report = run_benchmarks(specs, image=synthetic_image(96, 128), warmup=2, runs=10, on_step=_CtrlC(2 + 5))
    assert report.interrupted and len(report.results) == 1  # the second model never started
    r = report.results[0]
    assert r.interrupted and r.ok and r.stats["total"].count == 5 and r.runs_requested == 10
    text = format_report(report)
    assert "Interrupted" in text
    assert json.loads(report.to_json())["results"][0]["runs"] == 5

    report = run_benchmarks(specs[:1], image=synthetic_image(96, 128), warmup=3, runs=10, on_step=_CtrlC(1))
    r = report.results[0]
    assert report.interrupted and r.interrupted and not r.ok and r.stats["total"].count == 0
    assert "(interrupted)" in format_table(report)


def test_cli_ctrl_c_prints_partial_table_and_json(artifacts, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from yolopose import _progress
    from yolopose.cli import main

    if not artifacts:
        pytest.skip("no inference engine installed")
    path = str(next(iter(artifacts.values())))
    monkeypatch.setattr(_progress.Progress, "update", _CtrlC(1 + 3))  # the bar advances once per pass
    out_json = tmp_path / "bench.json"
    res = CliRunner().invoke(main, ["bench", path, path, "--warmup", "1", "--runs", "50", "--json", str(out_json)])
    assert res.exit_code == 130, res.output
    assert "Interrupted" in res.output and "1.00x" in res.output
    data = json.loads(out_json.read_text())
    assert data["interrupted"] and len(data["results"]) == 1 and data["results"][0]["runs"] == 3


# ---------------------------------------------------------------- a Raspberry-Pi-like install
_LEAN_SCRIPT = r"""
import importlib.abc, sys
BLOCKED = {"onnxruntime", "openvino", "torch", "tqdm", "matplotlib", "psutil", "cv2", "onnx", "pycocotools"}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{name} is not installed here")
sys.meta_path.insert(0, Block())
from yolopose.cli import main
try:
    main(["bench", sys.argv[1], "--warmup", "1", "--runs", "3", "--json", sys.argv[2], "--plot", sys.argv[3]])
except SystemExit as exc:
    assert not exc.code, exc.code
leaked = BLOCKED & {m.split(".")[0] for m in sys.modules}
assert not leaked, leaked
"""


def test_bench_with_only_a_tflite_engine(tmp_path):
    """Only yolopose + a TFLite engine (no onnxruntime, OpenVINO, torch, tqdm, psutil, matplotlib)."""
    if not _installed("tflite"):
        pytest.skip("no TFLite engine installed")
    out_json, out_png = tmp_path / "b.json", tmp_path / "b.png"
    proc = subprocess.run([sys.executable, "-c", _LEAN_SCRIPT, str(FIX / "tiny_raw_int8.tflite"), str(out_json), str(out_png)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "tflite:cpu" in proc.stdout
    data = json.loads(out_json.read_text())
    assert data["results"][0]["runs"] == 3
    assert data["system"]["packages"]["ai-edge-litert"] or data["system"]["packages"]["tflite-runtime"]
    assert out_png.stat().st_size > 0


def test_cpu_model_of_a_raspberry_pi():
    from yolopose.bench import cpu_features, cpu_model

    cpuinfo = (
        "processor\t: 0\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp "
        "cpuid asimdrdm lrcpc dcpop asimddp\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU part\t: 0xd0b\n\n"
        "Revision\t: d04170\nModel\t\t: Raspberry Pi 5 Model B Rev 1.0\n"
    )
    assert cpu_model(cpuinfo, board="Raspberry Pi 5 Model B Rev 1.0\x00") == "Cortex-A76 (Raspberry Pi 5 Model B Rev 1.0)"
    assert cpu_features(cpuinfo) == ["asimd", "asimddp", "asimdhp"]
    x86 = "model name\t: Intel(R) Core(TM) i7\nflags\t\t: fpu sse avx avx2 fma avx512_vnni\n"
    assert cpu_model(x86, board="") == "Intel(R) Core(TM) i7"
    assert cpu_features(x86) == ["avx", "avx2", "fma", "avx512_vnni"]


def test_int8_saturation_is_x86_without_vnni_only():
    from yolopose.core.cpu import int8_dot_saturates

    avx2 = "model name\t: AMD EPYC\nflags\t\t: fpu sse avx avx2 fma\n"
    assert int8_dot_saturates(avx2)
    assert not int8_dot_saturates(avx2.replace("fma", "fma avx512f avx512_vnni"))
    assert not int8_dot_saturates(avx2.replace("fma", "fma avx_vnni"))
    assert not int8_dot_saturates("Features\t: fp asimd asimddp\nCPU implementer\t: 0x41\n")  # ARM
