"""PSCF and CWT at a station through the API, the CLI and the service on a real DuckDB file (B6):
tdump files uploaded per station (bad files and lines kept aside with reasons, the same file
twice stored once, editors of other cities refused), the API's cells equal to the pure core's
on the same endpoints and concentrations, the map a PNG, and the synthetic east source found."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from typer.testing import CliRunner

from ecobasin.cli import app as cli_app
from ecobasin.services import source_trajectories as service
from ecobasin.sources.trajectories import parse_tdump, trajectory_grid
from ecobasin.store import Store
from ecobasin.web.app import create_app
from ecobasin.web.security import accounts
from source_helpers import END, START, _times, _wind, build, tdump_text

PARAMS = {"pollutant": "PM2.5", "start": str(START), "end": str(END)}


def _arrivals() -> tuple[list[pd.Timestamp], dict[pd.Timestamp, float]]:
    """Every third hour of the test period, each coming from OWN's wind direction then."""
    times = list(_times())
    wd, _ = _wind(1)
    bearing = {t: float(d) for t, d in zip(times, wd, strict=True)}
    return times[::3], bearing


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    arrivals, bearing = _arrivals()
    half = len(arrivals) // 2
    first = tdump_text(arrivals[: half + 8], bearing)  # overlaps the second by 8 trajectories
    lines = first.splitlines()
    body = len(lines) - 200  # among the last endpoints: 40 short lines kept aside
    broken = "\n".join(lines[:body] + ["     1     1    25"] * 40 + lines[body:]) + "\n"
    elsewhere = tdump_text(arrivals[:3], bearing).replace("  30.660  104.060", "  39.900  116.400")
    return {
        "jan.tdump": broken.encode(),
        "feb.tdump": tdump_text(arrivals[half:], bearing).encode(),
        "photo.jpg": b"\xff\xd8\xff\xe0 not a tdump",
        "notes.txt": b"hello\n",
        "beijing.tdump": elsewhere.encode(),
    }


@pytest.fixture(scope="module")
def db_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("trajectories") / "sources.duckdb"
    build(path)
    return path


@pytest.fixture(scope="module")
def tokens(db_path: Path) -> dict[str, str]:
    made = {}
    with Store(db_path) as store:
        for name, role, city in (("cd", "editor", 510100), ("dy", "editor", 510600)):
            accounts.create_user(store.con, name, role, city, f"password-of-{name}")
            made[name] = accounts.create_token(store.con, name, "tests")[1]
    return made


@pytest.fixture(scope="module")
def client(db_path: Path, tokens: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(db_path)) as test_client:
        yield test_client


def _upload(client: TestClient, token: str, files: dict[str, bytes]) -> object:
    sent = [("files", (name, content, "text/plain")) for name, content in files.items()]
    return client.post(
        "/api/v1/sources/OWN/trajectories/files",
        files=sent,
        headers={"Authorization": f"Bearer {token}"},
    )


@pytest.fixture(scope="module")
def uploaded(client: TestClient, tokens: dict[str, str], files: dict[str, bytes]) -> dict:
    refused = _upload(client, tokens["dy"], {"feb.tdump": files["feb.tdump"]})
    assert refused.status_code == 403  # type: ignore[attr-defined]
    assert "510100" in refused.json()["detail"]  # type: ignore[attr-defined]
    assert _upload(client, "", {"x": b""}).status_code == 401  # type: ignore[attr-defined]
    response = _upload(client, tokens["cd"], files)
    assert response.status_code == 201, response.text  # type: ignore[attr-defined]
    return response.json()  # type: ignore[attr-defined,no-any-return]


def test_bad_files_are_kept_aside_with_reasons(uploaded: dict, client: TestClient) -> None:
    by_name = {f["name"]: f for f in uploaded["files"]}
    assert (uploaded["imported"], uploaded["rejected"]) == (2, 3)
    assert "not a text file" in by_name["photo.jpg"]["reason"]
    assert "notes.txt: not a HYSPLIT tdump header" in by_name["notes.txt"]["reason"]
    assert "do not start at station OWN" in by_name["beijing.tdump"]["reason"]
    jan = by_name["jan.tdump"]
    assert jan["status"] == "imported" and jan["bad_lines"] >= 30
    assert "jan.tdump line" in jan["first_bad_lines"][0]
    # the 8 trajectories in both files are stored once (25 endpoints each)
    assert by_name["feb.tdump"]["new_endpoints"] == by_name["feb.tdump"]["endpoints"] - 8 * 25
    listed = client.get("/api/v1/sources/OWN/trajectories/files").json()
    reasons = {f["name"]: f["reason"] for f in listed["files"]}
    assert reasons["notes.txt"] == by_name["notes.txt"]["reason"]


def test_the_same_file_again_is_known(
    uploaded: dict, client: TestClient, tokens: dict[str, str], files: dict[str, bytes]
) -> None:
    again = _upload(client, tokens["cd"], {"feb.tdump": files["feb.tdump"]}).json()  # type: ignore[attr-defined]
    assert again["files"][0]["status"] == "known" and again["files"][0]["new_endpoints"] == 0


def test_a_file_above_the_limit_is_kept_aside(db_path: Path, uploaded: dict) -> None:
    big = b"1" * (service.MAX_TDUMP_BYTES + 1)
    with Store(db_path) as store:
        answer = service.import_tdump(store, "OWN", "huge.tdump", big, "cd", datetime.now(UTC))
        kept = [f for f in service.trajectory_files(store, "OWN") if f["name"] == "huge.tdump"]
    assert answer["status"] == "rejected" and "above the limit" in answer["reason"]
    assert kept and kept[0]["status"] == "rejected"


