"""The whole loop of issue 17 over real HJ 212 sockets, at a small size. It starts from the
forecast model's prediction: the real Chengdu PM2.5 data (2013 to January 2015, the months the
loop reads) is imported, the LightGBM model trained on it up to 2014-06-30 (``ecobasin forecast
train``), and the forecast issued on 2015-01-13, the eve of a real heavy episode (``ecobasin
forecast run``); the predicted AQI path makes the city warning by the existing rule
(环办大气函〔2019〕648号, ``forecast.warning.city_warning``), stored by the forecast run itself.
Eight simulated listed enterprises (stacks with sub-meters) report hourly 2061 data to the real
gateway on a TCP port for the seven days before the warning and during it; the city's list
activates from the stored warning; during the warning three enterprises apply their measures,
three do not (one of them cuts its stack flow but runs with its treatment unit off), one goes
silent and one sends maintenance flags; after the warning the compliance report names exactly
the non-compliant ones, the insufficient-data ones and the flagged one, each with its evidence."""

from __future__ import annotations

import asyncio
import gzip
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from ecobasin import catalog, gateway
from ecobasin.cli import app
from ecobasin.forecast.warning import CityWarning, city_warning
from ecobasin.gateway.simulator import Control, SimDevice
from ecobasin.services import emergency as svc
from ecobasin.services import forecast as forecast_service
from ecobasin.store import Store
from ecobasin.store import emergency as db
from ecobasin.timebase import CST
from ecobasin.workflow.emergency import ListRecord, ListVersion

pytestmark = pytest.mark.slow

CITY = "510100"
REFERENCE_DAYS = 7
CHENGDU = "chengdu_hourly_pm25_weather_2013_2015.csv.gz"  # real, ../shared/data
TRAIN_TO = date(2014, 6, 30)  # the model learns from 2013-01 to here
ISSUE_DAY = date(2015, 1, 13)  # the forecast is issued on the eve of a real heavy episode
#: The first hour label not imported: the loop reads nothing after the warned days of January
#: 2015, and the eleven months after them cost a third of the import and its AQI refresh.
IMPORT_BEFORE = "2015-02-01"
GRACE_HOURS = 2
#: enterprise → what it does in the warning (Control keyword arguments)
BEHAVIOUR: dict[str, dict[str, object]] = {
    "E1": {"output": 0.4}, "E2": {"output": 0.35}, "E3": {"output": 0.4},
    "E4": {"output": 0.9}, "E5": {"output": 0.95},
    "E6": {"output": 0.4, "treatment_off": True},  # cuts the stack, switches treatment off
    "E7": {"output": 0.4, "silent": True},  # goes silent
    "E8": {"output": 0.4, "flag": "M"},  # maintenance flags all warning long
}  # fmt: skip


def _uscc(name: str) -> str:
    return f"91510100LOOP{name}XXXX"[:18]


def _device(index: int, name: str, start: float, end: float) -> SimDevice:
    control = Control(start + GRACE_HOURS * 3600, end, **BEHAVIOUR[name])  # type: ignore[arg-type]
    return SimDevice(
        index=index, seed=17, mn=f"51010010017{index:013X}", password=f"{170000 + index}",
        site_id=f"LOOP-{name}", kind="gas_outlet", city_code=int(CITY), protocol="2017",
        interval_s=60, scale=1.0, meters=True, controls=(control,), episodes=False,
    )  # fmt: skip


def _records(fleet: list[SimDevice]) -> tuple[ListRecord, ...]:
    limit = {"action": "limit", "ratio": 0.5, "grace_hours": GRACE_HOURS}
    return tuple(
        ListRecord(
            _uscc(d.site_id[5:]),
            f"回路企业 loop enterprise {d.site_id[5:]}",
            "青白江区",
            "水泥",
            "key",
            ({"grade": "C", "effective_from": "2025-01-01"},),
            (d.site_id,),
            {"yellow": limit, "orange": limit, "red": {**limit, "action": "limit"}},
            meters=(
                {"site": d.site_id, "role": "production", "process": "熟料线 kiln"},
                {"site": d.site_id, "role": "treatment", "process": "脱硝 SCR"},
            ),
        )
        for d in fleet
    )


