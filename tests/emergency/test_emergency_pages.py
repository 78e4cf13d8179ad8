"""The emergency pages over HTTP on the demo list in a real DuckDB file (issue 17): the list with
its accounting and shortfall, the bilingual compliance report naming exactly the non-compliant,
the insufficient-data and the flagged enterprises, and the rights on each."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ecobasin import catalog
from ecobasin.demo import emergency as demo_emergency
from ecobasin.jobs.live_feed import LiveFeed, enterprise_fleet
from ecobasin.store import Store
from ecobasin.web import create_app
from ecobasin.web.security import accounts
from store_files import new_synced_store_file


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, str]]:
    path = Path(tmp_path_factory.mktemp("pages")) / "demo.duckdb"
    with Store(new_synced_store_file(path)) as store:
        live = enterprise_fleet(LiveFeed(enterprises=8, seed=2025), catalog.load_region())
        key = demo_emergency.install(store, live=live)["activation"]
        accounts.create_user(store.con, "viewer1", "viewer", password="viewer-password-1")
        _, token = accounts.create_token(store.con, "viewer1", "t")
    with TestClient(create_app(path)) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield client, key


def _usccs(html: str, table: str) -> set[str]:
    body = html.split(f'id="{table}"', 1)[1].split("</table>", 1)[0]
    return set(re.findall(r'data-uscc="([^"]+)"', body))


def test_the_list_page_accounts_the_list_and_draws_the_shortfall(
    served: tuple[TestClient, str],
) -> None:
    client, key = served
    page = client.get("/emergency", params={"city": "510100", "level": "yellow"})
    assert page.status_code == 200
    assert 'id="shortfall-chart"' in page.text and key in page.text
    # yellow NOx: 6 × 0.93 × 0.2 + 5 × 0.2 + 10 × 0.05 = 2.616 t/d of 50 = 5.2 % < 10 %
    nox = page.text.split('data-pollutant="NOx"><td>NOx</td>', 1)[1].split("</tr>", 1)[0]
    assert "2.616" in nox and "5.2 %" in nox
    assert 'data-pollutant="NOx" data-meets="false"' in page.text
    # 6 enterprises + 4 sector measures + the live simulator's Chengdu stack (version 2)
    assert len(_usccs(page.text, "record-table")) == 11
    assert "SIM07E9-G00006" in page.text and "超低排放 ultra-low emission" in page.text
    # the grade's source: the scheme in force at its date when the record names none
    assert "环办大气函〔2020〕340号" in page.text.split('id="record-table"', 1)[1]
    # the shares by source: enterprises 6 × 0.93 × 0.2 = 1.116 t/d NOx (2.2 %), sectors 1.5 (3.0 %)
    shares = page.text.split('id="share-by-kind"', 1)[1].split("</table>", 1)[0]
    assert "2.2 %" in shares.split('data-kind="sectors"')[0] and "3.0 %" in shares
    assert 'href="/api/v1/emergency/list-template.xlsx"' in page.text
    orange = client.get("/emergency", params={"city": "510100", "level": "orange"})
    # orange PM: 4 × 0.1 × 0.5 + 2 × 0.1 × 0.3 + 6 × 0.6 + 0.6 × 0.5 + 0.5 × 0.15 = 4.235 t/d,
    # 16.9 % of 25 t/d: short of 20 % by 0.765 t/d
    pm = orange.text.split('data-pollutant="PM"><td>PM</td>', 1)[1].split("</tr>", 1)[0]
    assert "4.235" in pm and "16.9 %" in pm and "0.765" in pm


def test_the_report_names_exactly_who_failed(served: tuple[TestClient, str]) -> None:
    client, key = served
    page = client.get(f"/emergency/reports/{key}")
    assert page.status_code == 200
    demo = {s: f"9151010000DEMO{s}XX" for s in ("01", "02", "03", "04", "05", "06")}
    assert _usccs(page.text, "report-non_compliant") == {demo["03"], demo["04"]}
    assert _usccs(page.text, "report-insufficient_data") == {demo["05"], demo["06"]}
    assert _usccs(page.text, "report-flagged") == {demo["06"]}
    assert "未落实减排措施 Did not apply their measures" in page.text
    assert page.text.count("/emergency/evidence/") >= 5
    assert (
        TestClient(client.app).get(f"/emergency/reports/{key}", follow_redirects=False).status_code
        == 303
    )
