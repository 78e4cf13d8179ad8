"""The alarm engine: observations in, alarm episodes out (pure, vectorised with pandas).

Three kinds of alarm, each an **episode** with a start, an end (NaT while open) and evidence:

``over_limit``
    A value on the limit's averaging basis **strictly above** the limit in force
    (:mod:`ecobasin.alarms.limits`); consecutive over-limit periods form one episode. Basis
    values: the stored ``1h`` (``1d``) value of the period when there is one (used only when its
    flag is valid, see below); otherwise the mean of the period's valid sub-period readings
    (``10min``, else ``1min``, else ``instant`` for an hourly basis; ``1h`` for a daily basis),
    counted only when they cover at least ``min_coverage`` (75 %, HJ 212-2017 表C.16-C.18
    notes) of the period: 10-minute values cover 10 min each, 1-minute and real-time readings
    the distinct minutes they fall in. Valid = flag ``N`` or ``T`` or no flag (表8). An hour is
    labelled by its end (``ecobasin.timebase``); a day is a China Standard Time day. Noise
    stations: night hourly Leq over the class's night limit and LMx over it + 15 dB(A), one
    episode per station and night (:mod:`ecobasin.alarms.noise`, GB 3096-2008).
    Start = the start of the first over-limit period, end = the end of the last; the episode is
    open while no later period of the series has a valid value (at or under the limit).
``flag_persistent``
    A run of consecutive readings of a series (its finest stored period) carrying one of the
    configured flags (D, B, F, M, C) whose evidenced duration — from the start of the first
    flagged period to the end of the last — is **longer** than the configured hours. Start =
    start of the run, end = the time of the first later reading without that flag (open
    without one).
``silent``
    A site with no observation (any parameter, any period) for longer than ``multiple`` × its
    reporting interval (the device registry's interval, else the default of its kind): start =
    the last reading before the gap, end = the next reading (open when none came before
    ``now``).

Every alarm gets a deterministic ``alarm_id`` (kind, site, parameter, flag and start), so a
recomputation finds the same episode again instead of adding a second one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from ecobasin.alarms.limits import applicable_limits, limits_at
from ecobasin.alarms.noise import noise_over_limit_rows
from ecobasin.alarms.noise_vdr import noise_vdr_rows
from ecobasin.catalog.emission import AlarmRules, alarm_rules

__all__ = [
    "ALARM_COLUMNS",
    "KINDS",
    "alarm_id",
    "basis_values",
    "evaluate",
    "flag_episodes",
    "over_limit_episodes",
    "silent_episodes",
]

#: Alarm kinds.
KINDS = ("over_limit", "flag_persistent", "silent", "low_valid_rate")
#: Columns of every alarm frame (times tz-aware UTC; ``end_time`` NaT while open).
ALARM_COLUMNS = (
    "alarm_id",
    "kind",
    "site_id",
    "city_code",
    "parameter",
    "flag",
    "start_time",
    "end_time",
    "status",
    "peak",
    "limit_value",
    "multiple",
    "periods",
    "evidence",
)
SERIES = ["site_id", "parameter"]
PERIOD_LENGTH = {
    "instant": pd.Timedelta(0),
    "1min": pd.Timedelta(minutes=1),
    "10min": pd.Timedelta(minutes=10),
    "1h": pd.Timedelta(hours=1),
    "1d": pd.Timedelta(days=1),
}
#: Minutes of a period one reading covers (a real-time reading: the minute it falls in).
SLOT_MINUTES = {"instant": 1, "1min": 1, "10min": 10, "1h": 60}
#: Sub-periods a basis mean is computed from, preferred first.
SUB_PERIODS = {"1h": ("10min", "1min", "instant"), "1d": ("1h",)}
#: Finest first: the period whose readings carry a series' flags.
FINEST = ("instant", "1min", "10min", "1h", "1d")
_CST = pd.Timedelta(hours=8)
_MAX_EVIDENCE_VALUES = 200


def alarm_id(kind: str, site_id: str, parameter: str | None, flag: str | None, start: Any) -> str:
    """A stable id of an episode: the same episode recomputed gets the same id."""
    stamp = pd.Timestamp(start).tz_convert("UTC").isoformat()
    key = "|".join([kind, site_id, parameter or "", flag or "", stamp])
    return hashlib.sha1(key.encode()).hexdigest()[:20]


def _iso(value: Any) -> str | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc(frame: pd.DataFrame, column: str = "time") -> pd.DataFrame:
    """A copy with tz-aware UTC times and categorical ids (string columns are slow to group)."""
    frame = frame.copy()
    frame[column] = pd.to_datetime(frame[column], utc=True)
    for key in ("site_id", "parameter", "period"):
        if key in frame:
            frame[key] = frame[key].astype("category")
    if "flag" in frame:
        frame["flag"] = frame["flag"].astype(object)
    return frame


def _period_end(times: pd.Series, basis: str) -> pd.Series:
    """End of the basis period a sub-period time falls in (hour-ending; CST day-ending)."""
    ends: pd.Series = times.dt.ceil("h") if basis == "1h" else (times + _CST).dt.ceil("D") - _CST
    return ends


def _lookup(column: pd.Series, mapping: Mapping[str, float], default: float) -> np.ndarray:
    """``mapping`` applied to a categorical column through its categories (fast)."""
    categories = column.cat.categories
    table = np.array([mapping.get(str(c), default) for c in categories] + [default], float)
    return table[column.cat.codes.to_numpy()]


def _valid(frame: pd.DataFrame, rules: AlarmRules) -> pd.Series:
    flags = frame["flag"]
    valid: pd.Series = frame["value"].notna() & (flags.isna() | flags.isin(list(rules.valid_flags)))
    return valid


# -- over-limit ---------------------------------------------------------------------------------
def basis_values(
    observations: pd.DataFrame, series: pd.DataFrame, rules: AlarmRules | None = None
) -> pd.DataFrame:
    """Values of each series on its averaging basis.

    Parameters
    ----------
    observations : pandas.DataFrame
        site_id, parameter, period, time (UTC, end of period), value, flag.
    series : pandas.DataFrame
        site_id, parameter, basis (``1h`` or ``1d``): the series to evaluate.
    rules : AlarmRules, optional
        Coverage share and valid flags (default the bundled rules).

    Returns
    -------
    pandas.DataFrame
        site_id, parameter, basis, time (end of the basis period), value, origin
        (``stored`` or ``computed``), n (readings), coverage (share of the period, 1 for stored).
    """
    rules = rules or alarm_rules()
    columns = ["site_id", "parameter", "basis", "time", "value", "origin", "n", "coverage"]
    obs = _utc(observations)
    wanted = pd.MultiIndex.from_frame(series[SERIES].astype(str))
    found = wanted.get_indexer(pd.MultiIndex.from_arrays([obs["site_id"], obs["parameter"]]))
    obs = obs[found >= 0]
    if obs.empty:
        return pd.DataFrame(columns=columns)
    obs["basis"] = pd.Categorical(series["basis"].to_numpy(str)[found[found >= 0]])
    valid = _valid(obs, rules)
    is_stored = np.zeros(len(obs), dtype=bool)
    for basis in SUB_PERIODS:
        is_stored |= ((obs["basis"] == basis) & (obs["period"] == basis)).to_numpy()
    stored_all = obs[is_stored]
    stored = obs[is_stored & valid].assign(origin="stored", n=1, coverage=1.0)
    parts = [stored[columns]]
    taken = pd.MultiIndex.from_frame(stored_all[[*SERIES, "time"]])
    for basis, subs in SUB_PERIODS.items():
        sub = obs[(obs["basis"] == basis) & obs["period"].isin(subs) & valid].copy()
        if sub.empty:
            continue
        sub["end"] = _period_end(sub["time"], basis)
        sub["rank"] = _lookup(sub["period"], {p: i for i, p in enumerate(subs)}, len(subs))
        keys = [*SERIES, "end"]
        sub = sub[sub["rank"] == sub.groupby(keys)["rank"].transform("min")]
        sub["slot"] = sub["time"].where(sub["period"] != "instant", sub["time"].dt.ceil("min"))
        means = sub.groupby(keys, as_index=False).agg(
            value=("value", "mean"),
            n=("value", "size"),
            slots=("slot", "nunique"),
            period=("period", "first"),
        )
        minutes = PERIOD_LENGTH[basis] / pd.Timedelta(minutes=1)
        covered = means["slots"] * means["period"].astype(str).map(SLOT_MINUTES)
        means["coverage"] = np.minimum(covered / minutes, 1.0)
        means = means.rename(columns={"end": "time"}).assign(basis=basis, origin="computed")
        fresh = ~pd.MultiIndex.from_frame(means[[*SERIES, "time"]]).isin(taken)
        parts.append(means[fresh & (means["coverage"] >= rules.min_coverage)][columns])
    values: pd.DataFrame = pd.concat([p for p in parts if not p.empty] or [parts[0]])
    return values.sort_values([*SERIES, "time"]).reset_index(drop=True)


def series_bases(rules_frame: pd.DataFrame) -> pd.DataFrame:
    """One basis per (site, parameter): that of its highest-priority limit rule."""
    ordered = rules_frame.sort_values(["rank", "valid_from"], ascending=[True, False])
    return ordered.drop_duplicates(SERIES)[[*SERIES, "basis"]].reset_index(drop=True)


def over_limit_episodes(values: pd.DataFrame) -> pd.DataFrame:
    """Episodes of consecutive basis values strictly above their limit.

    Parameters
    ----------
    values : pandas.DataFrame
        Basis values with their limit in force (:func:`basis_values` joined by
        :func:`ecobasin.alarms.limits.limits_at`): site_id, parameter, basis, time, value,
        origin, limit, and the rule's columns.

    Returns
    -------
    pandas.DataFrame
        One row per episode: site_id, parameter, start_time, end_time (NaT while open),
        last_time, periods, peak, limit_value (the limit at the peak), multiple (peak value ÷
        its limit), the rule of the peak (source, standard_id, clause, source_category,
        permit_id, verified, unit, reference_o2, basis) and ``values`` (list of [time, value,
        origin] of the episode).
    """
    if values.empty:
        return pd.DataFrame()
    v = values.sort_values([*SERIES, "time"]).reset_index(drop=True)
    v["limit"] = v["limit"].astype(float)
    series_last = v.groupby(SERIES)["time"].transform("max")
    over = v[v["value"] > v["limit"]].copy()
    if over.empty:
        return pd.DataFrame()
    over["series_last"] = series_last[over.index]
    over["step"] = over["basis"].astype(str).map(PERIOD_LENGTH)
    same_series = (over["site_id"] == over["site_id"].shift()) & (
        over["parameter"] == over["parameter"].shift()
    )
    follows = (over["time"] - over["time"].shift()) == over["step"]
    over["episode"] = (~(same_series & follows)).cumsum()
    over["multiple"] = over["value"] / over["limit"]
    peaks = over.loc[over.groupby("episode")["value"].idxmax()].set_index("episode")
    grouped = over.groupby("episode")
    episodes = peaks.assign(
        start_time=grouped["time"].min() - grouped["step"].first(),
        last_time=grouped["time"].max(),
        periods=grouped.size(),
        peak=grouped["value"].max(),
        limit_value=peaks["limit"],
    )
    episodes["values"] = pd.Series({ep: _value_list(g) for ep, g in grouped})
    is_open = episodes["last_time"] == episodes["series_last"]
    episodes["end_time"] = episodes["last_time"].where(~is_open)
    return episodes.reset_index(drop=True)


def _value_list(group: pd.DataFrame) -> list[list[Any]]:
    head = group.head(_MAX_EVIDENCE_VALUES)
    return [
        [_iso(t), float(x), str(o)]
        for t, x, o in zip(head["time"], head["value"], head["origin"], strict=True)
    ]


# -- flags --------------------------------------------------------------------------------------
def flag_episodes(observations: pd.DataFrame, rules: AlarmRules | None = None) -> pd.DataFrame:
    """Runs of one flag (of ``rules.flag_hours``) lasting longer than its duration.

    Each series (site, parameter) is read at its finest stored period (``instant`` before
    ``1min``, ``10min``, ``1h``, ``1d``) so the same fault is not counted twice.

    Returns
    -------
    pandas.DataFrame
        site_id, parameter, flag, period, start_time (start of the first flagged period),
        last_time (end of the last), end_time (first later reading without the flag; NaT =
        open), readings, hours (evidenced duration [h]), threshold_hours.
    """
    rules = rules or alarm_rules()
    columns = [
        "site_id", "parameter", "flag", "period", "start_time", "last_time", "end_time",
        "readings", "hours", "threshold_hours",
    ]  # fmt: skip
    obs = _utc(observations)
    if obs.empty or not obs["flag"].isin(list(rules.flag_hours)).any():
        return pd.DataFrame(columns=columns)
    obs["rank"] = _lookup(obs["period"], {p: i for i, p in enumerate(FINEST)}, len(FINEST))
    obs = obs[obs["rank"] == obs.groupby(SERIES)["rank"].transform("min")]
    obs = obs.sort_values([*SERIES, "time"]).reset_index(drop=True)
    flag = obs["flag"].fillna("N")
    new_series = (obs["site_id"] != obs["site_id"].shift()) | (
        obs["parameter"] != obs["parameter"].shift()
    )
    obs["run"] = (new_series | (flag != flag.shift())).cumsum()
    obs["flag"] = flag
    runs = obs.groupby("run").agg(
        site_id=("site_id", "first"),
        parameter=("parameter", "first"),
        flag=("flag", "first"),
        period=("period", "first"),
        first_time=("time", "min"),
        last_time=("time", "max"),
        readings=("time", "size"),
    )
    same_next = (runs["site_id"] == runs["site_id"].shift(-1)) & (
        runs["parameter"] == runs["parameter"].shift(-1)
    )
    runs["end_time"] = runs["first_time"].shift(-1).where(same_next)
    runs["start_time"] = runs["first_time"] - runs["period"].astype(str).map(PERIOD_LENGTH)
    runs["hours"] = (runs["last_time"] - runs["start_time"]).dt.total_seconds() / 3600.0
    runs["threshold_hours"] = runs["flag"].map(dict(rules.flag_hours))
    alarms = runs[runs["threshold_hours"].notna() & (runs["hours"] > runs["threshold_hours"])]
    return alarms[columns].reset_index(drop=True)


# -- silence ------------------------------------------------------------------------------------
def silent_episodes(
    times: pd.DataFrame, thresholds_s: Mapping[str, float], now: Any
) -> pd.DataFrame:
    """Gaps in a site's data longer than its threshold, and the open gap up to ``now``.

    Parameters
    ----------
    times : pandas.DataFrame
        site_id, time: instants the site has observations at (UTC).
    thresholds_s : mapping
        site_id → silence threshold [s] (multiple × reporting interval).
    now : datetime
        The time of evaluation (UTC); a site whose last reading is older than its threshold is
        silent now.

    Returns
    -------
    pandas.DataFrame
        site_id, start_time (last reading before the gap), end_time (next reading; NaT =
        open), gap_s (so far, for open ones), threshold_s.
    """
    columns = ["site_id", "start_time", "end_time", "gap_s", "threshold_s"]
    t = _utc(times[["site_id", "time"]]).drop_duplicates().sort_values(["site_id", "time"])
    t = t[t["site_id"].isin(list(thresholds_s))]
    if t.empty:
        return pd.DataFrame(columns=columns)
    now_ts = pd.Timestamp(now).tz_convert("UTC")
    t["threshold_s"] = t["site_id"].astype(str).map(dict(thresholds_s)).astype(float)
    t["start_time"] = t.groupby("site_id")["time"].shift()
    t["end_time"] = t["time"]
    closed = t[(t["time"] - t["start_time"]).dt.total_seconds() > t["threshold_s"]]
    last = t.groupby("site_id", as_index=False).agg(
        start_time=("time", "max"), threshold_s=("threshold_s", "first")
    )
    last["end_time"] = pd.NaT
    trailing = last[(now_ts - last["start_time"]).dt.total_seconds() > last["threshold_s"]]
    gaps = pd.concat([closed[[*columns[:3], "threshold_s"]], trailing], ignore_index=True)
    # one resolution for all: fillna refuses a Timestamp of another unit (pandas 3)
    gaps["end_time"] = pd.to_datetime(gaps["end_time"], utc=True).astype("datetime64[us, UTC]")
    gaps["start_time"] = pd.to_datetime(gaps["start_time"], utc=True).astype("datetime64[us, UTC]")
    ended = gaps["end_time"].fillna(now_ts.as_unit("us"))
    gaps["gap_s"] = (ended - gaps["start_time"]).dt.total_seconds()
    result: pd.DataFrame = gaps[columns].sort_values(["site_id", "start_time"])
    return result.reset_index(drop=True)


# -- all together -------------------------------------------------------------------------------
def silence_thresholds(
    sites: pd.DataFrame, device_intervals: Mapping[str, float], rules: AlarmRules
) -> dict[str, tuple[float, str]]:
    """site_id → (interval [s], where it came from) for the silence rule."""
    out: dict[str, tuple[float, str]] = {}
    for site, kind in zip(sites["site_id"], sites["kind"], strict=True):
        if site in device_intervals:
            out[site] = (float(device_intervals[site]), "device registry interval_s")
        else:
            out[site] = (rules.interval_s(kind), f"default for {kind} (alarm_rules.toml)")
    return out


def evaluate(
    observations: pd.DataFrame,
    sites: pd.DataFrame,
    *,
    now: Any,
    permits: pd.DataFrame | None = None,
    device_intervals: Mapping[str, float] | None = None,
    limits: pd.DataFrame | None = None,
    rules: AlarmRules | None = None,
) -> pd.DataFrame:
    """Every alarm episode the observations of these sites show.

    Parameters
    ----------
    observations : pandas.DataFrame
        site_id, parameter, period, time (UTC, end of period), value, flag.
    sites : pandas.DataFrame
        site_id, kind, city_code, attributes (``source_category``, ``limits``).
    now : datetime
        Time of evaluation (for open silence).
    permits : pandas.DataFrame, optional
        Imported permit limits (see :func:`ecobasin.alarms.limits.applicable_limits`).
    device_intervals : mapping, optional
        site_id → reporting interval [s] from the device registry.
    limits : pandas.DataFrame, optional
        Standard limits (default the bundled ``limits.csv``).
    rules : AlarmRules, optional
        Alarm rules (default the bundled ``alarm_rules.toml``).

    Returns
    -------
    pandas.DataFrame
        Columns ``ALARM_COLUMNS``; ``evidence`` is JSON text.
    """
    rules = rules or alarm_rules()
    city = dict(zip(sites["site_id"], sites["city_code"], strict=True))
    rows: list[dict[str, Any]] = []
    limit_rules = applicable_limits(sites, permits, limits=limits, rules=rules)
    if not limit_rules.empty:
        values = basis_values(observations, series_bases(limit_rules), rules)
        episodes = over_limit_episodes(limits_at(values, limit_rules))
        rows += [_over_limit_row(e) for e in episodes.to_dict(orient="records")]
    rows += noise_over_limit_rows(observations, sites)  # GB 3096 night limits (issue 23)
    rows += noise_vdr_rows(observations, sites, now)  # HJ 906 station-day completeness
    flags = flag_episodes(observations, rules)
    rows += [_flag_row(e, rules) for e in flags.to_dict(orient="records")]
    intervals = silence_thresholds(sites, device_intervals or {}, rules)
    thresholds = {site: rules.silent_multiple * s for site, (s, _) in intervals.items()}
    silences = silent_episodes(observations, thresholds, now)
    rows += [_silent_row(e, intervals, rules) for e in silences.to_dict(orient="records")]
    frame = pd.DataFrame(rows, columns=list(ALARM_COLUMNS))
    frame["city_code"] = frame["site_id"].astype(str).map(city)
    for column in ("start_time", "end_time"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame.sort_values(["site_id", "start_time", "kind"]).reset_index(drop=True)


def _clean(value: Any) -> Any:
    """A JSON-ready scalar (NaN → None, numpy → Python)."""
    if isinstance(value, float | np.floating) and np.isnan(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _episode(
    kind: str, e: Mapping[Hashable, Any], parameter: str | None, flag: str | None
) -> dict[str, Any]:
    open_ = pd.isna(e["end_time"])
    return {
        "alarm_id": alarm_id(kind, e["site_id"], parameter, flag, e["start_time"]),
        "kind": kind,
        "site_id": e["site_id"],
        "parameter": parameter,
        "flag": flag,
        "start_time": e["start_time"],
        "end_time": None if open_ else e["end_time"],
        "status": "open" if open_ else "closed",
    }


def _over_limit_row(e: Mapping[Hashable, Any]) -> dict[str, Any]:
    evidence = {
        "basis": e["basis"],
        "unit": e["unit"],
        "limit": _clean(e["limit_value"]),
        "peak": _clean(e["peak"]),
        "peak_time": _iso(e["time"]),
        "multiple": round(float(e["multiple"]), 4),
        "periods": int(e["periods"]),
        "last_period_end": _iso(e["last_time"]),
        "rule": "value on the basis strictly above the limit (equal is not over)",
        "limit_source": {
            "source": e["source"],
            "standard_id": _clean(e["standard_id"]) or None,
            "clause": _clean(e["clause"]) or None,
            "source_category": _clean(e["source_category"]) or None,
            "permit_id": _clean(e["permit_id"]) or None,
            "reference_o2": _clean(e["reference_o2"]),
            "verified": bool(e["verified"]),
        },
        "values": e["values"],
    }
    row = _episode("over_limit", e, e["parameter"], None)
    row.update(
        peak=float(e["peak"]),
        limit_value=float(e["limit_value"]),
        multiple=float(e["multiple"]),
        periods=int(e["periods"]),
        evidence=json.dumps(evidence, ensure_ascii=False),
    )
    return row


def _flag_row(e: Mapping[Hashable, Any], rules: AlarmRules) -> dict[str, Any]:
    evidence = {
        "flag": e["flag"],
        "period": e["period"],
        "readings": int(e["readings"]),
        "hours": round(float(e["hours"]), 4),
        "threshold_hours": float(e["threshold_hours"]),
        "last_flagged": _iso(e["last_time"]),
        "rule": f"flag {e['flag']} lasting longer than {e['threshold_hours']:g} h",
        "rule_source": rules.sources.get("flag_persistent", "ecobasin default"),
    }
    row = _episode("flag_persistent", e, e["parameter"], e["flag"])
    row.update(periods=int(e["readings"]), evidence=json.dumps(evidence, ensure_ascii=False))
    return row


def _silent_row(
    e: Mapping[Hashable, Any], intervals: Mapping[str, tuple[float, str]], rules: AlarmRules
) -> dict[str, Any]:
    interval, origin = intervals[e["site_id"]]
    evidence = {
        "last_reading": _iso(e["start_time"]),
        "next_reading": _iso(e["end_time"]),
        "gap_s": float(e["gap_s"]),
        "threshold_s": float(e["threshold_s"]),
        "interval_s": interval,
        "interval_source": origin,
        "multiple": rules.silent_multiple,
        "rule_source": rules.sources.get("silent", "ecobasin default"),
    }
    row = _episode("silent", e, None, None)
    row.update(evidence=json.dumps(evidence, ensure_ascii=False))
    return row
