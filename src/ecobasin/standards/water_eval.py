"""River, basin and region evaluation; period statistics with validity (环办〔2011〕22号).

References
----------
.. [1] 环办〔2011〕22号 §一(二) (data statistics), §二(二) (rivers, basins: mean method below 5
   sections, section-class shares from 5), §二(二) main pollutants by section exceedance rate,
   §三 (change between periods).
.. [2] GB/T 8170-2008 §3 (rounding of reported values), §4.3 (full-value comparison).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from ecobasin.standards.rounding import round_gbt8170
from ecobasin.standards.water_class import STATUS_BY_CLASS, classify, item_classes
from ecobasin.standards.water_tables import (
    EVALUATED_ITEMS,
    class_number,
    evaluation_rules,
    share_levels,
)

__all__ = [
    "Period",
    "SourceKind",
    "apply_nondetects",
    "class_shares",
    "class_trend",
    "evaluate_groups",
    "exceedance_rates",
    "period_means",
    "river_record",
    "share_status",
    "statistics_rule",
    "status_fields",
]

SourceKind = Literal["manual", "auto"]
Period = Literal["month", "quarter", "year"]

_STATUS_INFO = {int(row["status"]): row for row in share_levels()}


def share_status(share_good: npt.ArrayLike, share_worst: npt.ArrayLike) -> npt.NDArray[np.int8]:
    """Qualitative level 1..5 (优 .. 重度污染) from the I–III and 劣V shares [%].

    Rows of ``levels.toml`` are tried in order: I–III ≥ 90 优; ≥ 75 良好; then (I–III < 75)
    劣V ≥ 40 重度污染, ≥ 20 中度污染, else 轻度污染. Shares are compared unrounded.

    References
    ----------
    .. [1] 环办〔2011〕22号 §二(二)2, Table 2 (河流、流域（水系）水质定性评价分级).
    """
    good = np.atleast_1d(np.asarray(share_good, dtype=np.float64))
    worst = np.atleast_1d(np.asarray(share_worst, dtype=np.float64))
    out = np.zeros(good.shape, dtype=np.int8)
    done = np.isnan(good) | np.isnan(worst)
    for row in share_levels():
        hit = ~done
        if "good_min" in row:
            hit &= good >= float(row["good_min"])
        if "worst_min" in row:
            hit &= worst >= float(row["worst_min"])
        out[hit] = int(row["status"])
        done |= hit
    return out


def status_fields(status: int) -> dict[str, str]:
    """``status``/``status_en``/``colour``/``colour_en``/``hex`` of a level 1..5."""
    row = _STATUS_INFO[int(status)]
    return {
        "status": str(row["status_zh"]),
        "status_en": str(row["status_en"]),
        "colour": str(row["colour_zh"]),
        "colour_en": str(row["colour_en"]),
        "hex": str(row["hex"]),
    }


def class_shares(classes: Sequence[int | str] | npt.ArrayLike) -> dict[str, Any]:
    """Counts and shares [%] of section classes (I–III, IV, V, 劣V) and the qualitative level.

    Parameters
    ----------
    classes : sequence of int or str
        Section classes (1..6 or ``"I"`` .. ``"劣V"``).

    Returns
    -------
    dict
        ``n_sections``, ``counts`` per class, ``share_I_III`` and ``share_worse_V`` (one decimal,
        GB/T 8170), ``status_num`` and the level's names and colour.

    References
    ----------
    .. [1] 环办〔2011〕22号 §二(二)2.
    """
    nums = np.array([class_number(c) for c in np.atleast_1d(np.asarray(classes, dtype=object))])
    n = nums.size
    if n == 0:
        raise ValueError("no section classes given")
    decimals = int(evaluation_rules()["river"]["share_decimals"])
    good = 100.0 * int((nums <= 3).sum()) / n
    worst = 100.0 * int((nums == 6).sum()) / n
    status = int(share_status(good, worst)[0])
    labels = ("I", "II", "III", "IV", "V", "劣V")
    out: dict[str, Any] = {
        "n_sections": n,
        "counts": {lab: int((nums == i + 1).sum()) for i, lab in enumerate(labels)},
        "share_I_III": round_gbt8170(good, decimals),
        "share_worse_V": round_gbt8170(worst, decimals),
        "status_num": status,
    }
    out.update(status_fields(status))
    return out


def exceedance_rates(
    conc: pd.DataFrame, water_body: str | Sequence[str] | pd.Series = "river"
) -> pd.Series:
    """断面超标率 per item: sections worse than Class III / all sections × 100 [%] (unrounded).

    Every row counts in the denominator (an item not measured at a section counts as not
    exceeding there). Only items exceeding at one section or more are returned, highest first,
    ties in Table 1 order.

    References
    ----------
    .. [1] 环办〔2011〕22号 §二(二)3 (河流、流域（水系）主要污染指标).
    """
    classes = item_classes(conc, water_body)
    cols = [c for c in EVALUATED_ITEMS if c in classes.columns]
    n = len(conc)
    rates = pd.Series({c: 100.0 * int((classes[c] > 3).sum()) / n for c in cols}, dtype=float)
    rates = rates[rates > 0]
    order = {c: i for i, c in enumerate(EVALUATED_ITEMS)}
    keys = sorted(rates.index, key=lambda c: (-rates[c], order[c]))
    return rates.loc[keys]


def river_record(
    conc: pd.DataFrame, water_body: str | Sequence[str] | pd.Series = "river"
) -> dict[str, Any]:
    """Evaluate one river, basin or region from its sections' period means.

    Below ``min_sections_for_shares`` (5) sections: the mean of every item over the sections,
    classed by the single-factor method. From 5: the section-class shares and Table 2 level;
    main pollutants = the three items with the highest section exceedance rates.

    Parameters
    ----------
    conc : pandas.DataFrame
        One row per section, one column per item [mg/L].
    water_body : str or sequence of str

    Returns
    -------
    dict
        ``method`` (``"mean"`` or ``"shares"``), ``n_sections``, the level (``status``, ``colour``
        ...) and, by method, ``mean_concentrations``/``class``/``class_num``/``determining`` or
        ``share_I_III``/``share_worse_V``/``counts``/``exceedance_rate_pct``; and
        ``main_pollutants`` (a dict per section below 5 sections, else the top three items).

    References
    ----------
    .. [1] 环办〔2011〕22号 §二(二)1–3.
    """
    from ecobasin.standards.water_class import main_pollutants, section_record

    rules = evaluation_rules()["river"]
    n = len(conc)
    if n == 0:
        raise ValueError("no sections given")
    if n < int(rules["min_sections_for_shares"]):
        means = conc.apply(pd.to_numeric, errors="coerce").mean(axis=0, skipna=True).dropna()
        wb = water_body if isinstance(water_body, str) else pd.Series(water_body).iloc[0]
        rec = section_record({str(k): float(v) for k, v in means.items()}, wb)
        d = int(rules["mean_decimals"])
        out: dict[str, Any] = {"method": "mean", "n_sections": n}
        out["mean_concentrations"] = {str(k): round_gbt8170(float(v), d) for k, v in means.items()}
        out.update({k: rec[k] for k in ("class", "class_num", "determining")})
        out.update(status_fields(int(STATUS_BY_CLASS[rec["class_num"]])))
        # below 5 sections the section rule applies to each section (§二(二)3)
        picks = main_pollutants(conc, water_body)
        out["main_pollutants"] = {str(k): v for k, v in picks.items()}
        return out
    sections = classify(conc, water_body)
    out = {"method": "shares"}
    out.update(class_shares(sections["class_num"].to_numpy()))
    rates = exceedance_rates(conc, water_body)
    rd = int(evaluation_rules()["main_pollutants"]["rate_decimals"])
    cap = int(evaluation_rules()["main_pollutants"]["max_items"])
    out["exceedance_rate_pct"] = {str(k): round_gbt8170(float(v), rd) for k, v in rates.items()}
    out["main_pollutants"] = [str(k) for k in rates.index[:cap]]
    out["section_classes"] = {str(k): str(v) for k, v in sections["class"].items()}
    return out


def evaluate_groups(
    frame: pd.DataFrame, *, by: str = "river", water_body: str = "water_body"
) -> pd.DataFrame:
    """Evaluate many rivers/basins at once (vectorised share method, mean method per group).

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per section with a ``by`` column, a ``water_body`` column (or the name of one
        water body for all) and item columns [mg/L].

    Returns
    -------
    pandas.DataFrame
        Index ``by``; ``n_sections``, ``method``, ``share_I_III``, ``share_worse_V`` (unrounded,
        share rows only), ``class_num`` (mean rows only), ``status_num``, ``status_zh``,
        ``status_en``, ``colour_zh``, ``colour_en``, ``hex``.

    References
    ----------
    .. [1] 环办〔2011〕22号 §二(二).
    """
    items = [c for c in frame.columns if c in EVALUATED_ITEMS]
    wb: Any = frame[water_body] if water_body in frame.columns else water_body
    sections = classify(frame[items], wb)
    keys = frame[by].to_numpy()
    cls = sections["class_num"].to_numpy()
    tmp = pd.DataFrame({"key": keys, "good": cls <= 3, "worst": cls == 6, "valid": cls > 0})
    tmp = tmp[tmp["valid"]]
    g = tmp.groupby("key", sort=True)
    n = g.size()
    out = pd.DataFrame(index=n.index)
    out["n_sections"] = n
    out["share_I_III"] = g["good"].sum() * 100.0 / n
    out["share_worse_V"] = g["worst"].sum() * 100.0 / n
    status = share_status(out["share_I_III"].to_numpy(), out["share_worse_V"].to_numpy())
    min_n = int(evaluation_rules()["river"]["min_sections_for_shares"])
    few = out["n_sections"].to_numpy() < min_n
    out["method"] = np.where(few, "mean", "shares")
    out["class_num"] = 0
    if few.any():
        small = frame[pd.Series(keys, index=frame.index).isin(out.index[few])]
        means = small.groupby(by, sort=True)[items].mean()
        lake_of = (
            small.groupby(by, sort=True)[water_body].first()
            if water_body in small.columns
            else pd.Series(water_body, index=means.index)
        )
        mean_cls = classify(means, lake_of.reindex(means.index)).reindex(out.index[few])
        out.loc[few, "class_num"] = mean_cls["class_num"].to_numpy()
        status[few] = STATUS_BY_CLASS[mean_cls["class_num"].to_numpy(dtype=int)]
        out.loc[few, ["share_I_III", "share_worse_V"]] = np.nan
    out["status_num"] = status
    for key, col in (
        ("status", "status_zh"),
        ("status_en", "status_en"),
        ("colour", "colour_zh"),
        ("colour_en", "colour_en"),
        ("hex", "hex"),
    ):
        lut = {s: status_fields(s)[key] for s in _STATUS_INFO}
        out[col] = [lut.get(int(s), "") for s in status]
    out.index.name = by
    return out


def class_trend(before: int | str, after: int | str) -> dict[str, Any]:
    """Change of class between two periods: 无明显变化, 有所好转/变差 (1 step), 明显 (≥ 2).

    References
    ----------
    .. [1] 环办〔2011〕22号 §三 (水质变化趋势分析) [mem].
    """
    rules = evaluation_rules()["trend"]
    steps = class_number(before) - class_number(after)  # positive = better
    size = abs(steps)
    if size < int(rules["some_steps"]):
        return {"steps": steps, "trend_zh": "无明显变化", "trend_en": "No obvious change"}
    marked = size >= int(rules["marked_steps"])
    zh = ("明显" if marked else "有所") + ("好转" if steps > 0 else "变差")
    en = ("Markedly " if marked else "Slightly ") + ("better" if steps > 0 else "worse")
    return {"steps": steps, "trend_zh": zh, "trend_en": en}


def statistics_rule(source_kind: SourceKind | str, period: str) -> dict[str, Any]:
    """Validity rule of a period statistic (minimum count, its quantity and its source)."""
    for rule in evaluation_rules()["statistics"]["rule"]:
        if rule["source_kind"] == source_kind and rule["period"] == period:
            return dict(rule)
    raise KeyError(f"no validity rule for source {source_kind!r}, period {period!r}")


def apply_nondetects(
    values: npt.ArrayLike, nondetect: npt.ArrayLike | None = None, dl: npt.ArrayLike | None = None
) -> npt.NDArray[np.float64]:
    """Values with non-detects replaced by ½ detection limit [mg/L].

    Parameters
    ----------
    values : array-like of float
        Reported values; for a non-detect the detection limit itself may be given here.
    nondetect : array-like of bool, optional
        True where the result is below the detection limit (reported ``"DL L"``).
    dl : array-like of float, optional
        Detection limits; default: ``values``.

    References
    ----------
    .. [1] CNEMC data rule, also in 环办监测〔2017〕51号: non-detects enter means as ½ DL.
    """
    x = np.asarray(values, dtype=np.float64).copy()
    if nondetect is None:
        return x
    nd = np.asarray(nondetect, dtype=bool)
    limit = x if dl is None else np.asarray(dl, dtype=np.float64)
    factor = float(evaluation_rules()["statistics"]["nondetect_factor"])
    return np.where(nd, factor * limit, x)


def _period_label(local: pd.Series, period: str) -> pd.Series:
    """``YYYY-MM-DD`` / ``YYYY-MM`` / ``YYYYQn`` / ``YYYY`` labels of local times (wall clock).

    Formats each distinct day/month/year once (strftime over tens of millions of timestamps
    dominated national-size runs)."""
    units = {"day": "D", "month": "M", "quarter": "M", "year": "Y"}
    if period not in units:
        raise ValueError(f"unknown period {period!r} (month, quarter, year)")
    wall = local.dt.tz_localize(None) if local.dt.tz is not None else local
    floored = wall.to_numpy(dtype="datetime64[ns]").astype(f"datetime64[{units[period]}]")
    codes, uniques = pd.factorize(floored)
    first = pd.DatetimeIndex(uniques)
    if period == "quarter":
        names = first.strftime("%Y") + "Q" + first.quarter.astype(str)
    else:
        names = first.strftime({"day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}[period])
    labels = np.asarray(names, dtype=object)[codes]
    labels[codes < 0] = None
    return pd.Series(labels, index=local.index, dtype=object)


def _coarser(label: pd.Series, period: str) -> pd.Series:
    """Quarter/year label of a month label ``YYYY-MM``."""
    year = label.str.slice(0, 4)
    if period == "year":
        return year
    month = label.str.slice(5, 7).astype(int)
    return year + "Q" + ((month - 1) // 3 + 1).astype(str)


def _grouped_mean(frame: pd.DataFrame, label: pd.Series, by: Sequence[str]) -> pd.DataFrame:
    keys = [*by, "item"]
    tmp = frame[keys].assign(period=label.to_numpy(), v=frame["v"].to_numpy())
    g = tmp.groupby([*keys, "period"], sort=True)["v"]
    return g.agg(mean="mean", n="count").reset_index()


def period_means(
    data: pd.DataFrame,
    period: Period | str = "month",
    *,
    source_kind: SourceKind | str = "manual",
    by: Sequence[str] = ("site_id",),
) -> pd.DataFrame:
    """Period means per section and item with their validity.

    Manual (monthly) samples: the mean of the samples in the period (month ≥ 1, quarter ≥ 2,
    year ≥ 1 — 办法 §一(二)). Automatic stations (4-hourly): daily means of days with ≥ 4 of 6
    values, monthly means of months with ≥ 20 valid days, quarterly/annual means of the valid
    monthly means (≥ 2 / ≥ 8 months) — ecobasin's thresholds, in ``evaluation.toml``.
    Non-detects enter as ½ DL. Periods are China Standard Time calendar periods.

    Parameters
    ----------
    data : pandas.DataFrame
        Long format: ``by`` columns, ``time`` (tz-aware instant, or naive = CST), ``item``,
        ``value`` [mg/L]; optional ``nondetect`` (bool) and ``dl``.
    period : {"month", "quarter", "year"}
    source_kind : {"manual", "auto"}
    by : sequence of str, default ("site_id",)

    Returns
    -------
    pandas.DataFrame
        ``by``, ``item``, ``period`` (``2025-10``, ``2025Q4``, ``2025``), ``mean`` (unrounded;
        NaN when not valid), ``n`` (count of the quantity the rule names), ``valid``,
        ``complete`` (n ≥ expected), ``rule_source``.

    References
    ----------
    .. [1] 环办〔2011〕22号 §一(二) 数据统计.
    """
    if source_kind not in ("manual", "auto"):
        raise ValueError(f"source_kind must be 'manual' or 'auto', got {source_kind!r}")
    missing = {*by, "time", "item", "value"} - set(data.columns)
    if missing:
        raise ValueError(f"period_means: missing columns {sorted(missing)}")
    times = pd.to_datetime(data["time"])
    local = times.dt.tz_convert("Asia/Shanghai") if times.dt.tz is not None else times
    v = apply_nondetects(
        data["value"].to_numpy(dtype=np.float64),
        data["nondetect"].to_numpy(dtype=bool) if "nondetect" in data.columns else None,
        data["dl"].to_numpy(dtype=np.float64) if "dl" in data.columns else None,
    )
    frame = data[[*by, "item"]].assign(v=v)
    frame = frame[~np.isnan(v)]
    local = local[~np.isnan(v)]
    rule = statistics_rule(source_kind, period)
    if source_kind == "manual":
        out = _grouped_mean(frame, _period_label(local, period), by)
    else:
        # invalid days/months stay as NaN rows, so a period without valid data is reported
        day_rule = statistics_rule("auto", "day")
        days = _grouped_mean(frame, _period_label(local, "day"), by)
        days["v"] = days["mean"].where(days["n"] >= int(day_rule["min"]))
        months = _grouped_mean(days, days["period"].str.slice(0, 7), by)
        if period == "month":
            out = months
        else:
            month_rule = statistics_rule("auto", "month")
            months["v"] = months["mean"].where(months["n"] >= int(month_rule["min"]))
            out = _grouped_mean(months, _coarser(months["period"], period), by)
    out["valid"] = out["n"] >= int(rule["min"])
    out["complete"] = out["n"] >= int(rule["expected"])
    out.loc[~out["valid"], "mean"] = np.nan
    out["rule_source"] = str(rule["source"])
    return out.reset_index(drop=True)
