"""Keypoint smoothing with the One Euro filter (Casiez, Roussel and Vogel, CHI 2012), numpy only.

The One Euro filter is a first-order low-pass filter whose cutoff frequency rises with speed: at
rest it removes jitter strongly, when a joint moves fast it follows with little lag::

    cutoff = min_cutoff + beta * |smoothed speed|
    alpha  = 1 / (1 + 1 / (2 pi cutoff dt))
    x_hat  = x_hat + alpha * (x - x_hat)

:class:`OneEuroFilter` filters an array of any shape element-wise. :class:`KeypointSmoother`
applies it to ``(K, 3)`` keypoints ``(x, y, conf)`` and uses the confidence: a keypoint below
``min_conf`` is not folded in (the smoothed position is held), one between ``min_conf`` and
``full_conf`` moves the estimate proportionally less, and a keypoint that comes back after being
missing for ``reset_after`` seconds, or that jumps by more than ``max_jump`` person sizes, restarts
at its measured position instead of sliding there.
"""
from __future__ import annotations

import math
from typing import Optional, Union

import numpy as np

from ..core.errors import ConfigError

__all__ = ["OneEuroFilter", "KeypointSmoother"]

ArrayLike = Union[float, np.ndarray]


def _alpha(cutoff: np.ndarray, dt: np.ndarray) -> np.ndarray:
    tau = 1.0 / (2.0 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """Element-wise One Euro filter over arrays of a fixed shape.

    Args:
        min_cutoff: cutoff frequency (Hz) at rest; lower removes more jitter and adds more lag.
        beta: how fast the cutoff rises with speed; higher reduces lag during fast motion.
        d_cutoff: cutoff frequency (Hz) of the low-pass filter on the speed estimate.
        freq: assumed sampling rate (Hz) when calls give no timestamp.

    Speeds are in input units per second, divided by ``scale`` if one is given per call (e.g. the
    person's size in pixels, so that one ``beta`` fits near and far people).
    """

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.0, d_cutoff: float = 1.0, freq: float = 30.0) -> None:
        if min_cutoff <= 0 or d_cutoff <= 0 or freq <= 0 or beta < 0:
            raise ConfigError(
                f"OneEuroFilter needs min_cutoff, d_cutoff, freq > 0 and beta >= 0 "
                f"(got {min_cutoff}, {d_cutoff}, {freq}, {beta})"
            )
        self.min_cutoff = float(min_cutoff)
        self.beta = float(beta)
        self.d_cutoff = float(d_cutoff)
        self.freq = float(freq)
        self.reset()

    def reset(self) -> None:
        """Forget all state; the next call returns its input unchanged."""
        self._x: Optional[np.ndarray] = None  # smoothed value (NaN: element not started)
        self._dx: Optional[np.ndarray] = None  # smoothed speed
        self._t: Optional[np.ndarray] = None  # time of the last update of each element
        self._clock: Optional[float] = None  # time of the last call

    @property
    def time(self) -> Optional[float]:
        """Time of the last sample (seconds), or None before the first."""
        return self._clock

    @property
    def value(self) -> Optional[np.ndarray]:
        """The current smoothed value (NaN where an element has never been updated), or None."""
        return None if self._x is None else self._x.copy()

    def reset_elements(self, mask: np.ndarray) -> None:
        """Forget the state of the elements where ``mask`` is true."""
        if self._x is not None:
            m = np.broadcast_to(np.asarray(mask, dtype=bool), self._x.shape)
            self._x[m] = np.nan
            self._dx[m] = 0.0

    def __call__(
        self,
        x: ArrayLike,
        t: Optional[float] = None,
        weight: Optional[ArrayLike] = None,
        scale: ArrayLike = 1.0,
    ) -> np.ndarray:
        """Filter one sample; returns the smoothed array (a new array of ``x``'s shape).

        ``t`` is the sample time in seconds (default: previous time + ``1 / freq``). ``weight`` in
        ``[0, 1]`` (broadcast to ``x``) scales each element's step: 0 holds the element's state.
        """
        xa = np.asarray(x, dtype=np.float64)
        if t is None:
            t = 0.0 if self._clock is None else self._clock + 1.0 / self.freq
        t = float(t)
        if self._clock is not None and t <= self._clock:
            raise ConfigError(f"OneEuroFilter timestamps must increase (got {t} after {self._clock})")
        w = np.ones_like(xa) if weight is None else np.broadcast_to(np.clip(np.asarray(weight, dtype=np.float64), 0.0, 1.0), xa.shape)
        if self._x is None or self._x.shape != xa.shape:
            self._x = np.full(xa.shape, np.nan)
            self._dx = np.zeros(xa.shape)
            self._t = np.full(xa.shape, t)
        self._clock = t
        active = w > 0
        fresh = active & np.isnan(self._x)
        self._x[fresh] = xa[fresh]
        self._dx[fresh] = 0.0
        self._t[fresh] = t
        step = active & ~fresh
        if step.any():
            dt = np.maximum(t - self._t[step], 1e-6)
            prev = self._x[step]
            sc = np.broadcast_to(np.asarray(scale, dtype=np.float64), xa.shape)[step]
            dx = (xa[step] - prev) / dt
            a_d = _alpha(np.full_like(dt, self.d_cutoff), dt) * w[step]
            dx_hat = self._dx[step] + a_d * (dx - self._dx[step])
            cutoff = self.min_cutoff + self.beta * np.abs(dx_hat) / np.maximum(sc, 1e-9)
            a = _alpha(cutoff, dt) * w[step]
            self._x[step] = prev + a * (xa[step] - prev)
            self._dx[step] = dx_hat
            self._t[step] = t
        out = self._x.copy()
        never = np.isnan(out)
        out[never] = xa[never]
        return out


