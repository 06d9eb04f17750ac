"""The building blocks of every command line: a lazily loaded command group, choices read from a
registry, and options generated from a settings dataclass.

- :func:`lazy_group`: a click group whose subcommands are imported only when run (fast ``--help``,
  no torch import).
- :class:`RegistryChoice`: a ``click.Choice`` whose choices are a registry's names, read when the
  command line is parsed, so an entry registered by another package is accepted too.
- :func:`setting` and :func:`settings_options`: a frozen settings dataclass is the one place a
  setting is written (name, default, type, help); its command-line options are generated from it,
  and the command receives one settings object instead of a parameter per field.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

import click

__all__ = ["LazyGroup", "Option", "RegistryChoice", "lazy_group", "setting", "settings_options"]


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
    read when the command line is parsed rather than when the command is defined."""

    def __init__(self, names: Callable[[], Iterable[str]], extra: Sequence[str] = ()) -> None:
        self._names = names
        self._extra = tuple(extra)
        super().__init__([])

    @property  # type: ignore[override]
    def choices(self) -> Tuple[str, ...]:
        return (*self._extra, *self._names())

    @choices.setter
    def choices(self, value: Any) -> None:  # click's constructor sets it; the registry is the source
        pass


@dataclass(frozen=True)
class Option:
    """How one settings field appears on a command line.

    ``flags``: the option's names (default ``--field-name``; a ``bool`` field that defaults to
    ``True`` becomes ``--name/--no-name``, one that defaults to ``False`` the flag ``--name``);
    ``type``: the click type (default: from the default value); ``convert``: applied to the parsed
    value before it goes into the settings (e.g. ``"7"`` -> ``7``); ``show_default``: ``True``, or
    the text to show (for a ``None`` default).
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


def _flags(field: dataclasses.Field, opt: Option, default: Any) -> Tuple[str, ...]:
    if opt.flags:
        return opt.flags
    name = "--" + field.name.replace("_", "-")
    if isinstance(default, bool) and default:
        return (f"{name}/--no-{name[2:]}",)
    return (name,)


def _click_option(field: dataclasses.Field, opt: Option, default: Any, param: str) -> Callable[[Any], Any]:
    kwargs: Dict[str, Any] = {"default": default, "help": opt.help, "hidden": opt.hidden}
    if isinstance(default, bool) and opt.type is None:  # --name/--no-name, or the flag --name
        kwargs.update(is_flag=True, show_default=bool(default) and opt.show_default)
    else:
        # a None default has nothing to show unless the option says what it means
        kwargs["show_default"] = opt.show_default if default is not None or isinstance(opt.show_default, str) else False
        if opt.type is not None:
            kwargs["type"] = opt.type
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
    """Decorator: one click option per field of the settings dataclass ``cls`` that has a
    :class:`Option` (from :func:`setting`), in field order; the command is called with one
    ``cls`` instance as the keyword ``dest`` instead.

    ``defaults``: an instance whose values are the options' defaults (default: ``cls()``, the
    class's own); ``exclude``: fields left out (they keep ``defaults``' values); ``overrides``:
    a command's own :class:`Option` for some fields. A nested settings field (a dataclass value
    with ``cli=None``) is not expanded here: give it its own decorator. An invalid combination of
    values (the dataclass refuses it with a :class:`~yolopose.core.errors.YoloPoseError`) is a
    usage error naming the problem.
    """
    from .errors import YoloPoseError

    base = cls() if defaults is None else defaults
    chosen = [(f, (overrides or {}).get(f.name, f.metadata.get("cli"))) for f in dataclasses.fields(cls)
              if f.name not in exclude and f.metadata.get("cli") is not None]
    params = {f"{prefix}{f.name}": f for f, _ in chosen}

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def command(*args: Any, **kwargs: Any) -> Any:
            values = {}
            for param, f in params.items():
                value = kwargs.pop(param)
                opt = (overrides or {}).get(f.name, f.metadata["cli"])
                values[f.name] = opt.convert(value) if opt.convert is not None and value is not None else value
            try:
                kwargs[dest] = dataclasses.replace(base, **values)
            except YoloPoseError as exc:
                raise click.UsageError(str(exc)) from None
            return fn(*args, **kwargs)

        for f, opt in reversed(chosen):
            command = _click_option(f, opt, getattr(base, f.name), f"{prefix}{f.name}")(command)
        return command

    return decorate