async def _report(device: SimDevice, port: int, start: float, hours: int) -> int:
    """Send every hourly upload over one TCP connection, each frame until its 9014 reply."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    acked = 0
    try:
        for _time, frames in device.hourly_frames(start, hours):
            for frame in frames:
                writer.write(frame)
                await writer.drain()
                reply = await asyncio.wait_for(reader.readuntil(b"\r\n"), 60)
                assert b"CN=9014" in reply, reply
                acked += 1
    finally:
        writer.close()
        await writer.wait_closed()
    return acked


def _real_data_to_february(shared_data: Path, folder: Path) -> Path:
    """The real file's header and its lines before :data:`IMPORT_BEFORE`, verbatim."""
    path = folder / "chengdu_hourly_pm25_weather_2013-01_2015-01.csv"
    with gzip.open(shared_data / CHENGDU, "rt", newline="") as source:
        header = next(source)
        kept = [line for line in source if line[: len(IMPORT_BEFORE)] < IMPORT_BEFORE]
    path.write_text(header + "".join(kept), encoding="utf-8", newline="")
    return path


def _predicted_warning(
    db_path: Path, shared_data: Path
) -> tuple[CityWarning, pd.Series, list[float]]:
    """Import the real data, train the model and issue the forecast through the CLI; the
    stored forecast's AQI path, the warning the rule gives it and the stored city warning."""
    run = CliRunner()
    for args in (
        ["import", "csv", str(_real_data_to_february(shared_data, db_path.parent)),
         "--mapping", "uci_chengdu_pm25"],
        ["forecast", "train", "--name", "loop", "--to", TRAIN_TO.isoformat()],
        ["forecast", "run", "--date", ISSUE_DAY.isoformat(), "--model", "loop",
         "--author", "loop test"],
    ):  # fmt: skip
        result = run.invoke(app, [*args, "--db", str(db_path)])
        assert result.exit_code == 0, result.output
    with Store(db_path) as store:
        _, rows = forecast_service.forecasts(
            store, ISSUE_DAY, cities=[CITY], models=["lightgbm:loop"], parameters=["AQI"]
        )
        stored = forecast_service.warnings(store, start=ISSUE_DAY, end=ISSUE_DAY)
        observed, _ = forecast_service.model_inputs(store, "none")
    rows = rows.sort_values("lead")
    days = [pd.Timestamp(d).date() for d in rows["target_day"]]
    by_rule = city_warning(days, [float(v) for v in rows["value"]])
    city = stored[(stored["scope"] == "city") & (stored["scope_id"] == CITY)]
    assert len(city) == 1, stored
    warned_days = [d for d, _ in by_rule.days]
    observed = observed[pd.to_datetime(observed["day"]).dt.date.isin(warned_days)]
    return by_rule, city.iloc[0], [float(v) for v in observed["PM2.5"]]


