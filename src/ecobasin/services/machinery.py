"""The non-road machinery registry's services (issue 18): what the CLI and the API share.

* :func:`import_registry`: machines from CSV or .xlsx; every bad row kept aside in ``rejected``
  with its line and reason, the good rows stored (a row of a city the caller may not write is
  one such bad row).
* :func:`import_zones`: no-use zones from GeoJSON (a new version closes the previous one).
* :func:`record_spot_check`: a spot check (监督抽测) judged against GB 36886-2018, stored with
  its violation and follow-up, then the checks of that machine re-run (:func:`run_machine_checks`,
  not the whole registry); the findings of that machine come back.
* :func:`run_registry_checks`: checks C1–C11 over the whole shared registry, findings stored.
* Reads of the shared registry (every city reads all: mutual recognition, brief A7) and the
  aggregated counts the public sees.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import shapely
import shapely.geometry

from ecobasin import catalog
from ecobasin.errors import InputError, NotFound
from ecobasin.machinery import gate as gate_core
from ecobasin.machinery import pings as pings_core
from ecobasin.machinery import rules as checks
from ecobasin.machinery.codes import code_problem, normalise_code
from ecobasin.machinery.smoke import smoke_class, smoke_verdict
from ecobasin.machinery.stages import inferred_stage, parse_stage
from ecobasin.machinery.tables import machinery_rules
from ecobasin.machinery.zones import Zone, extent, zone_from_feature, zones_at
from ecobasin.services import accounts
from ecobasin.services import cases as case_service
from ecobasin.services.accounts import UserRow
from ecobasin.store import _sql
from ecobasin.store import machinery as machinery_store
from ecobasin.store.database import Store
from ecobasin.timebase import CST

__all__ = [
    "FUELS",
    "REQUIRED_COLUMNS",
    "GateCheck",
    "PingImport",
    "RegistryImport",
    "SpotCheck",
    "SpotCheckResult",
    "create_gate_operator",
    "gate_check",
    "gate_log",
    "gate_site_of",
    "import_pings",
    "import_registry",
    "import_zones",
    "machine_detail",
    "public_counts",
    "record_spot_check",
    "region_extent",
    "run_machine_checks",
    "run_registry_checks",
]

FUELS = ("diesel", "petrol", "gas", "electric", "hybrid")
STATUSES = ("active", "transferred", "scrapped", "suspended")
#: (``stage_declared`` may be blank for an electric machine: it is ELEC)
REQUIRED_COLUMNS = (
    "registration_code", "issuer_city", "registered_at", "machine_type", "fuel",
    "stage_declared", "owner_name",
)  # fmt: skip
#: may_write(city, what) raises when the caller may not write ``what`` of that city
WriteCheck = Callable[[int, str], None]


def _allow_all(city: int, what: str) -> None:
    return None


@dataclass
class RegistryImport:
    """What a registry import did: batch, rows added and updated, rows kept aside."""

    batch_id: int
    added: int
    updated: int
    rejected: list[dict[str, Any]] = field(default_factory=list)


def _read_table(path: Path) -> pd.DataFrame:
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return pd.read_excel(path, dtype=str, engine="openpyxl").fillna("")
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def _instant(text: str, what: str) -> datetime:
    """A UTC-aware instant from ISO 8601 text; without an offset it is China Standard Time."""
    try:
        stamp = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{what} {text!r} is not an ISO 8601 date or time") from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=CST)


def _machine_row(raw: dict[str, str], region: set[int], may_write: WriteCheck) -> dict[str, Any]:
    """One import row checked and converted; raises InputError naming the field and reason."""
    electric = str(raw.get("fuel", "")).strip().lower() == "electric"
    missing = [
        c
        for c in REQUIRED_COLUMNS
        if not str(raw.get(c, "")).strip() and not (electric and c == "stage_declared")
    ]
    if missing:
        raise InputError(f"missing {', '.join(missing)} 缺少必填字段")
    try:
        issuer = int(raw["issuer_city"])
        current = int(raw.get("current_city") or issuer)
    except ValueError:
        raise InputError(f"issuer_city {raw['issuer_city']!r} is not a GB/T 2260 code") from None
    for city in {issuer, current}:
        if city not in region:
            raise InputError(f"city {city} is not one of the region's cities 非本区域城市")
    problem = code_problem(raw["registration_code"], issuer)
    if problem:
        raise InputError(problem)
    may_write(issuer, f"machine {raw['registration_code']}")
    fuel = raw["fuel"].strip().lower()
    if fuel not in FUELS:
        raise InputError(f"fuel {raw['fuel']!r} is not one of {', '.join(FUELS)}")
    status = (raw.get("status") or "active").strip().lower()
    if status not in STATUSES:
        raise InputError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    try:
        declared = parse_stage(raw["stage_declared"])
        verified = parse_stage(raw["stage_verified"]) if raw.get("stage_verified") else None
        # an Excel date cell arrives as "2019-03-01 00:00:00": the day is its first 10 characters
        made = (
            date.fromisoformat(raw["manufacture_date"][:10])
            if raw.get("manufacture_date")
            else None
        )
        power = float(raw["rated_power_kw"]) if raw.get("rated_power_kw") else None
    except ValueError as error:
        raise InputError(str(error)) from None
    if power is not None and not 0 < power <= 10_000:
        raise InputError(f"rated_power_kw {power} is not in (0, 10000] kW")
    return {
        "registration_code": raw["registration_code"].strip(),
        "code_norm": normalise_code(raw["registration_code"]),
        "issuer_city": issuer, "current_city": current,
        "registered_at": _instant(raw["registered_at"], "registered_at"),
        "status": status, "machine_type": raw["machine_type"].strip(),
        "brand": raw.get("brand") or None, "model": raw.get("model") or None,
        "machine_serial": raw.get("machine_serial") or None, "manufacture_date": made,
        "disclosure_no": raw.get("disclosure_no") or None, "fuel": fuel,
        "stage_declared": "ELEC" if fuel == "electric" else declared, "stage_verified": verified,
        "stage_inferred": inferred_stage(made), "rated_power_kw": power,
        "pollution_control": raw.get("pollution_control") or None,
        "terminal_id": raw.get("terminal_id") or None,
        "engine_serial": raw.get("engine_serial") or None,
        "engine_model": raw.get("engine_model") or None,
        "manufacturer": raw.get("manufacturer") or None, "engine_power_kw": power,
        "_owner": (raw.get("owner_kind") or "org", raw["owner_name"].strip(),
                   raw.get("contact") or None, raw.get("uscc") or None),
    }  # fmt: skip


def import_registry(
    store: Store,
    path: str | Path,
    *,
    region: catalog.Region | None = None,
    may_write: WriteCheck = _allow_all,
) -> RegistryImport:
    """Import machines from a CSV (UTF-8) or .xlsx file: columns :data:`REQUIRED_COLUMNS` and
    optional ``current_city, status, brand, model, machine_serial, manufacture_date,
    disclosure_no, stage_verified, rated_power_kw, pollution_control, terminal_id,
    engine_serial, engine_model, manufacturer, owner_kind, contact, uscc``.

    A row already held (same normalised code and issuer) is updated. Each bad row (also a
    second row of one code in the file, or a city the caller may not write) goes to
    ``rejected`` as ``line N`` with its reason; the good rows are stored all the same.
    """
    path = Path(path)
    region = region or catalog.load_region()
    table = _read_table(path)
    source = f"machinery:{path.name}"
    batch_id = store.begin_batch("machinery_registry", str(path))
    good: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []
    seen: set[tuple[str, int]] = set()
    for index, raw in enumerate(table.to_dict("records")):
        line = index + 2  # the header is line 1
        try:
            row = _machine_row({str(k): str(v).strip() for k, v in raw.items()}, set(region.cities),
                               may_write)  # fmt: skip
            key = (row["code_norm"], row["issuer_city"])
            if key in seen:
                raise InputError(f"code {row['code_norm']} of {key[1]} appears twice in the file")
            seen.add(key)
            good.append(row)
        except (InputError, PermissionError) as error:
            bad.append({"source": source, "record_ref": f"line {line}",
                        "reason_code": "machinery_row", "reason": str(error),
                        "raw": json.dumps(raw, ensure_ascii=False, default=str)})  # fmt: skip
        except Exception as error:  # a refusal of the caller's rights (HTTP layer's exception)
            bad.append({"source": source, "record_ref": f"line {line}",
                        "reason_code": "machinery_right", "reason": str(error),
                        "raw": json.dumps(raw, ensure_ascii=False, default=str)})  # fmt: skip
    for row in good:
        kind, name, contact, uscc = row.pop("_owner")
        row["owner_id"] = machinery_store.owner_id(
            store, kind if kind in ("org", "person") else "org", name, row["current_city"],
            contact=contact, uscc=uscc,
        )  # fmt: skip
    counts = {"added": 0, "updated": 0}
    if good:
        counts = machinery_store.save_machines(store, pd.DataFrame(good), batch_id)
    store.reject(pd.DataFrame(bad), batch_id)
    store.finish_batch(batch_id, {**counts, "rejected": len(bad)})
    return RegistryImport(batch_id, counts["added"], counts["updated"], bad)


def import_zones(
    store: Store, path: str | Path, may_write: WriteCheck = _allow_all
) -> dict[str, Any]:
    """Import no-use zones from a GeoJSON FeatureCollection; each bad feature kept aside."""
    path = Path(path)
    document = json.loads(path.read_text(encoding="utf-8"))
    added, bad = 0, []
    for index, feature in enumerate(document.get("features", [])):
        try:
            zone = zone_from_feature(feature)
            may_write(zone.city, f"zone {zone.zone_id}")
        except Exception as error:  # a bad feature or a refused right: kept aside
            bad.append({"source": f"machinery-zones:{path.name}", "record_ref": f"feature {index}",
                        "reason_code": "machinery_zone", "reason": str(error),
                        "raw": json.dumps(feature, ensure_ascii=False)[:2000]})  # fmt: skip
            continue
        added += machinery_store.save_zone(store, {
            "zone_id": zone.zone_id, "valid_from": zone.valid_from, "valid_to": zone.valid_to,
            "city": zone.city, "name": zone.name, "feature": feature,
            "notice_ref": zone.notice_ref,
        })  # fmt: skip
    store.reject(pd.DataFrame(bad))
    return {"added": added, "rejected": bad}


def stored_zones(store: Store) -> list[Zone]:
    """Every stored zone version as core zones (closed versions carry their ``valid_to``)."""
    found = []
    for row in machinery_store.zones(store).to_dict("records"):
        zone = zone_from_feature(json.loads(row["feature"]))
        found.append(Zone(**{**zone.__dict__, "valid_to": _aware(row["valid_to"])}))
    return found


def _aware(value: Any) -> datetime | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).to_pydatetime()


def snapshot(store: Store, at: datetime) -> checks.Snapshot:
    """The shared registry as the checks read it."""
    return _snapshot_of(
        store,
        at,
        machinery_store.machines(store),
        machinery_store.presence(store),
        machinery_store.inspections(store),
        machinery_store.pings(store),
        machinery_store.open_violations(store),
    )


def machine_snapshot(store: Store, at: datetime, code_norm: str) -> checks.Snapshot:
    """What the checks of one machine read: the machines under its code and those sharing its
    serials (C9), its presences, inspections, violations and its terminals' last pings; the zones
    and warnings in full. A spot check reads this, not the whole registry (issue 18)."""
    machines = machinery_store.machines(store, code_norm=code_norm)
    twins = [
        machinery_store.machines_sharing_serials(store, str(engine), str(serial))
        for engine, serial in zip(
            machines["engine_serial"], machines["machine_serial"], strict=True
        )
        if _text(engine) and _text(serial)
    ]
    if twins:
        machines = pd.concat([machines, *twins]).drop_duplicates("machine_id")
    terminals = [str(t) for t in machines["terminal_id"] if _text(t)]
    return _snapshot_of(
        store,
        at,
        machines,
        machinery_store.presence(store, code_norm=code_norm),
        machinery_store.inspections(store, code_norm=code_norm),
        machinery_store.pings(store, terminal_ids=terminals),
        machinery_store.open_violations(store, code_norm=code_norm),
    )


def _snapshot_of(
    store: Store,
    at: datetime,
    machines: pd.DataFrame,
    presence: pd.DataFrame,
    inspections: pd.DataFrame,
    pings: pd.DataFrame,
    violations: pd.DataFrame,
) -> checks.Snapshot:
    return checks.Snapshot(
        machines=[
            _machine({str(k): v for k, v in row.items()}) for row in machines.to_dict("records")
        ],
        presences=[
            checks.Presence(
                r["code_observed"],
                r["site_id"],
                int(r["city"]),
                float(r["lon"]),
                float(r["lat"]),
                _aware(r["entered_at"]) or at,
                _aware(r["left_at"]),
                r["source"],
            )
            for r in presence.to_dict("records")
        ],
        inspections=[
            checks.Inspection(
                int(r["inspection_id"]),
                r["code_observed"],
                int(r["city"]),
                _aware(r["inspected_at"]) or at,
                r["agency"],
                _text(r["site_id"]),
                _float(r["lon"]),
                _float(r["lat"]),
                _bool(r["label_present"]),
                _text(r["engine_serial_observed"]),
                _text(r["limit_class"]),
                _float(r["k_mean"]),
                _int(r["ringelmann_grade"]),
                r["result"],
            )
            for r in inspections.to_dict("records")
        ],
        pings=[
            checks.Ping(r["terminal_id"], _aware(r["ts"]) or at, r["lon"], r["lat"])
            for r in pings.to_dict("records")
        ],
        violations=[
            checks.Violation(
                int(r["violation_id"]),
                r["code_norm"],
                int(r["city"]),
                r["type"],
                _aware(r["deadline"]),
                _aware(r["closed_at"]),
            )
            for r in violations.to_dict("records")
        ],
        zones=stored_zones(store),
        warnings=machinery_store.active_warnings(store, at),
    )


def _float(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _int(value: Any) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def _bool(value: Any) -> bool | None:
    return None if value is None or pd.isna(value) else bool(value)


def _text(value: Any) -> str | None:
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)


def _machine(row: dict[str, Any]) -> checks.Machine:
    made = row["manufacture_date"]
    return checks.Machine(
        machine_id=int(row["machine_id"]), registration_code=row["registration_code"],
        issuer_city=int(row["issuer_city"]), registered_at=_aware(row["registered_at"]) or datetime.now(CST),
        status=row["status"], machine_type=row["machine_type"],
        machine_serial=_text(row["machine_serial"]), engine_serial=_text(row["engine_serial"]),
        manufacture_date=None if made is None or pd.isna(made) else pd.Timestamp(made).date(),
        disclosure_no=_text(row["disclosure_no"]), fuel=row["fuel"],
        stage_declared=row["stage_declared"], stage_verified=_text(row["stage_verified"]),
        rated_power_kw=_float(row["rated_power_kw"]), terminal_id=_text(row["terminal_id"]),
        current_city=int(row["current_city"]),
    )  # fmt: skip


def _finding_row(finding: checks.Finding) -> dict[str, Any]:
    return {"rule": finding.rule, "code_norm": finding.code, "machine_id": finding.machine_id,
            "city": finding.city, "violation_type": finding.violation_type,
            "reason": finding.reason, "evidence": finding.evidence}  # fmt: skip


def run_registry_checks(
    store: Store, at: datetime | None = None, only: list[str] | None = None
) -> dict[str, Any]:
    """Run checks C1–C11 over the shared registry at ``at`` (now) and store the findings."""
    at = at or datetime.now(CST)
    found = checks.run_checks(snapshot(store, at), at, only=only)
    counts = machinery_store.save_findings(store, [_finding_row(f) for f in found], at)
    by_rule: dict[str, int] = {}
    for finding in found:
        by_rule[finding.rule] = by_rule.get(finding.rule, 0) + 1
    return {"at": at, "findings": len(found), "by_rule": by_rule, **counts,
            "items": [_finding_row(f) for f in found]}  # fmt: skip


#: the checks that concern one machine; C11 (a city's coverage over a year) runs with the
#: registry-wide run (``ecobasin machinery check``), not with each spot check
MACHINE_RULES = ("C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9", "C10")


def run_machine_checks(store: Store, code_norm: str, at: datetime) -> dict[str, Any]:
    """Run the checks that concern one machine (:data:`MACHINE_RULES`) over what concerns it
    (:func:`machine_snapshot`) and store their findings: the cost follows the machine's records,
    not the registry's size (bench/machinery_bench.py)."""
    found = checks.run_checks(machine_snapshot(store, at, code_norm), at, only=MACHINE_RULES)
    counts = machinery_store.save_findings(store, [_finding_row(f) for f in found], at)
    return {"at": at, "findings": len(found), **counts,
            "items": [_finding_row(f) for f in found]}  # fmt: skip


