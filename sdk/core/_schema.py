"""Small validators for untrusted JSON-like values (model metadata), one rule object per field.

A rule's :meth:`Rule.check` takes a value and the field's path (``"strides[1]"``) and returns
the normalised value (lists become tuples, integral floats ints) or raises :class:`FieldError`
naming the path. Rules never call ``int()``/``float()`` on a value they have not type-checked, so
no ``OverflowError``, ``TypeError`` or ``RecursionError`` can escape: non-finite numbers, wrong
types, out-of-range values, oversized lists and deep nesting are all :class:`FieldError`.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

__all__ = [
    "FieldError",
    "Rule",
    "Int",
    "Num",
    "Str",
    "Bool",
    "Seq",
    "Maybe",
    "Size",
    "Anchors",
    "Record",
    "JsonValue",
    "OpenMapping",
]


class FieldError(ValueError):
    """One invalid value: ``path`` names the field (``"letterbox.pad_value"``), ``reason`` the problem."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"field {path!r}: {reason}")
        self.path = path
        self.reason = reason


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", tuple: "a list", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), type(value).__name__)


class Rule:
    """Base class: ``check(value, path) -> normalised value`` or :class:`FieldError`."""

    def check(self, value: Any, path: str) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


def _number(value: Any, path: str, what: str) -> Union[int, float]:
    """``value`` as a Python int or finite float (numpy scalars included); never bool or str."""
    kind = type(value)
    if kind is int:  # the common cases first (COCO files hold millions of numbers)
        return value
    if kind is float and math.isfinite(value):
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise FieldError(path, f"{_show(value)} is {_kind(value)}, not {what}")
    if isinstance(value, numbers.Integral):
        return int(value)
    v = float(value)
    if not math.isfinite(v):
        raise FieldError(path, f"{_show(value)} is not a finite number")
    return v


class Int(Rule):
    """An integer in ``[lo, hi]`` (an integral float such as ``64.0`` is accepted as ``64``)."""

    def __init__(self, lo: int, hi: int) -> None:
        self.lo, self.hi = lo, hi

    def check(self, value: Any, path: str) -> int:
        v = _number(value, path, "an integer")
        if isinstance(v, float):
            if not v.is_integer():
                raise FieldError(path, f"{_show(value)} is not an integer")
            v = int(v)
        if not self.lo <= v <= self.hi:
            raise FieldError(path, f"{v} is outside {self.lo}..{self.hi}")
        return int(v)


class Num(Rule):
    """A finite number in ``[lo, hi]`` (``lo`` excluded when ``above`` is set)."""

    def __init__(self, lo: float, hi: float, above: bool = False) -> None:
        self.lo, self.hi, self.above = lo, hi, above

    def all_plain(self, values: Sequence[Any]) -> Optional[Tuple[float, ...]]:
        """``values`` as floats when every one is a plain in-range int or finite float, else ``None``."""
        lo, hi, above = self.lo, self.hi, self.above
        for v in values:
            t = type(v)
            if not (t is float or t is int) or not (lo < v if above else lo <= v) or not v <= hi:
                return None  # also NaN (every comparison is false); inf fails the range
        return tuple(map(float, values))

    def check(self, value: Any, path: str) -> float:
        v = float(_number(value, path, "a number"))
        low_ok = v > self.lo if self.above else v >= self.lo
        if not low_ok or v > self.hi:
            raise FieldError(path, f"{v:g} is outside {'(' if self.above else '['}{self.lo:g}, {self.hi:g}]")
        return v


class Str(Rule):
    """A string of at most ``max_len`` characters, one of ``choices`` if given."""

    def __init__(self, max_len: int = 1024, choices: Optional[Sequence[str]] = None) -> None:
        self.max_len, self.choices = max_len, tuple(choices) if choices else None

    def check(self, value: Any, path: str) -> str:
        if not isinstance(value, str):
            raise FieldError(path, f"{_show(value)} is {_kind(value)}, not a string")
        if self.choices is not None and value not in self.choices:
            raise FieldError(path, f"{_show(value)} is not one of {', '.join(self.choices)}")
        if len(value) > self.max_len:
            raise FieldError(path, f"a string of {len(value)} characters, more than {self.max_len}")
        return value


