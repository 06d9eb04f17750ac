"""The trainer: schedule, EMA, results files, a tiny model that learns, exact resume, fine-tune checks."""
from __future__ import annotations

import json
import math

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from click.testing import CliRunner  # noqa: E402

from yolopose.core.errors import CheckpointError, ConfigError  # noqa: E402
from yolopose.training.checkpoint import load_checkpoint, model_from_checkpoint, save_checkpoint  # noqa: E402
from yolopose.training.cli import main as train_cli  # noqa: E402
from yolopose.training.models import create_model  # noqa: E402
from yolopose.training.synth import write_dataset  # noqa: E402
from yolopose.training.trainer import ModelEMA, TrainConfig, train  # noqa: E402
from yolopose.training.trainer.optim import apply_warmup, build_optimizer, cosine_factor, epoch_lr, warmup_iterations  # noqa: E402
from yolopose.training.trainer.history import LOSS_TERMS, ResultsLog, plot_results, read_results  # noqa: E402

MODEL = "yolov5n-pose"
IMGSZ = 64


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    write_dataset(out, train=4, val=3, imgsz=IMGSZ, seed=3, workers=1, preview=0)
    return out


def _cfg(data, out, **kw):
    base = dict(data=str(data), model=MODEL, imgsz=IMGSZ, epochs=2, batch=4, workers=0, out=str(out),
                warmup_epochs=0, nbs=4, plots=False, augment=False, val_interval=100, seed=1)
    base.update(kw)
    return TrainConfig(**base)


# ----------------------------------------------------------------------------------- pieces
def test_optimizer_groups_cover_every_parameter_once():
    model = create_model(MODEL)
    cfg = TrainConfig(data="x", model=MODEL, batch=16)
    opt = build_optimizer(model, cfg, batch=16)
    groups = {g["name"]: g for g in opt.param_groups}
    assert set(groups) == {"bias", "weight", "norm"}
    ids = [id(p) for g in opt.param_groups for p in g["params"]]
    assert len(ids) == len(set(ids)) == len(list(model.parameters()))
    assert groups["bias"]["weight_decay"] == 0 and groups["norm"]["weight_decay"] == 0
    assert groups["weight"]["weight_decay"] == pytest.approx(5e-4 * 16 * 4 / 64)
    assert all(p.dim() == 1 for p in groups["bias"]["params"] + groups["norm"]["params"])
    assert all(p.dim() == 4 for p in groups["weight"]["params"])
    assert opt.defaults["nesterov"] and opt.defaults["momentum"] == pytest.approx(0.937)


def test_cosine_schedule_and_warmup():
    cfg = TrainConfig(data="x", model=MODEL, epochs=10, lrf=0.2, batch=16)
    assert cosine_factor(0, cfg) == pytest.approx(1.0)
    assert cosine_factor(10, cfg) == pytest.approx(0.2)
    assert cosine_factor(5, cfg) == pytest.approx(0.6)
    assert warmup_iterations(cfg, 10) == 100  # 3 epochs of 10 batches, but at least 100 iterations
    assert warmup_iterations(cfg, 1000) == 3000
    opt = build_optimizer(create_model(MODEL), cfg, batch=16)
    acc = apply_warmup(opt, 0, 100, 0, cfg, batch=16)
    lrs = {g["name"]: g["lr"] for g in opt.param_groups}
    assert acc == 1 and lrs["bias"] == pytest.approx(0.1) and lrs["weight"] == 0.0
    assert all(g["momentum"] == pytest.approx(0.8) for g in opt.param_groups)
    acc = apply_warmup(opt, 100, 100, 0, cfg, batch=16)
    assert acc == 4 and all(g["lr"] == pytest.approx(0.01) for g in opt.param_groups)
    epoch_lr(opt, 5, cfg)
    assert all(g["lr"] == pytest.approx(0.006) for g in opt.param_groups)


def test_adamw_option_warms_up_beta1_and_warms_biases_down():
    cfg = TrainConfig(data="x", model=MODEL, batch=16, nbs=16, optimizer="adamw", lr0=0.002)
    opt = build_optimizer(create_model(MODEL), cfg, batch=16)
    assert isinstance(opt, torch.optim.AdamW) and {g["name"] for g in opt.param_groups} == {"bias", "weight", "norm"}
    apply_warmup(opt, 0, 100, 0, cfg, batch=16)
    lrs = {g["name"]: g["lr"] for g in opt.param_groups}
    # biases start high (they settle the objectness/box priors fast), everything else at 0
    assert lrs["bias"] == pytest.approx(0.1) and lrs["weight"] == lrs["norm"] == 0.0
    assert all(g["betas"][0] == pytest.approx(0.8) and "momentum" not in g for g in opt.param_groups)
    apply_warmup(opt, 50, 100, 0, cfg, batch=16)
    assert {g["name"]: g["lr"] for g in opt.param_groups}["bias"] == pytest.approx((0.1 + 0.002) / 2)
    apply_warmup(opt, 100, 100, 0, cfg, batch=16)
    assert all(g["lr"] == pytest.approx(0.002) and g["betas"][0] == pytest.approx(0.937) for g in opt.param_groups)
    with pytest.raises(ConfigError, match="--optimizer"):
        TrainConfig(data="x", model=MODEL, optimizer="lion")


