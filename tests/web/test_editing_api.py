"""The editing API of issue 15 over real HTTP (TestClient) on a real DuckDB file: uploads of a
data file (stored, rejected lines with reasons, refused whole when naming another city's site),
retiring a site and reading a city's audit log, per role."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from ecobasin.services import writes as writes_service
from ecobasin.store import Store
from ecobasin.web import create_app
from ecobasin.web.security import accounts
from ecobasin.web.security.policy import Principal, denial

from .conftest import build_store

CALLERS = {"admin": ("admin", None), "cd": ("editor", 510100), "dy": ("editor", 510600),
           "viewer": ("viewer", None)}  # fmt: skip


@pytest.fixture(scope="module")
def store_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_store(tmp_path_factory.mktemp("editing") / "editing.duckdb")


@pytest.fixture(scope="module")
def tokens(store_path: Path) -> dict[str, str]:
    made = {}
    with Store(store_path) as store:
        for name, (role, city) in CALLERS.items():
            accounts.create_user(store.con, name, role, city, f"password-of-{name}")
            made[name] = accounts.create_token(store.con, name, "tests")[1]
    return made


@pytest.fixture(scope="module")
def client(store_path: Path, tokens: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(store_path)) as test_client:
        yield test_client


def _auth(tokens: dict[str, str], caller: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[caller]}"}


def _upload(
    client: TestClient, tokens: dict[str, str], caller: str, text: str, layout: str = "tidy"
) -> object:
    return client.post(
        "/api/v1/observations/upload",
        files={"file": ("data.csv", text.encode("utf-8"), "text/csv")},
        data={"layout": layout},
        headers=_auth(tokens, caller),
    )


def _pm25(client: TestClient, site: str, time: str) -> list[float]:
    rows = client.get(
        "/api/v1/observations",
        params={"site": site, "parameter": "PM2.5", "start": time, "end": time},
    ).json()["results"]
    return [r["value"] for r in rows]


def test_upload_stores_good_lines_and_answers_the_rejected_ones(
    client: TestClient, tokens: dict[str, str]
) -> None:
    text = (
        "site,parameter,time,value\n"
        "1431A,PM2.5,2024-02-01T10:00,44\n"
        "1431A,PM2.5,2024-02-01T11:00,-3\n"
        "1431A,NOPE,2024-02-01T11:00,3\n"
        "1431A,PM2.5,2024-02-01T12:00,3O\n"
    )
    response = _upload(client, tokens, "cd", text)
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert (body["records"], body["inserted"]) == (4, 1)
    reasons = {r["record_ref"]: r["reason_code"] for r in body["rejected"]}
    assert sorted(reasons.values()) == ["negative_value", "not_a_number", "unknown_parameter"]
    assert all(ref.startswith("line ") for ref in reasons)
    assert body["source"].startswith("upload:cd ")
    assert _pm25(client, "1431A", "2024-02-01T10:00") == [44]
    # the rejected lines are kept under the upload's own source
    kept = client.get(
        "/api/v1/rejected", params={"source": body["source"]}, headers=_auth(tokens, "cd")
    ).json()
    assert sorted(r["record_ref"] for r in kept) == sorted(reasons)


def test_an_upload_naming_another_citys_site_is_refused_whole(
    client: TestClient, tokens: dict[str, str]
) -> None:
    text = (
        "site,parameter,time,value\n"
        "2286A,PM2.5,2024-02-02T10:00,20\n"
        "1431A,PM2.5,2024-02-02T10:00,21\n"
    )
    response = _upload(client, tokens, "dy", text)
    assert response.status_code == 403  # type: ignore[attr-defined]
    detail = response.json()["detail"]  # type: ignore[attr-defined]
    assert detail == "editor of 510600 (dy) may not write site 1431A of 510100"
    assert _pm25(client, "2286A", "2024-02-02T10:00") == []  # nothing of the file stored
    assert _upload(client, tokens, "viewer", text).status_code == 403  # type: ignore[attr-defined]
    assert _upload(client, tokens, "admin", text).status_code == 200  # type: ignore[attr-defined]


def test_an_upload_may_name_only_bundled_layouts_and_needs_its_columns(
    client: TestClient, tokens: dict[str, str], store_path: Path
) -> None:
    secret = store_path.with_suffix(".toml")
    secret.write_text("[time]\n", encoding="utf-8")
    answer = _upload(client, tokens, "cd", "a,b\n1,2\n", layout=str(secret))
    assert answer.status_code == 422  # type: ignore[attr-defined]
    assert "unknown layout" in answer.json()["detail"]  # type: ignore[attr-defined]
    missing = _upload(client, tokens, "cd", "site,time,value\n1431A,2024-02-01T10:00,3\n")
    assert missing.status_code == 422  # type: ignore[attr-defined]
    assert "['parameter']" in missing.json()["detail"]  # type: ignore[attr-defined]


def test_retire_keeps_the_site_and_says_when_and_why(
    client: TestClient, tokens: dict[str, str]
) -> None:
    body = {"reason": "moved to a new roof", "on": "2024-03-01"}
    refused = client.post("/api/v1/sites/CD-M01/retire", json=body, headers=_auth(tokens, "dy"))
    assert refused.status_code == 403
    retired = client.post("/api/v1/sites/CD-M01/retire", json=body, headers=_auth(tokens, "cd"))
    assert retired.status_code == 200, retired.text
    attributes = retired.json()["attributes"]
    assert attributes == {"retired_on": "2024-03-01", "retired_reason": "moved to a new roof"}
    missing = client.post("/api/v1/sites/NOPE/retire", json=body, headers=_auth(tokens, "cd"))
    assert missing.status_code == 404


def test_a_citys_audit_log_is_read_by_its_editors_and_admins(
    client: TestClient, tokens: dict[str, str]
) -> None:
    body = {"reason": "audit test", "on": "2024-03-02"}
    client.post("/api/v1/sites/2286A/retire", json=body, headers=_auth(tokens, "dy"))
    own = client.get("/api/v1/audit/cities/510600", headers=_auth(tokens, "dy"))
    assert own.status_code == 200
    entries = own.json()
    assert entries[0]["action"] == "sites.retire" and entries[0]["target"] == "2286A"
    assert {e["city_code"] for e in entries} == {510600}
    for caller, status in (("cd", 403), ("viewer", 403), ("admin", 200)):
        answer = client.get("/api/v1/audit/cities/510600", headers=_auth(tokens, caller))
        assert answer.status_code == status, caller
    assert client.get("/api/v1/audit/cities/510600").status_code == 401


def test_policy_read_audit() -> None:
    editor = Principal(name="dy", role="editor", city_code=510600)
    assert denial(editor, "read_audit", 510600) is None
    assert "may not read the audit log of city 510100" in str(denial(editor, "read_audit", 510100))
    assert denial(editor, "read_audit", None) is not None
    assert denial(Principal(name="a", role="admin"), "read_audit", None) is None
    assert denial(Principal(name="v", role="viewer"), "read_audit", 510600) is not None


#: The public UCI five-cities layout (one PM_<site> column per site; docs/formats.md): two
#: hours of 2024-02-03, CST hour-beginning labels.
FIVE_CITIES = (
    "No,year,month,day,hour,season,PM_Roof,DEWP,HUMI,PRES,TEMP,cbwd,Iws,precipitation,Iprec\n"
    "1,2024,2,3,10,4,31,2,60,1015,8,NE,1.79,0,0\n"
    "2,2024,2,3,11,4,33,2,60,1015,8,NE,2.68,0,0\n"
)


def _upload_named(
    client: TestClient, tokens: dict[str, str], caller: str, name: str, url: str, **data: str
) -> object:
    return client.post(
        url,
        files={"file": (name, FIVE_CITIES.encode("utf-8"), "text/csv")},
        data={"layout": "uci_five_cities", **data},
        headers=_auth(tokens, caller),
    )


def test_a_mapped_layout_without_a_city_in_its_name_is_the_editors_city(
    client: TestClient, tokens: dict[str, str]
) -> None:
    """The layout reads the city from the file name (GuangzhouPM…); an upload named otherwise
    belongs to the editor's city (the page and the API), not a CLI option the page lacks."""
    answer = _upload_named(client, tokens, "dy", "hourly.csv", "/api/v1/observations/upload")
    assert answer.status_code == 200, answer.text  # type: ignore[attr-defined]
    assert answer.json()["inserted"] == 2  # type: ignore[attr-defined]
    assert _pm25(client, "510600-Roof", "2024-02-03T11:00") == [31]  # hour-beginning 10:00
    page = _upload_named(client, tokens, "cd", "hourly.csv", "/edit/upload", city="510100")
    assert page.status_code == 200, page.text  # type: ignore[attr-defined]
    assert 'id="report-inserted">2<' in page.text  # type: ignore[attr-defined]
    assert _pm25(client, "510100-Roof", "2024-02-03T12:00") == [33]


def test_a_mapped_layout_naming_another_city_in_its_file_name_is_refused_whole(
    client: TestClient, tokens: dict[str, str]
) -> None:
    name = "GuangzhouPM20240203_20240203.csv"  # the file says Guangzhou: not Deyang's editor's
    answer = _upload_named(client, tokens, "dy", name, "/api/v1/observations/upload")
    assert answer.status_code == 403  # type: ignore[attr-defined]
    assert "440100" in answer.json()["detail"]  # type: ignore[attr-defined]
    sites = client.get("/api/v1/sites", params={"city": 440100}).json()["results"]
    assert sites == []  # neither the site nor its data were stored


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("GuangzhouPM20240203.csv", "GuangzhouPM20240203.csv"),
        ("../../etc/passwd", "passwd"),
        ("C:\\data\\hourly.csv", "hourly.csv"),
        (".hidden.csv", "hidden.csv"),
        ("..", "upload.csv"),
        ("成都 数据.csv", "_____.csv"),
    ],
)
def test_an_uploaded_file_keeps_only_a_safe_base_name(given: str, kept: str) -> None:
    assert writes_service._safe_file_name(given) == kept
