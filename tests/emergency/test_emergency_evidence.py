"""The evidence bundle of a verdict (issue 17, emergency.md §2.5 step 6) over HTTP on a real
DuckDB file: the page (hourly table, flags, power curve, measure text, list version), the CSV
with the meters' power, and the PDF whose text pdftotext reads back (Chinese included)."""

from __future__ import annotations

import io
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from test_emergency_crosschecks import END, START, T0, _record, _seed

from ecobasin.services import emergency as svc
from ecobasin.store import Store
from ecobasin.store import emergency as db
from ecobasin.web import create_app
from ecobasin.web.security import accounts
from ecobasin.workflow.emergency import ListVersion
from store_files import new_store_file


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str, str]]:
    path = Path(tmp_path_factory.mktemp("evidence")) / "e.duckdb"
    with Store(new_store_file(path)) as store:
        _seed(store)
        version = ListVersion("510100", 3, T0 - timedelta(days=90), "annual",
                              (_record("A", "MNA"), _record("B", "MNB")))  # fmt: skip
        db.save_version(store, version, "tests", T0)
        key = svc.activate_for_warning(store, "510100", "orange", START, END, "tests", START)
        svc.end_and_check(store, key, END + timedelta(hours=1))
        accounts.create_user(store.con, "viewer1", "viewer", password="viewer-password-1")
        _, token = accounts.create_token(store.con, "viewer1", "t")
    with TestClient(create_app(path)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client, token, key


PARAMS = {"uscc": "B", "outlet": "MNB", "pollutant": "NOx"}


def test_the_page_holds_the_hours_the_power_curve_the_measure_and_the_version(
    served: tuple[TestClient, str, str],
) -> None:
    client, _, key = served
    page = client.get(f"/emergency/evidence/{key}", params=PARAMS)
    assert page.status_code == 200, page.text
    text = page.text
    assert "限产 50% · limit 50 %" in text and ">v3<" in text
    assert "未落实 non-compliant" in text and "治污停运而生产" in text
    assert text.count('<tr class="flagged">') == 0 and text.count("<tr>") >= 24
    assert 'id="power-chart"' in text and 'id="mass-chart"' in text
    assert "power: treatment off while producing in hours [5, 6, 7, 8]" in text
    public = TestClient(client.app).get(f"/emergency/evidence/{key}", params=PARAMS,
                                        follow_redirects=False)  # fmt: skip
    assert public.status_code == 303


def test_the_csv_carries_the_meters_power(served: tuple[TestClient, str, str]) -> None:
    client, _, key = served
    got = client.get(f"/api/v1/emergency/activations/{key}/evidence.csv", params=PARAMS)
    frame = pd.read_csv(io.StringIO(got.text))
    assert list(frame["treatment_kw"].iloc[5:9]) == [0.0] * 4
    assert set(frame["production_kw"]) == {400.0}


def test_the_pdf_reads_back_with_pdftotext(
    served: tuple[TestClient, str, str], tmp_path: Path
) -> None:
    client, _, key = served
    got = client.get(f"/emergency/evidence/{key}/pdf", params=PARAMS)
    assert got.status_code == 200 and got.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "evidence.pdf"
    pdf.write_bytes(got.content)
    # pdftotext comes from poppler-utils (.ci/run): its absence fails the test, never skips it
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout  # fmt: skip
    assert "核查证据" in text and "Evidence" in text
    assert "未落实" in text and "non-compliant" in text
    assert "限产 50%" in text and "v3" in text and key in text
    assert "治污停运而生产" in text
