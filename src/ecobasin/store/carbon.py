"""SQL of the carbon module (migration 7): user factors, inventories, activity lines, emission
lines, sinks; and :func:`recompute`, which runs the pure inventory engine over stored lines.

Every function takes the :class:`~ecobasin.store.Store` or a cursor first; writes take the Store
(one transaction each). Amounts cross the boundary as :class:`~decimal.Decimal`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
import pyarrow as pa

from ecobasin.carbon import factors as fx
from ecobasin.carbon.activity import ActivityTable
from ecobasin.carbon.factors import Factor, FactorError, FactorLibrary
from ecobasin.carbon.inventory import (
    ActivityLine,
    InventoryResult,
    InventorySettings,
    compute_inventory,
)
from ecobasin.carbon.sinks import SinkResult
from ecobasin.store import _sql
from ecobasin.store._sql import Connection
from ecobasin.store.database import Store
from ecobasin.store.queries import in_list

__all__ = [
    "activity_lines",
    "add_factors",
    "emissions",
    "inventories",
    "inventory_settings",
    "library",
    "peak_series",
    "recompute",
    "replace_sinks",
    "save_activity",
    "sector_totals",
    "set_choices",
    "sinks",
    "user_factors",
    "yearly_totals",
]

_Q = Decimal("0.000000001")  # DECIMAL(38, 9)
_DECIMAL = pa.decimal128(38, 9)


def _now() -> datetime:
    return datetime.now(UTC)


# -- factors ---------------------------------------------------------------------------------------
def user_factors(where: Connection) -> list[Factor]:
    """Factors users added, as :class:`Factor` (origin ``user``)."""
    columns = ", ".join(fx.FACTOR_COLUMNS)
    rows = _sql.frame(where, f"SELECT {columns} FROM carbon_factors ORDER BY id")
    return [
        fx.parse_factor({str(k): v for k, v in row.items()}, "user")
        for row in rows.to_dict(orient="records")
    ]


def library(where: Connection) -> FactorLibrary:
    """The shipped factors plus the users' ones."""
    return fx.default_library().with_factors(user_factors(where))


def add_factors(store: Store, factors: Sequence[Factor], added_by: str = "cli") -> int:
    """Add (or replace) user factors; returns how many were written.

    Raises
    ------
    FactorError
        An id of a shipped factor (a user factor never silently replaces a default: give it
        its own id and, when it should win, name it on the lines or mark the default superseded
        in a factor set of your own).
    """
    builtin = fx.default_library()
    for factor in factors:
        if factor.id in builtin:
            raise FactorError(f"factor {factor.id}: the id of a shipped factor; choose another id")
    rows = [{**factor.as_row(), "added_by": added_by, "added_at": _now()} for factor in factors]
    if not rows:
        return 0
    frame = pd.DataFrame(rows)[[*fx.FACTOR_COLUMNS, "added_by", "added_at"]]
    frame["value"] = frame["value"].astype(str)
    for column in ("valid_from", "valid_to"):
        frame[column] = frame[column].astype("Int64")
    with store.transaction(), store._registered(factor_in=frame):
        store.con.execute("INSERT OR REPLACE INTO carbon_factors SELECT * FROM factor_in")
    return len(rows)


