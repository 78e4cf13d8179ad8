"""The latest over-limit picture of enterprise outlets (实时监控), decided without I/O.

The limit in force is :func:`~ecobasin.alarms.limits_at` of the site's rules (permit, else its
source category's standard, ``catalog/data/emission/limits.csv``); the value judged is the latest
complete mean on the limit's basis (:func:`~ecobasin.alarms.basis_values`: the stored hourly /
daily value, else the mean of valid sub-period readings covering at least 75 % of the period,
HJ 212-2017 表C.16-C.18 notes); over = strictly above the limit.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from ecobasin.alarms.engine import basis_values
from ecobasin.alarms.limits import applicable_limits, limits_at

__all__ = ["JUDGED_COLUMNS", "judge_latest"]

#: Columns of :func:`judge_latest`'s table.
JUDGED_COLUMNS = ["site_id", "parameter", "limit", "unit", "basis", "source", "standard_id",
                  "clause", "basis_value", "basis_time", "over"]  # fmt: skip


def judge_latest(
    observations: pd.DataFrame, sites: pd.DataFrame, permits: pd.DataFrame, now: datetime
) -> pd.DataFrame:
    """The limit in force and the latest basis mean of each limited series of the sites.

    Parameters
    ----------
    observations : pandas.DataFrame
        site_id, parameter, period, time (UTC, end of period), value, flag.
    sites : pandas.DataFrame
        site_id, attributes (``source_category``, ``limits``).
    permits : pandas.DataFrame
        Imported permit limits (:func:`ecobasin.store.alarms.permit_limits`).
    now : datetime
        Time at which the limit of a series without a mean is looked up.

    Returns
    -------
    pandas.DataFrame
        site_id, parameter, limit [unit], unit, basis, source, standard_id, clause, basis_value,
        basis_time (end of the period, UTC; NaT without a mean), over (bool, or None).
    """
    columns = JUDGED_COLUMNS
    rules = applicable_limits(sites, permits)
    if rules.empty:
        return pd.DataFrame(columns=columns)
    series = rules[["site_id", "parameter", "basis"]].drop_duplicates()
    at_now = limits_at(series.assign(time=pd.Timestamp(now)), rules)
    at_now = at_now.sort_values("rank").drop_duplicates(["site_id", "parameter"])
    means = basis_values(observations, at_now[["site_id", "parameter", "basis"]])
    latest = means.sort_values("time").drop_duplicates(["site_id", "parameter"], keep="last")
    judged = limits_at(latest[["site_id", "parameter", "basis", "time", "value"]], rules)
    judged = judged.assign(over=judged["value"] > judged["limit"])
    frame = at_now.merge(
        judged[["site_id", "parameter", "time", "value", "limit", "source", "standard_id",
                "clause", "over"]],
        on=["site_id", "parameter"], how="left", suffixes=("", "_judged"),
    )  # fmt: skip
    # a mean is judged by the limit in force for its own period
    has_mean = frame["value"].notna()
    for key in ("limit", "source", "standard_id", "clause"):
        frame[key] = frame[key].where(~has_mean, frame[f"{key}_judged"])
    frame = frame.rename(columns={"value": "basis_value", "time_judged": "basis_time"})
    frame["over"] = frame["over"].astype(object).where(has_mean, None)
    return frame[columns].reset_index(drop=True)
