"""A PNG bar chart of a benchmark drawn with Pillow (a core dependency: works on a Raspberry Pi).

One horizontal bar per model variant, split into the median preprocess, inference and
postprocess times; a black tick marks the p90 of the end-to-end time.
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Tuple, Union

from PIL import Image, ImageDraw, ImageFont

from ..core.fileio import atomic_write_bytes
from .measurements import BenchReport

__all__ = ["render_chart", "save_chart"]

_COLORS = {"preprocess": (86, 180, 233), "inference": (230, 159, 0), "postprocess": (0, 158, 115)}
_BG, _FG, _GRID = (255, 255, 255), (20, 20, 20), (220, 220, 220)
_ROW_H, _BAR_H, _WIDTH = 44, 26, 1000


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)  # Pillow >= 10.1 with FreeType: a scalable font
    except TypeError:
        return ImageFont.load_default()


def _text_w(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.ImageFont) -> int:
    left, _, right, _ = draw.textbbox((0, 0), text, font=font)
    return int(right - left)


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else "..." + text[-(n - 3):]


def _nice_step(span: float) -> float:
    raw = span / 6.0
    for exp in range(-3, 7):
        for mult in (1, 2, 2.5, 5):
            step = mult * 10.0**exp
            if step >= raw:
                return step
    return raw


def render_chart(report: BenchReport, title: str = "") -> Image.Image:
    """Draw the chart of ``report`` and return it as an RGB image."""
    rows = [r for r in report.results if r.ok]
    font, small = _font(15), _font(12)
    height = 110 + _ROW_H * max(len(rows), 1) + 40
    img = Image.new("RGB", (_WIDTH, height), _BG)
    draw = ImageDraw.Draw(img)
    cpu = str(report.system.get("cpu", ""))
    draw.text((16, 10), title or f"yolopose bench - {cpu}", fill=_FG, font=font)
    # legend
    x = 16
    for stage, color in _COLORS.items():
        draw.rectangle((x, 40, x + 14, 54), fill=color)
        draw.text((x + 20, 40), f"{stage} (median)", fill=_FG, font=small)
        x += 40 + _text_w(draw, f"{stage} (median)", small)
    draw.line((x, 47, x + 14, 47), fill=_FG, width=1)
    draw.line((x + 7, 40, x + 7, 54), fill=_FG, width=2)
    draw.text((x + 20, 40), "p90 end to end", fill=_FG, font=small)
    if not rows:
        draw.text((16, 90), "nothing was measured", fill=_FG, font=font)
        return img

    labels = [f"{i + 1}. {_short(Path(r.model).name, 28)} ({r.backend}:{r.device})" for i, r in enumerate(rows)]
    label_w = max(_text_w(draw, s, small) for s in labels) + 24
    notes = [f"{r.stats['total'].median_ms:.1f} ms  {r.stats['total'].fps:.1f} FPS" for r in rows]
    note_w = max(_text_w(draw, s, small) for s in notes) + 16
    x0, x1 = label_w, _WIDTH - note_w - 8
    top = 80
    vmax = max(max(r.stats["total"].p90_ms, r.stats["total"].median_ms) for r in rows) or 1.0
    step = _nice_step(vmax)
    vmax = step * (int(vmax / step) + 1)
    scale = (x1 - x0) / vmax
    bottom = top + _ROW_H * len(rows)
    tick = 0.0
    while tick <= vmax + 1e-9:
        gx = x0 + tick * scale
        draw.line((gx, top - 6, gx, bottom), fill=_GRID, width=1)
        draw.text((gx - 8, bottom + 6), f"{tick:g}", fill=_FG, font=small)
        tick += step
    draw.text((x0, bottom + 22), "milliseconds per image", fill=_FG, font=small)
    for i, (r, label, note) in enumerate(zip(rows, labels, notes)):
        y = top + i * _ROW_H + (_ROW_H - _BAR_H) // 2
        draw.text((8, y + 5), label, fill=_FG, font=small)
        bx = float(x0)
        for stage, color in _COLORS.items():
            w = r.stats[stage].median_ms * scale
            if w > 0:
                draw.rectangle((bx, y, bx + w, y + _BAR_H), fill=color)
            bx += w
        px = x0 + r.stats["total"].p90_ms * scale
        draw.line((px, y - 4, px, y + _BAR_H + 4), fill=_FG, width=2)
        draw.text((max(bx, px) + 8, y + 5), note, fill=_FG, font=small)
    return img


def save_chart(report: BenchReport, path: Union[str, "os.PathLike[str]"], title: str = "") -> Tuple[int, int]:
    """Render the chart and write it as PNG to ``path`` atomically; return its ``(width, height)``."""
    img = render_chart(report, title=title)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    atomic_write_bytes(path, buf.getvalue())
    return img.size