@dataclass(frozen=True)
class SpotCheck:
    """A spot check as an inspector records it (brief A5); k readings in [m⁻¹]."""

    code_observed: str
    city: int
    agency: str
    at: datetime
    method: str = "free_accel"
    readings_k: tuple[float, ...] = ()
    ringelmann_grade: int | None = None
    site_id: str | None = None
    lon: float | None = None
    lat: float | None = None
    label_present: bool | None = True
    engine_serial_observed: str | None = None
    limit_class: str | None = None  # None: decided from the machine and the zones
    rated_power_kw: float | None = None  # for an unidentified machine
    remarks: str | None = None
    follow_up_of: int | None = None


@dataclass(frozen=True)
class SpotCheckResult:
    """A stored spot check, its verdict, the violations it opened and the machine's findings."""

    inspection_id: int
    machine_id: int | None
    result: str
    limit_class: str | None
    k_mean: float | None
    k_limit: float | None
    reason: str
    violations: list[int]
    closed: int
    findings: list[dict[str, Any]]


def record_spot_check(
    store: Store, check: SpotCheck, recorded_by: str, may_write: WriteCheck = _allow_all
) -> SpotCheckResult:
    """Judge, store and follow up a spot check; the caller must write ``check.city``.

    The machine is found by its normalised code in every city's registry (mutual recognition).
    The smoke class is Ⅲ inside an active zone, else by manufacture date (GB 36886-2018); the
    power is the registered one. Raises InputError naming the bad field.
    """
    may_write(check.city, f"spot check of {check.code_observed}")
    if check.at.tzinfo is None:
        raise InputError("at: the inspection time needs an offset (+08:00)")
    if check.method not in ("free_accel", "ringelmann", "both", "visual_only"):
        raise InputError(
            f"method {check.method!r} is not free_accel, ringelmann, both or visual_only"
        )
    code_norm = normalise_code(check.code_observed)
    if not code_norm:
        raise InputError("code_observed is empty 编码为空")
    found = machinery_store.machines(store, code_norm=code_norm)
    machine = found.iloc[0].to_dict() if len(found) else None
    lon, lat = check.lon, check.lat
    if check.site_id is not None:
        site = machinery_store.sites(store)
        site = site[site["site_id"] == check.site_id]
        if site.empty:
            raise InputError(f"site_id {check.site_id!r} is not a registered site")
        lon, lat = float(site.iloc[0]["lon"]), float(site.iloc[0]["lat"])
    in_zone = (
        lon is not None
        and lat is not None
        and bool(zones_at(stored_zones(store), lon, lat, check.at))
    )
    made = machine["manufacture_date"] if machine is not None else None
    made = None if made is None or pd.isna(made) else pd.Timestamp(made).date()
    limit_class = check.limit_class or smoke_class(made, in_zone)
    power = _float(machine["rated_power_kw"]) if machine is not None else check.rated_power_kw
    tested = check.method != "visual_only" and (
        check.readings_k or check.ringelmann_grade is not None
    )
    verdict = None
    if tested:
        if power is None:
            raise InputError("rated_power_kw: the machine's rated power is needed for the limit")
        try:
            verdict = smoke_verdict(
                list(check.readings_k), limit_class, power, check.ringelmann_grade
            )
        except ValueError as error:
            raise InputError(str(error)) from None
    result = "not_tested" if verdict is None else ("pass" if verdict.passed else "fail")
    rules = machinery_rules()
    due = check.at + timedelta(days=rules.rectify_days)
    with store.transaction():
        inspection_id = machinery_store.save_inspection(store, {
            "machine_id": None if machine is None else int(machine["machine_id"]),
            "code_observed": check.code_observed, "code_norm": code_norm,
            "site_id": check.site_id, "lon": lon, "lat": lat, "inspected_at": check.at, "city": check.city,
            "agency": check.agency, "method": check.method,
            "readings_k": list(check.readings_k) or None,
            "k_mean": verdict.k_mean if verdict else None,
            "ringelmann_grade": check.ringelmann_grade,
            "limit_class": limit_class if verdict else None,
            "limit_k": verdict.k_limit if verdict else None, "result": result,
            "label_present": check.label_present,
            "engine_serial_observed": check.engine_serial_observed, "remarks": check.remarks,
            "follow_up_due": due if result == "fail" else None,
            "follow_up_of": check.follow_up_of, "recorded_by": recorded_by,
        })  # fmt: skip
        opened = []
        kinds = [("SMOKE_FAIL", "stop_use")] if result == "fail" else []
        if machine is None:
            kinds.append(("UNREGISTERED", "order_correct"))
        if check.label_present is False:
            kinds.append(("LABEL_MISSING", "order_correct"))
        for kind, decision in kinds:
            opened.append(machinery_store.save_violation(store, {
                "inspection_id": inspection_id, "code_norm": code_norm, "city": check.city,
                "machine_id": None if machine is None else int(machine["machine_id"]),
                "type": kind, "decision": decision, "deadline": due,
            }))  # fmt: skip
        closed = 0
        if result == "pass" and check.follow_up_of is not None:
            closed = machinery_store.close_violations(store, code_norm, inspection_id, check.at)
    ran = run_machine_checks(store, code_norm, check.at)
    if result == "fail":  # a failed spot check's violations open their rectification cases
        open_finding_cases(store, recorded_by, check.at)
    mine = [f for f in ran["items"] if f["code_norm"] == code_norm]
    return SpotCheckResult(
        inspection_id=inspection_id,
        machine_id=None if machine is None else int(machine["machine_id"]),
        result=result, limit_class=limit_class if verdict else None,
        k_mean=verdict.k_mean if verdict else None, k_limit=verdict.k_limit if verdict else None,
        reason=verdict.reason if verdict else "not tested 未检测", violations=opened,
        closed=closed, findings=mine,
    )  # fmt: skip


