"""Which emission limit applies to a site's parameter, at which time.

A site's applicable limit is its **permit override** (排污许可证: a row imported with
``ecobasin limits import``, else ``attributes.limits`` of the site), else the **standard limit**
of its source category (``attributes.source_category``; ``catalog/data/emission/limits.csv``),
else that of the category it falls back to (DB51/2311-2016 §4.3.1: pollutants its Table 1 does
not list follow GB 18918-2002 Class 1A). Standard rows apply from their ``valid_from`` day (China
Standard Time); at a given time the category's own row wins over a fallback's, and the latest
``valid_from`` wins among those. Sites without a category or permit have no limits.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from ecobasin.catalog import emission

__all__ = ["LIMIT_RULE_COLUMNS", "applicable_limits", "limits_at", "site_attributes"]

#: Columns of :func:`applicable_limits`.
LIMIT_RULE_COLUMNS = (
    "site_id",
    "parameter",
    "limit",
    "unit",
    "basis",
    "valid_from",
    "rank",
    "source",
    "standard_id",
    "clause",
    "source_category",
    "reference_o2",
    "verified",
    "permit_id",
)


def site_attributes(value: Any) -> dict[str, Any]:
    """A site's ``attributes`` (JSON text, dict or missing) as a dict."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str) and value.strip():
        parsed = json.loads(value)
        return parsed if isinstance(parsed, dict) else {}
    return {}


def _attribute_permits(sites: pd.DataFrame) -> pd.DataFrame:
    """``attributes.limits`` ({parameter: limit} or {parameter: {"limit": x, "basis": b}})."""
    rows = []
    for site, raw in zip(sites["site_id"], sites["attributes"], strict=True):
        for parameter, given in (site_attributes(raw).get("limits") or {}).items():
            spec = given if isinstance(given, dict) else {"limit": given}
            rows.append(
                {
                    "site_id": site,
                    "parameter": parameter,
                    "limit": float(spec["limit"]),
                    "basis": str(spec.get("basis", "")),
                    "permit_id": str(spec.get("permit_id", "")),
                }
            )
    return pd.DataFrame(rows, columns=["site_id", "parameter", "limit", "basis", "permit_id"])


def _category_chain(category: str, categories: pd.DataFrame) -> list[str]:
    chain: list[str] = []
    while category and category in categories.index and category not in chain:
        chain.append(category)
        category = str(categories.loc[category, "falls_back_to"])
    return chain


def _standard_rows(sites: pd.DataFrame, limits: pd.DataFrame) -> pd.DataFrame:
    categories = emission.source_categories()
    pairs = []
    for site, raw in zip(sites["site_id"], sites["attributes"], strict=True):
        category = str(site_attributes(raw).get("source_category") or "")
        for rank, member in enumerate(_category_chain(category, categories)):
            pairs.append((site, member, rank))
    chains = pd.DataFrame(pairs, columns=["site_id", "source_category", "rank"])
    rows = chains.merge(limits, on="source_category")
    rows["source"] = "standard"
    rows["permit_id"] = ""
    return rows


def applicable_limits(
    sites: pd.DataFrame,
    permits: pd.DataFrame | None = None,
    *,
    limits: pd.DataFrame | None = None,
    rules: emission.AlarmRules | None = None,
) -> pd.DataFrame:
    """Every limit rule that can apply to the sites' parameters.

    Parameters
    ----------
    sites : pandas.DataFrame
        site_id and attributes (JSON text or dict: ``source_category``, ``limits``).
    permits : pandas.DataFrame, optional
        Imported permit limits: site_id, parameter, limit [canonical unit], basis ('' = the
        standard's or the domain default), permit_id. They win over ``attributes.limits``.
    limits : pandas.DataFrame, optional
        Standard limits (default :func:`ecobasin.catalog.emission.emission_limits`).
    rules : AlarmRules, optional
        For the default basis per domain (default the bundled rules).

    Returns
    -------
    pandas.DataFrame
        Columns ``LIMIT_RULE_COLUMNS``. ``rank`` −1 = permit (always applies, ``valid_from``
        NaT), 0 = the site's own category, 1… = fallback categories; ``source`` is ``permit``,
        ``site_attributes`` or ``standard``.
    """
    rules = rules or emission.alarm_rules()
    standard = _standard_rows(sites, emission.emission_limits() if limits is None else limits)
    imported = _frame_or_empty(permits).assign(source="permit")
    attributed = _attribute_permits(sites).assign(source="site_attributes")
    attributed = attributed[
        ~attributed.set_index(["site_id", "parameter"]).index.isin(
            imported.set_index(["site_id", "parameter"]).index
        )
    ]
    overrides = pd.concat([imported, attributed], ignore_index=True)
    overrides = _complete_overrides(overrides, standard, rules)
    frame = pd.concat([overrides, standard], ignore_index=True)
    if frame.empty:
        return pd.DataFrame(columns=list(LIMIT_RULE_COLUMNS))
    frame["valid_from"] = pd.to_datetime(frame["valid_from"])
    return frame[list(LIMIT_RULE_COLUMNS)].reset_index(drop=True)


