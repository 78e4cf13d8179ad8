"""Benchmark: compliance of every listed outlet during a warning from hourly data (issue 17).

Usage: ``python bench/compliance_bench.py [--enterprises 5000] [--outlets 20000] [--hours 72]
[--quick]``

Generates a deterministic warning window of hourly records (measured concentration [mg/m³],
dry standard flow [m³/h], HJ 212 flag) for ``--outlets`` outlets of ``--enterprises``
enterprises: outlets that cut, that do not, that go silent, that send maintenance flags, that
stop (F flags, ~0 flow) or keep running under a stop order. It then checks them twice in the
same run and prints both times, the ratio and the load average:

* ``ecobasin.standards.emergency.check_enterprise`` per outlet (the engine the service uses);
* a straightforward pandas version (group-by over the whole table), the named baseline.

Both must give the same verdict for every outlet (exit 1 otherwise). The issue's floor: under
60 s for 5,000 enterprises × 20,000 outlets × 72 h.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import pandas as pd

from ecobasin.standards import emergency as em

SCENARIOS = ("cuts", "no_cut", "silent", "maintenance", "stops", "runs_under_stop")


def generate(outlets: int, hours: int, seed: int = 17) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The outlets (baseline, measure, scenario) and their hours, one row per outlet-hour."""
    rng = np.random.default_rng(seed)
    scenario = rng.choice(len(SCENARIOS), outlets)
    base_flow = rng.uniform(50_000, 400_000, outlets)
    base_conc = rng.uniform(50, 300, outlets)
    stop = np.isin(scenario, (4, 5))
    meta = pd.DataFrame({
        "outlet": np.arange(outlets), "scenario": np.array(SCENARIOS)[scenario],
        "action": np.where(stop, "stop", "limit"), "ratio": 0.5, "grace": 2,
        "baseline_flow": base_flow, "baseline_kg_h": base_conc * base_flow * 1e-6,
    })  # fmt: skip
    h = np.tile(np.arange(hours), outlets)
    o = np.repeat(np.arange(outlets), hours)
    s = scenario[o]
    factor = np.select([s == 0, s == 1, s == 4, s == 5], [0.4, 0.9, 0.0, 0.8], 0.4)
    factor = np.where(h < 2, 1.0, factor)  # full load during the grace hours
    flow = base_flow[o] * factor * rng.uniform(0.95, 1.05, o.size)
    conc = base_conc[o] * rng.uniform(0.9, 1.1, o.size)
    flag = np.where((s == 4) & (h >= 2), "F", "N").astype(object)
    flag[(s == 3) & (rng.random(o.size) < 0.4)] = "M"
    missing = (s == 2) & (h >= 30)
    conc[missing] = np.nan
    flow[missing] = np.nan
    flag[missing] = None
    rows = pd.DataFrame({"outlet": o, "h": h, "avg": conc, "flow": flow, "flag": flag})
    return meta, rows


def engine(meta: pd.DataFrame, rows: pd.DataFrame) -> dict[int, str]:
    """Verdicts through the engine, one outlet at a time."""
    out: dict[int, str] = {}
    avg, flow, flag = rows["avg"].to_numpy(), rows["flow"].to_numpy(), rows["flag"].to_numpy()
    hours = rows["h"].to_numpy()
    bounds = np.searchsorted(rows["outlet"].to_numpy(), np.arange(len(meta) + 1))
    for m in meta.itertuples(index=False):
        a, b = bounds[m.outlet], bounds[m.outlet + 1]
        series = [
            em.Hour(int(hours[i]), None if avg[i] != avg[i] else float(avg[i]),
                    None if flow[i] != flow[i] else float(flow[i]), flag[i])
            for i in range(a, b)
        ]  # fmt: skip
        measure = {"action": m.action, "ratio": m.ratio}
        res = em.check_enterprise(series, measure, m.baseline_kg_h,
                                  baseline_flow_m3_h=m.baseline_flow, grace_hours=m.grace)  # fmt: skip
        out[int(m.outlet)] = res.verdict
    return out


def pandas_version(meta: pd.DataFrame, rows: pd.DataFrame) -> dict[int, str]:
    """The same rules written directly with pandas group-bys (the baseline)."""
    cfg = em.compliance_config()
    df = rows.merge(meta, on="outlet")
    valid = df["flag"].eq("N") & df["avg"].notna() & df["flow"].notna()
    good = valid | df["flag"].eq("F")
    df["good"] = good
    df["block"] = df["h"] // 24
    blocks = df.groupby(["outlet", "block"]).agg(good=("good", "sum"), n=("h", "size"))
    short = blocks["good"] < cfg["min_valid_hours_per_24"] * blocks["n"] / 24 - 1e-9
    insufficient = short.groupby(level=0).any()
    judged = df[good & (df["h"] >= df["grace"])].copy()
    judged["mass"] = judged["avg"].fillna(0) * judged["flow"].fillna(0) * 1e-6
    judged["frac"] = judged["flow"].fillna(0) / judged["baseline_flow"]
    judged["f_running"] = judged["flag"].eq("F") & (judged["flow"].fillna(0) > 0)
    g = judged.groupby("outlet").agg(mass=("mass", "sum"), n=("h", "size"),
                                     max_frac=("frac", "max"), f_running=("f_running", "any"))  # fmt: skip
    res = meta.set_index("outlet").join(g)
    achieved = 1 - res["mass"] / (res["baseline_kg_h"] * res["n"])
    limit_ok = (achieved >= res["ratio"] - 1e-9) & ~res["f_running"].astype(bool)
    stop_ok = res["max_frac"] <= cfg["stop_max_flow_fraction"] + 1e-9
    ok = np.where(res["action"] == "stop", stop_ok, limit_ok)
    verdict = np.where(ok, "compliant", "non_compliant")
    verdict = np.where(insufficient.reindex(res.index).to_numpy(), "insufficient_data", verdict)
    return dict(zip(res.index.astype(int), verdict, strict=True))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=5000)
    parser.add_argument("--outlets", type=int, default=20000)
    parser.add_argument("--hours", type=int, default=72)
    parser.add_argument("--quick", action="store_true", help="500 enterprises, 2,000 outlets")
    args = parser.parse_args()
    outlets = 2000 if args.quick else args.outlets
    enterprises = 500 if args.quick else args.enterprises
    meta, rows = generate(outlets, args.hours)
    t0 = time.perf_counter()
    ours = engine(meta, rows)
    t1 = time.perf_counter()
    theirs = pandas_version(meta, rows)
    t2 = time.perf_counter()
    differ = [o for o in ours if ours[o] != theirs[o]]
    counts = pd.Series(list(ours.values())).value_counts().to_dict()
    print(
        f"{enterprises} enterprises × {outlets} outlets × {args.hours} h = {len(rows):,} outlet-hours"
    )
    print(f"verdicts: {counts}")
    print(f"engine (per outlet):  {t1 - t0:8.2f} s")
    print(f"pandas (baseline):    {t2 - t1:8.2f} s")
    print(f"ratio engine / pandas: {(t1 - t0) / (t2 - t1):.2f}")
    print(f"load average (1, 5, 15 min): {os.getloadavg()}")
    print(f"same verdicts: {not differ} ({len(differ)} differ)")
    floor = (t1 - t0) < 60 or args.quick
    return 0 if not differ and floor else 1


if __name__ == "__main__":
    sys.exit(main())