def add_site(store: Store, site: dict[str, Any], may_write: WriteCheck = _allow_all) -> None:
    """Register a construction site (brief A6) of a region city [°E, °N]."""
    may_write(int(site["city"]), f"site {site['site_id']}")
    machinery_store.save_site(store, site)


def record_presence(store: Store, rows: list[dict[str, Any]]) -> int:
    """Site entries/exits (code_observed, site_id, entered_at, left_at, source)."""
    frame = pd.DataFrame(rows)
    frame["code_norm"] = [normalise_code(c) for c in frame["code_observed"]]
    if "left_at" not in frame:
        frame["left_at"] = None
    return machinery_store.add_presence(store, frame)


def record_pings(store: Store, rows: list[dict[str, Any]]) -> int:
    """Terminal pings (terminal_id, ts, lon, lat, status)."""
    frame = pd.DataFrame(rows)
    if "status" not in frame:
        frame["status"] = None
    return machinery_store.add_pings(store, frame)


@dataclass
class PingImport:
    """What a batch of terminal pings did: pings stored, rejects (``ping N``/``line N`` with the
    reason), presences derived and the findings of the machines concerned."""

    received: int
    stored: int
    rejected: list[dict[str, Any]]
    presences: int
    findings: int


#: ping fields (A8 ``terminal_ping``); engine_hours [h] and engine_state (on, off, idle) optional
PING_COLUMNS = ("terminal_id", "ts", "lon", "lat", "engine_hours", "engine_state")
_REGION_AREAS: dict[tuple[int, ...], Any] = {}


