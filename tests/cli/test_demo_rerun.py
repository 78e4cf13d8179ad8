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
