"""``ecobasin device add/list/disable`` and ``ecobasin gateway replay`` through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from gateway_helpers import Client, Running, new_store, query, upload
from typer.testing import CliRunner

from ecobasin.cli import app
from ecobasin.gateway import GatewayConfig

runner = CliRunner()


def test_device_commands_and_replay(tmp_path: Path) -> None:
    db = tmp_path / "cli.duckdb"
    new_store(db).close()
    added = runner.invoke(
        app, ["device", "add", "DEV1", "--password", "123456", "--site", "S_AIR", "--db", str(db)]
    )
    assert added.exit_code == 0, added.output
    unknown = runner.invoke(
        app, ["device", "add", "DEV2", "--password", "1", "--site", "NOPE", "--db", str(db)]
    )
    assert unknown.exit_code == 1 and "NOPE" in unknown.output
    listed = runner.invoke(app, ["device", "list", "--format", "json", "--db", str(db)])
    rows = json.loads(listed.stdout)
    assert [(r["mn"], r["site_id"], r["enabled"]) for r in rows] == [("DEV1", "S_AIR", True)]
    assert "password" not in rows[0]

    # serve a few frames in-process, then rebuild another store from the raw log by CLI
    from ecobasin.store import Store

    store = Store(db)
    server = Running(store, GatewayConfig(port=0, raw_log=tmp_path / "raw", write_delay=0.05))
    client = Client(server.port)
    for minute in range(3):
        client.send(upload(qn=f"2024010110000000{minute}", data_time=f"202401011{minute}0000"))
        client.replies(1)
    server.stop()
    store.close()
    disabled = runner.invoke(app, ["device", "disable", "DEV1", "--db", str(db)])
    assert disabled.exit_code == 0
    listed = runner.invoke(app, ["device", "list", "--format", "csv", "--db", str(db)])
    assert "DEV1,S_AIR,2017,hj212,False" in listed.stdout

    other = tmp_path / "other.duckdb"
    new_store(other).close()
    add = ["device", "add", "DEV1", "--password", "123456", "--site", "S_AIR", "--db", str(other)]
    assert runner.invoke(app, add).exit_code == 0
    for _ in range(2):  # twice: the second run changes nothing
        result = runner.invoke(
            app, ["gateway", "replay", str(tmp_path / "raw"), "--db", str(other)]
        )
        assert result.exit_code == 0, result.output
        rebuilt = Store(other)
        assert query(rebuilt, "SELECT count(*) AS n FROM observations")["n"][0] == 3
        rebuilt.close()
    bad = runner.invoke(app, ["gateway", "replay", str(db), "--db", str(other)])
    assert bad.exit_code == 1 and "not an ecobasin raw-log segment" in bad.output