class Bool(Rule):
    """``true`` or ``false`` (not 0/1, not strings)."""

    def check(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise FieldError(path, f"{_show(value)} is {_kind(value)}, not true or false")
        return value


class Seq(Rule):
    """A list (or tuple) of ``min_len..max_len`` items, each checked by ``item``; returns a tuple."""

    def __init__(self, item: Rule, max_len: int, min_len: int = 0) -> None:
        self.item, self.min_len, self.max_len = item, min_len, max_len

    def check(self, value: Any, path: str) -> Tuple[Any, ...]:
        if not isinstance(value, (list, tuple)):
            raise FieldError(path, f"{_show(value)} is {_kind(value)}, not a list")
        if not self.min_len <= len(value) <= self.max_len:
            span = str(self.min_len) if self.min_len == self.max_len else f"{self.min_len}..{self.max_len}"
            raise FieldError(path, f"a list of {len(value)} items, expected {span}")
        item, out = self.item, []
        if type(item) is Num:  # long lists of numbers (keypoints): one tight loop, the rules only on a miss
            fast = item.all_plain(value)
            if fast is not None:
                return fast
        for i, v in enumerate(value):
            try:
                out.append(item.check(v, ""))  # the item's path is spelled out only if it fails
            except FieldError:
                item.check(v, f"{path}[{i}]")  # the same check again, raising with the right path
                raise
        return tuple(out)


class Maybe(Rule):
    """``null`` or a value of ``rule``."""

    def __init__(self, rule: Rule) -> None:
        self.rule = rule

    def check(self, value: Any, path: str) -> Any:
        return None if value is None else self.rule.check(value, path)


class Size(Rule):
    """An image size: one integer (square) or ``[height, width]``, each in ``1..max_side``."""

    def __init__(self, max_side: int) -> None:
        self.max_side = max_side

    def check(self, value: Any, path: str) -> Tuple[int, int]:
        if isinstance(value, (list, tuple)):
            if len(value) != 2:
                raise FieldError(path, f"a list of {len(value)} items, expected [height, width]")
            h, w = (_number(v, f"{path}[{i}]", "an integer") for i, v in enumerate(value))
        else:
            h = w = _number(value, path, "an integer or [height, width]")
        for v in (h, w):
            if isinstance(v, float) and not v.is_integer():
                raise FieldError(path, f"{_show(v)} is not an integer")
        h, w = int(h), int(w)
        if not (1 <= h <= self.max_side and 1 <= w <= self.max_side):
            raise FieldError(path, f"input size {h}x{w} is outside 1..{self.max_side} pixels per side")
        return h, w


class Anchors(Rule):
    """Per level ``[[w, h], ...]`` or the flat YOLOv5 form ``[w, h, w, h, ...]`` -> tuples of pairs."""

    def __init__(self, max_levels: int, max_per_level: int, max_value: float) -> None:
        self.max_levels, self.max_per_level = max_levels, max_per_level
        self.value = Num(0.0, max_value, above=True)

    def check(self, value: Any, path: str) -> Tuple[Tuple[Tuple[float, float], ...], ...]:
        levels = Seq(_Any(), self.max_levels).check(value, path)
        out = []
        for i, level in enumerate(levels):
            where = f"{path}[{i}]"
            if not isinstance(level, (list, tuple)):
                raise FieldError(where, f"{_show(level)} is {_kind(level)}, not a list of anchors")
            if level and not isinstance(level[0], (list, tuple)):  # flat form
                if len(level) % 2:
                    raise FieldError(where, "the anchor list has an odd number of values")
                level = [level[j : j + 2] for j in range(0, len(level), 2)]
            pairs = Seq(Seq(self.value, 2, 2), self.max_per_level, 1).check(level, where)
            out.append(tuple((float(w), float(h)) for w, h in pairs))
        return tuple(out)


class _Any(Rule):
    def check(self, value: Any, path: str) -> Any:
        return value


class Record(Rule):
    """An object with the given fields (``required`` ones must be present; others keep ``default``)."""

    def __init__(self, fields: Mapping[str, Rule], required: Iterable[str] = (), defaults: Optional[Mapping[str, Any]] = None) -> None:
        self.fields, self.required, self.defaults = dict(fields), tuple(required), dict(defaults or {})

    def check(self, value: Any, path: str) -> Dict[str, Any]:
        if not isinstance(value, Mapping):
            raise FieldError(path, f"{_show(value)} is {_kind(value)}, not an object")
        out: Dict[str, Any] = {}
        for name in self.required:
            if name not in value:
                raise FieldError(path, f"lacks {name!r}")
        for name, rule in self.fields.items():
            if name in value:
                out[name] = rule.check(value[name], f"{path}.{name}")
            elif name in self.defaults:
                out[name] = self.defaults[name]
        unknown = [str(k) for k in value if k not in self.fields]
        if unknown:
            raise FieldError(path, f"unknown key {unknown[0]!r} (known: {', '.join(self.fields)})")
        return out


class JsonValue(Rule):
    """Any JSON value within limits: nesting depth, items in all, string length, finite numbers."""

    def __init__(self, max_depth: int = 16, max_items: int = 100_000, max_str: int = 100_000) -> None:
        self.max_depth, self.max_items, self.max_str = max_depth, max_items, max_str

    def check(self, value: Any, path: str) -> Any:
        budget = [self.max_items]
        return self._walk(value, path, 0, budget)

    def _walk(self, value: Any, path: str, depth: int, budget: List[int]) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise FieldError(path, f"more than {self.max_items} values in all")
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, numbers.Real):
            return _number(value, path, "a number")
        if isinstance(value, str):
            if len(value) > self.max_str:
                raise FieldError(path, f"a string of {len(value)} characters, more than {self.max_str}")
            return value
        if depth >= self.max_depth and isinstance(value, (list, tuple, Mapping)):
            raise FieldError(path, f"nested more than {self.max_depth} levels deep")
        if isinstance(value, (list, tuple)):
            return [self._walk(v, f"{path}[{i}]", depth + 1, budget) for i, v in enumerate(value)]
        if isinstance(value, Mapping):
            out = {}
            for k, v in value.items():
                if not isinstance(k, str):
                    raise FieldError(path, f"key {_show(k)} is not a string")
                out[k] = self._walk(v, f"{path}.{k}", depth + 1, budget)
            return out
        raise FieldError(path, f"{_show(value)} is {_kind(value)}, not a JSON value")


class OpenMapping(Rule):
    """An object whose keys are open: ``known`` keys are checked by their rule, every other value
    by ``other`` (a :class:`JsonValue`). Returns a plain ``dict``."""

    def __init__(self, known: Mapping[str, Rule], other: Optional[Rule] = None) -> None:
        self.known, self.other = dict(known), other or JsonValue()

    def check(self, value: Any, path: str) -> Dict[str, Any]:
        if not isinstance(value, Mapping):
            raise FieldError(path, f"{_show(value)} is {_kind(value)}, not an object")
        checked = self.other.check({k: v for k, v in value.items() if k not in self.known}, path)
        for name, rule in self.known.items():
            if name in value:
                checked[name] = rule.check(value[name], f"{path}.{name}")
        return {k: checked[k] for k in value}  # keep the writer's key order
