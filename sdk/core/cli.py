"""A click group whose subcommands are imported only when run (fast ``--help``, no torch import)."""
from __future__ import annotations

import importlib
from typing import Any, Callable, Dict, List, Optional

import click

__all__ = ["LazyGroup", "lazy_group"]


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
