"""The consultation demo: an issued session with its report, and one collecting."""

from __future__ import annotations

from pathlib import Path

from ecobasin import catalog
from ecobasin.demo import consultation as demo_consultation
from ecobasin.store import Store
from ecobasin.store import consultation as store_consultation
from store_files import new_synced_store_file


def test_the_demo_has_an_issued_and_a_collecting_session(tmp_path: Path) -> None:
    cities = catalog.load_region().cities
    with Store(new_synced_store_file(tmp_path / "demo.duckdb")) as store:
        made = demo_consultation.install(store, cities, 2025)
        issued = store_consultation.load(store, made["issued"])
        collecting = store_consultation.load(store, made["collecting"])
        media, html = store_consultation.report(store, issued.report_hash)
        assert demo_consultation.install(store, cities, 2025) == {}  # once only
    assert issued.state == "issued" and not issued.unresolved() and not issued.consensus_gaps()
    assert any(s.late for s in issued.submissions.values())
    assert {d.city for d in issued.divergences if d.kind == "model_gap"} == set(cities[-2:])
    assert media.startswith("text/html") and "雅安市" in html.decode("utf-8")
    assert "yellow" in {level for level, _ in issued.warning.values()}  # 648号 on the consensus
    assert collecting.state == "collecting"
    assert {c for c, _ in collecting.submissions} == set(cities[:5])
