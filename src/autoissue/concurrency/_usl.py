"""The predictor: Gunther's Universal Scalability Law, fitted to observed throughput.

    X(N) = lambda * N / (1 + sigma * (N - 1) + kappa * N * (N - 1))

lambda is the throughput of one, sigma contention (serialisation), kappa coherency
(crosstalk). Dividing through, N/X = u + v(N - 1) + wN(N - 1) with u = 1/lambda,
v = sigma/lambda and w = kappa/lambda: linear in (u, v, w), so least squares solves it.
Noise in throughput is roughly proportional, so rows are weighted by 1/(N/X) (relative
error), and sigma, kappa >= 0 is enforced exactly by solving every subset of the three
columns and keeping the best feasible one (a three-variable non-negative least squares).
The optimum is where X peaks: N* = sqrt((1 - sigma)/kappa), unbounded when kappa is zero.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["ScalingPredictor", "USLFit", "fit_usl"]

_Array = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class USLFit:
    """Fitted USL parameters: ``lam`` (lambda, per second), ``sigma`` and ``kappa``."""

    lam: float
    sigma: float
    kappa: float
    points: int

    @property
    def optimum(self) -> float:
        """N* = sqrt((1-sigma)/kappa), at least 1; ``math.inf`` when kappa is (nearly) zero."""
        if self.kappa <= 1e-12:
            return math.inf
        return max(1.0, math.sqrt(max(0.0, 1.0 - self.sigma) / self.kappa))

    def throughput(self, concurrency: float) -> float:
        """The predicted throughput X(N)."""
        n = concurrency
        return self.lam * n / (1 + self.sigma * (n - 1) + self.kappa * n * (n - 1))

    def curve(self, levels: Iterable[float]) -> list[tuple[float, float]]:
        """The expected throughput curve: ``(N, X(N))`` for each level."""
        return [(float(n), self.throughput(n)) for n in levels]


def _clean(concurrency: Sequence[float], throughput: Sequence[float]) -> tuple[_Array, _Array]:
    n = np.asarray(concurrency, dtype=np.float64).ravel()
    x = np.asarray(throughput, dtype=np.float64).ravel()
    size = min(n.size, x.size)
    n, x = n[:size], x[:size]
    with np.errstate(all="ignore"):
        keep = np.isfinite(n) & np.isfinite(x) & (n >= 1) & (x > 0) & (n < 1e9) & (x < 1e12)
    return n[keep], x[keep]


def _solve(design: _Array, target: _Array) -> _Array | None:
    """Non-negative least squares over three columns by trying every support containing u."""
    best, best_error = None, math.inf
    for size in (1, 2, 3):
        for columns in itertools.combinations(range(3), size):
            if 0 not in columns:
                continue  # u = 1/lambda must be positive
            sub = design[:, list(columns)]
            scale = np.linalg.norm(sub, axis=0)
            coef = np.linalg.lstsq(sub / scale, target, rcond=None)[0] / scale
            full = np.zeros(3)
            full[list(columns)] = coef
            if not np.all(np.isfinite(full)) or full[0] <= 0 or np.any(full < 0):
                continue
            error = float(np.sum((design @ full - target) ** 2))
            if error < best_error:
                best, best_error = full, error
    return best


def fit_usl(concurrency: Sequence[float], throughput: Sequence[float]) -> USLFit | None:
    """Fit the USL to ``(N, X)`` pairs; None when the data cannot support a fit.

    Non-finite, non-positive and N < 1 points are dropped; fewer than three distinct
    concurrency levels (rounded) give None rather than a guess.
    """
    n, x = _clean(concurrency, throughput)
    if np.unique(np.round(n)).size < 3:
        return None
    y = n / x
    design = np.column_stack([np.ones_like(n), n - 1, n * (n - 1)]) / y[:, None]
    with np.errstate(all="ignore"):
        solution = _solve(design, np.ones_like(n))
    if solution is None:
        return None
    u, v, w = (float(value) for value in solution)
    return USLFit(lam=1 / u, sigma=v / u, kappa=w / u, points=int(n.size))


class ScalingPredictor:
    """Keeps the last ``window`` (concurrency, throughput) observations and fits them.

    ``bound`` turns the fit into a ceiling for the limit (the optimum times ``headroom``),
    ``seed`` into a starting limit; both are None until the data supports a fit.
    """

    def __init__(self, *, window: int = 300, min_points: int = 8) -> None:
        self.window = window
        self.min_points = min_points
        self._points: deque[tuple[float, float]] = deque(maxlen=window)
        self._fit: USLFit | None = None
        self._stale = False

    @property
    def points(self) -> tuple[tuple[float, float], ...]:
        """The observations kept, oldest first."""
        return tuple(self._points)

    def observe(self, concurrency: float, throughput: float) -> None:
        """Record one window's mean concurrency and throughput (per second)."""
        self._points.append((float(concurrency), float(throughput)))
        self._stale = True

    def extend(self, points: Iterable[tuple[float, float]]) -> None:
        """Record many observations (restored from history)."""
        for concurrency, throughput in points:
            self.observe(concurrency, throughput)

    def fit(self) -> USLFit | None:
        """The USL fitted to the kept observations (cached until the next observation)."""
        if self._stale:
            self._stale = False
            enough = len(self._points) >= self.min_points
            levels, rates = zip(*self._points, strict=True) if enough else ((), ())
            self._fit = fit_usl(levels, rates) if enough else None
        return self._fit

    def seed(self, max_limit: int) -> int | None:
        """The predicted optimum as a starting limit, at most ``max_limit``."""
        fit = self.fit()
        return None if fit is None else int(min(fit.optimum, max_limit))

    def bound(self, headroom: float, max_limit: int) -> int | None:
        """A ceiling for the limit: ``headroom`` x the optimum; None while it is unbounded."""
        fit = self.fit()
        if fit is None or math.isinf(fit.optimum):
            return None
        return min(max_limit, math.ceil(fit.optimum * headroom))

    def __repr__(self) -> str:
        fit = self.fit()
        optimum = "?" if fit is None else f"{fit.optimum:.1f}"
        return f"<ScalingPredictor points={len(self._points)} optimum={optimum}>"
