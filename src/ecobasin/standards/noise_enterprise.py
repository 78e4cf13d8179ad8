"""Enterprise boundary noise (工业企业厂界环境噪声), GB 12348-2008 (issue 23; noise brief §2.2, §4.4).

The limits are versioned data (``catalog/data/noise/limits.toml``: the ``[[boundary]]`` row of
GB 12348-2008, Table 1 by the class of the functional zone the boundary lies in, classes 0-4 with
4a and 4b as class 4; ``[enterprise_site]`` says which sites it applies to). A noise site whose
attribute ``boundary`` is ``enterprise`` or whose ``purpose`` is ``厂界`` is judged by GB 12348
instead of the GB 3096-2008 class of its zone: night sudden-noise maxima ≤ night limit + 10 dB(A)
when frequent, + 15 dB(A) when occasional (§4.1.2-4.1.3; the site attribute
``night_sudden_noise``, default the stricter ``frequent``). The same shape as
:mod:`ecobasin.standards.noise_construction` (GB 12523-2011).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from ecobasin.standards.noise import BoundaryResult, boundary_noise
from ecobasin.standards.noise_construction import BoundaryDay, judge_boundary_day
from ecobasin.standards.noise_tables import load_noise_text, noise_rules

__all__ = [
    "enterprise_class",
    "enterprise_day",
    "enterprise_limits",
    "enterprise_sudden_noise",
    "enterprise_verdict",
    "is_enterprise_site",
]


@cache
def _section() -> dict[str, Any]:
    return dict(tomllib.loads(load_noise_text("limits.toml"))["enterprise_site"])


def is_enterprise_site(attributes: Mapping[str, Any]) -> bool:
    """Whether a noise site's attributes mark an enterprise boundary (厂界, GB 12348).

    >>> is_enterprise_site({"purpose": "厂界"}), is_enterprise_site({"boundary": "construction"})
    (True, False)
    """
    section = _section()
    marked = str(attributes.get(section["site_attribute"], "")) == str(section["site_value"])
    return marked or str(attributes.get("purpose", "")).strip() == str(section["purpose_value"])


def enterprise_class(zone_class: str | int | None) -> str | None:
    """The GB 12348-2008 Table 1 class of a GB 3096 zone class (4a, 4b → 4; None: unzoned).

    >>> enterprise_class("4b"), enterprise_class("2类"), enterprise_class(None)
    ('4', '2', None)
    """
    cls = str(zone_class or "").strip().lower().removesuffix("类")
    cls = "4" if cls.startswith("4") else cls
    return cls if cls in noise_rules().boundary[_standard()].night else None


def enterprise_sudden_noise(attributes: Mapping[str, Any]) -> str:
    """``frequent`` or ``occasional`` night sudden noise of the site (GB 12348-2008 §4.1.2-4.1.3)."""
    section = _section()
    value = str(attributes.get(section["sudden_attribute"]) or section["default_sudden"])
    return "occasional" if value.strip().lower() == "occasional" else "frequent"


def _standard() -> str:
    return str(_section()["standard"])


def enterprise_limits(zone_class: str, sudden: str = "frequent") -> tuple[str, float, float, float]:
    """(standard, day limit, night limit, night Lmax limit) [dB(A)] of GB 12348-2008.

    >>> enterprise_limits("4a"), enterprise_limits("2", "occasional")
    (('GB 12348-2008', 70.0, 55.0, 65.0), ('GB 12348-2008', 60.0, 50.0, 65.0))
    """
    cls = enterprise_class(zone_class)
    if cls is None:
        raise ValueError(f"GB 12348-2008 has no class {zone_class!r} (0, 1, 2, 3, 4a, 4b)")
    std = noise_rules().boundary[_standard()]
    margin = std.lmax_margin_occasional if sudden == "occasional" else std.lmax_margin_frequent
    return std.standard, std.day[cls], std.night[cls], std.night[cls] + margin


def enterprise_verdict(
    zone_class: str,
    period: str,
    leq: float,
    night_lmax: float | None = None,
    sudden: str = "frequent",
    background: float | None = None,
) -> BoundaryResult:
    """One GB 12348-2008 measurement (Leq over the period measured [dB(A)], day or night).

    >>> r = enterprise_verdict("4b", "night", 54.6, night_lmax=65.4)
    >>> r.status, r.passed, r.limit, r.lmax_limit, r.lmax_pass
    ('background_skipped', True, 55.0, 65.0, False)
    """
    cls = enterprise_class(zone_class) or str(zone_class)
    return boundary_noise(_standard(), cls, period, leq, background, night_lmax, sudden)


def enterprise_day(
    zone_class: str,
    labels: Sequence[int | str],
    leq: Sequence[float | None],
    lmx: Sequence[float | None] | None = None,
    sudden: str = "frequent",
) -> BoundaryDay:
    """Judge every valid hourly Leq (and night LMx) of one station-day against GB 12348-2008.

    >>> d = enterprise_day("2", [10, 23, 2], [60.2, 50.0, 49.0], [80.0, 61.0, 60.0])
    >>> d.standard, d.day_over, d.night_over, d.lmax_over, d.night_pass
    ('GB 12348-2008', (10,), (), (23,), False)
    """

    def verdict(period: str, level: float, peak: float | None) -> BoundaryResult:
        return enterprise_verdict(zone_class, period, level, peak, sudden)

    return judge_boundary_day(_standard(), labels, leq, lmx, verdict)
