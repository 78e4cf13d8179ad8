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

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ecobasin.forecast.features import (
    FORECAST_POLLUTANTS,
    FeatureSpec,
    complete_grid,
    make_features,
    met_mode,
    met_parameters,
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
FORMAT_VERSION = 1
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
    target, interval_target : {"log_ratio", "delta", "level"}
        What the central and the quantile models learn: the log ratio of the target day's
        value to the latest known value (default: trends and level shifts carry over), the
        difference, or the value itself.
    calibration_share : float
        Share of the latest training days held out to calibrate the interval (conformalized
        quantile regression, Romano et al. 2019); 0 leaves the raw quantiles.
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
    interval_target: str = "log_ratio"
    calibration_share: float = 0.2

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

    def fit(
        self, grid: pd.DataFrame, train_end: Any, leads: Sequence[int], pollutants: Sequence[str]
    ) -> Climatology:
        del leads  # the same for every lead
        frame = grid.reset_index()
        frame = frame[frame["day"] <= pd.Timestamp(train_end)]
        doy = frame["day"].dt.day_of_year.to_numpy().astype(np.int64)
        for p in pollutants:
            self.table[p] = {}
            groups: list[tuple[str, npt.NDArray[np.bool_]]] = [
                ("*", np.ones(len(frame), dtype=bool))
            ]
            cities = frame["city"].astype(str).to_numpy()
            groups += [(str(c), cities == c) for c in np.unique(cities)]
            values = frame[p].to_numpy(dtype=np.float64)
            for name, sel in groups:
                rows = []
                for d in range(1, 367):
                    v = values[sel & _circular_window(doy, d, CLIMATOLOGY_HALF_WINDOW)]
                    v = v[~np.isnan(v)]
                    if v.size < 5:
                        rows.append([np.nan, np.nan, np.nan])
                    else:
                        lo, hi = np.quantile(v, self.quantiles)
                        rows.append([float(v.mean()), float(lo), float(hi)])
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
    """LightGBM forecasts: per pollutant and lead an L2 model and two quantile models.

    Attributes
    ----------
    config : GBMConfig
    boosters : dict
        ``{(pollutant, lead, kind): lightgbm.Booster}``, kind ``mean``, ``lower``, ``upper``.
    features : dict
        ``{pollutant: [feature names]}``.
    """

    config: GBMConfig = field(default_factory=GBMConfig)
    boosters: dict[tuple[str, int, str], Any] = field(default_factory=dict)
    features: dict[str, list[str]] = field(default_factory=dict)
    widen: dict[tuple[str, int], float] = field(default_factory=dict)
    blend: dict[tuple[str, int], float] = field(default_factory=dict)
    validation: dict[str, dict[str, float]] = field(default_factory=dict)
    _validation_rmse: dict[str, float] = field(default_factory=dict, repr=False)
    name: str = "lightgbm"

    def _calibrate(
        self,
        x: npt.NDArray[np.float64],
        y: npt.NDArray[np.float64],
        anchor: npt.NDArray[np.float64],
        issue: pd.Series,
    ) -> tuple[float, float]:
        """Interval widening and blend weight, learnt on the latest training days.

        The models are fit again on the earlier training days only; on the latest
        ``calibration_share`` of days (never used to fit them):

        * widening: the conformity score ``max(lo - z, z - hi)`` at the interval's nominal
          coverage, finite-sample corrected (conformalized quantile regression, Romano et al.
          2019), in the interval target's units;
        * blend: the weight ``w`` in [0, 1] of the model in ``w·model + (1 - w)·persistence``
          with the least squared error: where the model does not beat persistence on unseen
          days it leans on persistence.

        Returns (0, 1) (no widening, model only) when there are too few days.
        """
        cfg = self.config
        if cfg.calibration_share <= 0:
            return 0.0, 1.0
        cut = issue.quantile(1 - cfg.calibration_share)
        early = (issue < cut).to_numpy()
        late = ~early
        if int(late.sum()) < 20 or int(early.sum()) < 2 * cfg.min_data_in_leaf:
            return 0.0, 1.0
        lgb = _lgb()

        def fit_predict(target: str, params: dict[str, Any]) -> npt.NDArray[np.float64]:
            z = to_target(target, y[early], anchor[early])
            model = lgb.train(params, lgb.Dataset(x[early], z), num_boost_round=cfg.rounds)
            return np.asarray(model.predict(x[late]), dtype=np.float64)

        lo, hi = (
            fit_predict(cfg.interval_target, cfg.params("quantile", q)) for q in cfg.quantiles
        )
        z = to_target(cfg.interval_target, y[late], anchor[late])
        score = np.maximum(lo - z, z - hi)
        n = int(late.sum())
        coverage = cfg.quantiles[1] - cfg.quantiles[0]
        widen = float(np.quantile(score, min(1.0, np.ceil((n + 1) * coverage) / n)))
        model = from_target(
            cfg.target, fit_predict(cfg.target, cfg.params("regression")), anchor[late]
        )
        a, d = anchor[late], model - anchor[late]
        denom = float(np.dot(d, d))
        w = min(1.0, max(0.0, float(np.dot(y[late] - a, d) / denom) if denom > 0 else 1.0))
        self._validation_rmse = {
            "n": n,
            "rmse_model": float(np.sqrt(np.mean((a + w * d - y[late]) ** 2))),
            "rmse_persistence": float(np.sqrt(np.mean((a - y[late]) ** 2))),
            "interval_coverage": float(np.mean((z >= lo - widen) & (z <= hi + widen))),
        }
        return widen, w

    def fit(
        self,
        grid: pd.DataFrame,
        train_end: Any,
        leads: Sequence[int],
        pollutants: Sequence[str],
        train_start: Any = None,
    ) -> GBM:
        lgb = _lgb()
        cfg = self.config
        end = pd.Timestamp(train_end)
        start = pd.Timestamp(train_start) if train_start is not None else None
        for p in pollutants:
            for h in leads:
                X, y, keys = make_features(grid, p, h, pollutants, cfg.spec())
                ok = (keys["target_day"] <= end) & y.notna()
                if start is not None:
                    ok &= keys["issue_day"] >= start
                if int(ok.sum()) < 2 * cfg.min_data_in_leaf:
                    raise ValueError(
                        f"too little training data for {p} at lead {h}: {int(ok.sum())} days "
                        f"with a target on or before {end.date()}"
                    )
                anchor = _anchor(X, p)
                ok &= ~np.isnan(anchor)
                self.features[p] = list(X.columns)
                x = X[ok].to_numpy()
                runs = [("mean", cfg.target, cfg.params("regression"))]
                runs += [
                    (kind, cfg.interval_target, cfg.params("quantile", q))
                    for kind, q in zip(("lower", "upper"), cfg.quantiles, strict=True)
                ]
                for kind, target, params in runs:
                    z = to_target(target, y[ok].to_numpy(), anchor[ok])
                    self.boosters[(p, h, kind)] = lgb.train(
                        params, lgb.Dataset(x, z), num_boost_round=cfg.rounds
                    )
                self._validation_rmse = {}
                self.widen[(p, h)], self.blend[(p, h)] = self._calibrate(
                    x, y[ok].to_numpy(), anchor[ok], keys["issue_day"][ok]
                )
                if self._validation_rmse:
                    self.validation[f"{p}|{h}"] = self._validation_rmse
        return self

    def predict(
        self, grid: pd.DataFrame, issue_days: Iterable[Any] | None, leads: Sequence[int]
    ) -> pd.DataFrame:
        parts = []
        pollutants = list(self.features)
        for p in pollutants:
            for h in leads:
                if (p, h, "mean") not in self.boosters:
                    continue
                X, _, keys = make_features(grid, p, h, pollutants, self.config.spec())
                X = X.reindex(columns=self.features[p])  # absent columns: NaN (LightGBM: missing)
                mask = _issue_mask(keys, issue_days)
                if not mask.any():
                    continue
                x = X[mask].to_numpy()
                anchor = _anchor(X[mask], p)
                cfg = self.config
                widen = self.widen.get((p, h), 0.0)
                shift = {"mean": 0.0, "lower": -widen, "upper": widen}
                pred = {
                    kind: from_target(
                        cfg.target if kind == "mean" else cfg.interval_target,
                        self.boosters[(p, h, kind)].predict(x) + shift[kind],
                        anchor,
                    )
                    for kind in ("mean", "lower", "upper")
                }
                w = self.blend.get((p, h), 1.0)
                pred["mean"] = w * pred["mean"] + (1 - w) * anchor
                parts.append(
                    _forecast_rows(keys[mask], h, p, pred["mean"], pred["lower"], pred["upper"])
                )
        return pd.concat(parts, ignore_index=True) if parts else _empty_forecast()

    def texts(self) -> dict[str, str]:
        """LightGBM model texts keyed ``pollutant|lead|kind``."""
        return {f"{p}|{h}|{k}": b.model_to_string() for (p, h, k), b in self.boosters.items()}

    @classmethod
    def from_texts(
        cls, config: GBMConfig, features: Mapping[str, list[str]], texts: Mapping[str, str]
    ) -> GBM:
        lgb = _lgb()
        boosters = {}
        for key, text in texts.items():
            p, h, k = key.split("|")
            boosters[(p, int(h), k)] = lgb.Booster(model_str=text)
        return cls(config=config, boosters=boosters, features=dict(features))


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

    Returns
    -------
    models : dict
        ``{"persistence": Persistence, "climatology": Climatology, "lightgbm": GBM}``.
    metadata : dict
        ``format``, ``trained_from``/``trained_to`` (days), ``cities``, ``pollutants``,
        ``leads``, ``with_meteorology``, ``met_mode``, ``met_parameters``, ``features``, ``config``,
        ``scores`` (``{"pollutant|lead": {n, rmse_model, rmse_persistence,
        interval_coverage}}`` on the held-out latest training days).
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
    models: dict[str, Any] = {
        "persistence": Persistence(quantiles=cfg.quantiles).fit(grid, train_end, leads, pols),
        "climatology": Climatology(quantiles=cfg.quantiles).fit(grid, train_end, leads, pols),
        "lightgbm": GBM(config=cfg).fit(grid, train_end, leads, pols, train_start),
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
    out["calibration.json"] = json.dumps(
        {
            "widen": [[p, h, w] for (p, h), w in gbm.widen.items()],
            "blend": [[p, h, w] for (p, h), w in gbm.blend.items()],
        }
    )
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
    config = GBMConfig(**raw)
    texts = {k[len("lightgbm/") :]: v for k, v in payload.items() if k.startswith("lightgbm/")}
    models: dict[str, Any] = {
        "persistence": Persistence.from_state(base["persistence"]),
        "climatology": Climatology.from_state(base["climatology"]),
        "lightgbm": GBM.from_texts(
            config, {p: metadata["features"][p] for p in metadata["pollutants"]}, texts
        ),
    }
    calibration = json.loads(payload["calibration.json"])
    for key in ("widen", "blend"):
        getattr(models["lightgbm"], key).update(
            {(str(p), int(h)): float(w) for p, h, w in calibration[key]}
        )
    return models, metadata
