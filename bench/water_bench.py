"""Benchmark: a national-size water year through ecobasin vs a straightforward pandas version.

Usage: ``python bench/water_bench.py [--sections 3600] [--auto 1800] [--json]``

Data (synthetic, seeded): ``--sections`` sections (rivers of 1–12 sections, 10 basins, 340
cities, one in ten a lake or reservoir) with a manual sample of the 21 items of 环办〔2011〕22号
every month (metals often below the detection limit, flag ``L``), and ``--auto`` of them with
an automatic station: 5 Table 1 items (pH, DO, CODMn, NH3N, TP) every 4 hours all year, 3 % of
the values missing.

Both implementations compute, for the 12 months and the year: period means with validity
(manual month ≥ 1 sample; automatic day ≥ 4 values, month ≥ 20 days, year ≥ 8 months; the
automatic mean preferred), section classes by the single-factor method, main pollutants,
CWQI, river and basin evaluation (mean method below 5 sections, class shares from 5, main
pollutants by exceedance rate) and the city CWQI ranking.

* ecobasin: the refresh job's steps (``ecobasin.standards.water_assessment``: ``period_item_means``,
  ``section_table``, ``group_table`` — the engine ``ecobasin.standards.water`` vectorised);
* plain pandas: groupby for the means, then a row-wise ``apply`` per section-period and a loop
  per river, basin and period, written as one would without the engine (limits from the
  same GB 3838 Table 1 file).

The run checks that both give the same section classes, main pollutants, group methods,
levels and main pollutants, and city ranks, and prints a rich table with the times and ratios.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from ecobasin.standards import water
from ecobasin.standards import water_assessment as job

ITEMS = list(water.EVALUATED_ITEMS)
AUTO_ITEMS = ["pH", "DO", "CODMn", "NH3N", "TP"]
METALS = {"Cu", "Zn", "Se", "As", "Hg", "Cd", "Cr6", "Pb", "CN", "VPhen", "Petro", "LAS", "S2"}
YEAR = 2025
OUT = Path(__file__).resolve().parent / "out"


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------


def make_sections(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Sections with a river (1–12 sections each), basin, city, water body and target."""
    sizes = []
    while sum(sizes) < n:
        sizes.append(
            int(rng.choice([1, 2, 3, 4, 5, 6, 8, 12], p=[0.2, 0.2, 0.15, 0.1, 0.1, 0.1, 0.1, 0.05]))
        )
    river = np.repeat(np.arange(len(sizes)), sizes)[:n]
    return pd.DataFrame(
        {
            "site_id": [f"S{i:05d}" for i in range(n)],
            "level": "national",
            "city_code": 100000 + (np.arange(n) * 7919) % 340,
            "river_zh": [f"河{r:04d}" for r in river],
            "basin_zh": [f"流域{r % 10}" for r in river],
            "water_body": np.where(rng.random(n) < 0.1, "lake", "river").astype(object),
            "target_class": rng.choice(["II", "III", "IV"], n, p=[0.3, 0.6, 0.1]).astype(object),
            "upstream_city": None,
            "downstream_city": None,
        }
    )


