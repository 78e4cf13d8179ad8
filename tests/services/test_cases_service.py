"""Cases through the services on a real DuckDB file: the trail, joint transfer, attachments,
findings, the Open311 view (issue 18)."""

from __future__ import annotations

import io
import stat
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from PIL import Image

from ecobasin import catalog
from ecobasin.services import cases as service
from ecobasin.store import Store
from ecobasin.store import cases as store_cases
from ecobasin.workflow.cases import ACCEPTANCE_CRITERIA, CaseError
from store_files import new_store_file

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=CST)
OPEN311_FIELDS = {
    "service_request_id", "status", "status_notes", "service_name", "service_code",
    "description", "agency_responsible", "service_notice", "requested_datetime",
    "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat", "long",
    "media_url",
}  # fmt: skip


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store(new_store_file(tmp_path / "cases.duckdb"))
    s.sync_catalog(catalog.load_region())
    return s


def png(color: str = "red", size: tuple[int, int] = (800, 600)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return out.getvalue()


def task_facts(city: int = 510100) -> dict[str, object]:
    return {
        "source_type": "inspection_feedback", "title": "工地扬尘", "problem_text": "某工地未覆盖",
        "category": "construction_sites", "city_code": city, "location_text": "成华区某工地",
        "contact_phone": "13800000000",
    }  # fmt: skip


def test_trail_is_append_only_and_replays_to_the_state(store: Store) -> None:
    case = service.register(store, "task", task_facts(), "so", "supervision_office", T0)
    assert case.case_id == "DC-510100-2026-0001"
    service.act(
        store, case.case_id, "transfer", "so", "supervision_office",
        {"lead_unit": "成华区住建局", "acceptance_level": "city", "rectify_due": date(2026, 6, 30),
         "term_type": "限期"}, T0 + timedelta(hours=1),
    )  # fmt: skip
    trail = store_cases.transitions(store, case.case_id)
    assert [t["event"] for t in trail] == ["register", "transfer"]
    assert trail[-1]["to_state"] == store_cases.load(store, case.case_id).state == "transferred"
    # saving an older version (a lost update or a rewrite) is refused
    with pytest.raises(store_cases.TrailRewriteError):
        store_cases.save(store, case)
    assert len(store_cases.transitions(store, case.case_id)) == 2


def test_joint_case_transfers_all_sides_at_once_and_closes_after_them(store: Store) -> None:
    joint = service.register(
        store, "joint",
        {"source_type": "joint_inspection", "title": "跨界河流", "problem_text": "断面超标",
         "category": "other", "jurisdictions": [511100, 511400], "standard": "断面达III类"},
        "jo", "joint_office", T0,
    )  # fmt: skip
    for city in (511100, 511400):
        service.act(
            store, joint.case_id, "sign_transfer", f"jo{city}", "joint_office", {"city": city}, T0
        )
    service.act(
        store, joint.case_id, "transfer", "jo", "joint_office",
        {"rectify_due": date(2026, 9, 30), "leads": {511100: "乐山市生态环境局"}}, T0,
    )  # fmt: skip
    children = store_cases.cases(store, parent=joint.case_id)
    assert {c.city_code for c in children} == {511100, 511400}
    assert {c.state for c in children} == {"transferred"}
    assert {c.standard for c in children} == {"断面达III类"}
    for city in (511100, 511400):
        service.act(
            store, joint.case_id, "sign_closure", f"jo{city}", "joint_office", {"city": city}, T0
        )
    with pytest.raises(CaseError, match="children not closed"):
        service.act(store, joint.case_id, "close", "jo", "joint_office", {}, T0)


def test_attachment_content_addressed_private_with_thumbnail(store: Store) -> None:
    case = service.register(store, "task", task_facts(), "so", "supervision_office", T0)
    content = png()
    item = service.attach(
        store, case.case_id, content, "before.png", "photo_before", "before", "lu", "lead_unit", T0
    )
    again = service.attach(
        store, case.case_id, content, "same.png", "photo_after", "after", "lu", "lead_unit", T0
    )
    assert item.sha256 == again.sha256 and item.media_type == "image/png"
    folder = store_cases.attachment_dir(store)
    files = sorted(p.name for p in folder.iterdir())
    assert files == [item.sha256, f"{item.sha256}.thumb.png"]
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    _, thumb = store_cases.attachment(store, item.sha256, thumbnail=True)
    with Image.open(io.BytesIO(thumb)) as image:
        assert max(image.size) == 320
    stored = store_cases.load(store, case.case_id)
    assert [e.kind for e in stored.evidence] == ["photo_before", "photo_after"]
    assert [t["event"] for t in store_cases.transitions(store, case.case_id)][-2:] == [
        "add_evidence"
    ] * 2


def test_attachment_type_is_read_from_the_content_and_size_capped(store: Store) -> None:
    case = service.register(store, "task", task_facts(), "so", "supervision_office", T0)
    with pytest.raises(service.AttachmentError, match="content is unknown"):
        service.attach(
            store,
            case.case_id,
            b"<script>alert(1)</script>",
            "photo.png",
            "photo_before",
            "before",
            "lu",
            "lead_unit",
            T0,
        )
    with pytest.raises(service.AttachmentError, match="over the limit"):
        service.attach(
            store,
            case.case_id,
            b"\x89PNG" + b"0" * 10_485_760,
            "big.png",
            "photo_before",
            "before",
            "lu",
            "lead_unit",
            T0,
        )
    broken = png()[:60]  # a PNG header with a cut body
    with pytest.raises(service.AttachmentError, match="not a readable image"):
        service.attach(
            store, case.case_id, broken, "cut.png", "photo_before", "before", "lu", "lead_unit", T0
        )
    assert store_cases.load(store, case.case_id).evidence == ()


def test_a_finding_opens_one_case_linked_not_copied(store: Store) -> None:
    facts = {
        "title": "SO2超标",
        "problem_text": "连续3小时超标",
        "category": "other",
        "city_code": 510600,
    }
    first, created = service.open_from_finding(
        store, "alarm", "a1b2", "", facts, "so", "supervision_office", T0
    )
    second, again = service.open_from_finding(
        store, "alarm", "a1b2", "", facts, "so", "supervision_office", T0
    )
    assert created and not again and first.case_id == second.case_id
    assert first.links[0].url == "/api/v1/alarms/a1b2"
    # the emergency-list hook passes any (source_kind, source_id, url)
    finding, _ = service.open_from_finding(
        store,
        "emergency_finding",
        "F-7",
        "/emergency/findings/F-7",
        facts,
        "so",
        "supervision_office",
        T0,
    )
    assert finding.links[0].url == "/emergency/findings/F-7" and finding.source_type == "finding"


def test_open311_shows_published_fields_only(store: Store) -> None:
    case = service.register(store, "task", task_facts(), "so", "supervision_office", T0)
    assert service.open311_requests(store) == []  # registered: not yet published
    with pytest.raises(LookupError):
        service.open311_request(store, case.case_id)
    service.act(
        store, case.case_id, "transfer", "so", "supervision_office",
        {"lead_unit": "成华区住建局", "acceptance_level": "city", "rectify_due": date(2026, 6, 30),
         "term_type": "限期"}, T0,
    )  # fmt: skip
    [row] = service.open311_requests(store)
    assert set(row) == OPEN311_FIELDS
    assert row["status"] == "open" and row["agency_responsible"] == "成华区住建局"
    assert row["expected_datetime"].startswith("2026-06-30")
    assert "13800000000" not in str(row) and "某工地未覆盖" not in str(row)
    assert {s["service_code"] for s in service.open311_services()} >= {"vocs", "mobile_sources"}


def test_acceptance_is_recorded_once_and_kept(store: Store) -> None:
    case = service.register(store, "task", task_facts(), "so", "supervision_office", T0)
    steps = [
        (
            "transfer",
            "supervision_office",
            {
                "lead_unit": "u",
                "acceptance_level": "city",
                "rectify_due": date(2026, 6, 30),
                "term_type": "限期",
            },
        ),
        ("accept", "lead_unit", {"contact": "c"}),
        (
            "submit_plan",
            "lead_unit",
            {
                "measures": [
                    {"text": "m", "owner": "o", "due": date(2026, 5, 1), "deliverable": "d"}
                ],
                "target": "t",
            },
        ),
        ("approve_plan", "supervision_office", {}),
        ("report_progress", "lead_unit", {"narrative": "done", "percents": {0: 100}}),
    ]
    for action, role, facts in steps:
        service.act(store, case.case_id, action, "x", role, facts, T0)
    for kind in (
        "photo_before",
        "photo_after",
        "penalty_decision",
        "similar_problems",
        "self_check",
    ):
        service.attach(
            store, case.case_id, png(), f"{kind}.png", kind, "after", "lu", "lead_unit", T0
        )
    service.act(
        store, case.case_id, "request_acceptance", "x", "lead_unit", {"self_check": "ok"}, T0
    )
    service.act(
        store,
        case.case_id,
        "start_check",
        "x",
        "city_office",
        {"team": "t", "check_date": date(2026, 3, 2)},
        T0,
    )
    passed = service.act(
        store, case.case_id, "pass", "x", "city_office",
        {"opinion": "同意", "criteria": [(c, True, "") for c in ACCEPTANCE_CRITERIA],
         "onsite_record": "r", "signatures": ["a", "b"]}, T0,
    )  # fmt: skip
    assert store_cases.load(store, case.case_id).acceptances == passed.acceptances
    with pytest.raises(CaseError, match="never edited"):
        service.act(store, case.case_id, "edit_acceptance", "x", "city_office", {}, T0)


def test_overdue_is_recorded_once_when_it_trips(store: Store) -> None:
    case = service.register(store, "task", task_facts(), "so", "supervision_office", T0)
    service.act(
        store, case.case_id, "transfer", "so", "supervision_office",
        {"lead_unit": "u", "acceptance_level": "city", "rectify_due": date(2026, 6, 30),
         "term_type": "限期"}, T0,
    )  # fmt: skip
    plan_due = store_cases.load(store, case.case_id).plan_due
    assert plan_due is not None
    on_due = datetime(plan_due.year, plan_due.month, plan_due.day, 12, tzinfo=CST)
    assert service.sweep_overdue(store, on_due) == []  # due today: not yet overdue
    later = on_due + timedelta(days=1)
    assert service.sweep_overdue(store, later) == [case.case_id]
    assert service.sweep_overdue(store, later + timedelta(days=3)) == []  # once
    trail = store_cases.transitions(store, case.case_id)
    assert [t["event"] for t in trail] == ["register", "transfer", "overdue"]
    assert trail[-1]["reason"] == f"plan due {plan_due.isoformat()}"


def test_a_broken_image_is_refused_even_after_weasyprint_loosened_pillow(store: Store) -> None:
    """WeasyPrint sets Pillow's LOAD_TRUNCATED_IMAGES process-wide when imported (a server that
    rendered a PDF report): a cut evidence photo must still be refused, and the flag restored."""
    import weasyprint  # noqa: F401  (its import is the point)
    from PIL import ImageFile

    assert ImageFile.LOAD_TRUNCATED_IMAGES is True
    case = service.register(store, "task", task_facts(), "so", "supervision_office", T0)
    with pytest.raises(service.AttachmentError, match="not a readable image"):
        service.attach(
            store, case.case_id, png()[:60], "cut.png", "photo_before", "before", "lu",
            "lead_unit", T0,
        )  # fmt: skip
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True
