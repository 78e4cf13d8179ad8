"""A joint case from registration to public closure by two cities' users, in a real browser
against a real server (issue 18): Meishan's and Leshan's joint offices register and co-sign the
transfer, each side's lead unit accepts, plans, reports and uploads its evidence, each city
office checks and accepts, the notice runs its 10 working days (the server's clock is moved on,
no sleeping), both sides close, co-sign the closure, and the public page shows it closed.

The server is uvicorn on a real socket serving ``create_app`` over a real DuckDB file; only the
clock is the test's (``app.state.clock``), so the notice window can elapse.
"""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from PIL import Image

from ecobasin import catalog
from ecobasin.store import Store
from ecobasin.store import cases as store_cases
from ecobasin.web import create_app
from ecobasin.web.security import accounts
from ecobasin.workflow.cases import categories

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIDES = {511400: "ms", 511100: "ls"}  # Meishan, Leshan
PASSWORD = "correct horse battery staple"
CLOCK = [datetime(2026, 3, 2, 2, 0, tzinfo=UTC)]


def _users(store: Store) -> None:
    t0 = CLOCK[0]
    people = [("so", "supervision_office", None, "")]
    for city, p in SIDES.items():
        people += [
            (f"{p}_jo", "joint_office", city, ""),
            (f"{p}_lead", "lead_unit", city, f"{city} 生态环境局"),
            (f"{p}_office", "city_office", city, ""),
        ]
    for name, role, city, unit in people:
        accounts.create_user(store.con, name, "viewer", None, PASSWORD)
        store_cases.grant_role(store, name, role, city, unit, "test", t0)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, chromium_path: Path) -> Iterator[str]:
    db = tmp_path_factory.mktemp("joint") / "joint.duckdb"
    with Store(db) as store:
        store.sync_catalog(catalog.load_region())
        _users(store)
    app = create_app(db)
    app.state.clock = lambda: CLOCK[0]
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


@pytest.fixture
def context(browser: Any, site: str) -> Iterator[Any]:
    made = browser.new_context(base_url=site, locale="zh-CN")
    made.set_default_timeout(60_000)
    yield made
    made.close()


def sign_in(context: Any, name: str) -> Any:
    context.clear_cookies()
    page = context.new_page()
    page.goto("/signin?next=/supervision")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("#signin-form [type='submit']")
    page.wait_for_url("**/supervision")
    return page


def act(
    page: Any, case_id: str, action: str, fields: dict[str, str] | None = None, boxes: bool = False
) -> None:
    page.goto(f"/supervision/case/{case_id}")
    form = page.locator(f"form.action-form[data-action='{action}']")
    for name, value in (fields or {}).items():
        form.locator(f"[name='{name}']").fill(value)
    if boxes:
        for box in form.locator("input[type='checkbox']").all():
            box.check()
    with page.expect_navigation():
        form.locator("button[type='submit']").click()
    assert page.locator("#case-error").count() == 0, page.locator("#case-error").inner_text()


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(out, format="PNG")
    return out.getvalue()


def test_joint_case_registration_to_public_closure(context: Any) -> None:
    ms = sign_in(context, "ms_jo")
    ms.goto("/supervision/joint")
    form = ms.locator("#joint-register")
    form.locator("[name='title']").fill("岷江交界断面总磷超标")
    form.locator("[name='problem_text']").fill("联动督察发现交界断面总磷超标")
    form.locator("[name='category']").select_option("other")
    form.locator("[name='jurisdictions']").fill("511400,511100")
    form.locator("[name='standard']").fill("断面月均总磷达III类")
    form.locator("button[type='submit']").click()
    ms.wait_for_url("**/supervision/case/*")
    joint = ms.locator("#case-id").inner_text()
    act(ms, joint, "sign_transfer")
    assert ms.locator("form.action-form[data-action='transfer']").count() == 1  # shown, but …
    act_refused = ms.locator("form.action-form[data-action='transfer']")
    act_refused.locator("[name='rectify_due']").fill("2026-09-30")
    with ms.expect_navigation():
        act_refused.locator("button[type='submit']").click()
    assert "511100" in ms.locator("#case-error").inner_text()  # … Leshan has not signed yet

    ls = sign_in(context, "ls_jo")
    act(ls, joint, "sign_transfer")
    act(ls, joint, "transfer", {"rectify_due": "2026-09-30"})
    sides = {
        int(r.get_attribute("data-city")): r.locator("a").inner_text()
        for r in ls.locator("#joint-sides tbody tr").all()
    }
    assert set(sides) == set(SIDES)

    for city, p in SIDES.items():
        child = sides[city]
        lead = sign_in(context, f"{p}_lead")
        act(lead, child, "accept", {"contact": f"{p} 联系人"})
        act(
            lead,
            child,
            "submit_plan",
            {
                "target": "达III类",
                "measure_text": "排口整治",
                "measure_owner": "区县",
                "measure_due": "2026-06-30",
                "measure_deliverable": "照片",
            },
        )
        so = sign_in(context, "so")
        act(so, child, "approve_plan")
        lead = sign_in(context, f"{p}_lead")
        act(lead, child, "report_progress", {"narrative": "排口已整治", "percent_all": "100"})
        for kind in categories()["other"].evidence:
            lead.goto(f"/supervision/case/{child}")
            upload = lead.locator("#evidence-form")
            upload.locator("[name='kind']").select_option(kind)
            upload.locator("[name='file']").set_input_files(
                {"name": f"{kind}.png", "mimeType": "image/png", "buffer": png() + kind.encode()}
            )
            with lead.expect_navigation():
                upload.locator("button[type='submit']").click()
            assert lead.locator("#case-error").count() == 0, lead.locator(
                "#case-error"
            ).inner_text()
        assert lead.locator("#checklist-missing").count() == 0
        act(lead, child, "request_acceptance", {"self_check": "自查合格"})
        office = sign_in(context, f"{p}_office")
        act(office, child, "start_check", {"team": "市验收组", "check_date": "2026-03-02"})
        act(
            office,
            child,
            "pass",
            {"opinion": "同意销号", "onsite_record": "现场核查", "signatures": "甲、乙"},
            boxes=True,
        )
        assert office.locator("#case-state").inner_text() == "public_notice"

    public = context.new_page()
    public.goto("/supervision/public")
    assert public.locator(f"tr[data-case='{sides[511400]}'] .objection-form").count() == 1

    CLOCK[0] += timedelta(days=30)  # past the 10-working-day notice
    for city, p in SIDES.items():
        office = sign_in(context, f"{p}_office")
        act(office, sides[city], "close")
        assert office.locator("#case-state").inner_text() == "closed"
    for p in SIDES.values():
        jo = sign_in(context, f"{p}_jo")
        act(jo, joint, "sign_closure")
    act(jo, joint, "close")
    assert jo.locator("#case-state").inner_text() == "closed"

    context.clear_cookies()
    public.goto("/supervision/public")
    row = public.locator(f"tr[data-case='{joint}'] .public-status")
    assert "closed" in row.inner_text()
