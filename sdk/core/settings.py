"""Settings objects: one frozen dataclass per concern, the one place each setting is written.

A field made with :func:`setting` carries its command-line appearance (:class:`Option`: help,
flags, type), so :func:`yolopose.core.cli.settings_options` generates a command's options from
the dataclass and hands the command one settings object. Nothing here imports click: a type is
given lazily (:func:`floats`, :func:`ints`, or any zero-argument callable returning a click type).

The settings objects of the package: :class:`~yolopose.core.ops.select.PostprocessSettings`
(how candidates become detections), :class:`~yolopose.export.options.ExportOptions` and
:class:`~yolopose.training.trainer.config.TrainConfig`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Tuple, Type, TypeVar

from .errors import ConfigError

__all__ = ["Option", "setting", "option_of", "floats", "ints", "paths", "json_object", "from_mapping", "with_values"]

T = TypeVar("T")


@dataclass(frozen=True)
class Option:
    """How one settings field appears on a command line.

    ``flags``: the option's names (default ``--field-name``; a ``bool`` field that defaults to
    ``True`` becomes ``--name/--no-name``, one that defaults to ``False`` the flag ``--name``);
    ``type``: a click type or Python type (``int``, ``float``), or a zero-argument function
    returning a click type (imported lazily; default: from the default value); ``convert``: applied to the parsed value before it goes into the settings (e.g.
    ``"7"`` -> ``7``); ``show_default``: ``True``, ``False``, or the text to show.
    """

    help: str
    flags: Tuple[str, ...] = ()
    type: Any = None
    metavar: Optional[str] = None
    show_default: Any = True
    convert: Optional[Callable[[Any], Any]] = None
    hidden: bool = False

    def but(self, **changes: Any) -> "Option":
        """A copy with some attributes changed (a command's own help text, say)."""
        return dataclasses.replace(self, **changes)


def setting(default: Any = dataclasses.MISSING, *, cli: Optional[Option] = None,
            default_factory: Any = dataclasses.MISSING) -> Any:
    """A settings dataclass field; ``cli`` says how it appears on command lines (``None``: not at all)."""
    return dataclasses.field(default=default, default_factory=default_factory, metadata={"cli": cli})


def option_of(cls: type, name: str) -> Option:
    """The :class:`Option` of field ``name`` of the settings dataclass ``cls`` (to change its help, say)."""
    opt = cls.__dataclass_fields__[name].metadata.get("cli")  # type: ignore[attr-defined]
    if opt is None:
        raise ConfigError(f"{cls.__name__}.{name} has no command-line option")
    return opt


def floats(low: Optional[float] = None, high: Optional[float] = None, *, min_open: bool = False,
           max_open: bool = False) -> Callable[[], Any]:
    """A lazy ``click.FloatRange``."""
    def make() -> Any:
        import click

        return click.FloatRange(low, high, min_open=min_open, max_open=max_open)

    return make


def ints(low: Optional[int] = None, high: Optional[int] = None) -> Callable[[], Any]:
    """A lazy ``click.IntRange``."""
    def make() -> Any:
        import click

        return click.IntRange(low, high)

    return make


def paths(**kwargs: Any) -> Callable[[], Any]:
    """A lazy ``click.Path(**kwargs)``."""
    def make() -> Any:
        import click

        return click.Path(**kwargs)

    return make


def json_object() -> Any:
    """A click type for a JSON object given as text (``'{"mosaic": 0.5}'``) -> ``dict``."""
    import json

    import click

    class JsonObject(click.ParamType):
        name = "json"

        def convert(self, value: Any, param: Any, ctx: Any) -> Any:
            if isinstance(value, dict):
                return value
            try:
                parsed = json.loads(value)
            except ValueError as exc:
                self.fail(f"not valid JSON ({exc})", param, ctx)
            if not isinstance(parsed, dict):
                self.fail("must be a JSON object", param, ctx)
            return parsed

    return JsonObject()


def with_values(settings: T, **values: Any) -> T:
    """``settings`` with the given values that are not ``None`` (the others keep theirs);
    unknown names are a :class:`~yolopose.core.errors.ConfigError` listing the known ones."""
    known = {f.name for f in dataclasses.fields(settings)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown {type(settings).__name__} field(s) {unknown}; known: {', '.join(sorted(known))}")
    given = {k: v for k, v in values.items() if v is not None}
    return dataclasses.replace(settings, **given) if given else settings  # type: ignore[type-var]


def from_mapping(cls: Type[T], data: Mapping[str, Any], source: str) -> T:
    """``cls(**data)`` for a settings dataclass, nested settings included; unknown keys are a
    :class:`~yolopose.core.errors.ConfigError` naming ``source``."""
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: {cls.__name__} must be a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{source}: unknown {cls.__name__} field(s) {unknown}")
    values = dict(data)
    for name, value in data.items():
        kind = fields[name].type
        nested = _settings_class(kind, cls)
        if nested is not None and isinstance(value, Mapping):
            values[name] = from_mapping(nested, value, f"{source}: {name}")
    return cls(**values)


def _settings_class(annotation: Any, owner: type) -> Optional[type]:
    """The dataclass a field annotation names (annotations are strings under ``from __future__``)."""
    if isinstance(annotation, type):
        return annotation if dataclasses.is_dataclass(annotation) else None
    if isinstance(annotation, str):
        import sys

        module = sys.modules.get(owner.__module__)
        found = getattr(module, annotation.strip("'\""), None)
        return found if isinstance(found, type) and dataclasses.is_dataclass(found) else None
    return None
