"""The supervision pages (issue 18) over real HTTP requests on a real DuckDB file: who sees what,
the forms of the allowed actions, a public objection without an account."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ecobasin import catalog
from ecobasin.services import cases as service
from ecobasin.store import Store
from ecobasin.store import cases as store_cases
from ecobasin.web import create_app
from ecobasin.web.security import accounts
from ecobasin.workflow.cases import ACCEPTANCE_CRITERIA

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=CST)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("pages") / "p.duckdb"
    with Store(path) as store:
        store.sync_catalog(catalog.load_region())
        for name, role, city, unit in (
            ("so", "supervision_office", None, ""),
            ("co", "city_office", 510100, ""),
        ):
            accounts.create_user(store.con, name, "viewer", None, f"password-{name}")
            store_cases.grant_role(store, name, role, city, unit, "admin", NOW)
        accounts.create_user(store.con, "plain", "viewer", None, "password-plain")
        case = service.register(
            store,
            "task",
            {
                "source_type": "routine_patrol",
                "title": "露天焚烧",
                "problem_text": "x",
                "category": "urban_rural_fringe",
                "city_code": 510100,
            },
            "so",
            "supervision_office",
            NOW,
        )
        service.act(
            store,
            case.case_id,
            "transfer",
            "so",
            "supervision_office",
            {
                "lead_unit": "金牛区",
                "acceptance_level": "city",
                "rectify_due": date(2026, 3, 5),
                "term_type": "限期",
            },
            NOW,
        )
    return path, case.case_id


@pytest.fixture(scope="module")
def app_client(setup: tuple[Path, str]) -> Iterator[TestClient]:
    app = create_app(setup[0])
    app.state.clock = lambda: datetime(2026, 4, 20, 9, tzinfo=UTC)  # after the plan due day
    with TestClient(app) as client:
        yield client


def sign_in(client: TestClient, name: str) -> str:
    client.cookies.clear()
    page = client.get("/signin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    form = {"name": name, "password": f"password-{name}"}
    if token:
        form["csrf_token"] = token.group(1)
    answer = client.post("/signin", data=form, follow_redirects=False)
    assert answer.status_code in (302, 303), answer.text
    page = client.get("/supervision")
    found = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    return found.group(1) if found else ""


def test_board_needs_a_case_role(app_client: TestClient, setup: tuple[Path, str]) -> None:
    app_client.cookies.clear()
    assert app_client.get("/supervision").status_code == 401
    sign_in(app_client, "plain")
    assert app_client.get("/supervision").status_code == 403
    sign_in(app_client, "so")
    page = app_client.get("/supervision?view=overdue")
    assert page.status_code == 200 and setup[1] in page.text
    assert 'id="count-overdue">1<' in page.text  # the plan was due 30 WD after 2 March
    app_client.cookies.clear()


def test_case_page_shows_the_forms_the_user_may_use(
    app_client: TestClient, setup: tuple[Path, str]
) -> None:
    sign_in(app_client, "so")
    page = app_client.get(f"/supervision/case/{setup[1]}")
    assert page.status_code == 200
    assert 'data-action="confirm"' not in page.text  # not disputed
    assert "action-form" not in page.text  # transferred: only the lead unit acts now
    assert "露天焚烧" in page.text and "register" in page.text  # the trail
    app_client.cookies.clear()


def test_public_page_and_objection_without_an_account(
    app_client: TestClient, setup: tuple[Path, str]
) -> None:
    _, case_id = setup
    app_client.cookies.clear()
    page = app_client.get("/supervision/public")
    assert page.status_code == 200 and case_id in page.text and "金牛区" in page.text
    assert "objection-form" not in page.text  # no notice yet
    # an objection outside a notice is refused with the reason, nothing changes
    answer = app_client.post(
        f"/supervision/public/{case_id}/objection", data={"objection": "x"}, follow_redirects=False
    )
    assert answer.status_code == 303 and "error" in answer.headers["location"]


def test_keytask_and_joint_pages_render(app_client: TestClient) -> None:
    sign_in(app_client, "co")
    assert app_client.get("/supervision/keytasks").status_code == 200
    joint = app_client.get("/supervision/joint")
    assert joint.status_code == 200 and "joint-register" not in joint.text  # city office: no form
    app_client.cookies.clear()
    _ = ACCEPTANCE_CRITERIA
