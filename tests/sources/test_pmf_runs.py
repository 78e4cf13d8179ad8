"""Stored PMF runs (issue 19, B7) on a real DuckDB file with the real ESAT worker: ``ecobasin
sources pmf … --site S --store`` stores the run (samples, factors, seeds, Q values, profiles,
contributions, bootstrap, who and when); ``sources pmf-runs`` and ``GET /api/v1/sources/{site}/pmf``
list the same runs; one run and its figures (PNG, SVG with the caption that factors are
statistical); the station's page shows the latest run."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ecobasin.cli import app as cli_app
from ecobasin.web.app import create_app
from needs import require
from source_helpers import build
from sources.test_pmf_worker import SPECIES, synthetic_pure

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # ESAT's 20 seeds and 20 bootstrap refits in a subprocess


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The CLI's side, before the app opens the file (one process opens it one way): the run
    stored, the list, and two refused attempts to store."""
    env = Path(os.environ.get("ECOBASIN_PMF_ENV", ROOT / ".pmf-env"))
    require(env / "bin" / "python", "the PMF worker environment",
            "`ecobasin sources pmf-setup --env .pmf-env`, as .ci/run does")  # fmt: skip
    folder = tmp_path_factory.mktemp("pmf_runs")
    db = folder / "sources.duckdb"
    build(db)
    x, u = synthetic_pure(120)
    x.to_csv(folder / "X.csv")
    u.to_csv(folder / "U.csv")
    result = CliRunner().invoke(cli_app, [
        "sources", "pmf", str(folder / "X.csv"), str(folder / "U.csv"), "--factors", "3",
        "--bootstrap", "20", "--site", "OWN", "--store", "--db", str(db), "--env", str(env),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "stored 已保存" in result.output and "mapped 映射率" in result.output
    base = ["sources", "pmf", str(folder / "X.csv"), str(folder / "U.csv"), "--factors", "3",
            "--models", "2", "--bootstrap", "0", "--db", str(db), "--env", str(env)]  # fmt: skip
    refused = [CliRunner().invoke(cli_app, [*base, "--store"]),
               CliRunner().invoke(cli_app, [*base, "--site", "NOPE", "--store"])]  # fmt: skip
    listed = CliRunner().invoke(
        cli_app, ["sources", "pmf-runs", "OWN", "--format", "json", "--db", str(db)]
    )
    assert listed.exit_code == 0, listed.output
    return {"db": db, "listed": json.loads(listed.stdout), "refused": refused}


@pytest.fixture(scope="module")
def client(stored: dict[str, Any]) -> Iterator[TestClient]:
    with TestClient(create_app(stored["db"])) as test_client:
        yield test_client


def test_the_cli_and_the_api_list_the_same_run(stored: dict[str, Any], client: TestClient) -> None:
    cli_runs = stored["listed"]
    api = client.get("/api/v1/sources/OWN/pmf")
    assert api.status_code == 200, api.text
    api_runs = api.json()["runs"]
    assert len(cli_runs) == len(api_runs) == 1
    cli_run, api_run = cli_runs[0], api_runs[0]
    assert cli_run["run_id"] == api_run["run_id"]
    for key in ("samples", "factors", "models", "seed", "q_expected", "created_by"):
        assert cli_run[key] == api_run[key], key
    assert api_run["q_true"] == pytest.approx(cli_run["q_true"])
    assert (api_run["samples"], api_run["factors"], api_run["models"]) == (120, 3, 20)
    assert (api_run["first_sample"], api_run["last_sample"]) == ("s000", "s119")
    assert api_run["created_by"] == "cli"
    assert api_run["q_expected"] == 120 * 10 - 3 * (120 + 10)


def test_one_run_holds_its_matrices_and_bootstrap(client: TestClient) -> None:
    run_id = client.get("/api/v1/sources/OWN/pmf").json()["runs"][0]["run_id"]
    response = client.get(f"/api/v1/sources/OWN/pmf/{run_id}")
    assert response.status_code == 200, response.text
    run = response.json()
    assert sorted(run["profiles"]) == ["factor1", "factor2", "factor3"]
    assert list(run["profiles"]["factor1"]) == SPECIES
    assert len(run["contributions"]) == 120 and len(run["models_q_true"]) == 20
    assert run["q_true"] == pytest.approx(min(q for q in run["models_q_true"] if q is not None))
    boot = run["bootstrap"]
    assert boot["runs"] == 20 and boot["mapped_share"] >= 0.9
    assert len(boot["intervals"]) == 3 * len(SPECIES) * 2  # factor × species × measure
    assert all(i["p05"] <= i["p50"] <= i["p95"] for i in boot["intervals"])
    assert "named by the analyst" in run["caption"]
    assert {s["species"] for s in run["species"]} == set(SPECIES)


def test_the_figures_are_png_and_svg_with_the_caption(client: TestClient) -> None:
    run_id = client.get("/api/v1/sources/OWN/pmf").json()["runs"][0]["run_id"]
    for kind in ("profiles", "contributions"):
        png = client.get(f"/api/v1/sources/OWN/pmf/{run_id}/{kind}.png")
        assert png.status_code == 200 and png.headers["content-type"] == "image/png"
        assert png.content[:8] == b"\x89PNG\r\n\x1a\n" and len(png.content) > 10_000
        svg = client.get(f"/api/v1/sources/OWN/pmf/{run_id}/{kind}.svg")
        assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
        assert "named by the analyst" in svg.text and "factor1" in svg.text
    profiles_svg = client.get(f"/api/v1/sources/OWN/pmf/{run_id}/profiles.svg").text
    assert all(species in profiles_svg for species in SPECIES)


def test_unknown_runs_and_sites_are_not_found(client: TestClient) -> None:
    assert client.get("/api/v1/sources/NOPE/pmf").status_code == 404
    assert client.get("/api/v1/sources/OWN/pmf/0123abcd").status_code == 404
    assert client.get("/api/v1/sources/OUTLET/pmf").status_code == 404  # not public
    run_id = client.get("/api/v1/sources/OWN/pmf").json()["runs"][0]["run_id"]
    assert client.get(f"/api/v1/sources/OWN/pmf/{run_id}/map.png").status_code == 422


def test_storing_needs_a_known_site(stored: dict[str, Any], client: TestClient) -> None:
    alone, unknown = stored["refused"]
    assert alone.exit_code == 1 and "--store needs --site" in alone.output
    assert unknown.exit_code == 1 and "no site NOPE" in unknown.output
    assert len(client.get("/api/v1/sources/OWN/pmf").json()["runs"]) == 1  # nothing more stored


def test_the_page_shows_the_latest_run(client: TestClient) -> None:
    run_id = client.get("/api/v1/sources/OWN/pmf").json()["runs"][0]["run_id"]
    html = client.get("/sources/OWN").text
    assert 'id="pmf-section"' in html and "named by the analyst" in html
    assert f"/api/v1/sources/OWN/pmf/{run_id}/profiles.png" in html
    assert f"/api/v1/sources/OWN/pmf/{run_id}/contributions.png" in html
    assert 'id="pmf-empty"' in client.get("/sources/NEAR").text
