"""A progress bar: tqdm when installed, otherwise click's own (both write to stderr)."""
from __future__ import annotations

import contextlib
import sys
from typing import Any, Iterator, Optional

import click

__all__ = ["progress_bar", "Progress"]


class Progress:
    """The small surface both bars share: :meth:`update` and :meth:`describe`."""

    def __init__(self, bar: Any, kind: str) -> None:
        self._bar = bar
        self._kind = kind

    def update(self, n: int = 1) -> None:
        """Advance by ``n`` steps."""
        if self._bar is not None:
            self._bar.update(n)

    def describe(self, text: str) -> None:
        """Change the label shown next to the bar."""
        if self._bar is None:
            return
        if self._kind == "tqdm":
            self._bar.set_description_str(text, refresh=False)
        else:
            self._bar.label = text


@contextlib.contextmanager
def progress_bar(total: Optional[int], desc: str = "", enabled: bool = True, unit: str = "it") -> Iterator[Progress]:
    """A progress bar over ``total`` steps; a silent one when ``enabled`` is false."""
    if not enabled:
        yield Progress(None, "none")
        return
    try:
        from tqdm import tqdm
    except ImportError:
        with click.progressbar(length=total or 0, label=desc, file=sys.stderr, show_pos=True) as bar:
            yield Progress(bar, "click")
        return
    bar = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True, leave=False)
    try:
        yield Progress(bar, "tqdm")
    finally:
        bar.close()
