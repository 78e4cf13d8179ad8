"""``/api/v1/machinery`` over HTTP (TestClient) on a real DuckDB file, per role; and the
``machinery:read`` / ``machinery:write`` rights of the policy module, action × role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from ecobasin import catalog
from ecobasin.services import machinery as service
from ecobasin.store import Store
from ecobasin.web import create_app
from ecobasin.web.security import accounts
from ecobasin.web.security.policy import Principal, denial

CALLERS = {"admin": ("admin", None), "cd": ("editor", 510100), "dy": ("editor", 510600),
           "viewer": ("viewer", None)}  # fmt: skip
REGISTRY = (
    "registration_code,issuer_city,registered_at,machine_type,fuel,stage_declared,owner_name,"
    "current_city,rated_power_kw,manufacture_date\n"
    "DY-0002,510600,2025-02-01,装载机,diesel,G2,德阳路桥,510100,90,2012-05-01\n"
)


@pytest.mark.parametrize(
    ("role", "city", "action", "target", "allowed"),
    [
        ("admin", None, "machinery:read", None, True),
        ("viewer", None, "machinery:read", None, True),
        ("editor", 510600, "machinery:read", None, True),  # every city reads the registry
        ("public", None, "machinery:read", None, False),
        ("partner", None, "machinery:read", None, False),
        ("admin", None, "machinery:write", 510100, True),
        ("editor", 510100, "machinery:write", 510100, True),
        ("editor", 510600, "machinery:write", 510100, False),
        ("viewer", None, "machinery:write", 510100, False),
        ("public", None, "machinery:write", 510100, False),
        ("public", None, "read_public", None, True),  # the counts and zones
    ],
)
def test_machinery_rights_action_by_role(
    role: str, city: int | None, action: str, target: int | None, allowed: bool
) -> None:
    principal = Principal(name=None if role == "public" else role, role=role, city_code=city)  # type: ignore[arg-type]
    assert (denial(principal, action, target) is None) is allowed  # type: ignore[arg-type]


def test_public_denial_says_counts_only() -> None:
    reason = denial(Principal(name=None, role="public"), "machinery:read")
    assert reason is not None and "aggregated counts only" in reason


@pytest.fixture(scope="module")
def tokens_and_client(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[dict[str, str], TestClient]]:
    folder = tmp_path_factory.mktemp("machinery_api")
    path = folder / "m.duckdb"
    made = {}
    with Store(path) as store:
        store.sync_catalog(catalog.load_region())
        for name, (role, city) in CALLERS.items():
            accounts.create_user(store.con, name, role, city, f"password-of-{name}")
            made[name] = accounts.create_token(store.con, name, "tests")[1]
        registry = folder / "registry.csv"
        registry.write_text(REGISTRY, encoding="utf-8")
        service.import_registry(store, registry)
    with TestClient(create_app(path)) as client:
        yield made, client


def _auth(tokens: dict[str, str], caller: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens[caller]}"}


SPOT = {
    "code_observed": "DY·0002", "city": 510100, "agency": "成都市生态环境局",
    "inspected_at": "2026-06-01T10:00:00+08:00", "readings_k": [1.7, 1.65, 1.62],
}  # fmt: skip


def test_failed_spot_check_by_another_city_finds_the_machine_and_fires_c5(
    tokens_and_client: tuple[dict[str, str], TestClient],
) -> None:
    tokens, client = tokens_and_client
    refused = client.post("/api/v1/machinery/inspections", json=SPOT, headers=_auth(tokens, "dy"))
    assert refused.status_code == 403 and "510100" in refused.json()["detail"]
    assert client.post("/api/v1/machinery/inspections", json=SPOT).status_code == 401
    made = client.post("/api/v1/machinery/inspections", json=SPOT, headers=_auth(tokens, "cd"))
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["result"], body["limit_class"], body["k_limit"]) == ("fail", "I", 1.61)
    assert "C5" in {f["rule"] for f in body["findings"]}
    # Deyang's editor sees Chengdu's check of its machine (mutual recognition)
    seen = client.get("/api/v1/machinery/machines/dy-0002", headers=_auth(tokens, "dy")).json()
    assert [i["city"] for i in seen["inspections"]] == [510100]
    found = client.get("/api/v1/machinery/findings", params={"rule": "C5"},
                       headers=_auth(tokens, "viewer")).json()["items"]  # fmt: skip
    assert found and found[0]["violation_type"] == "SMOKE_FAIL"


def test_bad_spot_check_is_a_422_naming_the_reason(
    tokens_and_client: tuple[dict[str, str], TestClient],
) -> None:
    tokens, client = tokens_and_client
    bad = {**SPOT, "readings_k": [0.5, 0.6]}
    answer = client.post("/api/v1/machinery/inspections", json=bad, headers=_auth(tokens, "cd"))
    assert answer.status_code == 422 and "3 readings" in answer.text


def test_public_reads_counts_and_zones_but_not_the_registry(
    tokens_and_client: tuple[dict[str, str], TestClient],
) -> None:
    tokens, client = tokens_and_client
    assert client.get("/api/v1/machinery/machines").status_code == 401
    assert client.get("/api/v1/machinery/findings").status_code == 401
    counts = client.get("/api/v1/machinery/counts").json()["items"]
    assert {row["city"] for row in counts} >= {510100, 510600}
    assert not any("registration_code" in row for row in counts)
    assert client.get("/api/v1/machinery/zones").json()["type"] == "FeatureCollection"
    listed = client.get("/api/v1/machinery/machines", headers=_auth(tokens, "viewer")).json()
    assert [m["registration_code"] for m in listed["items"]] == ["DY-0002"]
    run = client.post("/api/v1/machinery/checks", headers=_auth(tokens, "viewer"))
    assert run.status_code == 403
    assert (
        client.post("/api/v1/machinery/checks", headers=_auth(tokens, "admin")).status_code == 200
    )


def test_page_shows_the_form_to_a_city_editor_only(
    tokens_and_client: tuple[dict[str, str], TestClient],
) -> None:
    tokens, client = tokens_and_client
    public = client.get("/machinery")
    assert public.status_code == 200
    assert 'id="counts-table"' in public.text and 'id="spot-form"' not in public.text
    assert 'id="findings-table"' not in public.text
    editor = client.get("/machinery", headers=_auth(tokens, "cd")).text
    assert 'id="spot-form"' in editor and '<option value="510100">' in editor
    assert '<option value="510600">' not in editor  # Chengdu's editor records Chengdu's checks
    viewer = client.get("/machinery", headers=_auth(tokens, "viewer")).text
    assert 'id="findings-table"' in viewer and 'id="spot-form"' not in viewer
