"""Keep the stored surface-water results up to date: sections, rivers, basins, cities, money.

Shell around the pure engine :mod:`ecobasin.standards.water`: observations of water sections
are read through :mod:`ecobasin.store.water`, evaluated with the engine, and written back
(migration 6). For every CST year that received data it recomputes, per month and for the year:

* **period means** per section and item (环办〔2011〕22号 §一(二), ``period_means``): manual samples
  (period ``sample``) and automatic-station values (``4h``/``1h``, validity thresholds of
  ``evaluation.toml``); an item with a valid automatic mean uses it, otherwise the manual mean
  (ecobasin's reading of the national practice since 2021 that automatic data are assessed
  where a station measures the item [assume]); non-detects (flag ``L``) enter as ½ DL;
* **section results**: class by the single-factor method, status and colour, determining items,
  main pollutants, CWQI, TLI(Σ) for lakes and reservoirs, TN and fecal-coliform classes,
  whether the target class is met;
* **rivers, basins, the region**: mean method below 5 sections, class shares from 5
  (``river_record``), plus the shares of Class I–II and of sections meeting their target;
* **cities**: shares and the city CWQI of all the city's sections (rivers M, lakes N) with the
  ranking (环办监测〔2017〕51号);
* **compensation**: every boundary section (``upstream_city`` and ``downstream_city``) per month
  by the agreement (default ``ecobasin-default``), and the settlements per month and year.

Idempotent: a year is always recomputed whole and replaced in one transaction.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from ecobasin.standards import water
from ecobasin.store import Store
from ecobasin.store import water as store_water

__all__ = [
    "compensation_table",
    "group_table",
    "period_item_means",
    "refresh_water_quality",
    "section_table",
    "years_touched",
]

Progress = Callable[[int, int], None]
TABLE_ITEMS: tuple[str, ...] = (*water.EVALUATED_ITEMS, "TN", "FC")
TLI_ITEMS = ("Chla", "TP", "TN", "SD", "CODMn")


# -------------------------------------------------------------------------------------------
# period means
# -------------------------------------------------------------------------------------------


def _long(obs: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site_id": obs["site_id"].astype(str).to_numpy(),
            "time": obs["time"].to_numpy(),
            "item": obs["parameter"].astype(str).to_numpy(),
            "value": obs["value"].to_numpy(dtype=np.float64),
            "nondetect": (obs["flag"] == "L").to_numpy(dtype=bool),
        }
    ).assign(time=lambda f: pd.to_datetime(f["time"], utc=True))


def period_item_means(obs: pd.DataFrame, period: str) -> pd.DataFrame:
    """Period means per section and item, the automatic mean preferred where valid.

    Parameters
    ----------
    obs : pandas.DataFrame
        As :func:`ecobasin.store.water.water_observations` returns (values [mg/L]).
    period : {"month", "year"}

    Returns
    -------
    pandas.DataFrame
        ``site_id``, ``period`` (``2025-10`` / ``2025``), ``item``, ``mean`` (unrounded),
        ``n``, ``complete``, ``source`` (``"auto"`` or ``"manual"``); only valid means.

    References
    ----------
    .. [1] 环办〔2011〕22号 §一(二) (data statistics); ``evaluation.toml`` (automatic validity).
    """
    parts = []
    manual = obs["period"] == store_water.MANUAL_PERIOD
    for kind, rows in (("manual", obs[manual]), ("auto", obs[~manual])):
        if rows.empty:
            continue
        means = water.period_means(_long(rows), period, source_kind=kind)
        parts.append(means[means["valid"]].assign(source=kind))
    columns = ["site_id", "period", "item", "mean", "n", "complete", "source"]
    if not parts:
        return pd.DataFrame(columns=columns)
    both = pd.concat(parts, ignore_index=True)
    both["rank"] = (both["source"] == "manual").astype(int)  # auto first
    best = both.sort_values(["site_id", "period", "item", "rank"], kind="stable")
    best = best.drop_duplicates(["site_id", "period", "item"], keep="first")
    return best[columns].reset_index(drop=True)


# -------------------------------------------------------------------------------------------
# sections
# -------------------------------------------------------------------------------------------


def _wide(means: pd.DataFrame) -> pd.DataFrame:
    return means.pivot_table(index=["site_id", "period"], columns="item", values="mean")


def _target(value: Any) -> int | None:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value == "":
        return None
    return water.class_number(value)


def section_table(means: pd.DataFrame, sections: pd.DataFrame, period_kind: str) -> pd.DataFrame:
    """Section results of every (section, period) with means, as rows of
    ``water_section_results`` (JSON columns as dicts/lists).

    Parameters
    ----------
    means : pandas.DataFrame
        Output of :func:`period_item_means`.
    sections : pandas.DataFrame
        :func:`ecobasin.store.water.water_sections` (``site_id``, ``water_body``,
        ``target_class``).

    References
    ----------
    .. [1] GB 3838-2002 Table 1; 环办〔2011〕22号 §二(一); 环办监测〔2017〕51号; 办法 附件 (TLI).
    """
    if means.empty:
        return pd.DataFrame()
    wide = _wide(means)
    info = sections.set_index("site_id").reindex(wide.index.get_level_values("site_id"))
    water_body = [water.normalise_water_body(w) for w in info["water_body"].fillna("river")]
    items = [c for c in wide.columns if c in TABLE_ITEMS]
    conc = wide[items]
    evaluated = [c for c in items if c in water.EVALUATED_ITEMS]
    classes = water.classify(conc, water_body)
    picks = water.main_pollutants(conc[evaluated], water_body) if evaluated else None
    cwqi = water.cwqi_section(conc[evaluated], water_body) if evaluated else None
    targets = [_target(t) for t in info["target_class"]]
    source = means.pivot_table(
        index=["site_id", "period"], columns="item", values="source", aggfunc="first"
    ).reindex(wide.index)
    complete = means.groupby(["site_id", "period"])["complete"].all().reindex(wide.index)
    rows = []
    for i, (site_id, period) in enumerate(wide.index):
        cls = int(classes["class_num"].iloc[i])
        target = targets[i]
        row_means = {str(k): float(v) for k, v in wide.iloc[i].items() if pd.notna(v)}
        display = water.display_pollutants(picks.iloc[i]) if picks is not None else []
        rows.append(
            {
                "site_id": site_id,
                "period": period,
                "period_kind": period_kind,
                "water_body": water_body[i],
                "target_class": targets[i],
                "class_num": cls,
                "class": classes["class"].iloc[i] or None,
                "status_num": int(classes["status_num"].iloc[i]) or None,
                "meets_target": None if target is None or cls == 0 else cls <= target,
                "determining": ",".join(classes["determining"].iloc[i]),
                "main_pollutants": picks.iloc[i] if picks is not None else [],
                "main_display": ",".join(display),
                "cwqi": _num(cwqi.iloc[i]) if cwqi is not None else None,
                "tli": _tli(row_means) if water_body[i] == "lake" else None,
                "tn_class": _apart(classes, "TN_class", i),
                "fc_class": _apart(classes, "FC_class", i),
                "means": row_means,
                "sources": {k: str(v) for k, v in source.iloc[i].items() if pd.notna(v)},
                "n_items": int(classes["n_items"].iloc[i]),
                "complete": bool(complete.iloc[i]),
            }
        )
    return pd.DataFrame(rows)


def _count(frame: pd.DataFrame, row: Any, column: str) -> int:
    value: Any = frame.at[row, column]
    return int(value)


def _num(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _apart(classes: pd.DataFrame, column: str, i: int) -> int | None:
    if column not in classes.columns:
        return None
    value = int(classes[column].iloc[i])
    return value or None


def _tli(means: dict[str, float]) -> float | None:
    """TLI(Σ) over the trophic items measured (办法 附件), None without Chl-a."""
    if "Chla" not in means:
        return None
    given = {k.lower() if k != "Chla" else "chla": means[k] for k in TLI_ITEMS if k in means}
    frame = water.tli(**given)
    return _num(frame["TLI"].iloc[0])


# -------------------------------------------------------------------------------------------
# rivers, basins, cities, region
# -------------------------------------------------------------------------------------------


def _shares(rows: pd.DataFrame) -> dict[str, float | None]:
    cls = rows["class_num"].to_numpy()
    n = len(rows)
    target = rows["meets_target"].dropna()
    return {
        "share_I_II": 100.0 * int((cls <= 2).sum()) / n,
        "share_target": 100.0 * int(target.sum()) / len(target) if len(target) else None,
    }


def _group_row(
    scope: str, scope_id: str, period: str, kind: str, rows: pd.DataFrame, conc: pd.DataFrame
) -> dict[str, Any]:
    record = water.river_record(conc, list(rows["water_body"]))
    shares = record["method"] == "shares"
    detail: dict[str, Any] = {"sections": list(rows["site_id"])}
    good: float | None
    worst: float | None
    if shares:
        detail.update(counts=record["counts"], exceedance_rate_pct=record["exceedance_rate_pct"])
        good = 100.0 * int((rows["class_num"] <= 3).sum()) / len(rows)
        worst = 100.0 * int((rows["class_num"] == 6).sum()) / len(rows)
    else:
        detail["mean_concentrations"] = record["mean_concentrations"]
        good = worst = None
    return {
        "scope": scope,
        "scope_id": scope_id,
        "period": period,
        "period_kind": kind,
        "n_sections": len(rows),
        "method": record["method"],
        "class_num": record.get("class_num"),
        "share_I_III": good,
        "share_worse_V": worst,
        "status_num": record["status_num"]
        if shares
        else int(water.STATUS_BY_CLASS[record["class_num"]]),
        "main_pollutants": record["main_pollutants"],
        "cwqi": _num(rows["cwqi"].mean()),
        "cwqi_rank": None,
        "detail": detail,
        **_shares(rows),
    }


def group_table(
    results: pd.DataFrame, sections: pd.DataFrame, region_id: str, period_kind: str
) -> pd.DataFrame:
    """River, basin, region and city rows of ``water_group_results`` from section results.

    Rivers, basins and the region follow 环办〔2011〕22号 §二(二) (mean method below 5
    sections, class shares from 5) on the sections' period means; cities get the share of each
    class and the city CWQI with its rank (环办监测〔2017〕51号).
    """
    if results.empty:
        return pd.DataFrame()
    evaluated = results[results["class_num"] > 0]
    info = sections.set_index("site_id")
    out: list[dict[str, Any]] = []
    for period, rows in evaluated.groupby("period", sort=True):
        rows = rows.reset_index(drop=True)
        conc = pd.DataFrame(list(rows["means"]))
        conc = conc[[c for c in conc.columns if c in water.EVALUATED_ITEMS]]
        river = info.loc[rows["site_id"], "river_zh"].fillna("").to_numpy()
        basin = info.loc[rows["site_id"], "basin_zh"].fillna("").to_numpy()
        for scope, keys in (("river", river), ("basin", basin)):
            for key in sorted(set(keys) - {""}):
                mask = keys == key
                out.append(_group_row(scope, key, str(period), period_kind, rows[mask], conc[mask]))
        out.append(_group_row("region", region_id, str(period), period_kind, rows, conc))
        out.extend(_city_rows(rows, info, str(period), period_kind))
    return pd.DataFrame(out)


def _city_rows(
    rows: pd.DataFrame, info: pd.DataFrame, period: str, kind: str
) -> list[dict[str, Any]]:
    frame = rows.assign(city=info.loc[rows["site_id"], "city_code"].astype(int).to_numpy())
    scored = frame.dropna(subset=["cwqi"])
    city = water.cwqi_city(scored, by="city", value="cwqi", water_body="water_body")
    ranking = water.cwqi_ranking(city["CWQI_city"].rename(lambda c: str(c)))
    rank = dict(zip(ranking["name"], ranking["rank"], strict=True))
    out = []
    for code, part in frame.groupby("city", sort=True):
        shares = water.class_shares(part["class_num"].to_numpy())
        n = len(part)
        c = city.loc[code] if code in city.index else None
        out.append(
            {
                "scope": "city",
                "scope_id": str(code),
                "period": period,
                "period_kind": kind,
                "n_sections": n,
                "method": None,
                "class_num": None,
                "share_I_III": 100.0 * int((part["class_num"] <= 3).sum()) / n,
                "share_worse_V": 100.0 * int((part["class_num"] == 6).sum()) / n,
                "status_num": None,
                "main_pollutants": None,
                "cwqi": None if c is None else _num(c["CWQI_city"]),
                "cwqi_rank": rank.get(str(code)),
                "detail": {
                    "sections": list(part["site_id"]),
                    "counts": shares["counts"],
                    "CWQI_river": None if c is None else _num(c["CWQI_river"]),
                    "M": None if c is None else _count(city, code, "M"),
                    "CWQI_lake": None if c is None else _num(c["CWQI_lake"]),
                    "N": None if c is None else _count(city, code, "N"),
                },
                **_shares(part),
            }
        )
    return out


# -------------------------------------------------------------------------------------------
# compensation
# -------------------------------------------------------------------------------------------


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


# -------------------------------------------------------------------------------------------
# the job
# -------------------------------------------------------------------------------------------


def years_touched(touched: pd.DataFrame | None, water_sites: Iterable[str]) -> set[int] | None:
    """CST years a set of touched (site, day) pairs makes stale; None = every year."""
    if touched is None:
        return None
    sites = set(water_sites)
    rows = touched[touched["site_id"].astype(str).isin(sites)]
    days = pd.to_datetime(rows["day"])
    # a value at 00:00 CST closes the day before (hour-ending days): take the next day too
    return {int(y) for y in days.dt.year} | {int(y) for y in (days + pd.Timedelta(days=1)).dt.year}


def compute_year(
    obs: pd.DataFrame,
    sections: pd.DataFrame,
    region_id: str,
    agreement: water.Agreement | None = None,
) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Every result table of one year from its observations (pure)."""
    sections_rows = []
    groups = []
    for kind in ("month", "year"):
        means = period_item_means(obs, kind)
        table = section_table(means, sections, kind)
        sections_rows.append(table)
        groups.append(group_table(table, sections, region_id, kind))
    if all(t.empty for t in sections_rows):
        return {}, []
    section_all = pd.concat([t for t in sections_rows if not t.empty], ignore_index=True)
    compensation, skipped = compensation_table(section_all, sections, agreement)
    return {
        "water_section_results": section_all,
        "water_group_results": pd.concat([g for g in groups if not g.empty], ignore_index=True),
        "water_compensation": compensation,
        "water_settlements": settlement_table(compensation),
    }, skipped


