"""The demo's numerical-model guidance: SIMULATED runs of the last weeks of the demo year.

One run a day at 00 UTC (published 6 h later, 186 h long) at the region's city points, made
by :func:`ecobasin.demo.ctm_sim.simulate_city_guidance` from the demo's city hourly values and
stored as model ``CMAQ`` with ``simulated = true``, so the forecast page can show raw guidance
and MOS beside the other members; every table says the guidance is simulated.
"""

from __future__ import annotations

import pandas as pd

from ecobasin.demo.ctm_sim import simulate_city_guidance
from ecobasin.services.guidance import simulation_inputs
from ecobasin.store import Store
from ecobasin.store import guidance as store_guidance

__all__ = ["DEMO_RUN_DAYS", "install"]

#: Runs stored: enough for MOS's 45-pair window at every lead before the issue day.
DEMO_RUN_DAYS = 60


def install(store: Store, days: int = DEMO_RUN_DAYS, seed: int = 2025) -> int:
    """Store ``days`` daily SIMULATED runs ending on the last day of data; returns the rows."""
    hourly, cities = simulation_inputs(store)
    last = pd.Timestamp(hourly["time"].max()).tz_convert("UTC").normalize().tz_localize(None)
    run_days = pd.date_range(last - pd.Timedelta(days=days - 1), last, freq="D")
    runs = simulate_city_guidance(hourly, cities, list(run_days), seed=seed)
    rows = runs.rename(columns={"city": "point_id"}).assign(
        scope="city",
        model="CMAQ",
        run_start=runs["issued_at"] - pd.Timedelta(hours=6),
        simulated=True,
        source="demo (ecobasin.demo.ctm_sim)",
    )
    return store_guidance.write_guidance(store, rows).inserted