def _levels(sections: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
    """A pollution factor per section: ~1 is Class II, ~2.5 Class III–IV, > 4 worse."""
    return rng.lognormal(mean=0.3, sigma=0.55, size=len(sections))


def _value(item: str, factor: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    lim = water.item_limits("river")[item]
    if item == "pH":
        return np.round(rng.normal(7.6, 0.35, factor.size), 2)
    if item == "DO":
        return np.round(np.clip(9.0 / factor**0.5 * rng.lognormal(0, 0.1, factor.size), 0.5, 14), 2)
    return lim.limit(2) * factor * rng.lognormal(0, 0.25, factor.size)


def make_observations(
    sections: pd.DataFrame, n_auto: int, rng: np.random.Generator
) -> pd.DataFrame:
    """Manual monthly samples of 21 items for all sections, 4-hourly values of 5 items for
    the first ``n_auto`` sections (observations as ``store.water.water_observations``)."""
    n = len(sections)
    factor = _levels(sections, rng)
    season = 1 + 0.3 * np.cos(2 * np.pi * (np.arange(12) + 0.5) / 12)  # dry winters
    parts = []
    sample_days = pd.to_datetime([f"{YEAR}-{m:02d}-10 02:00" for m in range(1, 13)], utc=True)
    for item in ITEMS:
        f = np.outer(factor, season).ravel()
        v = _value(item, f, rng)
        flag = np.full(v.size, None, dtype=object)
        if item in METALS:  # mostly below the detection limit: reported as the DL with "L"
            dl = water.item_limits("river")[item].limit(1) / 4
            below = v < dl * 3
            v = np.where(below, dl, v)
            flag[below] = "L"
        parts.append(
            pd.DataFrame(
                {
                    "site_id": np.repeat(sections["site_id"].to_numpy(), 12),
                    "parameter": item,
                    "period": "sample",
                    "time": np.tile(sample_days, n),
                    "value": v,
                    "flag": flag,
                }
            )
        )
    hours = pd.date_range(f"{YEAR - 1}-12-31 16:00", f"{YEAR}-12-31 15:59", freq="4h", tz="UTC")
    month_of = (hours + pd.Timedelta(hours=8)).month.to_numpy() - 1
    for item in AUTO_ITEMS:
        f = (factor[:n_auto, None] * season[month_of][None, :]).ravel()
        v = _value(item, f, rng)
        keep = rng.random(v.size) > 0.03
        parts.append(
            pd.DataFrame(
                {
                    "site_id": np.repeat(sections["site_id"].to_numpy()[:n_auto], len(hours))[keep],
                    "parameter": item,
                    "period": "4h",
                    "time": np.tile(hours, n_auto)[keep],
                    "value": v[keep],
                    "flag": None,
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


# ---------------------------------------------------------------------------------------------
# ecobasin: the refresh job's steps
# ---------------------------------------------------------------------------------------------


def ecobasin_year(obs: pd.DataFrame, sections: pd.DataFrame) -> dict[str, Any]:
    """The steps of ``compute_year`` (compensation aside: no boundary sections here)."""
    times: dict[str, float] = {}
    t = time.process_time()
    all_means = job.period_item_means_by_kind(obs)
    times["period means"] = time.process_time() - t
    out: dict[str, Any] = {}
    for kind, means in all_means.items():
        t = time.process_time()
        results = job.section_table(means, sections, kind)
        times["sections"] = times.get("sections", 0.0) + time.process_time() - t
        t = time.process_time()
        groups = job.group_table(results, sections, "nation", kind)
        times["groups and cities"] = times.get("groups and cities", 0.0) + time.process_time() - t
        out[kind] = (results, groups)
    out["times"] = times
    return out


# ---------------------------------------------------------------------------------------------
# plain pandas, written straightforwardly
# ---------------------------------------------------------------------------------------------

RULES = water.evaluation_rules()["main_pollutants"]
PRIORITY = set(RULES["priority"])
NO_MULTIPLE = set(RULES["no_multiple"])
LIMITS = {
    wb: {i: (lim.direction, list(lim.limits)) for i, lim in water.item_limits(wb).items()}
    for wb in ("river", "lake")
}


def plain_means(obs: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Monthly and annual means per section and item, automatic preferred where valid."""
    obs = obs.copy()
    local = obs["time"].dt.tz_convert("Asia/Shanghai")
    obs["v"] = np.where(obs["flag"] == "L", obs["value"] / 2, obs["value"])
    obs["month"] = local.dt.strftime("%Y-%m")
    obs["day"] = local.dt.strftime("%Y-%m-%d")
    manual = obs[obs["period"] == "sample"]
    auto = obs[obs["period"] != "sample"]
    m_month = manual.groupby(["site_id", "month", "parameter"])["v"].mean()
    m_year = manual.groupby(["site_id", "parameter"])["v"].mean()
    daily = auto.groupby(["site_id", "day", "parameter"])["v"].agg(["mean", "count"])
    daily = daily[daily["count"] >= 4].reset_index()
    daily["month"] = daily["day"].str[:7]
    monthly = daily.groupby(["site_id", "month", "parameter"])["mean"].agg(["mean", "count"])
    a_month = monthly[monthly["count"] >= 20]["mean"]
    yearly = a_month.groupby(["site_id", "parameter"]).agg(["mean", "count"])
    a_year = yearly[yearly["count"] >= 8]["mean"]
    month = a_month.combine_first(m_month).unstack("parameter")
    year = a_year.combine_first(m_year).unstack("parameter")
    year.index = pd.MultiIndex.from_arrays([year.index, [str(YEAR)] * len(year)])
    month.index.names = year.index.names = ["site_id", "period"]
    return {"month": month, "year": year}


def item_class(item: str, x: float, water_body: str) -> int:
    if item not in LIMITS[water_body] or x != x:
        return 0
    direction, lims = LIMITS[water_body][item]
    if direction == "range":
        return 1 if lims[0] <= x <= lims[1] else 6
    for cls in range(1, 6):
        if (x >= lims[cls - 1]) if direction == "min" else (x <= lims[cls - 1]):
            return cls
    return 6


def evaluate_section(row: pd.Series) -> pd.Series:
    """Class, main pollutants (办法 §二(一)) and CWQI of one section-period."""
    wb = row["water_body"]
    classes = {item: item_class(item, row[item], wb) for item in ITEMS if item in row.index}
    worst = max(classes.values())
    picks = []
    if worst > 3:
        candidates = []
        for order, item in enumerate(ITEMS):
            if classes.get(item, 0) > 3:
                direction, limits = LIMITS[wb][item]
                multiple = None  # none for pH and DO (办法 §二(一)2)
                if item not in NO_MULTIPLE and direction == "max":
                    multiple = (row[item] - limits[2]) / limits[2]
                key = (
                    item not in PRIORITY,
                    -classes[item],
                    multiple is None,
                    -(multiple or 0.0),
                    order,
                )
                candidates.append((key, item))
        picks = [item for _, item in sorted(candidates)[:3]]
    cwqi = 0.0
    for item in ITEMS:
        x = row.get(item, np.nan)
        if x != x:
            continue
        if item == "pH":
            cwqi += (7 - x) / 1 if x <= 7 else (x - 7) / 2
        elif item == "DO":
            cwqi += 5 / x
        else:
            cwqi += x / LIMITS[wb][item][1][2]
    return pd.Series({"class_num": worst, "main": picks, "cwqi": cwqi})


def share_level(good: float, worst: float) -> int:
    if good >= 90:
        return 1
    if good >= 75:
        return 2
    if worst >= 40:
        return 5
    if worst >= 20:
        return 4
    return 3


def evaluate_group(rows: pd.DataFrame) -> dict[str, Any]:
    """One river or basin in one period (办法 §二(二))."""
    n = len(rows)
    if n < 5:
        means = rows[ITEMS].mean()
        wb = rows["water_body"].iloc[0]
        cls = max(item_class(i, means[i], wb) for i in ITEMS)
        status = [0, 1, 1, 2, 3, 4, 5][cls]
        return {"method": "mean", "status": status, "main": None}
    good = 100.0 * (rows["class_num"] <= 3).sum() / n
    worst = 100.0 * (rows["class_num"] == 6).sum() / n
    rates = []
    for order, item in enumerate(ITEMS):
        exceeding = sum(
            item_class(item, x, wb) > 3
            for x, wb in zip(rows[item], rows["water_body"], strict=True)
        )
        if exceeding:
            rates.append((-100.0 * exceeding / n, order, item))
    return {
        "method": "shares",
        "status": share_level(good, worst),
        "main": [i for _, _, i in sorted(rates)[:3]],
    }


def plain_year(obs: pd.DataFrame, sections: pd.DataFrame) -> dict[str, Any]:
    times: dict[str, float] = {}
    t = time.process_time()
    means = plain_means(obs)
    times["period means"] = time.process_time() - t
    info = sections.set_index("site_id")
    out: dict[str, Any] = {}
    for kind, wide in means.items():
        t = time.process_time()
        wide = wide.reindex(columns=ITEMS)
        wide["water_body"] = info.loc[
            wide.index.get_level_values("site_id"), "water_body"
        ].to_numpy()
        evaluated = wide.join(wide.apply(evaluate_section, axis=1))
        times["sections"] = times.get("sections", 0.0) + time.process_time() - t
        t = time.process_time()
        evaluated = evaluated.reset_index()
        for scope in ("river_zh", "basin_zh"):
            evaluated[scope] = info.loc[evaluated["site_id"], scope].to_numpy()
        groups = {}
        for scope in ("river_zh", "basin_zh"):
            for (period, key), rows in evaluated.groupby(["period", scope]):
                groups[(scope[:5], key, period)] = evaluate_group(rows)
        evaluated["city"] = info.loc[evaluated["site_id"], "city_code"].to_numpy()
        city = evaluated.groupby(["period", "city"])["cwqi"].mean().round(4)
        ranks = city.groupby(level="period").rank(method="min").astype(int)
        times["groups and cities"] = times.get("groups and cities", 0.0) + time.process_time() - t
        out[kind] = (evaluated, groups, ranks)
    out["times"] = times
    return out


# ---------------------------------------------------------------------------------------------
# comparison and report
# ---------------------------------------------------------------------------------------------


def compare(eco: dict[str, Any], plain: dict[str, Any]) -> dict[str, int]:
    """Counts of rows compared and of differences between the two implementations."""
    diff = {"section-periods": 0, "class differs": 0, "main pollutants differ": 0,
            "groups": 0, "group level differs": 0, "cities": 0, "city rank differs": 0}  # fmt: skip
    for kind in ("month", "year"):
        results, groups = eco[kind]
        evaluated, plain_groups, ranks = plain[kind]
        ours = results.set_index(["site_id", "period"])
        theirs = evaluated.set_index(["site_id", "period"]).reindex(ours.index)
        diff["section-periods"] += len(ours)
        diff["class differs"] += int((ours["class_num"] != theirs["class_num"]).sum())
        mine = [[p["indicator"] for p in picks] for picks in ours["main_pollutants"]]
        diff["main pollutants differ"] += sum(
            a != b for a, b in zip(mine, theirs["main"], strict=True)
        )
        for row in groups.itertuples():
            if row.scope in ("river", "basin"):
                other = plain_groups[(row.scope, row.scope_id, row.period)]
                diff["groups"] += 1
                same = other["method"] == row.method and other["status"] == row.status_num
                if row.method == "shares":
                    same &= other["main"] == row.main_pollutants
                diff["group level differs"] += int(not same)
            elif row.scope == "city":
                diff["cities"] += 1
                diff["city rank differs"] += int(
                    ranks[(row.period, int(row.scope_id))] != row.cwqi_rank
                )
    return diff


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--sections", type=int, default=3600)
    ap.add_argument("--auto", type=int, default=1800, help="sections with an automatic station")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", action="store_true", help=f"also write {OUT}/water_bench_*.json")
    args = ap.parse_args()
    con = Console(stderr=True)
    rng = np.random.default_rng(args.seed)
    t = time.process_time()
    sections = make_sections(args.sections, rng)
    obs = make_observations(sections, min(args.auto, args.sections), rng)
    t_gen = time.process_time() - t
    con.print(f"generated {len(obs):,} values in {t_gen:.1f} s")
    t, wall = time.process_time(), time.perf_counter()
    eco = ecobasin_year(obs, sections)
    t_eco, wall_eco = time.process_time() - t, time.perf_counter() - wall
    t, wall = time.process_time(), time.perf_counter()
    plain = plain_year(obs, sections)
    t_plain, wall_plain = time.process_time() - t, time.perf_counter() - wall
    diff = compare(eco, plain)
    n_manual = int((obs["period"] == "sample").sum())
    table = Table(
        title=f"water year: {args.sections:,} sections, {n_manual:,} manual values (21 items × 12 "
        f"months), {len(obs) - n_manual:,} 4-hourly values ({min(args.auto, args.sections):,} "
        "automatic stations × 5 items)"
    )
    table.add_column("step 步骤")
    table.add_column("ecobasin CPU [s]", justify="right")
    table.add_column("plain pandas CPU [s]", justify="right")
    table.add_column("ratio", justify="right")
    for step in eco["times"]:
        a, b = eco["times"][step], plain["times"][step]
        table.add_row(step, f"{a:.2f}", f"{b:.2f}", f"{b / a:.1f}×")
    table.add_row(
        "total 合计", f"{t_eco:.2f}", f"{t_plain:.2f}", f"{t_plain / t_eco:.1f}×", style="bold"
    )
    table.add_row(
        "(wall clock)", f"{wall_eco:.2f}", f"{wall_plain:.2f}", f"{wall_plain / wall_eco:.1f}×"
    )
    con.print(table)
    con.print("CPU seconds of this process (time.process_time): the machine may be shared")
    checks = Table(title="same results 结果一致性")
    checks.add_column("compared")
    checks.add_column("count", justify="right")
    for key, value in diff.items():
        checks.add_row(key, f"{value:,}", style="red" if "differ" in key and value else None)
    con.print(checks)
    if args.json:
        OUT.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        record = {"args": vars(args), "values": len(obs), "generate_s": t_gen, "ecobasin_s": t_eco,
                  "plain_s": t_plain, "wall_ecobasin_s": wall_eco, "wall_plain_s": wall_plain, "steps": {"ecobasin": eco["times"], "plain": plain["times"]},
                  "differences": diff}  # fmt: skip
        (OUT / f"water_bench_{stamp}.json").write_text(json.dumps(record, indent=2))
    if any(v for k, v in diff.items() if "differ" in k):
        raise SystemExit("the implementations disagree (see the table)")
    if not math.isfinite(t_eco):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