def _frame_or_empty(permits: pd.DataFrame | None) -> pd.DataFrame:
    columns = ["site_id", "parameter", "limit", "basis", "permit_id"]
    if permits is None or permits.empty:
        return pd.DataFrame(columns=columns)
    return permits[columns].copy()


def _complete_overrides(
    overrides: pd.DataFrame, standard: pd.DataFrame, rules: emission.AlarmRules
) -> pd.DataFrame:
    """Unit and basis of permit rows: the canonical unit; the given basis, else the standard's
    basis for that site and parameter, else the domain default."""
    if overrides.empty:
        return overrides.assign(
            unit="", valid_from=None, rank=-1, standard_id="", clause="",
            source_category="", reference_o2=np.nan, verified=True,
        )  # fmt: skip
    known = standard.drop_duplicates(["site_id", "parameter"]).set_index(["site_id", "parameter"])
    units, bases, o2 = [], [], []
    for site, parameter, basis in zip(
        overrides["site_id"], overrides["parameter"], overrides["basis"], strict=True
    ):
        domain, unit = emission.limit_parameter(parameter)
        units.append(unit)
        found = (site, parameter) in known.index
        bases.append(basis or (known.loc[(site, parameter), "basis"] if found else "")
                     or rules.default_basis.get(domain, "1h"))  # fmt: skip
        o2.append(known.loc[(site, parameter), "reference_o2"] if found else np.nan)
    return overrides.assign(
        unit=units, basis=bases, reference_o2=o2, valid_from=None, rank=-1,
        standard_id="", clause="", source_category="", verified=True,
    )  # fmt: skip


def limits_at(values: pd.DataFrame, rules: pd.DataFrame) -> pd.DataFrame:
    """The limit in force for each value: ``values`` (site_id, parameter, basis, time = end of
    the basis period, UTC) joined with its rule from :func:`applicable_limits`.

    A standard row is in force when its ``valid_from`` day (CST) is on or before the CST day the
    period starts in; among rules in force the lowest rank wins (permit, own category,
    fallback), then the latest ``valid_from``. Values without a rule in force are dropped.
    """
    rule_columns = [c for c in LIMIT_RULE_COLUMNS if c != "basis"]
    if values.empty or rules.empty:
        extra = [c for c in rule_columns if c not in values.columns]
        return pd.DataFrame(columns=[*values.columns, *extra])
    joined = values.reset_index(drop=True).reset_index(names="_row")
    joined = joined.merge(rules[rule_columns], on=["site_id", "parameter"])
    start = joined["time"] - pd.to_timedelta(joined["basis"].map(_BASIS_LENGTH))
    day = (start.dt.tz_convert("Asia/Shanghai").dt.tz_localize(None)).dt.normalize()
    in_force = joined["valid_from"].isna() | (joined["valid_from"] <= day)
    joined = joined[in_force].sort_values(
        ["_row", "rank", "valid_from"], ascending=[True, True, False], na_position="first"
    )
    chosen = joined.drop_duplicates("_row").sort_values("_row")
    return chosen.drop(columns="_row").reset_index(drop=True)


_BASIS_LENGTH = {"1h": "1h", "1d": "1D"}
