"""Environmental noise level arithmetic and assessment (pure functions, numpy, no I/O).

Levels are A-weighted sound levels [dB(A)]. Means of levels are *energy* means (Leq), except the
HJ 640-2012 regional and traffic city values, which are arithmetic means of point Leq. Reported
levels are rounded to 0.1 dB and emission values to whole dB (GB/T 8170, half-even); verdicts and
grades are taken on the rounded values. Limits, grades and rule parameters come from the
versioned data in ``catalog/data/noise`` (:func:`ecobasin.standards.noise_tables.noise_rules`).

References
----------
.. [1] GB 3096-2008 声环境质量标准, §3.1-3.2 (day/night), §5 Table 1 (limits), §5.4 (night Lmax).
.. [2] HJ 640-2012 环境噪声监测技术规范 城市声环境常规监测, §4-6 (regional, traffic,
   functional-zone monitoring and grades).
.. [3] HJ 906-2017 功能区声环境质量自动监测技术规范 (valid data rate).
.. [4] GB 12348-2008, GB 22337-2008, GB 12523-2011 (boundary limits); HJ 706-2014 §5.3-5.4,
   §6.1 (background correction, whole-decibel results, background skipped when compliant).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from ecobasin.standards.noise_tables import Grade, noise_rules
from ecobasin.standards.rounding import round_gbt8170

__all__ = [
    "BoundaryResult",
    "DayNight",
    "PeriodLeq",
    "SurveyResult",
    "ZoneVerdict",
    "boundary_noise",
    "compliance_rate",
    "day_night_from_hourly",
    "grade_of",
    "hour_label",
    "is_day_label",
    "lden",
    "ldn",
    "leq",
    "leq_valid",
    "percentile_level",
    "percentile_levels",
    "regional_result",
    "round_db",
    "traffic_result",
    "zone_compliance",
]

F64 = npt.NDArray[np.float64]


def round_db(value: float, decimals: int = 1) -> float:
    """A level rounded per GB/T 8170 (half-even) to ``decimals`` places [dB].

    >>> round_db(65.25), round_db(65.35), round_db(52.5, 0)
    (65.2, 65.4, 52.0)
    """
    return float(round_gbt8170(float(value), decimals))


def _energy(levels: F64) -> F64:
    return np.power(10.0, 0.1 * levels)


def leq(levels: npt.ArrayLike, durations: npt.ArrayLike | None = None) -> float:
    """Energy-equivalent level Leq = 10 lg[Σ tᵢ 10^(0.1 Lᵢ) / Σ tᵢ] [dB(A)] (HJ 640-2012 §3).

    ``durations`` [s] weight the readings (equal weights when omitted). NaN readings are
    skipped; with no valid reading the result is NaN. Not rounded.

    >>> round(leq([60.0, 80.0]), 2)
    77.03
    >>> leq([55.0, 55.0, 55.0])
    55.0
    """
    lv = np.asarray(levels, dtype=np.float64).reshape(-1)
    w = (
        np.ones_like(lv)
        if durations is None
        else np.asarray(durations, dtype=np.float64).reshape(-1)
    )
    if w.shape != lv.shape:
        raise ValueError(f"{lv.size} levels but {w.size} durations")
    if np.any(w < 0):
        raise ValueError("durations must be ≥ 0 [s]")
    ok = np.isfinite(lv) & (w > 0)
    if not ok.any():
        return math.nan
    peak = float(lv[ok].max())  # factor out the largest level: no overflow, no lost digits
    mean = float(np.sum(w[ok] * _energy(lv[ok] - peak)) / np.sum(w[ok]))
    return peak + 10.0 * math.log10(mean)


@dataclass(frozen=True)
class PeriodLeq:
    """Leq of a period with its validity (HJ 906-2017 valid data rate VDR = n/N).

    ``leq`` is None when the period is invalid (VDR below ``min_vdr``): never a partial value.
    ``lmax``/``lmin`` are the extreme valid readings (or reported sub-period maxima) [dB(A)].
    """

    leq: float | None
    n_valid: int
    n_expected: int
    vdr: float
    valid: bool
    lmax: float | None
    lmin: float | None


def leq_valid(
    levels: Sequence[float | None] | npt.ArrayLike,
    n_expected: int | None = None,
    min_vdr: float | None = None,
    durations: npt.ArrayLike | None = None,
) -> PeriodLeq:
    """Leq over the valid readings of a period, valid iff n_valid / n_expected ≥ ``min_vdr``.

    Missing or flagged readings are None/NaN. ``n_expected`` defaults to the number of slots,
    ``min_vdr`` to the HJ 906-2017 parameter of the rule data (0.75, to verify).

    >>> p = leq_valid([50.0] * 44 + [None] * 16, n_expected=60)
    >>> p.valid, p.n_valid, round(p.vdr, 4), p.leq
    (False, 44, 0.7333, None)
    >>> leq_valid([50.0] * 45 + [None] * 15).leq
    50.0
    """
    lv = np.array([math.nan if v is None else v for v in np.asarray(levels, dtype=object).ravel()])
    lv = lv.astype(np.float64)
    expected = lv.size if n_expected is None else int(n_expected)
    threshold = noise_rules().min_vdr if min_vdr is None else float(min_vdr)
    n_valid = int(np.isfinite(lv).sum())
    vdr = n_valid / expected if expected > 0 else 0.0
    valid = n_valid > 0 and vdr >= threshold
    finite = lv[np.isfinite(lv)]
    return PeriodLeq(
        leq=leq(lv, durations) if valid else None,
        n_valid=n_valid,
        n_expected=expected,
        vdr=vdr,
        valid=valid,
        lmax=float(finite.max()) if finite.size else None,
        lmin=float(finite.min()) if finite.size else None,
    )


def percentile_level(samples: npt.ArrayLike, exceeded_pct: float) -> float:
    """L_N, the level exceeded N % of the time, by the HJ 640-2012 rank rule [dB(A)].

    Readings are sorted in descending order and L_N is the reading at rank ⌈N·n/100⌉ (200
    readings: L10 = 20th, L50 = 100th, L90 = 180th), not an interpolated quantile.

    >>> percentile_level(list(range(1, 201)), 10)
    181.0
    """
    x = np.asarray(samples, dtype=np.float64).reshape(-1)
    x = x[np.isfinite(x)]
    if x.size == 0:
        raise ValueError("no valid readings")
    if not 0 < exceeded_pct < 100:
        raise ValueError(f"N must be in (0, 100), got {exceeded_pct}")
    desc = np.sort(x)[::-1]
    rank = max(1, math.ceil(round(exceeded_pct * x.size / 100.0, 9)))
    return float(desc[rank - 1])


def percentile_levels(
    samples: npt.ArrayLike, percents: Iterable[float] = (10, 50, 90)
) -> dict[str, float]:
    """L_N for each N, plus Lmax, Lmin, Leq and SD (n − 1) of the readings [dB(A)], unrounded.

    >>> r = percentile_levels([50.0, 60.0, 70.0, 80.0, 90.0] * 2)
    >>> r["L10"], r["L50"], r["L90"], r["Lmax"]
    (90.0, 70.0, 50.0, 90.0)
    """
    x = np.asarray(samples, dtype=np.float64).reshape(-1)
    x = x[np.isfinite(x)]
    out = {f"L{int(p) if float(p).is_integer() else p}": percentile_level(x, p) for p in percents}
    out["Lmax"] = float(x.max())
    out["Lmin"] = float(x.min())
    out["Leq"] = leq(x)
    out["SD"] = float(np.std(x, ddof=1)) if x.size > 1 else 0.0
    return out


def ldn(
    ld: float, ln: float, day_hours: float = 16, night_hours: float = 8, penalty: float = 10
) -> float:
    """Day-night level Ldn = 10 lg{[16·10^(0.1Ld) + 8·10^(0.1(Ln+10))]/24} [dB(A)] (HJ 212 code Ldn).

    China's day is 16 h and night 8 h (GB 3096-2008 §3.1-3.2); hours and penalty are parameters.

    >>> round_db(ldn(62.3, 53.1))
    62.6
    """
    return lden([ld, ln], [day_hours, night_hours], [0.0, penalty])


def lden(levels: Sequence[float], hours: Sequence[float], penalties: Sequence[float]) -> float:
    """Lden = 10 lg{Σ hᵢ 10^(0.1(Lᵢ+Pᵢ)) / Σ hᵢ} over day/evening/night parts [dB(A)].

    Not a Chinese statutory index (ISO 1996-1 style, for comparison); hours and penalties [dB]
    are parameters.

    >>> round_db(lden([63.0, 58.0, 52.0], [12, 4, 8], [0, 5, 10]))
    62.7
    """
    if not len(levels) == len(hours) == len(penalties):
        raise ValueError("levels, hours and penalties differ in length")
    lv = np.asarray(levels, dtype=np.float64) + np.asarray(penalties, dtype=np.float64)
    return leq(lv, np.asarray(hours, dtype=np.float64))


def hour_label(text: str | int) -> int:
    """An hour-ending label as an integer 1..24 ("24:00" and "00:00" both end the day).

    >>> hour_label("06:00"), hour_label("24:00"), hour_label("00:00"), hour_label(7)
    (6, 24, 24, 7)
    """
    if isinstance(text, int):
        h = text
    else:
        head = str(text).strip().split(":")[0]
        h = int(head)
    if h == 0:
        h = 24
    if not 1 <= h <= 24:
        raise ValueError(f"hour label {text!r} is not 01:00..24:00")
    return h


def is_day_label(
    label: str | int, day_start: int | None = None, day_end: int | None = None
) -> bool:
    """Whether the hour *ending* at ``label`` lies in the day window (GB 3096-2008 §3.1).

    With the default 06:00-22:00 day, the day hours are labelled 07:00 … 22:00 (16 labels) and
    the night hours 23:00, 24:00, 01:00 … 06:00 (8 labels): 06:00 ends a night hour.

    >>> is_day_label("06:00"), is_day_label("07:00"), is_day_label("22:00"), is_day_label("23:00")
    (False, True, True, False)
    """
    rules = noise_rules()
    start = rules.day_start_hour if day_start is None else day_start
    end = rules.day_end_hour if day_end is None else day_end
    return start < hour_label(label) <= end


@dataclass(frozen=True)
class DayNight:
    """Ld and Ln from hourly Leq (energy means of the valid day and night hours) [dB(A)]."""

    day_labels: list[str]
    night_labels: list[str]
    ld: float | None
    ln: float | None
    n_day: int
    n_night: int
    day_valid: bool
    night_valid: bool


def _fmt(h: int) -> str:
    return f"{h:02d}:00"


def day_night_from_hourly(
    hourly: Mapping[str | int, float | None],
    day_start: int | None = None,
    day_end: int | None = None,
    min_day_hours: int | None = None,
    min_night_hours: int | None = None,
) -> DayNight:
    """Split hour-ending values into day and night and take their energy means (HJ 640-2012 §6).

    Night labels are listed in chronological order of the night ending the day (23:00, 24:00,
    01:00 … 06:00 for the default window). A part is valid when it has at least the minimum
    number of valid hours (HJ 906-2017 parameters, to verify); an invalid part has level None.

    >>> hours = {f"{h:02d}:00": (60.0 if 7 <= h <= 22 else 50.0) for h in range(1, 25)}
    >>> dn = day_night_from_hourly(hours)
    >>> len(dn.day_labels), len(dn.night_labels), dn.ld, dn.ln
    (16, 8, 60.0, 50.0)
    """
    rules = noise_rules()
    start = rules.day_start_hour if day_start is None else day_start
    end = rules.day_end_hour if day_end is None else day_end
    values = {hour_label(k): v for k, v in hourly.items()}
    day = [h for h in range(1, 25) if start < h <= end]
    night = [h for h in range(end + 1, 25)] + [h for h in range(1, 25) if h <= start]
    day_vals = [values.get(h) for h in day if h in values]
    night_vals = [values.get(h) for h in night if h in values]
    d = leq_valid(day_vals, n_expected=len(day), min_vdr=0.0)
    n = leq_valid(night_vals, n_expected=len(night), min_vdr=0.0)
    need_d = rules.min_day_hours if min_day_hours is None else min_day_hours
    need_n = rules.min_night_hours if min_night_hours is None else min_night_hours
    d_ok = d.n_valid >= max(need_d, 1)
    n_ok = n.n_valid >= max(need_n, 1)
    return DayNight(
        day_labels=[_fmt(h) for h in day],
        night_labels=[_fmt(h) for h in night],
        ld=d.leq if d_ok else None,
        ln=n.leq if n_ok else None,
        n_day=d.n_valid,
        n_night=n.n_valid,
        day_valid=d_ok,
        night_valid=n_ok,
    )


@dataclass(frozen=True)
class ZoneVerdict:
    """GB 3096-2008 verdicts of one point and day; levels and exceedances at 0.1 dB [dB(A)].

    A verdict is None when its level is missing. ``overall_pass`` requires every present
    verdict to pass.
    """

    zone_class: str
    day_limit: float
    night_limit: float
    night_lmax_limit: float
    ld: float | None
    ln: float | None
    night_lmax: float | None
    day_pass: bool | None
    night_pass: bool | None
    night_lmax_pass: bool | None
    day_exceed: float | None
    night_exceed: float | None
    night_lmax_exceed: float | None
    overall_pass: bool | None
    rule_version: str = field(default="")


def normalise_class(zone_class: str | int) -> str:
    """A GB 3096 class label: "0" … "3", "4a", "4b" (accepts "4A", "2类", 2).

    >>> normalise_class("4A"), normalise_class(2), normalise_class("1类")
    ('4a', '2', '1')
    """
    text = str(zone_class).strip().lower().removesuffix("类").removeprefix("class").strip()
    if text not in noise_rules().zones:
        raise ValueError(f"unknown GB 3096 zone class {zone_class!r} (0, 1, 2, 3, 4a, 4b)")
    return text


def _verdict(value: float | None, limit: float) -> tuple[float | None, bool | None, float | None]:
    if value is None or not math.isfinite(value):
        return None, None, None
    rounded = round_db(value)
    return rounded, rounded <= limit, round_db(max(rounded - limit, 0.0))


def zone_compliance(
    zone_class: str | int,
    ld: float | None,
    ln: float | None,
    night_lmax: float | None = None,
) -> ZoneVerdict:
    """Judge a point against GB 3096-2008 Table 1 and the night-maximum rule (§5.4).

    Each level is rounded to 0.1 dB and passes iff ≤ its limit; night Lmax is judged against
    the night limit + 15 dB(A). Exceedance = rounded value − limit, ≥ 0 [dB].

    >>> v = zone_compliance("2", 58.4, 51.2, 63.0)
    >>> v.day_pass, v.night_pass, v.night_exceed, v.night_lmax_pass, v.overall_pass
    (True, False, 1.2, True, False)
    """
    rules = noise_rules()
    limits = rules.zones[normalise_class(zone_class)]
    lmax_limit = limits.night + rules.night_lmax_margin
    d_val, d_pass, d_exc = _verdict(ld, limits.day)
    n_val, n_pass, n_exc = _verdict(ln, limits.night)
    m_val, m_pass, m_exc = _verdict(night_lmax, lmax_limit)
    present = [p for p in (d_pass, n_pass, m_pass) if p is not None]
    return ZoneVerdict(
        zone_class=limits.zone_class,
        day_limit=limits.day,
        night_limit=limits.night,
        night_lmax_limit=lmax_limit,
        ld=d_val,
        ln=n_val,
        night_lmax=m_val,
        day_pass=d_pass,
        night_pass=n_pass,
        night_lmax_pass=m_pass,
        day_exceed=d_exc,
        night_exceed=n_exc,
        night_lmax_exceed=m_exc,
        overall_pass=all(present) if present else None,
        rule_version=rules.version,
    )


def compliance_rate(compliant: int, monitored: int) -> float | None:
    """Compliance rate = compliant / monitored × 100 [%], 0.1 % (HJ 640-2012 point-times).

    None when nothing was monitored.

    >>> compliance_rate(151, 156), compliance_rate(139, 156), compliance_rate(0, 0)
    (96.8, 89.1, None)
    """
    if compliant < 0 or monitored < 0 or compliant > monitored:
        raise ValueError(f"compliant {compliant} must lie in 0..monitored {monitored}")
    if monitored == 0:
        return None
    return round_db(100.0 * compliant / monitored)


def grade_of(value: float, index: str, period: str) -> Grade:
    """HJ 640-2012 grade of a regional or traffic mean, graded on its 0.1 dB rounded value.

    Upper bounds are inclusive: a day regional mean of 50.04 rounds to 50.0, grade 一级 好.

    >>> grade_of(50.04, "regional", "day").grade_zh, grade_of(50.06, "regional", "day").rating_zh
    ('一级', '较好')
    >>> grade_of(62.0, "traffic", "night").rating_en
    'moderate'
    """
    rules = noise_rules()
    key = (index, period)
    if key not in rules.grade_bounds:
        raise ValueError(f"no HJ 640 grades for index {index!r} period {period!r}")
    rounded = round_db(value)
    for g, upper in zip(rules.grades, rules.grade_bounds[key], strict=False):
        if rounded <= upper:
            return g
    return rules.grades[-1]


@dataclass(frozen=True)
class SurveyResult:
    """A city's HJ 640 survey value: mean [dB(A)] at 0.1 dB, grade, and the distribution.

    ``counts`` (regional: grids per rating) or ``shares_pct`` (traffic: length share per
    rating [%], 0.1 %), keyed by the Chinese rating (好 … 差).
    """

    n: int
    mean: float
    mean_unrounded: float
    grade: Grade
    counts: dict[str, int]
    shares_pct: dict[str, float]
    total_length_km: float | None = None
    length_over_km: float | None = None
    share_over_pct: float | None = None


def _ratings(values: F64, index: str, period: str) -> list[str]:
    return [grade_of(float(v), index, period).rating_zh for v in values]


def regional_result(grid_leq: npt.ArrayLike, period: str = "day") -> SurveyResult:
    """Regional (区域) noise: S = (1/n) Σ Lᵢ, the *arithmetic* mean of valid grid Leq (HJ 640).

    >>> r = regional_result([52.3, 55.8, 57.1, 49.6], "day")
    >>> r.mean, r.grade.grade_zh, r.counts["较好"]
    (53.7, '二级', 1)
    """
    x = np.asarray(grid_leq, dtype=np.float64).reshape(-1)
    x = x[np.isfinite(x)]
    if x.size == 0:
        raise ValueError("no valid grid Leq")
    mean = float(np.mean(x))
    ratings = _ratings(x, "regional", period)
    counts = {g.rating_zh: ratings.count(g.rating_zh) for g in noise_rules().grades}
    shares = {k: round_db(100.0 * v / x.size) for k, v in counts.items()}
    return SurveyResult(
        x.size, round_db(mean), mean, grade_of(mean, "regional", period), counts, shares
    )


def traffic_result(
    leq_values: npt.ArrayLike, lengths_km: npt.ArrayLike, period: str = "day"
) -> SurveyResult:
    """Road traffic (道路交通) noise: L = (1/l) Σ lᵢ Lᵢ, length-weighted (HJ 640-2012).

    Also the road length [km] and share [%] strictly above the bulletin threshold (70.0 dB(A),
    on each segment's 0.1 dB value) and the length share per grade.

    >>> r = traffic_result([71.2, 66.9], [1.0, 3.0])
    >>> r.mean, r.grade.rating_zh, r.share_over_pct
    (68.0, '好', 25.0)
    """
    x = np.asarray(leq_values, dtype=np.float64).reshape(-1)
    w = np.asarray(lengths_km, dtype=np.float64).reshape(-1)
    if x.shape != w.shape:
        raise ValueError(f"{x.size} levels but {w.size} lengths")
    if x.size == 0 or not np.all(np.isfinite(x)) or np.any(~(w > 0)):
        raise ValueError("every segment needs a level and a length > 0 [km]")
    total = float(w.sum())
    mean = float(np.sum(w * x) / total)
    rounded = np.array([round_db(v) for v in x])
    over = float(w[rounded > noise_rules().traffic_over_db].sum())
    ratings = _ratings(x, "traffic", period)
    grades = noise_rules().grades
    lengths = {
        g.rating_zh: float(sum(wi for wi, r in zip(w, ratings, strict=True) if r == g.rating_zh))
        for g in grades
    }
    return SurveyResult(
        n=x.size,
        mean=round_db(mean),
        mean_unrounded=mean,
        grade=grade_of(mean, "traffic", period),
        counts={k: ratings.count(k) for k in lengths},
        shares_pct={k: round_db(100.0 * v / total) for k, v in lengths.items()},
        total_length_km=total,
        length_over_km=over,
        share_over_pct=round_db(100.0 * over / total),
    )


@dataclass(frozen=True)
class BoundaryResult:
    """A boundary (厂界/场界) evaluation per GB 12348 / GB 22337 / GB 12523 and HJ 706.

    ``status`` is "pass", "fail", "background_skipped" (measured ≤ limit, no background:
    compliant, HJ 706-2014 §6.1), "not_evaluable" (difference < 3 dB) or "background_required"
    (measured above the limit and no background measured). Levels [dB(A)]; emission whole dB.
    """

    standard: str
    zone_class: str
    period: str
    limit: float
    status: str
    passed: bool | None
    difference: float | None
    difference_rounded: int | None
    correction: int | None
    emission: int | None
    exceed: int | None
    lmax_limit: float | None
    lmax_pass: bool | None
    rule_version: str


def _standard_key(standard: str) -> str:
    code = "".join(standard.upper().split()).replace("_", "").split("-")[0]
    for key in noise_rules().boundary:
        if "".join(key.upper().split()).split("-")[0] == code:
            return key
    raise ValueError(f"unknown boundary standard {standard!r} (GB 12348, GB 22337, GB 12523)")


def correction_db(difference_rounded: int) -> int | None:
    """HJ 706-2014 Table 1 background correction [dB] for a whole-dB difference (None: < 3 dB).

    >>> correction_db(11), correction_db(7), correction_db(4), correction_db(3), correction_db(2)
    (0, -1, -2, -3, None)
    """
    rules = noise_rules()
    if difference_rounded > rules.no_correction_above:
        return 0
    for low, high, corr in rules.correction_rows:
        if low <= difference_rounded <= high:
            return corr
    return None


def boundary_noise(
    standard: str,
    zone_class: str | int,
    period: str,
    measured: float,
    background: float | None = None,
    night_lmax: float | None = None,
    lmax_type: str = "occasional",
    indoor: bool = False,
) -> BoundaryResult:
    """Evaluate a boundary measurement with the HJ 706-2014 background correction.

    Difference = measured − background, rounded to whole dB; correction from HJ 706 Table 1;
    emission = measured + correction rounded to whole dB (HJ 706 §5.4); compared with the limit
    (indoor: limit − 10). Night Lmax ≤ limit + 10 (frequent) or + 15 (occasional; GB 12523).

    >>> r = boundary_noise("GB 12348-2008", "2", "night", 53.3, 46.1, 58.4, "frequent")
    >>> r.difference_rounded, r.correction, r.emission, r.passed, r.exceed, r.lmax_limit
    (7, -1, 52, False, 2, 60.0)
    """
    rules = noise_rules()
    std = rules.boundary[_standard_key(standard)]
    if period not in ("day", "night"):
        raise ValueError(f"period must be day or night, got {period!r}")
    cls = str(zone_class).strip().lower().removesuffix("类")
    cls = "4" if cls.startswith("4") else cls
    table = std.day if period == "day" else std.night
    if "*" in table:
        cls = "*"
    if cls not in table:
        raise ValueError(f"{std.standard} has no class {zone_class!r}")
    limit = table[cls] + (std.indoor_offset if indoor else 0.0)
    lmax_limit: float | None = None
    lmax_pass: bool | None = None
    if period == "night":
        frequent = lmax_type.strip().lower() == "frequent"
        margin = std.lmax_margin_frequent if frequent else std.lmax_margin_occasional
        lmax_limit = limit + margin
        if night_lmax is not None:
            lmax_pass = round_db(night_lmax) <= lmax_limit

    def result(status: str, passed: bool | None, **found: int | float | None) -> BoundaryResult:
        return BoundaryResult(
            standard=std.standard,
            zone_class=str(zone_class),
            period=period,
            limit=limit,
            status=status,
            passed=passed,
            difference=found.get("difference"),
            difference_rounded=_opt_int(found.get("difference_rounded")),
            correction=_opt_int(found.get("correction")),
            emission=_opt_int(found.get("emission")),
            exceed=_opt_int(found.get("exceed")),
            lmax_limit=lmax_limit,
            lmax_pass=lmax_pass,
            rule_version=rules.version,
        )

    if background is None:  # HJ 706-2014 §6.1: below the limit, the background may be skipped
        if round_db(measured) <= limit:
            return result("background_skipped", True)
        return result("background_required", None)
    difference = round_db(measured - background)
    diff_int = int(round_db(difference, 0))
    corr = correction_db(diff_int)
    if corr is None:
        return result("not_evaluable", None, difference=difference, difference_rounded=diff_int)
    emission = int(round_db(measured + corr, 0))
    passed = emission <= limit
    return result(
        "pass" if passed else "fail",
        passed,
        difference=difference,
        difference_rounded=diff_int,
        correction=corr,
        emission=emission,
        exceed=int(max(emission - limit, 0)),
    )


def _opt_int(value: int | float | None) -> int | None:
    return None if value is None else int(value)
