"""List versions, activation and the compliance check on a real DuckDB file with stored hourly
online data (emergency.md §1.5, §2.5): the compliant, the non-compliant, the silent and the
flagged enterprise are each named, with their baseline days and evidence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from ecobasin.services import emergency as svc
from ecobasin.store import emergency as db
from ecobasin.store.database import Store
from ecobasin.store.forecast import replace_warnings
from ecobasin.workflow.emergency import ListRecord, ListVersion, apply_change
from store_files import new_synced_store_file

T0 = datetime(2025, 1, 1, tzinfo=UTC)
START = T0 + timedelta(days=7)  # warning start after 7 reference days
END = START + timedelta(hours=24)
NOW = END + timedelta(hours=1)


def _record(uscc: str, action: str, district: str) -> ListRecord:
    measure = {"action": action, "ratio": 0.5} if action == "limit" else {"action": action}
    return ListRecord(
        uscc,
        f"企业{uscc}",
        district,
        "水泥",
        "key",
        ({"grade": "C", "effective_from": "2024-10-01"},),
        (f"MN{uscc}",),
        {"orange": measure},
    )


def _hours(
    store: Store,
    outlet: str,
    conc: list[float | None],
    flow_m3_s: list[float | None],
    flags: list[str | None],
    start: datetime,
) -> None:
    times = [start + timedelta(hours=i + 1) for i in range(len(conc))]
    rows = []
    for param, values in (("FG_NOx", conc), ("FG_flow", flow_m3_s)):
        for t, v, f in zip(times, values, flags, strict=True):
            if v is not None:
                rows.append(
                    {
                        "site_id": outlet,
                        "parameter": param,
                        "period": "1h",
                        "time": t,
                        "value": float(v),
                        "flag": f,
                    }
                )
    frame = pd.DataFrame(rows)
    frame["time"] = frame["time"].astype("datetime64[us, UTC]")
    store.write_observations(frame, store.begin_batch("test", "tests"))


@pytest.fixture
def store(tmp_path: Path):
    with Store(new_synced_store_file(tmp_path / "store.duckdb")) as opened:
        outlets = [f"MN{u}" for u in ("OK", "BAD", "SIL", "MNT")]
        opened.upsert_sites(
            pd.DataFrame(
                {
                    "site_id": outlets,
                    "kind": "gas_outlet",
                    "level": "enterprise",
                    "city_code": 510100,
                    "name_zh": outlets,
                    "name_en": outlets,
                    "lon": 104.0,
                    "lat": 30.6,
                }
            ),
            "tests",
        )
        for o in outlets:  # 7 normal days: 200 mg/m³ × 50 m³/s = 36 kg/h
            _hours(opened, o, [200.0] * 168, [50.0] * 168, ["N"] * 168, T0)
        _hours(opened, "MNOK", [200.0] * 24, [20.0] * 24, ["N"] * 24, START)  # -60 %
        _hours(opened, "MNBAD", [200.0] * 24, [45.0] * 24, ["N"] * 24, START)  # -10 %
        _hours(opened, "MNSIL", [200.0] * 10, [20.0] * 10, ["N"] * 10, START)  # then silent
        _hours(
            opened, "MNMNT", [200.0] * 24, [20.0] * 12 + [50.0] * 12, ["N"] * 12 + ["M"] * 12, START
        )  # maintenance flags over half the day
        yield opened


def test_the_check_names_each_enterprise_with_its_evidence(store: Store) -> None:
    v1 = ListVersion(
        "510100",
        1,
        T0 - timedelta(days=90),
        "annual",
        tuple(
            _record(u, "limit", d)
            for u, d in (("OK", "锦江区"), ("BAD", "青羊区"), ("SIL", "金牛区"), ("MNT", "武侯区"))
        ),
    )
    db.save_version(store, v1, "tests", T0)
    with pytest.raises(ValueError, match="exists"):
        db.save_version(store, v1, "tests", T0)
    key = svc.activate_for_warning(store, "510100", "orange", START, END, "forecast", START)
    rows = {r["uscc"]: r for r in svc.end_and_check(store, key, NOW)}
    assert {u: r["verdict"] for u, r in rows.items()} == {
        "OK": "compliant",
        "BAD": "non_compliant",
        "SIL": "insufficient_data",
        "MNT": "insufficient_data",
    }
    assert rows["OK"]["baseline_kg_h"] == pytest.approx(36.0)
    assert rows["OK"]["numbers"]["achieved_reduction"] == pytest.approx(0.6)
    assert rows["MNT"]["flagged_hours"] == {"M": list(range(12, 24))}
    stored = db.verdicts(store, key)
    assert len(stored) == 4 and stored[0]["baseline_days"]["used"][0] == "2025-01-01"
    found = {(f["uscc"], f["kind"], f["owner"]) for f in db.findings(store)}
    assert found == {
        ("BAD", "non_compliant", "青羊区"),
        ("SIL", "insufficient_data", "金牛区"),
        ("MNT", "insufficient_data", "武侯区"),
    }
    assert db.activation(store, key)["state"] == "checked"


def test_a_later_version_does_not_change_a_past_warning(store: Store) -> None:
    v1 = ListVersion(
        "510100", 1, T0 - timedelta(days=90), "annual", (_record("OK", "limit", "锦江区"),)
    )
    v2 = apply_change(v1, {"kind": "closed", "uscc": "OK"}, END + timedelta(days=1))
    db.save_version(store, v1, "tests", T0)
    db.save_version(store, v2, "tests", T0)
    key = svc.activate_for_warning(store, "510100", "orange", START, END, "forecast", START)
    assert db.activation(store, key)["list_version"] == 1
    assert [r["uscc"] for r in svc.check_activation(store, key, NOW)] == ["OK"]


def test_a_stored_city_warning_switches_the_list_on_once(store: Store) -> None:
    v1 = ListVersion("510100", 1, T0 - timedelta(days=90), "annual",
                     (_record("OK", "limit", "锦江区"), _record("BAD", "limit", "青羊区")))  # fmt: skip
    db.save_version(store, v1, "tests", T0)
    warning = {
        "scope": "city", "scope_id": "510100", "issue_day": START.date(), "issued_at": START,
        "model": "lgbm", "rule": "HBDQH-2019-648", "level": "orange", "start_time": START,
        "end_time": END, "basis": {"days": []}, "reason_zh": "预报", "reason_en": "forecast",
        "author": "tests",
    }  # fmt: skip
    other = {**warning, "scope_id": "510600"}  # Deyang has no stored list: nothing happens
    replace_warnings(store, pd.DataFrame([warning, other]), issue_day=START.date(), model="lgbm")
    made = svc.activate_from_warnings(store, START.date(), START)
    assert len(made) == 1 and made[0].startswith("510100-orange-")
    assert svc.activate_from_warnings(store, START.date(), START) == []  # a rerun changes nothing
    verdicts = {r["uscc"]: r["verdict"] for r in svc.end_and_check(store, made[0], NOW)}
    assert verdicts == {"OK": "compliant", "BAD": "non_compliant"}
    assert db.activation(store, made[0])["source"].startswith("warning ")


def test_a_warning_given_in_china_time_is_checked_under_one_id(store: Store) -> None:
    """Regression: the id came from the start's own clock, so a start given in +08:00 was saved
    as one activation and, read back in UTC, checked as a second one (left 'active')."""
    from ecobasin.timebase import CST

    v1 = ListVersion(
        "510100", 1, T0 - timedelta(days=90), "annual", (_record("OK", "limit", "锦江区"),)
    )
    db.save_version(store, v1, "tests", T0)
    key = svc.activate_for_warning(
        store, "510100", "orange", START.astimezone(CST), END.astimezone(CST), "forecast", START
    )
    svc.end_and_check(store, key, NOW)
    acts = db.activations_of_city(store, "510100")
    assert [(a["activation_id"], a["state"]) for a in acts] == [(key, "checked")]
    assert key == f"510100-orange-{START.strftime('%Y-%m-%dT%H')}"  # the UTC hour


def test_an_upgrade_during_a_warning_splits_it_by_level(store: Store) -> None:
    """Regression: a second warning at another level for the same hours made a second
    activation beside the first, so the same hours were checked against both levels."""
    v1 = ListVersion(
        "510100", 1, T0 - timedelta(days=90), "annual", (_record("OK", "limit", "锦江区"),)
    )
    db.save_version(store, v1, "tests", T0)
    orange = svc.activate_for_warning(store, "510100", "orange", START, END, "forecast", START)
    upgrade_at = START + timedelta(hours=8)
    red = svc.activate_for_warning(
        store, "510100", "red", upgrade_at, END + timedelta(hours=12), "consultation", upgrade_at
    )
    acts = {a["activation_id"]: a for a in db.activations_of_city(store, "510100")}
    assert set(acts) == {orange, red}
    assert acts[orange]["end_time"] == upgrade_at and acts[orange]["state"] == "active"
    assert "级别调整" in acts[orange]["source"] and "red" in acts[orange]["source"]
    assert (acts[red]["level"], acts[red]["start_time"]) == ("red", upgrade_at)
    again = svc.activate_for_warning(store, "510100", "red", upgrade_at + timedelta(hours=1),
                                     END, "forecast", upgrade_at)  # fmt: skip
    assert again == red and len(db.activations_of_city(store, "510100")) == 2  # inside red
    assert svc.lift_warning(store, "510100", END, "tests", END) == [red]
    assert db.activation(store, red)["end_time"] == END
