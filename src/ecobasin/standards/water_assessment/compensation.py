"""Cross-boundary compensation rows and settlements of section results.

Every boundary section (``upstream_city`` and ``downstream_city``) per month by the agreement
(default ``ecobasin-default``, :func:`ecobasin.standards.water.compensate`), and the
settlements per month and year.
"""

from __future__ import annotations

import pandas as pd

from ecobasin.standards import water
from ecobasin.standards.water_assessment.sections import _target

__all__ = ["compensation_table", "settlement_table"]


def compensation_table(
    results: pd.DataFrame, sections: pd.DataFrame, agreement: water.Agreement | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Monthly compensation rows of the boundary sections (rows of ``water_compensation``).

    Parameters
    ----------
    results : pandas.DataFrame
        Monthly section results (``site_id``, ``period``, ``means``).
    sections : pandas.DataFrame
        Sections; those with both ``upstream_city`` and ``downstream_city`` are assessed.
    agreement : Agreement, optional
        Default: the packaged ``ecobasin-default``.

    Returns
    -------
    rows : pandas.DataFrame
    skipped : list of str
        ``site period: reason`` for boundary sections whose month lacks a factor.

    References
    ----------
    .. [1] ``ecobasin.standards.water_compensation`` (Sichuan 2011 and 2016 schemes).
    """
    ag = agreement or water.agreement("default")
    info = sections.set_index("site_id")
    boundary = info[info["upstream_city"].notna() & info["downstream_city"].notna()]
    monthly = results[(results["period_kind"] == "month") & results["site_id"].isin(boundary.index)]
    skipped: list[str] = []
    records = []
    for row in monthly.to_dict("records"):
        means: dict[str, float] = dict(row["means"])
        lacking = [f for f in ag.factors if f not in means]
        if lacking:
            skipped.append(f"{row['site_id']} {row['period']}: no {', '.join(lacking)} mean")
            continue
        s = boundary.loc[row["site_id"]]
        target = s["target_class"]
        if _target(target) is None:
            skipped.append(f"{row['site_id']} {row['period']}: no target class")
            continue
        records.append(
            {
                "section_id": row["site_id"],
                "period": row["period"],
                "upstream": str(int(s["upstream_city"])),
                "downstream": str(int(s["downstream_city"])),
                "target_class": target,
                "water_body": row["water_body"],
                **{k: v for k, v in means.items() if k in water.EVALUATED_ITEMS},
            }
        )
    if not records:
        return pd.DataFrame(), skipped
    frame = pd.DataFrame(records)
    paid = water.compensate(frame, ag)
    inputs = [
        {
            f: {
                "value": float(r[f"{f}_value"]),
                "limit": float(r[f"{f}_limit"]),
                "multiple": float(r[f"{f}_multiple"]),
            }
            for f in ag.factors
        }
        for r in paid.to_dict(orient="records")
    ]
    rows = pd.DataFrame(
        {
            "site_id": paid["section_id"],
            "period": paid["period"],
            "upstream_city": paid["upstream"].astype(int),
            "downstream_city": paid["downstream"].astype(int),
            "target_class": paid["target_class"],
            "section_class": paid["section_class"],
            "classes_better": paid["classes_better"].astype(int),
            "deduction_cny": paid["deduction_cny"].astype(float),
            "award_cny": paid["award_cny"].astype(float),
            "payer": paid["payer"],
            "payee": paid["payee"],
            "amount_cny": paid["amount_cny"].astype(float),
            "inputs": inputs,
            "rule_set": paid["rule_set"],
            "rule_set_version": paid["rule_set_version"],
            "method": paid["method"],
        }
    )
    return rows, skipped


def settlement_table(compensation: pd.DataFrame) -> pd.DataFrame:
    """Monthly and annual settlements (rows of ``water_settlements``) of compensation rows."""
    if compensation.empty:
        return pd.DataFrame()
    engine_rows = compensation.rename(columns={"site_id": "section_id"})
    parts = []
    for freq in ("month", "year"):
        table = water.settlement(engine_rows, freq)
        if not table.empty:
            parts.append(table.assign(period_kind=freq))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