def _region_area(region: catalog.Region) -> Any:
    """The union of the region's city boundaries (cached: it does not change while serving)."""
    key = tuple(region.cities)
    if key not in _REGION_AREAS:
        features = catalog.boundaries(region)["features"]
        # the bundled boundaries are simplified and some rings self-touch: made valid first
        areas = [shapely.make_valid(shapely.geometry.shape(f["geometry"])) for f in features]
        _REGION_AREAS[key] = shapely.union_all(areas)
    return _REGION_AREAS[key]


def _ping_in(index: str, raw: dict[str, Any]) -> pings_core.PingIn:
    """One received ping checked field by field; raises InputError naming the field."""
    missing = [c for c in ("terminal_id", "ts", "lon", "lat") if str(raw.get(c, "")).strip() == ""]
    if missing:
        raise InputError(f"missing {', '.join(missing)} 缺少必填字段")
    at = raw["ts"] if isinstance(raw["ts"], datetime) else _instant(str(raw["ts"]), "ts")
    if at.tzinfo is None:
        at = at.replace(tzinfo=CST)
    try:
        lon, lat = float(raw["lon"]), float(raw["lat"])
        hours = raw.get("engine_hours")
        hours = None if hours in (None, "") else float(hours)
    except (TypeError, ValueError):
        raise InputError("lon, lat and engine_hours must be numbers 须为数值") from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise InputError(f"lon {lon}, lat {lat} are not WGS-84 degrees")
    if hours is not None and hours < 0:
        raise InputError(f"engine_hours {hours} is negative [h]")
    state = str(raw.get("engine_state") or "").strip().lower() or None
    if state is not None and state not in pings_core.ENGINE_STATES:
        raise InputError(f"engine_state {state!r} is not one of on, off, idle")
    return pings_core.PingIn(index, str(raw["terminal_id"]).strip(), at, lon, lat, hours, state)


