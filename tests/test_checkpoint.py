"""Checkpoints: round trip, atomic writes, and clear errors for bad files."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.torch

from yolopose.core.errors import CheckpointError  # noqa: E402
from yolopose.training.checkpoint import (  # noqa: E402
    CHECKPOINT_FORMAT,
    load_checkpoint,
    model_from_checkpoint,
    save_checkpoint,
)
from yolopose.training.models import create_model  # noqa: E402


class _Evil:
    """Unpickling this would run code; weights_only loading must refuse it."""

    def __reduce__(self):
        # eval, not print: Ray (yolopose[ray]) swaps builtins.print for its own in the test process
        return (eval, ("print('pwned')",))


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    m = create_model("yolov5n-pose-lite")
    with torch.no_grad():  # make BN statistics non-trivial so a lost buffer would show
        for mod in m.modules():
            if isinstance(mod, torch.nn.BatchNorm2d):
                mod.running_mean.uniform_(-0.1, 0.1)
                mod.running_var.uniform_(0.5, 1.5)
    return m.eval()


def test_round_trip(tmp_path, model):
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    path = save_checkpoint(tmp_path / "run" / "last.pt", model=model, imgsz=(64, 96), epoch=3, optimizer=opt,
                           metrics={"ap": 0.5}, train_args={"epochs": 10})
    assert sorted(p.name for p in path.parent.iterdir()) == ["last.pt"]  # no temp file left behind
    ckpt = load_checkpoint(path)
    assert ckpt["format"] == CHECKPOINT_FORMAT and ckpt["format_version"] == 1
    assert ckpt["epoch"] == 3 and ckpt["imgsz"] == [64, 96] and ckpt["qat"] is False
    assert ckpt["config"]["name"] == "yolov5n-pose-lite" and ckpt["metrics"] == {"ap": 0.5}
    assert "state" in ckpt["optimizer"] and ckpt["ema"] is None
    rebuilt, ckpt2 = model_from_checkpoint(path, num_keypoints=17)
    assert not rebuilt.training and rebuilt.config == model.config
    x = torch.rand(1, 3, 64, 96)
    for a, b in zip(rebuilt(x), model(x)):
        for u, v in zip(a, b):
            torch.testing.assert_close(u, v, rtol=0, atol=0)
    # from an already loaded dict as well
    assert model_from_checkpoint(ckpt2)[0].config == model.config


def test_overwrite_is_atomic_and_keeps_other_k(tmp_path):
    m5 = create_model("yolov5n-pose", num_keypoints=5)
    path = tmp_path / "k5.pt"
    save_checkpoint(path, model=m5)
    save_checkpoint(path, model=m5, epoch=7)
    assert load_checkpoint(path)["epoch"] == 7
    rebuilt, _ = model_from_checkpoint(path)
    assert rebuilt.num_keypoints == 5
    with pytest.raises(CheckpointError, match=r"k5\.pt.*5 keypoints.*17 were asked for"):
        model_from_checkpoint(path, num_keypoints=17)


def test_missing_and_corrupt_files(tmp_path, model):
    with pytest.raises(CheckpointError, match="nope.pt: checkpoint file not found"):
        load_checkpoint(tmp_path / "nope.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(CheckpointError, match="junk.pt: not a readable checkpoint"):
        load_checkpoint(junk)
    good = save_checkpoint(tmp_path / "good.pt", model=model)
    cut = tmp_path / "cut.pt"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="cut.pt: not a readable checkpoint"):
        model_from_checkpoint(cut)


def test_foreign_and_unsafe_files(tmp_path, model):
    foreign = tmp_path / "foreign.pt"
    torch.save({"model": model.state_dict()}, foreign)  # e.g. another trainer's file
    with pytest.raises(CheckpointError, match="foreign.pt: not a yolopose checkpoint"):
        load_checkpoint(foreign)
    evil = tmp_path / "evil.pt"
    torch.save({"format": CHECKPOINT_FORMAT, "x": _Evil()}, evil)
    with pytest.raises(CheckpointError, match=r"evil.pt: refused: loading it would call (builtins\.)?eval\b.*not a yolopose checkpoint or it is unsafe") as err:
        load_checkpoint(evil)
    # torch's "re-run with weights_only=False" advice would run the payload: never shown
    assert "weights_only" not in str(err.value) and "False" not in str(err.value)
    future = tmp_path / "future.pt"
    save_checkpoint(future, model=model)
    ckpt = torch.load(future, weights_only=True)
    ckpt["format_version"] = 2
    torch.save(ckpt, future)
    with pytest.raises(CheckpointError, match="future.pt: checkpoint format version 2"):
        load_checkpoint(future)


def test_weights_of_another_architecture(tmp_path, model):
    path = save_checkpoint(tmp_path / "mixed.pt", model=create_model("yolov5n6-pose-lite").state_dict(),
                           config=model.config)
    with pytest.raises(CheckpointError, match="mixed.pt: weights do not fit model 'yolov5n-pose-lite'"):
        model_from_checkpoint(path)
    with pytest.raises(CheckpointError, match="mixed.pt: checkpoint has no 'ema' weights"):
        model_from_checkpoint(path, weights="ema")
    with pytest.raises(CheckpointError, match="needs 'config'"):
        save_checkpoint(tmp_path / "x.pt", model=model.state_dict())


def test_unsafe_checkpoint_through_the_cli_is_one_line(tmp_path):
    from click.testing import CliRunner

    from yolopose.export.cli import main

    evil = tmp_path / "evil.pt"
    torch.save({"format": CHECKPOINT_FORMAT, "x": _Evil()}, evil)
    res = CliRunner().invoke(main, [str(evil), "--format", "onnx", "--out", str(tmp_path / "out")])
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert res.exit_code == 1 and len(lines) == 1 and "evil.pt: refused" in lines[0] and "weights_only" not in res.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
