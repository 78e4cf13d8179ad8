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
import numpy.typing as npt
import pandas as pd

from ecobasin.standards import water
from ecobasin.standards.rounding import round_gbt8170
from ecobasin.store import Store
from ecobasin.store import water as store_water

__all__ = [
    "compensation_table",
    "group_table",
    "period_item_means",
    "period_item_means_by_kind",
    "refresh_water_quality",
    "section_table",
    "years_touched",
]

Progress = Callable[[int, int], None]
TABLE_ITEMS: tuple[str, ...] = (*water.EVALUATED_ITEMS, "TN", "FC")
TLI_ITEMS = ("Chla", "TP", "TN", "SD", "CODMn")
#: Columns of a ``water_group_results`` row, in the table's order.
GROUP_COLUMNS = (
    "scope", "scope_id", "period", "period_kind", "n_sections", "method", "class_num",
    "share_I_III", "share_worse_V", "status_num", "main_pollutants", "cwqi", "cwqi_rank",
    "detail", "share_I_II", "share_target",
)  # fmt: skip


# -------------------------------------------------------------------------------------------
# period means
# -------------------------------------------------------------------------------------------


def _long(obs: pd.DataFrame) -> pd.DataFrame:
    # the instants stay a tz-aware column (to_numpy would make 10^5 Timestamp objects)
    return pd.DataFrame(
        {
            "site_id": obs["site_id"].astype(str).to_numpy(),
            "time": pd.to_datetime(obs["time"], utc=True).reset_index(drop=True),
            "item": obs["parameter"].astype(str).to_numpy(),
            "value": obs["value"].to_numpy(dtype=np.float64),
            "nondetect": (obs["flag"] == "L").to_numpy(dtype=bool),
        }
    )


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
    return _best_means(_by_source(obs), period)


def period_item_means_by_kind(
    obs: pd.DataFrame, kinds: tuple[str, ...] = ("month", "year")
) -> dict[str, pd.DataFrame]:
    """:func:`period_item_means` of several period kinds, the observations prepared once."""
    by_source = _by_source(obs)
    return {kind: _best_means(by_source, kind) for kind in kinds}