def import_pings(
    store: Store,
    rows: list[dict[str, Any]],
    *,
    source: str,
    ref: str = "ping",
    first: int = 1,
    now: datetime | None = None,
    region: catalog.Region | None = None,
    may_write: WriteCheck = _allow_all,
) -> PingImport:
    """Store a batch of terminal pings (A8), one by one judged: a bad field, an unknown terminal,
    an implausible time, a position outside the region, a speed jump or a machine of a city the
    caller may not write is kept aside (``rejected``) as ``{ref} N`` with its reason; the good
    pings are stored all the same. Then the machines' site presences are derived anew from their
    pings (source ``terminal``, A6) and their checks run on them (C1–C10)."""
    now = now or datetime.now(CST)
    region = region or catalog.load_region()
    rules = machinery_rules()
    bad: list[dict[str, Any]] = []
    parsed: list[pings_core.PingIn] = []
    raws: dict[str, dict[str, Any]] = {}
    for n, raw in enumerate(rows):
        index = f"{ref} {n + first}"
        raws[index] = raw
        try:
            parsed.append(_ping_in(index, raw))
        except InputError as error:
            bad.append(_ping_reject(source, index, raw, str(error)))
    terminals = sorted({p.terminal_id for p in parsed})
    fitted = machinery_store.terminal_machines(store, terminals)
    allowed: set[str] = set()
    for terminal, city in zip(fitted["terminal_id"], fitted["current_city"], strict=True):
        try:
            may_write(int(city), f"pings of terminal {terminal}")
            allowed.add(str(terminal))
        except Exception as error:  # a refused right: these pings are kept aside
            for ping in [p for p in parsed if p.terminal_id == terminal]:
                bad.append(_ping_reject(source, ping.index, raws[ping.index], str(error)))
            parsed = [p for p in parsed if p.terminal_id != terminal]
    last = machinery_store.pings(store, terminal_ids=terminals)
    last_stored = {
        str(r["terminal_id"]): (_aware(r["ts"]) or now, float(r["lon"]), float(r["lat"]))
        for r in last.to_dict("records")
    }
    known = set(fitted["terminal_id"].astype(str))
    good, refused = pings_core.judge_pings(
        parsed, known, _region_area(region), last_stored, now, rules
    )
    bad.extend(_ping_reject(source, p.index, raws[p.index], reason) for p, reason in refused)
    stored = 0
    if good:
        stored = machinery_store.add_pings(store, pd.DataFrame([{
            "terminal_id": p.terminal_id, "ts": p.at, "lon": p.lon, "lat": p.lat,
            "status": p.engine_state, "engine_hours": p.engine_hours,
            "engine_state": p.engine_state} for p in good]))  # fmt: skip
    store.reject(pd.DataFrame(bad))
    moved = sorted({p.terminal_id for p in good})
    presences, findings = _derive_and_check(store, fitted, moved, now)
    bad.sort(key=lambda r: int(str(r["record_ref"]).rsplit(" ", 1)[1]))
    return PingImport(len(rows), stored, bad, presences, findings)