def test_forecast_warning_list_activation_and_report_over_hj212(
    tmp_path: Path, shared_data: Path
) -> None:
    db_path = tmp_path / "loop.duckdb"
    # 1. the model's prediction: the predicted AQI path gives the warning by the 648 rule,
    # and the forecast run stored that very warning
    warned, stored, observed_pm25 = _predicted_warning(db_path, shared_data)
    assert warned.level in ("yellow", "orange", "red") and stored["level"] == warned.level
    assert warned.start == ISSUE_DAY + timedelta(days=1)  # the day after the issue
    # the real data had the heavy episode the model foresaw: at least two of the warned days
    # had daily PM2.5 > 115 µg/m³ (AQI > 150), what the 648 rule's shortest trigger asks for 48 h
    # (the warning's window may run a day past the episode: a forecast, not hindsight)
    assert sum(v > 115 for v in observed_pm25) >= 2, observed_pm25
    start = pd.Timestamp(stored["start_time"]).to_pydatetime()
    end = pd.Timestamp(stored["end_time"]).to_pydatetime()
    assert start == datetime(warned.start.year, warned.start.month, warned.start.day, tzinfo=CST)
    ref_start = start - timedelta(days=REFERENCE_DAYS)
    hours = int((end - ref_start).total_seconds() // 3600)
    fleet = [_device(i, name, start.timestamp(), end.timestamp())
             for i, name in enumerate(BEHAVIOUR, start=1)]  # fmt: skip

    with Store(db_path) as store:
        store.sync_catalog(catalog.load_region())
        store.upsert_sites(pd.DataFrame({
            "site_id": [d.site_id for d in fleet], "kind": "gas_outlet", "level": "enterprise",
            "city_code": int(CITY), "name_zh": [d.site_id for d in fleet],
            "name_en": [d.site_id for d in fleet], "lon": 104.4, "lat": 30.8,
        }), "loop test")  # fmt: skip
        gateway.register_devices(store, pd.DataFrame([{
            "mn": d.mn, "password": d.password, "site_id": d.site_id, "protocol": "2017",
            "crc_mode": "hj212", "enabled": True, "interval_s": 60,
        } for d in fleet]))  # fmt: skip
        version = ListVersion(CITY, 1, ref_start - timedelta(days=30), "annual", _records(fleet))
        db.save_version(store, version, "loop test", ref_start)

        # 2. the enterprises report over real HJ 212 sockets into the real gateway
        async def scenario() -> list[int]:
            config = gateway.GatewayConfig(host="127.0.0.1", port=0, raw_log=tmp_path / "raw.log")
            gw = gateway.Gateway(store, config)
            port = await gw.start()
            try:
                sent = await asyncio.gather(
                    *(_report(d, port, ref_start.timestamp(), hours) for d in fleet)
                )
                await gw.flush()
                return list(sent)
            finally:
                await gw.stop()

        acked = dict(zip([d.site_id for d in fleet], asyncio.run(scenario()), strict=True))
        assert acked["LOOP-E1"] >= hours and acked["LOOP-E7"] < acked["LOOP-E1"]

        # 3. the stored warning switches the list on, at its level and for its window
        made = svc.activate_from_warnings(store, ISSUE_DAY, start)
        assert len(made) == 1
        act = db.activation(store, made[0])
        assert act is not None and act["level"] == warned.level
        assert (act["start_time"], act["end_time"]) == (start, end)
        assert act["source"].startswith(f"warning {stored['warning_id']} (HBDQH-2019-648)")

        # 4. after the warning: the check and its report
        svc.end_and_check(store, made[0], end + timedelta(hours=1))
        report = svc.compliance_report(store, made[0])
        named = {g: {v["uscc"] for v in rows} for g, rows in report["groups"].items()}
        assert named["non_compliant"] == {_uscc(n) for n in ("E4", "E5", "E6")}
        assert named["insufficient_data"] == {_uscc(n) for n in ("E7", "E8")}
        assert named["compliant"] == {_uscc(n) for n in ("E1", "E2", "E3")}
        assert {v["uscc"] for v in report["flagged"]} == {_uscc("E8")}
        e6 = next(v for v in report["groups"]["non_compliant"] if v["uscc"] == _uscc("E6"))
        assert any(r.startswith("power: treatment off") for r in e6["reasons"])
        assert all(v["cou"]["mismatch_hours"] == [] for v in report["groups"]["compliant"])
        assert {(f["uscc"], f["kind"]) for f in report["findings"]} == {
            *((_uscc(n), "non_compliant") for n in ("E4", "E5", "E6")),
            *((_uscc(n), "insufficient_data") for n in ("E7", "E8")),
        }
        # 5. each named enterprise has its evidence: the warning's hours, flags and power
        for v in [*report["groups"]["non_compliant"], *report["groups"]["insufficient_data"]]:
            bundle = svc.evidence_bundle(store, made[0], v["uscc"], v["outlet"], v["pollutant"])
            assert len(bundle["hours"]) == (end - start).total_seconds() // 3600
            assert "treatment_kw" in bundle["frame"].columns
        e8 = svc.evidence_bundle(store, made[0], _uscc("E8"), "LOOP-E8", "NOx")
        assert set(e8["frame"]["flag"].iloc[GRACE_HOURS + 1 :]) == {"M"}
