"""Cross-boundary water ecological compensation (跨界断面水环境生态补偿), agreement-driven.

Every amount comes from a versioned agreement file (``compensation_default.toml`` by default);
every result names the agreement (id and version), its inputs and the limits used.

Default rule set (brief §4; Sichuan 2011 deduction system and 2016 三江 scheme structure), per
period and cross-boundary outflow section with target class T:

1. ``m_f = max(0, (C_f − S_f)/S_f)`` for the factors f (CODMn, NH3-N, TP), S_f = Class-T limit;
2. any ``m_f > 0``: the upstream city pays the downstream one ``D = Σ m_f·B_f`` (method
   ``"multiple"``) or ``D = Σ max(0, C_f − S_f)·V·10⁻³·P_f`` (method ``"flow"``, V [m³]);
3. all factors meet T and the section class is better than T by k ≥ 1: award ``A·k``.

References
----------
.. [1] 四川省跨界断面水质超标资金扣缴制度 (2011): deduction = exceedance multiple × base.
.. [2] 四川省“三江”流域水环境生态补偿办法 (2016): 生态赔偿金 / 生态改善金, flow counted.
.. [3] GB 3838-2002 Table 1 (limits of the target class).
"""

from __future__ import annotations

import calendar
import functools
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ecobasin.standards.water_class import classify, lake_mask
from ecobasin.standards.water_tables import (
    class_label,
    class_number,
    item_limits,
    load_water_text,
)

__all__ = [
    "Agreement",
    "agreement",
    "compensate",
    "fund_split",
    "load_agreement",
    "settlement",
    "xinan_index",
]


@dataclass(frozen=True)
class Agreement:
    """A compensation agreement (rule set) read from TOML.

    Attributes
    ----------
    id, version : str
        Rule-set id and version recorded in every result.
    method : str
        ``"multiple"`` or ``"flow"``.
    factors : tuple of str
    deduction_base : dict of str to float
        B_f [CNY per unit exceedance multiple].
    flow_price : dict of str to float
        P_f [CNY/kg].
    award_per_class : float
        A [CNY per class better than target].
    award_payer : str
        ``"downstream"`` or ``"fund"``.
    verified : bool
    raw : dict
        The whole file.
    """

    id: str
    version: str
    method: str
    factors: tuple[str, ...]
    deduction_base: dict[str, float]
    flow_price: dict[str, float]
    award_per_class: float
    award_payer: str
    verified: bool
    raw: dict[str, Any] = field(repr=False)

    @property
    def label(self) -> str:
        """``id@version``."""
        return f"{self.id}@{self.version}"


def load_agreement(source: str | Path | Mapping[str, Any]) -> Agreement:
    """Parse an agreement from TOML text, a TOML file or a mapping.

    Raises
    ------
    ValueError
        A missing key or an unknown method, naming it.
    """
    if isinstance(source, Mapping):
        data = dict(source)
    elif isinstance(source, Path):
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    else:
        data = tomllib.loads(source)
    try:
        method = str(data["method"])
        factors = tuple(str(f) for f in data["factors"])
        base = {k: float(v) for k, v in data.get("deduction_base_cny", {}).items()}
        price = {k: float(v) for k, v in data.get("flow_price_cny_per_kg", {}).items()}
        award = data.get("award", {})
        out = Agreement(
            id=str(data["id"]),
            version=str(data["version"]),
            method=method,
            factors=factors,
            deduction_base=base,
            flow_price=price,
            award_per_class=float(award.get("per_class_cny", 0)),
            award_payer=str(award.get("payer", "downstream")),
            verified=bool(data.get("verified", False)),
            raw=data,
        )
    except KeyError as exc:
        raise ValueError(f"compensation agreement: missing key {exc}") from None
    if method not in ("multiple", "flow"):
        raise ValueError(f"agreement {out.label}: unknown method {method!r} (multiple, flow)")
    table = base if method == "multiple" else price
    lacking = [f for f in factors if f not in table]
    if lacking:
        raise ValueError(f"agreement {out.label}: no {method} amount for {', '.join(lacking)}")
    return out


@functools.cache
def agreement(name: str = "default") -> Agreement:
    """A packaged agreement, ``compensation_<name>.toml``."""
    return load_agreement(load_water_text(f"compensation_{name}.toml"))


def _period_seconds(period: str) -> float:
    """Seconds in a ``YYYY-MM`` month or a ``YYYY`` year."""
    if len(period) == 7:
        year, month = int(period[:4]), int(period[5:7])
        return calendar.monthrange(year, month)[1] * 86400.0
    year = int(period[:4])
    return (366.0 if calendar.isleap(year) else 365.0) * 86400.0