def _ping_reject(source: str, index: str, raw: dict[str, Any], reason: str) -> dict[str, Any]:
    return {"source": source, "record_ref": index, "reason_code": "machinery_ping",
            "reason": reason, "raw": json.dumps(raw, ensure_ascii=False, default=str)}  # fmt: skip


def _site_areas(store: Store) -> list[pings_core.SiteArea]:
    rules = machinery_rules()
    return [
        pings_core.site_area(
            str(r["site_id"]),
            int(r["city"]),
            float(r["lon"]),
            float(r["lat"]),
            json.loads(r["polygon"]) if isinstance(r.get("polygon"), str) else None,
            rules,
        )
        for r in machinery_store.sites(store).to_dict("records")
    ]


def _derive_and_check(
    store: Store, fitted: pd.DataFrame, terminals: list[str], now: datetime
) -> tuple[int, int]:
    """Derive the site presences of the machines of ``terminals`` from all their pings, store
    them in place of the derived ones held, and run those machines' checks."""
    if not terminals:
        return 0, 0
    rules = machinery_rules()
    sites = _site_areas(store)
    track = machinery_store.ping_track(store, terminals)
    machines = fitted[fitted["terminal_id"].isin(terminals)]
    rows = []
    for machine in machines.to_dict("records"):
        mine = track[track["terminal_id"] == machine["terminal_id"]]
        points = [(_aware(t) or now, float(x), float(y))
                  for t, x, y in zip(mine["ts"], mine["lon"], mine["lat"], strict=True)]  # fmt: skip
        for stay in pings_core.derive_presence(points, sites, rules):
            rows.append({"code_observed": machine["registration_code"],
                         "code_norm": machine["code_norm"], "site_id": stay.site_id,
                         "entered_at": stay.entered_at, "left_at": stay.left_at})  # fmt: skip
    codes = sorted(set(machines["code_norm"].astype(str)))
    frame = pd.DataFrame(rows, columns=["code_observed", "code_norm", "site_id", "entered_at",
                                        "left_at"])  # fmt: skip
    written = machinery_store.replace_terminal_presence(store, codes, frame)
    findings = sum(run_machine_checks(store, code, now)["findings"] for code in codes)
    return written, findings


