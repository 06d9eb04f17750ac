"""A click group whose subcommands are imported only when run (fast ``--help``, no torch import)."""
from __future__ import annotations

import importlib
from typing import Any, Dict, List, Optional

import click

__all__ = ["LazyGroup"]


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
