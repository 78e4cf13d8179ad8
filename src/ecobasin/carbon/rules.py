"""Versioned behaviour rule sets and project methodologies of the carbon-inclusive ledger 碳普惠.

A rule set (``catalog/data/carbon/inclusive/<id>-<version>.toml``) gives, per behaviour, the
quantification pattern of the carbon brief §3 and its parameters (each with its source), the
points, the daily cap in points, how the same behaviour reported by two data sources is
recognised (``daily``: one per account and day; ``window``: within N minutes) and the evidence
sources accepted. Methods (formulas in :mod:`ecobasin.carbon.quantify`):

* ``trip`` — R = d [km] × (EF_baseline − EF_mode) [kg/pkm] (CCER/碳普惠 trip methodologies);
* ``steps`` — grams proportional to steps, points per full block (绿芽积分: 500 steps = 8.2 g, 1 pt:
  ``g_per_block``, ``points_per_block``, ``block``), or the points-per-step shape other schemes
  publish (碳碳星球: 0.02 pt per step, 1 pt = 1 g: ``points_per_step``, ``g_per_point``);
* ``car_free_day`` — R = km × L/100 km / 100 × EF_fuel [kg CO2/L], per day declared;
* ``per_event`` / ``per_unit`` — grams and points per event or per unit (kg of old clothes).

Points are proportional (``points_per_g``) or not (``points_per_event``, ``points_per_block``,
``points_per_unit``); both grams and points are kept. A version is identified by its content hash
(SHA-256 of its canonical JSON) so a ledger entry names exactly the rules that credited it.

Projects: ER = BE − PE − LE [t CO2e]; ``grid_displacement`` methodologies take BE = EG × EF_grid
with the grid factor they prescribe (a factor-library id).

Pure: reads package data only.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_FLOOR, Decimal
from functools import cache
from importlib import resources
from typing import Any

from ecobasin.carbon import factors as fx
from ecobasin.carbon import quantify

__all__ = [
    "DEDUPE_MODES",
    "METHODS",
    "BehaviourRule",
    "Credit",
    "Methodology",
    "MonitoringResult",
    "RuleError",
    "RuleSet",
    "methodologies",
    "methodology",
    "parse_rule_set",
    "rule_set",
    "shipped_rule_sets",
]

_DATA = resources.files("ecobasin.catalog") / "data" / "carbon" / "inclusive"
METHODS = ("trip", "steps", "car_free_day", "per_event", "per_unit")
DEDUPE_MODES = ("none", "daily", "window")
_MG = Decimal("0.001")


class RuleError(ValueError):
    """A rule set or methodology that cannot be used, or a quantity a rule cannot credit."""


@dataclass(frozen=True)
class Credit:
    """What one event earns: ``grams`` [g CO2] avoided, whole ``points``, and the formula."""

    grams: Decimal
    points: Decimal
    formula: str


def _dec(table: Mapping[str, Any], key: str, where: str) -> Decimal:
    if key not in table:
        raise RuleError(f"{where}: missing {key}")
    return fx.decimal(table[key], f"{where}.{key}")


@dataclass(frozen=True)
class BehaviourRule:
    """One behaviour of a rule set (see the module text for the methods).

    Attributes
    ----------
    behaviour : str
        Id (``metro``, ``walking`` …).
    method : str
        One of :data:`METHODS`.
    params : Mapping[str, Decimal]
        The method's numbers: ``baseline_ef_kg_per_pkm`` [kg CO2/pkm], ``g_per_block`` [g],
        ``g_per_event`` [g], ``points_per_g`` [pt/g] …
    daily_cap_points : Decimal or None
        Most points one account earns from this behaviour in one China Standard Time day.
    dedupe : str
        ``none``, ``daily`` or ``window`` (with ``dedupe_window_minutes``).
    evidence : tuple[str, ...]
        Accepted evidence sources (``metro_ticket``, ``self_checkin`` …).
    """

    behaviour: str
    name_zh: str
    name_en: str
    method: str
    unit: str
    params: Mapping[str, Decimal]
    block: int
    daily_cap_points: Decimal | None
    dedupe: str
    dedupe_window_minutes: int
    evidence: tuple[str, ...]
    source: str

    def _points(self, grams: Decimal, events: Decimal) -> Decimal:
        p = self.params
        if "points_per_g" in p:
            points = grams * p["points_per_g"]
        elif "points_per_unit" in p:
            points = events * p["points_per_unit"]
        else:
            points = events * p.get("points_per_event", Decimal(0))
        return points.to_integral_value(rounding=ROUND_FLOOR)

    def credit(self, quantity: Decimal) -> Credit:
        """Grams [g CO2] and whole points for ``quantity`` (km, steps, days, events or units).

        Raises
        ------
        RuleError
            A negative quantity, or a fractional one where whole events are counted.
        """
        if quantity < 0:
            raise RuleError(f"{self.behaviour}: quantity {quantity} {self.unit} is negative")
        p = self.params
        if self.method == "trip":
            kg = quantify.trip_substitution(
                quantity, p["baseline_ef_kg_per_pkm"], p["mode_ef_kg_per_pkm"]
            )
            grams = kg * 1000
            formula = (
                f"{quantity} km × ({p['baseline_ef_kg_per_pkm']} − {p['mode_ef_kg_per_pkm']}) "
                f"kg/pkm = {grams.quantize(_MG)} g"
            )
            return Credit(grams.quantize(_MG), self._points(grams, Decimal(1)), formula)
        if self.method == "steps":
            if quantity != quantity.to_integral_value():
                raise RuleError(f"{self.behaviour}: steps must be whole, got {quantity}")
            if "points_per_step" in p:
                grams, points = quantify.step_points_rule(
                    int(quantity), p["points_per_step"], p["g_per_point"]
                )
                formula = (
                    f"{quantity} steps × {p['points_per_step']} pt × {p['g_per_point']} g/pt = "
                    f"{grams.quantize(_MG)} g; {points} whole pt"
                )
                return Credit(grams.quantize(_MG), points, formula)
            grams, points = quantify.step_rule(
                int(quantity), p["g_per_block"], p["points_per_block"], self.block
            )
            formula = (
                f"{quantity} steps / {self.block} × {p['g_per_block']} g = {grams.quantize(_MG)} g; "
                f"{points} pt for full blocks"
            )
            return Credit(grams.quantize(_MG), points, formula)
        if self.method != "per_unit" and quantity != quantity.to_integral_value():
            raise RuleError(f"{self.behaviour}: {self.unit} must be whole, got {quantity}")
        if self.method == "car_free_day":
            per_day = quantify.car_free_day(
                p["avoided_km"], p["fuel_l_per_100km"], p["fuel_ef_kg_per_l"]
            )
            grams = per_day * 1000 * quantity
            formula = (
                f"{quantity} d × {p['avoided_km']} km × {p['fuel_l_per_100km']}/100 L/km × "
                f"{p['fuel_ef_kg_per_l']} kg/L = {grams.quantize(_MG)} g"
            )
        else:
            per = p["g_per_unit"] if self.method == "per_unit" else p["g_per_event"]
            grams = per * quantity
            formula = f"{quantity} {self.unit} × {per} g = {grams.quantize(_MG)} g"
        return Credit(grams.quantize(_MG), self._points(grams, quantity), formula)

    def label(self) -> str:
        return f"{self.name_zh} {self.name_en}"


_METHOD_PARAMS: dict[str, tuple[str, ...]] = {
    "trip": ("baseline_ef_kg_per_pkm", "mode_ef_kg_per_pkm"),
    "steps": ("g_per_block", "points_per_block"),
    "car_free_day": ("avoided_km", "fuel_l_per_100km", "fuel_ef_kg_per_l"),
    "per_event": ("g_per_event",),
    "per_unit": ("g_per_unit", "points_per_unit"),
}
#: The points-per-step shape of ``steps`` (instead of ``g_per_block`` and ``points_per_block``).
_PER_STEP = ("points_per_step", "g_per_point")
_POINT_KEYS = (
    "points_per_g", "points_per_event", "points_per_block", "points_per_unit", "points_per_step"
)  # fmt: skip


def _method_keys(method: str, table: Mapping[str, Any], where: str) -> tuple[str, ...]:
    """The numbers ``method`` needs: a steps rule takes either shape, not both."""
    if method != "steps" or not any(k in table for k in _PER_STEP):
        return _METHOD_PARAMS[method]
    if any(k in table for k in _METHOD_PARAMS["steps"]):
        raise RuleError(
            f"{where}: give points_per_step and g_per_point, or g_per_block and "
            "points_per_block, not both shapes"
        )
    return _PER_STEP


def _behaviour(behaviour: str, table: Mapping[str, Any]) -> BehaviourRule:
    where = f"behaviour {behaviour}"
    method = str(table.get("method", ""))
    if method not in METHODS:
        raise RuleError(f"{where}: method {method!r} is not one of {', '.join(METHODS)}")
    numbers = {k: _dec(table, k, where) for k in _method_keys(method, table, where)}
    numbers |= {k: _dec(table, k, where) for k in _POINT_KEYS if k in table}
    if not any(k in numbers for k in _POINT_KEYS):
        raise RuleError(f"{where}: give points_per_g or points_per_event")
    if any(v < 0 for v in numbers.values()):
        raise RuleError(f"{where}: numbers must not be negative")
    dedupe = str(table.get("dedupe", "none"))
    if dedupe not in DEDUPE_MODES:
        raise RuleError(f"{where}: dedupe {dedupe!r} is not one of {', '.join(DEDUPE_MODES)}")
    window = int(table.get("dedupe_window_minutes", 0))
    if dedupe == "window" and window <= 0:
        raise RuleError(f"{where}: dedupe = 'window' needs dedupe_window_minutes > 0")
    evidence = tuple(str(e) for e in table.get("evidence", ()))
    if not evidence:
        raise RuleError(f"{where}: name the evidence sources accepted (evidence = [...])")
    cap = _dec(table, "daily_cap_points", where) if "daily_cap_points" in table else None
    return BehaviourRule(
        behaviour=behaviour,
        name_zh=str(table.get("name_zh", behaviour)),
        name_en=str(table.get("name_en", behaviour)),
        method=method,
        unit=str(table.get("unit", "")),
        params=numbers,
        block=int(table.get("block", 500)),
        daily_cap_points=cap,
        dedupe=dedupe,
        dedupe_window_minutes=window,
        evidence=evidence,
        source=str(table.get("source", "")),
    )


@dataclass(frozen=True)
class RuleSet:
    """One version of a behaviour rule set, with its content hash (``sha256``)."""

    id: str
    version: str
    valid_from: date
    name_zh: str
    name_en: str
    status: str
    source: str
    valid_months: int
    behaviours: Mapping[str, BehaviourRule]
    content: Mapping[str, Any]
    sha256: str
    #: Most points one account earns per China Standard Time day over every behaviour
    #: (``[points] account_daily_cap_points``); None: only the per-behaviour caps.
    account_daily_cap_points: Decimal | None = None

    def rule(self, behaviour: str) -> BehaviourRule:
        """The rule of ``behaviour``.

        Raises
        ------
        RuleError
            Naming the behaviours the set knows.
        """
        try:
            return self.behaviours[behaviour]
        except KeyError:
            known = ", ".join(sorted(self.behaviours))
            raise RuleError(
                f"rule set {self.id} {self.version} has no behaviour {behaviour!r}; known: {known}"
            ) from None

    @property
    def key(self) -> str:
        return f"{self.id}@{self.version}"


def canonical_json(content: Mapping[str, Any]) -> str:
    """Sorted-key JSON (dates as ISO text): the form hashed and stored."""
    return json.dumps(
        content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )


def parse_rule_set(content: Mapping[str, Any]) -> RuleSet:
    """A rule set from its TOML content (as parsed, or as stored JSON).

    Raises
    ------
    RuleError
        Missing id/version/valid_from, unknown method, missing numbers, no evidence sources.
    """
    for key in ("id", "version", "valid_from"):
        if key not in content:
            raise RuleError(f"a rule set needs {key}")
    behaviours = content.get("behaviours") or {}
    if not behaviours:
        raise RuleError(f"rule set {content['id']}: no behaviours")
    points = content.get("points") or {}
    if points.get("rounding", "floor") != "floor":
        raise RuleError("only rounding = 'floor' (whole points, rounded down) is supported")
    text = canonical_json(content)
    account_cap = (
        _dec(points, "account_daily_cap_points", "points")
        if "account_daily_cap_points" in points
        else None
    )
    return RuleSet(
        id=str(content["id"]),
        version=str(content["version"]),
        valid_from=date.fromisoformat(str(content["valid_from"])),
        name_zh=str(content.get("name_zh", "")),
        name_en=str(content.get("name_en", "")),
        status=str(content.get("status", "")),
        source=str(content.get("source", "")),
        valid_months=int(points.get("valid_months", 0)),
        behaviours={b: _behaviour(b, t) for b, t in behaviours.items()},
        content=json.loads(text),
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        account_daily_cap_points=account_cap,
    )


@cache
def shipped_rule_sets() -> tuple[RuleSet, ...]:
    """The rule sets shipped in ``catalog/data/carbon/inclusive`` (ordered by id, valid_from)."""
    found = [
        parse_rule_set(tomllib.loads(item.read_text(encoding="utf-8")))
        for item in _DATA.iterdir()
        if item.name.endswith(".toml") and item.name != "methodologies.toml"
    ]
    return tuple(sorted(found, key=lambda r: (r.id, r.valid_from, r.version)))


def rule_set(rule_set_id: str | None = None, version: str | None = None) -> RuleSet:
    """A shipped rule set: the given version, else the latest valid one of ``rule_set_id``
    (default: the first shipped id).

    Raises
    ------
    RuleError
        Unknown id or version.
    """
    sets = shipped_rule_sets()
    wanted = rule_set_id or sets[0].id
    versions = [r for r in sets if r.id == wanted]
    if not versions:
        known = ", ".join(sorted({r.id for r in sets}))
        raise RuleError(f"unknown rule set {wanted!r}; shipped: {known}")
    if version is None:
        return versions[-1]
    for candidate in versions:
        if candidate.version == version:
            return candidate
    listed = ", ".join(r.version for r in versions)
    raise RuleError(f"rule set {wanted} has no version {version!r}; versions: {listed}")


# -- project methodologies ---------------------------------------------------------------------
@dataclass(frozen=True)
class MonitoringResult:
    """BE, PE, LE and ER = BE − PE − LE [t CO2e] of one monitoring period, with the formula."""

    baseline_t: Decimal
    project_t: Decimal
    leakage_t: Decimal
    reduction_t: Decimal
    formula: str


@dataclass(frozen=True)
class Methodology:
    """A project methodology: ``generic`` (BE, PE, LE given) or ``grid_displacement``."""

    id: str
    name_zh: str
    name_en: str
    kind: str
    inputs: tuple[str, ...]
    grid_factor: str
    source: str

    def reduction(
        self, inputs: Mapping[str, Any], ef_grid: Decimal | None = None
    ) -> MonitoringResult:
        """ER of a monitoring period [t CO2e] from its inputs.

        Parameters
        ----------
        inputs : Mapping
            ``net_generation_mwh`` [MWh] (grid displacement) or ``baseline_t`` [t CO2e]; optional
            ``project_t``, ``leakage_t`` [t CO2e].
        ef_grid : Decimal, optional
            Grid factor [t CO2/MWh] the project registered; default the methodology's factor.

        Raises
        ------
        RuleError
            A missing or negative input, or a negative reduction.
        """
        values: dict[str, Decimal] = {}
        for key, raw in inputs.items():
            value = fx.decimal(raw, key)
            if value < 0:
                raise RuleError(f"{self.id}: input {key} = {value} is negative")
            values[key] = value
        project, leakage = values.get("project_t", Decimal(0)), values.get("leakage_t", Decimal(0))
        if self.kind == "grid_displacement":
            if "net_generation_mwh" not in values:
                raise RuleError(f"{self.id}: needs net_generation_mwh [MWh]")
            ef = (
                ef_grid if ef_grid is not None else fx.default_library().get(self.grid_factor).value
            )
            baseline = quantify.grid_displacement(values["net_generation_mwh"], ef)
            be_text = f"BE = {values['net_generation_mwh']} MWh × {ef} t/MWh = {baseline} t"
        else:
            if "baseline_t" not in values:
                raise RuleError(f"{self.id}: needs baseline_t [t CO2e]")
            baseline = values["baseline_t"]
            be_text = f"BE = {baseline} t"
        reduction = quantify.project_reduction(baseline, project, leakage)
        if reduction < 0:
            raise RuleError(f"{self.id}: ER = {reduction} t is negative; nothing to issue")
        formula = f"{be_text}; ER = BE − {project} − {leakage} = {reduction} t CO2e"
        return MonitoringResult(baseline, project, leakage, reduction, formula)

    def label(self) -> str:
        return f"{self.name_zh} {self.name_en}"


@cache
def methodologies() -> dict[str, Methodology]:
    """The shipped project methodologies (``methodologies.toml``) by id."""
    data = tomllib.loads((_DATA / "methodologies.toml").read_text(encoding="utf-8"))
    out: dict[str, Methodology] = {}
    for key, table in data.items():
        kind = str(table.get("kind", "generic"))
        if kind not in ("generic", "grid_displacement"):
            raise RuleError(f"methodology {key}: unknown kind {kind!r}")
        out[key] = Methodology(
            id=key,
            name_zh=str(table.get("name_zh", key)),
            name_en=str(table.get("name_en", key)),
            kind=kind,
            inputs=tuple(str(i) for i in table.get("inputs", ())),
            grid_factor=str(table.get("grid_factor", "")),
            source=str(table.get("source", "")),
        )
    return out


def methodology(methodology_id: str) -> Methodology:
    """A shipped methodology by id.

    Raises
    ------
    RuleError
        Naming the known ids.
    """
    known = methodologies()
    if methodology_id not in known:
        raise RuleError(
            f"unknown methodology {methodology_id!r}; known: {', '.join(sorted(known))}"
        )
    return known[methodology_id]
