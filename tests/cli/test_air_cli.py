"""The air-quality commands (aqi, evaluate, conformance) and the AQI refresh after ``demo``,
run through Typer's CliRunner against real DuckDB files."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from ecobasin import catalog
from ecobasin.cli import app
from ecobasin.store import Store
from ecobasin.store import air as store_air
from needs import SHARED, require

CASES = SHARED / "testdata" / "air" / "aqi_cases_public.jsonl"
runner = CliRunner()


# demo_db: the session's demo database (``ecobasin demo --no-serve --year 2025``, tests/conftest.py)


def test_demo_fills_aqi_for_every_station_and_city(demo_db: Path) -> None:
    with Store(demo_db, read_only=True) as store:
        stations = set(store.sites(kinds=["air_station"])["site_id"])
        region = catalog.load_region()
        daily_site = store_air.aqi_daily(store, scope="site")
        daily_city = store_air.aqi_daily(store, scope="city")
        counts = store_air.aqi_counts(store)
    assert len(stations) == 41
    assert set(daily_site["scope_id"]) == stations
    assert set(daily_city["scope_id"]) == {str(c) for c in region.cities}
    assert (daily_city.groupby("scope_id").size() == 365).all()
    assert set(daily_city["rule_set"]) == {"HJ633-2012"}
    assert daily_city["aqi"].notna().mean() > 0.95
    assert counts["hourly_city"] == 8 * 365 * 24


def test_aqi_daily_city_csv_and_json(demo_db: Path) -> None:
    args = ["aqi", "--db", str(demo_db), "--city", "Chengdu", "--city", "德阳"]
    args += ["--start", "2025-01-01", "--end", "2025-01-03"]
    result = runner.invoke(app, [*args, "--format", "csv"])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(pd.io.common.StringIO(result.stdout))
    assert len(frame) == 6 and set(frame["city"]) == {510100, 510600}
    with Store(demo_db, read_only=True) as store:
        stored = store_air.aqi_daily(
            store,
            scope="city",
            ids=["510100", "510600"],
            start=date(2025, 1, 1),
            end=date(2025, 1, 3),
        )
    assert frame["aqi"].tolist() == stored["aqi"].astype(int).tolist()
    assert frame["PM2.5"].tolist() == stored["pm25"].astype(int).tolist()
    assert set(frame["rule_set"]) == {"HJ633-2012"}
    records = json.loads(runner.invoke(app, [*args, "--format", "json"]).stdout)
    assert records[0]["category_zh"] in {"优", "良", "轻度污染", "中度污染", "重度污染", "严重污染"}
    assert {r["day"] for r in records} == {"2025-01-01", "2025-01-02", "2025-01-03"}
    table = runner.invoke(app, args)
    assert table.exit_code == 0 and table.stdout == ""  # tables go to stderr


def test_aqi_hourly_station(demo_db: Path) -> None:
    args = ["aqi", "--db", str(demo_db), "--site", "DM0101", "--hourly"]
    args += ["--start", "2025-07-01T01:00", "--end", "2025-07-01T24:00", "--format", "json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    records = json.loads(result.stdout)
    assert len(records) == 24
    assert records[0]["time_cst"] == "2025-07-01 01:00"
    assert records[-1]["time_cst"] == "2025-07-01 24:00"  # the hour closing the day (HJ 663 §3)
    published = [r for r in records if r["publish_aqi"]]
    assert all(1 <= r["level"] <= 6 for r in published)


def test_aqi_rejects_bad_options(demo_db: Path) -> None:
    bad = runner.invoke(app, ["aqi", "--db", str(demo_db), "--format", "xml"])
    assert bad.exit_code == 1 and "unknown format" in bad.stderr
    both = runner.invoke(app, ["aqi", "--db", str(demo_db), "--city", "Chengdu", "--site", "X"])
    assert both.exit_code == 1
    city = runner.invoke(app, ["aqi", "--db", str(demo_db), "--city", "Atlantis"])
    assert city.exit_code == 1 and "Atlantis" in city.stderr


def test_evaluate_year_and_quarter(demo_db: Path) -> None:
    result = runner.invoke(
        app, ["evaluate", "--db", str(demo_db), "--period", "2025", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 8
    assert sorted(r["rank index 指数排名"] for r in rows) == list(range(1, 9))
    for r in rows:
        assert r["valid days 有效天数"] == 365
        assert r["good % 优良率"] == round(100 * r["good days 优良天数"] / 365, 1)
        assert r["standard"] == "GB3095-2012" and r["rule_set"] == "HJ633-2012"
        # HJ 663 single-item assessment: compliant iff every statistic ≤ its class-2 limit
        ok = (
            r["SO2"] <= 60
            and r["SO2 P98"] <= 150
            and r["NO2"] <= 40
            and r["NO2 P98"] <= 80
            and r["PM10"] <= 70
            and r["PM10 P95"] <= 150
            and r["PM2.5"] <= 35
            and r["PM2.5 P95"] <= 75
            and r["CO P95"] <= 4
            and r["O3_8h P90"] <= 160
        )
        assert r["compliant 达标"] == ok
    # the index ranks ascending
    by_rank = sorted(rows, key=lambda r: r["rank index 指数排名"])
    assert [r["index 综合指数"] for r in by_rank] == sorted(r["index 综合指数"] for r in rows)
    one = runner.invoke(
        app,
        [
            "evaluate",
            "--db",
            str(demo_db),
            "--period",
            "2025",
            "--cities",
            "成都",
            "--format",
            "json",
        ],
    )
    chengdu = json.loads(one.stdout)
    assert len(chengdu) == 1 and chengdu[0] == next(r for r in rows if r["city"] == 510100)
    q = runner.invoke(
        app, ["evaluate", "--db", str(demo_db), "--period", "2025Q3", "--format", "csv"]
    )
    assert q.exit_code == 0 and len(pd.read_csv(pd.io.common.StringIO(q.stdout))) == 8
    m = runner.invoke(app, ["evaluate", "--db", str(demo_db), "--period", "2025-10"])
    assert m.exit_code == 0 and "2025-10" in m.stderr
    bad = runner.invoke(app, ["evaluate", "--db", str(demo_db), "--period", "25-Q9"])
    assert bad.exit_code == 1
    none = runner.invoke(app, ["evaluate", "--db", str(demo_db), "--period", "2019"])
    assert none.exit_code == 1 and "2019" in none.stderr


def _cases_file() -> Path:
    return require(CASES, "the public AQI conformance cases")


def _close(a: Any, b: Any, tol: float) -> bool:
    return a is not None and b is not None and abs(float(a) - float(b)) <= tol


@pytest.mark.shared_data
def test_conformance_command_on_public_cases() -> None:
    path = _cases_file()
    cases = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    result = runner.invoke(app, ["conformance", str(path)])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == len(cases)
    for case, line in zip(cases, lines, strict=True):
        answer = json.loads(line)
        assert "error" not in answer, (case, answer)
        out, tolerance = answer["output"], case.get("tolerance", {}) or {}
        for key, expected in case["expect"].items():
            assert key in out, (key, case)
            if key in tolerance:
                assert _close(out[key], expected, float(tolerance[key])), (key, out[key], case)
            else:
                assert out[key] == expected, (key, out[key], expected, case["note"])


def test_conformance_never_stops_on_bad_lines(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text(
        "\n".join(
            [
                '{"kind": "iaqi", "input": {"standard": "HJ633-2012", "item": "CO_24h", "conc": 2.2}}',
                "{broken",
                '{"kind": "nope", "input": {}}',
                "",
                '{"kind": "iaqi", "input": {"standard": "HJ633-2026", "item": "PM2.5_24h", "conc": 60}}',
            ]
        ),
        encoding="utf-8",
    )
    result = runner.invoke(app, ["conformance", str(path)])
    assert result.exit_code == 0
    out = [json.loads(x) for x in result.stdout.splitlines()]
    assert len(out) == 5
    assert out[0]["output"]["iaqi"] == 55 and out[4]["output"]["iaqi"] == 100
    assert all("error" in out[i] for i in (1, 2, 3))
    missing = runner.invoke(app, ["conformance", str(tmp_path / "none.jsonl")])
    assert missing.exit_code == 1
