"""SQL of the "AQI pending" marks (migration 14): station-days whose observations were stored
but whose AQI may not be computed yet.

An import writes the marks in the same transaction as the observations, so they survive a
``kill -9`` exactly when the observations do; the AQI refresh
(:func:`ecobasin.jobs.air_quality.refresh_pending_air_quality`) reads them and deletes the ones
it computed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import pandas as pd

from ecobasin.store.database import Store

__all__ = ["clear_aqi_pending", "count_aqi_pending", "mark_aqi_pending", "pending_aqi_site_days"]


def mark_aqi_pending(store: Store, site_days: Iterable[tuple[str, date]]) -> int:
    """Mark the (site_id, CST day) pairs of air stations as pending; returns how many were
    given.

    Only air stations get an AQI (HJ 633-2012 §5), so the pairs of other sites (water
    sections, outlets) imported in the same run are not marked: there is nothing to compute.
    """
    frame = pd.DataFrame(sorted(set(site_days)), columns=["site_id", "day"])
    if frame.empty:
        return 0
    with store.transaction(), store._registered(pending_in=frame):
        store.con.execute(
            "INSERT OR IGNORE INTO aqi_pending SELECT p.site_id, CAST(p.day AS DATE) "
            "FROM pending_in p JOIN sites s ON s.site_id = p.site_id "
            "WHERE s.kind = 'air_station'"
        )
    return len(frame)


def pending_aqi_site_days(store: Store) -> pd.DataFrame:
    """The pending marks as ``site_id`` and ``day`` (CST calendar day), sorted."""
    frame: pd.DataFrame = store.con.sql(
        "SELECT site_id, day FROM aqi_pending ORDER BY site_id, day"
    ).df()
    frame["day"] = pd.to_datetime(frame["day"]).dt.date
    return frame


def clear_aqi_pending(store: Store, site_days: pd.DataFrame) -> None:
    """Delete the given marks (the AQI of those station-days was just computed)."""
    if site_days.empty:
        return
    frame = site_days[["site_id", "day"]].copy()
    with store.transaction(), store._registered(done_in=frame):
        store.con.execute(
            "DELETE FROM aqi_pending p USING done_in d "
            "WHERE p.site_id = d.site_id AND p.day = CAST(d.day AS DATE)"
        )


def count_aqi_pending(store: Store) -> int:
    """How many station-days are marked pending."""
    rows = store.con.execute("SELECT count(*) FROM aqi_pending").fetchall()
    return int(rows[0][0])
