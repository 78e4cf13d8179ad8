"""The issued forecast: a blend of members learned on a validation window (pure).

A *member* is any forecast of the same pollutant, lead and day: the learned model, persistence,
climatology and (added by :mod:`ecobasin.forecast.guidance`) raw or MOS-corrected numerical-model
guidance. Per pollutant and lead the blend's weights are non-negative and sum to 1 and minimise
the squared error on validation days the members never saw (rolling origin: the members are fit
on targets before the window). The weights are reached in evidence-gated steps from the best
combination of persistence and climatology (:func:`fit_weights`): where the model does not beat
it on unseen days the blend is that combination, so the shrinkage towards climatology as the lead
grows is learnt, not set.

The predictive distribution is the blend times the validation window's log residuals
``log(1 + y) - log(1 + blend)`` at :data:`QUANTILE_LEVELS`; the range is two of those quantiles.
The published level is persistence's unless the most probable level under a forecast
distribution (:func:`most_probable_level`, not the level of the mean) hit significantly more
levels on the validation days (:func:`choose_level_rule`).

References
----------
.. [1] Breiman L., "Stacked regressions", Machine Learning 24 (1996) 49–64 (non-negative
   weights).
.. [2] DB32/T 4678-2024 §6.1 (level accuracy: the score the level choice maximises).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import numpy.typing as npt

__all__ = [
    "QUANTILE_LEVELS",
    "apply_weights",
    "choose_level_rule",
    "departure",
    "fit_weights",
    "level_gain_statistic",
    "most_probable_level",
    "quantile_columns",
    "residual_quantiles",
]

#: Probability levels of the stored predictive quantiles (0.05 … 0.95).
QUANTILE_LEVELS: tuple[float, ...] = tuple(round(0.05 * k, 2) for k in range(1, 20))
#: Weight of the constraint row that makes the non-negative weights sum to 1.
_SUM_TO_ONE_WEIGHT = 1e4
#: Newey–West lags of the evidence test [days].
HAC_LAGS = 7
#: Diebold–Mariano statistics at which the blend stays at the prior / moves fully to the fit.
T_NONE, T_FULL = 1.5, 3.0
#: Diebold–Mariano statistic a single member needs over the fallback (the conventional 5 %
#: level, two-sided). Kept at 2 because a member's weights set the issued value itself, whose
#: RMSE at every lead must stay ≤ min(persistence, climatology) (issue 21's floors).
T_MEMBER = 2.0
#: Statistic of the level-hit gain a distribution's level needs over persistence's to replace
#: it (:func:`choose_level_rule`): the one-standard-error rule (Breiman et al. 1984,
#: *Classification and Regression Trees*; Hastie, Tibshirani & Friedman, *The Elements of
#: Statistical Learning*, 2nd ed., §7.10): the simplest rule unless another is better by more
#: than one standard error. A convention from the literature, not a value fit to the cities.
T_LEVEL = 1.0
#: The level rule issued without evidence: persistence's level (:func:`choose_level_rule`).
DEFAULT_LEVEL_RULE = "persistence"
#: Fewest validation days with every member present to learn weights from.
MIN_VALIDATION_DAYS = 20

Floats = npt.NDArray[np.float64]


def quantile_columns() -> list[str]:
    """Names of the quantile columns of a forecast frame: ``q05`` … ``q95``."""
    return [f"q{round(100 * q):02d}" for q in QUANTILE_LEVELS]


def fit_weights(
    members: Mapping[str, Floats],
    observed: Floats,
    *,
    baselines: Sequence[str] = ("persistence", "climatology"),
    shrink: float = 0.0,
    origins: npt.ArrayLike | None = None,
    max_departure: float | None = None,
) -> dict[str, float]:
    """Non-negative weights summing to 1, reached in evidence-gated steps from the baselines.

    1. **Fallback** (:func:`_fallback`): a baseline better than the others on every validation
       block; where the better one changes from block to block, the best combination of the
       ``baselines`` (least squares) — a hedge the floors' ``min(persistence, climatology)``
       does not let a single wrong choice break.
    2. **Best member**: among the other members (the learned model, the damped-anomaly
       climatology, MOS …) those whose squared-error gain over the fallback is significant,
       Diebold–Mariano ``t ≥`` :data:`T_MEMBER` pooled over the validation days (HAC variance,
       :func:`_dm_statistic`), the one with the least squared error replaces the fallback. No
       weight is fitted, so its validation error is out of sample already and the every-block
       rule that guards a fit is not asked of it (Chengdu 2015 without weather, +2: the anomaly
       member, t = 2.3, lost only the one block where every forecast was good; issue 21). A
       fallback mix is measured out of block (its weights fit on the other blocks), as the
       full fit is.
    3. **Full blend**: the least-squares weights of every member (ridge
       ``shrink · n · MSE(base) · |w - base|²`` towards the result of step 2) replace it in
       proportion to the evidence of their gain (:func:`_evidence_share`), measured **out of
       block**: each block is forecast with the weights fit on the other blocks, so the gain
       of fitting the weights themselves is not counted (it was what kept 5–10 % of a model
       in Beijing without weather, and what diluted the learned model with guidance features
       with members its validation folds over-rated; issue 21). The step needs a gain on every
       block too (over the fallback mix measured out of block where that is the base).
    4. **Leads** (``max_departure``): the weight on members other than the baselines is at most
       that of the previous lead (the caller passes it): skill decays with lead, so the
       evidence for leaving the baselines cannot be stronger at +5 than at +4; the move from
       the fallback is scaled down to it.

    Parameters
    ----------
    members : mapping
        ``{name: forecast [µg/m³ or mg/m³]}`` on the validation days (NaN where missing).
    observed : array
        Observed values of the same days.
    baselines : sequence of str
        Members the fallback is made of (absent ones are ignored; none present: plain fit).
    shrink : float
        Strength of the ridge towards the step-2 weights [dimensionless]; 0 = none.
    origins : array, optional
        The rolling origin (block of the validation window) of each day; none: one block (the
        full step is then measured in sample).
    max_departure : float, optional
        Largest total weight of the members that are not ``baselines`` [0–1].

    Returns
    -------
    dict
        ``{name: weight}``; with fewer than :data:`MIN_VALIDATION_DAYS` complete days the first
        member gets all the weight.
    """
    names = list(members)
    x = np.column_stack([np.asarray(members[n], dtype=np.float64) for n in names])
    y = np.asarray(observed, dtype=np.float64)
    ok = np.isfinite(y) & np.isfinite(x).all(axis=1)
    if int(ok.sum()) < MIN_VALIDATION_DAYS:
        return {n: float(k == 0) for k, n in enumerate(names)}
    x, y = x[ok], y[ok]
    blocks = np.asarray(origins)[ok] if origins is not None else np.zeros(len(y), dtype=np.int64)
    if not any(n in baselines for n in names):
        return _as_dict(names, _least_squares(x, y, None, shrink))
    fallback = _fallback(x, y, names, baselines, blocks)
    base, yardstick = fallback, x @ fallback
    if np.count_nonzero(fallback) > 1:  # a mix fit on these days: measured out of block
        yardstick = _out_of_block(
            x, y, blocks, lambda xs, ys: _baselines_only(xs, ys, names, baselines)
        )
    member = _best_significant_member(x, y, names, baselines, yardstick)
    if member is not None:
        base = np.eye(len(names))[member]
        yardstick = x @ base
    fitted = _least_squares(x, y, base, shrink)
    out_of_block = _out_of_block(x, y, blocks, lambda xs, ys: _least_squares(xs, ys, base, shrink))
    w = base + _kept_share(yardstick, out_of_block, y, blocks) * (fitted - base)
    if max_departure is not None:
        away = float(sum(v for v, n in zip(w, names, strict=True) if n not in baselines))
        if away > max_departure:
            w = fallback + (max(max_departure, 0.0) / away) * (w - fallback)
    return _as_dict(names, w)


def departure(
    weights: Mapping[str, float], baselines: Sequence[str] = ("persistence", "climatology")
) -> float:
    """Total weight of the members that are not ``baselines`` (the ``max_departure`` of the
    next lead in :func:`fit_weights`)."""
    return float(sum(v for n, v in weights.items() if n not in baselines))


def _mse(forecast: Floats, observed: Floats) -> float:
    return float(np.mean((forecast - observed) ** 2))


def _fallback(
    x: Floats,
    y: Floats,
    names: Sequence[str],
    baselines: Sequence[str],
    blocks: npt.NDArray[np.generic],
) -> Floats:
    """A baseline better than every other baseline on every block; else their best combination
    (:func:`_baselines_only`): where the ranking changes between seasons it may change again in
    the next year (Chengdu 2015 without weather: persistence, worse on the validation window,
    was the better one)."""
    cols = [k for k, n in enumerate(names) if n in baselines]
    for k in cols:
        if all(_gains_on_every_origin(x[:, j], x[:, k], y, blocks) for j in cols if j != k):
            unit = np.zeros(len(names))
            unit[k] = 1.0
            return unit
    return _baselines_only(x, y, names, baselines)


def _out_of_block(
    x: Floats, y: Floats, blocks: npt.NDArray[np.generic], fit: Callable[[Floats, Floats], Floats]
) -> Floats:
    """The forecast of each block by the weights ``fit(x, y)`` learns on the other blocks (one
    block: in sample), so a step is measured on days its weights never saw."""
    keys = np.unique(blocks)
    if len(keys) < 2:
        return x @ fit(x, y)
    out = np.empty(len(y))
    for key in keys:
        held = blocks == key
        out[held] = x[held] @ fit(x[~held], y[~held])
    return out


def _best_significant_member(
    x: Floats, y: Floats, names: Sequence[str], baselines: Sequence[str], yardstick: Floats
) -> int | None:
    """Column of the member (not a baseline) with the least squared error among those whose
    gain over ``yardstick`` has a Diebold–Mariano ``t ≥`` :data:`T_MEMBER`; None if none."""
    significant = [
        k
        for k, n in enumerate(names)
        if n not in baselines and _dm_statistic(yardstick, x[:, k], y) >= T_MEMBER
    ]
    return min(significant, key=lambda k: _mse(x[:, k], y)) if significant else None


def _as_dict(names: Sequence[str], w: Floats) -> dict[str, float]:
    return {n: float(v) for n, v in zip(names, w, strict=True)}


def _least_squares(x: Floats, y: Floats, target: Floats | None, shrink: float) -> Floats:
    """Non-negative weights summing to 1 minimising the squared error, plus (``target`` given)
    the ridge ``shrink · n · MSE(target) · |w - target|²`` (more as the lead grows)."""
    from scipy.optimize import nnls  # imported lazily: the web server starts without it

    scale = float(np.sqrt(np.mean(y**2))) or 1.0  # the constraint row in the data's units
    rows, rhs = [x / scale], [y / scale]
    if shrink > 0 and target is not None:
        mse = float(np.mean((x @ target - y) ** 2))
        strength = np.sqrt(shrink * len(y) * mse) / scale
        rows.append(strength * np.eye(x.shape[1]))
        rhs.append(strength * target)
    a = np.vstack([*rows, np.full(x.shape[1], _SUM_TO_ONE_WEIGHT)])
    b = np.concatenate([*rhs, [_SUM_TO_ONE_WEIGHT]])
    w, _ = nnls(a, b)
    return w / w.sum() if w.sum() > 0 else np.full(x.shape[1], 1 / x.shape[1])


def _kept_share(
    base: Floats, candidate: Floats, observed: Floats, blocks: npt.NDArray[np.generic]
) -> float:
    """How much of the step from ``base`` to ``candidate`` the validation days support: none
    unless it gains on every block (:func:`_gains_on_every_origin`), else the evidence share of
    the pooled gain (:func:`_evidence_share`)."""
    if not _gains_on_every_origin(base, candidate, observed, blocks):
        return 0.0
    return _evidence_share(base, candidate, observed)


def _baselines_only(x: Floats, y: Floats, names: Sequence[str], baselines: Sequence[str]) -> Floats:
    """Non-negative weights summing to 1 of the ``baselines`` alone (least squares): the
    fallback of :func:`fit_weights`, the best combination of the simple baselines the floors
    name (a single one can be the wrong choice for the next year: Chengdu 2015 without weather
    needed both)."""
    from scipy.optimize import nnls  # imported lazily: the web server starts without it

    cols = [k for k, n in enumerate(names) if n in baselines]
    a = np.vstack([x[:, cols], np.full(len(cols), _SUM_TO_ONE_WEIGHT * np.sqrt(np.mean(y**2)))])
    b = np.concatenate([y, [_SUM_TO_ONE_WEIGHT * np.sqrt(np.mean(y**2))]])
    part, _ = nnls(a, b)
    w = np.zeros(len(names))
    w[cols] = part / part.sum() if part.sum() > 0 else 1 / len(cols)
    return w


def _gains_on_every_origin(
    prior: Floats, blend: Floats, observed: Floats, origins: npt.NDArray[np.generic]
) -> bool:
    """Whether the blend's squared error is below the prior's on every validation block."""
    gain = (prior - observed) ** 2 - (blend - observed) ** 2
    return all(float(gain[origins == o].mean()) > 0 for o in np.unique(origins))


def _evidence_share(prior: Floats, blend: Floats, observed: Floats) -> float:
    """How much of the move from the prior to the fitted blend the validation days support:
    the share rises linearly from 0 at ``t =`` :data:`T_NONE` to 1 at :data:`T_FULL` of the
    Diebold–Mariano statistic (:func:`_dm_statistic`): no move without a gain of 1.5 standard
    errors, the whole move with 3."""
    t = _dm_statistic(prior, blend, observed)
    return float(np.clip((t - T_NONE) / (T_FULL - T_NONE), 0.0, 1.0))


def _dm_statistic(prior: Floats, candidate: Floats, observed: Floats) -> float:
    """The Diebold–Mariano statistic ``t`` of the squared-error gain of ``candidate`` over
    ``prior`` [standard errors], with a Newey–West variance (lags up to :data:`HAC_LAGS`: errors
    of consecutive days are correlated, episodes last days); ``inf`` for a gain without
    variance, ``-inf`` for none."""
    return _hac_t((prior - observed) ** 2 - (candidate - observed) ** 2)


def _hac_t(d: Floats) -> float:
    """``mean(d) / se(mean(d))`` of a loss differential ``d`` (positive: the candidate loses
    less) with a Newey–West variance of :data:`HAC_LAGS` lags; ``inf`` for a gain without
    variance, ``-inf`` for none."""
    n = d.size
    mean = float(d.mean())
    if mean <= 0:
        return -np.inf
    c = d - mean
    var = float(c @ c) / n
    for lag in range(1, min(HAC_LAGS, n - 1) + 1):
        var += 2 * (1 - lag / (HAC_LAGS + 1)) * float(c[lag:] @ c[:-lag]) / n
    if var <= 0:
        return np.inf
    return float(mean / np.sqrt(var / n))


def level_gain_statistic(default_hits: npt.ArrayLike, candidate_hits: npt.ArrayLike) -> float:
    """The Diebold–Mariano statistic of the gain in level hits of ``candidate_hits`` over
    ``default_hits`` (one bool per validation day) [standard errors].

    The loss is a miss (0–1 loss, DB32/T 4678-2024 §6.1 level accuracy), so the differential is
    non-zero only on the discordant days: McNemar's comparison of paired hit rates, with a
    Newey–West variance (:data:`HAC_LAGS`) because misses come in episodes of several days and
    the sign test's independent days would over-count the evidence.
    """
    a = np.asarray(default_hits, dtype=np.float64)
    b = np.asarray(candidate_hits, dtype=np.float64)
    return _hac_t(b - a) if a.size else -np.inf


def choose_level_rule(
    default_hits: npt.ArrayLike,
    candidate_hits: Mapping[str, npt.ArrayLike],
    default: str = DEFAULT_LEVEL_RULE,
) -> str:
    """The level rule to issue: ``default`` (persistence's level) unless a candidate rule (the
    most probable level of a forecast distribution) hit significantly more levels on the
    validation days, :func:`level_gain_statistic` ``>`` :data:`T_LEVEL`; among those the one
    with the most hits.

    Issue 21: "level accuracy at least persistence's". Persistence's level is the default
    because it has nothing to fit (the simplest rule): a rule with more hits on the validation
    days only by chance would cost hits in the next year. The bar is the one-standard-error
    rule (Hastie, Tibshirani & Friedman, *The Elements of Statistical Learning*, 2nd ed.,
    §7.10): more hits by more than one standard error of the paired difference (Newey–West,
    pooled over the validation blocks). It is lower than the ``t ≥ 2`` a member needs in
    :func:`fit_weights` because a missed level costs one day's hit, while a member's weight
    moves the issued value and its RMSE at every lead.
    """
    significant = {
        name: int(np.count_nonzero(hits))
        for name, hits in candidate_hits.items()
        if level_gain_statistic(default_hits, hits) > T_LEVEL
    }
    return max(significant, key=lambda name: significant[name]) if significant else default


def apply_weights(
    members: Mapping[str, Floats], weights: Mapping[str, float], stand_in: str | None = "model"
) -> Floats:
    """The weighted blend; where a member is missing its weight is shared by the others, and
    where every weighted member is missing (all the weight on a guidance member and no run
    published for that day) the ``stand_in`` member is issued instead of nothing."""
    total = None
    mass = None
    for name, w in weights.items():
        if name not in members or w <= 0:
            continue
        v = np.asarray(members[name], dtype=np.float64)
        have = np.isfinite(v)
        part = np.where(have, w * v, 0.0)
        total = part if total is None else total + part
        mass = np.where(have, w, 0.0) if mass is None else mass + np.where(have, w, 0.0)
    first = next(iter(members.values()))
    spare = (
        np.asarray(members[stand_in], dtype=np.float64)
        if stand_in is not None and stand_in in members
        else np.full(len(first), np.nan)
    )
    if total is None or mass is None:
        return spare
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(mass > 0, total / mass, spare), dtype=np.float64)


def residual_quantiles(forecast: Floats, observed: Floats) -> list[float]:
    """Quantiles at :data:`QUANTILE_LEVELS` of ``log(1 + y) - log(1 + forecast)`` (validation)."""
    f, y = np.asarray(forecast, dtype=np.float64), np.asarray(observed, dtype=np.float64)
    ok = np.isfinite(f) & np.isfinite(y)
    if not ok.any():
        return [0.0] * len(QUANTILE_LEVELS)
    r = np.log1p(np.clip(y[ok], 0, None)) - np.log1p(np.clip(f[ok], 0, None))
    return [float(v) for v in np.quantile(r, QUANTILE_LEVELS)]


def most_probable_level(
    levels_by_quantile: npt.NDArray[np.int64], median_level: npt.ArrayLike
) -> npt.NDArray[np.int64]:
    """Per row, the level most quantiles of the predictive distribution fall in.

    ``levels_by_quantile`` has one column per :data:`QUANTILE_LEVELS` entry (AQI level 1–6 of
    that quantile; 0 = missing). Equally spaced quantiles: the share of columns in a level is
    its probability. Ties go to the level nearest the median's.
    """
    lv = np.asarray(levels_by_quantile, dtype=np.int64)
    med = np.asarray(median_level, dtype=np.int64)
    counts = np.stack([(lv == k).sum(axis=1) for k in range(1, 7)], axis=1).astype(np.float64)
    # a tiny preference for the median's neighbourhood breaks ties without moving real winners
    counts -= 1e-3 * np.abs(np.arange(1, 7)[None, :] - med[:, None])
    best = np.argmax(counts, axis=1) + 1
    return np.asarray(np.where((lv > 0).any(axis=1), best, 0), dtype=np.int64)
