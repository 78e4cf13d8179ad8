"""One error hierarchy (``ecobasin.errors``), one unit error, one mapping to HTTP and CLI."""

from __future__ import annotations

import pytest
import typer
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ecobasin import catalog, cli, errors
from ecobasin.carbon import factors as fx
from ecobasin.cli.common import fail_with
from ecobasin.ingest import met_forecast
from ecobasin.store import Store
from ecobasin.web import problems


def test_hierarchy_keeps_the_builtin_bases() -> None:
    assert issubclass(errors.InputError, ValueError)
    assert issubclass(errors.UnitError, errors.InputError)
    assert issubclass(errors.NotFound, LookupError)
    assert issubclass(errors.StoreBusyError, RuntimeError)
    assert issubclass(fx.FactorError, errors.InputError)
    for kind in (errors.InputError, errors.NotFound, errors.Conflict, errors.StoreBusyError):
        assert issubclass(kind, errors.EcobasinError)


def test_the_three_unit_engines_raise_the_one_unit_error() -> None:
    """catalog units (float table), carbon units (pint, Decimal) and the met-forecast reader
    used to raise three different classes."""
    with pytest.raises(errors.UnitError, match="unknown unit 'furlong'"):
        catalog.convert_units([1.0], "furlong", "m")
    with pytest.raises(errors.UnitError, match="unknown unit 'furlong'"):
        fx.quantity(1, "furlong")
    with pytest.raises(errors.UnitError, match=r"cannot be converted to TJ"):
        fx.convert(fx.quantity(1, "kWh"), "TJ", "line 1")
    with pytest.raises(errors.UnitError, match="'mg/L' cannot be converted to °C"):
        met_forecast.to_registry_unit([1.0], "temperature", "mg/L")


def test_store_busy_is_the_shared_class(tmp_path) -> None:
    path = tmp_path / "held.duckdb"
    holder = Store(path)
    try:
        import subprocess
        import sys

        code = (
            "import sys\n"
            "from ecobasin.errors import StoreBusyError\n"
            "from ecobasin.store import Store\n"
            "try:\n"
            f"    Store({str(path)!r})\n"
            "except StoreBusyError as e:\n"
            "    sys.exit(7 if 'in use by another ecobasin process' in e.reason else 8)\n"
        )
        done = subprocess.run([sys.executable, "-c", code], check=False, timeout=120)
        assert done.returncode == 7
    finally:
        holder.close()


def _app() -> FastAPI:
    app = FastAPI()
    problems.install(app)
    raised = {
        "input": errors.InputError("row 3: value 'x' is not a number"),
        "unit": errors.UnitError("unknown unit 'furlong'"),
        "missing": errors.NotFound("no section 'DW9999'"),
        "conflict": errors.Conflict("factor F1 already exists"),
        "busy": errors.StoreBusyError("db.duckdb is in use by another ecobasin process"),
        "ours": errors.EcobasinError("an invariant broke"),
    }

    @app.get("/raise/{kind}")
    def _raise(kind: str) -> None:
        raise raised[kind]

    return app


@pytest.mark.parametrize(
    ("kind", "status", "type_", "words"),
    [
        ("input", 422, "urn:ecobasin:problem:input-error", "row 3"),
        ("unit", 422, "urn:ecobasin:problem:unit-error", "furlong"),
        ("missing", 404, "urn:ecobasin:problem:not-found", "DW9999"),
        ("conflict", 409, "urn:ecobasin:problem:conflict", "F1"),
        ("busy", 503, "urn:ecobasin:problem:store-busy-error", "in use"),
    ],
)
def test_errors_map_once_to_problem_details(kind: str, status: int, type_: str, words: str) -> None:
    with TestClient(_app(), raise_server_exceptions=False) as client:
        response = client.get(f"/raise/{kind}")
    assert response.status_code == status
    assert response.headers["content-type"] == problems.PROBLEM_MEDIA_TYPE
    body = response.json()
    assert body["type"] == type_
    assert words in body["detail"]
    assert body["instance"] == f"/raise/{kind}"
    assert ("retry-after" in response.headers) == (kind == "busy")


def test_an_unexpected_error_of_ours_is_a_plain_500() -> None:
    with TestClient(_app(), raise_server_exceptions=False) as client:
        response = client.get("/raise/ours")
    assert response.status_code == 500
    assert "invariant" not in response.text  # internals stay in the log


def test_cli_message_names_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    exit_ = fail_with(errors.NotFound("no city 'Atlantis'"))
    assert exit_.exit_code == 1
    assert "no city 'Atlantis'" in capsys.readouterr().err


def test_main_turns_an_uncaught_error_into_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    failing = typer.Typer()

    @failing.command()
    def broken() -> None:
        raise errors.UnitError("unknown unit 'furlong'")

    monkeypatch.setattr(cli, "app", failing)
    monkeypatch.setattr("sys.argv", ["ecobasin"])
    with pytest.raises(SystemExit) as stopped:
        cli.main()
    assert stopped.value.code == 1
    err = capsys.readouterr().err
    assert "error 错误:" in err
    assert "furlong" in err
    assert "Traceback" not in err
