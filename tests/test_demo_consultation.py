"""The consultation demo: an issued session with its report, and one collecting.

Read from the session's demo database (``ecobasin demo`` installs the consultation demo for the
region's cities and 2025), not installed a second time.
"""

from __future__ import annotations

import re
from pathlib import Path

from demo_database import DemoDatabase
from ecobasin import catalog
from ecobasin.demo import consultation as demo_consultation
from ecobasin.store import Store
from ecobasin.store import consultation as store_consultation


def installed_sessions(demo: DemoDatabase) -> dict[str, str]:
    """The session ids the consultation demo's install returned, as ``ecobasin demo`` printed."""
    found = re.search(r"issued 已签发 (\S+), collecting 收集中 (\S+)", demo.output)
    assert found is not None, demo.output
    return {"issued": found[1], "collecting": found[2]}


def test_the_demo_has_an_issued_and_a_collecting_session(
    demo_database: DemoDatabase, demo_db: Path
) -> None:
    cities = catalog.load_region().cities
    made = installed_sessions(demo_database)
    with Store(demo_db, read_only=True) as store:
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
