"""The annual report's survey figures (HJ 640-2012) from one query for the whole report, in a
real DuckDB file: the same bytes as asking one query per city, survey and period, which is what
the report did before (1,468 queries for the catalog's 367 cities; docs/measurements.md, sixth
pass)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from ecobasin.services import noise as service
from ecobasin.store import Store, _sql
from ecobasin.store import noise as noise_store
from store_files import new_synced_store_file

#: Chengdu, Deyang, Mianyang; Leshan has only a day survey; Ya'an only an invalid grid.
CHENGDU, DEYANG, MIANYANG, LESHAN, YAAN = 510100, 510600, 510700, 511100, 511800


def _row(survey: str, year: int, period: str, point: str, city: int, leq: float, **more: Any):
    return {
        "survey": survey, "year": year, "period": period, "point_id": point, "city_code": city,
        "valid": more.get("valid", True), "leq": leq, "l10": None, "l50": None, "l90": None,
        "lmax": None, "length_km": more.get("length_km"), "road_name": None, "main_source": None,
        "batch_id": 0,
    }  # fmt: skip


def _surveys() -> pd.DataFrame:
    """Two years of regional grids and traffic segments; points out of order, unequal
    lengths, an invalid point, and a city surveyed by day only."""
    rows = []
    for year in (2025, 2026):
        for period, drop in (("day", 0.0), ("night", 9.7)):
            for city, base in ((CHENGDU, 54.3), (DEYANG, 51.9), (MIANYANG, 56.1)):
                for i, offset in enumerate((0.0, 3.4, -2.2, 7.9, 1.05)):
                    leq = round(base + offset - drop + (year - 2025) * 0.3, 1)
                    rows.append(_row("regional", year, period, f"G{9 - i}", city, leq))
                for i, (offset, km) in enumerate(((14.2, 2.4), (11.5, 0.35), (17.0, 1.15))):
                    leq = round(base + offset - drop, 1)
                    rows.append(_row("traffic", year, period, f"S{3 - i}", city, leq, length_km=km))
        rows.append(_row("regional", year, "day", "G1", LESHAN, 49.8))
        rows.append(_row("regional", year, "day", "G1", YAAN, 75.0, valid=False))
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def surveyed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = new_synced_store_file(tmp_path_factory.mktemp("noise_report") / "noise.duckdb")
    with Store(path) as store:
        noise_store.upsert_surveys(store, _surveys())
    with Store(path, read_only=True) as store:
        yield store


def _per_query_figures(
    store: Store, year: int, city: int | None
) -> dict[tuple[str, int], dict[str, Any]]:
    """(survey, city) → figure the straightforward way: one ``survey_results`` query per survey
    and period (for one city, exactly what the report asked before; for every city, the same
    answers, each city's result depending on its own rows only)."""
    keys = ("n", "mean_dBA", "grade_zh", "rating_zh", "rating_en")
    figures: dict[tuple[str, int], dict[str, Any]] = {}
    for survey in ("regional", "traffic"):
        for period in ("day", "night"):
            for result in service.survey_results(store, survey, year, period, city):
                figure = figures.setdefault(
                    (survey, result["city_code"]), {"day": None, "night": None}
                )
                figure[period] = {k: result[k] for k in keys}
    return figures


#: every city (a surveyed year and one without surveys), then one city of each kind
CASES = [(2026, None), (2027, None), (2025, CHENGDU), (2026, CHENGDU), (2026, LESHAN), (2026, YAAN)]


@pytest.mark.parametrize(("year", "city"), CASES)
def test_the_report_gives_the_per_query_survey_figures_byte_for_byte(
    surveyed: Store, year: int, city: int | None
) -> None:
    report = service.annual_report(surveyed, year, city)
    figures = _per_query_figures(surveyed, year, city)
    none = {"day": None, "night": None}
    expected = [
        {
            **item,
            "regional": figures.get(("regional", item["city_code"]), none),
            "traffic": figures.get(("traffic", item["city_code"]), none),
        }
        for item in report
    ]
    assert json.dumps(report, ensure_ascii=False) == json.dumps(expected, ensure_ascii=False)
    if city is None:
        assert len(report) == len(noise_store.city_names(surveyed))  # every catalog city
    surveyed_here = [i for i in report if i["regional"]["day"] is not None]
    if year < 2027 and city in (None, CHENGDU):
        assert any(i["traffic"]["night"] is not None for i in surveyed_here)


def test_the_day_only_and_the_invalid_city_are_shown_as_such(surveyed: Store) -> None:
    by_city = {i["city_code"]: i for i in service.annual_report(surveyed, 2026)}
    assert by_city[LESHAN]["regional"]["day"]["n"] == 1
    assert by_city[LESHAN]["regional"]["night"] is None
    assert by_city[YAAN]["regional"] == {"day": None, "night": None}
    assert by_city[CHENGDU]["regional"]["day"]["n"] == 5


def test_the_report_asks_a_few_queries_not_one_per_city_survey_and_period(
    surveyed: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The catalog's 367 cities once took 4 survey queries each; the report now asks a fixed
    few, whatever the number of cities (counted at the store's one read helper)."""
    queries: list[str] = []
    read = _sql.frame

    def counted(where: Any, sql: str, params: Any = None) -> pd.DataFrame:
        queries.append(sql)
        return read(where, sql, params)

    monkeypatch.setattr(_sql, "frame", counted)
    report = service.annual_report(surveyed, 2026)
    assert len(report) > 300
    survey_queries = [q for q in queries if "noise_surveys" in q]
    assert len(survey_queries) == 1, f"{len(survey_queries)} survey queries"
    assert len(queries) < 10, f"{len(queries)} queries for one report"
