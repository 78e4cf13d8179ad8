"""Re-running ``ecobasin demo`` on its database keeps what is there (an editor's invalidation
stays) and says what it kept and what it built; run in-process on a copy of the session's demo."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ecobasin.cli import app
from ecobasin.store import Store, _sql
from ecobasin.store.edits import invalidate_observations


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("ECOBASIN_DB", "ECOBASIN_REGION", "ECOBASIN_CONFIG", "ECOBASIN_CITIES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)


def flags(db: Path, site: str) -> list[str | None]:
    with Store(db, read_only=True) as store:
        found = _sql.rows(
            store,
            "SELECT o.flag FROM observation_values o JOIN sites s USING (site_key) "
            "JOIN parameters p USING (parameter_key) WHERE s.site_id = ? "
            "AND p.parameter = 'PM2.5' AND o.period = '1h' "
            "AND o.time BETWEEN '2025-03-01T00:00Z' AND '2025-03-01T05:00Z' ORDER BY o.time",
            [site],
        )
    return [row[0] for row in found]


def test_a_rerun_keeps_the_demo_and_an_editors_invalidation(demo_copy: Path) -> None:
    with Store(demo_copy) as store:
        site = str(store.sites(kinds=["air_station"])["site_id"].iloc[0])
        before = store.summary()
        done = invalidate_observations(
            store.con,
            site,
            ["PM2.5"],
            "1h",
            datetime(2025, 3, 1, 0, tzinfo=UTC),
            datetime(2025, 3, 1, 5, tzinfo=UTC),
            "D",
        )
    assert done["updated"] == 6
    result = CliRunner().invoke(app, ["demo", "--no-serve", "--db", str(demo_copy)])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())
    assert "kept 保留" in output
    assert "air 空气 2025" in output and "stay invalid" in output
    assert "built 新建: nothing, the demo was complete" in output
    assert flags(demo_copy, site) == ["D"] * 6  # the editor's invalidation stands
    with Store(demo_copy, read_only=True) as store:
        after = store.summary()
    assert after["observations"] == before["observations"]


@pytest.mark.slow
@pytest.mark.shared_data
def test_a_rerun_from_a_folder_keeps_the_import_and_an_invalidation(
    tmp_path: Path, shared_data: Path
) -> None:
    """``demo --from DIR`` imports the folder once; a re-run keeps it (never re-imports over an
    editor's invalidation) and says how to import new files."""
    folder = tmp_path / "cnemc"
    folder.mkdir()
    snapshot = shared_data / "cnemc_snapshot_2022-01-01T00_chengdu_deyang.csv"
    (folder / snapshot.name).write_bytes(snapshot.read_bytes())
    db = tmp_path / "from.duckdb"
    first = CliRunner().invoke(app, ["demo", "--no-serve", "--from", str(folder), "--db", str(db)])
    assert first.exit_code == 0, first.output
    with Store(db) as store:
        site = str(store.sites(kinds=["air_station"])["site_id"].iloc[0])
        stored = _sql.rows(
            store,
            "SELECT min(o.time) FROM observation_values o JOIN sites s USING (site_key) "
            "WHERE s.site_id = ?",
            [site],
        )[0][0]
        done = invalidate_observations(store.con, site, ["PM2.5"], "1h", stored, stored, "D")
    assert done["updated"] == 1
    again = CliRunner().invoke(app, ["demo", "--no-serve", "--from", str(folder), "--db", str(db)])
    assert again.exit_code == 0, again.output
    output = " ".join(again.output.split())
    assert "kept 保留: the imported air data" in output and "ecobasin import cnemc DIR" in output
    with Store(db, read_only=True) as store:
        flag = _sql.rows(
            store,
            "SELECT o.flag FROM observation_values o JOIN sites s USING (site_key) "
            "JOIN parameters p USING (parameter_key) WHERE s.site_id = ? AND p.parameter = 'PM2.5' "
            "AND o.time = ?",
            [site, stored],
        )
    assert flag == [("D",)]