@dataclass(frozen=True)
class GateCheck:
    """A gate check as logged: the decision and every reason (A6 进出场核验)."""

    event_id: int
    site_id: str
    code_observed: str
    code_norm: str
    machine_id: int | None
    at: datetime
    admit: bool
    reasons: list[dict[str, str]]
    zone_ids: list[str]


def _last_test(store: Store, code_norm: str) -> gate_core.LastTest | None:
    """The machine's last smoke test (pass or fail) and whether a violation of it is open."""
    tests = machinery_store.inspections(store, code_norm=code_norm)
    tests = tests[tests["result"].isin(["pass", "fail"])]
    if tests.empty:
        return None
    last = tests.iloc[0]
    violations = machinery_store.open_violations(store, code_norm=code_norm)
    open_ = violations[
        (violations["inspection_id"] == last["inspection_id"]) & violations["closed_at"].isna()
    ]
    return gate_core.LastTest(
        int(last["inspection_id"]), _aware(last["inspected_at"]) or datetime.now(CST),
        str(last["result"]), not open_.empty,
    )  # fmt: skip


def gate_check(
    store: Store,
    site_id: str,
    code: str,
    operator: str,
    at: datetime | None = None,
    may_gate: WriteCheck = _allow_all,
) -> GateCheck:
    """Check a machine at a site's gate (A6): admit or refuse with every reason (unregistered,
    stage below the zone's minimum, failed last spot check, stage stopped by the city's warning,
    terminal offline where the zone needs it), log it, and record the stay of an admitted machine
    (presence source ``gate``). ``may_gate(city, site_id)`` raises when the operator may not check
    at this site's gate. Raises InputError for an unknown site or an empty code."""
    at = at or datetime.now(CST)
    sites = machinery_store.sites(store)
    site = sites[sites["site_id"] == site_id]
    if site.empty:
        raise InputError(f"site_id {site_id!r} is not a registered site 工地未登记")
    city, lon, lat = (
        int(site.iloc[0]["city"]),
        float(site.iloc[0]["lon"]),
        float(site.iloc[0]["lat"]),
    )
    may_gate(city, site_id)
    code_norm = normalise_code(code)
    if not code_norm:
        raise InputError("code is empty 编码为空")
    found = machinery_store.machines(store, code_norm=code_norm)
    found = found[found["status"] == "active"]
    machine = (
        _machine({str(k): v for k, v in found.iloc[0].to_dict().items()}) if len(found) else None
    )
    last_ping = None
    if machine is not None and machine.terminal_id:
        pinged = machinery_store.pings(store, terminal_ids=[machine.terminal_id])
        last_ping = _aware(pinged.iloc[0]["ts"]) if len(pinged) else None
    decision = gate_core.gate_decision(
        machine, code.strip(), (lon, lat), at, stored_zones(store),
        machinery_store.active_warnings(store, at).get(city),
        _last_test(store, code_norm) if machine is not None else None, last_ping,
        machinery_rules(),
    )  # fmt: skip
    reasons = [r.__dict__ for r in decision.reasons]
    with store.transaction():
        event_id = machinery_store.save_gate_event(store, {
            "site_id": site_id, "code_observed": code.strip(), "code_norm": code_norm,
            "machine_id": None if machine is None else machine.machine_id, "checked_at": at,
            "decision": "admit" if decision.admit else "refuse", "reasons": reasons,
            "operator": operator,
        })  # fmt: skip
        if decision.admit:
            record_presence(store, [{"code_observed": code.strip(), "site_id": site_id,
                                     "entered_at": at, "source": "gate"}])  # fmt: skip
    return GateCheck(event_id, site_id, code.strip(), code_norm,
                     None if machine is None else machine.machine_id, at, decision.admit,
                     reasons, decision.zone_ids)  # fmt: skip


