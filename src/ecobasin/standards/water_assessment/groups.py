"""Rivers, basins, cities and the region (环办〔2011〕22号 §二(二)-(四); 环办监测〔2017〕51号).

Mean method below 5 sections, class shares from 5 (``river_record``), plus the shares of
Class I–II and of sections meeting their target; cities: shares and the city CWQI of all the
city's sections (rivers M, lakes N) with the ranking.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ecobasin.standards import water
from ecobasin.standards.rounding import round_gbt8170
from ecobasin.standards.water_assessment.sections import _num

__all__ = ["GROUP_COLUMNS", "group_table"]

#: Columns of a ``water_group_results`` row, in the table's order.
GROUP_COLUMNS = (
    "scope", "scope_id", "period", "period_kind", "n_sections", "method", "class_num",
    "share_I_III", "share_worse_V", "status_num", "main_pollutants", "cwqi", "cwqi_rank",
    "detail", "share_I_II", "share_target",
)  # fmt: skip


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
