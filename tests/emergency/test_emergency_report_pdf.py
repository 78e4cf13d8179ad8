"""The whole compliance report of a warning as PDF (issue 17, emergency.md §2.5) over HTTP on a
real DuckDB file (the demo's checked orange warning) and from the CLI: pdftotext reads back the
summary, the shares met, every verdict, and the sections naming exactly the enterprises the API
names, with the API's numbers."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from ecobasin.cli import app
from ecobasin.demo import emergency as demo_emergency
from ecobasin.store import Store
from ecobasin.web import create_app
from ecobasin.web.security import accounts
from store_files import new_synced_store_file

Served = tuple[TestClient, dict[str, str], str, Path]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    path = Path(tmp_path_factory.mktemp("report")) / "demo.duckdb"
    with Store(new_synced_store_file(path)) as store:
        key = demo_emergency.install(store)["activation"]
        accounts.create_user(store.con, "viewer1", "viewer", password="viewer-password-1")
        _, token = accounts.create_token(store.con, "viewer1", "report tests")
    with TestClient(create_app(path)) as client:
        yield client, {"Authorization": f"Bearer {token}"}, key, path


def _text(pdf: bytes, tmp_path: Path) -> str:
    file = tmp_path / "report.pdf"
    file.write_bytes(pdf)
    # pdftotext comes from poppler-utils (.ci/run): its absence fails the test, never skips it
    return subprocess.run(["pdftotext", "-layout", str(file), "-"], check=True,
                          capture_output=True, text=True).stdout  # fmt: skip


def _between(text: str, start: str, end: str) -> str:
    return text[text.index(start) : text.index(end, text.index(start))]


def test_the_report_pdf_names_whom_the_api_names_with_its_numbers(
    served: Served, tmp_path: Path
) -> None:
    client, auth, key, _ = served
    url = f"/api/v1/emergency/activations/{key}/report.pdf"
    assert client.get(url).status_code == 401  # it names enterprises: readers only
    got = client.get(url, headers=auth)
    assert got.status_code == 200 and got.headers["content-type"] == "application/pdf"
    text = _text(got.content, tmp_path)
    items = client.get(f"/api/v1/emergency/activations/{key}/verdicts", headers=auth).json()
    items = items["items"]
    by_verdict = {g: {i["uscc"] for i in items if i["verdict"] == g}
                  for g in ("non_compliant", "insufficient_data", "compliant")}  # fmt: skip
    assert by_verdict["non_compliant"] and by_verdict["insufficient_data"]
    usccs = re.compile(r"9151010000DEMO\d\dXX")
    sections = {
        "non_compliant": _between(text, "未落实减排措施", "数据不足（需立案核查）"),
        "insufficient_data": _between(text, "数据不足（需立案核查）", "带数据标记"),
        "flagged": text[text.index("带数据标记") :],
    }
    for group in ("non_compliant", "insufficient_data"):
        assert set(usccs.findall(sections[group])) == by_verdict[group], group
    flagged = {i["uscc"] for i in items if i["flagged_hours"]}
    assert set(usccs.findall(sections["flagged"])) == flagged
    # every verdict is in the table, with the API's achieved cut, valid hours and baseline
    table = _between(text, "逐企业核查结论", "未落实减排措施")
    assert set(usccs.findall(table)) == {i["uscc"] for i in items}
    for i in items:
        assert f"{i['baseline_kg_h']:.2f}" in table
        if "achieved_reduction" in i["numbers"]:
            assert f"{i['numbers']['achieved_reduction'] * 100:.1f} %" in table
    counts = {g: len(u) for g, u in by_verdict.items()}
    summary = _between(text, "摘要 Summary", "清单减排核算")
    assert f"non-compliant {counts['non_compliant']}" in summary
    assert f"insufficient data {counts['insufficient_data']}" in summary
    assert f"checked {len(items)}" in summary


def test_the_report_shows_the_shares_met_at_the_warnings_level(
    served: Served, tmp_path: Path
) -> None:
    client, auth, key, _ = served
    text = _text(client.get(f"/api/v1/emergency/activations/{key}/report.pdf",
                            headers=auth).content, tmp_path)  # fmt: skip
    shares = _between(text, "清单减排核算", "逐企业核查结论")
    assert "橙色 Orange" in shares and "行业措施" in shares
    # the demo list at orange: 6 × 0.93 t/d NOx × its limits + the sector measures (§3.1 S2, S3)
    nox = 0.93 * (0.5 * 4 + 0.3 * 2) + 5.0 * 0.5 + 10.0 * 0.15
    assert f"{nox:.3f}" in shares and f"{nox / 50 * 100:.1f} %" in shares


def test_unknown_warning_is_404_and_the_page_links_the_pdf(served: Served) -> None:
    client, auth, key, _ = served
    missing = client.get("/api/v1/emergency/activations/nope/report.pdf", headers=auth)
    assert missing.status_code == 404
    page = client.get(f"/emergency/reports/{key}", headers=auth)
    assert page.status_code == 200
    assert f'href="/api/v1/emergency/activations/{key}/report.pdf"' in page.text


def test_cli_writes_a_private_pdf(tmp_path: Path) -> None:
    path = tmp_path / "cli.duckdb"  # its own file: the served one is held by the app
    with Store(new_synced_store_file(path)) as store:
        key = demo_emergency.install(store)["activation"]
    out = tmp_path / "r.pdf"
    done = CliRunner().invoke(
        app, ["emergency", "report", key, "--pdf", str(out), "--db", str(path)]
    )
    assert done.exit_code == 0, done.output
    body = json.loads(done.stdout.strip().splitlines()[-1])
    assert body["counts"]["non_compliant"] == 2 and out.stat().st_mode & 0o777 == 0o600
    assert set(body["named"]["non_compliant"]) == {"9151010000DEMO03XX", "9151010000DEMO04XX"}
    assert "9151010000DEMO03XX" in _text(out.read_bytes(), tmp_path)
    missing = CliRunner().invoke(app, ["emergency", "report", "nope", "--db", str(path)])
    assert missing.exit_code != 0 and "nope" in missing.output
