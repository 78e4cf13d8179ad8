"""The demo's cases and key tasks (issue 18): every supervision page and the Open311 view have
content, the board shows overdue, due-soon and running rows, and the demo installs once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from ecobasin import catalog
from ecobasin.demo import cases as demo
from ecobasin.services import cases as service
from ecobasin.services import inspections as inspections_service
from ecobasin.services import keytasks as keytasks_service
from ecobasin.store import Store
from ecobasin.store import cases as store_cases

NOW = datetime(2026, 12, 5, 4, 0, tzinfo=UTC)


def test_demo_cases_fill_every_view(tmp_path: Path) -> None:
    with Store(tmp_path / "demo.duckdb") as store:
        store.sync_catalog(catalog.load_region())
        made = demo.install(store, NOW)
        assert made["tasks"] == 6 and made["key_tasks"] == 6
        rows = service.board(store, NOW.date())
        assert any(r["overdue"] for r in rows) and any(r["due_soon"] for r in rows)
        assert any(not r["overdue"] and not r["due_soon"] for r in rows)
        states = {c.state for c in store_cases.cases(store)}
        assert {"transferred", "in_progress", "public_notice", "closed", "published"} <= states
        joint = store_cases.load(store, str(made["joint"]))
        assert len(store_cases.cases(store, parent=joint.case_id)) == 2
        public = service.open311_requests(store)
        assert any(r["service_notice"] for r in public) and any(
            r["status"] == "closed" for r in public
        )
        assert keytasks_service.board(store, None, "owner")
        # an inspection with its feedback problems: two tasks opened, one case linked
        detail = inspections_service.inspection_detail(store, int(str(made["inspection"])))
        assert [len(p["cases"]) for p in detail["problems"]] == [1, 1, 1]
        assert detail["problems"][2]["cases"][0]["state"] != "registered"  # the linked running case
        assert demo.install(store, NOW) == {}  # once
