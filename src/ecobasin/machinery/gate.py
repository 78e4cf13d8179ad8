"""The gate check of a construction site (进出场核验, nonroad brief A6): a machine's code scanned at
the gate (环保编码 / QR) → admit, or refuse with every reason, by the same rules as C1–C8 (A9).

:func:`gate_decision` is pure: it takes the machine found under the code (or None), the site's
position and city, the zones, the warning level of the city, the machine's last smoke test and
its terminal's last ping, and answers a :class:`GateDecision` whose reasons carry a stable code
and a bilingual text for the gate's screen.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ecobasin.machinery.rules import WARNING_LEVELS, Machine
from ecobasin.machinery.stages import STAGE_LABELS, meets
from ecobasin.machinery.tables import MachineryRules
from ecobasin.machinery.zones import Zone, zones_at

__all__ = ["GATE_REASONS", "GateDecision", "GateReason", "LastTest", "gate_decision"]

#: reason codes of a refusal, with the check of A9 each follows
GATE_REASONS = {
    "unregistered": "C1",
    "stage_below_zone": "C6",
    "failed_spot_check": "C5",
    "warning_stage": "C6",
    "terminal_offline": "C8",
}


@dataclass(frozen=True)
class GateReason:
    """Why a machine is refused: a stable ``code`` (:data:`GATE_REASONS`) and the words."""

    code: str
    text_zh: str
    text_en: str


@dataclass(frozen=True)
class LastTest:
    """The machine's last smoke test (pass or fail) and whether a passing follow-up closed it."""

    inspection_id: int
    at: datetime
    result: str  # pass, fail
    open_violation: bool


@dataclass(frozen=True)
class GateDecision:
    """Admit (no reasons) or refuse with every reason found."""

    admit: bool
    reasons: list[GateReason] = field(default_factory=list)
    zone_ids: list[str] = field(default_factory=list)


def _exempt(machine: Machine, zone: Zone) -> bool:
    return machine.fuel in zone.rule.exempt_fuel or machine.machine_type in zone.rule.exempt_types


def gate_decision(
    machine: Machine | None,
    code: str,
    site: tuple[float, float],
    at: datetime,
    zones: list[Zone],
    warning: str | None,
    last_test: LastTest | None,
    last_ping: datetime | None,
    rules: MachineryRules,
) -> GateDecision:
    """Decide the gate of a site at (lon [°E], lat [°N]) at ``at`` for the machine under
    ``code`` (None: no active registration in any city, A7 mutual recognition)."""
    lon, lat = site
    if machine is None:
        return GateDecision(False, [GateReason(
            "unregistered", f"编码 {code} 未在八市任何城市登记（或已注销、停用）",
            f"code {code} has no active registration in any city of the region")])  # fmt: skip
    reasons: list[GateReason] = []
    inside = [z for z in zones_at(zones, lon, lat, at) if not _exempt(machine, z)]
    stage_zh, stage = _words(machine.stage)
    for zone in inside:
        if not meets(machine.stage, zone.rule.min_stage, rules):
            need_zh, need = _words(zone.rule.min_stage)
            reasons.append(GateReason(
                "stage_below_zone", f"{stage_zh}低于禁用区“{zone.name}”要求的{need_zh}",
                f"{stage} is below {need}, the minimum of no-use zone {zone.name}"))  # fmt: skip
    if last_test is not None and last_test.result == "fail" and last_test.open_violation:
        reasons.append(GateReason(
            "failed_spot_check",
            f"最近一次监督抽测（{last_test.at:%Y-%m-%d}，第{last_test.inspection_id}号）不合格，尚未复查合格",
            f"the last spot check ({last_test.at:%Y-%m-%d}, no. {last_test.inspection_id}) failed "
            "and no passing follow-up closed it"))  # fmt: skip
    threshold = WARNING_LEVELS.index(rules.emergency_from_level)
    if (
        warning is not None
        and WARNING_LEVELS.index(warning) >= threshold
        and not meets(machine.stage, rules.emergency_min_stage, rules)
    ):
        reasons.append(GateReason(
            "warning_stage", f"重污染{_LEVEL_ZH[warning]}预警期间，{stage_zh}停止使用",
            f"{stage} stops during the {warning} heavy-pollution warning"))  # fmt: skip
    for zone in inside:
        if not zone.rule.require_terminal_online:
            continue
        silence = timedelta(hours=zone.rule.terminal_max_silence_h)
        if last_ping is None or at - last_ping > silence:
            since = f"{last_ping:%Y-%m-%d %H:%M}" if last_ping else "never 从未"
            reasons.append(GateReason(
                "terminal_offline", f"禁用区“{zone.name}”要求定位终端在线，终端最后上报 {since}",
                f"zone {zone.name} needs the terminal online; its last report: {since}"))  # fmt: skip
    return GateDecision(not reasons, reasons, [z.zone_id for z in inside])


def _words(stage: str) -> tuple[str, str]:
    """The Chinese and the English name of a stage (国二, China II)."""
    zh, _, en = STAGE_LABELS[stage].partition(" ")
    return zh, en


_LEVEL_ZH = {"blue": "蓝色", "yellow": "黄色", "orange": "橙色", "red": "红色"}
