"""Hourly forecasts to 72 hours (pure): a per-lead-hour blend of hourly members (issue 21, item 3).

The issue time is the end of the issue day ``D`` (local 24:00, China Standard Time); lead hour
``1 … 72`` is the hour starting at local ``(lead - 1) mod 24`` o'clock of ``D+1 … D+3``. Hours
are indexed by their local start: the day of an hour is the day of HJ 663 (hour-ending 01…24).

Members of every lead hour (all in the pollutant's unit [µg/m³; CO mg/m³]):

* ``diurnal``: the daily forecast of the target day times the diurnal profile learned per city,
  pollutant, season and hour of day (ratios to the daily mean, training days only, mean 1). With
  no daily forecast supplied the issue day's daily mean stands in (daily persistence).
* ``persistence``: the same hour of the issue day (the baseline of the floor).
* ``latest``: the mean of the issue day's last :data:`LATEST_HOURS` hours.
* ``latest_shaped``: that mean carried along the diurnal profile (scaled by the profile's
  value at those hours).
* ``recent``: the mean of the same hour of day over the :data:`RECENT_DAYS` days up to ``D``.
* ``climatology``: the training mean of the city, month and hour of day.
* ``guidance`` and ``mos`` (when model runs are supplied): the raw numerical-model value and the
  value less its mean bias per lead hour on the validation window.

Per pollutant and lead hour the weights come from :func:`ecobasin.forecast.blend.fit_weights`
on a validation window after the training days (rolling origin: profiles and climatology never
saw it); the range is the blend times the validation window's log-residual quantiles.

When a daily forecast is supplied, each target day's hourly mean is pulled into
``daily · (1 ± DAILY_TOLERANCE)``: the hourly path never contradicts the issued daily forecast
by more than that.

References
----------
.. [1] HJ 663-2013 §4.2 (daily mean of hour-ending 01…24 hours; O3 8-h moving mean needs ≥ 6
   valid hours; daily O3 8-h maximum over the windows 00–08 … 16–24 of the day).
.. [2] HJ 633-2012 §5.1.3 and HJ 633-2026 §4.2.3 (hourly AQI, see :func:`hourly_aqi_table`).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import numpy.typing as npt
import pandas as pd

from ecobasin.forecast.blend import (
    QUANTILE_LEVELS,
    apply_weights,
    fit_weights,
    residual_quantiles,
)

__all__ = [
    "DAILY_TOLERANCE",
    "HOURLY_POLLUTANTS",
    "LEADS",
    "HourlyModel",
    "daily_summary",
    "fit_hourly",
    "forecast_hourly",
    "guidance_paths",
    "hour_matrix",
    "hourly_aqi_table",
    "member_paths",
]

#: Pollutants of the hourly forecast.
HOURLY_POLLUTANTS: tuple[str, ...] = ("PM2.5", "PM10", "O3", "NO2", "CO", "SO2")
#: Lead hours after the issue time [h].
LEADS = 72
#: Largest relative gap between a target day's hourly mean and the daily forecast [1].
DAILY_TOLERANCE = 0.10
#: Hours at the end of the issue day averaged by the ``latest`` member [h].
LATEST_HOURS = 3
#: Days up to the issue day averaged per hour of day by the ``recent`` member [d].
RECENT_DAYS = 30
#: Fewest valid hours for a daily mean (HJ 663-2013 §4.2: 20 of 24).
MIN_DAY_HOURS = 20
#: Local time of the hourly grid: China Standard Time.
LOCAL_TZ = "Asia/Shanghai"
#: Quantile columns whose values are the range's lower and upper bound (5 % and 95 %).
RANGE_QUANTILES = (0, len(QUANTILE_LEVELS) - 1)

Floats = npt.NDArray[np.float64]


def _season(months: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Meteorological season index: 0 = DJF, 1 = MAM, 2 = JJA, 3 = SON."""
    return np.asarray((months % 12) // 3, dtype=np.int64)


@dataclass(frozen=True)
class HourMatrix:
    """One city's pollutant as a ``days × 24`` matrix of local hours (NaN = missing)."""

    days: pd.DatetimeIndex
    values: Floats

    def index_of(self, day: date) -> int | None:
        pos = self.days.get_indexer(pd.DatetimeIndex([pd.Timestamp(day)]))[0]
        return None if pos < 0 else int(pos)


def hour_matrix(hourly: pd.DataFrame, city: str, pollutant: str) -> HourMatrix:
    """The ``days × 24`` matrix of one city and pollutant from a long frame.

    ``hourly`` has ``city``, ``time`` (tz-aware UTC, end of the hour, as
    :func:`ecobasin.store.forecast.city_hourly` returns it), ``pollutant`` and ``value``.
    """
    rows = hourly[(hourly["city"].astype(str) == str(city)) & (hourly["pollutant"] == pollutant)]
    if rows.empty:
        return HourMatrix(pd.DatetimeIndex([]), np.empty((0, 24)))
    start = (pd.to_datetime(rows["time"], utc=True) - pd.Timedelta(hours=1)).dt.tz_convert(LOCAL_TZ)
    local = start.dt.tz_localize(None)
    day = local.dt.normalize()
    days = pd.date_range(day.min(), day.max(), freq="D")
    values = np.full((len(days), 24), np.nan)
    values[days.get_indexer(pd.DatetimeIndex(day)), local.dt.hour.to_numpy()] = rows[
        "value"
    ].to_numpy(float)
    return HourMatrix(days, values)


def _daily_means(values: Floats) -> Floats:
    """Daily means of days with ≥ :data:`MIN_DAY_HOURS` valid hours (HJ 663 §4.2), else NaN."""
    valid = np.isfinite(values).sum(axis=1)
    with _quiet():
        means = np.nanmean(values, axis=1)
    return np.where(valid >= MIN_DAY_HOURS, means, np.nan)


@contextmanager
def _quiet() -> Iterator[None]:
    """Silences numpy's warnings of all-missing rows: their means are NaN on purpose."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
        yield


@dataclass
class CityProfile:
    """What one city and pollutant learnt from its training days."""

    diurnal: Floats  # 4 seasons × 24 hours, ratios to the daily mean [1]
    climatology: Floats  # 12 months × 24 hours [µg/m³; CO mg/m³]


def _learn_profile(matrix: HourMatrix, train: npt.NDArray[np.bool_]) -> CityProfile:
    """Diurnal ratios per season and hour, and the month × hour climatology, of training days."""
    values = matrix.values[train]
    months = matrix.days.month.to_numpy()[train]
    means = _daily_means(values)
    ratios = values / np.where(means > 0, means, np.nan)[:, None]
    diurnal = np.ones((4, 24))
    climatology = np.full((12, 24), np.nan)
    seasons = _season(months)
    with _quiet():
        for s in range(4):
            pick = ratios[seasons == s]
            if np.isfinite(pick).any():
                profile = np.nanmean(pick, axis=0)
                diurnal[s] = np.where(np.isfinite(profile), profile, 1.0) / np.nanmean(profile)
        for m in range(12):
            climatology[m] = np.nanmean(values[months == m + 1], axis=0)
        overall = np.nanmean(values, axis=0)
    climatology = np.where(np.isfinite(climatology), climatology, overall[None, :])
    return CityProfile(diurnal, climatology)


def _target_days(matrix: HourMatrix, issue: npt.NDArray[np.int64]) -> pd.DatetimeIndex:
    """Target days of every lead hour of every issue row (``rows × 72``, flattened)."""
    base = matrix.days[issue].to_numpy()[:, None]
    offsets = np.repeat(np.arange(1, 4), 24)[None, :].astype("timedelta64[D]")
    return pd.DatetimeIndex((base + offsets).ravel())


def member_paths(
    matrix: HourMatrix,
    profile: CityProfile,
    issue: npt.NDArray[np.int64],
    *,
    daily_forecast: Floats | None = None,
    guidance: Floats | None = None,
) -> dict[str, Floats]:
    """The members' 72-hour paths of the issue rows ``issue`` (indices into ``matrix.days``).

    ``daily_forecast`` is ``rows × 3`` (D+1…D+3) and ``guidance`` ``rows × 72``; both optional.
    Returns ``{member: rows × 72}`` [µg/m³; CO mg/m³].
    """
    today = matrix.values[issue]
    n = len(issue)
    daily = daily_forecast
    if daily is None:
        daily = np.repeat(_daily_means(today)[:, None], 3, axis=1)
    targets = _target_days(matrix, issue)
    season = _season(targets.month.to_numpy()).reshape(n, LEADS)
    hour = np.tile(np.arange(24), 3)[None, :]
    with _quiet():
        latest = np.nanmean(today[:, -LATEST_HOURS:], axis=1)
        recent = np.nanmean(_recent_days(matrix.values, issue), axis=1)
    # the latest level carried along the diurnal profile, relative to the hours it was seen at
    evening = profile.diurnal[season[:, :1], np.arange(24 - LATEST_HOURS, 24)[None, :]].mean(axis=1)
    members = {
        "persistence": np.tile(today, 3),
        "climatology": profile.climatology[targets.month.to_numpy().reshape(n, LEADS) - 1, hour],
        "latest": np.repeat(latest[:, None], LEADS, axis=1),
        "latest_shaped": (latest / evening)[:, None] * profile.diurnal[season, hour],
        "recent": np.tile(recent, 3),
        "diurnal": np.repeat(daily, 24, axis=1) * profile.diurnal[season, hour],
    }
    if guidance is not None:
        members["guidance"] = np.asarray(guidance, dtype=np.float64)
    return members


def _recent_days(values: Floats, issue: npt.NDArray[np.int64]) -> Floats:
    """The :data:`RECENT_DAYS` days up to each issue day (``rows × days × 24``, NaN-padded)."""
    padded = np.vstack([np.full((RECENT_DAYS - 1, 24), np.nan), values])
    return np.stack([padded[issue + k] for k in range(RECENT_DAYS)], axis=1)


def guidance_paths(known: pd.DataFrame) -> dict[tuple[str, str], pd.DataFrame]:
    """Hourly model runs as known on each issue day, as the ``guidance`` input of
    :func:`fit_hourly` / :func:`forecast_hourly`.

    ``known`` is :func:`ecobasin.forecast.guidance.runs_as_known` (``issue_day`` CST, ``city``,
    ``valid_time`` UTC hour-ending, ``pollutant``, ``value``): only runs published by the issue
    time. Lead hour = hours from the issue time (local 24:00 of D) to the end of the hour.

    Returns
    -------
    dict
        ``{(city, pollutant): frame indexed by issue day, columns 1…72}`` [µg/m³; CO mg/m³].
    """
    if known.empty:
        return {}
    issue_end = (
        (pd.DatetimeIndex(known["issue_day"]) + pd.Timedelta(days=1))
        .tz_localize(LOCAL_TZ)
        .tz_convert("UTC")
    )
    lead = (pd.DatetimeIndex(known["valid_time"]) - issue_end) // pd.Timedelta(hours=1)
    frame = known.assign(lead=np.asarray(lead), issue_day=pd.DatetimeIndex(known["issue_day"]))
    frame = frame[frame["lead"].between(1, LEADS)]
    out = {}
    for (city, pollutant), group in frame.groupby(["city", "pollutant"]):
        wide = group.pivot_table(index="issue_day", columns="lead", values="value")
        out[(str(city), str(pollutant))] = wide.reindex(columns=range(1, LEADS + 1))
    return out


def _observed_paths(matrix: HourMatrix, issue: npt.NDArray[np.int64]) -> Floats:
    """The observed 72 hours after each issue row (NaN past the end of the data)."""
    padded = np.vstack([matrix.values, np.full((3, 24), np.nan)])
    return np.hstack([padded[issue + k] for k in (1, 2, 3)])


@dataclass
class HourlyModel:
    """Learnt state: per (city, pollutant) profiles; per pollutant and lead hour the weights,
    the MOS bias and the log-residual quantiles."""

    profiles: dict[tuple[str, str], CityProfile] = field(default_factory=dict)
    weights: dict[str, list[dict[str, float]]] = field(default_factory=dict)
    mos_bias: dict[str, Floats] = field(default_factory=dict)
    quantiles: dict[str, Floats] = field(default_factory=dict)
    train_end: date | None = None


def _issue_rows(matrix: HourMatrix, start: date, end: date) -> npt.NDArray[np.int64]:
    """Rows of ``matrix`` whose day is an issue day in ``[start, end)``."""
    days = matrix.days
    keep = (days >= pd.Timestamp(start)) & (days < pd.Timestamp(end))
    return np.flatnonzero(keep).astype(np.int64)


def _lookup(
    table: Mapping[tuple[str, str], pd.DataFrame] | None,
    city: str,
    pollutant: str,
    days: pd.DatetimeIndex,
) -> Floats | None:
    """Rows of an optional per-(city, pollutant) input keyed by issue day (a DataFrame of
    shape ``issue days × k`` indexed by day), aligned to ``days``; NaN where absent."""
    if table is None or (city, pollutant) not in table:
        return None
    frame = table[(city, pollutant)]
    return np.asarray(
        pd.DataFrame(frame).reindex(pd.DatetimeIndex(days)).to_numpy(float), dtype=np.float64
    )


def fit_hourly(
    hourly: pd.DataFrame,
    *,
    train_end: date,
    validation_days: int = 365,
    pollutants: Sequence[str] = HOURLY_POLLUTANTS,
    daily_forecasts: Mapping[tuple[str, str], pd.DataFrame] | None = None,
    guidance: Mapping[tuple[str, str], pd.DataFrame] | None = None,
) -> HourlyModel:
    """Learn profiles on days before ``train_end - validation_days`` and the blend weights and
    ranges on the validation issue days ``[train_end - validation_days, train_end)``.

    ``daily_forecasts`` / ``guidance`` map ``(city, pollutant)`` to frames indexed by issue day
    with 3 (D+1…D+3) / 72 columns; the same inputs must then be given to
    :func:`forecast_hourly`.
    """
    val_start = (pd.Timestamp(train_end) - pd.Timedelta(days=validation_days)).date()
    model = HourlyModel(train_end=train_end)
    for pollutant in pollutants:
        paths: dict[str, list[Floats]] = {}
        observed: list[Floats] = []
        for city in sorted(hourly["city"].astype(str).unique()):
            matrix = hour_matrix(hourly, city, pollutant)
            train = np.asarray(matrix.days < pd.Timestamp(val_start))
            if _daily_means(matrix.values[train]).size == 0:
                continue
            profile = _learn_profile(matrix, train)
            model.profiles[(city, pollutant)] = profile
            rows = _issue_rows(matrix, val_start, train_end)
            members = member_paths(
                matrix,
                profile,
                rows,
                daily_forecast=_lookup(daily_forecasts, city, pollutant, matrix.days[rows]),
                guidance=_lookup(guidance, city, pollutant, matrix.days[rows]),
            )
            for name, path in members.items():
                paths.setdefault(name, []).append(path)
            observed.append(_observed_paths(matrix, rows))
        if not observed:
            continue
        stacked = {name: np.vstack(parts) for name, parts in paths.items()}
        y = np.vstack(observed)
        if "guidance" in stacked:
            with _quiet():
                bias = np.nanmean(stacked["guidance"] - y, axis=0)
            model.mos_bias[pollutant] = np.where(np.isfinite(bias), bias, 0.0)
            stacked["mos"] = np.clip(stacked["guidance"] - model.mos_bias[pollutant], 0, None)
        weights, quantiles = [], []
        for lead in range(LEADS):
            at_lead = {name: path[:, lead] for name, path in stacked.items()}
            w = fit_weights(at_lead, y[:, lead], baselines=("persistence", "climatology"))
            weights.append(w)
            quantiles.append(residual_quantiles(apply_weights(at_lead, w), y[:, lead]))
        model.weights[pollutant] = weights
        model.quantiles[pollutant] = np.asarray(quantiles)
    return model


def _reconcile(path: Floats, daily: Floats) -> Floats:
    """Scale each target day's 24 hours so their mean lies within ``daily · (1 ± tol)``."""
    days = path.reshape(path.shape[0], 3, 24)
    with _quiet():
        mean = np.nanmean(days, axis=2)
    bounded = np.clip(mean, daily * (1 - DAILY_TOLERANCE), daily * (1 + DAILY_TOLERANCE))
    scale = np.where((mean > 0) & np.isfinite(daily), bounded / mean, 1.0)
    return np.asarray((days * scale[:, :, None]).reshape(path.shape), dtype=np.float64)


def forecast_hourly(
    model: HourlyModel,
    hourly: pd.DataFrame,
    issue_days: Sequence[date],
    *,
    daily_forecasts: Mapping[tuple[str, str], pd.DataFrame] | None = None,
    guidance: Mapping[tuple[str, str], pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """The 72-hour forecasts of every learnt (city, pollutant) and issue day with data.

    Returns
    -------
    pandas.DataFrame
        ``city, issue_day, lead_hour`` (1…72), ``time`` (UTC, end of the hour), ``local_day``,
        ``local_hour`` (0…23, hour start), ``pollutant``, ``value``, ``lower``, ``upper``
        (5 %–95 % range) [µg/m³; CO mg/m³], ``observed`` (NaN when not yet known), and
        ``persistence`` (the baseline member). O3, PM2.5 and PM10 also get ``O3_8h``,
        ``PM2.5_24h`` and ``PM10_24h`` rows: moving means of the path, the issue day's observed
        hours filling the first windows (HJ 663 §4.2).
    """
    frames = []
    wanted = pd.DatetimeIndex([pd.Timestamp(d) for d in issue_days])
    for (city, pollutant), profile in model.profiles.items():
        if pollutant not in model.weights:
            continue
        matrix = hour_matrix(hourly, city, pollutant)
        pos = matrix.days.get_indexer(wanted)
        rows = pos[pos >= 0].astype(np.int64)
        if rows.size == 0:
            continue
        daily = _lookup(daily_forecasts, city, pollutant, matrix.days[rows])
        members = member_paths(
            matrix,
            profile,
            rows,
            daily_forecast=daily,
            guidance=_lookup(guidance, city, pollutant, matrix.days[rows]),
        )
        if "guidance" in members and pollutant in model.mos_bias:
            members["mos"] = np.clip(members["guidance"] - model.mos_bias[pollutant], 0, None)
        path = np.column_stack(
            [
                apply_weights({k: v[:, lead] for k, v in members.items()}, w)
                for lead, w in enumerate(model.weights[pollutant])
            ]
        )
        if daily is not None:
            path = _reconcile(path, daily)
        q = model.quantiles[pollutant]
        lower = (1 + path) * np.exp(q[:, RANGE_QUANTILES[0]])[None, :] - 1
        upper = (1 + path) * np.exp(q[:, RANGE_QUANTILES[1]])[None, :] - 1
        # a biased validation window can put both quantiles on one side: keep the centre inside
        lower, upper = np.fmin(lower, path), np.fmax(upper, path)
        frame = _long_frame(matrix, city, pollutant, rows, path, lower, upper)
        frame["persistence"] = members["persistence"].ravel()
        frames.append(frame)
        if pollutant in MOVING_MEANS:
            frames.append(_moving_frame(matrix, city, pollutant, rows, (path, lower, upper)))
    if not frames:
        return pd.DataFrame(
            columns=[
                "city",
                "issue_day",
                "lead_hour",
                "time",
                "local_day",
                "local_hour",
                "pollutant",
                "value",
                "lower",
                "upper",
                "observed",
                "persistence",
            ]
        )
    return pd.concat(frames, ignore_index=True)


def _long_frame(
    matrix: HourMatrix,
    city: str,
    pollutant: str,
    rows: npt.NDArray[np.int64],
    path: Floats,
    lower: Floats,
    upper: Floats,
) -> pd.DataFrame:
    """One row per issue row and lead hour."""
    n = len(rows)
    issue = np.repeat(matrix.days[rows].to_numpy(), LEADS)
    lead = np.tile(np.arange(1, LEADS + 1), n)
    local_start = pd.DatetimeIndex(issue) + pd.to_timedelta(24 + lead - 1, unit="h")
    time = (local_start + pd.Timedelta(hours=1)).tz_localize(LOCAL_TZ).tz_convert("UTC")
    return pd.DataFrame(
        {
            "city": city,
            "issue_day": pd.DatetimeIndex(issue).date,
            "lead_hour": lead,
            "time": time,
            "local_day": local_start.normalize().date,
            "local_hour": local_start.hour,
            "pollutant": pollutant,
            "value": np.clip(path.ravel(), 0, None),
            "lower": np.clip(lower.ravel(), 0, None),
            "upper": np.clip(upper.ravel(), 0, None),
            "observed": _observed_paths(matrix, rows).ravel(),
        }
    )


def _moving(issue_day: Floats, path: Floats, hours: int = 8, least: int = 6) -> Floats:
    """Moving means over ``hours`` ending at each of the 72 hours, the issue day's observed
    hours filling the first windows; NaN with fewer than ``least`` valid hours (HJ 663 §4.2:
    O3 8 h with ≥ 6, PM 24 h with ≥ 20)."""
    series = np.hstack([issue_day, path])
    windows = np.lib.stride_tricks.sliding_window_view(series, hours, axis=1)[:, -LEADS:]
    valid = np.isfinite(windows).sum(axis=2)
    with _quiet():
        means = np.nanmean(windows, axis=2)
    return np.where(valid >= least, means, np.nan)


#: Moving means the hourly AQI of HJ 633-2012 reads: ``{pollutant: (label, hours, least)}``.
MOVING_MEANS: dict[str, tuple[str, int, int]] = {
    "O3": ("O3_8h", 8, 6),
    "PM2.5": ("PM2.5_24h", 24, 20),
    "PM10": ("PM10_24h", 24, 20),
}


def _moving_frame(
    matrix: HourMatrix,
    city: str,
    pollutant: str,
    rows: npt.NDArray[np.int64],
    paths: tuple[Floats, Floats, Floats],
) -> pd.DataFrame:
    """Rows of the moving mean of ``pollutant`` (:data:`MOVING_MEANS`) along each path."""
    label, hours, least = MOVING_MEANS[pollutant]
    today = matrix.values[rows]
    value, lower, upper = (_moving(today, p, hours, least) for p in paths)
    frame = _long_frame(matrix, city, label, rows, value, lower, upper)
    observed = _observed_paths(matrix, rows)
    frame["observed"] = _moving(today, observed, hours, least).ravel()
    frame["persistence"] = _moving(today, np.tile(today, 3), hours, least).ravel()
    return frame


def daily_summary(forecast: pd.DataFrame) -> pd.DataFrame:
    """Per city, issue day, target day and pollutant: the daily mean of the hourly path
    (forecast and observed), the daily O3 8-h maximum (windows ending 08…24, HJ 663 §4.2) and
    the hour of the O3 peak (local hour start, forecast and observed).
    """
    keys = ["city", "issue_day", "local_day", "pollutant"]
    moving = {label for label, _, _ in MOVING_MEANS.values()}
    base = forecast[~forecast["pollutant"].isin(moving)]
    means = base.groupby(keys, as_index=False).agg(
        value=("value", "mean"), observed=("observed", "mean")
    )
    o3_8h = forecast[(forecast["pollutant"] == "O3_8h") & (forecast["local_hour"] >= 7)]
    maxima = o3_8h.groupby(keys, as_index=False).agg(
        value=("value", "max"), observed=("observed", lambda s: s.max(skipna=False))
    )
    o3 = base[base["pollutant"] == "O3"]
    peak = o3.groupby(["city", "issue_day", "local_day"]).agg(
        peak_hour=("value", lambda s: int(o3.loc[s.idxmax(), "local_hour"])),
        observed_peak_hour=(
            "observed",
            lambda s: int(o3.loc[s.idxmax(), "local_hour"]) if s.notna().any() else -1,
        ),
    )
    out = pd.concat([means, maxima], ignore_index=True)
    out = out.merge(peak.reset_index(), on=["city", "issue_day", "local_day"], how="left")
    out["lead_day"] = (pd.to_datetime(out["local_day"]) - pd.to_datetime(out["issue_day"])).dt.days
    return out


def hourly_aqi_table(forecast: pd.DataFrame) -> pd.DataFrame:
    """Hourly AQI of the forecast under both rule generations, with its range.

    HJ 633-2012 (§5.1.3) takes PM2.5/PM10 as 24-h moving means and O3 8-h moving; HJ 633-2026
    (§4.2.3) takes the 1-h values. The range is the AQI of the lower and of the upper
    concentrations (the AQI is monotone in each). Computed by
    :func:`ecobasin.standards.air_index.hourly_aqi`.

    Returns
    -------
    pandas.DataFrame
        ``city, issue_day, lead_hour, time, rule_set, aqi, aqi_lower, aqi_upper, level,
        primary``.
    """
    from ecobasin.standards.air_index import hourly_aqi

    keys = ["city", "issue_day", "lead_hour", "time"]
    out = []
    for rule_set in ("HJ633-2012", "HJ633-2026"):
        reports = {}
        for column in ("value", "lower", "upper"):
            wide = forecast.pivot_table(index=keys, columns="pollutant", values=column)
            reports[column] = hourly_aqi(_aqi_columns(wide, rule_set), rule_set=rule_set)
        frame = wide.index.to_frame(index=False)
        frame["rule_set"] = rule_set
        frame["aqi"] = reports["value"]["aqi"].to_numpy()
        frame["aqi_lower"] = reports["lower"]["aqi"].to_numpy()
        frame["aqi_upper"] = reports["upper"]["aqi"].to_numpy()
        frame["level"] = reports["value"]["level"].to_numpy()
        frame["primary"] = reports["value"]["primary"].astype("string").to_numpy()
        out.append(frame)
    return pd.concat(out, ignore_index=True)


def _aqi_columns(wide: pd.DataFrame, rule_set: str) -> pd.DataFrame:
    """The concentration columns the hourly report of ``rule_set`` reads, from a wide frame."""
    frame = pd.DataFrame({"time": wide.index.get_level_values("time")})

    def col(name: str) -> Floats:
        return wide[name].to_numpy(float) if name in wide else np.full(len(wide), np.nan)

    frame["SO2_1h"] = col("SO2")
    frame["NO2_1h"] = col("NO2")
    frame["CO_1h"] = col("CO")
    frame["O3_1h"] = col("O3")
    if rule_set == "HJ633-2012":
        frame["O3_8h_moving"] = col("O3_8h")
        frame["PM10_24h_moving"] = col("PM10_24h")
        frame["PM2.5_24h_moving"] = col("PM2.5_24h")
    else:
        frame["PM10_1h"] = col("PM10")
        frame["PM2.5_1h"] = col("PM2.5")
    return frame
