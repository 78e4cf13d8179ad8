"""The enterprise outlets' latest values (实时监控), as ``/api/v1/live/enterprises`` shows them.

Per outlet: the latest stored reading of each parameter, the limits in force, the latest
complete mean on each limit's basis and whether it is strictly above the limit
(:func:`ecobasin.alarms.judge_latest`), its devices and its open alarms. The caller passes
the time ``now`` at which limits of series without a mean are looked up.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd

from ecobasin.alarms import judge_latest
from ecobasin.alarms.limits import site_attributes
from ecobasin.services.cells import json_cell
from ecobasin.store import Connection, Cursor, queries
from ecobasin.store import alarms as store_alarms
from ecobasin.store import live as store_live
from ecobasin.timebase import period_end_label

__all__ = ["BASIS_LOOKBACK_HOURS", "enterprises"]

#: [h] How far before a site's last reading its basis means are looked for (a daily mean and
#: its hourly sub-periods, plus the reporting delay).
BASIS_LOOKBACK_HOURS = 50


def _cell(value: Any) -> Any:
    """A cell with NULL/NaN/NaT as None; timestamps and lists kept for the models."""
    if isinstance(value, pd.Timestamp | list):
        return value
    return json_cell(value)


def _labels(times: pd.Series, periods: pd.Series | None = None) -> list[str | None]:
    present = times.notna()
    labels = pd.Series([None] * len(times), index=times.index, dtype=object)
    if present.any():
        chosen = None if periods is None else periods[present]
        labels[present] = period_end_label(times[present], chosen).to_numpy()
    return list(labels)


def _readings(latest: pd.DataFrame, judged: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    frame = latest.merge(judged.drop(columns="unit"), on=["site_id", "parameter"], how="outer")
    frame = frame[frame["time"].notna()].reset_index(drop=True)
    frame["time_cst"] = _labels(frame["time"], frame["period"])
    frame["basis_time_cst"] = _labels(frame["basis_time"], frame["basis"])
    readings: dict[str, list[dict[str, Any]]] = {}
    for row in frame.to_dict(orient="records"):
        value = {str(k): _cell(v) for k, v in row.items()}
        value |= {"time_utc": value["time"], "limit_source": value["source"],
                  "basis_time_utc": value["basis_time"]}  # fmt: skip
        readings.setdefault(value["site_id"], []).append(value)
    return readings


def _limits(judged: pd.DataFrame) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for row in judged.sort_values(["site_id", "parameter"]).to_dict(orient="records"):
        found.setdefault(str(row["site_id"]), []).append({str(k): _cell(v) for k, v in row.items()})
    return found


def _open_alarms(where: Connection, ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    frame = store_alarms.alarms(
        where, store_alarms.AlarmFilter(sites=ids, status="open"), limit=10_000
    )
    found: dict[str, list[dict[str, Any]]] = {}
    for row in frame.to_dict(orient="records"):
        found.setdefault(str(row["site_id"]), []).append({str(k): v for k, v in row.items()})
    return found


def enterprises(
    where: Cursor,
    cities: Sequence[int] | None,
    kinds: Sequence[str],
    now: datetime,
) -> list[dict[str, Any]]:
    """Every outlet of the site ``kinds`` in the cities (all with None) with its latest picture.

    Each outlet: site_id, kind, city_code, city_zh/en, name_zh/en, simulated, source_category,
    devices (MN), last_time (UTC) and last_time_cst, over_limit, limits (rows of
    :func:`~ecobasin.alarms.judge_latest`), readings (latest value [unit] beside its limit and
    basis mean), open_alarms (rows of :func:`ecobasin.store.alarms.alarms`).
    """
    sites = queries.sites(where, cities=cities, kinds=list(kinds))
    ids = [str(site) for site in sites["site_id"]]
    latest = store_live.latest_readings(where, ids)
    recent = store_live.recent_observations(where, ids, BASIS_LOOKBACK_HOURS)
    judged = judge_latest(recent, sites, store_alarms.permit_limits(where, ids), now)
    readings, limits = _readings(latest, judged), _limits(judged)
    alarms, devices = _open_alarms(where, ids), store_live.devices(where, ids)
    last = latest.groupby("site_id")["time"].max() if not latest.empty else pd.Series()
    results = []
    for row in sites.to_dict(orient="records"):
        site = str(row["site_id"])
        attributes = site_attributes(_cell(row["attributes"]))
        last_time = _cell(last.get(site))
        mine = readings.get(site, [])
        results.append(
            {
                **{key: _cell(row[key]) for key in
                   ("kind", "city_code", "city_zh", "city_en", "name_zh", "name_en")},
                "site_id": site,
                "simulated": bool(attributes.get("simulated", False)),
                "source_category": attributes.get("source_category"),
                "devices": devices.get(site, []),
                "last_time": last_time,
                "last_time_cst": None if last_time is None else _labels(pd.Series([last_time]))[0],
                "over_limit": any(r.get("over") for r in mine),
                "limits": limits.get(site, []),
                "readings": mine,
                "open_alarms": alarms.get(site, []),
            }
        )  # fmt: skip
    return results