def _core(db_path: Path, files: dict[str, bytes], inc: float, percentile: float) -> pd.DataFrame:
    """The pure core on the good files' endpoints (each trajectory once) and the stored PM2.5."""
    parts = []
    for name in ("jan.tdump", "feb.tdump"):
        parts.append(parse_tdump(files[name].decode(), name).endpoints)
    points = pd.concat(parts).drop_duplicates(subset=["arrival", "start_height_m", "age_h"])
    points["traj"] = points.groupby(["arrival", "start_height_m"]).ngroup()
    with Store(db_path) as store:  # the app's configuration: DuckDB shares the open file
        conc = store.observations(sites=["OWN"], parameters=["PM2.5"], periods=["1h"])
    receptor = pd.Series(conc["value"].to_numpy(float),
                         index=pd.DatetimeIndex(conc["time"]).tz_convert("UTC"))  # fmt: skip
    return trajectory_grid(points, receptor, inc=inc, percentile=percentile)[1]


@pytest.mark.parametrize(("inc", "percentile"), [(1.0, 90.0), (0.5, 75.0)])
def test_api_cells_equal_the_core(
    uploaded: dict, client: TestClient, db_path: Path, files: dict[str, bytes],
    inc: float, percentile: float,
) -> None:  # fmt: skip
    params = PARAMS | {"inc": inc, "percentile": percentile}
    body = client.get("/api/v1/sources/OWN/trajectories/pscf", params=params).json()
    core = _core(db_path, files, inc, percentile)
    cells = pd.DataFrame(body["cells"]).set_index("cell")
    assert sorted(cells.index) == sorted(core.index)
    for column, core_column in (("N", "N"), ("m", "m"), ("pscf", "pscf"), ("wpscf", "wpscf"),
                                ("cwt", "cwt"), ("wcwt", "wcwt")):  # fmt: skip
        assert np.allclose(cells.loc[core.index, column], core[core_column]), column
    assert "not source shares" in body["caption"]
    assert body["trajectories"] == len(_arrivals()[0])


def test_pscf_finds_the_east_source(uploaded: dict, client: TestClient) -> None:
    body = client.get("/api/v1/sources/OWN/trajectories/pscf", params=PARAMS).json()
    cells = pd.DataFrame(body["cells"])
    busy = cells[cells["N"] >= cells["N"].median()]
    best = busy.sort_values("wpscf").iloc[-1]
    assert best["lon"] > 104.06 + 0.5 and abs(best["lat"] - 30.66) <= 1.0


def test_weight_tables_are_configuration(uploaded: dict, client: TestClient) -> None:
    base = client.get("/api/v1/sources/OWN/trajectories/pscf", params=PARAMS).json()
    none = client.get(
        "/api/v1/sources/OWN/trajectories/pscf", params=PARAMS | {"pscf_weights": "none"}
    ).json()
    assert all(c["wpscf"] == c["pscf"] for c in none["cells"])
    assert any(a["wpscf"] != a["pscf"] for a in base["cells"])
    assert (
        "1.5n̄"
        in client.get(
            "/api/v1/sources/OWN/trajectories/pscf", params=PARAMS | {"pscf_weights": "literature"}
        ).json()["pscf_weights_label"]
    )
    wrong = client.get(
        "/api/v1/sources/OWN/trajectories/cwt", params=PARAMS | {"cwt_weights": "nope"}
    )
    assert wrong.status_code == 422 and "no cwt weight table 'nope'" in wrong.text


@pytest.mark.parametrize("method", ["pscf", "cwt"])
def test_maps_are_pngs(uploaded: dict, client: TestClient, method: str) -> None:
    response = client.get(f"/api/v1/sources/OWN/trajectories/{method}.png", params=PARAMS)
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    image = Image.open(BytesIO(response.content)).convert("L")
    assert image.size[0] > 500 and len(np.unique(np.asarray(image))) > 20  # drawn, not blank


def test_no_trajectories_is_named(uploaded: dict, client: TestClient) -> None:
    response = client.get("/api/v1/sources/NEAR/trajectories/pscf", params=PARAMS)
    assert response.status_code == 404 and "import tdump files" in response.text


def test_cli_imports_and_prints_the_api_numbers(
    uploaded: dict, client: TestClient, files: dict[str, bytes], tmp_path: Path
) -> None:
    db = tmp_path / "cli.duckdb"  # the same data; the app holds the module's file
    build(db)
    paths = []
    for name, content in files.items():
        paths.append(tmp_path / name)
        paths[-1].write_bytes(content)
    runner = CliRunner()
    imported = runner.invoke(
        cli_app, ["sources", "trajectories-import", "OWN", *map(str, paths), "--db", str(db)]
    )
    assert imported.exit_code == 0, imported.output
    assert "notes.txt: not a HYSPLIT tdump header" in imported.output
    args = ["--start", str(START), "--end", str(END), "--db", str(db), "--format", "json"]
    result = runner.invoke(cli_app, ["sources", "cwt", "OWN", *args])
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    body = client.get("/api/v1/sources/OWN/trajectories/cwt", params=PARAMS).json()
    assert printed["cells"] == body["cells"]