def test_close_mosaic_turns_mosaic_off_for_the_last_epochs(data, tmp_path):
    from yolopose.training.trainer.epoch import mosaic_off

    cfg = _cfg(data, tmp_path, epochs=10, close_mosaic=3)
    assert [mosaic_off(cfg, e) for e in range(10)] == [False] * 7 + [True] * 3
    assert not any(mosaic_off(_cfg(data, tmp_path, epochs=10), e) for e in range(10))
    with pytest.raises(ConfigError, match="--close-mosaic"):
        _cfg(data, tmp_path, close_mosaic=-1)
    # the training dataset's mosaic probability in each epoch, read off the dataset the run built
    from yolopose.training.trainer import loop

    built, seen = [], []
    original = loop.build_train_data

    def spy(*args, **kwargs):
        result = original(*args, **kwargs)
        built.append(result.loader.dataset)
        return result

    loop.build_train_data = spy
    try:
        record = lambda end: seen.append(built[0].hyp.mosaic)  # noqa: E731
        train(_cfg(data, tmp_path / "run", epochs=3, close_mosaic=1, augment=True, hyp={"mosaic": 1.0}), callbacks=[record])
    finally:
        loop.build_train_data = original
    assert seen == [1.0, 1.0, 0.0]


def test_ema_ramps_up_and_averages():
    model = torch.nn.Linear(2, 2)
    ema = ModelEMA(model, decay=0.9999, tau=10)
    assert ema.decay_at(0) == 0.0 and 0 < ema.decay_at(5) < ema.decay_at(50) < 0.9999
    before = ema.ema.weight.clone()
    with torch.no_grad():
        model.weight.add_(1.0)
    ema.update(model)
    d = ema.decay_at(1)
    torch.testing.assert_close(ema.ema.weight, d * before + (1 - d) * model.weight)
    assert not any(p.requires_grad for p in ema.ema.parameters())


def test_results_csv_rewrite_and_plot(tmp_path):
    log = ResultsLog(tmp_path / "results.csv")
    for epoch in range(3):
        row = {"epoch": epoch, **{f"train/{t}": 1.0 / (epoch + 1) for t in LOSS_TERMS}, "lr/bias": 0.01, "time_s": 1.5}
        if epoch == 2:
            row.update({"val/AP": 0.5, "val/AP50": 0.8})
        log.add(row)
        log.write(["bias"])
    rows = read_results(tmp_path / "results.csv")
    assert [r["epoch"] for r in rows] == [0, 1, 2]
    assert rows[0]["val/AP"] is None and rows[2]["val/AP"] == pytest.approx(0.5)
    resumed = ResultsLog(tmp_path / "results.csv", rows)
    resumed.add({"epoch": 1, "train/box": 9.0})  # a resumed epoch replaces it and drops later ones
    assert [r["epoch"] for r in resumed.rows] == [0, 1] and resumed.rows[1]["train/box"] == 9.0
    png = plot_results(rows, tmp_path / "results.png", title="t")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob(".*tmp"))  # atomic writes leave no temporary files


# ----------------------------------------------------------------------------------- training
@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    cfg = _cfg(data, out, epochs=15, lr0=0.1, plots=True)
    result = train(cfg)
    return cfg, result


@pytest.mark.slow
def test_tiny_model_loss_falls_and_run_writes_its_files(trained):
    cfg, result = trained
    rows = read_results(result.out_dir / "results.csv")
    assert len(rows) == cfg.epochs == result.epochs_done
    total = [sum(r[f"train/{t}"] for t in LOSS_TERMS) for r in rows]
    assert all(math.isfinite(v) for v in total)
    # the box term is the one a 4-image, 15-epoch run moves for sure (objectness targets are the
    # predicted IoU, so that term rises as boxes improve; keypoints need far longer)
    box = [r["train/box"] for r in rows]
    assert sum(box[-3:]) / 3 < 0.9 * sum(box[:3]) / 3, box
    # the last epoch was validated end to end
    assert rows[-1]["val/AP"] is not None and set(result.metrics) >= {"AP", "AP50", "AP75", "APm", "APl", "AR", "box_AP"}
    for name in ("last.pt", "best.pt", "results.csv", "results.png", "config.json"):
        assert (result.out_dir / name).is_file(), name
    ckpt = load_checkpoint(result.last)
    assert ckpt["epoch"] == cfg.epochs - 1 and ckpt["train_args"]["lr0"] == 0.1 and ckpt["imgsz"] == IMGSZ
    assert ckpt["ema_updates"] == cfg.epochs  # one optimizer step per epoch here
    model, _ = model_from_checkpoint(result.best)
    assert model.name == MODEL
    assert json.loads((result.out_dir / "config.json").read_text())["model"] == MODEL


