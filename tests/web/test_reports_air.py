"""The air bulletin (issue 19): written by ``ecobasin report air`` from a real DuckDB file,
every number equal to the API's answer for the same question (``/api/v1/rankings`` field by
field, ``/api/v1/cities/{code}/summary`` for heavy-pollution days), stored by hash, listed and
downloaded through ``/api/v1/reports``, the PDF read back with pdftotext and drawn by pdftoppm.

Data (tests/web/aqi_fixtures.py): three days of January 2025 and two of January 2024. In 2025
Chengdu's third day is heavy (station B PM2.5 250 → city 154 → AQI 204 > 200); in 2024 Deyang's
two days are (PM2.5 200 → AQI 250)."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import re
import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from typer.testing import CliRunner

from ecobasin.cli import app as cli
from ecobasin.services import figure_cache, reports
from ecobasin.store import Store
from ecobasin.web import create_app

from . import aqi_fixtures
from .aqi_fixtures import BASE, CHENGDU, DEYANG, build_air_store, import_and_index

pytestmark = pytest.mark.slow  # WeasyPrint lays out CJK text (seconds per PDF)

LAST_YEAR = {
    "A": {**BASE, "PM2.5": 30.0},
    "B": {**BASE, "PM2.5": 30.0},
    "C": {**BASE, "PM10": 60.0, "PM2.5": 200.0},
}
LAST_YEAR_DAYS = (date(2024, 1, 9), date(2024, 1, 10))
#: The fields of a bulletin item that are also fields of a /api/v1/rankings item.
RANKING_FIELDS = (
    "rank", "composite_index", "max_single", "good_percent", "good_ratio", "good_days",
    "valid_days", "exceed_days", "pm25", "pm10", "o3_8h_p90", "compliant", "rank_good",
    "rank_last_year", "composite_change", "good_percent_change", "rank_change",
)  # fmt: skip


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    overrides = {**aqi_fixtures.OVERRIDES, ("B", "PM2.5", date(2025, 1, 11)): 250.0}
    with pytest.MonkeyPatch.context() as patch:  # a heavier third day for this module only
        patch.setattr(aqi_fixtures, "OVERRIDES", overrides)
        path = build_air_store(tmp_path_factory.mktemp("bulletin") / "air.duckdb")
        with Store(path) as store:
            import_and_index(store, LAST_YEAR_DAYS, LAST_YEAR)
    return path


@pytest.fixture(scope="module")
def bulletins(db_path: Path) -> dict[str, reports.Report]:
    """The reports as the service builds them (before the app holds the file)."""
    with Store(db_path, read_only=True) as store:
        return {
            "region": reports.air_bulletin(store, "2025-01"),
            "city": reports.air_bulletin(store, "2025-01", CHENGDU),
            "year": reports.air_bulletin(store, "2025", CHENGDU),
        }


@pytest.fixture(scope="module")
def refused(db_path: Path) -> str:
    """``ecobasin report air`` for a month without data: its exit status and output."""
    result = CliRunner().invoke(cli, ["report", "air", "--period", "2023-05", "--db", str(db_path)])
    return f"{result.exit_code}\n{result.output}"


@pytest.fixture(scope="module")
def issued(
    db_path: Path,
    bulletins: dict[str, reports.Report],
    refused: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    """``ecobasin report air`` run for the city (both languages) and the region (zh)."""
    out = tmp_path_factory.mktemp("files")
    for args in (["--city", str(CHENGDU)], ["--city", str(CHENGDU)], ["--region", "--lang", "zh"]):
        result = CliRunner().invoke(
            cli,
            [
                "report",
                "air",
                "--period",
                "2025-01",
                *args,
                "--db",
                str(db_path),
                "--out",
                str(out),
            ],
        )
        assert result.exit_code == 0, result.output
    return out


@pytest.fixture(scope="module")
def client(db_path: Path, issued: Path) -> Iterator[TestClient]:
    with TestClient(create_app(db_path)) as test_client:
        yield test_client


def _get(client: TestClient, url: str, **params: Any) -> Any:
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_every_city_number_equals_the_rankings_api(
    client: TestClient, bulletins: dict[str, reports.Report]
) -> None:
    api = {i["city_code"]: i for i in _get(client, "/api/v1/rankings", period="2025-01")["items"]}
    items = bulletins["region"].data["items"]
    assert {i["city_code"] for i in items} == set(api) == {CHENGDU, DEYANG}
    for item in items:
        for field in RANKING_FIELDS:
            assert item[field] == api[item["city_code"]][field], (item["city_code"], field)
    assert bulletins["region"].data["compared_with"] == "2024-01"
    assert api[CHENGDU]["rank_change"] == -1  # the swap the data make: Chengdu falls


def test_heavy_days_equal_the_city_summary_levels(
    client: TestClient, bulletins: dict[str, reports.Report]
) -> None:
    for year, report in (("2025", bulletins["year"]),):
        summary = _get(client, f"/api/v1/cities/{CHENGDU}/summary", year=year)
        heavy = sum(level["days"] for level in summary["levels"] if level["level"] >= 5)
        assert report.data["city_item"]["heavy_days"] == heavy == 1
        assert report.data["city_item"]["good_percent"] == summary["good_percent"]
    deyang_2024 = _get(client, f"/api/v1/cities/{DEYANG}/summary", year="2024")
    heavy_2024 = sum(level["days"] for level in deyang_2024["levels"] if level["level"] >= 5)
    deyang = next(i for i in bulletins["region"].data["items"] if i["city_code"] == DEYANG)
    assert deyang["heavy_days_last_year"] == heavy_2024 == 2
    assert deyang["heavy_days_change"] == -2


def test_region_sums_the_cities(bulletins: dict[str, reports.Report]) -> None:
    region, items = bulletins["region"].data["region"], bulletins["region"].data["items"]
    assert region["good_days"] == sum(i["good_days"] for i in items)
    assert region["valid_days"] == sum(i["valid_days"] for i in items)
    assert region["heavy_days"] == 1


def test_files_are_listed_and_served_byte_for_byte(client: TestClient, issued: Path) -> None:
    listed = _get(client, "/api/v1/reports", kind="air")["items"]
    assert {(r["scope"], r["lang"], r["media_type"]) for r in listed} == {
        (str(CHENGDU), "zh", "text/html; charset=utf-8"), (str(CHENGDU), "zh", "application/pdf"),
        (str(CHENGDU), "en", "text/html; charset=utf-8"), (str(CHENGDU), "en", "application/pdf"),
        ("region", "zh", "text/html; charset=utf-8"), ("region", "zh", "application/pdf"),
    }  # fmt: skip
    for row in listed:
        response = client.get(f"/api/v1/reports/{row['sha256']}")
        assert response.status_code == 200
        assert hashlib.sha256(response.content).hexdigest() == row["sha256"]
        assert response.headers["etag"] == f'"{row["sha256"]}"'
        policy = response.headers["content-security-policy"]
        if row["media_type"].startswith("text/html"):  # a standalone document: no script
            assert "default-src 'none'" in policy and "script-src" not in policy
            assert "style-src 'unsafe-inline'" in policy  # its own <style> block
    assert client.get("/api/v1/reports/" + "0" * 64).status_code == 404
    assert client.get("/api/v1/reports/not-a-hash").status_code == 422


def test_reissuing_an_unchanged_report_stores_nothing_new(client: TestClient, issued: Path) -> None:
    """The city report was issued twice (fixture ``issued``): the same bytes, the same six
    files; the files written out are those stored."""
    listed = _get(client, "/api/v1/reports")["items"]
    assert len(listed) == 6
    written = {hashlib.sha256(p.read_bytes()).hexdigest() for p in issued.iterdir()}
    assert written == {row["sha256"] for row in listed}


def _images(html: bytes) -> set[str]:
    return set(re.findall(r"data:image/png;base64,[A-Za-z0-9+/=]+", html.decode("utf-8")))


def test_a_bulletin_rendered_again_draws_nothing_and_new_numbers_draw_anew(
    issued: Path, bulletins: dict[str, reports.Report]
) -> None:
    """The city bulletin issued by the CLI in this process (fixture ``issued``) rendered again:
    the stored HTML byte for byte, its chart and map kept, none drawn; the same bulletin with
    another composite index and another station colour gets a new chart and map, not the
    kept ones."""
    kept = len(figure_cache.FIGURES)
    again = reports.render_html(bulletins["city"], "zh")
    assert again == (issued / "air_510100_2025-01_zh.html").read_bytes()
    assert len(figure_cache.FIGURES) == kept and len(_images(again)) == 2
    data = copy.deepcopy(bulletins["city"].data)
    data["items"][0]["composite_index"] += 1.0
    data["stations"][0]["color"] = "#7E0023"
    changed = reports.render_html(dataclasses.replace(bulletins["city"], data=data), "zh")
    assert len(figure_cache.FIGURES) == kept + 2
    assert len(_images(changed)) == 2 and not _images(changed) & _images(again)


def _tool(name: str, *args: str, data: bytes) -> bytes:
    return subprocess.run([name, *args], input=data, capture_output=True, check=True).stdout


def test_the_pdf_says_the_numbers_in_chinese_and_english(
    issued: Path, bulletins: dict[str, reports.Report]
) -> None:
    chengdu = bulletins["city"].data["city_item"]
    text = _tool(
        "pdftotext", "-layout", "-", "-", data=(issued / "air_510100_2025-01_zh.pdf").read_bytes()
    ).decode()
    assert "成都" in text and "德阳" in text and "环境空气质量公报" in text
    assert str(chengdu["good_percent"]) in text and str(chengdu["composite_index"]) in text
    assert "重污染天数" in text
    english = _tool(
        "pdftotext", "-", "-", data=(issued / "air_510100_2025-01_en.pdf").read_bytes()
    ).decode()
    assert "Chengdu" in english and "air quality bulletin" in english


def test_the_first_page_is_drawn_with_the_chart(issued: Path, tmp_path: Path) -> None:
    pdf = issued / "air_region_2025-01_zh.pdf"
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(tmp_path / "p")], check=True)
    first = Image.open(sorted(tmp_path.glob("p-*.png"))[0]).convert("RGB")
    grey = first.convert("L")
    assert sum(grey.histogram()[:128]) > 0.01 * grey.width * grey.height  # not a white page
    colours = [c for _, c in first.getcolors(1 << 20) or []]
    assert any(b - r > 60 for r, _, b in colours)  # the chart's blue bars


def test_station_means_and_their_levels(bulletins: dict[str, reports.Report]) -> None:
    """PM2.5 mean of the daily means (A 57; B (64 + 64 + 250)/3 = 126; C 30), its 24-h IAQI
    (HJ 633-2012 Table 1: 50 + 50/40·22 = 77.5 → 78; 150 + 50/35·11 = 165.7 → 166;
    30·50/35 = 42.9 → 43) and level (Table 2); D has no data, M is a micro-station."""
    stations = {s["site_id"]: s for s in bulletins["region"].data["stations"]}
    assert set(stations) == {"A", "B", "C"}
    got = {k: (s["pm25"], s["iaqi"], s["level"]) for k, s in stations.items()}
    assert got == {"A": (57, 78, 2), "B": (126, 166, 4), "C": (30, 43, 1)}
    assert stations["B"]["color"] == "#FF0000"
    assert {s["site_id"] for s in bulletins["city"].data["stations"]} == {"A", "B"}


def test_the_pdf_map_shows_the_stations_by_level(issued: Path, tmp_path: Path) -> None:
    pdf = (issued / "air_region_2025-01_zh.pdf").read_bytes()
    text = _tool("pdftotext", "-layout", "-", "-", data=pdf).decode()
    assert "各站 PM2.5 均值分布" in text and "甲站 A" in text and "166" in text
    (tmp_path / "map.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "100", str(tmp_path / "map.pdf"),
                    str(tmp_path / "p")], check=True)  # fmt: skip
    seen: set[tuple[int, int, int]] = set()
    for page in sorted(tmp_path.glob("p-*.png")):
        seen |= {c for _, c in Image.open(page).convert("RGB").getcolors(1 << 22) or []}

    def drawn(target: tuple[int, int, int]) -> bool:
        return any(sum(abs(a - b) for a, b in zip(c, target, strict=True)) < 30 for c in seen)

    # the dots of levels 1, 2 and 4 (HJ 633-2012 Table 2: green, yellow, red)
    assert drawn((0, 228, 0)) and drawn((255, 255, 0)) and drawn((255, 0, 0))


def test_a_period_without_data_fails_clearly(refused: str) -> None:
    status, output = refused.split("\n", 1)
    assert status == "1"
    assert "error" in output and "2023-05" in output and "该时段无数据" in output