def compensate(sections: pd.DataFrame, agreement_: Agreement | None = None) -> pd.DataFrame:
    """Compensation of every (section, period) row, vectorised.

    Parameters
    ----------
    sections : pandas.DataFrame
        Columns ``section_id``, ``period`` (``YYYY-MM``), ``upstream``, ``downstream`` (cities),
        ``target_class`` (1..5 or ``"III"``), optional ``water_body``, the factor columns
        [mg/L] (period means), optionally the other evaluated items (for the award's section
        class), and for method ``"flow"`` either ``volume_m3`` [m³] or ``flow_m3_s`` [m³/s]
        (mean over the period).
    agreement_ : Agreement, optional
        Default: :func:`agreement` ``("default")``.

    Returns
    -------
    pandas.DataFrame
        The input keys, per factor ``<f>_limit`` and ``<f>_multiple``, ``section_class``,
        ``classes_better``, ``deduction_cny``, ``award_cny``, ``payer``, ``payee``,
        ``amount_cny`` (≥ 0), ``rule_set``, ``rule_set_version``, ``method``.

    References
    ----------
    .. [1] Sichuan 2011 deduction system; 2016 三江 scheme (module docstring).
    """
    ag = agreement("default") if agreement_ is None else agreement_
    need = {"section_id", "period", "upstream", "downstream", "target_class", *ag.factors}
    missing = need - set(sections.columns)
    if missing:
        raise ValueError(f"compensation: missing columns {sorted(missing)}")
    n = len(sections)
    wb: Any = sections["water_body"] if "water_body" in sections.columns else "river"
    lake = lake_mask(wb, n)
    target = np.array([class_number(t) for t in sections["target_class"]], dtype=np.int64)
    if ((target < 1) | (target > 5)).any():
        raise ValueError("compensation: target_class must be Class I–V")
    out = sections[["section_id", "period", "upstream", "downstream"]].copy()
    out["target_class"] = [class_label(int(t)) for t in target]
    deduction = np.zeros(n)
    all_meet = np.ones(n, dtype=bool)
    volume = _volumes(sections) if ag.method == "flow" else None
    for f in ag.factors:
        limits = np.array(
            [
                item_limits("lake" if lk else "river")[f].limit(int(t))
                for lk, t in zip(lake, target, strict=True)
            ]
        )
        c = pd.to_numeric(sections[f], errors="coerce").to_numpy(dtype=np.float64)
        if np.isnan(c).any():
            bad = sections.loc[np.isnan(c), "section_id"].tolist()
            raise ValueError(f"compensation: no {f} value for sections {bad}")
        excess = np.maximum(0.0, c - limits)
        mult = excess / limits
        out[f"{f}_value"] = c
        out[f"{f}_limit"] = limits
        out[f"{f}_multiple"] = mult
        all_meet &= excess == 0
        if ag.method == "multiple":
            deduction += mult * ag.deduction_base[f]
        else:
            assert volume is not None
            deduction += excess * volume * 1e-3 * ag.flow_price[f]
    section_cls = classify(sections.drop(columns=["target_class"]), wb)["class_num"].to_numpy()
    better = np.where(all_meet & (section_cls > 0), np.maximum(0, target - section_cls), 0)
    award = better * ag.award_per_class
    out["section_class"] = [class_label(int(c)) if c else None for c in section_cls]
    out["classes_better"] = better
    out["deduction_cny"] = deduction
    out["award_cny"] = award.astype(float)
    pays = deduction > 0
    award_payer = np.where(ag.award_payer == "fund", "fund", out["downstream"].astype(str))
    out["payer"] = np.where(pays, out["upstream"].astype(str), award_payer)
    out["payee"] = np.where(pays, out["downstream"].astype(str), out["upstream"].astype(str))
    out["amount_cny"] = np.where(pays, deduction, award)
    out.loc[out["amount_cny"] == 0, ["payer", "payee"]] = None
    out["rule_set"] = ag.id
    out["rule_set_version"] = ag.version
    out["method"] = ag.method
    return out


def _volumes(sections: pd.DataFrame) -> np.ndarray[Any, np.dtype[np.float64]]:
    if "volume_m3" in sections.columns:
        return pd.to_numeric(sections["volume_m3"], errors="coerce").to_numpy(dtype=np.float64)
    if "flow_m3_s" in sections.columns:
        q = pd.to_numeric(sections["flow_m3_s"], errors="coerce").to_numpy(dtype=np.float64)
        secs = np.array([_period_seconds(str(p)) for p in sections["period"]])
        return np.asarray(q * secs, dtype=np.float64)
    raise ValueError("compensation method 'flow' needs volume_m3 or flow_m3_s")


