"""Emission stages of non-road machinery (nonroad brief A2).

``G0`` (pre-国一 or unknown) < ``G1`` < ``G2`` < ``G3`` < ``G4``; ``ELEC`` passes every stage rule;
``OTHER_FUEL`` (petrol and gas, GB 26133) counts as G0 for stage rules. Only the declared or the
verified stage decides an enforcement rule; the stage inferred from the manufacture date only
raises a review flag.
"""

from __future__ import annotations

from datetime import date

from ecobasin.machinery.tables import MachineryRules, machinery_rules

__all__ = ["STAGES", "STAGE_LABELS", "effective_stage", "inferred_stage", "meets", "parse_stage"]

STAGES = ("G0", "G1", "G2", "G3", "G4", "ELEC", "OTHER_FUEL")
STAGE_LABELS = {
    "G0": "国一前/未知 pre-China I or unknown",
    "G1": "国一 China I",
    "G2": "国二 China II",
    "G3": "国三 China III",
    "G4": "国四 China IV",
    "ELEC": "电动 electric",
    "OTHER_FUEL": "其他燃料 other fuel",
}
_WORDS = {
    "国一": "G1", "国二": "G2", "国三": "G3", "国四": "G4", "国I": "G1", "国II": "G2",
    "国III": "G3", "国IV": "G4", "国Ⅰ": "G1", "国Ⅱ": "G2", "国Ⅲ": "G3", "国Ⅳ": "G4",
    "CHINA I": "G1", "CHINA II": "G2", "CHINA III": "G3", "CHINA IV": "G4", "电动": "ELEC",
    "ELECTRIC": "ELEC", "UNKNOWN": "G0", "未知": "G0", "国一前": "G0", "": "G0",
}  # fmt: skip


def parse_stage(text: str | None) -> str:
    """A stage code from ``G3``, ``国三``, ``国Ⅲ`` or ``China III``; blank means G0.

    Raises
    ------
    ValueError
        On anything else, naming the value.

    >>> parse_stage("国Ⅲ"), parse_stage(None), parse_stage("g4")
    ('G3', 'G0', 'G4')
    """
    word = (text or "").strip().upper()
    if word in STAGES:
        return word
    if word in _WORDS:
        return _WORDS[word]
    raise ValueError(f"unknown emission stage {text!r}; expected one of {', '.join(STAGES)}")


def effective_stage(declared: str | None, verified: str | None) -> str:
    """The stage enforcement uses: verified, else declared, else G0 (brief A9 C6)."""
    return verified or declared or "G0"


def meets(stage: str, min_stage: str, rules: MachineryRules | None = None) -> bool:
    """Whether ``stage`` satisfies ``min_stage``: ELEC always; OTHER_FUEL as G0.

    >>> meets("G2", "G3"), meets("G3", "G3"), meets("ELEC", "G4"), meets("G0", "G1")
    (False, True, True, False)
    """
    if stage == "ELEC":
        return True
    order = (rules or machinery_rules()).stage_order
    rank = order.index(stage) if stage in order else 0
    return rank >= order.index(min_stage)


def inferred_stage(manufactured: date | None, rules: MachineryRules | None = None) -> str | None:
    """The stage the manufacture date suggests (review flag only), or None without a date."""
    if manufactured is None:
        return None
    stage = None
    for start, name in (rules or machinery_rules()).inferred_stages:
        if manufactured >= start:
            stage = name
    return stage
