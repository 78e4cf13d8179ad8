"""``ecobasin cases`` and ``ecobasin keytasks`` on a real DuckDB file, in-process with Typer's
CliRunner (issue 18): roles decide, refusals name the reason, bad rows are reported."""

from __future__ import annotations

import io
import json
from pathlib import Path

import openpyxl
import pytest
from PIL import Image
from typer.testing import CliRunner, Result

from ecobasin.cli import app
from store_files import new_synced_store_file

pytestmark = pytest.mark.slow  # CLI runs on database files
runner = CliRunner()


def run(*args: str) -> Result:
    return runner.invoke(app, list(args))


def test_cases_commands(tmp_path: Path) -> None:
    db = str(new_synced_store_file(tmp_path / "c.duckdb"))  # as `ecobasin init` makes it
    assert (
        run("cases", "grant", "so", "supervision_office", "--as", "admin", "--db", db).exit_code
        == 0
    )
    assert (
        run(
            "cases", "grant", "lu", "lead_unit", "--city", "510100", "--as", "admin", "--db", db
        ).exit_code
        == 1
    )  # no --unit
    assert (
        run(
            "cases",
            "grant",
            "lu",
            "lead_unit",
            "--city",
            "510100",
            "--unit",
            "成华区",
            "--as",
            "admin",
            "--db",
            db,
        ).exit_code
        == 0
    )
    facts = {"source_type": "routine_patrol", "title": "渣土车未密闭", "problem_text": "x",
             "category": "construction_sites", "city_code": 510100}  # fmt: skip
    made = run(
        "cases",
        "register",
        "--as",
        "so",
        "--facts",
        json.dumps(facts, ensure_ascii=False),
        "--db",
        db,
    )
    assert made.exit_code == 0, made.output
    case_id = made.stdout.strip().splitlines()[0]
    refused = run("cases", "act", case_id, "transfer", "--as", "lu", "--db", db,
                  "--facts", '{"lead_unit": "成华区"}')  # fmt: skip
    assert refused.exit_code == 1 and "supervision_office" in refused.output
    bad_day = run("cases", "act", case_id, "transfer", "--as", "so", "--db", db, "--facts",
                  '{"lead_unit": "成华区", "acceptance_level": "city", "rectify_due": "soon", "term_type": "限期"}')  # fmt: skip
    assert bad_day.exit_code == 1 and "rectify_due" in bad_day.output
    moved = run("cases", "act", case_id, "transfer", "--as", "so", "--db", db, "--facts",
                '{"lead_unit": "成华区", "acceptance_level": "city", "rectify_due": "2026-06-30", "term_type": "限期"}')  # fmt: skip
    assert moved.exit_code == 0, moved.output
    photo = tmp_path / "before.jpg"
    image = io.BytesIO()
    Image.new("RGB", (32, 32), "gray").save(image, format="JPEG")
    photo.write_bytes(image.getvalue())
    attached = run(
        "cases",
        "attach",
        case_id,
        str(photo),
        "--as",
        "lu",
        "--kind",
        "photo_before",
        "--phase",
        "before",
        "--db",
        db,
    )
    assert attached.exit_code == 0 and "image/jpeg" in attached.output
    shown = json.loads(run("cases", "show", case_id, "--db", db).stdout)
    assert shown["state"] == "transferred" and [t["event"] for t in shown["trail"]] == [
        "register",
        "transfer",
        "add_evidence",
    ]
    listed = run("cases", "list", "--format", "csv", "--db", db)
    assert case_id in listed.stdout
    assert run("cases", "workdays", "2026-02-12", "10").stdout.strip() == "2026-03-04"


def test_keytasks_commands(tmp_path: Path) -> None:
    db = str(new_synced_store_file(tmp_path / "k.duckdb"))  # as `ecobasin init` makes it
    assert (
        run(
            "keytasks", "plan", "p26", "--year", "2026", "--title", "T", "--issuer", "I", "--db", db
        ).exit_code
        == 0
    )
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["方面", "编号", "任务", "牵头单位", "完成时限"])
    sheet.append(["大气", "1", "VOCs", "成都市", "2026-06-30"])
    sheet.append(["大气", "2", "坏", "成都市", ""])
    path = tmp_path / "t.xlsx"
    book.save(path)
    result = run("keytasks", "import", "p26", str(path), "--db", db)
    assert (
        result.exit_code == 0
        and "1 imported, 1 kept aside" in result.output
        and "row 3" in result.output
    )
    assert run("keytasks", "import", "nope", str(path), "--db", db).exit_code == 1
