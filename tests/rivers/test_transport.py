"""Properties of the transport solutions (brief ../shared/reference/incidents.md §5): the slug
conserves mass up to decay, the closed-form peak time is the numerical maximum, the finite
release tends to the step source and the step source to the steady solution, and the moment
method of several reaches agrees with the exact slug on one uniform reach."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.optimize import minimize_scalar

from ecobasin.rivers import transport as tr
from ecobasin.rivers.transport import ReachTransport

velocity = st.floats(0.2, 2.0)
dispersion = st.floats(5.0, 800.0)
decay = st.floats(0.0, 1.0 / 86400.0)  # up to 1 per day
area = st.floats(50.0, 2000.0)


@settings(max_examples=40, deadline=None)
@given(velocity, dispersion, decay, area, st.floats(1.0, 48.0))
def test_slug_mass_is_conserved_up_to_decay(
    u: float, d: float, k: float, a: float, hours: float
) -> None:
    mass, t = 1e6, hours * 3600.0
    sigma = math.sqrt(2 * d * t)
    lo, hi = u * t - 12 * sigma, u * t + 12 * sigma
    integral, _ = quad(
        lambda x: tr.slug_concentration_mg_L(mass, a, u, d, k, x, t),
        lo,
        hi,
        points=[u * t],
        limit=200,
    )
    assert math.isclose(integral * a, mass * math.exp(-k * t), rel_tol=1e-6)


@settings(max_examples=40, deadline=None)
@given(velocity, dispersion, decay, st.floats(2_000.0, 150_000.0))
def test_closed_form_peak_time_is_the_numerical_maximum(
    u: float, d: float, k: float, x: float
) -> None:
    t_closed = tr.slug_peak_time_s(u, d, k, x)
    found = minimize_scalar(
        lambda t: -math.log(tr.slug_concentration_mg_L(1e6, 300.0, u, d, k, x, t) + 1e-300),
        bounds=(t_closed * 0.5, t_closed * 1.5),
        method="bounded",
        options={"xatol": 1e-3},
    )
    assert math.isclose(found.x, t_closed, rel_tol=1e-4)


def test_threshold_window_brackets_the_peak_and_matches_a_one_second_grid() -> None:
    args = (2e6, 450.0, 1.0, 300.0, 0.2 / 86400, 60_000.0)
    window = tr.slug_window_above_s(0.05, *args)
    assert window is not None
    start, end = window
    grid = np.arange(0.0, 30 * 3600.0, 1.0)
    above = grid[[tr.slug_concentration_mg_L(*args, t) >= 0.05 for t in grid]]
    assert abs(above[0] - start) <= 2 and abs(above[-1] - end) <= 2
    assert tr.slug_window_above_s(10.0, *args) is None  # the peak never reaches 10 mg/L


@settings(max_examples=30, deadline=None)
@given(velocity, dispersion, decay, st.floats(1_000.0, 60_000.0))
def test_long_finite_release_tends_to_the_steady_solution(
    u: float, d: float, k: float, x: float
) -> None:
    load, a = 10.0, 300.0
    _, steady = tr.steady_dispersive_mg_L(load, a * u, u, d, k, x)
    late = 50 * (x / u + 10 * math.sqrt(2 * d * x / u**3))
    step = tr.step_source_mg_L(load, a, u, d, k, x, late)
    finite = tr.finite_release_mg_L(load, 10 * late, a, u, d, k, x, late)
    assert math.isclose(step, steady, rel_tol=1e-6)
    assert math.isclose(finite, step, rel_tol=1e-12)


def test_step_source_equals_the_time_integral_of_the_slug_kernel() -> None:
    load, a, u, d, k, x, t = 50e3 / 3600, 250.0, 0.9, 150.0, 0.1 / 86400, 20_000.0, 8 * 3600.0
    integral, _ = quad(
        lambda s: tr.slug_concentration_mg_L(load, a, u, d, k, x, t - s), 0, t, limit=400
    )
    assert math.isclose(tr.step_source_mg_L(load, a, u, d, k, x, t), integral, rel_tol=1e-6)


def test_moments_over_reaches_match_the_exact_slug_within_one_percent() -> None:
    u, d, k, a, x, mass = 1.0, 300.0, 0.2 / 86400, 450.0, 60_000.0, 2e6
    halves = [ReachTransport(x / 2, u, d, k), ReachTransport(x / 2, u, d, k)]
    passage = tr.passage_over_reaches(halves)
    assert math.isclose(passage.mean_s, x / u)
    _, c_peak = tr.slug_peak(mass, a, u, d, k, x)
    c_moment = tr.passage_concentration_mg_L(mass, a * u, passage, passage.mean_s)
    assert abs(c_moment - c_peak) / c_peak < 0.01


def test_confluence_weights_by_discharge() -> None:
    q, c = tr.confluence_mg_L([(40.0, 0.12), (460.0, 0.002)])
    assert q == 500.0 and math.isclose(c, (40 * 0.12 + 460 * 0.002) / 500)
