"""Demo emergency control list and one past warning with its compliance report (issue 17).

Six illustrative enterprises of Chengdu (510100) with one flue-gas outlet each report hourly NOx
and flow for 7 normal days; an orange warning of 48 h follows, during which two cut as their
measure says, two do not, one goes silent and one sends maintenance (M) flags. The list
(version 1, grades and measures) is stored, the warning activated and checked, so the demo holds
the verdicts, their evidence and the open findings. Illustrative data, not real firms.

The live simulator's stack-gas enterprises (the devices ``ecobasin demo`` registers and feeds
through the HJ 212 gateway) join their own city's list as a dynamic change (§1.5, "new") in
force after that past warning, so the /emergency pages and the live data name the same
enterprises and outlets; the past warning keeps the version it activated.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd

from ecobasin import catalog
from ecobasin.gateway.simulator import SimDevice
from ecobasin.services import emergency as service
from ecobasin.store import emergency as db
from ecobasin.store.database import Store
from ecobasin.workflow.emergency import ListRecord, ListVersion

__all__ = ["DEMO_CITY", "ENTERPRISES", "install", "live_record"]

DEMO_CITY = "510100"
CST = timezone(timedelta(hours=8))
#: (suffix, name, district, grade, behaviour during the warning)
ENTERPRISES = (
    ("01", "示例水泥一厂 demo cement 1", "青白江区", "C", "cuts"),
    ("02", "示例陶瓷厂 demo ceramics", "新津区", "B", "cuts"),
    ("03", "示例砖瓦厂 demo brickworks", "邛崃市", "C", "no_cut"),
    ("04", "示例玻璃厂 demo glass", "彭州市", "B", "no_cut"),
    ("05", "示例铸造厂 demo foundry", "金堂县", "C", "silent"),
    ("06", "示例水泥二厂 demo cement 2", "都江堰市", "C", "maintenance"),
)
_FLOW_M3_S = 60.0  # [m³/s] normal flow; × 3600 = 216 000 m³/h
_NOX_MG_M3 = 180.0  # [mg/m³] normal measured NOx
#: each demo enterprise's baseline [t/d]: 180 mg/m³ × 216 000 m³/h × 24 h ≈ 0.93 t NOx per day
_ENTERPRISE_BASELINE = {"NOx": 0.93, "SO2": 0.2, "PM": 0.1}
#: sector measures of the demo list (emergency.md §3.1 S1–S4, illustrative): id, name, baseline
#: [t/d], fraction removed at yellow / orange / red
_SECTORS = (
    ("SECTOR-S1", "施工扬尘 construction dust", {"PM": 6.0}, (0.3, 0.6, 0.8)),
    ("SECTOR-S2", "非道路移动机械 non-road machinery", {"NOx": 5.0, "PM": 0.6}, (0.2, 0.5, 0.8)),
    (
        "SECTOR-S3",
        "重型柴油货车 heavy diesel trucks",
        {"NOx": 10.0, "PM": 0.5, "VOCs": 1.0},
        (0.05, 0.15, 0.25),
    ),
    ("SECTOR-S4", "涂装与汽修 coating and auto repair", {"VOCs": 6.0}, (0.3, 0.5, 0.8)),
)
_LINE_KW = 1200.0  # [kW] production line at normal output
_TREATMENT_KW = 160.0  # [kW] treatment unit running


def _outlet(suffix: str) -> str:
    return f"DEMO-EM-{suffix}"


def _records() -> tuple[ListRecord, ...]:
    out = []
    for suffix, name, district, grade, _ in ENTERPRISES:
        ratio = 0.5 if grade == "C" else 0.3
        out.append(ListRecord(
            uscc=f"9151010000DEMO{suffix}XX", name=name, district=district, industry="建材",
            category="key", grades=({"grade": grade, "effective_from": "2025-01-01"},),
            outlets=(_outlet(suffix),),
            measures={"yellow": {"action": "limit", "ratio": 0.2},
                      "orange": {"action": "limit", "ratio": ratio, "grace_hours": 2},
                      "red": {"action": "stop", "grace_hours": 2}},
            meters=({"site": _outlet(suffix), "role": "production", "process": "主生产线 main line"},
                    {"site": _outlet(suffix), "role": "treatment", "process": "脱硝 SCR"}),
            baseline_t_per_d=_ENTERPRISE_BASELINE, baseline_method="online_data",
        ))  # fmt: skip
    for code, name, base, fractions in _SECTORS:
        out.append(ListRecord(
            uscc=code, name=name, district="全市 city-wide", industry="行业措施 sector",
            category="sector", grades=(), outlets=(),
            measures={lv: {"action": "limit", "ratio": f, "fraction": f}
                      for lv, f in zip(("yellow", "orange", "red"), fractions, strict=True)},
            baseline_t_per_d=base, baseline_method="inventory",
        ))  # fmt: skip
    return tuple(out)


def _hours(year: int, seed: int) -> tuple[pd.DataFrame, datetime, datetime]:
    start = datetime(year, 12, 20, tzinfo=CST)
    end = start + timedelta(hours=48)
    t0 = start - timedelta(days=7)
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for suffix, *_rest, behaviour in ENTERPRISES:
        for i in range(7 * 24 + 48):
            t = t0 + timedelta(hours=i + 1)
            warned = t > start + timedelta(hours=2)  # the plan's 2 h grace
            if behaviour == "silent" and t > start + timedelta(hours=12):
                continue
            cut = {"cuts": 0.35, "no_cut": 0.9}.get(behaviour, 0.4) if warned else 1.0
            flag = "M" if behaviour == "maintenance" and warned and i % 2 else "N"
            flow = _FLOW_M3_S * cut * rng.uniform(0.97, 1.03)
            conc = _NOX_MG_M3 * rng.uniform(0.95, 1.05)
            # sub-meters (分表计电, §2.2): production power follows the output kept [kW]
            power = _LINE_KW * cut * rng.uniform(0.97, 1.03)
            treatment = _TREATMENT_KW * rng.uniform(0.95, 1.05)
            readings = (("FG_NOx", conc), ("FG_flow", flow), ("EL_production", power),
                        ("EL_treatment", treatment))  # fmt: skip
            for parameter, value in readings:
                rows.append({"site_id": _outlet(suffix), "parameter": parameter, "period": "1h",
                             "time": t, "value": round(value, 1), "flag": flag})  # fmt: skip
    frame = pd.DataFrame(rows)
    frame["time"] = pd.to_datetime(frame["time"], utc=True).astype("datetime64[us, UTC]")
    return frame, start, end


def live_record(device: SimDevice, year: int) -> ListRecord:
    """The list record of one simulated stack-gas enterprise of the live feed: its outlet is
    the site its MN reports to through the gateway (illustrative USCC, grade and measures)."""
    city = catalog.cities().loc[device.city_code]
    number = device.index + 1
    return ListRecord(
        uscc=f"91{device.city_code:06d}SIM{device.index:06d}X",
        name=f"{city['name_zh']}模拟企业{number} {city['name_en']} simulated enterprise {number}",
        district=str(city["name_zh"]), industry="燃煤锅炉 coal boiler", category="key",
        sub_industry="超低排放 ultra-low emission",
        grades=({"grade": "C", "effective_from": f"{year}-01-01"},), outlets=(device.site_id,),
        measures={"yellow": {"action": "limit", "ratio": 0.2},
                  "orange": {"action": "limit", "ratio": 0.5, "grace_hours": 2},
                  "red": {"action": "stop", "grace_hours": 2}},
    )  # fmt: skip


def _list_live(store: Store, fleet: Sequence[SimDevice], year: int) -> int:
    """Add the live stack-gas enterprises to their cities' lists (one new version per city,
    after the past warning); a re-run adds nothing. Returns the records added."""
    effective = datetime(year, 12, 23, tzinfo=CST)  # after the demo's past warning
    by_city: dict[str, list[ListRecord]] = {}
    for device in fleet:
        if device.kind == "gas_outlet":
            by_city.setdefault(str(device.city_code), []).append(live_record(device, year))
    added = 0
    for city, records in sorted(by_city.items()):
        versions = db.list_versions(store, city)
        known = {r.uscc for v in versions for r in v.records}
        new = tuple(r for r in records if r.uscc not in known)
        if not new:
            continue
        current = versions[-1] if versions else None
        version = ListVersion(
            city, current.version + 1 if current else 1,
            max(effective, current.effective_from) if current else effective,
            "new: live simulated enterprises 新增模拟企业", (*(current.records if current else ()), *new),
        )  # fmt: skip
        db.save_version(store, version, "demo", version.effective_from)
        added += len(new)
    return added


def install(
    store: Store, year: int = 2025, seed: int = 2025, live: Sequence[SimDevice] = ()
) -> dict[str, Any]:
    """Write the demo outlets, their hours, the list, the past warning and its check; then list
    the ``live`` simulator's stack-gas enterprises (the feed of ``ecobasin demo``)."""
    store.upsert_sites(pd.DataFrame({
        "site_id": [_outlet(s) for s, *_ in ENTERPRISES], "kind": "gas_outlet",
        "level": "enterprise", "city_code": int(DEMO_CITY),
        "name_zh": [n.split(" ")[0] for _, n, *_ in ENTERPRISES],
        "name_en": [n.split(" ", 1)[1] for _, n, *_ in ENTERPRISES],
        "lon": 104.07, "lat": 30.67,
    }), "demo emergency list (illustrative)")  # fmt: skip
    frame, start, end = _hours(year, seed)
    store.write_observations(frame, store.begin_batch("demo", "demo emergency list"))
    if not db.list_versions(store, DEMO_CITY):
        version = ListVersion(
            DEMO_CITY, 1, datetime(year, 1, 1, tzinfo=CST), "annual 年度清单", _records()
        )
        db.save_version(store, version, "demo", start)
    key = service.activate_for_warning(
        store, DEMO_CITY, "orange", start, end, "demo warning", start
    )
    rows = service.end_and_check(store, key, end + timedelta(hours=1))
    verdicts = pd.Series([r["verdict"] for r in rows]).value_counts().to_dict()
    return {"activation": key, "verdicts": verdicts, "findings": len(db.findings(store)),
            "live_listed": _list_live(store, live, year)}  # fmt: skip
