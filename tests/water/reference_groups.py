"""The straightforward path of the job's section, river, basin, region and city rows, kept to
check the vectorised job (issue 7's faster refresh): ``water.river_record`` called once per
group and period, a loop per section row and per city — the job's code before that change."""

from __future__ import annotations

from typing import Any

import pandas as pd

from ecobasin.standards import water
from ecobasin.standards.water_assessment import sections as job


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
    good: float | None = None
    worst: float | None = None
    if shares:
        detail.update(counts=record["counts"], exceedance_rate_pct=record["exceedance_rate_pct"])
        good = 100.0 * int((rows["class_num"] <= 3).sum()) / len(rows)
        worst = 100.0 * int((rows["class_num"] == 6).sum()) / len(rows)
    else:
        detail["mean_concentrations"] = record["mean_concentrations"]
    status = record["status_num"] if shares else int(water.STATUS_BY_CLASS[record["class_num"]])
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
        "status_num": status,
        "main_pollutants": record["main_pollutants"],
        "cwqi": job._num(rows["cwqi"].mean()),
        "cwqi_rank": None,
        "detail": detail,
        **_shares(rows),
    }


def group_table(
    results: pd.DataFrame, sections: pd.DataFrame, region_id: str, period_kind: str
) -> pd.DataFrame:
    """``water_group_results`` rows by ``river_record`` per river, basin, region and period."""
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
    wide = job._wide(means)
    info = sections.set_index("site_id").reindex(wide.index.get_level_values("site_id"))
    water_body = [water.normalise_water_body(w) for w in info["water_body"].fillna("river")]
    items = [c for c in wide.columns if c in job.TABLE_ITEMS]
    conc = wide[items]
    evaluated = [c for c in items if c in water.EVALUATED_ITEMS]
    classes = water.classify(conc, water_body)
    picks = water.main_pollutants(conc[evaluated], water_body) if evaluated else None
    cwqi = water.cwqi_section(conc[evaluated], water_body) if evaluated else None
    targets = [job._target(t) for t in info["target_class"]]
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
                "cwqi": job._num(cwqi.iloc[i]) if cwqi is not None else None,
                "tli": job._tli(row_means) if water_body[i] == "lake" else None,
                "tn_class": _apart(classes, "TN_class", i),
                "fc_class": _apart(classes, "FC_class", i),
                "means": row_means,
                "sources": {k: str(v) for k, v in source.iloc[i].items() if pd.notna(v)},
                "n_items": int(classes["n_items"].iloc[i]),
                "complete": bool(complete.iloc[i]),
            }
        )
    return pd.DataFrame(rows)


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
                "cwqi": None if c is None else job._num(c["CWQI_city"]),
                "cwqi_rank": rank.get(str(code)),
                "detail": {
                    "sections": list(part["site_id"]),
                    "counts": shares["counts"],
                    "CWQI_river": None if c is None else job._num(c["CWQI_river"]),
                    "M": None if c is None else _count(city, code, "M"),
                    "CWQI_lake": None if c is None else job._num(c["CWQI_lake"]),
                    "N": None if c is None else _count(city, code, "N"),
                },
                **_shares(part),
            }
        )
    return out


def _count(frame: pd.DataFrame, row: Any, column: str) -> int:
    value: Any = frame.at[row, column]
    return int(value)


def _apart(classes: pd.DataFrame, column: str, i: int) -> int | None:
    if column not in classes.columns:
        return None
    value = int(classes[column].iloc[i])
    return value or None
