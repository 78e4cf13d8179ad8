"""The forecast commands and API on the real Chengdu data (UCI, CC BY 4.0), through a real
DuckDB file: train → run (forecasts and warnings stored) → adjust → read over HTTP; and the
issue's floors on 2015 through ``ecobasin forecast backtest``. The file starts as a copy of the
run's one import of the real data (``chengdu_db``: what ``ecobasin import csv --mapping
uci_chengdu_pm25`` stores; the command itself on this file is tests/emergency/
test_emergency_loop.py's first step).

Test order matters here: the backtests (read-only opens) run before the API client fixture
opens the same file in this process for writing."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ecobasin.cli import app
from ecobasin.forecast.warning import city_warning
from ecobasin.store import Store
from ecobasin.store import forecast as store_forecast
from ecobasin.web import create_app
from ecobasin.web.security import accounts

pytestmark = pytest.mark.shared_data
runner = CliRunner()
#: first issue day of the model the plumbing tests run (no skill asserted of it: see `db`)
PLUMBING_TRAIN_FROM = "2014-01-01"


@pytest.fixture(scope="module")
def db(chengdu_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("forecast") / "cd.duckdb"
    # a writable copy of the run's import (the other modules' fixtures read it read-only)
    shutil.copyfile(chengdu_db, path)
    # the model `t` serves the plumbing tests (run, store, adjust, API): one year of training
    # does (6.7 s of CPU against 15.1 s for two; climatology needs the year), the skill floors
    # below train their own through `forecast backtest`
    train = [
        "forecast",
        "train",
        "--name",
        "t",
        "--from",
        PLUMBING_TRAIN_FROM,
        "--to",
        "2014-12-31",
    ]
    result = runner.invoke(app, [*train, "--db", str(path)])
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture(scope="module")
def run_jan(db: Path) -> pd.DataFrame:
    result = runner.invoke(
        app,
        [
            "forecast",
            "run",
            "--date",
            "2015-01-10",
            "--model",
            "t",
            "--author",
            "tester",
            "--db",
            str(db),
        ],
    )
    assert result.exit_code == 0, result.output
    return pd.read_csv(io.StringIO(result.stdout))


def test_run_stores_seven_days_of_aqi_ranges_for_every_model(
    db: Path, run_jan: pd.DataFrame
) -> None:
    aqi = run_jan[run_jan["parameter"] == "AQI"]
    assert set(aqi["model"]) == {"lightgbm:t", "persistence", "climatology"}
    gbm = aqi[aqi["model"] == "lightgbm:t"].sort_values("lead")
    assert gbm["lead"].tolist() == [1, 2, 3, 4, 5, 6, 7]
    assert (gbm["lower"] <= gbm["value"]).all() and (gbm["value"] <= gbm["upper"]).all()
    assert (gbm["upper"] > gbm["lower"]).any()  # a range, not a point
    with Store(db, read_only=True) as store:
        stored = store_forecast.forecast_rows(store, issue_day=pd.Timestamp("2015-01-10").date())
    assert len(stored) == len(run_jan)
    assert set(stored["author"]) == {"tester"}
    assert stored["with_meteorology"].all()


def test_stored_warning_follows_the_rule_from_the_stored_forecast(
    db: Path, run_jan: pd.DataFrame
) -> None:
    gbm = run_jan[(run_jan["parameter"] == "AQI") & (run_jan["model"] == "lightgbm:t")]
    gbm = gbm.sort_values("lead")
    days = [pd.Timestamp(d).date() for d in gbm["target_day"]]
    expected = city_warning(days, gbm["value"].tolist())
    with Store(db, read_only=True) as store:
        rows = store_forecast.warning_rows(store, ids=["510100"])
    if expected.level == "none":
        assert rows.empty
    else:
        assert rows.iloc[0]["level"] == expected.level
        assert rows.iloc[0]["reason_en"] == expected.reason_en


def test_adjust_keeps_the_model_value_and_the_reason(db: Path, run_jan: pd.DataFrame) -> None:
    result = runner.invoke(
        app,
        [
            "forecast",
            "adjust",
            "--date",
            "2015-01-10",
            "--city",
            "510100",
            "--target",
            "2015-01-11",
            "--aqi",
            "120-150",
            "--reason",
            "inversion expected 逆温",
            "--model",
            "t",
            "--author",
            "forecaster-a",
            "--db",
            str(db),
        ],
    )
    assert result.exit_code == 0, result.output
    with Store(db, read_only=True) as store:
        rows = store_forecast.forecast_rows(
            store,
            issue_day=pd.Timestamp("2015-01-10").date(),
            models=["lightgbm:t"],
            parameters=["AQI"],
        )
    row = rows[rows["lead"] == 1].iloc[0]
    model_value = run_jan[
        (run_jan["parameter"] == "AQI")
        & (run_jan["model"] == "lightgbm:t")
        & (run_jan["lead"] == 1)
    ]["value"].iloc[0]
    assert row["value"] == pytest.approx(model_value)
    assert (row["adjusted_lower"], row["adjusted_upper"]) == (120, 150)
    assert row["adjusted_by"] == "forecaster-a" and row["adjust_reason"].startswith("inversion")


def test_cli_adjust_levels_the_midpoint_as_the_api_does(db: Path, run_jan: pd.DataFrame) -> None:
    """A range 100-101 has the midpoint 100.5: AQI is taken upwards to 101, level 3 (HJ
    633-2012 §5.1, Table 2), as the API's adjustment does; rounding gave 100, level 2."""
    args = ["forecast", "adjust", "--date", "2015-01-10", "--city", "510100", "--target",
            "2015-01-12", "--aqi", "100-101", "--reason", "boundary case", "--model", "t",
            "--author", "forecaster-b", "--db", str(db)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    with Store(db, read_only=True) as store:
        rows = store_forecast.forecast_rows(
            store,
            issue_day=pd.Timestamp("2015-01-10").date(),
            models=["lightgbm:t"],
            parameters=["AQI"],
        )
    row = rows[rows["lead"] == 2].iloc[0]
    assert (row["adjusted_value"], row["adjusted_level"]) == (100.5, 3)


def test_adjusting_a_missing_forecast_fails_clearly(db: Path) -> None:
    result = runner.invoke(
        app,
        [
            "forecast",
            "adjust",
            "--date",
            "2015-02-01",
            "--city",
            "510100",
            "--target",
            "2015-02-02",
            "--aqi",
            "80",
            "--reason",
            "test",
            "--model",
            "t",
            "--db",
            str(db),
        ],
    )
    assert result.exit_code == 1
    assert "no stored AQI forecast" in result.output


def _backtest(db: Path, *extra: str) -> pd.DataFrame:
    result = runner.invoke(
        app,
        [
            "forecast",
            "backtest",
            "--from",
            "2015-01-01",
            "--to",
            "2015-12-31",
            *extra,
            "--db",
            str(db),
        ],
    )
    assert result.exit_code == 0, result.output
    return pd.read_csv(io.StringIO(result.stdout)).set_index(["model", "lead"])


def _never_worse_than_the_baselines(s: pd.DataFrame) -> None:
    """Issue 21: at every lead the issued PM2.5 RMSE ≤ min(persistence, climatology); day +1
    level accuracy ≥ persistence's."""
    for lead in range(1, 8):
        best = min(
            s.loc[("persistence", lead), "pm25_rmse"], s.loc[("climatology", lead), "pm25_rmse"]
        )
        assert s.loc[("lightgbm", lead), "pm25_rmse"] <= best, f"lead {lead}"
    assert s.loc[("lightgbm", 1), "level_acc"] >= s.loc[("persistence", 1), "level_acc"]


def test_chengdu_2015_floors_with_weather(db: Path) -> None:
    """With weather (observed, as a perfect forecast; trained on 2013–2014 only): day +1 RMSE
    ≥ 32 % below persistence and day +3 ≥ 38 % below (issue 21 keeps the margins of the model
    before the blend; the one-origin blend reached 34.5 % at +3: docs/forecast.md)."""
    s = _backtest(db)
    _never_worse_than_the_baselines(s)
    rmse = s["pm25_rmse"]
    assert rmse[("lightgbm", 1)] <= 0.68 * rmse[("persistence", 1)]
    assert rmse[("lightgbm", 3)] <= 0.62 * rmse[("persistence", 3)]
    assert (s.loc["lightgbm", "skill_pm25_persistence"] > 0).all()


def test_chengdu_2015_without_weather_never_worse_than_the_baselines(db: Path) -> None:
    _never_worse_than_the_baselines(_backtest(db, "--no-met"))


def test_cli_hourly_follows_the_stored_daily_forecast(db: Path, run_jan: pd.DataFrame) -> None:
    """``ecobasin forecast hourly``: 72 hours of PM2.5 after the issue day, each day's hourly
    mean within ``DAILY_TOLERANCE`` of the stored daily forecast of the issued model."""
    from ecobasin.forecast.hourly import DAILY_TOLERANCE, LEADS

    result = runner.invoke(
        app, ["forecast", "hourly", "--date", "2015-01-10", "--city", "510100", "--db", str(db)]
    )
    assert result.exit_code == 0, result.output
    csv = result.output[result.output.index("city,issue_day") :]
    values = pd.read_csv(io.StringIO(csv))
    pm = values[values["pollutant"] == "PM2.5"]
    assert sorted(pm["lead_hour"]) == list(range(1, LEADS + 1))
    daily = run_jan[
        (run_jan["parameter"] == "PM2.5")
        & (run_jan["model"] == "lightgbm:t")
        & (run_jan["scope_id"].astype(str) == "510100")
        & run_jan["lead"].between(1, 3)
    ].set_index("lead")["value"]
    means = pm.groupby((pm["lead_hour"] - 1) // 24 + 1)["value"].mean()
    gap = (means / daily.reindex(means.index) - 1).abs()
    assert len(gap) == 3 and (gap <= DAILY_TOLERANCE + 1e-9).all(), gap


def test_cli_hourly_without_history_fails_clearly(db: Path) -> None:
    result = runner.invoke(app, ["forecast", "hourly", "--date", "2013-01-05", "--db", str(db)])
    assert result.exit_code != 0
    assert "days of city hours" in result.output


@pytest.fixture(scope="module")
def client(db: Path, run_jan: pd.DataFrame) -> Iterator[tuple[TestClient, dict[str, str]]]:
    tokens = {}
    with Store(db) as store:
        for name, role, city in (("cd", "editor", 510100), ("dy", "editor", 510600)):
            accounts.create_user(store.con, name, role, city, f"password-{name}")
            tokens[name] = accounts.create_token(store.con, name, "tests")[1]
    with TestClient(create_app(db)) as test_client:
        yield test_client, tokens


def test_api_reads_forecasts_and_warnings(client: tuple[TestClient, dict[str, str]]) -> None:
    http, _ = client
    answer = http.get("/api/v1/forecasts", params={"parameter": "AQI", "model": "lightgbm:t"})
    assert answer.status_code == 200
    body = answer.json()
    assert [f["lead"] for f in body] == [1, 2, 3, 4, 5, 6, 7]
    assert body[0]["issue_day"] == "2015-01-10" and body[0]["level"] in range(1, 7)
    assert body[0]["adjusted"]["lower"] == 120  # the CLI's adjustment, beside the model's value
    every = http.get("/api/v1/forecasts").json()  # all parameters and models
    assert {f["parameter"] for f in every} == {"AQI", "PM2.5"}
    assert all(f["rule_set"] is None for f in every if f["parameter"] == "PM2.5")
    warnings = http.get("/api/v1/warnings")
    assert warnings.status_code == 200
    for w in warnings.json():
        assert w["level"] in ("yellow", "orange", "red") and w["reason_zh"]


def test_api_adjust_checks_the_city_of_the_editor(
    client: tuple[TestClient, dict[str, str]],
) -> None:
    http, tokens = client
    body = {
        "city": "510100",
        "issue_day": "2015-01-10",
        "target_day": "2015-01-12",
        "model": "lightgbm:t",
        "aqi_lower": 90,
        "aqi_upper": 110,
        "reason": "dust 沙尘",
    }
    refused = http.post(
        "/api/v1/forecasts/adjust", json=body, headers={"Authorization": f"Bearer {tokens['dy']}"}
    )
    assert refused.status_code == 403
    public = http.post("/api/v1/forecasts/adjust", json=body)
    assert public.status_code == 401
    done = http.post(
        "/api/v1/forecasts/adjust", json=body, headers={"Authorization": f"Bearer {tokens['cd']}"}
    )
    assert done.status_code == 200, done.text
    out = done.json()
    assert out["adjusted"]["by"] == "cd" and out["adjusted"]["upper"] == 110
    assert out["value"] != out["adjusted"]["value"] or out["value"] == 100


def test_api_plot_of_an_issue_day(client: tuple[TestClient, dict[str, str]]) -> None:
    http, _ = client
    png = http.get("/api/v1/forecasts/plot.png", params={"city": "510100"})
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")
    missing = http.get("/api/v1/forecasts/plot.png", params={"city": "510600"})
    assert missing.status_code == 404


def test_api_hourly_forecast(client: tuple[TestClient, dict[str, str]]) -> None:
    http, _ = client
    answer = http.get(
        "/api/v1/forecasts/hourly", params={"issue_day": "2015-01-10", "city": "510100"}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    pm = [v for v in body["values"] if v["pollutant"] == "PM2.5"]
    assert [v["lead_hour"] for v in pm] == list(range(1, 73))
    assert pm[0]["local_day"] == "2015-01-11" and pm[0]["local_hour"] == 0
    assert pm[0]["time"] == "2015-01-10T17:00:00+00:00"  # 01:00 CST, end of the first hour
    assert all(v["lower"] <= v["value"] <= v["upper"] for v in pm)
    assert {a["rule_set"] for a in body["aqi"]} == {"HJ633-2012", "HJ633-2026"}
    missing = http.get("/api/v1/forecasts/hourly", params={"issue_day": "2013-01-02"})
    assert missing.status_code == 404
    assert "days of city hours" in missing.json()["detail"]
    huge = http.get(
        "/api/v1/forecasts/hourly", params={"issue_day": "2015-01-10", "city": "1" * 5000}
    )
    assert huge.status_code == 422, huge.text  # was a 500 (int() of 5,000 digits)
    assert "GB/T 2260" in huge.json()["detail"]