class KeypointSmoother:
    """Confidence-aware One Euro smoothing of one person's ``(K, 3)`` keypoints ``(x, y, conf)``.

    Pass ``scale`` (the person's box size in pixels) to each call: speeds are then measured in
    person sizes per second, so the defaults suit people of any size. Returned confidences are the
    measured ones.
    """

    def __init__(
        self,
        min_cutoff: float = 1.5,
        beta: float = 1.5,
        d_cutoff: float = 1.0,
        min_conf: float = 0.2,
        full_conf: float = 0.5,
        reset_after: float = 0.5,
        max_jump: float = 0.5,
        freq: float = 30.0,
    ) -> None:
        if not 0.0 <= min_conf < full_conf <= 1.0:
            raise ConfigError(f"KeypointSmoother needs 0 <= min_conf < full_conf <= 1 (got {min_conf}, {full_conf})")
        if reset_after <= 0 or max_jump <= 0:
            raise ConfigError(f"KeypointSmoother needs reset_after > 0 seconds and max_jump > 0 (got {reset_after}, {max_jump})")
        self.filter = OneEuroFilter(min_cutoff=min_cutoff, beta=beta, d_cutoff=d_cutoff, freq=freq)
        self.min_conf = float(min_conf)
        self.full_conf = float(full_conf)
        self.reset_after = float(reset_after)
        self.max_jump = float(max_jump)
        self._last_seen: Optional[np.ndarray] = None

    def reset(self) -> None:
        """Forget all state."""
        self.filter.reset()
        self._last_seen = None

    def __call__(self, keypoints: np.ndarray, t: Optional[float] = None, scale: Optional[float] = None) -> np.ndarray:
        """Smooth one frame's ``(K, 3)`` keypoints taken at time ``t`` (seconds).

        ``scale``: the person's size in pixels; speeds are then in sizes per second and jumps of
        more than ``max_jump`` sizes restart a keypoint. Without it speeds are in pixels per second
        and there is no jump test.
        """
        kp = np.asarray(keypoints, dtype=np.float64)
        if kp.ndim != 2 or kp.shape[1] != 3:
            raise ConfigError(f"KeypointSmoother expects (K, 3) keypoints, got shape {kp.shape}")
        if t is None:
            clock = self.filter.time
            t = 0.0 if clock is None else clock + 1.0 / self.filter.freq
        conf = kp[:, 2]
        weight = np.clip((conf - self.min_conf) / (self.full_conf - self.min_conf), 0.0, 1.0)
        weight[~np.isfinite(kp[:, :2]).all(axis=1)] = 0.0
        seen = weight > 0
        if self._last_seen is None or self._last_seen.shape != conf.shape:
            self._last_seen = np.full(conf.shape, -np.inf)
        stale = seen & (t - self._last_seen > self.reset_after)
        prev = self.filter.value
        if scale is not None and prev is not None and prev.shape == kp[:, :2].shape:
            with np.errstate(invalid="ignore"):
                jump = np.linalg.norm(kp[:, :2] - prev, axis=1) > self.max_jump * max(float(scale), 1e-6)
            stale |= seen & jump
        self.filter.reset_elements(np.repeat(stale[:, None], 2, axis=1))
        self._last_seen[seen] = t
        xy = self.filter(kp[:, :2], t=t, weight=weight[:, None], scale=1.0 if scale is None else max(float(scale), 1e-6))
        out = kp.copy()
        out[:, :2] = xy
        return out
