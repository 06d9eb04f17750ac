"""Options shared by the ``yolopose`` subcommands, each written once."""
from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import click

from ..core.cli import RegistryChoice

__all__ = ["executor_option"]


def _executors() -> Sequence[str]:
    from ..batch.executors import list_executors

    return list_executors()


def executor_option(default: str, help: str, extra: Sequence[str] = ()) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--executor NAME``: a registered batch executor (:mod:`yolopose.batch.executors`), or one of
    ``extra`` (``process`` for eval). The old spelling ``--engine`` is still accepted (hidden)."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def command(*args: Any, **kwargs: Any) -> Any:
            legacy = kwargs.pop("legacy_engine")
            if legacy is not None:
                kwargs["executor"] = legacy
            return fn(*args, **kwargs)

        choice = RegistryChoice(_executors, extra)
        command = click.option("--engine", "legacy_engine", type=choice, default=None, hidden=True,
                               help="The old name of --executor.")(command)
        return click.option("--executor", type=choice, default=default, show_default=True, help=help)(command)

    return decorate
