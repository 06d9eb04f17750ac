"""A constant-velocity Kalman filter on a bounding box (centre, size), numpy only.

State ``x = (cx, cy, w, h, vcx, vcy, vw, vh)`` in pixels and pixels per frame; the measurement is
the box ``(cx, cy, w, h)``. Process and measurement noise scale with the box size, so the filter
behaves the same for a person filling the frame and one 30 pixels tall.
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

from ..core.errors import ConfigError

__all__ = ["KalmanBoxFilter", "xyxy_to_cxcywh", "cxcywh_to_xyxy"]

_NDIM = 4
_VEL_SCALE = np.array([1.0, 1.0, 0.25, 0.25])  # process noise of (vcx, vcy, vw, vh), relative


def xyxy_to_cxcywh(box: np.ndarray) -> np.ndarray:
    """``(..., 4)`` x1, y1, x2, y2 -> cx, cy, w, h."""
    b = np.asarray(box, dtype=np.float64)
    return np.concatenate([(b[..., :2] + b[..., 2:]) / 2.0, b[..., 2:] - b[..., :2]], axis=-1)


def cxcywh_to_xyxy(box: np.ndarray) -> np.ndarray:
    """``(..., 4)`` cx, cy, w, h -> x1, y1, x2, y2."""
    b = np.asarray(box, dtype=np.float64)
    half = b[..., 2:] / 2.0
    return np.concatenate([b[..., :2] - half, b[..., :2] + half], axis=-1)


class KalmanBoxFilter:
    """Tracks one box with a constant-velocity model.

    ``pos_noise`` and ``vel_noise`` are process-noise standard deviations per frame, and
    ``meas_noise`` the measurement standard deviation, all as fractions of the box size
    (``sqrt(w * h)``). ``predict(dt)`` advances by ``dt`` frames (fractions allowed, e.g. when
    frames are skipped); ``update(box)`` folds in a measured ``xyxy`` box, optionally with a
    confidence in ``(0, 1]`` that scales the measurement noise (low confidence: trust it less).
    """

    def __init__(
        self,
        box_xyxy: np.ndarray,
        pos_noise: float = 0.02,
        vel_noise: float = 0.01,
        meas_noise: float = 0.05,
    ) -> None:
        if min(pos_noise, vel_noise, meas_noise) <= 0:
            raise ConfigError("Kalman noise levels must be positive")
        z = xyxy_to_cxcywh(np.asarray(box_xyxy, dtype=np.float64).reshape(4))
        if not np.isfinite(z).all() or z[2] <= 0 or z[3] <= 0:
            raise ConfigError(f"Kalman filter needs a finite box with positive size, got {box_xyxy!r}")
        self.pos_noise = float(pos_noise)
        self.vel_noise = float(vel_noise)
        self.meas_noise = float(meas_noise)
        self.x = np.concatenate([z, np.zeros(_NDIM)])
        s = self._size()
        # Unknown velocity at the start: a wide prior on it.
        self.P = np.diag(np.r_[np.full(_NDIM, 2 * meas_noise * s), np.full(_NDIM, 10 * vel_noise * s)] ** 2)
        self._H = np.eye(_NDIM, 2 * _NDIM)

    def _size(self) -> float:
        return float(np.sqrt(max(self.x[2], 1e-3) * max(self.x[3], 1e-3)))

    @property
    def box(self) -> np.ndarray:
        """Current box estimate, ``(4,)`` xyxy."""
        return cxcywh_to_xyxy(self.x[:_NDIM])

    @property
    def velocity(self) -> np.ndarray:
        """Current velocity of ``(cx, cy, w, h)`` in pixels per frame."""
        return self.x[_NDIM:].copy()

    def predict(self, dt: float = 1.0) -> np.ndarray:
        """Advance the state by ``dt`` frames; returns the predicted xyxy box."""
        if dt < 0:
            raise ConfigError(f"Kalman predict needs dt >= 0, got {dt}")
        F = np.eye(2 * _NDIM)
        F[:_NDIM, _NDIM:] = dt * np.eye(_NDIM)
        s = self._size()
        # people change size much more slowly than they move: a quarter of the velocity noise
        q = np.r_[np.full(_NDIM, self.pos_noise * s), self.vel_noise * s * _VEL_SCALE] ** 2
        self.x = F @ self.x
        # keep the size positive: a shrinking box must not flip through zero
        self.x[2:4] = np.maximum(self.x[2:4], 1.0)
        self.P = F @ self.P @ F.T + np.diag(q * max(dt, 1e-6))
        return self.box

    def innovation(self, box_xyxy: np.ndarray, confidence: float = 1.0) -> Tuple[np.ndarray, np.ndarray]:
        """Residual ``z - Hx`` and its covariance ``S`` for a measured box."""
        z = xyxy_to_cxcywh(np.asarray(box_xyxy, dtype=np.float64).reshape(4))
        r = (self.meas_noise * self._size()) ** 2 / max(float(confidence), 1e-3)
        S = self._H @ self.P @ self._H.T + r * np.eye(_NDIM)
        return z - self._H @ self.x, S

    def mahalanobis(self, box_xyxy: np.ndarray) -> float:
        """Squared Mahalanobis distance of a measured box from the prediction (chi-square, 4 dof)."""
        y, S = self.innovation(box_xyxy)
        return float(y @ np.linalg.solve(S, y))

    def update(self, box_xyxy: np.ndarray, confidence: float = 1.0) -> np.ndarray:
        """Fold in a measured xyxy box; returns the corrected box."""
        y, S = self.innovation(box_xyxy, confidence)
        K = np.linalg.solve(S, self._H @ self.P).T  # P H^T S^-1 (S and P symmetric)
        self.x = self.x + K @ y
        self.x[2:4] = np.maximum(self.x[2:4], 1.0)
        I_KH = np.eye(2 * _NDIM) - K @ self._H
        self.P = I_KH @ self.P  # (I - KH) P
        self.P = (self.P + self.P.T) / 2.0
        return self.box