def _by_source(obs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The observations in the engine's long layout, manual and automatic apart."""
    manual = obs["period"] == store_water.MANUAL_PERIOD
    parts = {"manual": obs[manual], "auto": obs[~manual]}
    return {kind: _long(rows) for kind, rows in parts.items() if not rows.empty}


def _best_means(by_source: dict[str, pd.DataFrame], period: str) -> pd.DataFrame:
    parts = []
    for kind, rows in by_source.items():
        means = water.period_means(rows, period, source_kind=kind)
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
    # plain Python lists: a loop over pandas rows (iloc) costs more than the engine itself
    cls = classes["class_num"].astype(int).tolist()
    status = classes["status_num"].astype(int).tolist()
    labels = classes["class"].tolist()
    determining: list[list[str]] = classes["determining"].tolist()
    n_items = classes["n_items"].astype(int).tolist()
    whole = complete.tolist()
    tn, fc = (_apart_list(classes, f"{k}_class") for k in ("TN", "FC"))
    all_means = _non_missing(wide)
    all_sources = _non_missing(source)
    cwqis = [None] * len(wide) if cwqi is None else [_num(v) for v in cwqi.tolist()]
    pick_lists = [[] for _ in range(len(wide))] if picks is None else picks.tolist()
    rows = []
    for i, (site_id, period) in enumerate(wide.index):
        target = targets[i]
        row_means = all_means[i]
        rows.append(
            {
                "site_id": site_id,
                "period": period,
                "period_kind": period_kind,
                "water_body": water_body[i],
                "target_class": target,
                "class_num": cls[i],
                "class": labels[i] or None,
                "status_num": status[i] or None,
                "meets_target": None if target is None or cls[i] == 0 else cls[i] <= target,
                "determining": ",".join(determining[i]),
                "main_pollutants": pick_lists[i],
                "main_display": ",".join(water.display_pollutants(pick_lists[i])),
                "cwqi": cwqis[i],
                "tli": _tli(row_means) if water_body[i] == "lake" else None,
                "tn_class": tn[i],
                "fc_class": fc[i],
                "means": row_means,
                "sources": {k: str(v) for k, v in all_sources[i].items()},
                "n_items": n_items[i],
                "complete": bool(whole[i]),
            }
        )
    return pd.DataFrame(rows)


def _non_missing(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Each row as a dict of its non-missing cells, in column order."""
    columns = [str(c) for c in frame.columns]
    values = frame.to_numpy(dtype=object)
    missing = frame.isna().to_numpy()
    return [
        {c: _plain_cell(v) for c, v, gone in zip(columns, row, lost, strict=True) if not gone}
        for row, lost in zip(values, missing, strict=True)
    ]


def _plain_cell(value: Any) -> Any:
    return float(value) if isinstance(value, float | np.floating) else value


def _apart_list(classes: pd.DataFrame, column: str) -> list[int | None]:
    if column not in classes.columns:
        return [None] * len(classes)
    return [int(v) or None for v in classes[column].tolist()]


def _num(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


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


def _group_conc(evaluated: pd.DataFrame) -> pd.DataFrame:
    """Period means of the 21 evaluated items per section row [mg/L], in Table 1 order."""
    conc = pd.DataFrame(list(evaluated["means"]), index=evaluated.index)
    return conc[[c for c in water.EVALUATED_ITEMS if c in conc.columns]].astype(np.float64)


def _memberships(evaluated: pd.DataFrame, info: pd.DataFrame, region_id: str) -> pd.DataFrame:
    """One row per group and section row: ``period``, ``scope``, ``scope_id``, ``row`` (the
    position in ``evaluated``) and ``group`` (one id per period, scope and scope id)."""
    sites = evaluated["site_id"]
    n = len(evaluated)
    scopes = (
        ("river", info.loc[sites, "river_zh"].fillna("").astype(str).to_numpy()),
        ("basin", info.loc[sites, "basin_zh"].fillna("").astype(str).to_numpy()),
        ("region", np.full(n, region_id, dtype=object)),
    )
    period = evaluated["period"].astype(str).to_numpy()
    members = pd.concat(
        [
            pd.DataFrame({"period": period, "scope": s, "scope_id": ids, "row": np.arange(n)})
            for s, ids in scopes
        ],
        ignore_index=True,
    )
    members = members[members["scope_id"] != ""].reset_index(drop=True)
    members["group"] = members.groupby(["period", "scope", "scope_id"], sort=False).ngroup()
    return members


def _exceedance_rates(classes: pd.DataFrame, group: pd.Series) -> pd.DataFrame:
    """断面超标率 [%] per group (rows) and item (columns), unrounded: sections worse than
    Class III / all the group's sections, as ``water.exceedance_rates`` computes for one group
    (环办〔2011〕22号 §二(二)3)."""
    cols = [c for c in water.EVALUATED_ITEMS if c in classes.columns]
    worse = pd.DataFrame(classes[cols].to_numpy() > 3, columns=cols).astype(np.int64)
    counts = worse.groupby(group.to_numpy(), sort=True).sum()
    sizes = group.value_counts().reindex(counts.index).to_numpy()
    return counts.mul(100.0).div(sizes, axis=0)


def _top_items(
    items: list[str], rates: npt.NDArray[np.float64], shown: npt.NDArray[np.float64]
) -> tuple[dict[str, float], list[str]]:
    """The exceeding items' rates (``shown``: rounded; highest first, ties in Table 1 order)
    and the main pollutants: the first three (环办〔2011〕22号 §二(二)3)."""
    cap = int(water.evaluation_rules()["main_pollutants"]["max_items"])
    hits = sorted((j for j in range(len(items)) if rates[j] > 0), key=lambda j: -rates[j])
    return {items[j]: float(shown[j]) for j in hits}, [items[j] for j in hits[:cap]]


def _mean_groups(stacked: pd.DataFrame, items: list[str], groups: pd.Index) -> pd.DataFrame:
    """Item means of the small groups (mean method, 环办〔2011〕22号 §二(二)1) [mg/L].

    Summed left to right in row order, as ``DataFrame.mean`` sums a few rows, so a mean on a
    class limit or on a rounding tie comes out as in ``water.river_record`` (pandas' grouped
    mean sums with compensation and can differ in the last bit).
    """
    small = stacked[stacked["group"].isin(groups)]
    x = small[items].to_numpy(dtype=np.float64)
    seen = ~np.isnan(x)
    keys, slot = np.unique(small["group"].to_numpy(), return_inverse=True)
    place = small.groupby("group", sort=False).cumcount().to_numpy()
    width = int(place.max()) + 1 if len(place) else 0
    padded = np.zeros((len(keys), width, len(items)))
    padded[slot, place] = np.where(seen, x, 0.0)
    total = np.zeros((len(keys), len(items)))
    for j in range(width):  # one row of every group at a time: the sums stay sequential
        total += padded[:, j]
    counts = np.zeros((len(keys), len(items)), dtype=np.int64)
    np.add.at(counts, slot, seen.astype(np.int64))
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, total / counts, np.nan)
    return pd.DataFrame(means, index=pd.Index(keys, name="group"), columns=items)


def _group_plan(members: pd.DataFrame) -> dict[str, list[tuple[str, str, int]]]:
    """Per period (sorted): its groups as (scope, scope id, group) — rivers, basins (each
    sorted by name), then the region: the order of the table's rows."""
    rank = {"river": 0, "basin": 1, "region": 2}
    labels = members.drop_duplicates("group")
    keyed = sorted(
        (str(p), rank[str(s)], str(i), int(g))
        for p, s, i, g in zip(
            labels["period"], labels["scope"], labels["scope_id"], labels["group"], strict=True
        )
    )
    plan: dict[str, list[tuple[str, str, int]]] = {}
    scopes = {v: k for k, v in rank.items()}
    for period, r, scope_id, group in keyed:
        plan.setdefault(period, []).append((scopes[r], scope_id, group))
    return plan


def _at(frame: pd.DataFrame, row: Any, column: str) -> Any:
    value: Any = frame.at[row, column]
    return value


def _rounded(values: npt.NDArray[np.float64], decimals: int) -> npt.NDArray[np.float64]:
    """GB/T 8170 rounding of a whole array (NaN stays NaN)."""
    return np.asarray(round_gbt8170(values, decimals), dtype=np.float64).reshape(values.shape)


def _rounded_means(items: list[str], shown: npt.NDArray[np.float64]) -> dict[str, float]:
    return {item: float(v) for item, v in zip(items, shown, strict=True) if not np.isnan(v)}


def _counts(classes: npt.NDArray[np.int8]) -> dict[str, int]:
    """Sections per class I … 劣V."""
    labels = water.CLASS_LABELS[1:]
    return {label: int((classes == i + 1).sum()) for i, label in enumerate(labels)}


def group_table(
    results: pd.DataFrame, sections: pd.DataFrame, region_id: str, period_kind: str
) -> pd.DataFrame:
    """River, basin, region and city rows of ``water_group_results`` from section results.

    Rivers, basins and the region follow 环办〔2011〕22号 §二(二) (mean method below 5
    sections, class shares from 5) on the sections' period means; cities get the share of each
    class and the city CWQI with its rank (环办监测〔2017〕51号). Vectorised over all periods and
    groups (``water.evaluate_groups`` and one classification of every section row); the same
    rows as ``water.river_record`` called per group, which ``tests/water`` checks.
    """
    if results.empty:
        return pd.DataFrame()
    evaluated = results[results["class_num"] > 0].reset_index(drop=True)
    if evaluated.empty:
        return pd.DataFrame()
    info = sections.set_index("site_id")
    conc = _group_conc(evaluated)
    items = list(conc.columns)
    members = _memberships(evaluated, info, region_id)
    stacked = conc.iloc[members["row"]].reset_index(drop=True)
    stacked["water_body"] = evaluated["water_body"].to_numpy()[members["row"]]
    stacked["group"] = members["group"].to_numpy()
    evaluation = water.evaluate_groups(stacked, by="group", water_body="water_body")
    classes = water.item_classes(stacked[items], stacked["water_body"])
    rates = _exceedance_rates(classes, stacked["group"])
    few = evaluation.index[evaluation["method"] == "mean"]
    means = _mean_groups(stacked, items, few)
    first_body = stacked.groupby("group", sort=True)["water_body"].first()
    mean_classes = water.classify(means, first_body.reindex(means.index))
    # below 5 sections: main pollutants per section, keyed by its position in the period
    picks = water.main_pollutants(conc, evaluated["water_body"])
    position = evaluated.groupby("period", sort=False).cumcount().to_numpy()
    section_class = water.classify(conc, evaluated["water_body"])["class_num"].to_numpy()
    # rounded once for all groups (GB/T 8170): means 4 decimals, exceedance rates 1
    rules = water.evaluation_rules()
    mean_shown = _rounded(means.to_numpy(), int(rules["river"]["mean_decimals"]))
    mean_row = {int(g): i for i, g in enumerate(means.index)}
    rate_items = [str(c) for c in rates.columns]
    rate_values = rates.to_numpy(dtype=np.float64)
    rate_shown = _rounded(rate_values, int(rules["main_pollutants"]["rate_decimals"]))
    rate_row = {int(g): i for i, g in enumerate(rates.index)}
    cwqi = evaluated["cwqi"].to_numpy(dtype=np.float64, na_value=np.nan)
    sites = evaluated["site_id"].to_numpy(dtype=object)
    stored_class = evaluated["class_num"].to_numpy(dtype=np.int64)
    met = _met(evaluated["meets_target"])
    rows_of: dict[int, list[int]] = {}
    for group, row in zip(members["group"].tolist(), members["row"].tolist(), strict=True):
        rows_of.setdefault(group, []).append(row)
    out: list[dict[str, Any]] = []
    for period, plan in _group_plan(members).items():
        for scope, scope_id, group in plan:
            at = rows_of[group]
            method = str(_at(evaluation, group, "method"))
            if method == "mean":
                cls_num = int(_at(mean_classes, group, "class_num"))
                fields: dict[str, Any] = {
                    "class_num": cls_num,
                    "share_I_III": None,
                    "share_worse_V": None,
                    "status_num": int(water.STATUS_BY_CLASS[cls_num]),
                    "main_pollutants": {str(position[i]): picks.iloc[i] for i in at},
                }
                shown_means = _rounded_means(items, mean_shown[mean_row[group]])
                detail: dict[str, Any] = {"mean_concentrations": shown_means}
            else:
                fields = {
                    "class_num": None,
                    "share_I_III": float(_at(evaluation, group, "share_I_III")),
                    "share_worse_V": float(_at(evaluation, group, "share_worse_V")),
                    "status_num": int(_at(evaluation, group, "status_num")),
                }
                at_rate = rate_row[group]
                shown, fields["main_pollutants"] = _top_items(
                    rate_items, rate_values[at_rate], rate_shown[at_rate]
                )
                detail = {"counts": _counts(section_class[at]), "exceedance_rate_pct": shown}
            out.append(
                {
                    "scope": scope,
                    "scope_id": scope_id,
                    "period": period,
                    "period_kind": period_kind,
                    "n_sections": len(at),
                    "method": method,
                    **fields,
                    "cwqi": _nanmean(cwqi[at]),
                    "cwqi_rank": None,
                    "detail": {"sections": sites[at].tolist(), **detail},
                    **_share_fields(stored_class[at], met[at]),
                }
            )
        in_city = evaluated[evaluated["period"] == period]
        out.extend(_city_rows(in_city, info, period, period_kind))
    return pd.DataFrame(out, columns=list(GROUP_COLUMNS))


def _city_rows(
    rows: pd.DataFrame, info: pd.DataFrame, period: str, kind: str
) -> list[dict[str, Any]]:
    """City rows of one period: class shares and the city CWQI with its rank
    (环办监测〔2017〕51号), one engine call for all cities."""
    frame = rows.assign(city=info.loc[rows["site_id"], "city_code"].astype(int).to_numpy())
    scored = frame.dropna(subset=["cwqi"])
    city = water.cwqi_city(scored, by="city", value="cwqi", water_body="water_body")
    ranking = water.cwqi_ranking(city["CWQI_city"].rename(lambda c: str(c)))
    rank = dict(zip(ranking["name"], ranking["rank"], strict=True))
    groups: Any = frame.groupby("city").indices
    indices: dict[int, npt.NDArray[np.int64]] = {int(c): at for c, at in groups.items()}
    cls = frame["class_num"].to_numpy(dtype=np.int64)
    met = _met(frame["meets_target"])
    sites = frame["site_id"].to_numpy(dtype=object)
    by_code: Any = city.to_dict("index")
    values: dict[int, dict[str, Any]] = {int(c): row for c, row in by_code.items()}
    out = []
    for code in sorted(indices):
        at = indices[code]
        part = cls[at]
        n = len(at)
        c = values.get(code)
        out.append(
            {
                "scope": "city",
                "scope_id": str(code),
                "period": period,
                "period_kind": kind,
                "n_sections": n,
                "method": None,
                "class_num": None,
                "share_I_III": 100.0 * int((part <= 3).sum()) / n,
                "share_worse_V": 100.0 * int((part == 6).sum()) / n,
                "status_num": None,
                "main_pollutants": None,
                "cwqi": None if c is None else _num(c["CWQI_city"]),
                "cwqi_rank": rank.get(str(code)),
                "detail": {
                    "sections": sites[at].tolist(),
                    "counts": _counts(part),
                    "CWQI_river": None if c is None else _num(c["CWQI_river"]),
                    "M": None if c is None else int(c["M"]),
                    "CWQI_lake": None if c is None else _num(c["CWQI_lake"]),
                    "N": None if c is None else int(c["N"]),
                },
                **_share_fields(part, met[at]),
            }
        )
    return out


def _met(meets_target: pd.Series) -> npt.NDArray[np.float64]:
    """Target met as 1.0 / 0.0, NaN where the section has no target."""
    return np.array([np.nan if v is None or v is pd.NA else float(v) for v in meets_target])


def _share_fields(cls: npt.NDArray[np.int64], met: npt.NDArray[np.float64]) -> dict[str, Any]:
    """Shares [%] of Class I–II sections and of the sections with a target that meet it."""
    judged = met[~np.isnan(met)]
    return {
        "share_I_II": 100.0 * int((cls <= 2).sum()) / len(cls),
        "share_target": 100.0 * int(judged.sum()) / len(judged) if len(judged) else None,
    }


def _nanmean(values: npt.NDArray[np.float64]) -> float | None:
    """Mean of the non-missing values, summed as ``Series.mean`` sums them; None if none."""
    missing = np.isnan(values)
    if missing.all():
        return None
    return float(np.where(missing, 0.0, values).sum() / int((~missing).sum()))


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
    for kind, means in period_item_means_by_kind(obs).items():
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
