"""The building blocks of every command line: a lazily loaded command group, choices read from a
registry, and options generated from a settings dataclass.

- :func:`lazy_group`: a click group whose subcommands are imported only when run (fast ``--help``,
  no torch import).
- :class:`RegistryChoice`: a ``click.Choice`` whose choices are a registry's names, read when the
  command line is parsed, so an entry registered by another package is accepted too.
- :func:`settings_options`: a frozen settings dataclass (:mod:`yolopose.core.settings`) is the one
  place a setting is written (name, default, type, help); its command-line options are generated
  from it, and the command receives one settings object instead of a parameter per field.
  :func:`postprocess_options` is that for :class:`~yolopose.core.ops.select.PostprocessSettings`,
  shared by every command that turns candidates into detections.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import click

from .settings import Option

__all__ = ["LazyGroup", "RegistryChoice", "lazy_group", "postprocess_options", "settings_options"]


class LazyGroup(click.Group):
    """``commands`` maps a subcommand name to ``"module.path:attribute"``."""

    def __init__(self, *args: Any, lazy_commands: Optional[Dict[str, str]] = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> List[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy_commands))

    def get_command(self, ctx: click.Context, cmd_name: str) -> Optional[click.Command]:
        if cmd_name in self.lazy_commands:
            module_name, attr = self.lazy_commands[cmd_name].split(":")
            return getattr(importlib.import_module(module_name), attr)
        return super().get_command(ctx, cmd_name)


def lazy_group(prog_name: str, version: str, commands: Dict[str, str]) -> Callable[[Callable[[], None]], click.Group]:
    """Decorator: the function (its docstring is the help) becomes a command group named
    ``prog_name`` with ``-h/--help``, ``--version`` and the lazily imported ``commands``."""

    def wrap(fn: Callable[[], None]) -> click.Group:
        fn = click.version_option(version, prog_name=prog_name)(fn)
        return click.group(cls=LazyGroup, lazy_commands=commands, context_settings={"help_option_names": ["-h", "--help"]})(fn)

    return wrap


class RegistryChoice(click.Choice):
    """The names ``names()`` returns (a registry's), plus ``extra`` (e.g. ``"auto"``, ``"all"``),
    read when the command line is parsed rather than when the command is defined. ``resolve``
    maps another accepted spelling (a registry alias) to its name; it raises for unknown ones."""

    def __init__(self, names: Callable[[], Iterable[str]], extra: Sequence[str] = (),
                 resolve: Optional[Callable[[str], str]] = None) -> None:
        self._names = names
        self._extra = tuple(extra)
        self._resolve = resolve
        super().__init__([])

    @property  # type: ignore[override]
    def choices(self) -> Tuple[str, ...]:
        return (*self._extra, *self._names())

    @choices.setter
    def choices(self, value: Any) -> None:  # click's constructor sets it; the registry is the source
        pass

    def convert(self, value: Any, param: Optional[click.Parameter], ctx: Optional[click.Context]) -> Any:
        if self._resolve is not None and isinstance(value, str) and value not in self.choices:
            try:
                value = self._resolve(value)
            except Exception:  # not an alias either: click's message lists the choices
                pass
        return super().convert(value, param, ctx)


def _flags(field: dataclasses.Field, opt: Option, default: Any) -> Tuple[str, ...]:
    if opt.flags:
        return opt.flags
    name = "--" + field.name.replace("_", "-")
    if isinstance(default, bool) and default:
        return (f"{name}/--no-{name[2:]}",)
    return (name,)


def _field_default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
        return field.default_factory()  # type: ignore[misc]
    return dataclasses.MISSING


def _click_option(field: dataclasses.Field, opt: Option, default: Any, param: str) -> Callable[[Any], Any]:
    kwargs: Dict[str, Any] = {"help": opt.help, "hidden": opt.hidden}
    if default is dataclasses.MISSING:
        kwargs["required"] = True
    else:
        kwargs["default"] = default
    lazy = callable(opt.type) and not isinstance(opt.type, (type, click.ParamType))  # a function making the type
    kind = opt.type() if lazy else opt.type
    if isinstance(default, bool) and kind is None:  # --name/--no-name, or the flag --name
        kwargs.update(is_flag=True, show_default=bool(default) and opt.show_default)
    else:
        # a None default has nothing to show unless the option says what it means
        kwargs["show_default"] = opt.show_default if default is not None or isinstance(opt.show_default, str) else False
        if kind is not None:
            kwargs["type"] = kind
        if opt.metavar:
            kwargs["metavar"] = opt.metavar
    return click.option(*_flags(field, opt, default), param, **kwargs)


def settings_options(
    cls: type,
    *,
    dest: str,
    defaults: Any = None,
    exclude: Sequence[str] = (),
    overrides: Optional[Mapping[str, Option]] = None,
    prefix: str = "",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: one click option per field of the settings dataclass ``cls`` that has an
    :class:`~yolopose.core.settings.Option` (from :func:`~yolopose.core.settings.setting`), in
    field order; the command is called with one ``cls`` instance as the keyword ``dest`` instead.

    ``defaults``: an instance whose values are the options' defaults and the values of the
    fields without an option (default: the class's own defaults; a field without one is a
    required option); ``exclude``: fields left out; ``overrides``: a command's own
    :class:`~yolopose.core.settings.Option` for some fields; ``prefix``: before each parameter
    name (to keep two decorators' names apart). A combination of values the dataclass refuses
    (:class:`~yolopose.core.errors.YoloPoseError`) is a usage error naming the problem.
    """
    from .errors import YoloPoseError

    options = dict(overrides or {})
    chosen = [(f, options.get(f.name, f.metadata.get("cli"))) for f in dataclasses.fields(cls)
              if f.name not in exclude and f.metadata.get("cli") is not None]

    def default_of(f: dataclasses.Field) -> Any:
        return getattr(defaults, f.name) if defaults is not None else _field_default(f)

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def command(*args: Any, **kwargs: Any) -> Any:
            values = {}
            for f, opt in chosen:
                value = kwargs.pop(prefix + f.name)
                values[f.name] = opt.convert(value) if opt.convert is not None and value is not None else value
            try:
                kwargs[dest] = dataclasses.replace(defaults, **values) if defaults is not None else cls(**values)
            except YoloPoseError as exc:
                raise click.UsageError(str(exc)) from None
            return fn(*args, **kwargs)

        for f, opt in reversed(chosen):
            command = _click_option(f, opt, default_of(f), prefix + f.name)(command)
        return command

    return decorate


def postprocess_options(defaults: Any = None, overrides: Optional[Mapping[str, Option]] = None,
                        dest: str = "postprocess") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--conf``, ``--iou``, ``--max-det``, ``--max-nms`` (every field of
    :class:`~yolopose.core.ops.select.PostprocessSettings`), handed to the command as one
    ``PostprocessSettings`` (``defaults``: the command's, e.g. the evaluation settings)."""
    from .ops.select import PostprocessSettings

    return settings_options(PostprocessSettings, dest=dest, defaults=defaults if defaults is not None else PostprocessSettings(),
                            overrides=overrides)
