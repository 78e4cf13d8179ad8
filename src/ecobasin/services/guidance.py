"""Air-quality model guidance: import runs, simulate runs for a demo, verify members (issue 21).

Shared by the CLI (``ecobasin guidance``) and the API. Reading a file is
:mod:`ecobasin.ingest.ctm`; the members and MOS are :mod:`ecobasin.forecast.guidance`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ecobasin.store import Store
from ecobasin.store import forecast as store_forecast
from ecobasin.store import guidance as store_guidance

__all__ = [
    "GuidanceImport",
    "guidance_points",
    "import_runs",
    "simulation_inputs",
    "verify_members",
]


@dataclass
class GuidanceImport:
    """What an import did: rows per file, counts, reasons of the records kept aside."""

    rows: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    simulated: bool = False


def guidance_points(store: Store) -> pd.DataFrame:
    """Where runs are read: the region's national air stations and its cities' points.

    Returns ``point``, ``lat``, ``lon``, ``scope`` (``site`` or ``city``).
    """
    cities = store.cities(region_only=True)
    sites = store.sites(cities=[int(c) for c in cities["code"]], kinds=["air_station"])
    sites = sites[sites["level"] == "national"]
    return pd.concat(
        [
            pd.DataFrame(
                {
                    "point": sites["site_id"],
                    "lat": sites["lat"],
                    "lon": sites["lon"],
                    "scope": "site",
                }
            ),
            pd.DataFrame(
                {
                    "point": cities["code"].astype(str),
                    "lat": cities["lat"],
                    "lon": cities["lon"],
                    "scope": "city",
                }
            ),
        ],
        ignore_index=True,
    ).dropna(subset=["lat", "lon"])


def import_runs(
    store: Store, files: Sequence[Path], *, method: str = "bilinear", issued_at: Any = None
) -> GuidanceImport:
    """Read model files at the region's points and store them; a bad file is reported, the
    others go on; points outside the grid and unknown units are kept aside in ``rejected``."""
    from ecobasin.ingest.ctm import read_ctm

    points = guidance_points(store)
    scope_of = dict(zip(points["point"].astype(str), points["scope"], strict=True))
    report = GuidanceImport()
    for path in files:
        batch = store.begin_batch("ctm_guidance", path.name)
        try:
            got = read_ctm(path, points, method=method, issued_at=issued_at)
        except (ValueError, OSError, KeyError) as error:
            report.failed.append(f"{path.name}: {error}")
            store.finish_batch(batch, {"failed": str(error)})
            continue
        rows = got.rows.rename(columns={"point": "point_id"})
        rows = rows.assign(
            scope=rows["point_id"].map(scope_of),
            model=got.model,
            simulated=got.simulated,
            source=path.name,
        )
        counts = store_guidance.write_guidance(store, rows)
        store.reject(got.rejects, batch)
        store.finish_batch(batch, {**counts.as_dict(), "rejected": len(got.rejects)})
        report.rows += len(rows)
        report.simulated |= got.simulated
        for key, n in counts.as_dict().items():
            report.counts[key] = report.counts.get(key, 0) + n
        for code in got.rejects["reason_code"]:
            report.reasons[code] = report.reasons.get(code, 0) + 1
    return report


def simulation_inputs(store: Store) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What the run simulator starts from: city hourly observations and the cities' points.

    Raises
    ------
    ValueError
        The store has no city hourly values.
    """
    hourly = store_forecast.city_hourly(store)
    if hourly.empty:
        raise ValueError("no city hourly observations to simulate from 没有城市小时数据")
    cities = store.cities(region_only=True)
    cities = cities[cities["code"].astype(str).isin(set(hourly["city"]))]
    points = pd.DataFrame(
        {"city": cities["code"].astype(str), "lat": cities["lat"], "lon": cities["lon"]}
    )
    return hourly, points.reset_index(drop=True)


def _most_runs(store: Store) -> str | None:
    runs = store_guidance.guidance_runs(store)
    return None if runs.empty else str(runs["model"].value_counts().index[0])


def verify_members(
    store: Store,
    *,
    test_from: Any,
    test_to: Any,
    model: str | None = None,
    leads: Sequence[int] = range(1, 8),
) -> pd.DataFrame:
    """Scores of the raw guidance and MOS beside persistence and climatology, by lead.

    ``model``: the guidance model (``CMAQ``, ``WRF-Chem``, ``CF``); default the one with the
    most runs stored (one model at a time: runs of two models are never averaged).

    Returns the score table of :func:`ecobasin.forecast.verify.score_table` (``model``,
    ``lead``, level accuracy, RMSE, POD/FAR/TS …) with a ``simulated`` column.
    """
    from ecobasin.forecast.aqi_range import forecast_aqi, observed_aqi
    from ecobasin.forecast.backtest import backtest
    from ecobasin.forecast.guidance import Mos, daily_guidance, runs_as_known
    from ecobasin.forecast.models import GBMConfig
    from ecobasin.forecast.verify import pair_with_observations, score_table

    daily, _ = store_forecast.forecast_inputs(store, with_met=False)
    model = model or _most_runs(store)
    hourly = store_guidance.city_guidance(store, model=model)
    start, end = pd.Timestamp(test_from), pd.Timestamp(test_to)
    issue_days = pd.date_range(start - pd.Timedelta(days=max(leads) + 60), end, freq="D")
    raw = daily_guidance(runs_as_known(hourly, list(issue_days)), leads)
    members = pd.concat([raw, Mos().correct(raw, daily)], ignore_index=True)
    base = backtest(daily, None, test_from=start, test_to=end, config=GBMConfig(use_met=False))
    keep = base.forecasts["model"].isin(["persistence", "climatology"])
    forecasts = pd.concat([base.forecasts[keep], members], ignore_index=True)
    forecasts = forecasts[(forecasts["target_day"] >= start) & (forecasts["target_day"] <= end)]
    pollutants = [p for p in ("PM2.5", "O3_8h") if p in set(forecasts["pollutant"])]
    pairs = pair_with_observations(
        forecast_aqi(forecasts), forecasts, daily, observed_aqi(daily), pollutants
    )
    scores = score_table(pairs, ("model", "lead"), pollutants)
    return scores.assign(simulated=bool(hourly["simulated"].any()) if not hourly.empty else False)
