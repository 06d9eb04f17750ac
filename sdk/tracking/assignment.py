"""Optimal and greedy assignment of rows (tracks) to columns (detections), numpy only.

:func:`linear_sum_assignment` solves the rectangular linear assignment problem with the
shortest-augmenting-path form of the Hungarian algorithm (row by row, dual potentials on rows and
columns), ``O(n^2 m)`` for ``n <= m``; the inner loops over columns are vectorized. It returns the
same kind of result as ``scipy.optimize.linear_sum_assignment`` (which yolopose does not depend on).
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

from ..core.errors import ConfigError

__all__ = ["linear_sum_assignment", "greedy_assignment"]


def _as_cost(cost: np.ndarray) -> np.ndarray:
    c = np.asarray(cost, dtype=np.float64)
    if c.ndim != 2:
        raise ConfigError(f"cost matrix must be 2-D, got shape {c.shape}")
    if c.size and not np.isfinite(c).all():
        raise ConfigError("cost matrix contains NaN or inf; use a large finite cost for forbidden pairs")
    return c


def linear_sum_assignment(cost: np.ndarray, maximize: bool = False) -> Tuple[np.ndarray, np.ndarray]:
    """Minimum-cost assignment of a ``(n, m)`` cost matrix.

    Returns ``(rows, cols)`` int64 arrays of length ``min(n, m)``: row ``rows[k]`` is assigned to
    column ``cols[k]``, ``rows`` ascending. The total ``cost[rows, cols].sum()`` is minimal (maximal
    with ``maximize=True``) over all assignments of ``min(n, m)`` pairs.
    """
    c = _as_cost(cost)
    if maximize:
        c = -c
    transposed = c.shape[0] > c.shape[1]
    if transposed:
        c = c.T
    n, m = c.shape
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy()
    # Shift costs to be non-negative: does not change the optimum, keeps potentials well scaled.
    c = c - c.min()
    u = np.zeros(n + 1)  # row potentials (1-based rows; 0 is the virtual row)
    v = np.zeros(m + 1)  # column potentials (index 0: virtual column)
    owner = np.zeros(m + 1, dtype=np.int64)  # owner[j]: row assigned to column j (0: none)
    way = np.zeros(m + 1, dtype=np.int64)  # previous column on the augmenting path
    for i in range(1, n + 1):
        owner[0] = i
        j0 = 0
        minv = np.full(m + 1, np.inf)
        used = np.zeros(m + 1, dtype=bool)
        while True:
            used[j0] = True
            i0 = owner[j0]
            free = ~used
            free[0] = False
            reduced = c[i0 - 1] - u[i0] - v[1:]
            better = free[1:] & (reduced < minv[1:])
            minv[1:][better] = reduced[better]
            way[1:][better] = j0
            candidates = np.where(free, minv, np.inf)
            j1 = int(np.argmin(candidates))
            delta = candidates[j1]
            u[owner[used]] += delta
            v[used] -= delta
            minv[free] -= delta
            j0 = j1
            if owner[j0] == 0:
                break
        while j0:  # flip the augmenting path
            j1 = way[j0]
            owner[j0] = owner[j1]
            j0 = j1
    cols = np.nonzero(owner[1:])[0]
    rows = owner[1:][cols] - 1
    if transposed:
        rows, cols = cols, rows
    order = np.argsort(rows, kind="stable")
    return rows[order].astype(np.int64), cols[order].astype(np.int64)


def greedy_assignment(cost: np.ndarray, max_cost: float = np.inf) -> Tuple[np.ndarray, np.ndarray]:
    """Greedy assignment: repeatedly take the cheapest remaining pair with cost ``<= max_cost``.

    Not optimal, but ``O(nm log nm)`` and often good enough; returns ``(rows, cols)`` like
    :func:`linear_sum_assignment` (possibly fewer pairs).
    """
    c = _as_cost(cost)
    n, m = c.shape
    flat = np.argsort(c, axis=None, kind="stable")
    row_used = np.zeros(n, dtype=bool)
    col_used = np.zeros(m, dtype=bool)
    rows, cols = [], []
    for idx in flat:
        r, k = divmod(int(idx), m)
        if c[r, k] > max_cost:
            break
        if row_used[r] or col_used[k]:
            continue
        row_used[r] = col_used[k] = True
        rows.append(r)
        cols.append(k)
        if len(rows) == min(n, m):
            break
    rows_a = np.asarray(rows, dtype=np.int64)
    cols_a = np.asarray(cols, dtype=np.int64)
    order = np.argsort(rows_a, kind="stable")
    return rows_a[order], cols_a[order]
