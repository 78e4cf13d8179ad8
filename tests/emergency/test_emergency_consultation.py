"""Activation from the joint consultation's recommendation (issue 17, "Activation"): when a
city adopts the regional warning recommendation of an issued session, its list version in force
is activated for that window, once, naming the session as its origin; through the consultation
service and the CLI, on a real DuckDB file."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ecobasin.cli import app
from ecobasin.demo import consultation as demo_consultation
from ecobasin.services import consultation as service
from ecobasin.store import emergency as db
from ecobasin.store.database import Store
from ecobasin.workflow.emergency import ListRecord, ListVersion
from store_files import new_synced_store_file

CITIES = (510100, 510600, 510700, 510900, 511100)
AT = datetime(2025, 11, 3, 6, tzinfo=UTC)


def _chengdu_list() -> ListVersion:
    record = ListRecord(
        "91510100000000001X", "水泥厂", "青白江区", "建材", "key",
        ({"grade": "C", "effective_from": "2024-10-01"},), ("MN1",),
        {"orange": {"action": "limit", "ratio": 0.5}},
    )  # fmt: skip
    return ListVersion("510100", 1, datetime(2025, 10, 1, tzinfo=UTC), "annual", (record,))


@pytest.fixture(scope="module")
def issued_once(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """An issued session the province recommends: Chengdu orange, Deyang yellow (no list).

    Built once per module: the demo session's install drafts and signs its reports (charts and
    CJK PDFs, ~5 s of CPU), and every test here only needs the same starting state.
    """
    path = tmp_path_factory.mktemp("issued") / "store.duckdb"
    with Store(new_synced_store_file(path)) as store:
        session_id = demo_consultation.install(store, CITIES, 2025)["issued"]
        db.save_version(store, _chengdu_list(), "tests", AT)
        service.warning_act(store, session_id, "recommend", "province", AT, "会商建议 episode",
                            levels={510100: "orange", 510600: "yellow"})  # fmt: skip
    return path, session_id


@pytest.fixture
def issued(issued_once: tuple[Path, str], tmp_path: Path) -> tuple[Path, str]:
    """A private copy of :func:`issued_once` for one test (the tests write to it)."""
    template, session_id = issued_once
    assert not template.with_name(template.name + ".wal").exists()  # closed: one whole file
    path = tmp_path / template.name
    shutil.copyfile(template, path)
    return path, session_id


def test_an_adopted_recommendation_activates_the_list_once(issued: tuple[Path, str]) -> None:
    path, session_id = issued
    with Store(path) as store:
        assert service.activate_emergency_lists(store, session_id, AT) == []  # not adopted yet
        proposal = service.warning_proposal(store, session_id)
        start = proposal.starts[510100]
        row = service.city_decision(store, session_id, 510100, "orange", start, "", "cd_lead", AT)
        (key,) = row["emergency_activations"]
        act = db.activation(store, key)
        assert act is not None
        assert (act["level"], act["list_version"], act["state"]) == ("orange", 1, "active")
        assert act["start_time"] == start and act["end_time"] >= start + timedelta(hours=24)
        assert act["source"].startswith(f"consultation {session_id} ")
        assert "cd_lead" in act["source"]
        deyang = service.city_decision(
            store, session_id, 510600, "yellow", proposal.starts[510600], "", "dy_lead", AT
        )
        assert deyang["emergency_activations"] == []  # Deyang has no stored list
        assert service.activate_emergency_lists(store, session_id, AT) == []  # idempotent
        assert [a["activation_id"] for a in db.activations_of_city(store, "510100")] == [key]


def test_the_cli_activates_from_a_session(issued: tuple[Path, str]) -> None:
    path, session_id = issued
    with Store(path) as store:
        start = service.warning_proposal(store, session_id).starts[510100]
        service.warning_act(store, session_id, "city_ack", "cd_lead", AT, city=510100,
                            level="orange", start=start)  # fmt: skip
    runner = CliRunner()
    args = ["emergency", "activate-consultation", session_id, "--db", str(path)]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    (key,) = json.loads(first.stdout)["activations"]
    assert key.startswith("510100-orange-")
    again = runner.invoke(app, args)
    assert json.loads(again.stdout) == {"activations": []}
    missing = runner.invoke(app, ["emergency", "activate-consultation", "nope", "--db", str(path)])
    assert missing.exit_code != 0 and "nope" in missing.output


def test_an_escalation_adopted_after_the_first_upgrades_the_list(issued: tuple[Path, str]) -> None:
    """Regression: after Chengdu adopted orange, the province's escalation to red (adopted again
    by the city) left the orange activation alone and switched nothing on."""
    path, session_id = issued
    with Store(path) as store:
        start = service.warning_proposal(store, session_id).starts[510100]
        first = service.city_decision(store, session_id, 510100, "orange", start, "", "cd", AT)
        (orange,) = first["emergency_activations"]
        later = AT + timedelta(hours=6)
        service.warning_act(store, session_id, "escalate", "province", later, "加密会商 episode",
                            levels={510100: "red"}, episode="EP-1")  # fmt: skip
        second = service.city_decision(store, session_id, 510100, "red", start, "", "cd", later)
        (red,) = second["emergency_activations"]
        assert red.startswith("510100-red-")
        states = {a["activation_id"]: a["state"] for a in db.activations_of_city(store, "510100")}
        assert states == {orange: "cancelled", red: "active"}  # red from the same start
        service.warning_act(store, session_id, "lift", "province", later + timedelta(hours=12),
                            "空气质量好转 improved")  # fmt: skip
        lifted = db.activation(store, red)
        assert lifted is not None and lifted["end_time"] == later + timedelta(hours=12)
        assert "解除" in lifted["source"]
