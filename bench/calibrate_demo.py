"""Calibration of the demo generator against real hourly PM2.5 in Chengdu.

Baseline: hourly PM2.5 at the national stations 草堂寺 and 沙河铺, Chengdu, 2013–2015
(``../shared/data/chengdu_hourly_pm25_weather_2013_2015.csv.gz``; UCI "PM2.5 Data of Five Chinese
Cities", CC BY 4.0), scaled to the assumed recent annual mean of 40 µg/m³. The file's hour labels
are read as hour-beginning and moved one hour later to the hour-ending convention (see
``docs/demo-data.md``).

Prints the real and generated statistics side by side with their ratio (rich table), then the
generated-only checks (good-air days, ozone, co-variation, gaps, bad values) and the generation
speed. With matplotlib importable (not a dependency) ``--png PATH`` saves a comparison chart.

Usage::

    python bench/calibrate_demo.py [--seed 2025] [--year 2025] [--png demo-calibration.png]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table

from ecobasin import catalog
from ecobasin.demo import region as demo

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REAL_FILE = DATA / "chengdu_hourly_pm25_weather_2013_2015.csv.gz"
REAL_STATIONS = ("PM_Caotangsi", "PM_Shahepu")
TARGET_MEAN = 40.0  # assumed recent Chengdu annual mean PM2.5 [µg/m³]
PERCENTILES = (5, 25, 50, 75, 95, 99)
#: HJ 633-2012 table 1, the concentrations at IAQI 100 (24-h means; O3 as MDA8) [µg/m³, CO mg/m³]
IAQI_100 = {"PM2.5": 75.0, "PM10": 150.0, "SO2": 150.0, "NO2": 80.0, "CO": 4.0, "O3": 160.0}


def series_stats(hourly: pd.DataFrame) -> dict[str, object]:
    """Statistics of hourly series on a complete local hour-ending grid (one column a station).

    Parameters
    ----------
    hourly : pandas.DataFrame
        Index: naive local hour-ending labels (CST); columns: stations; values [µg/m³], NaN gaps.
    """
    stacked = hourly.stack().dropna()
    mean = float(stacked.mean())
    label = hourly.index
    day = (label - pd.Timedelta(hours=1)).normalize()
    month = (label - pd.Timedelta(hours=1)).month
    daily = hourly.groupby(day).mean()
    daily_all = daily.stack()
    monthly = hourly.groupby(month).mean().mean(axis=1) / mean
    diurnal = hourly.groupby(label.hour).mean().mean(axis=1)
    diurnal = diurnal / diurnal.mean()
    corr_h = hourly.corr().to_numpy()
    corr_d = daily.corr().to_numpy()
    off = ~np.eye(len(hourly.columns), dtype=bool)
    return {
        "mean": mean,
        "percentiles": np.percentile(stacked, PERCENTILES),
        "monthly": monthly,
        "diurnal": diurnal,
        "acf1": float(np.mean([hourly[c].autocorr(1) for c in hourly])),
        "acf24": float(np.mean([hourly[c].autocorr(24) for c in hourly])),
        "daily_acf1": float(np.mean([daily[c].autocorr(1) for c in daily])),
        "daily_cv": float(daily_all.std() / daily_all.mean()),
        "days_over_75": float((daily_all > 75).mean()),
        "days_over_150": float((daily_all > 150).mean()),
        "station_corr_hourly": float(corr_h[off].mean()),
        "station_corr_daily": float(corr_d[off].mean()),
        "missing": float(hourly.isna().mean().mean()),
        "winter_summer": float(monthly.loc[[12, 1, 2]].mean() / monthly.loc[[6, 7, 8]].mean()),
    }


def real_hourly() -> dict[int, pd.DataFrame]:
    """The real series per year, each scaled to ``TARGET_MEAN``, on an hour-ending local grid.

    Scaling each year by itself removes the 2013–2015 downward trend (annual means 97, 75 and
    62 µg/m³), which would otherwise widen the pooled distribution.
    """
    frame = pd.read_csv(REAL_FILE, parse_dates=["datetime_local"])
    frame = frame.set_index("datetime_local")[list(REAL_STATIONS)].astype("float64")
    frame.index = frame.index + pd.Timedelta(hours=1)  # hour-beginning → hour-ending
    year = (frame.index - pd.Timedelta(hours=1)).year
    out = {}
    for y in (2013, 2014, 2015):
        part = frame[year == y]
        out[y] = part * (TARGET_MEAN / float(part.stack().mean()))
    return out


def mean_stats(stats: list[dict[str, object]]) -> dict[str, object]:
    """Average statistics over years (scalars, arrays and Series alike)."""
    return {
        key: sum(s[key] for s in stats[1:]) / len(stats) + stats[0][key] / len(stats)  # type: ignore[operator]
        for key in stats[0]
    }


def clean(frame: pd.DataFrame) -> pd.DataFrame:
    """Generated rows without the deliberate bad values (the import validation's job)."""
    registry = catalog.parameters("air")
    ceiling = frame["parameter"].map(registry["max_value"]).astype("float64")
    return frame[(frame["value"] >= 0) & (frame["value"] <= ceiling)]


def wide(frame: pd.DataFrame, parameter: str, sites: pd.Series, year: int) -> pd.DataFrame:
    """Generated values of one parameter as local-label hours × stations (NaN for gaps)."""
    part = frame[(frame["parameter"] == parameter) & frame["site_id"].isin(sites)]
    table = part.pivot(index="time", columns="site_id", values="value")
    grid = pd.date_range(
        pd.Timestamp(year=year, month=1, day=1, hour=1), periods=len(_hours(year)), freq="h"
    )
    table.index = table.index.tz_convert("Asia/Shanghai").tz_localize(None)
    return table.reindex(grid)


def _hours(year: int) -> pd.DatetimeIndex:
    return pd.date_range(f"{year}-01-01 01:00", f"{year + 1}-01-01 00:00", freq="h")


def mda8(hourly: pd.DataFrame) -> pd.DataFrame:
    """Daily maximum 8-h running mean (hour-ending labels, at least 6 of 8 hours) [µg/m³]."""
    running = hourly.rolling(8, min_periods=6).mean()
    day = (running.index - pd.Timedelta(hours=1)).normalize()
    return running.groupby(day).max()


def good_days(clean_frame: pd.DataFrame, sites: pd.Series, year: int) -> float:
    """Fraction of days whose city-average daily AQI would be ≤ 100 (all IAQIs ≤ 100)."""
    ok = None
    for parameter, limit in IAQI_100.items():
        table = wide(clean_frame, parameter, sites, year).mean(axis=1)
        if parameter == "O3":
            daily = mda8(table.to_frame())[0]
        else:
            daily = table.groupby((table.index - pd.Timedelta(hours=1)).normalize()).mean()
        day_ok = daily <= limit
        ok = day_ok if ok is None else ok & day_ok
    assert ok is not None
    return float(ok.mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--png", type=Path, default=None, help="save a chart (needs matplotlib)")
    args = parser.parse_args()
    console = Console()

    region = catalog.load_region()
    started = time.perf_counter()
    sites = demo.generate_sites(region, seed=args.seed)
    site_seconds = time.perf_counter() - started
    started = time.perf_counter()
    frame = demo.generate_hourly(sites, year=args.year, seed=args.seed)
    seconds = time.perf_counter() - started

    good = clean(frame)
    chengdu = sites.loc[sites["city_code"] == 510100, "site_id"]
    generated = series_stats(wide(good, "PM2.5", chengdu, args.year))

    if not REAL_FILE.exists():
        console.print(f"[yellow]real data not found at {REAL_FILE}; generated figures only")
        real = None
    else:
        real = mean_stats([series_stats(part) for part in real_hourly().values()])
        console.print(
            f"Baseline: {', '.join(REAL_STATIONS)}, statistics of 2013, 2014 and 2015 averaged, "
            f"each year scaled to an annual mean of {TARGET_MEAN:.0f} µg/m³ (assumed recent level)"
        )

    table = Table(title=f"PM2.5, Chengdu: real (scaled) vs generated (seed {args.seed})")
    for column in ("statistic", "real", "generated", "ratio gen/real"):
        table.add_column(column, justify="left" if column == "statistic" else "right")

    def row(name: str, r: float | None, g: float, fmt: str = "{:.2f}") -> None:
        ratio = "" if r is None or r == 0 else f"{g / r:.2f}"
        table.add_row(name, "" if r is None else fmt.format(r), fmt.format(g), ratio)

    def real_value(key: str) -> float | None:
        return None if real is None else float(real[key])  # type: ignore[arg-type]

    row("annual mean [µg/m³]", real_value("mean"), float(generated["mean"]), "{:.1f}")
    for i, q in enumerate(PERCENTILES):
        r = None if real is None else float(real["percentiles"][i])  # type: ignore[index]
        row(f"P{q} hourly [µg/m³]", r, float(generated["percentiles"][i]), "{:.0f}")  # type: ignore[index]
    for key, name in (
        ("acf1", "lag-1 h autocorrelation"),
        ("acf24", "lag-24 h autocorrelation"),
        ("daily_acf1", "lag-1 d autocorrelation (daily means)"),
        ("daily_cv", "daily mean CV"),
        ("days_over_75", "share of station-days > 75"),
        ("days_over_150", "share of station-days > 150"),
        ("winter_summer", "DJF / JJA mean ratio"),
        ("station_corr_hourly", "station–station corr (hourly)"),
        ("station_corr_daily", "station–station corr (daily)"),
        ("missing", "missing hours share"),
    ):
        row(name, real_value(key), float(generated[key]), "{:.3f}")  # type: ignore[arg-type]
    for m in range(1, 13):
        r = None if real is None else float(real["monthly"].loc[m])  # type: ignore[attr-defined]
        row(f"month {m:02d} / annual", r, float(generated["monthly"].loc[m]))  # type: ignore[attr-defined]
    for h in range(24):
        r = None if real is None else float(real["diurnal"].loc[h])  # type: ignore[attr-defined]
        row(f"hour {h or 24:02d}:00 / daily", r, float(generated["diurnal"].loc[h]))  # type: ignore[attr-defined]
    console.print(table)

    # generated-only figures
    other = Table(title="Generated region: other figures")
    other.add_column("figure")
    other.add_column("value", justify="right")
    other.add_column("target / note")
    other.add_row(
        "Chengdu good-air days (city-mean daily AQI ≤ 100)",
        f"{good_days(good, chengdu, args.year):.1%}",
        "76.5 % in 2020 (published, region_facts.md)",
    )
    o3 = wide(good, "O3", chengdu, args.year).mean(axis=1).to_frame()
    o3_days = mda8(o3)[0]
    other.add_row("Chengdu O3 MDA8 > 160 days", f"{int((o3_days > 160).sum())}", "illustrative")
    other.add_row("Chengdu O3 MDA8 max [µg/m³]", f"{o3_days.max():.0f}", "> 160–200 wanted")
    pm = wide(good, "PM2.5", chengdu, args.year).mean(axis=1)
    pm_daily = pm.groupby((pm.index - pd.Timedelta(hours=1)).normalize()).mean()
    other.add_row(
        "Chengdu PM2.5 days > 75 / > 150",
        f"{(pm_daily > 75).sum()} / {(pm_daily > 150).sum()}",
        "illustrative",
    )
    city_daily = {}
    for code in region.cities:
        ids = sites.loc[sites["city_code"] == code, "site_id"]
        s = wide(good, "PM2.5", ids, args.year).mean(axis=1)
        city_daily[code] = s.groupby((s.index - pd.Timedelta(hours=1)).normalize()).mean()
    corr = pd.DataFrame(city_daily).corr()
    other.add_row("daily PM2.5 corr Chengdu–Deyang", f"{corr.loc[510100, 510600]:.2f}", "> 0.6")
    other.add_row("daily PM2.5 corr Chengdu–Meishan", f"{corr.loc[510100, 511400]:.2f}", "> 0.6")
    other.add_row("daily PM2.5 corr Mianyang–Ya'an", f"{corr.loc[510700, 511800]:.2f}", "farthest")
    hours = len(_hours(args.year))
    expected = len(sites) * len(demo.PARAMETERS) * hours
    other.add_row("missing hours share", f"{1 - len(frame) / expected:.2%}", "2–4 %")
    bad = len(frame) - len(good)
    other.add_row(
        "bad values (negative / spike)",
        f"{(frame['value'] < 0).sum()} / {bad - (frame['value'] < 0).sum()}",
        f"{bad / len(frame):.4%} of rows",
    )
    other.add_row("stations", f"{len(sites)}", "41 in the national network")
    other.add_row("rows", f"{len(frame):,}", "")
    other.add_row("generate_sites [s]", f"{site_seconds:.2f}", "")
    other.add_row(
        "generate_hourly [s]", f"{seconds:.2f}", f"{len(frame) / seconds / 1e6:.2f} M rows/s"
    )
    console.print(other)

    means = good.merge(sites[["site_id", "city_code"]], on="site_id")
    means = means.pivot_table(
        index="city_code", columns="parameter", values="value", aggfunc="mean"
    ).loc[list(region.cities), list(demo.PARAMETERS)]
    means.index = [str(catalog.cities().loc[c, "name_en"]) for c in means.index]
    annual = Table(title="Generated annual means by city [µg/m³; CO mg/m³]")
    annual.add_column("city")
    for parameter in demo.PARAMETERS:
        annual.add_column(parameter, justify="right")
    for city, values in means.iterrows():
        annual.add_row(
            str(city), *[f"{v:.2f}" if p == "CO" else f"{v:.0f}" for p, v in values.items()]
        )
    console.print(annual)

    if args.png is not None:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            console.print("[yellow]matplotlib is not installed; no chart saved")
            return
        fig, axes = plt.subplots(1, 3, figsize=(14, 4))
        gm, gd = generated["monthly"], generated["diurnal"]
        axes[0].plot(range(1, 13), gm, "o-", label="generated")  # type: ignore[arg-type]
        axes[1].plot(range(24), gd, "o-", label="generated")  # type: ignore[arg-type]
        axes[2].plot(PERCENTILES, generated["percentiles"], "o-", label="generated")  # type: ignore[arg-type]
        if real is not None:
            axes[0].plot(range(1, 13), real["monthly"], "s--", label="real (scaled)")  # type: ignore[arg-type]
            axes[1].plot(range(24), real["diurnal"], "s--", label="real (scaled)")  # type: ignore[arg-type]
            axes[2].plot(PERCENTILES, real["percentiles"], "s--", label="real (scaled)")  # type: ignore[arg-type]
        axes[0].set(title="monthly mean / annual", xlabel="month")
        axes[1].set(title="diurnal / daily (hour-ending, CST)", xlabel="hour")
        axes[2].set(title="hourly percentiles [µg/m³]", xlabel="percentile")
        for ax in axes:
            ax.legend()
        fig.tight_layout()
        fig.savefig(args.png, dpi=120)
        console.print(f"chart saved to {args.png}")


if __name__ == "__main__":
    main()