def settlement(results: pd.DataFrame, freq: str = "month") -> pd.DataFrame:
    """Settlement table between cities: gross flows netted per pair of cities and period.

    Parameters
    ----------
    results : pandas.DataFrame
        Output of :func:`compensate`.
    freq : {"month", "year"}

    Returns
    -------
    pandas.DataFrame
        ``period``, ``payer``, ``payee``, ``amount_cny`` (net, > 0), ``gross_payer_to_payee``,
        ``gross_payee_to_payer``, ``n_sections``, ``rule_set``, ``rule_set_version``.
    """
    if freq not in ("month", "year"):
        raise ValueError(f"freq must be 'month' or 'year', got {freq!r}")
    paid = results[results["amount_cny"] > 0].copy()
    cols = [
        "period",
        "payer",
        "payee",
        "amount_cny",
        "gross_payer_to_payee",
        "gross_payee_to_payer",
        "n_sections",
        "rule_set",
        "rule_set_version",
    ]
    if paid.empty:
        return pd.DataFrame(columns=cols)
    if freq == "year":
        paid["period"] = paid["period"].astype(str).str.slice(0, 4)
    a = paid["payer"].astype(str).to_numpy()
    b = paid["payee"].astype(str).to_numpy()
    first = np.where(a <= b, a, b)
    second = np.where(a <= b, b, a)
    sign = np.where(a == first, 1.0, -1.0)
    paid = paid.assign(
        c1=first,
        c2=second,
        fwd=np.where(sign > 0, paid["amount_cny"], 0.0),
        back=np.where(sign < 0, paid["amount_cny"], 0.0),
    )
    keys = ["period", "c1", "c2", "rule_set", "rule_set_version"]
    g = (
        paid.groupby(keys, sort=True)
        .agg(fwd=("fwd", "sum"), back=("back", "sum"), n_sections=("section_id", "nunique"))
        .reset_index()
    )
    net = g["fwd"] - g["back"]
    out = pd.DataFrame(
        {
            "period": g["period"],
            "payer": np.where(net >= 0, g["c1"], g["c2"]),
            "payee": np.where(net >= 0, g["c2"], g["c1"]),
            "amount_cny": net.abs(),
            "gross_payer_to_payee": np.where(net >= 0, g["fwd"], g["back"]),
            "gross_payee_to_payer": np.where(net >= 0, g["back"], g["fwd"]),
            "n_sections": g["n_sections"],
            "rule_set": g["rule_set"],
            "rule_set_version": g["rule_set_version"],
        }
    )
    return out[cols].reset_index(drop=True)


def fund_split(
    total: float, contributions: Mapping[str, float], allocations: Mapping[str, float]
) -> dict[str, dict[str, float]]:
    """Joint-fund settlement by agreed ratios (Chishui pattern: contributions 1:5:4,
    allocations 3:4:3).

    Returns
    -------
    dict
        ``{"contribution": {party: CNY}, "allocation": {party: CNY}, "net": {party: CNY}}``
        (net > 0 = receives).
    """

    def share(ratios: Mapping[str, float]) -> dict[str, float]:
        s = float(sum(ratios.values()))
        if s <= 0:
            raise ValueError("fund ratios must sum to a positive number")
        return {k: total * float(v) / s for k, v in ratios.items()}

    con, alloc = share(contributions), share(allocations)
    parties = sorted(set(con) | set(alloc))
    net = {p: alloc.get(p, 0.0) - con.get(p, 0.0) for p in parties}
    return {"contribution": con, "allocation": alloc, "net": net}


def xinan_index(
    ratios: Sequence[float], weights: Sequence[float] | None = None, k0: float = 0.85
) -> dict[str, Any]:
    """Xin'an river pilot index ``P = k0·Σ k_i·C_i/C_i0`` (P ≤ 1: downstream pays) [mem].

    Parameters
    ----------
    ratios : sequence of float
        ``C_i/C_i0`` for CODMn, NH3-N, TN, TP against the baseline.
    weights : sequence of float, optional
        Default 0.25 each.
    k0 : float, default 0.85
    """
    w = [1.0 / len(ratios)] * len(ratios) if weights is None else list(weights)
    if len(w) != len(ratios):
        raise ValueError("one weight per ratio")
    p = k0 * sum(wi * ri for wi, ri in zip(w, ratios, strict=True))
    return {"P": p, "payer": "downstream" if p <= 1 else "upstream"}