def refresh_water_quality(
    store: Store,
    touched: pd.DataFrame | None = None,
    *,
    region_id: str = "region",
    agreement: water.Agreement | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Recompute the water results of the years an import touched (all years by default).

    Parameters
    ----------
    store : Store
    touched : pandas.DataFrame, optional
        ``site_id`` and ``day`` (:meth:`ImportReport.touched_frame`); None recomputes every
        year holding water observations.
    region_id : str
        ``scope_id`` of the region row.
    agreement : Agreement, optional
        Compensation rule set stored (default ``ecobasin-default``).

    Returns
    -------
    dict
        ``years``, ``sections``, ``section_rows``, ``group_rows``, ``compensation_rows``,
        ``settlement_rows``, ``skipped`` (compensation months without a factor), ``seconds``.
    """
    started = _time.perf_counter()
    sections = store_water.water_sections(store)
    years = years_touched(touched, sections["site_id"])
    if years is None:
        years = set(store_water.water_years(store))
    counts = dict.fromkeys(
        ("section_rows", "group_rows", "compensation_rows", "settlement_rows"), 0
    )
    skipped: list[str] = []
    for done, year in enumerate(sorted(years), 1):
        start = datetime(year - 1, 12, 31, 16, 0, tzinfo=UTC)  # 00:00 CST on 1 January
        end = datetime(year, 12, 31, 15, 59, 59, tzinfo=UTC)
        obs = store_water.water_observations(store, start=start, end=end)
        results, lost = compute_year(obs, sections, region_id, agreement)
        store_water.replace_year(store, year, results)
        skipped += lost
        for key, table in zip(counts, store_water.RESULT_TABLES, strict=True):
            counts[key] += len(results.get(table, ()))
        if progress:
            progress(done, len(years))
    return {
        "years": sorted(years),
        "sections": len(sections),
        **counts,
        "skipped": skipped,
        "seconds": _time.perf_counter() - started,
    }
