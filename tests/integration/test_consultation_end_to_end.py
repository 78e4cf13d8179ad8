"""A whole consultation through the API of a real ``ecobasin serve`` process (issue 16): eight
city forecasters, the chair (Chengdu's approver, February 2026 on the rota) and the province.

Submissions (Deyang late, Mianyang and Leshan diverging from the model on day 2), reconciliation
(concluding is refused while divergences are open), conclusion with Chengdu's orange warning,
the PDF report generated and its text checked with pdftotext, the province's recommendation,
an amendment superseding the issued version, and verification once the city daily AQI of the
forecast days has arrived (written while the server is stopped: DuckDB has one writer).
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

import loopback
from ecobasin import catalog
from ecobasin.store import Store
from ecobasin.store import consultation as store_consultation
from ecobasin.web.security import accounts
from store_files import new_synced_store_file

pytestmark = pytest.mark.slow  # a real server process, twice

CITIES = [int(c) for c in catalog.load_region().cities]
CHENGDU, DEYANG, MIANYANG, LESHAN = 510100, 510600, 510700, 511100
DIVERGING = (MIANYANG, LESHAN)
SESSION_DATE = date(2026, 2, 2)
TOKENS: dict[str, str] = {}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(db: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        str(Path(sys.executable).parent / "ecobasin"),
        "serve",
        "--port",
        str(port),
        "--db",
        str(db),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        loopback.wait_for_health(url, process)
    except RuntimeError:
        process.kill()
        raise RuntimeError(process.communicate()[1].decode()) from None
    return process, url


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=30)
    if process.stderr is not None:
        process.stderr.close()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("e2e") / "e2e.duckdb"
    at = datetime.now(UTC)
    with Store(new_synced_store_file(path)) as store:
        people = [(f"fc{c}", "city_forecaster", c) for c in CITIES]
        people += [("cd_lead", "city_approver", CHENGDU), ("prov", "province_coordinator", None)]
        for name, role, city in people:
            accounts.create_user(store.con, name, "viewer", None, f"password-{name}")
            TOKENS[name] = accounts.create_token(store.con, name, "e2e")[1]
            store_consultation.grant_role(store, name, role, city, "admin", at)
    return path


def day(lead: int, low: int, high: int, primary: tuple[str, ...] = ("PM2.5",)) -> dict[str, object]:
    return {"lead_day": lead, "aqi_low": low, "aqi_high": high, "primary": list(primary)}


def model_range(city: int, lead: int) -> tuple[int, int]:
    return (160, 200) if city == CHENGDU and lead <= 3 else (60, 90)


def test_eight_cities_from_submission_to_verified_amended_report(db: Path) -> None:
    request_stack = contextlib.ExitStack()
    process, url = _serve(db)
    try:
        http = loopback.client(base_url=f"{url}/api/v1/consultation")
        request_stack.callback(http.close)
        as_ = lambda name: {"Authorization": f"Bearer {TOKENS[name]}"}  # noqa: E731
        # the 7 on time take ~3 s even on a loaded machine (load 15); the late one waits it out
        deadline = datetime.now(UTC) + timedelta(seconds=20)
        made = http.post("/sessions", headers=as_("prov"), json={"kind": "episode", "session_date": "2026-02-02",
                                                                 "deadline": deadline.isoformat()})  # fmt: skip
        assert made.status_code == 200, made.text
        sid = made.json()["session_id"]
        guidance = [{"city": c, **day(d, *model_range(c, d))} for c in CITIES for d in range(1, 8)]
        opened = http.post(f"/sessions/{sid}/open", headers=as_("cd_lead"), json={
            "model_name": "CDAQS", "model_version": "e2e", "model_issued_at": "2026-02-01T20:00:00+08:00",
            "observation_cutoff": "2026-02-02T08:00:00+08:00", "guidance": guidance})  # fmt: skip
        assert opened.json()["state"] == "collecting", opened.text
        for c in CITIES:
            if c == DEYANG:
                continue
            days = [
                day(d, *((130, 160) if c in DIVERGING and d == 2 else model_range(c, d)))
                for d in range(1, 8)
            ]
            assert http.post(f"/sessions/{sid}/submissions", headers=as_(f"fc{c}"),
                             json={"city": c, "days": days}).status_code == 200  # fmt: skip
        other = http.post(f"/sessions/{sid}/submissions", headers=as_(f"fc{DEYANG}"),
                          json={"city": CHENGDU, "days": [day(1, 60, 90)]})  # fmt: skip
        assert other.status_code == 403  # a city submits for itself only
        while datetime.now(UTC) <= deadline:  # Deyang submits after the deadline
            time.sleep(0.2)
        late = [day(d, *model_range(DEYANG, d)) for d in range(1, 8)]
        assert http.post(f"/sessions/{sid}/submissions", headers=as_(f"fc{DEYANG}"),
                         json={"city": DEYANG, "days": late}).status_code == 200  # fmt: skip
        for step in ("close_submissions", "start_session"):
            assert (
                http.post(
                    f"/sessions/{sid}/steps/{step}", headers=as_("cd_lead"), json={}
                ).status_code
                == 200
            )
        view = http.get(f"/sessions/{sid}", headers=as_("fc510900")).json()
        assert {r["city"] for r in view["table"] if r["late"]} == {DEYANG} and view["missing"] == []
        gaps = [d for d in view["divergences"] if d["kind"] == "model_gap"]
        assert {d["city"] for d in gaps} == set(DIVERGING)
        early = http.post(f"/sessions/{sid}/steps/conclude", headers=as_("cd_lead"), json={})
        assert early.status_code == 422 and "unresolved" in early.json()["detail"]
        for d in view["divergences"]:
            assert http.post(f"/sessions/{sid}/resolve", headers=as_("cd_lead"), json={
                "key": d["key"], "resolution": "note_dissent", "reason": "局地静稳，保留意见"}).status_code == 200  # fmt: skip
        for c in CITIES:
            days = [day(d, *model_range(c, d)) for d in range(1, 8)]
            assert http.post(f"/sessions/{sid}/consensus", headers=as_("cd_lead"),
                             json={"city": c, "days": days}).status_code == 200  # fmt: skip
        warned = http.post(f"/sessions/{sid}/warning", headers=as_("cd_lead"),
                           json={"narrative": "成都重污染过程", "levels": {str(CHENGDU): "orange"}})  # fmt: skip
        assert warned.status_code == 200, warned.text
        assert (
            http.post(f"/sessions/{sid}/steps/conclude", headers=as_("cd_lead"), json={}).json()[
                "state"
            ]
            == "concluded"
        )
        hashes = http.post(f"/sessions/{sid}/report", headers=as_("cd_lead"), json={}).json()[
            "reports"
        ]
        pdf = http.get(f"/reports/{hashes['zh_pdf']}", headers=as_("fc512000"))
        assert pdf.headers["content-type"] == "application/pdf"
        text = subprocess.run(
            ["pdftotext", "-", "-"], input=pdf.content, capture_output=True, check=True
        ).stdout.decode()
        for expected in (
            "成都",
            "德阳",
            "绵阳",
            "遂宁",
            "乐山",
            "眉山",
            "雅安",
            "资阳",
            "160–200",
            "60–90",
            "橙色预警",
        ):
            assert expected in text, expected
        signed = http.post(f"/sessions/{sid}/sign", headers=as_("cd_lead"), json={})
        assert signed.json()["state"] == "issued"
        recommended = http.post(
            f"/sessions/{sid}/warning-proposal/recommend", headers=as_("prov"), json={}
        )
        assert recommended.json()["state"] == "recommended"
        amended = http.post(f"/sessions/{sid}/amend", headers=as_("cd_lead"), json={
            "reason": "模式更新", "changes": [{"city": DEYANG, **day(2, 100, 130)}]})  # fmt: skip
        assert amended.json() == {"session_id": sid, "version": 2, "state": "report_draft"}
        second = http.post(f"/sessions/{sid}/sign", headers=as_("cd_lead"), json={})
        assert second.json()["state"] == "issued"
        v1 = http.get(f"/sessions/{sid}?version=1", headers=as_("prov")).json()
        v2 = http.get(f"/sessions/{sid}", headers=as_("prov")).json()
        assert v1["state"] == "superseded" and v2["supersedes"] == f"{sid}/v1"
        assert v2["report_hash"] != v1["report_hash"]  # a new report, the old one kept
        assert http.get(f"/reports/{v1['report_hash']}", headers=as_("prov")).status_code == 200
        before = http.get(f"/sessions/{sid}/verification", headers=as_("prov")).json()
        assert before["observed_days"] == 0
    finally:
        request_stack.close()
        _stop(process)
    _observations_arrive(db)
    process, url = _serve(db)
    try:
        after = loopback.get(f"{url}/api/v1/consultation/sessions/{sid}/verification",
                          headers={"Authorization": f"Bearer {TOKENS['prov']}"}, timeout=60).json()  # fmt: skip
        assert after["observed_days"] == 8 * 7
        # the observed AQI sits in every range but the amended Deyang day 2 (100–130, observed 75)
        assert after["consensus"]["range_hit"] == pytest.approx(55 / 56)
        assert after["cities"][str(MIANYANG)]["range_hit"] == pytest.approx(6 / 7)
        assert after["lift"]["range_hit"]["minus_mean_city"] > 0
    finally:
        _stop(process)


def _observations_arrive(db: Path) -> None:
    """The final city daily AQI of 3–9 February 2026: inside the consensus range every day."""
    rows = []
    for c in CITIES:
        for lead in range(1, 8):
            low, high = model_range(c, lead)
            rows.append((str(c), SESSION_DATE + timedelta(days=lead), (low + high) // 2))
    with Store(db) as store:
        store.con.executemany(
            "INSERT INTO aqi_daily (scope, scope_id, day, rule_set, aqi, level, primary_pollutant, publish_aqi, "
            "incomplete, over_range, computed_at) VALUES ('city', ?, ?, 'HJ633-2012', ?, NULL, 'PM2.5', true, "
            "false, false, now())",
            rows,
        )
