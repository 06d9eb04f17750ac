"""Options shared by the ``yolopose`` subcommands, each written once."""
from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import click

from ..core.cli import RegistryChoice

__all__ = ["backend_option", "executor_option"]


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


def _backends() -> Sequence[str]:
    from yolopose.runtimes import list_backends

    return [spec.name for spec in list_backends()]


def _backend_name(text: str) -> str:
    from yolopose.runtimes import get_backend

    return get_backend(text).name


def backend_choice() -> RegistryChoice:
    """``auto`` or a registered backend (:func:`yolopose.runtimes.list_backends`; aliases such as
    ``ort``, ``ov``, ``litert`` accepted), read from the registry when the command line is parsed."""
    return RegistryChoice(_backends, extra=("auto",), resolve=_backend_name)


def backend_option(help: str = "Inference engine; auto: the first installed one that reads the model's file type.",
                   **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--backend NAME`` (default ``auto``) with the registered backends as its choices."""
    kwargs.setdefault("default", "auto")
    kwargs.setdefault("show_default", True)
    return click.option("--backend", type=backend_choice(), help=help, **kwargs)