@pytest.mark.slow
def test_val_command_runs_end_to_end(trained, data, tmp_path):
    _, result = trained
    metrics = tmp_path / "m.json"
    res = CliRunner().invoke(
        train_cli, ["val", "--data", str(data), "--weights", str(result.last), "--workers", "0", "--metrics-json", str(metrics)]
    )
    assert res.exit_code == 0, res.output
    assert "keypoints" in res.output and "AP50" in res.output
    assert set(json.loads(metrics.read_text())) >= {"AP", "AP50", "box_AP"}


@pytest.mark.slow
def test_resume_continues_exactly(data, tmp_path):
    full = train(_cfg(data, tmp_path / "full", epochs=4, warmup_epochs=1, warmup_min_iters=2, nbs=8, batch=2, val_interval=2))
    half = _cfg(data, tmp_path / "half", epochs=4, warmup_epochs=1, warmup_min_iters=2, nbs=8, batch=2, val_interval=2)
    first = train(half, callbacks=[lambda end: end.epoch == 1])  # stop cleanly after 2 of 4 epochs
    assert first.epochs_done == 2
    second = train(TrainConfig(data=str(data), out=str(tmp_path / "half"), workers=0), resume=True)
    assert second.epochs_done == 4
    a, b = load_checkpoint(full.last), load_checkpoint(second.last)
    assert a["epoch"] == b["epoch"] == 3 and a["ema_updates"] == b["ema_updates"]
    for key in ("model", "train_model"):
        for name, value in a[key].items():
            torch.testing.assert_close(b[key][name], value, rtol=1e-5, atol=1e-6, msg=f"{key}.{name}")
    for i, state in a["optimizer"]["state"].items():
        torch.testing.assert_close(b["optimizer"]["state"][i]["momentum_buffer"], state["momentum_buffer"], rtol=1e-5, atol=1e-6)
    ra, rb = read_results(full.out_dir / "results.csv"), read_results(second.out_dir / "results.csv")
    assert [r["epoch"] for r in rb] == [0, 1, 2, 3]
    for x, y in zip(ra, rb):
        assert x["train/kpt"] == pytest.approx(y["train/kpt"], rel=1e-4) and x["lr/weight"] == pytest.approx(y["lr/weight"])
    with pytest.raises(ConfigError, match="already finished"):
        train(TrainConfig(data=str(data), out=str(tmp_path / "half"), workers=0), resume=True)
    with pytest.raises(ConfigError, match="4 epochs are done"):
        train(TrainConfig(data=str(data), out=str(tmp_path / "half"), workers=0), resume=True, resume_epochs=4)
    # a finished run extended by one epoch (`yolopose-train train --resume --epochs 5`): the schedule is 5 long now
    res = CliRunner().invoke(train_cli, ["train", "--data", str(data), "--out", str(tmp_path / "half"), "--workers", "0",
                                         "--resume", "--epochs", "5"])
    assert res.exit_code == 0, res.output
    longer = load_checkpoint(tmp_path / "half" / "last.pt")
    assert longer["epoch"] == 4 and longer["train_args"]["epochs"] == 5
    rows = read_results(tmp_path / "half" / "results.csv")
    assert [r["epoch"] for r in rows] == [0, 1, 2, 3, 4] and rows[4]["lr/weight"] < rows[3]["lr/weight"]


def test_resume_without_a_run_is_a_clear_error(data, tmp_path):
    with pytest.raises(CheckpointError, match="nothing to resume"):
        train(TrainConfig(data=str(data), out=str(tmp_path / "none")), resume=True)


def test_finetune_from_other_keypoint_count_fails(data, tmp_path):
    ckpt = tmp_path / "five.pt"
    save_checkpoint(ckpt, model=create_model(MODEL, num_keypoints=5), imgsz=IMGSZ)
    with pytest.raises(ConfigError, match="5 keypoints.*17"):
        train(_cfg(data, tmp_path / "ft", model=None, weights=str(ckpt)))
    same = tmp_path / "seventeen.pt"
    save_checkpoint(same, model=create_model("yolov5n-pose-lite"), imgsz=IMGSZ)
    with pytest.raises(ConfigError, match="--model"):
        train(_cfg(data, tmp_path / "ft2", model=MODEL, weights=str(same)))


def test_bad_options_are_clear_errors(data, tmp_path):
    with pytest.raises(ConfigError, match="--model"):
        train(TrainConfig(data=str(data), out=str(tmp_path)))
    with pytest.raises(ConfigError, match="--epochs"):
        TrainConfig(data="x", model=MODEL, epochs=0)
    with pytest.raises(ConfigError, match="unknown keys"):
        train(_cfg(data, tmp_path / "h", hyp={"mosaik": 1.0}))
    res = CliRunner().invoke(train_cli, ["train", "--data", str(data), "--model", MODEL, "--hyp", "[1]"])
    assert res.exit_code != 0 and "--hyp" in res.output
    res = CliRunner().invoke(train_cli, ["train", "--help"])
    assert res.exit_code == 0 and "--resume" in res.output and "--weights" in res.output
