"""The water bulletin and the target scorecards (issue 19) on one real DuckDB file holding the
air fixture (January 2024 and 2025, tests/web/aqi_fixtures.py) and the water wiring fixture
(three sections, October 2025, tests/water/test_water_wiring.py): every number of the bulletin
equals ``/api/v1/water/evaluation`` and ``/rank``; the scorecards score by the versioned rules
and their air and water values equal the API's; the page shows them."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ecobasin.cli import app as cli
from ecobasin.services import reports, scorecards
from ecobasin.store import Store
from ecobasin.web import create_app
from water.test_water_wiring import SECTION_LIST, tidy_csv

from .aqi_fixtures import BASE, CHENGDU, DEYANG, build_air_store, import_and_index

pytestmark = pytest.mark.slow  # WeasyPrint lays out CJK text (seconds per PDF)

MEISHAN = 511400
LAST_YEAR = {
    "A": {**BASE, "PM2.5": 30.0},
    "B": {**BASE, "PM2.5": 30.0},
    "C": {**BASE, "PM2.5": 200.0},
}


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("water_bulletin")
    path = build_air_store(folder / "store.duckdb")
    with Store(path) as store:
        import_and_index(store, (date(2024, 1, 9), date(2024, 1, 10)), LAST_YEAR)
    (folder / "sections.csv").write_text(SECTION_LIST, encoding="utf-8")
    for args in (["water", "sections", "--import", str(folder / "sections.csv")],
                 ["water", "import", str(tidy_csv(folder / "october.csv"))]):  # fmt: skip
        result = CliRunner().invoke(cli, [*args, "--db", str(path)])
        assert result.exit_code == 0, result.output
    return path


@pytest.fixture(scope="module")
def built(db_path: Path) -> dict[str, Any]:
    """The bulletin and scorecards as the services build them, and the files the CLI stores
    (before the app holds the database file)."""
    with Store(db_path, read_only=True) as store:
        water = reports.water_bulletin(store, "2025-10")
        cards = scorecards.scorecards(store, 2025)
        lowcarbon = reports.lowcarbon_report(store, CHENGDU, 2025)
    out = db_path.parent / "files"
    for args in (["water", "--period", "2025-10"], ["scorecard", "--year", "2025", "--lang", "en"]):
        result = CliRunner().invoke(cli, ["report", *args, "--db", str(db_path), "--out", str(out)])
        assert result.exit_code == 0, result.output
    result = CliRunner().invoke(
        cli, ["report", "lowcarbon", "--city", str(CHENGDU), "--year", "2025", "--db", str(db_path),
              "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return {"water": water, "cards": cards, "out": out, "lowcarbon": lowcarbon}


@pytest.fixture(scope="module")
def client(db_path: Path, built: dict[str, Any]) -> Iterator[TestClient]:
    with TestClient(create_app(db_path)) as test_client:
        yield test_client


def _get(client: TestClient, url: str, **params: Any) -> Any:
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_water_bulletin_numbers_equal_the_water_api(
    client: TestClient, built: dict[str, Any]
) -> None:
    data = built["water"].data
    evaluation = _get(client, "/api/v1/water/evaluation", period="2025-10")
    classes = {c["class"]: c["sections"] for c in data["classes"]}
    for name in ("I", "II", "III", "IV", "V", "劣V"):
        assert classes[name] == sum(1 for i in evaluation["items"] if i["class"] == name), name
    assert (classes["I"], classes["III"], classes["IV"]) == (1, 1, 1)
    region = next(s for s in evaluation["summary"] if s["scope"] == "region")
    for key in ("share_I_III", "share_worse_V", "share_target"):
        assert data["region"][key] == region[key], key
    failing = {i["site_id"] for i in evaluation["items"] if i["meets_target"] is False}
    assert {f["site_id"] for f in data["failing"]} == failing == {"TW01"}
    rank = _get(client, "/api/v1/water/rank", period="2025-10")["items"]
    assert [(r["city"], r["rank"], r["cwqi"], r["share_I_III"]) for r in data["ranking"]] == [
        (r["city"], r["rank"], r["cwqi"], r["share_I_III"]) for r in rank
    ]


def test_water_pdf_names_the_failing_section(built: dict[str, Any]) -> None:
    pdf = (built["out"] / "water_region_2025-10_zh.pdf").read_bytes()
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()  # fmt: skip
    assert "测试断面甲" in text and "未达到水质目标的断面" in text and "CWQI" in text


def test_score_rule_is_linear_between_target_and_tolerance() -> None:
    rules = scorecards.load_rules(2025)
    good = next(i for i in rules.indicators if i.id == "good_day_ratio")
    pm25 = next(i for i in rules.indicators if i.id == "pm25")
    assert scorecards.score(good, 95.0, 90.0) == 20.0
    assert scorecards.score(good, 85.0, 90.0) == 10.0  # half the tolerance short
    assert scorecards.score(good, 70.0, 90.0) == 0.0
    assert scorecards.score(pm25, 40.0, 35.0) == 10.0  # lower is better
    assert scorecards.score(pm25, None, 35.0) is None
    assert rules.version == "2025.1" and rules.source
    assert sum(i.weight for i in rules.indicators) == 100
    assert rules.target(good, CHENGDU) == 82.0 and rules.target(good, DEYANG) == 90.0


def test_scorecard_values_equal_the_api_and_are_scored_by_the_rules(
    client: TestClient, built: dict[str, Any]
) -> None:
    body = _get(client, "/api/v1/scorecards/2025")
    assert body == _get(client, "/api/v1/scorecards/2025", lang="zh")
    cards = {c["city_code"]: c for c in body["items"]}
    assert set(cards) == {CHENGDU, DEYANG, MEISHAN}
    rankings = {i["city_code"]: i for i in _get(client, "/api/v1/rankings", period="2025")["items"]}
    water_rank = {i["city"]: i for i in _get(client, "/api/v1/water/rank", period="2025")["items"]}
    rules = {i.id: i for i in scorecards.load_rules(2025).indicators}
    for code, card in cards.items():
        values = {i["id"]: i for i in card["indicators"]}
        if code in rankings:
            assert values["good_day_ratio"]["value"] == rankings[code]["good_percent"]
            assert values["pm25"]["value"] == rankings[code]["pm25"]
        if code in water_rank:
            assert values["water_class_iii"]["value"] == water_rank[code]["share_I_III"]
        for item in card["indicators"]:
            expected = scorecards.score(rules[item["id"]], item["value"], item["target"])
            assert item["score"] == expected, (code, item["id"])
        assert card["total"] == round(sum(i["score"] or 0 for i in card["indicators"]), 2)
    assert cards[CHENGDU]["indicators"][1]["target"] == 38.0  # Chengdu's own PM2.5 target
    assert "carbon_intensity_reduction" in cards[CHENGDU]["no_data"]
    totals = [c["total"] for c in body["items"]]
    assert totals == sorted(totals, reverse=True)
    assert body["items"][0]["rank"] == 1
    assert cards[DEYANG]["rank_last_year"] is not None  # Deyang had air data in 2024
    assert body == built["cards"]


def test_scorecards_without_data_or_rules_are_404(client: TestClient) -> None:
    assert client.get("/api/v1/scorecards/2031").status_code == 404
    assert client.get("/api/v1/scorecards/1999").status_code == 422


def test_the_page_shows_the_ranking_and_the_pdf(client: TestClient, built: dict[str, Any]) -> None:
    page = client.get("/scorecards", params={"year": 2025, "lang": "zh"})
    assert page.status_code == 200
    assert "减污降碳目标考核" in page.text and 'id="rules-version">2025.1<' in page.text
    for card in built["cards"]["items"]:
        assert f'data-city="{card["city_code"]}"' in page.text
    assert "/api/v1/reports/" in page.text  # the stored (English) PDF of the year
    empty = client.get("/scorecards", params={"year": 2031})
    assert empty.status_code == 404 and "无该年度考核规则" in empty.text


def test_scorecard_pdf_reads_in_english(built: dict[str, Any]) -> None:
    pdf = (built["out"] / "scorecard_region_2025_en.pdf").read_bytes()
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()  # fmt: skip
    assert "scorecards" in text and "Chengdu" in text and "Good-day ratio" in text
    assert "platform sample configuration" in " ".join(text.split())  # the source in English


def test_lowcarbon_report_indicators_equal_the_api(
    client: TestClient, built: dict[str, Any]
) -> None:
    data = built["lowcarbon"].data
    summary = _get(client, f"/api/v1/cities/{CHENGDU}/summary", year=2025)
    assert data["air"]["good_percent"] == summary["good_percent"]
    rank = {i["city"]: i for i in _get(client, "/api/v1/water/rank", period="2025")["items"]}
    assert data["water"]["cwqi"] == rank[CHENGDU]["cwqi"]
    assert data["water"]["share_I_III"] == rank[CHENGDU]["share_I_III"]
    assert data["sectors"] == [] and data["emissions_t"] is None  # no inventory stored here
    assert data["sections"] == ["goals", "actions", "indicators", "cases"]


def test_lowcarbon_pdf_has_the_four_parts_of_chengdus_report(built: dict[str, Any]) -> None:
    pdf = (built["out"] / "lowcarbon_510100_2025_zh.pdf").read_bytes()
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()  # fmt: skip
    for part in ("发展目标", "主要行动", "指标表现", "典型案例", "成都"):
        assert part in text, part
    assert str(built["lowcarbon"].data["air"]["good_percent"]) in text
