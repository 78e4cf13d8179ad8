"""The live enterprise API and page (issues 4 and 5): ``/api/v1/live/enterprises``,
``/api/v1/gateway/status`` and ``/live``, over real HTTP (TestClient) on a real DuckDB file.

Expected limits are those of ``catalog/data/emission/limits.csv``: ultra-low emission SO2 35
and NOx 50 mg/m³ at 6 % O2 (环发〔2015〕164号), GB 18918-2002 Table 1 Class 1A COD 50 and
NH3-N 5 mg/L (daily means); a value is over only when strictly above its limit.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from ecobasin import catalog
from ecobasin.gateway import load_devices
from ecobasin.jobs.alarms import recompute_alarms
from ecobasin.jobs.live_feed import LiveFeed, register_fleet
from ecobasin.store import Store
from ecobasin.store import alarms as store_alarms
from ecobasin.web import create_app
from ecobasin.web.api.live import RateMeter
from ecobasin.web.security import accounts

REGION = catalog.load_region()
OUTLETS = pd.DataFrame(
    [
        ("G1", "gas_outlet", "enterprise", 510100, "甲电厂1号排口", "Plant A stack 1"),
        ("W1", "water_outlet", "enterprise", 510600, "乙污水厂总排口", "WWTP B outlet"),
        ("G2", "gas_outlet", "enterprise", 510100, "丙厂排口", "Plant C stack"),
        ("G3", "gas_outlet", "enterprise", 511100, "丁厂排口", "Plant D stack"),
    ],
    columns=["site_id", "kind", "level", "city_code", "name_zh", "name_en"],
).assign(lon=None, lat=None)
OUTLETS["attributes"] = [
    {"source_category": "coal_boiler_ultra_low"},
    {"source_category": "municipal_wwtp_1a"},
    {"limits": {"FG_SO2_Zs": 20}},  # a permit limit in the site's attributes
    {"source_category": "coal_boiler_ultra_low"},  # no data yet
]
H2, H3 = pd.Timestamp("2025-03-01T02:00Z"), pd.Timestamp("2025-03-01T03:00Z")
REALTIME = pd.Timestamp("2025-03-01T03:00:30Z")
DAY_END = pd.Timestamp("2025-02-28T16:00Z")  # end of the CST day 2025-02-28 (24:00)
NOX_10MIN = [48.0, 50.0, 52.0, 54.0, 56.0, 58.0]  # hour ending 03:00Z: mean 53 > 50


def _rows() -> pd.DataFrame:
    rows: list[tuple[Any, ...]] = [
        ("G1", "FG_SO2_Zs", "1h", H2, 30.0, "N"),
        ("G1", "FG_SO2_Zs", "1h", H3, 35.0, "N"),  # equal to the limit: not over
        ("G1", "FG_SO2_Zs", "instant", REALTIME, 33.1, "N"),  # newest reading, no full hour
        ("G1", "FG_O2", "instant", REALTIME, 9.1, "N"),  # no limit
        ("W1", "COD", "1d", DAY_END, 50.0, "N"),  # equal to the limit: not over
        ("W1", "NH3N", "1d", DAY_END, 5.2, "N"),  # over 5
        ("G2", "FG_SO2_Zs", "1h", H3, 21.0, None),  # over the permit's 20
    ]
    ten = pd.date_range(H2 + pd.Timedelta(minutes=10), H3, freq="10min")
    rows += [("G1", "FG_NOx_Zs", "10min", t, v, "N") for t, v in zip(ten, NOX_10MIN, strict=True)]
    frame = pd.DataFrame(rows, columns=["site_id", "parameter", "period", "time", "value", "flag"])
    frame["time"] = frame["time"].astype("datetime64[us, UTC]")
    return frame


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("live") / "live.duckdb"
    with Store(path) as store:
        store.sync_catalog(REGION)
        store.upsert_sites(OUTLETS, "tests")
        store.write_observations(_rows(), store.begin_batch("test", "tests"))
        recompute_alarms(
            store,
            ["G1", "W1", "G2"],
            H2.to_pydatetime(),
            H3.to_pydatetime(),
            now=(REALTIME + pd.Timedelta(minutes=1)).to_pydatetime(),
        )
        accounts.create_user(store.con, "viewer", "viewer", None, "password-viewer-1")
    return path


@pytest.fixture(scope="module")
def token(db: Path) -> str:
    with Store(db) as store:
        return accounts.create_token(store.con, "viewer", "tests")[1]


@pytest.fixture(scope="module")
def client(db: Path, token: str) -> Iterator[TestClient]:
    with TestClient(create_app(db, REGION)) as test_client:
        yield test_client


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _by_site(client: TestClient, token: str) -> dict[str, dict[str, Any]]:
    response = client.get("/api/v1/live/enterprises", headers=_auth(token))
    assert response.status_code == 200, response.text
    return {item["site_id"]: item for item in response.json()["results"]}


def _reading(item: dict[str, Any], parameter: str) -> dict[str, Any]:
    (found,) = [r for r in item["readings"] if r["parameter"] == parameter]
    return found


@pytest.mark.parametrize("path", ["/api/v1/live/enterprises", "/api/v1/gateway/status"])
def test_the_public_is_refused_with_401(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"] == "application/problem+json"


def test_a_viewer_reads_every_outlet_and_no_air_station(client: TestClient, token: str) -> None:
    body = client.get("/api/v1/live/enterprises", headers=_auth(token)).json()
    assert body["count"] == 4
    assert [r["site_id"] for r in body["results"]] == ["G1", "G2", "W1", "G3"]  # by city, id
    assert body["over_limit"] == 3  # G1 (NOx), G2 (permit SO2), W1 (NH3-N)


def test_latest_readings_are_the_stored_ones(client: TestClient, token: str) -> None:
    g1 = _by_site(client, token)["G1"]
    so2 = _reading(g1, "FG_SO2_Zs")  # the real-time reading is newer than the hourly value
    assert (so2["value"], so2["period"], so2["flag"], so2["unit"]) == (
        33.1,
        "instant",
        "N",
        "mg/m³",
    )
    assert pd.Timestamp(so2["time_utc"]) == REALTIME
    assert so2["time_cst"] == "2025-03-01 11:00"
    assert _reading(g1, "FG_O2")["limit"] is None
    assert pd.Timestamp(g1["last_time_utc"]) == REALTIME
    assert g1["devices"] == [] and g1["simulated"] is False
    assert g1["source_category"] == "coal_boiler_ultra_low"


def test_over_limit_is_decided_against_the_limit_table(client: TestClient, token: str) -> None:
    sites = _by_site(client, token)
    so2 = _reading(sites["G1"], "FG_SO2_Zs")
    # latest complete hour: the stored 1-h value 35.0 ending 03:00Z = 11:00 CST, not above 35
    assert (so2["limit"], so2["basis"], so2["basis_value"], so2["over"]) == (
        35.0,
        "1h",
        35.0,
        False,
    )
    assert so2["standard_id"] == "环发〔2015〕164号" and so2["limit_source"] == "standard"
    assert so2["basis_time_cst"] == "2025-03-01 11:00"
    nox = _reading(sites["G1"], "FG_NOx_Zs")
    # six valid 10-min values cover the hour: mean (48+50+52+54+56+58)/6 = 53 > 50
    assert (nox["limit"], nox["basis_value"], nox["over"]) == (50.0, 53.0, True)
    cod, nh3n = _reading(sites["W1"], "COD"), _reading(sites["W1"], "NH3N")
    assert (cod["limit"], cod["basis"], cod["over"]) == (50.0, "1d", False)  # 50 is not above 50
    assert (nh3n["limit"], nh3n["basis_value"], nh3n["over"]) == (5.0, 5.2, True)
    assert cod["basis_time_cst"] == "2025-02-28 24:00"
    permit = _reading(sites["G2"], "FG_SO2_Zs")
    assert (permit["limit"], permit["limit_source"], permit["over"]) == (
        20.0,
        "site_attributes",
        True,
    )
    assert [sites[s]["over_limit"] for s in ("G1", "G2", "W1", "G3")] == [True, True, True, False]
    assert sites["G3"]["readings"] == [] and sites["G3"]["last_time_utc"] is None


def test_open_alarms_are_the_stored_open_ones(db: Path, client: TestClient, token: str) -> None:
    sites = _by_site(client, token)
    shown = {a["alarm_id"] for item in sites.values() for a in item["open_alarms"]}
    cursor = client.app.state.store.cursor()  # type: ignore[attr-defined]
    try:
        stored = store_alarms.alarms(cursor, store_alarms.AlarmFilter(status="open"), limit=100)
    finally:
        cursor.close()
    assert shown == set(stored["alarm_id"])
    nox = [a for a in sites["G1"]["open_alarms"] if a["parameter"] == "FG_NOx_Zs"]
    assert [(a["kind"], a["peak"], a["limit"]) for a in nox] == [("over_limit", 53.0, 50.0)]


def test_gateway_status_is_404_without_a_gateway(client: TestClient, token: str) -> None:
    response = client.get("/api/v1/gateway/status", headers=_auth(token))
    assert response.status_code == 404
    assert "--gateway" in response.json()["detail"]


def test_the_page_asks_the_public_to_sign_in(client: TestClient, token: str) -> None:
    public = client.get("/live?lang=en")
    assert public.status_code == 200
    assert 'id="live-signin"' in public.text and "/signin?next=/live" in public.text
    assert "live.js" not in public.text and 'href="/live"' not in public.text  # no nav link
    viewer = client.get("/live?lang=zh", headers=_auth(token))
    assert 'id="enterprise-table"' in viewer.text and "/static/js/live.js" in viewer.text
    assert '<a id="nav-live" href="/live" aria-current="page">实时</a>' in viewer.text


def test_rate_meter_spans_the_last_minute() -> None:
    meter = RateMeter(window=60.0)
    assert meter.sample(0.0, 0) == (None, None)
    assert meter.sample(30.0, 300) == (10.0, 30.0)
    assert meter.sample(70.0, 700) == (10.0, 70.0)  # the sample at 0 s is the window's start
    rate, span = meter.sample(100.0, 1300)  # 0 s drops out: (1300 - 300) / (100 - 30)
    assert span == 70.0 and rate == pytest.approx(1000 / 70)


def test_status_and_enterprises_of_a_running_gateway(tmp_path: Path) -> None:
    db = tmp_path / "gw.duckdb"
    feed = LiveFeed(gateway_port=0, enterprises=2, seed=5, refresh_every=0.5, speedup=120.0)
    with Store(db) as store:
        store.sync_catalog(REGION)
        register_fleet(store, feed, REGION)
        devices = {d.site_id: mn for mn, d in load_devices(store).items()}
        accounts.create_user(store.con, "viewer", "viewer", None, "password-viewer-1")
        token = accounts.create_token(store.con, "viewer", "tests")[1]
    with TestClient(create_app(db, REGION, live=feed)) as client:
        live = client.app.state.live  # type: ignore[attr-defined]
        deadline = time.monotonic() + 120  # bounded wait for a stuck gateway, not a speed test
        while live.gateway.stats.stored == 0 and time.monotonic() < deadline:
            time.sleep(0.3)
        first = client.get("/api/v1/gateway/status", headers=_auth(token)).json()
        second = client.get("/api/v1/gateway/status", headers=_auth(token)).json()
        sites = _by_site(client, token)
    assert first["port"] == live.port and first["stored"] > 0 and first["acked"] > 0
    assert first["messages_per_s"] is None and second["messages_per_s"] >= 0.0
    assert second["acked"] >= first["acked"] and second["rate_window_s"] > 0
    assert second["simulator"]["acked"] > 0
    assert set(sites) == set(devices)
    for site, item in sites.items():
        assert item["simulated"] is True and item["devices"] == [devices[site]]
    assert any(item["readings"] for item in sites.values())


def test_each_outlet_lists_the_limits_applying_to_it(client: TestClient, token: str) -> None:
    sites = _by_site(client, token)
    g3 = {(x["parameter"], x["limit"], x["unit"], x["basis"]) for x in sites["G3"]["limits"]}
    # no data yet, yet its category's limits apply: ultra-low dust 10, SO2 35, NOx 50 mg/m³
    assert g3 == {
        ("FG_dust_Zs", 10.0, "mg/m³", "1h"),
        ("FG_SO2_Zs", 35.0, "mg/m³", "1h"),
        ("FG_NOx_Zs", 50.0, "mg/m³", "1h"),
    }
    assert [(x["parameter"], x["limit"], x["source"]) for x in sites["G2"]["limits"]] == [
        ("FG_SO2_Zs", 20.0, "site_attributes")
    ]
    w1 = {x["parameter"]: x["limit"] for x in sites["W1"]["limits"]}
    assert (w1["COD"], w1["NH3N"], w1["TN"], w1["TP"]) == (50.0, 5.0, 15.0, 0.5)
