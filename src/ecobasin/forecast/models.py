"""Forecast models (pure): persistence, climatology and LightGBM, saved as text with metadata.

Every model turns a complete day grid (:func:`ecobasin.forecast.features.complete_grid`) and a
set of issue days into the same long forecast frame (:data:`FORECAST_COLUMNS`): per city, issue
day, lead and pollutant a central ``value`` and a predictive interval ``lower``–``upper``
(quantiles ``quantiles`` of the model's predictive distribution). The AQI, its range, level and
primary pollutant follow from that frame (:mod:`ecobasin.forecast.aqi_range`).

* :class:`Persistence`: tomorrow and every later day as on the issue day; the interval from the
  training distribution of the ratio ``y(D+h) / y(D)`` per pollutant and lead.
* :class:`Climatology`: the training mean of the city on days within ±15 days of the target's
  day of the year (all years pooled); the interval from the same days' quantiles.
* :class:`GBM`: LightGBM regressors trained over all cities of the region together, one per
  pollutant and lead: an L2 model for the central value and two quantile (pinball-loss) models
  for the interval. Trained models serialise to text (LightGBM's model format) plus JSON
  metadata: training span, cities, features, configuration, version, validation scores.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ecobasin.forecast.aqi_range import level_hits
from ecobasin.forecast.blend import (
    DEFAULT_LEVEL_RULE,
    MIN_VALIDATION_DAYS,
    QUANTILE_LEVELS,
    Floats,
    apply_weights,
    choose_level_rule,
    departure,
    fit_weights,
    quantile_columns,
    residual_quantiles,
)
from ecobasin.forecast.features import (
    FORECAST_POLLUTANTS,
    FeatureSpec,
    complete_grid,
    make_features,
    met_mode,
    met_parameters,
    rolling_by_city,
)

__all__ = [
    "FORECAST_COLUMNS",
    "FORMAT_VERSION",
    "GBM",
    "Climatology",
    "GBMConfig",
    "Persistence",
    "available_pollutants",
    "bundle_from_payload",
    "bundle_payload",
    "train_bundle",
]

#: Columns of every model's forecast frame.
FORECAST_COLUMNS: tuple[str, ...] = (
    "city",
    "issue_day",
    "lead",
    "target_day",
    "pollutant",
    "value",
    "lower",
    "upper",
)
#: Version of the saved-model layout (payload keys and metadata fields).
FORMAT_VERSION = 2
CLIMATOLOGY_HALF_WINDOW = 15


@dataclass(frozen=True)
class GBMConfig:
    """LightGBM settings (small, single-threaded: the platform shares its cores).

    Attributes
    ----------
    leads : tuple of int
        Days ahead to forecast.
    quantiles : (float, float)
        Lower and upper predictive quantiles of the range.
    target : {"log_ratio", "delta", "level"}
        What the model learns: the log ratio of the target day's value to the latest known
        value (default: trends and level shifts carry over), the difference, or the value.
    target_quantiles : (float, float)
        Training quantiles the target is winsorised at (and a forecast's target clipped to).
    anchor_cap_quantile : float
        Training quantile of the pollutant's daily values that caps the latest value a forecast
        is relative to (an extreme issue day is not extrapolated days ahead).
    shrink_per_lead : float
        Ridge of the fitted blend weights towards the best single step (baseline or member)
        per day of lead (:func:`ecobasin.forecast.blend.fit_weights`).
    calibration_share : float
        Share of the latest training days forming the validation window of the blend weights
        and the predictive quantiles; 0 issues the model alone.
    validation_origins : int
        Rolling origins the validation window is cut into: each block is forecast by members
        fit on the targets before it (more origins: more seasons behind the weights).
    anomaly_member : bool
        Add the damped-anomaly climatology member (:func:`anomaly_member`).
    every_origin : bool
        Pass the origins to the blend: each step away from the baselines is taken only if it
        gains on every origin's block, the full fit measured out of block
        (:func:`ecobasin.forecast.blend.fit_weights`); False: one pooled block.
    guidance_features : bool
        When guidance is given, the learned models also take the guidance of the target day
        (as known on the issue day) as features (:func:`guidance_features`).
    rounds, learning_rate, num_leaves, min_data_in_leaf : LightGBM parameters.
    use_met : bool
        Use meteorology when the grid has it.
    threads : int
        LightGBM threads.
    """

    leads: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7)
    quantiles: tuple[float, float] = (0.2, 0.8)
    rounds: int = 300
    learning_rate: float = 0.03
    num_leaves: int = 15
    min_data_in_leaf: int = 20
    feature_fraction: float = 0.8
    bagging_fraction: float = 0.8
    lambda_l2: float = 1.0
    use_met: bool = True
    threads: int = 1
    seed: int = 7
    lags: int = 7
    windows: tuple[int, ...] = (3, 7, 14)
    seasonal: bool = False
    target: str = "log_ratio"
    target_quantiles: tuple[float, float] = (0.005, 0.995)
    anchor_cap_quantile: float = 0.998
    shrink_per_lead: float = 0.01
    calibration_share: float = 0.4
    validation_origins: int = 3
    anomaly_member: bool = True
    guidance_features: bool = True
    every_origin: bool = True

    def spec(self) -> FeatureSpec:
        return FeatureSpec(
            lags=self.lags, windows=self.windows, use_met=self.use_met, seasonal=self.seasonal
        )

    def params(self, objective: str, alpha: float | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {
            "objective": objective,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf,
            "feature_fraction": self.feature_fraction,
            "bagging_fraction": self.bagging_fraction,
            "bagging_freq": 1,
            "lambda_l2": self.lambda_l2,
            "num_threads": self.threads,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }
        if alpha is not None:
            params["alpha"] = alpha
        return params


def available_pollutants(grid: pd.DataFrame) -> list[str]:
    """The forecastable pollutants with data in the grid, in :data:`FORECAST_POLLUTANTS` order."""
    return [p for p in FORECAST_POLLUTANTS if p in grid and grid[p].notna().any()]


def _empty_forecast() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in FORECAST_COLUMNS})


def _forecast_rows(
    keys: pd.DataFrame,
    lead: int,
    pollutant: str,
    value: npt.ArrayLike,
    lower: npt.ArrayLike,
    upper: npt.ArrayLike,
) -> pd.DataFrame:
    v = np.clip(np.asarray(value, dtype=np.float64), 0.0, None)
    lo = np.clip(np.fmin(np.asarray(lower, dtype=np.float64), v), 0.0, None)
    hi = np.fmax(np.asarray(upper, dtype=np.float64), v)
    return pd.DataFrame(
        {
            "city": keys["city"].to_numpy(),
            "issue_day": keys["issue_day"].to_numpy(),
            "lead": lead,
            "target_day": keys["target_day"].to_numpy(),
            "pollutant": pollutant,
            "value": v,
            "lower": lo,
            "upper": hi,
        }
    )


def _issue_mask(keys: pd.DataFrame, issue_days: Iterable[Any] | None) -> npt.NDArray[np.bool_]:
    if issue_days is None:
        return np.ones(len(keys), dtype=bool)
    wanted = pd.DatetimeIndex(pd.to_datetime(list(issue_days)))
    return np.asarray(keys["issue_day"].isin(wanted), dtype=bool)


def _last_known(grid: pd.DataFrame, pollutant: str, limit: int = 2) -> pd.Series:
    """The latest value on or before each day (up to ``limit`` days back), per city."""
    return grid.groupby(level="city", sort=False)[pollutant].ffill(limit=limit)


# ---------------------------------------------------------------------------------------------
# baselines
# ---------------------------------------------------------------------------------------------


@dataclass
class Persistence:
    """Persistence: every lead forecast as the issue day's value (latest value ≤ D).

    Attributes
    ----------
    ratios : dict
        ``{pollutant: {lead: (q_lo, q_hi)}}`` quantiles of y(D+h)/y(D) in the training span.
    """

    quantiles: tuple[float, float] = (0.2, 0.8)
    ratios: dict[str, dict[int, tuple[float, float]]] = field(default_factory=dict)
    name: str = "persistence"

    def fit(
        self, grid: pd.DataFrame, train_end: Any, leads: Sequence[int], pollutants: Sequence[str]
    ) -> Persistence:
        end = pd.Timestamp(train_end)
        days = pd.DatetimeIndex(grid.index.get_level_values("day"))
        for p in pollutants:
            base = _last_known(grid, p)
            self.ratios[p] = {}
            for h in leads:
                fut = grid.groupby(level="city", sort=False)[p].shift(-h)
                ok = (days + pd.Timedelta(days=h) <= end) & (base > 0) & fut.notna()
                r = (fut[ok] / base[ok]).to_numpy()
                lo, hi = np.quantile(r, self.quantiles) if r.size else (1.0, 1.0)
                self.ratios[p][h] = (float(lo), float(hi))
        return self

    def predict(
        self, grid: pd.DataFrame, issue_days: Iterable[Any] | None, leads: Sequence[int]
    ) -> pd.DataFrame:
        parts = []
        days = grid.index.get_level_values("day")
        keys0 = pd.DataFrame(
            {"city": grid.index.get_level_values("city").astype(str), "issue_day": days}
        )
        mask = _issue_mask(keys0, issue_days)
        for p, by_lead in self.ratios.items():
            if p not in grid:
                continue
            base = _last_known(grid, p).to_numpy()[mask]
            for h in leads:
                lo, hi = by_lead.get(h, (1.0, 1.0))
                keys = keys0[mask].assign(target_day=days[mask] + pd.Timedelta(days=h))
                parts.append(_forecast_rows(keys, h, p, base, base * lo, base * hi))
        return pd.concat(parts, ignore_index=True) if parts else _empty_forecast()

    def state(self) -> dict[str, Any]:
        return {
            "quantiles": list(self.quantiles),
            "ratios": {p: {str(h): list(v) for h, v in r.items()} for p, r in self.ratios.items()},
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Persistence:
        ratios = {
            p: {int(h): (float(v[0]), float(v[1])) for h, v in r.items()}
            for p, r in state["ratios"].items()
        }
        q = state["quantiles"]
        return cls(quantiles=(float(q[0]), float(q[1])), ratios=ratios)


def _circular_window(doy: npt.NDArray[np.int64], centre: int, half: int) -> npt.NDArray[np.bool_]:
    d = np.abs(doy - centre)
    return np.asarray(np.minimum(d, 366 - d) <= half, dtype=bool)


def linear_quantiles(ordered: npt.NDArray[np.float64], qs: Sequence[float]) -> list[float]:
    """``np.quantile(ordered, qs)`` (the default, linear method), bit for bit, of values sorted
    ascending without NaN: the same virtual index, neighbours and interpolation as NumPy's,
    without its per-call overhead (the climatology asks for thousands of small windows)."""
    n = len(ordered)
    out = []
    for q in qs:
        virtual = (n - 1) * q  # NumPy's virtual index of the linear method
        if virtual >= n - 1:
            out.append(float(ordered[-1]))
            continue
        below = math.floor(virtual)
        gamma = virtual - below
        a, b = float(ordered[below]), float(ordered[below + 1])
        diff = b - a
        out.append(b - diff * (1 - gamma) if gamma >= 0.5 else a + diff * gamma)
    return out


@dataclass
class Climatology:
    """Climatology: the city's training mean and quantiles within ±15 days of the target's
    day of the year. Cities without training data get the region's.

    Attributes
    ----------
    table : dict
        ``{pollutant: {city or "*": [[mean, q_lo, q_hi] for day of year 1..366]}}``.
    """

    quantiles: tuple[float, float] = (0.2, 0.8)
    table: dict[str, dict[str, list[list[float]]]] = field(default_factory=dict)
    name: str = "climatology"

    def __post_init__(self) -> None:
        # the means of one pollutant's table as arrays, built once: a fit asks for them for
        # every validation slice, and converting the 366-day lists each time cost more than
        # the lookups (not a field: equality and the saved state stay the table's)
        self._means: dict[str, tuple[object, dict[str, npt.NDArray[np.float64]]]] = {}

    def fit(
        self, grid: pd.DataFrame, train_end: Any, leads: Sequence[int], pollutants: Sequence[str]
    ) -> Climatology:
        del leads  # the same for every lead
        frame = grid.reset_index()
        frame = frame[frame["day"] <= pd.Timestamp(train_end)]
        doy = frame["day"].dt.day_of_year.to_numpy().astype(np.int64)
        cities = frame["city"].astype(str).to_numpy()
        groups: list[tuple[str, npt.NDArray[np.bool_]]] = [("*", np.ones(len(frame), dtype=bool))]
        groups += [(str(c), cities == c) for c in np.unique(cities)]
        windows = [_circular_window(doy, d, CLIMATOLOGY_HALF_WINDOW) for d in range(1, 367)]
        # the rows of each group and day of year, the same for every pollutant
        rows_of = {name: [np.flatnonzero(sel & w) for w in windows] for name, sel in groups}
        for p in pollutants:
            self.table[p] = {}
            values = frame[p].to_numpy(dtype=np.float64)
            for name, _ in groups:
                rows = []
                for cell in rows_of[name]:
                    v = values[cell]
                    v = v[~np.isnan(v)]
                    if v.size < 5:
                        rows.append([np.nan, np.nan, np.nan])
                    else:
                        lo, hi = linear_quantiles(np.sort(v), self.quantiles)
                        rows.append([float(v.mean()), lo, hi])
                self.table[p][name] = rows
        return self

    def predict(
        self, grid: pd.DataFrame, issue_days: Iterable[Any] | None, leads: Sequence[int]
    ) -> pd.DataFrame:
        parts = []
        days = grid.index.get_level_values("day")
        cities = grid.index.get_level_values("city").astype(str)
        keys0 = pd.DataFrame({"city": cities, "issue_day": days})
        mask = _issue_mask(keys0, issue_days)
        for p, by_city in self.table.items():
            region = np.asarray(by_city["*"], dtype=np.float64)
            for h in leads:
                keys = keys0[mask].assign(target_day=days[mask] + pd.Timedelta(days=h))
                doy = pd.DatetimeIndex(keys["target_day"]).day_of_year.to_numpy() - 1
                out = region[doy]
                for c in np.unique(keys["city"]):
                    if c in by_city:
                        sel = (keys["city"] == c).to_numpy()
                        tab = np.asarray(by_city[c], dtype=np.float64)
                        out[sel] = tab[doy[sel]]
                parts.append(_forecast_rows(keys, h, p, out[:, 0], out[:, 1], out[:, 2]))
        return pd.concat(parts, ignore_index=True) if parts else _empty_forecast()

    def values(
        self, pollutant: str, cities: pd.Series, target_days: pd.Series
    ) -> npt.NDArray[np.float64]:
        """The climatological mean of each (city, target day); the region's for other cities."""
        means = self._mean_arrays(pollutant)
        if not means:
            return np.full(len(cities), np.nan)
        doy = pd.DatetimeIndex(pd.to_datetime(target_days)).day_of_year.to_numpy() - 1
        out = means["*"][doy]
        names = cities.astype(str).to_numpy()
        for c in np.unique(names):
            if c in means:
                sel = names == c
                out[sel] = means[c][doy[sel]]
        return np.asarray(out, dtype=np.float64)

    def _mean_arrays(self, pollutant: str) -> dict[str, npt.NDArray[np.float64]]:
        """``{city or "*": mean of each day of year}`` of ``pollutant`` (empty without a
        table), rebuilt when the pollutant's table is replaced (a new fit)."""
        by_city = self.table.get(pollutant)
        if not by_city:
            return {}
        cached = self._means.get(pollutant)
        if cached is None or cached[0] is not by_city:
            arrays = {c: np.asarray(rows, dtype=np.float64)[:, 0] for c, rows in by_city.items()}
            cached = (by_city, arrays)
            self._means[pollutant] = cached
        return cached[1]

    def state(self) -> dict[str, Any]:
        return {"quantiles": list(self.quantiles), "table": self.table}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Climatology:
        q = state["quantiles"]
        return cls(quantiles=(float(q[0]), float(q[1])), table=state["table"])


# ---------------------------------------------------------------------------------------------
# LightGBM
# ---------------------------------------------------------------------------------------------


def _anchor(X: pd.DataFrame, pollutant: str) -> npt.NDArray[np.float64]:
    """The latest known level the target is forecast relative to: the issue day's value, else
    the trailing 3-, 7- or 14-day mean."""
    out = np.full(len(X), np.nan)
    for name in ("lag0", "mean3", "mean7", "mean14"):
        col = f"{pollutant}_{name}"
        if col in X:
            out = np.where(np.isnan(out), X[col].to_numpy(dtype=np.float64), out)
    return out


def to_target(kind: str, y: npt.ArrayLike, anchor: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """The modelled quantity: ``level`` (y), ``delta`` (y - anchor) or ``log_ratio``
    (log(1 + y) - log(1 + anchor))."""
    yy, a = np.asarray(y, dtype=np.float64), np.asarray(anchor, dtype=np.float64)
    if kind == "level":
        return yy
    if kind == "delta":
        return yy - a
    if kind == "log_ratio":
        return np.log1p(np.clip(yy, 0, None)) - np.log1p(np.clip(a, 0, None))
    raise ValueError(f"unknown target kind {kind!r}: level, delta or log_ratio")


def from_target(kind: str, z: npt.ArrayLike, anchor: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Inverse of :func:`to_target`."""
    zz, a = np.asarray(z, dtype=np.float64), np.asarray(anchor, dtype=np.float64)
    if kind == "level":
        return zz
    if kind == "delta":
        return zz + a
    if kind == "log_ratio":
        return np.asarray(np.expm1(zz + np.log1p(np.clip(a, 0, None))), dtype=np.float64)
    raise ValueError(f"unknown target kind {kind!r}: level, delta or log_ratio")


def _lgb() -> Any:
    import lightgbm  # imported lazily: the web server starts without loading it

    return lightgbm


@dataclass
class GBM:
    """The issued forecast: LightGBM per pollutant and lead, blended with the baselines.

    Per pollutant and lead an L2 LightGBM model learns the bounded target (the log ratio to the
    latest value, winsorised at the training quantiles ``target_quantiles``, relative to the
    latest value capped at the training quantile ``anchor_cap_quantile``); on a validation
    window inside the training period (the latest ``calibration_share`` of the days, with
    models fit on earlier targets only) the blend weights of the members (model, persistence,
    climatology, and guidance when given; :mod:`ecobasin.forecast.blend`) and the blend's
    residual quantiles are learnt.

    Attributes
    ----------
    config : GBMConfig
    boosters : dict
        ``{(pollutant, lead, "mean"): lightgbm.Booster}``.
    features : dict
        ``{pollutant: [feature names]}``.
    caps : dict
        ``{pollutant: cap}`` of the latest value the target is relative to [µg/m³, CO mg/m³].
    bounds : dict
        ``{(pollutant, lead): (low, high)}`` of the modelled target (training quantiles).
    blend : dict
        ``{(pollutant, lead): {member: weight}}``.
    residuals : dict
        ``{(pollutant, lead): [log residual at each QUANTILE_LEVELS entry]}``.
    level_source : dict
        ``{(pollutant, lead): (source, [log residuals])}``: the distribution the issued level
        (the quantile columns) comes from: ``"persistence"`` (its value, no spread: the
        default), ``"blend"`` or a member (:func:`_level_rule`).
    climatology : Climatology or None
        The climatology member (fit on the whole training period).
    """

    config: GBMConfig = field(default_factory=GBMConfig)
    boosters: dict[tuple[str, int, str], Any] = field(default_factory=dict)
    features: dict[str, list[str]] = field(default_factory=dict)
    caps: dict[str, float] = field(default_factory=dict)
    bounds: dict[tuple[str, int], tuple[float, float]] = field(default_factory=dict)
    blend: dict[tuple[str, int], dict[str, float]] = field(default_factory=dict)
    residuals: dict[tuple[str, int], list[float]] = field(default_factory=dict)
    level_source: dict[tuple[str, int], tuple[str, list[float]]] = field(default_factory=dict)
    level_bounds: dict[tuple[str, int], tuple[float, float]] = field(default_factory=dict)
    climatology: Climatology | None = None
    validation: dict[str, dict[str, Any]] = field(default_factory=dict)
    anomaly_betas: dict[tuple[str, int], tuple[float, float]] = field(default_factory=dict)
    name: str = "lightgbm"

    def _train(self, x: npt.NDArray[np.float64], z: npt.NDArray[np.float64]) -> Any:
        lgb = _lgb()
        cfg = self.config
        # the trained booster as it is: the default copies it through its model text (the same
        # trees and predictions, at a tenth of the training's CPU)
        return lgb.train(
            cfg.params("regression"),
            lgb.Dataset(x, z),
            num_boost_round=cfg.rounds,
            keep_training_booster=True,
        )

    def _model_member(
        self, booster: Any, x: npt.NDArray[np.float64], anchor: npt.NDArray[np.float64], key: Any
    ) -> npt.NDArray[np.float64]:
        """The model's forecast: its target clipped to the training bounds, then inverted."""
        lo, hi = self.bounds.get(key, (-np.inf, np.inf))
        z = np.clip(np.asarray(booster.predict(x), dtype=np.float64), lo, hi)
        return from_target(self.config.target, z, anchor)

    def _level_member(
        self, booster: Any, x: npt.NDArray[np.float64], key: tuple[str, int]
    ) -> npt.NDArray[np.float64]:
        """The level model's forecast (the conditional mean) within the training range."""
        return np.clip(np.asarray(booster.predict(x), dtype=np.float64), *self.level_bounds[key])

    def _validation_members(
        self,
        key: tuple[str, int],
        data: _Rows,
        early: npt.NDArray[np.bool_],
        late: npt.NDArray[np.bool_],
        climatology: Climatology | None,
        guided: dict[str, npt.NDArray[np.float64]],
    ) -> dict[str, npt.NDArray[np.float64]]:
        """Every member's forecast of the ``late`` rows, fit on the ``early`` rows only (one
        rolling origin): the models re-trained, the climatology given fit before the block;
        ``guided`` the guidance members of every row (:func:`guidance_members`)."""
        p = key[0]
        x, y, anchor = data.x, data.y, data.anchor
        z = to_target(self.config.target, y[early], anchor[early])
        booster = self._train(x[early], np.clip(z, *self.bounds[key]))
        level = self._train(x[early], np.clip(y[early], *self.level_bounds[key]))
        vkeys = data.keys[late].reset_index(drop=True)
        members = {
            "model": self._model_member(booster, x[late], anchor[late], key),
            "model_level": self._level_member(level, x[late], key),
            "persistence": anchor[late],
        }
        if climatology is not None:
            members["climatology"] = climatology.values(p, vkeys["city"], vkeys["target_day"])
            if self.config.anomaly_member:
                beta = fit_anomaly_betas(
                    data.anomaly_for(climatology, early), y[early], data.clim_t(climatology, early)
                )
                members["anomaly"] = apply_anomaly(
                    members["climatology"], data.anomaly_for(climatology, late), beta
                )
        members.update({name: values[late] for name, values in guided.items()})
        return members

    def _validate(
        self,
        key: tuple[str, int],
        data: _Rows,
        origins: Sequence[tuple[pd.Timestamp, pd.Timestamp, Climatology]],
        guidance: pd.DataFrame | None,
        max_departure: float | None = None,
    ) -> None:
        """Blend weights and residual quantiles on the validation window (rolling origin).

        Each origin ``(start, end, climatology)`` is one block of the window: the models are fit
        again on the rows whose target is before ``start`` and the climatology member on the same
        span; the rows issued in ``[start, end)``, never seen by either, compare the members with
        the observations. The blocks are pooled in time order.
        """
        p, h = key
        parts: list[dict[str, npt.NDArray[np.float64]]] = []
        observed: list[npt.NDArray[np.float64]] = []
        days: list[npt.NDArray[Any]] = []
        lates: list[npt.NDArray[np.bool_]] = []
        issue = data.keys["issue_day"].to_numpy()
        # aligned once with every row: a block's rows take their part (a left join keeps order)
        guided = guidance_members(guidance, data.keys, p, h)
        for block_start, block_end, climatology in origins:
            early = (data.keys["target_day"] < block_start).to_numpy()
            late = (issue >= np.datetime64(block_start)) & (issue < np.datetime64(block_end))
            if int(late.sum()) == 0 or int(early.sum()) < 2 * self.config.min_data_in_leaf:
                continue
            parts.append(self._validation_members(key, data, early, late, climatology, guided))
            observed.append(data.y[late])
            days.append(data.keys["target_day"].to_numpy()[late])
            lates.append(late)
        n = sum(len(v) for v in observed)
        if n < MIN_VALIDATION_DAYS:
            self.blend[key] = {"model": 1.0}
            self.residuals[key] = [0.0] * len(QUANTILE_LEVELS)
            return
        names = list(dict.fromkeys(name for part in parts for name in part))
        members = {
            name: np.concatenate(
                [
                    part.get(name, np.full(len(y), np.nan))
                    for part, y in zip(parts, observed, strict=True)
                ]
            )
            for name in names
        }
        y = np.concatenate(observed)
        blocks = np.concatenate([np.full(len(v), j) for j, v in enumerate(observed)])
        weights = fit_weights(
            members,
            y,
            shrink=self.config.shrink_per_lead * h,
            origins=blocks if self.config.every_origin else None,
            max_departure=max_departure,
        )
        blended = apply_weights(members, weights)
        self.blend[key] = weights
        self.residuals[key] = residual_quantiles(blended, y)
        persisted = np.concatenate(
            [data.last_known[late_rows] for late_rows in lates]
            if data.last_known is not None
            else [np.asarray(part["persistence"]) for part in parts]
        )
        self.level_source[key] = _level_rule(
            p, members, blended, y, pd.Series(np.concatenate(days)), blocks, persisted
        )
        qs = np.expm1(
            np.log1p(np.clip(blended, 0, None))[:, None]
            + np.array(
                [self.residuals[key][QUANTILE_LEVELS.index(q)] for q in self.config.quantiles]
            )
        )
        self.validation[f"{p}|{h}"] = {
            "n": n,
            "origins": len(parts),
            "weights": weights,
            "rmse_model": _rmse(blended, y),
            "rmse_raw_model": _rmse(members["model"], y),
            "rmse_persistence": _rmse(members["persistence"], y),
            "rmse_climatology": _rmse(members.get("climatology"), y),
            "interval_coverage": float(np.mean((y >= qs[:, 0]) & (y <= qs[:, 1]))),
            "level_from": self.level_source[key][0],
        }

    def _departure(self, pollutant: str, lead: int, leads: Sequence[int]) -> float | None:
        """The weight the previous (shorter) lead's blend gives the members other than the
        baselines: the most this lead may give them (:func:`ecobasin.forecast.blend.fit_weights`,
        step 4); None for the first lead."""
        shorter = [h for h in leads if h < lead and (pollutant, h) in self.blend]
        if not shorter:
            return None
        return departure(self.blend[(pollutant, max(shorter))])

    def _origins(
        self, grid: pd.DataFrame, span: pd.DatetimeIndex, pollutants: Sequence[str]
    ) -> list[tuple[pd.Timestamp, pd.Timestamp, Climatology]]:
        """The validation window (the latest ``calibration_share`` of the training span) cut
        into ``validation_origins`` blocks, each with the climatology of the days before it."""
        cfg = self.config
        if cfg.calibration_share <= 0 or span.empty:
            return []
        first, last = span.min(), span.max()
        window_start = first + (last - first) * (1 - cfg.calibration_share)
        k = max(1, cfg.validation_origins)
        edges = [
            pd.Timestamp(window_start + (last - window_start) * j / k).normalize()
            for j in range(k + 1)
        ]
        edges[-1] = last + pd.Timedelta(days=1)
        return [
            (
                a,
                b,
                Climatology(quantiles=cfg.quantiles).fit(
                    grid, a - pd.Timedelta(days=1), [], pollutants
                ),
            )
            for a, b in itertools.pairwise(edges)
        ]

    def fit(
        self,
        grid: pd.DataFrame,
        train_end: Any,
        leads: Sequence[int],
        pollutants: Sequence[str],
        train_start: Any = None,
        guidance: pd.DataFrame | None = None,
    ) -> GBM:
        cfg = self.config
        end = pd.Timestamp(train_end)
        start = pd.Timestamp(train_start) if train_start is not None else None
        days = pd.DatetimeIndex(grid.index.get_level_values("day"))
        span = days[(days <= end) & ((days >= start) if start is not None else True)]
        origins = self._origins(grid, span, pollutants)
        use_guidance = cfg.guidance_features and guidance is not None and not guidance.empty
        for p in pollutants:
            self.caps[p] = _training_cap(grid, p, end, cfg.anchor_cap_quantile)
            for h in leads:
                X, y, keys = make_features(grid, p, h, pollutants, cfg.spec())
                anchor = np.fmin(_anchor(X, p), self.caps[p])
                if use_guidance:
                    X = guidance_features(X, keys, guidance, p, h, anchor)
                ok = (keys["target_day"] <= end) & y.notna()
                if start is not None:
                    ok &= keys["issue_day"] >= start
                if int(ok.sum()) < 2 * cfg.min_data_in_leaf:
                    raise ValueError(
                        f"too little training data for {p} at lead {h}: {int(ok.sum())} days "
                        f"with a target on or before {end.date()}"
                    )
                ok &= ~np.isnan(anchor)
                self.features[p] = list(X.columns)
                data = _Rows(
                    x=X[ok].to_numpy(),
                    y=y[ok].to_numpy(dtype=np.float64),
                    anchor=anchor[ok],
                    keys=keys[ok].reset_index(drop=True),
                    recent=_recent_mean(grid, p)[ok.to_numpy()],
                    pollutant=p,
                    lead=h,
                    last_known=_persisted_at(grid, p, keys[ok].reset_index(drop=True)),
                )
                z = to_target(cfg.target, data.y, data.anchor)
                self.bounds[(p, h)] = tuple(  # type: ignore[assignment]
                    float(v) for v in np.quantile(z, cfg.target_quantiles)
                )
                self.boosters[(p, h, "mean")] = self._train(
                    data.x, np.clip(z, *self.bounds[(p, h)])
                )
                self.level_bounds[(p, h)] = (
                    0.0,
                    float(np.quantile(data.y, cfg.target_quantiles[1])),
                )
                self.boosters[(p, h, "level")] = self._train(
                    data.x, np.clip(data.y, *self.level_bounds[(p, h)])
                )
                if cfg.anomaly_member and self.climatology is not None:
                    every = np.ones(len(data.y), dtype=bool)
                    self.anomaly_betas[(p, h)] = fit_anomaly_betas(
                        data.anomaly_for(self.climatology, every),
                        data.y,
                        data.clim_t(self.climatology, every),
                    )
                self._validate((p, h), data, origins, guidance, self._departure(p, h, leads))
        return self

    def members(
        self,
        grid: pd.DataFrame,
        issue_days: Iterable[Any] | None,
        lead: int,
        pollutant: str,
        guidance: pd.DataFrame | None = None,
    ) -> tuple[pd.DataFrame, dict[str, npt.NDArray[np.float64]]]:
        """Keys (city, issue day, target day) and every member's forecast of one pollutant and
        lead for the issue days."""
        pollutants = list(self.features)
        X, _, keys = make_features(grid, pollutant, lead, pollutants, self.config.spec())
        mask = _issue_mask(keys, issue_days)
        recent = _recent_mean(grid, pollutant)[mask] if self.anomaly_betas else None
        X, keys = X[mask], keys[mask].reset_index(drop=True)
        anchor = np.fmin(_anchor(X, pollutant), self.caps.get(pollutant, np.inf))
        if self.config.guidance_features:
            X = guidance_features(X, keys, guidance, pollutant, lead, anchor)
        X = X.reindex(columns=self.features[pollutant])  # absent columns: NaN (LightGBM: missing)
        key = (pollutant, lead)
        x = X.to_numpy()
        members = {
            "model": self._model_member(self.boosters[(*key, "mean")], x, anchor, key),
            "persistence": anchor,
        }
        if (*key, "level") in self.boosters:
            members["model_level"] = self._level_member(self.boosters[(*key, "level")], x, key)
        if self.climatology is not None:
            members["climatology"] = self.climatology.values(
                pollutant, keys["city"], keys["target_day"]
            )
            if key in self.anomaly_betas and recent is not None:
                a = anomalies(
                    anchor, recent, self.climatology, pollutant, keys["city"], keys["issue_day"]
                )
                members["anomaly"] = apply_anomaly(
                    members["climatology"], a, self.anomaly_betas[key]
                )
        members.update(guidance_members(guidance, keys, pollutant, lead))
        return keys, members

    def predict(
        self,
        grid: pd.DataFrame,
        issue_days: Iterable[Any] | None,
        leads: Sequence[int],
        guidance: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """The blend with its interval (quantiles ``config.quantiles``) and the quantile columns
        ``q05`` … ``q95`` of the predictive distribution."""
        parts = []
        for p in list(self.features):
            for h in leads:
                if (p, h, "mean") not in self.boosters:
                    continue
                keys, members = self.members(grid, issue_days, h, p, guidance)
                if keys.empty:
                    continue
                value = apply_weights(members, self.blend.get((p, h), {"model": 1.0}))
                res = np.asarray(
                    self.residuals.get((p, h), [0.0] * len(QUANTILE_LEVELS)), dtype=np.float64
                )
                qs = _spread(value, res)
                lo, hi = (qs[:, QUANTILE_LEVELS.index(q)] for q in self.config.quantiles)
                rows = _forecast_rows(keys, h, p, value, lo, hi)
                level_qs = self._level_quantiles(
                    p, h, {**members, DEFAULT_LEVEL_RULE: _persisted_at(grid, p, keys)}, qs
                )
                for j, name in enumerate(quantile_columns()):
                    rows[name] = level_qs[:, j]
                parts.append(rows)
        return pd.concat(parts, ignore_index=True) if parts else _empty_forecast()

    def _level_quantiles(
        self, pollutant: str, lead: int, members: Mapping[str, Floats], blend_quantiles: Floats
    ) -> Floats:
        """The quantile columns the level is read from: the blend's, or those of the source the
        validation days chose (:func:`_level_rule`: persistence's level by default, else a
        member's distribution) where that source has a value."""
        source, res = self.level_source.get((pollutant, lead), ("blend", []))
        if source == "blend" or source not in members:
            return blend_quantiles
        centre = np.asarray(members[source], dtype=np.float64)
        own = _spread(np.nan_to_num(centre), np.asarray(res, dtype=np.float64))
        return np.where(np.isfinite(centre)[:, None], own, blend_quantiles)

    def member_forecasts(
        self,
        grid: pd.DataFrame,
        issue_days: Iterable[Any] | None,
        leads: Sequence[int],
        guidance: pd.DataFrame | None = None,
        member: str = "model",
    ) -> pd.DataFrame:
        """One member of the blend alone (default: the learned log-ratio model), for scoring it
        beside the blend; the interval is the value itself (a member has no range of its own)."""
        parts = []
        for p in list(self.features):
            for h in leads:
                if (p, h, "mean") not in self.boosters:
                    continue
                keys, members = self.members(grid, issue_days, h, p, guidance)
                if not keys.empty and member in members:
                    v = members[member]
                    parts.append(_forecast_rows(keys, h, p, v, v, v))
        return pd.concat(parts, ignore_index=True) if parts else _empty_forecast()

    def texts(self) -> dict[str, str]:
        """LightGBM model texts keyed ``pollutant|lead|kind``."""
        return {f"{p}|{h}|{k}": b.model_to_string() for (p, h, k), b in self.boosters.items()}

    def calibration(self) -> dict[str, Any]:
        """JSON-ready caps, bounds, blend weights and residual quantiles."""
        return {
            "caps": self.caps,
            "bounds": [[p, h, list(b)] for (p, h), b in self.bounds.items()],
            "blend": [[p, h, w] for (p, h), w in self.blend.items()],
            "residuals": [[p, h, r] for (p, h), r in self.residuals.items()],
            "level_source": [[p, h, m, r] for (p, h), (m, r) in self.level_source.items()],
            "level_bounds": [[p, h, list(b)] for (p, h), b in self.level_bounds.items()],
            "anomaly": [[p, h, list(b)] for (p, h), b in self.anomaly_betas.items()],
        }

    @classmethod
    def from_texts(
        cls,
        config: GBMConfig,
        features: Mapping[str, list[str]],
        texts: Mapping[str, str],
        calibration: Mapping[str, Any],
        climatology: Climatology | None,
    ) -> GBM:
        lgb = _lgb()
        boosters = {}
        for key, text in texts.items():
            p, h, k = key.split("|")
            boosters[(p, int(h), k)] = lgb.Booster(model_str=text)
        return cls(
            config=config,
            boosters=boosters,
            features=dict(features),
            caps={str(p): float(v) for p, v in calibration["caps"].items()},
            bounds={
                (str(p), int(h)): (float(b[0]), float(b[1])) for p, h, b in calibration["bounds"]
            },
            blend={(str(p), int(h)): dict(w) for p, h, w in calibration["blend"]},
            residuals={(str(p), int(h)): list(r) for p, h, r in calibration["residuals"]},
            level_source={
                (str(p), int(h)): (str(m), list(r))
                for p, h, m, r in calibration.get("level_source", [])
            },
            level_bounds={
                (str(p), int(h)): (float(b[0]), float(b[1]))
                for p, h, b in calibration["level_bounds"]
            },
            climatology=climatology,
        )


#: Days of the trailing mean whose anomaly decays slowly (a cleaner or dirtier year) [days].
RECENT_DAYS = 30


def _recent_mean(grid: pd.DataFrame, pollutant: str) -> npt.NDArray[np.float64]:
    """Trailing :data:`RECENT_DAYS`-day mean of each grid day (days ≤ D; ≥ 10 values)."""
    mean = rolling_by_city(grid, pollutant, RECENT_DAYS, 10)
    return np.asarray(mean.to_numpy(dtype=np.float64))


def _persisted_at(grid: pd.DataFrame, pollutant: str, keys: pd.DataFrame) -> Floats:
    """The persistence baseline's value (:class:`Persistence`: the latest value on or before the
    issue day, uncapped) of each row of ``keys`` (city, issue day) [µg/m³, CO mg/m³]: the level
    issued without evidence is exactly persistence's."""
    last = _last_known(grid, pollutant)
    rows = pd.MultiIndex.from_arrays(
        [keys["city"].astype(str), pd.DatetimeIndex(keys["issue_day"])], names=last.index.names
    )
    return np.asarray(last.reindex(rows).to_numpy(dtype=np.float64, na_value=np.nan))


def _spread(centre: npt.ArrayLike, log_residuals: npt.ArrayLike) -> Floats:
    """The predictive quantiles ``(1 + centre) · exp(residual) - 1`` [rows × quantiles]."""
    c = np.log1p(np.clip(np.asarray(centre, dtype=np.float64), 0, None))
    return np.expm1(c[:, None] + np.asarray(log_residuals, dtype=np.float64)[None, :])


def _level_rule(
    pollutant: str,
    members: Mapping[str, Floats],
    blended: Floats,
    observed: Floats,
    days: pd.Series,
    blocks: npt.NDArray[np.generic],
    persisted: Floats | None = None,
) -> tuple[str, list[float]]:
    """The distribution the issued level comes from, gated on the validation days like the
    weights (issue 21: "level accuracy at least persistence's").

    The default is persistence's level: the IAQI level of ``persisted`` (the persistence
    baseline's value; the ``persistence`` member where not given) with no spread. Candidates:
    the most probable level (:func:`ecobasin.forecast.aqi_range.level_hits`) of the blend and of
    each other member complete on those days, each times its log residual quantiles fit **out
    of block** (on the other validation blocks: the hits counted are of days the spread never
    saw). A candidate replaces the default only with more hits by more than one standard error,
    :func:`ecobasin.forecast.blend.choose_level_rule`. The central value, its range and RMSE
    stay the blend's.

    Returns
    -------
    tuple
        ``(source, log residuals)``: ``("persistence", zeros)`` or the candidate with its
        residual quantiles fit on every validation day.
    """
    days = pd.Series(pd.to_datetime(days)).reset_index(drop=True)
    y = np.asarray(observed, dtype=np.float64)
    base = np.asarray(members["persistence"] if persisted is None else persisted, dtype=np.float64)
    point = [0.0] * len(QUANTILE_LEVELS)
    default_hits = level_hits(base, point, y, pollutant, days)
    candidates = {"blend": np.asarray(blended, dtype=np.float64)}
    for name, values in members.items():
        v = np.asarray(values, dtype=np.float64)
        if name != DEFAULT_LEVEL_RULE and np.isfinite(v).all():
            candidates[name] = v
    hits = {
        name: _held_out_level_hits(v, y, pollutant, days, blocks) for name, v in candidates.items()
    }
    source = choose_level_rule(default_hits, hits)
    if source == DEFAULT_LEVEL_RULE:
        return source, point
    return source, residual_quantiles(candidates[source], y)


def _held_out_level_hits(
    forecast: Floats,
    observed: Floats,
    pollutant: str,
    days: pd.Series,
    blocks: npt.NDArray[np.generic],
) -> npt.NDArray[np.bool_]:
    """Level hits of ``forecast`` times log residual quantiles fit on the other blocks (one
    block: on itself)."""
    keys = np.unique(blocks)
    if len(keys) < 2:
        return level_hits(
            forecast, residual_quantiles(forecast, observed), observed, pollutant, days
        )
    hits = np.zeros(len(observed), dtype=np.bool_)
    for key in keys:
        held = np.asarray(blocks == key)
        spread = residual_quantiles(forecast[~held], observed[~held])
        hits[held] = level_hits(
            forecast[held], spread, observed[held], pollutant, days[held].reset_index(drop=True)
        )
    return hits


@dataclass
class _Rows:
    """The training rows of one pollutant and lead: features, target, the latest value the
    target is relative to, keys and the trailing mean (for the anomaly member)."""

    x: npt.NDArray[np.float64]
    y: npt.NDArray[np.float64]
    anchor: npt.NDArray[np.float64]
    keys: pd.DataFrame
    recent: npt.NDArray[np.float64]
    pollutant: str
    lead: int
    last_known: npt.NDArray[np.float64] | None = None

    def clim_t(
        self, climatology: Climatology, rows: npt.NDArray[np.bool_]
    ) -> npt.NDArray[np.float64]:
        """Climatological mean of the target days of ``rows``."""
        k = self.keys[rows]
        return climatology.values(self.pollutant, k["city"], k["target_day"])

    def anomaly_for(
        self, climatology: Climatology, rows: npt.NDArray[np.bool_]
    ) -> npt.NDArray[np.float64]:
        """Log anomalies of ``rows`` against ``climatology`` (:func:`anomalies`)."""
        k = self.keys[rows]
        return anomalies(
            self.anchor[rows],
            self.recent[rows],
            climatology,
            self.pollutant,
            k["city"],
            k["issue_day"],
        )


def anomalies(
    latest: npt.ArrayLike,
    recent: npt.ArrayLike,
    climatology: Climatology,
    pollutant: str,
    cities: pd.Series,
    issue_days: pd.Series,
) -> npt.NDArray[np.float64]:
    """Two log anomalies on the issue day D: of the latest value against D's climatology, and
    of the trailing :data:`RECENT_DAYS`-day mean against the climatology of the window's middle
    day (D − 14). Missing → 0 (no anomaly: the member is climatology)."""
    days = pd.to_datetime(issue_days)
    clim_d = climatology.values(pollutant, cities, days)
    clim_mid = climatology.values(pollutant, cities, days - pd.Timedelta(days=RECENT_DAYS // 2 - 1))
    a = np.column_stack(
        [
            np.log1p(np.clip(np.asarray(latest, dtype=np.float64), 0, None)) - np.log1p(clim_d),
            np.log1p(np.clip(np.asarray(recent, dtype=np.float64), 0, None)) - np.log1p(clim_mid),
        ]
    )
    return np.asarray(np.where(np.isfinite(a), a, 0.0), dtype=np.float64)


def fit_anomaly_betas(
    anomaly: npt.NDArray[np.float64], observed: npt.ArrayLike, clim_t: npt.ArrayLike
) -> tuple[float, float]:
    """Damping of each anomaly at one lead: non-negative least squares of the target day's log
    anomaly ``log(1 + y(T)) − log(1 + clim(T))`` on the issue day's anomalies, each factor at
    most 1 (an anomaly decays, it never grows with lead)."""
    from scipy.optimize import nnls  # imported lazily: the web server starts without it

    r = np.log1p(np.clip(np.asarray(observed, dtype=np.float64), 0, None)) - np.log1p(
        np.asarray(clim_t, dtype=np.float64)
    )
    ok = np.isfinite(r) & np.isfinite(anomaly).all(axis=1)
    if int(ok.sum()) < MIN_VALIDATION_DAYS:
        return (0.0, 0.0)
    beta, _ = nnls(anomaly[ok], r[ok])
    return (float(min(beta[0], 1.0)), float(min(beta[1], 1.0)))


def apply_anomaly(
    clim_t: npt.ArrayLike, anomaly: npt.NDArray[np.float64], beta: Sequence[float]
) -> npt.NDArray[np.float64]:
    """The damped-anomaly climatology ``(1 + clim(T))·exp(β·a(D)) − 1`` [µg/m³, CO mg/m³]:
    climatology itself when the anomalies have no skill (β = 0)."""
    c = np.asarray(clim_t, dtype=np.float64)
    return np.asarray(np.expm1(np.log1p(c) + anomaly @ np.asarray(beta, dtype=np.float64)))


def guidance_features(
    X: pd.DataFrame,
    keys: pd.DataFrame,
    guidance: pd.DataFrame | None,
    pollutant: str,
    lead: int,
    anchor: npt.ArrayLike,
) -> pd.DataFrame:
    """``X`` with the guidance of the target day as features: per guidance member (raw
    ``guidance``, ``mos`` …) its value ``<member>_fc`` and its log ratio to the latest value
    ``<member>_lr`` (what the log-ratio model learns). The values are those known on the issue
    day (the caller's frame keeps the run-publication rule); missing → NaN (LightGBM: missing).
    """
    members = guidance_members(guidance, keys, pollutant, lead)
    a = np.log1p(np.clip(np.asarray(anchor, dtype=np.float64), 0, None))
    cols = {}
    for name in sorted(members):
        v = members[name]
        cols[f"g_{name}_fc"] = v
        cols[f"g_{name}_lr"] = np.log1p(np.clip(v, 0, None)) - a
    return X.assign(**cols) if cols else X


def _rmse(forecast: npt.ArrayLike | None, observed: npt.ArrayLike) -> float:
    if forecast is None:
        return float("nan")
    e = np.asarray(forecast, dtype=np.float64) - np.asarray(observed, dtype=np.float64)
    e = e[np.isfinite(e)]
    return float(np.sqrt(np.mean(e**2))) if e.size else float("nan")


def _training_cap(grid: pd.DataFrame, pollutant: str, end: pd.Timestamp, q: float) -> float:
    """The ``q`` quantile of the pollutant's training values: the highest latest value a
    forecast is made relative to (an extreme day beyond it is not extrapolated)."""
    days = pd.DatetimeIndex(grid.index.get_level_values("day"))
    v = grid[pollutant].to_numpy(dtype=np.float64)[days <= end]
    v = v[np.isfinite(v)]
    return float(np.quantile(v, q)) if v.size else float("inf")


def guidance_members(
    guidance: pd.DataFrame | None, keys: pd.DataFrame, pollutant: str, lead: int
) -> dict[str, npt.NDArray[np.float64]]:
    """Guidance members aligned with ``keys`` (city, issue day): ``{member: values}``.

    ``guidance`` is long: ``city``, ``issue_day``, ``lead``, ``pollutant``, ``member`` (e.g.
    ``cmaq_raw``, ``cmaq_mos``), ``value``, each value as known on its issue day (the caller
    keeps the run's issue time). None or no rows: no guidance member.
    """
    if guidance is None or guidance.empty:
        return {}
    g = guidance[(guidance["pollutant"] == pollutant) & (guidance["lead"] == lead)]
    out = {}
    left = pd.DataFrame(
        {
            "city": keys["city"].astype(str).to_numpy(),
            "issue_day": pd.to_datetime(keys["issue_day"]),
        }
    )
    for name, rows in g.groupby("member", sort=True):
        right = rows.assign(
            city=rows["city"].astype(str), issue_day=pd.to_datetime(rows["issue_day"])
        )[["city", "issue_day", "value"]].drop_duplicates(["city", "issue_day"], keep="last")
        out[str(name)] = _left_join_values(left, right)
    return out


def _left_join_values(left: pd.DataFrame, right: pd.DataFrame) -> npt.NDArray[np.float64]:
    """``right``'s value of each row of ``left`` by (city, issue day), NaN where it has none:
    a left merge's ``value`` column (``right`` unique by key). Keys of the same types are looked
    up in an index (a merge per member and lead was most of the guidance features' cost)."""
    if any(left[k].dtype != right[k].dtype for k in ("city", "issue_day")) or (
        left["issue_day"].isna().any() or right["issue_day"].isna().any()
    ):
        merged = left.merge(right, on=["city", "issue_day"], how="left")
        return np.asarray(merged["value"].to_numpy(dtype=np.float64))
    index = pd.MultiIndex.from_arrays([right["city"], right["issue_day"]])
    found = index.get_indexer(pd.MultiIndex.from_arrays([left["city"], left["issue_day"]]))
    values = right["value"].to_numpy(dtype=np.float64)
    return np.where(found >= 0, values[np.maximum(found, 0)] if len(values) else np.nan, np.nan)


# ---------------------------------------------------------------------------------------------
# a trained bundle: the three models and their metadata
# ---------------------------------------------------------------------------------------------


def train_bundle(
    daily: pd.DataFrame,
    met: pd.DataFrame | None,
    *,
    train_end: Any,
    train_start: Any = None,
    config: GBMConfig = GBMConfig(),
    pollutants: Sequence[str] | None = None,
    guidance: pd.DataFrame | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Train persistence, climatology and LightGBM on targets up to ``train_end``.

    Parameters
    ----------
    daily, met : pandas.DataFrame
        City daily pollutants and meteorology (see :mod:`ecobasin.forecast.features`); ``met``
        None or ``config.use_met`` False trains without meteorology.
    train_end : date-like
        Last target day used in training (inclusive).
    train_start : date-like, optional
        First issue day used.
    config : GBMConfig
    pollutants : sequence of str, optional
        Default: every forecastable pollutant with data.
    guidance : pandas.DataFrame, optional
        Extra blend members as known on each issue day (:func:`guidance_members`).

    Returns
    -------
    models : dict
        ``{"persistence": Persistence, "climatology": Climatology, "lightgbm": GBM}``.
    metadata : dict
        ``format``, ``trained_from``/``trained_to`` (days), ``cities``, ``pollutants``,
        ``leads``, ``with_meteorology``, ``met_mode``, ``met_parameters``, ``features``, ``config``,
        ``scores`` (``{"pollutant|lead": {n, weights, rmse_model (the blend),
        rmse_raw_model, rmse_persistence, rmse_climatology, interval_coverage}}`` on the
        validation window, the latest training days).
    """
    use_met = config.use_met and met is not None and not met.empty
    d = daily
    if train_start is not None:
        d = d[pd.to_datetime(d["day"]) >= pd.Timestamp(train_start)]
    d = d[pd.to_datetime(d["day"]) <= pd.Timestamp(train_end)]
    m = met if use_met else None
    if m is not None:
        m = m[pd.to_datetime(m["day"]) <= pd.Timestamp(train_end)]
    grid = complete_grid(d, m, max_lead=max(config.leads))
    pols = list(pollutants) if pollutants is not None else available_pollutants(grid)
    if not pols:
        raise ValueError("no pollutant with data to train on")
    leads = list(config.leads)
    cfg = config if use_met == config.use_met else GBMConfig(**{**asdict(config), "use_met": False})
    climatology = Climatology(quantiles=cfg.quantiles).fit(grid, train_end, leads, pols)
    models: dict[str, Any] = {
        "persistence": Persistence(quantiles=cfg.quantiles).fit(grid, train_end, leads, pols),
        "climatology": climatology,
        "lightgbm": GBM(config=cfg, climatology=climatology).fit(
            grid, train_end, leads, pols, train_start, guidance
        ),
    }
    days = pd.to_datetime(d["day"])
    metadata: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "trained_from": str(days.min().date()),
        "trained_to": str(days.max().date()),
        "cities": sorted(d["city"].astype(str).unique().tolist()),
        "pollutants": pols,
        "leads": leads,
        "with_meteorology": use_met,
        "met_mode": met_mode(m),  # forecast (as issued), observed or none
        "met_parameters": met_parameters(grid),
        "features": models["lightgbm"].features,
        "config": asdict(cfg),
        # held-out scores on the latest training days (models fit on the earlier ones)
        "scores": models["lightgbm"].validation,
    }
    return models, metadata


def bundle_payload(models: Mapping[str, Any], metadata: Mapping[str, Any]) -> dict[str, str]:
    """Text files of a trained bundle: ``metadata.json``, ``baselines.json``,
    ``calibration.json`` (interval widening and blend weights) and the LightGBM model texts
    (``lightgbm/<pollutant>|<lead>|<kind>``)."""
    out = {
        "metadata.json": json.dumps(metadata, ensure_ascii=False, sort_keys=True),
        "baselines.json": json.dumps(
            {
                "persistence": models["persistence"].state(),
                "climatology": models["climatology"].state(),
            }
        ),
    }
    gbm = models["lightgbm"]
    out["calibration.json"] = json.dumps(gbm.calibration())
    out.update({f"lightgbm/{k}": v for k, v in gbm.texts().items()})
    return out


def bundle_from_payload(payload: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Inverse of :func:`bundle_payload`."""
    metadata: dict[str, Any] = json.loads(payload["metadata.json"])
    if metadata.get("format") != FORMAT_VERSION:
        raise ValueError(
            f"saved model format {metadata.get('format')} is not {FORMAT_VERSION}: retrain it"
        )
    base = json.loads(payload["baselines.json"])
    raw = dict(metadata["config"])
    raw["leads"] = tuple(raw["leads"])
    raw["quantiles"] = tuple(raw["quantiles"])
    raw["windows"] = tuple(raw["windows"])
    raw["target_quantiles"] = tuple(raw["target_quantiles"])
    config = GBMConfig(**raw)
    texts = {k[len("lightgbm/") :]: v for k, v in payload.items() if k.startswith("lightgbm/")}
    climatology = Climatology.from_state(base["climatology"])
    models: dict[str, Any] = {
        "persistence": Persistence.from_state(base["persistence"]),
        "climatology": climatology,
        "lightgbm": GBM.from_texts(
            config,
            {p: metadata["features"][p] for p in metadata["pollutants"]},
            texts,
            json.loads(payload["calibration.json"]),
            climatology,
        ),
    }
    return models, metadata