def gate_log(store: Store, site_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """The gate checks, newest first, reasons decoded."""
    items = _records(machinery_store.gate_events(store, site_id, limit))
    for item in items:
        item["reasons"] = json.loads(item["reasons"])
        item["at"] = item.pop("checked_at")
    return items


def registry(store: Store, city: int | None = None, limit: int = 500) -> list[dict[str, Any]]:
    """Machines of every city (or one), with engine and owner: the shared registry."""
    frame = machinery_store.machines(store, city=city, limit=limit)
    return _records(frame)


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for row in frame.to_dict("records"):
        clean: dict[str, Any] = {}
        for name, value in row.items():
            key = str(name)
            if isinstance(value, list | tuple):
                clean[key] = list(value)
            elif value is None or (not hasattr(value, "__len__") and pd.isna(value)):
                clean[key] = None
            else:
                clean[key] = value
        out.append(clean)
    return out


def machine_detail(store: Store, code: str) -> dict[str, Any]:
    """A machine by its code (any separators), its inspections by every city and its findings."""
    code_norm = normalise_code(code)
    found = machinery_store.machines(store, code_norm=code_norm)
    inspections = machinery_store.inspections(store, code_norm=code_norm)
    if found.empty and inspections.empty:
        raise NotFound(f"no machine or inspection with code {code!r} 未找到该机械")
    return {
        "code_norm": code_norm,
        "machines": _records(found),
        "inspections": _records(inspections),
        "findings": finding_list(store, status=None, code_norm=code_norm),
    }


def inspection_list(
    store: Store, city: int | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    return _records(machinery_store.inspections(store, city=city, limit=limit))


def finding_list(
    store: Store,
    city: int | None = None,
    rule: str | None = None,
    status: str | None = "open",
    limit: int | None = 500,
    code_norm: str | None = None,
) -> list[dict[str, Any]]:
    """Findings of every city (or one), newest first; evidence decoded."""
    items = _records(
        machinery_store.findings(
            store, city=city, rule=rule, status=status, code_norm=code_norm, limit=limit
        )
    )
    for item in items:
        item["evidence"] = json.loads(item["evidence"])
        item["title"] = checks.RULES[item["rule"]][0]
    return items


def site_list(store: Store, at: datetime | None = None) -> list[dict[str, Any]]:
    """Sites with ``in_zone`` derived from the zones active at ``at`` (now)."""
    at = at or datetime.now(CST)
    zones = stored_zones(store)
    items = _records(machinery_store.sites(store))
    for item in items:
        item["in_zone"] = bool(zones_at(zones, item["lon"], item["lat"], at))
    return items


def zone_features(store: Store, at: datetime | None = None) -> dict[str, Any]:
    """The zones active at ``at`` (now) as a GeoJSON FeatureCollection."""
    at = at or datetime.now(CST)
    features = []
    for row in machinery_store.zones(store).to_dict("records"):
        valid_to = _aware(row["valid_to"])
        if _aware(row["valid_from"]) <= at and (valid_to is None or at < valid_to):  # type: ignore[operator]
            features.append(json.loads(row["feature"]))
    return {"type": "FeatureCollection", "features": features}


def region_extent(region: catalog.Region) -> tuple[float, float, float, float]:
    """(west, south, east, north) [°] of the region's city boundaries from the catalog: what the
    registry's map shows (the eight cities, not the country)."""
    return extent(catalog.boundaries(region)["features"], margin=0.0)


def public_counts(store: Store) -> list[dict[str, Any]]:
    """Per city: machines, of them 国二 and below and electric, inspections, failures, open
    findings. Aggregates only: what the public may see."""
    return _records(machinery_store.city_counts(store))


def hash_id_number(id_no: str) -> str:
    """A person's ID number is never stored: only its SHA-256 (hex)."""
    return hashlib.sha256(id_no.strip().upper().encode()).hexdigest()


#: machinery rules whose findings are violations to rectify (not review flags): they open a case
CASE_RULES = ("C1", "C2", "C3", "C5", "C6", "C7", "C10")


def open_finding_cases(
    store: Store, actor: str, at: datetime, rules: tuple[str, ...] = CASE_RULES
) -> dict[int, str]:
    """Open a rectification case (the mobile-sources campaign) for every open finding of
    ``rules`` without one, linked to it (not copied: issue 18, "each firing is a finding that can
    open a case"); a finding opens one case only. Returns finding id → case id of those opened."""
    opened: dict[int, str] = {}
    reader = store.cursor()  # a cursor of its own: the store's connection may hold a result
    try:
        open_rows = machinery_store.findings(reader, status="open").to_dict("records")
    finally:
        reader.close()
    for row in open_rows:
        if not pd.isna(row.get("case_ref")) or str(row["rule"]) not in rules:
            continue  # linked already (NaN: none), or a review flag rather than a violation
        facts = {
            "title": f"非道路移动机械 {row['rule']} {row['code_norm'] or ''} Non-road machinery finding",
            "problem_text": str(row["reason"]),
            "category": "mobile_sources",
            "city_code": int(row["city"]),
            "medium": "air",
        }
        case, _ = case_service.open_from_finding(
            store, "machinery_finding", str(row["finding_id"]), "", facts, actor,
            "supervision_office", at,
        )  # fmt: skip
        machinery_store.link_case(store, int(row["finding_id"]), case.case_id)
        opened[int(row["finding_id"])] = case.case_id
    machinery_store.settle(store)
    return opened


def gate_site_of(where: _sql.Connection, user_id: int | None) -> str | None:
    """The construction site a gate operator account is bound to, or None."""
    return machinery_store.gate_site_of(where, user_id)


def create_gate_operator(
    store: Store, name: str, site_id: str, password: str | None = None, by: str = "cli"
) -> tuple[UserRow, str | None]:
    """Create a gate operator account 工地门岗账户 bound to one registered site: it checks
    machines at that site's gate and reads nothing restricted. Returns the user and the
    generated password (None when one was given).

    Raises
    ------
    InputError
        When the site is not registered; AccountError for a bad or taken name.
    """
    sites = machinery_store.sites(store)
    if site_id not in set(sites["site_id"]):
        raise InputError(f"site_id {site_id!r} is not a registered site 工地未登记")
    with store.transaction():
        user, generated = accounts.create_user(store.con, name, "gate", None, password)
        machinery_store.bind_gate_operator(store, user.user_id, site_id, user.created_at)
        accounts.audit_as(store.con, by, by, "users.create", user.name, None,
                          {"role": "gate", "site_id": site_id})  # fmt: skip
    return user, generated