# -- inventories and activity -------------------------------------------------------------------------
def save_activity(
    store: Store,
    table: ActivityTable,
    source: str,
    *,
    defaults: InventorySettings | None = None,
    gdp_price_base: int | None = None,
) -> dict[str, int]:
    """Store what an activity table holds: the inventories it names are created (with the
    choices of ``defaults``) or kept (their choices unchanged), their activity lines replaced by
    the table's, their GDP set when the table gives it. Rejected rows go to ``rejected``.

    Returns counts: inventories, lines, gdp, rejected.
    """
    base = defaults or InventorySettings(0, 0)
    now = _now()
    with store.transaction():
        for inv, (city, year) in table.inventories.items():
            store.con.execute(
                "INSERT INTO carbon_inventories (inventory_id, city_code, year, gwp_set, "
                "factor_set, grid_kind, grid_factor_id, heat_factor_id, source, imported_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (inventory_id) DO UPDATE SET "
                "source = excluded.source, imported_at = excluded.imported_at",
                [
                    inv, city, year, base.gwp_set, base.factor_set, base.grid_kind,
                    base.grid_factor_id, base.heat_factor_id, source, now,
                ],
            )  # fmt: skip
            if inv in table.gdp:
                store.con.execute(
                    "UPDATE carbon_inventories SET gdp_10k_cny = ?, gdp_price_base = ? "
                    "WHERE inventory_id = ?",
                    [table.gdp[inv], gdp_price_base, inv],
                )
            if inv in table.lines:
                store.con.execute("DELETE FROM carbon_activity WHERE inventory_id = ?", [inv])
                store.con.execute("DELETE FROM carbon_emissions WHERE inventory_id = ?", [inv])
                _insert_lines(store, inv, table.lines[inv])
        rejected = store.reject(pd.DataFrame(table.rejects)) if table.rejects else 0
    return {
        "inventories": len(table.inventories),
        "lines": sum(len(v) for v in table.lines.values()),
        "gdp": len(table.gdp),
        "rejected": rejected,
    }


def _insert_lines(store: Store, inv: str, lines: Sequence[ActivityLine]) -> None:
    rows = [
        {
            "inventory_id": inv,
            "line": x.line,
            "sector": x.sector,
            "subsector": x.subsector,
            "activity": x.activity,
            "amount": x.amount,
            "unit": x.unit,
            "resold": x.resold,
            "scope": x.scope,
            "factor_ids": "|".join(x.factor_ids),
            "enthalpy": x.enthalpy_kj_per_kg,
            "note": x.note,
        }
        for x in lines
    ]
    store.con.executemany(
        "INSERT INTO carbon_activity VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [list(r.values()) for r in rows],
    )


def activity_lines(where: Connection, inventory_id: str) -> list[ActivityLine]:
    """The stored activity lines of an inventory, in line order."""
    rows = (
        _sql.cursor_of(where)
        .execute(
            "SELECT line, sector, subsector, activity, amount, unit, resold, scope, factor_ids, "
            "enthalpy_kj_per_kg, note FROM carbon_activity WHERE inventory_id = ? ORDER BY line",
            [inventory_id],
        )
        .fetchall()
    )
    return [
        ActivityLine(
            line=int(r[0]),
            sector=r[1],
            subsector=r[2],
            activity=r[3],
            amount=Decimal(r[4]),
            unit=r[5],
            resold=Decimal(r[6]),
            scope=None if r[7] is None else int(r[7]),
            factor_ids=tuple(p for p in str(r[8]).split("|") if p),
            enthalpy_kj_per_kg=None if r[9] is None else Decimal(r[9]),
            note=r[10],
        )
        for r in rows
    ]


