from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autoissue.concurrency._usl import ScalingPredictor, USLFit, fit_usl


def synthetic(lam: float, sigma: float, kappa: float, noise: float, seed: int = 7) -> tuple:
    rng = np.random.default_rng(seed)
    n = np.repeat(np.arange(1, 201, 5), 3).astype(float)
    x = lam * n / (1 + sigma * (n - 1) + kappa * n * (n - 1))
    return n, x * np.exp(rng.normal(0.0, noise, n.size))


@pytest.mark.parametrize(
    ("lam", "sigma", "kappa"), [(10.0, 0.05, 0.0005), (200.0, 0.2, 0.0001), (1.0, 0.01, 0.00002)]
)
def test_fit_recovers_known_parameters_through_noise(
    lam: float, sigma: float, kappa: float
) -> None:
    fit = fit_usl(*synthetic(lam, sigma, kappa, noise=0.03))
    assert fit is not None
    assert fit.lam == pytest.approx(lam, rel=0.05)
    assert fit.sigma == pytest.approx(sigma, rel=0.15, abs=0.005)
    assert fit.kappa == pytest.approx(kappa, rel=0.15)
    assert fit.optimum == pytest.approx(math.sqrt((1 - sigma) / kappa), rel=0.1)


def test_linear_scaling_has_an_unbounded_optimum() -> None:
    n = np.arange(1.0, 50.0)
    fit = fit_usl(n, 3.0 * n)
    assert fit is not None
    assert fit.sigma == pytest.approx(0.0, abs=1e-9)
    assert fit.kappa == pytest.approx(0.0, abs=1e-9)
    assert math.isinf(fit.optimum)


def test_curve_peaks_at_the_optimum() -> None:
    fit = USLFit(lam=10.0, sigma=0.1, kappa=0.001, points=0)
    assert fit.optimum == pytest.approx(30.0)
    curve = dict(fit.curve([10, 30, 90]))
    assert curve[30] > curve[10]
    assert curve[30] > curve[90]
    assert fit.throughput(1) == pytest.approx(10.0)
    assert USLFit(lam=1.0, sigma=1.5, kappa=0.1, points=0).optimum == 1.0


def test_too_few_levels_give_no_fit() -> None:
    assert fit_usl([10, 10, 10, 20], [1, 2, 3, 4]) is None
    assert fit_usl([], []) is None
    assert fit_usl([1, 2, math.nan, math.inf], [1, 2, 3, 4]) is None


finite = st.floats(allow_nan=True, allow_infinity=True, width=64)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(finite, finite), max_size=40))
def test_fit_never_crashes_or_returns_nan(points: list[tuple[float, float]]) -> None:
    levels = [n for n, _ in points]
    rates = [x for _, x in points]
    fit = fit_usl(levels, rates)
    if fit is not None:
        values = [fit.lam, fit.sigma, fit.kappa]
        assert all(math.isfinite(value) for value in values)
        assert fit.sigma >= 0
        assert fit.kappa >= 0
        assert fit.lam > 0
        assert not math.isnan(fit.optimum)


def test_predictor_bounds_and_seeds_from_its_window() -> None:
    predictor = ScalingPredictor(window=50, min_points=5)
    assert predictor.fit() is None
    assert predictor.bound(2.0, 1000) is None
    n, x = synthetic(10.0, 0.05, 0.0005, noise=0.0)
    predictor.extend(zip(n[:50], x[:50], strict=True))
    assert len(predictor.points) == 50
    optimum = math.sqrt(0.95 / 0.0005)
    assert predictor.seed(1000) == int(optimum)
    assert predictor.seed(20) == 20
    assert predictor.bound(2.0, 1000) == math.ceil(optimum * 2)
    assert "optimum=43.6" in repr(predictor)


def test_predictor_without_contention_gives_no_bound() -> None:
    predictor = ScalingPredictor(min_points=3)
    for n in (1, 5, 10, 20):
        predictor.observe(n, 4.0 * n)
    assert predictor.bound(2.0, 500) is None
    assert predictor.seed(500) == 500
    assert "optimum=inf" in repr(predictor)
