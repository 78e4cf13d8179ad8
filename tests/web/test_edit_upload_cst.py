"""The upload report of ``/edit`` shows times in China Standard Time (issue 15, item 8): a line
with an implausible time is rejected with a reason the importer writes in UTC; the page and the
rejected lines' CSV give it in CST (UTC+8), like the file's own times."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from ecobasin.store import Store
from ecobasin.web import create_app
from ecobasin.web.pages.editor import in_cst
from ecobasin.web.security import accounts

from .conftest import build_store

#: a CST hour-ending time far outside the plausibility window: 2099-01-01 09:00 CST is
#: 2099-01-01 01:00 UTC
UPLOAD = (
    "site,parameter,time,value\n1431A,PM2.5,2099-01-01 09:00,35\n1431A,PM2.5,2025-01-09 01:00,40\n"
)


@pytest.fixture(scope="module")
def client_and_token(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    path = build_store(tmp_path_factory.mktemp("edit-cst") / "edit.duckdb")
    with Store(path) as store:
        accounts.create_user(store.con, "cd", "editor", 510100, "password-of-cd-editor")
        token = accounts.create_token(store.con, "cd", "tests")[1]
    with TestClient(create_app(path)) as client:
        yield client, token


def test_the_upload_report_gives_rejected_times_in_cst(
    client_and_token: tuple[TestClient, str],
) -> None:
    client, token = client_and_token
    auth = {"Authorization": f"Bearer {token}"}
    page = client.post(
        "/edit/upload",
        files={"file": ("data.csv", UPLOAD.encode(), "text/csv")},
        data={"layout": "tidy"},
        headers=auth,
    )
    assert page.status_code == 200, page.text
    html = page.text
    assert 'id="report-rejected">1<' in html and 'id="report-inserted">1<' in html
    assert "2099-01-01 09:00 CST" in html  # the file's own time, in CST
    assert "+00:00" not in html and " UTC" not in html
    source = html.split("/edit/rejected.csv?source=")[1].split('"')[0]
    csv = client.get(f"/edit/rejected.csv?source={source}", headers=auth)
    assert csv.status_code == 200
    assert "2099-01-01 09:00 CST" in csv.text and "+00:00" not in csv.text


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("time 2099-01-01 01:00:00+00:00 lies", "time 2099-01-01 09:00 CST lies"),
        ("at 2025-01-08T16:00Z", "at 2025-01-09 00:00 CST"),
        (
            "window 2000-01-01 00:00 to 2026-12-06 22:00 UTC (a wrong year",
            "window 2000-01-01 08:00 to 2026-12-07 06:00 CST (a wrong year",
        ),
        ("no time here", "no time here"),
    ],
)
def test_utc_instants_of_a_reason_are_written_in_cst(stored: str, shown: str) -> None:
    assert in_cst(stored) == shown