def inventories(
    where: Connection,
    cities: Sequence[int] | None = None,
    years: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Inventories with their choices, GDP and line counts, by city and year."""
    params: list[Any] = []
    sql = (
        "SELECT i.inventory_id, i.city_code, c.name_zh AS city_zh, c.name_en AS city_en, i.year, "
        "i.gwp_set, i.factor_set, i.grid_kind, i.grid_factor_id, i.heat_factor_id, "
        "i.electricity_choice::VARCHAR AS electricity_choice, "
        "i.gdp_10k_cny::DOUBLE AS gdp_10k_cny, i.gdp_price_base, i.source, i.imported_at, "
        "i.computed_at, (SELECT count(*) FROM carbon_activity a "
        "WHERE a.inventory_id = i.inventory_id) AS lines "
        "FROM carbon_inventories i LEFT JOIN cities c ON c.code = i.city_code WHERE true"
        + in_list("i.city_code", cities, params)
        + in_list("i.year", years, params)
    )
    return _sql.frame(where, sql + " ORDER BY i.city_code, i.year", params)


def inventory_settings(where: Connection, inventory_id: str) -> InventorySettings:
    """The choices an inventory is computed with.

    Raises
    ------
    KeyError
        Unknown inventory.
    """
    rows = (
        _sql.cursor_of(where)
        .execute(
            "SELECT city_code, year, gwp_set, factor_set, grid_factor_id, grid_kind, "
            "heat_factor_id FROM carbon_inventories WHERE inventory_id = ?",
            [inventory_id],
        )
        .fetchall()
    )
    if not rows:
        raise KeyError(f"unknown inventory {inventory_id!r}")
    r = rows[0]
    return InventorySettings(int(r[0]), int(r[1]), r[2], r[3], r[4], r[5], r[6])


def set_choices(store: Store, inventory_ids: Sequence[str], **choices: str | None) -> None:
    """Change recorded choices (gwp_set, factor_set, grid_factor_id, grid_kind, heat_factor_id)
    of inventories; None leaves a choice as it is, ``""`` clears ``grid_factor_id``."""
    allowed = {"gwp_set", "factor_set", "grid_factor_id", "grid_kind", "heat_factor_id"}
    updates = {k: v for k, v in choices.items() if v is not None}
    unknown = set(updates) - allowed
    if unknown:
        raise ValueError(f"unknown inventory choices {sorted(unknown)}")
    if not updates or not inventory_ids:
        return
    values = [None if (k == "grid_factor_id" and v == "") else v for k, v in updates.items()]
    sets = ", ".join(f"{k} = ?" for k in updates)
    store.con.execute(
        f"UPDATE carbon_inventories SET {sets} WHERE inventory_id = ANY(?)",
        [*values, list(inventory_ids)],
    )


# -- compute ---------------------------------------------------------------------------------------
def recompute(store: Store, inventory_ids: Iterable[str]) -> dict[str, Any]:
    """Compute inventories from their stored lines and choices; replace their emission lines,
    record the electricity choice; lines that fail are rejected (source ``carbon inventory
    <id>``, ``line N``) with their reason.

    Returns counts: inventories, emission_lines, failed_lines, and ``results`` by id.
    """
    lib = library(store)
    report: dict[str, Any] = {"inventories": 0, "emission_lines": 0, "failed_lines": 0}
    results: dict[str, InventoryResult] = {}
    for inv in inventory_ids:
        settings = inventory_settings(store, inv)
        result = compute_inventory(activity_lines(store, inv), settings, lib)
        _write_result(store, inv, result)
        results[inv] = result
        report["inventories"] += 1
        report["emission_lines"] += len(result.emissions)
        report["failed_lines"] += len(result.errors)
    report["results"] = results
    return report


def _emission_rows(inv: str, result: InventoryResult, now: datetime) -> pa.Table:
    """The inventory's emission lines in the columns and types of ``carbon_emissions``: one
    Arrow table inserted at once (row-by-row parameters cost ~2 ms a line). The amounts are
    exact DECIMAL(38, 9), as the quantized Decimals are."""
    x = result.emissions
    return pa.table(
        {
            "inventory_id": pa.array([inv] * len(x), pa.string()),
            "line": pa.array([e.line for e in x], pa.int32()),
            "gas": pa.array([e.gas for e in x], pa.string()),
            "sector": pa.array([e.sector for e in x], pa.string()),
            "subsector": pa.array([e.subsector for e in x], pa.string()),
            "gpc_ref": pa.array([e.gpc_ref for e in x], pa.string()),
            "scope": pa.array([e.scope for e in x], pa.int8()),
            "activity": pa.array([e.activity for e in x], pa.string()),
            "amount_t": pa.array([e.amount_t.quantize(_Q) for e in x], _DECIMAL),
            "co2e_t": pa.array([e.co2e_t.quantize(_Q) for e in x], _DECIMAL),
            "energy_tj": pa.array(
                [None if e.energy_tj is None else e.energy_tj.quantize(_Q) for e in x], _DECIMAL
            ),
            "factor_ids": pa.array([json.dumps(list(e.factor_ids)) for e in x], pa.string()),
            "formula": pa.array([e.formula for e in x], pa.string()),
            "notation": pa.array([e.notation for e in x], pa.string()),
            "basic": pa.array([e.basic for e in x], pa.bool_()),
            "computed_at": pa.array([now] * len(x), pa.timestamp("us", tz="UTC")),
        }
    )


def _write_result(store: Store, inv: str, result: InventoryResult) -> None:
    now = _now()
    rows = _emission_rows(inv, result, now)
    choice = {
        k: str(v) if isinstance(v, Decimal) else v for k, v in asdict(result.electricity).items()
    }
    rejects = pd.DataFrame(
        [
            {
                "source": f"carbon inventory {inv}",
                "record_ref": f"line {e.line}",
                "reason_code": e.reason_code,
                "reason": str(e),
                "raw": "",
            }
            for e in result.errors
        ]
    )
    with store.transaction():
        store.con.execute("DELETE FROM carbon_emissions WHERE inventory_id = ?", [inv])
        if rows.num_rows:
            with store._registered(emissions_in=rows):
                store.con.execute(
                    f"INSERT INTO carbon_emissions ({', '.join(rows.column_names)}) "
                    "SELECT * FROM emissions_in"
                )
        store.con.execute(
            "UPDATE carbon_inventories SET electricity_choice = ?, computed_at = ? "
            "WHERE inventory_id = ?",
            [json.dumps(choice, ensure_ascii=False), now, inv],
        )
        store.reject(rejects)


# -- reading emissions ---------------------------------------------------------------------------------
def emissions(
    where: Connection,
    cities: Sequence[int] | None = None,
    years: Sequence[int] | None = None,
    sectors: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Emission lines (amounts as float [t]) with city and year, in line order."""
    params: list[Any] = []
    sql = (
        "SELECT i.city_code, i.year, e.inventory_id, e.line, e.gas, e.sector, e.subsector, "
        "e.gpc_ref, e.scope, e.activity, e.amount_t::DOUBLE AS amount_t, "
        "e.co2e_t::DOUBLE AS co2e_t, e.energy_tj::DOUBLE AS energy_tj, "
        "e.factor_ids::VARCHAR AS factor_ids, e.formula, e.notation, e.basic, i.gwp_set "
        "FROM carbon_emissions e JOIN carbon_inventories i USING (inventory_id) WHERE true"
        + in_list("i.city_code", cities, params)
        + in_list("i.year", years, params)
        + in_list("e.sector", sectors, params)
    )
    return _sql.frame(where, sql + " ORDER BY i.city_code, i.year, e.line, e.gas", params)


def sector_totals(
    where: Connection, cities: Sequence[int] | None = None, years: Sequence[int] | None = None
) -> pd.DataFrame:
    """t CO2e by city, year, sector and scope (``basic_t``: the part in the BASIC total)."""
    params: list[Any] = []
    sql = (
        "SELECT i.city_code, i.year, e.sector, e.scope, sum(e.co2e_t)::DOUBLE AS co2e_t, "
        "sum(e.co2e_t) FILTER (WHERE e.basic)::DOUBLE AS basic_t "
        "FROM carbon_emissions e JOIN carbon_inventories i USING (inventory_id) WHERE true"
        + in_list("i.city_code", cities, params)
        + in_list("i.year", years, params)
        + " GROUP BY ALL ORDER BY i.city_code, i.year, e.sector, e.scope"
    )
    frame = _sql.frame(where, sql, params)
    frame["basic_t"] = frame["basic_t"].fillna(0.0)
    return frame


def yearly_totals(where: Connection, cities: Sequence[int] | None = None) -> pd.DataFrame:
    """Per city and year: BASIC total, scope 1 (territorial), scope 2 [t CO2e], energy CO2
    [t] (CO2 of fuels, electricity and heat: the statistics' energy-related CO2) and GDP."""
    params: list[Any] = []
    sql = (
        "SELECT i.city_code, i.year, i.gdp_10k_cny::DOUBLE AS gdp_10k_cny, i.gdp_price_base, "
        "coalesce(sum(e.co2e_t) FILTER (WHERE e.basic), 0)::DOUBLE AS basic_t, "
        "coalesce(sum(e.co2e_t) FILTER (WHERE e.scope = 1), 0)::DOUBLE AS scope1_t, "
        "coalesce(sum(e.co2e_t) FILTER (WHERE e.scope = 2), 0)::DOUBLE AS scope2_t, "
        "coalesce(sum(e.amount_t) FILTER (WHERE e.gas = 'CO2' AND e.basic "
        "AND e.sector <> 'industrial_processes'), 0)::DOUBLE AS energy_co2_t "
        "FROM carbon_inventories i LEFT JOIN carbon_emissions e USING (inventory_id) WHERE true"
        + in_list("i.city_code", cities, params)
        + " GROUP BY ALL HAVING count(e.line) > 0 ORDER BY i.city_code, i.year"
    )
    return _sql.frame(where, sql, params)


def peak_series(
    where: Connection, cities: Sequence[int] | None = None
) -> dict[int, tuple[dict[int, Decimal], dict[int, Decimal]]]:
    """Per city: energy-related CO2 [t] and GDP [10⁴ CNY, constant prices] by year (the inputs
    of :func:`ecobasin.carbon.peak.city_report`)."""
    frame = yearly_totals(where, cities)
    out: dict[int, tuple[dict[int, Decimal], dict[int, Decimal]]] = {}
    for city, year, co2, gdp in zip(
        frame["city_code"], frame["year"], frame["energy_co2_t"], frame["gdp_10k_cny"], strict=True
    ):
        co2_by_year, gdp_by_year = out.setdefault(int(city), ({}, {}))
        co2_by_year[int(year)] = Decimal(str(co2))
        if pd.notna(gdp):
            gdp_by_year[int(year)] = Decimal(str(gdp))
    return out


# -- sinks -----------------------------------------------------------------------------------------
def replace_sinks(
    store: Store, rows: Sequence[tuple[int, int, str, dict[str, Any], SinkResult]], source: str
) -> int:
    """Insert or replace sink estimates ``(city, year, sink_id, inputs, result)``."""
    now = _now()
    values = [
        [
            city, year, sink_id, r.method,
            json.dumps({k: str(v) if isinstance(v, Decimal) else v for k, v in inputs.items()},
                       ensure_ascii=False),
            None if r.delta_c_t is None else r.delta_c_t.quantize(_Q),
            r.removal_tco2.quantize(_Q), r.formula, source, now,
        ]
        for city, year, sink_id, inputs, r in rows
    ]  # fmt: skip
    if values:
        with store.transaction():
            store.con.executemany(
                "INSERT OR REPLACE INTO carbon_sinks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values
            )
    return len(values)


def sinks(
    where: Connection, cities: Sequence[int] | None = None, years: Sequence[int] | None = None
) -> pd.DataFrame:
    """Sink estimates by city, year and sink."""
    params: list[Any] = []
    sql = (
        "SELECT city_code, year, sink_id, method, inputs::VARCHAR AS inputs, "
        "delta_c_t::DOUBLE AS delta_c_t, removal_tco2::DOUBLE AS removal_tco2, formula, source "
        "FROM carbon_sinks WHERE true"
        + in_list("city_code", cities, params)
        + in_list("year", years, params)
    )
    return _sql.frame(where, sql + " ORDER BY city_code, year, sink_id", params)
