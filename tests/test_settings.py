"""Settings objects (yolopose.core.settings): each setting written once, every command line built from it.

The tests are parametrized over the fields of each settings class, so a new field (a new
post-processing parameter, export option or training setting) is tested without editing them.
"""
from __future__ import annotations

import dataclasses

import click
import pytest
from click.testing import CliRunner

from yolopose.cli import main as yolopose_main
from yolopose.core.cli import postprocess_options, settings_options
from yolopose.core.errors import ConfigError
from yolopose.core.ops.select import EVAL_POSTPROCESS, PostprocessSettings
from yolopose.core.settings import Option, setting

POSTPROCESS_FIELDS = [f.name for f in dataclasses.fields(PostprocessSettings)]
#: the commands that turn a model's candidates into detections
DETECTING_COMMANDS = ["predict", "batch", "track", "eval"]


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _other_value(value):
    """A valid value different from a field's default (fractions in [0, 1], counts >= 1)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, float):
        return 0.5 if value != 0.5 else 0.25
    if isinstance(value, int):
        return value + 1
    raise AssertionError(f"no other value for {value!r}")


def _help(command_group, *args) -> str:
    res = CliRunner().invoke(command_group, [*args, "--help"])
    assert res.exit_code == 0, res.output
    return res.output


@pytest.mark.parametrize("field", POSTPROCESS_FIELDS)
def test_every_postprocess_setting_is_an_option_of_every_detecting_command(field):
    for command in DETECTING_COMMANDS:
        assert _flag(field) in _help(yolopose_main, command), (command, field)


@pytest.mark.parametrize("field", POSTPROCESS_FIELDS)
def test_a_postprocess_option_reaches_the_settings_object(field):
    """The command receives one PostprocessSettings holding the value given on its command line;
    the others keep the command's defaults (here the evaluation's)."""
    seen = []

    @click.command()
    @postprocess_options(defaults=EVAL_POSTPROCESS)
    def command(postprocess):
        seen.append(postprocess)

    value = _other_value(getattr(EVAL_POSTPROCESS, field))
    res = CliRunner().invoke(command, [_flag(field), str(value)])
    assert res.exit_code == 0, res.output
    (got,) = seen
    assert isinstance(got, PostprocessSettings)
    assert got == dataclasses.replace(EVAL_POSTPROCESS, **{field: value})


@pytest.mark.parametrize("field", POSTPROCESS_FIELDS)
def test_postprocess_settings_round_trip_and_refuse_bad_values(field):
    s = PostprocessSettings().with_values(**{field: _other_value(getattr(PostprocessSettings(), field))})
    assert PostprocessSettings.from_dict(s.to_dict()) == s
    with pytest.raises(ConfigError, match=field):
        PostprocessSettings(**{field: -1})
    res = CliRunner().invoke(yolopose_main, ["predict", "x.jpg", _flag(field), "-1"])
    assert res.exit_code == 2 and _flag(field) in res.output  # click's usage error names the option


def test_unknown_settings_names_are_errors_listing_the_known_ones():
    with pytest.raises(ConfigError, match="known: conf, iou, max_det, max_nms"):
        PostprocessSettings().with_values(nms_iou=0.5)
    with pytest.raises(ConfigError, match="unknown PostprocessSettings field"):
        PostprocessSettings.from_dict({"conf": 0.1, "threshold": 2})


def test_the_default_iou_is_written_once():
    assert PostprocessSettings().iou == EVAL_POSTPROCESS.iou == 0.65
    assert (PostprocessSettings().conf, EVAL_POSTPROCESS.conf) == (0.25, 0.001)


def _cli_fields(cls):
    return [f.name for f in dataclasses.fields(cls) if f.metadata.get("cli") is not None]


def _export_fields():
    from yolopose.export.options import ExportOptions

    return _cli_fields(ExportOptions)


def _train_fields():
    from yolopose.training.trainer.config import TrainConfig

    return _cli_fields(TrainConfig)


@pytest.mark.parametrize("field", _export_fields())
def test_every_export_option_is_a_yolopose_export_option(field):
    from yolopose.export.cli import main
    from yolopose.export.options import ExportOptions

    opt = ExportOptions.__dataclass_fields__[field].metadata["cli"]
    flags = opt.flags or (_flag(field),)
    text = _help(main)
    assert any(flag in text for flag in flags), field


@pytest.mark.parametrize("field", _train_fields())
def test_every_train_setting_is_a_yolopose_train_option(field):
    from yolopose.training.cli import main

    assert _flag(field) in _help(main, "train"), field


def test_settings_options_turn_a_refused_combination_into_a_usage_error():
    @dataclasses.dataclass(frozen=True)
    class Pair:
        low: int = setting(1, cli=Option("Low."))
        high: int = setting(2, cli=Option("High."))

        def __post_init__(self):
            if self.low > self.high:
                raise ConfigError(f"low {self.low} above high {self.high}")

    @click.command()
    @settings_options(Pair, dest="pair")
    def command(pair):
        click.echo(f"{pair.low}-{pair.high}")

    assert CliRunner().invoke(command, ["--low", "2", "--high", "5"]).output.strip() == "2-5"
    res = CliRunner().invoke(command, ["--low", "3", "--high", "2"])
    assert res.exit_code == 2 and "low 3 above high 2" in res.output
