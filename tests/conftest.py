"""Suite-wide fixtures: the real shared data sets, and the demo database built once.

``../shared/data`` and ``../shared/testdata`` sit beside a full checkout of the project. A user's
clone does not have them: tests that need them are skipped there with the reason, and fail under
CI (env ``CI`` set), where a missing folder means a broken set-up, not a user's machine. The rule
is written once, in :func:`needs.require`; the fixtures here and the helpers of the test folders
all call it.

``ecobasin demo --no-serve`` takes about a minute on this machine, so the suite builds it once
(:func:`demo_database`) and hands out copies: :func:`demo_db` for the tests that only read, and
:func:`demo_copy` for a test that writes or serves. Every test that uses them is marked ``slow``.
"""

from __future__ import annotations

import stat
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from demo_database import DemoDatabase, copy_demo
from ecobasin.cli import app
from needs import SHARED, require

#: fixtures that build or copy the demo database: a test using one is ``slow``
DEMO_FIXTURES = frozenset({"demo_database", "demo_db", "demo_copy"})


#: whole modules that are slow, and why (tests/ relative paths); a single slow test elsewhere
#: carries ``@pytest.mark.slow`` itself
SLOW_MODULES: dict[str, str] = {
    "integration/test_shared_data.py": "imports the whole real data sets (2.5 M Beijing values)",
    "gateway/test_gateway_crash.py": "kills a real gateway process and rebuilds from its raw log",
    "gateway/test_gateway_hostile.py": "hostile clients against a real gateway over TCP",
    "web/test_server.py": "starts real `ecobasin serve` processes",
    "forecast/test_forecast_cli_api.py": "trains and backtests on three years of real data",
    "forecast/test_models.py": "LightGBM fits and rolling-origin backtests",
    "forecast/test_met_forecast.py": "CLI training and backtests with met forecasts",
    "forecast/test_plots.py": "renders PNG plots with CJK fonts",
    "test_demo.py": "generates whole demo years (2 M rows) several times",
    "water/test_refresh_groups.py": "imports and refreshes a demo water year",
    "water/test_section_calendar.py": "imports and refreshes a demo water year",
    "water/test_water_wiring.py": "water imports and refreshes into DuckDB files",
    "carbon/test_ledger_cli_api.py": "the ledger through the CLI and a web app on DuckDB files",
    "carbon/test_ledger_partners.py": "partners, tokens and rate limits on DuckDB files",
    "carbon/test_ledger_store.py": "group commit, threads and a crash mid-write",
    "carbon/test_carbon_store_cli_api.py": "inventories through the CLI and the API",
    "web/test_auth.py": "Argon2 hashing and sign-in rate limits",
    "gateway/test_gateway_cli.py": "gateway commands and raw-log replay",
    "gateway/test_gateway_server.py": "a real gateway on TCP sockets",
    "gateway/test_simulator.py": "simulated fleets over TCP into a real gateway",
    "cli/test_data_cli.py": "imports and exports through the CLI on DuckDB files",
    "cli/test_users_cli.py": "users and tokens (Argon2) through the CLI",
    "cli/test_serve_live_cli.py": "serve with the live gateway",
    "jobs/test_live.py": "the live feed on a real event loop and sockets",
    "jobs/test_air_quality.py": "AQI refreshes of station-years in DuckDB files",
    "alarms/test_alarm_cli.py": "alarm commands on DuckDB files",
    "alarms/test_alarm_refresh.py": "alarm refreshes in DuckDB files",
    "web/test_live_api.py": "the live API over a gateway and simulated devices",
    "standards/test_air_rounding.py": "hypothesis: thousands of generated ties and floats",
}
_TESTS = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``slow`` the tests of :data:`SLOW_MODULES` and every test on the demo database or a
    browser (see pyproject's markers); ``pytest -m "not slow"`` is the quick subset."""
    for item in items:
        path = Path(str(item.path))
        module = path.relative_to(_TESTS).as_posix() if path.is_relative_to(_TESTS) else ""
        uses_demo = DEMO_FIXTURES & set(getattr(item, "fixturenames", ()))
        if uses_demo or module in SLOW_MODULES or item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``: the real data sets (CNEMC snapshot, UCI files, station list)."""
    return require(SHARED / "data", "the real data sets")


@pytest.fixture(scope="session")
def shared_testdata() -> Path:
    """``../shared/testdata``: the hand-checked cases of the standards."""
    return require(SHARED / "testdata", "the hand-checked cases of the standards")


@pytest.fixture(scope="session")
def needs_shared() -> Callable[[str], Path]:
    """``needs_shared("testdata/hj212/peer_samples.jsonl")``: that path under ../shared, or a
    skip (a user's checkout) or a failure (CI) naming it."""

    def get(relative: str) -> Path:
        return require(SHARED / relative, f"../shared/{relative}")

    return get


@pytest.fixture(scope="session")
def demo_database(tmp_path_factory: pytest.TempPathFactory) -> DemoDatabase:
    """``ecobasin demo --no-serve --year 2025`` once for the whole session (~1 min).

    The file is made read-only, so a test that writes to it instead of to a copy fails at once
    rather than changing what the other tests see.
    """
    db = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    clean = {"ECOBASIN_DB": None, "ECOBASIN_REGION": None, "ECOBASIN_CONFIG": None}
    args = ["demo", "--no-serve", "--db", str(db), "--year", "2025", "--region", "chengdu_plain"]
    result = CliRunner().invoke(app, args, env=clean)
    assert result.exit_code == 0, result.output
    db.chmod(stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    return DemoDatabase(path=db, output=result.output)


@pytest.fixture(scope="session")
def demo_db(demo_database: DemoDatabase, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo database for tests that only read it (one copy shared by all of them)."""
    return copy_demo(demo_database, tmp_path_factory.mktemp("demo-read"))


@pytest.fixture
def demo_copy(demo_database: DemoDatabase, tmp_path: Path) -> Path:
    """A private, writable copy of the demo database for one test."""
    return copy_demo(demo_database, tmp_path)
