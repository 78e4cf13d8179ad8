"""The demo's emergency list and past warning (issue 17): the report names exactly the
non-compliant, the silent and the flagged enterprises, each with its evidence."""

from __future__ import annotations

from pathlib import Path

from ecobasin import catalog
from ecobasin.demo import emergency as demo_emergency
from ecobasin.jobs.live_feed import LiveFeed, enterprise_fleet
from ecobasin.services import emergency as svc
from ecobasin.store import Store
from ecobasin.store import emergency as db
from store_files import new_synced_store_file


def test_demo_warning_report(tmp_path: Path) -> None:
    with Store(new_synced_store_file(tmp_path / "demo.duckdb")) as store:
        done = demo_emergency.install(store)
        verdicts = {r["uscc"][-4:-2]: r["verdict"] for r in db.verdicts(store, done["activation"])}
        assert verdicts == {
            "01": "compliant", "02": "compliant", "03": "non_compliant", "04": "non_compliant",
            "05": "insufficient_data", "06": "insufficient_data",
        }  # fmt: skip
        flagged = {
            r["uscc"][-4:-2]: r["flagged_hours"] for r in db.verdicts(store, done["activation"])
        }
        assert set(flagged["06"]) == {"M"} and flagged["01"] == {}
        power = {r["uscc"][-4:-2]: r["power"] for r in db.verdicts(store, done["activation"])}
        assert power["01"]["verdict"] == "compliant" and power["01"]["achieved_reduction"] > 0.5
        assert power["03"]["achieved_reduction"] < 0.2  # the meters show the line barely cut
        assert {f["uscc"][-4:-2] for f in db.findings(store)} == {"03", "04", "05", "06"}
        ev = svc.evidence(store, done["activation"], "9151010000DEMO03XX", "DEMO-EM-03", "NOx")
        assert len(ev) == 48 and set(ev["verdict"]) == {"non_compliant"}
        again = demo_emergency.install(store)  # a second install keeps one list version
        assert (
            again["activation"] == done["activation"]
            and len(db.list_versions(store, "510100")) == 1
        )


def test_the_demo_lists_the_live_simulators_enterprises(tmp_path: Path) -> None:
    """The stack-gas enterprises ``ecobasin demo`` feeds through the gateway join their own
    city's list after the past warning, so the pages and the live data name the same outlets."""
    region = catalog.load_region()
    fleet = enterprise_fleet(LiveFeed(enterprises=8, seed=2025), region)
    stacks = {d.site_id: str(d.city_code) for d in fleet if d.kind == "gas_outlet"}
    with Store(new_synced_store_file(tmp_path / "demo.duckdb")) as store:
        done = demo_emergency.install(store, live=fleet)
        assert done["live_listed"] == len(stacks) > 0
        listed = {
            o: city
            for city in set(stacks.values())
            for r in db.list_versions(store, city)[-1].records
            for o in r.outlets
            if o.startswith("SIM")
        }
        assert listed == stacks  # every live stack, in its own city's list, nothing else
        chengdu = db.list_versions(store, "510100")
        assert [v.version for v in chengdu] == [1, 2] and chengdu[1].reason.startswith("new")
        assert db.activation(store, done["activation"])["list_version"] == 1  # the past warning
        assert demo_emergency.install(store, live=fleet)["live_listed"] == 0  # a re-run adds none
