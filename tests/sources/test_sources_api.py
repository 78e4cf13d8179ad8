"""Source analysis through the service, the API (JSON and PNG), the page and the CLI on a real
DuckDB file: the station's own wind first, then the nearest site measuring wind, then the city's
imported meteorology; the same numbers in the API and the CLI; bad requests named."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ecobasin.cli import app as cli_app
from ecobasin.errors import InputError, NotFound
from ecobasin.services import sources as service
from ecobasin.store import Store
from ecobasin.web.app import create_app
from source_helpers import DAYS, END, SOURCE_FROM, START, build


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sources") / "sources.duckdb"
    build(path)
    return path


@pytest.fixture(scope="module")
def client(db_path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(db_path)) as test_client:
        yield test_client


@pytest.mark.parametrize(
    ("site", "origin", "wind_site"),
    [("OWN", "station", "OWN"), ("NEAR", "nearest", "MET"), ("FAR", "imported", None)],
)
def test_wind_origin(db_path: Path, site: str, origin: str, wind_site: str | None) -> None:
    with Store(db_path, read_only=True) as store:
        data = service.station_data(store, site, "PM2.5", START, END)
    assert data.wind.origin == origin and data.wind.origin_site == wind_site
    assert len(data.frame) == DAYS * 24
    facts = data.facts(0.5)
    assert facts["short_record"] is True  # 40 days < one season (B8)
    assert 0.0 < facts["calm_share"] < 0.2


def test_cpf_points_to_the_source(db_path: Path) -> None:
    with Store(db_path, read_only=True) as store:
        data = service.station_data(store, "OWN", "PM2.5", START, END)
    values = service.analyse(data, "cpf", percentile=90, min_n=10)
    best = max((i for i in values["items"] if i["cpf"] is not None), key=lambda i: i["cpf"])
    assert abs(best["sector"] - SOURCE_FROM) <= 10
    assert all(i["cpf"] is None for i in values["items"] if i["n"] < 10)
    hours = sum(i["n"] for i in values["items"])
    assert hours == round(len(data.frame) * (1 - values["calm_share"]))


def test_short_and_missing_data_are_named(db_path: Path) -> None:
    with Store(db_path, read_only=True) as store:
        with pytest.raises(NotFound, match="no site 'NOPE'"):
            service.station_data(store, "NOPE", "PM2.5", START, END)
        with pytest.raises(NotFound, match="no hourly SO2 at OWN"):
            service.station_data(store, "OWN", "SO2", START, END)
        with pytest.raises(InputError, match=r"ends .* before it starts"):
            service.station_data(store, "OWN", "PM2.5", END, START)
        with pytest.raises(NotFound):  # outlets are not public
            service.station_data(store, "OUTLET", "PM2.5", START, END, kinds=("air_station",))


def test_api_values_and_pngs(client: TestClient) -> None:
    params = {"pollutant": "PM2.5", "start": str(START), "end": str(END)}
    for method in service.METHODS:
        response = client.get(f"/api/v1/sources/OWN/{method}", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["method"] == method and body["wind_origin"] == "station"
        assert body["items"] and "not source share" in body["guardrail"]
        png = client.get(f"/api/v1/sources/OWN/{method}.png", params=params)
        assert png.status_code == 200, png.text
        assert png.headers["content-type"] == "image/png" and png.content[:4] == b"\x89PNG"


def test_api_refuses_and_hides(client: TestClient) -> None:
    params = {"pollutant": "PM2.5", "start": str(START), "end": str(END)}
    assert client.get("/api/v1/sources/OUTLET/cpf", params=params).status_code == 404
    assert client.get("/api/v1/sources/OWN/nope", params=params).status_code == 422
    bad = client.get("/api/v1/sources/OWN/cpf", params=params | {"percentile": 120})
    assert bad.status_code == 422 and "percentile" in bad.text
    long = client.get("/api/v1/sources/OWN/cpf", params=params | {"start": "2010-01-01"})
    assert long.status_code == 422 and "at most" in long.text


def test_page_shows_the_plots_and_the_guardrail(client: TestClient) -> None:
    page = client.get("/sources/OWN", params={"start": str(START), "end": str(END)})
    assert page.status_code == 200, page.text
    for method in service.METHODS:
        assert f"/api/v1/sources/OWN/{method}.png?" in page.text
    assert "not source share" in page.text and "可能来源方向" in page.text
    assert client.get("/sources/OUTLET").status_code == 404
    station = client.get("/station/OWN")  # the station page links to its source view
    assert station.status_code == 200 and 'href="/sources/OWN"' in station.text


@pytest.mark.slow  # a CLI run on a database file
def test_cli_gives_the_api_numbers(client: TestClient, tmp_path: Path) -> None:
    db_path = tmp_path / "cli.duckdb"  # the same data; the app holds the module's file
    build(db_path)
    args = ["--start", str(START), "--end", str(END), "--percentile", "90"]
    png = tmp_path / "cbpf.png"
    result = CliRunner().invoke(
        cli_app,
        [
            "sources",
            "cbpf",
            "OWN",
            *args,
            "--format",
            "json",
            "--png",
            str(png),
            "--db",
            str(db_path),
        ],
    )
    assert result.exit_code == 0, result.output
    cli_values = json.loads(result.stdout)
    api_values = client.get(
        "/api/v1/sources/OWN/cbpf",
        params={"pollutant": "PM2.5", "start": str(START), "end": str(END), "percentile": 90},
    ).json()
    assert cli_values["threshold"] == api_values["threshold"]
    cli_bins = {(i["wd"], round(i["ws"], 6)): i["n"] for i in cli_values["items"]}
    api_bins = {(i["wd"], round(i["ws"], 6)): i["n"] for i in api_values["items"]}
    assert cli_bins == api_bins
    assert png.read_bytes()[:4] == b"\x89PNG"
    missing = CliRunner().invoke(cli_app, ["sources", "cpf", "NOPE", *args, "--db", str(db_path)])
    assert missing.exit_code == 1 and "no site 'NOPE'" in missing.output
