"""The illustrative machinery demo: a few hundred machines in every city, failed spot checks and
the findings the registry page shows."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from ecobasin import catalog
from ecobasin.demo import machinery as demo
from ecobasin.services import machinery as service
from ecobasin.store import Store
from ecobasin.timebase import CST

pytestmark = pytest.mark.slow  # a few hundred spot checks and check runs in DuckDB


def test_demo_registry_covers_the_eight_cities_with_failures_and_findings(tmp_path: Path) -> None:
    region = catalog.load_region()
    with Store(tmp_path / "demo.duckdb") as store:
        store.sync_catalog(region)
        done = demo.install(store, list(region.cities), year=2025)
        counts = service.public_counts(store)
        zones = service.zone_features(store, datetime(2025, 6, 1, tzinfo=CST))
    assert 300 <= done["machines"] <= 400
    assert all(row["machines"] >= 40 for row in counts)
    assert done["failed"] > 0 and done["by_rule"]["C5"] == done["failed"]
    assert {"C1", "C5", "C9"} <= set(done["by_rule"])
    assert [f["properties"]["city"] for f in zones["features"]] == [510100]
    # terminal pings on sites (one far report kept aside as a speed jump) and gate checks
    assert done["pings"] >= 8 * 4 and done["pings_rejected"] == 1 and done["gate_checks"] == 3
