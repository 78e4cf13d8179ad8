"""Carbon peak tracking 碳达峰跟踪: totals and intensity against targets, peak and plateau,
year-on-year decomposition into activity and intensity effects.

* intensity [t CO2 per 10⁴ CNY] = CO2 [t] / GDP [10⁴ CNY at constant prices of the base year];
  change against the base year = i_t / i_base − 1 (carbon brief §5);
* an intensity-reduction target is met when the change by the target year is at or below
  −target %; a peak-by target when the detected peak year is at or before the target year;
* peak and plateau: the rule of ``parameters.toml`` ``[peak]`` (see :func:`detect_peak`);
* decomposition (LMDI-I, Ang 2004, additive): with E = GDP × I, the change E_t − E_{t−1} =
  ΔE_activity + ΔE_intensity, ΔE_x = L(E_t, E_{t−1}) × ln(x_t / x_{t−1}), L(a, b) = (a − b) /
  (ln a − ln b) (L(a, a) = a): exact, no residual.

Pure: no I/O. Amounts are Decimals.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ecobasin.carbon import factors as fx

__all__ = [
    "Decomposition",
    "PeakRule",
    "PeakStatus",
    "YearRow",
    "city_report",
    "decompose",
    "detect_peak",
    "intensity",
    "log_mean",
    "target_status",
    "track",
]


def intensity(co2_t: Decimal, gdp_10k_cny: Decimal) -> Decimal:
    """CO2 intensity [t CO2 / 10⁴ CNY at constant prices].

    Raises
    ------
    ValueError
        GDP not positive.
    """
    if gdp_10k_cny <= 0:
        raise ValueError("GDP must be positive")
    return co2_t / gdp_10k_cny


@dataclass(frozen=True)
class PeakRule:
    """The stated peak/plateau rule (``parameters.toml`` ``[peak]``)."""

    confirm_years: int = 3
    window_years: int = 3
    band_pct: Decimal = Decimal(2)

    @classmethod
    def default(cls) -> PeakRule:
        p = fx.parameters()["peak"]
        return cls(int(p["confirm_years"]), int(p["window_years"]), fx.decimal(p["band_pct"]))

    def describe(self) -> str:
        return (
            f"peaked: maximum ≥ {self.confirm_years} years before the last year, later years "
            f"below it, the last by ≥ {self.band_pct} %; plateau: last {self.window_years} years "
            f"within {self.band_pct} % below the maximum; otherwise rising"
        )


@dataclass(frozen=True)
class PeakStatus:
    """``status`` peaked | plateau | rising | insufficient; the peak year and value [t]."""

    status: str
    peak_year: int | None
    peak_value: Decimal | None
    rule: str


def detect_peak(series: Mapping[int, Decimal], rule: PeakRule | None = None) -> PeakStatus:
    """Peak and plateau detection on yearly totals (gaps allowed; years sorted).

    * peak year = the year of the maximum (the earliest, on ties);
    * **peaked** when the maximum lies at least ``confirm_years`` before the last year, every
      later year is below it, and the last year is at least ``band_pct`` % below it;
    * **plateau** when not peaked and the last ``window_years`` years (the maximum among them)
      all lie within ``band_pct`` % below the maximum;
    * **rising** otherwise; **insufficient** with fewer than two years.
    """
    r = rule or PeakRule.default()
    years = sorted(series)
    if len(years) < 2:
        return PeakStatus("insufficient", None, None, r.describe())
    peak_year = max(years, key=lambda y: (series[y], -y))
    peak = series[peak_year]
    last = years[-1]
    floor = peak * (1 - r.band_pct / 100)
    later = [series[y] for y in years if y > peak_year]
    if (
        last - peak_year >= r.confirm_years
        and all(v < peak for v in later)
        and series[last] <= floor
    ):
        return PeakStatus("peaked", peak_year, peak, r.describe())
    window = years[-r.window_years :]
    if (
        len(window) == r.window_years
        and peak_year in window
        and all(series[y] >= floor for y in window)
    ):
        return PeakStatus("plateau", peak_year, peak, r.describe())
    return PeakStatus("rising", peak_year, peak, r.describe())


def log_mean(a: Decimal, b: Decimal) -> Decimal:
    """Logarithmic mean L(a, b) = (a − b) / (ln a − ln b), L(a, a) = a (a, b > 0)."""
    if a <= 0 or b <= 0:
        raise ValueError("the logarithmic mean needs positive values")
    if a == b:
        return a
    return (a - b) / (a.ln() - b.ln())


@dataclass(frozen=True)
class Decomposition:
    """Year-on-year change of CO2 [t] = activity effect + intensity effect (LMDI-I)."""

    year: int
    previous_year: int
    change_t: Decimal
    activity_effect_t: Decimal
    intensity_effect_t: Decimal


def decompose(
    year: int, co2_t: Decimal, gdp: Decimal, prev_year: int, prev_co2_t: Decimal, prev_gdp: Decimal
) -> Decomposition:
    """LMDI-I decomposition of E = GDP × (E/GDP) between two years (Ang 2004, additive)."""
    weight = log_mean(co2_t, prev_co2_t)
    activity = weight * (gdp / prev_gdp).ln()
    i_now, i_prev = co2_t / gdp, prev_co2_t / prev_gdp
    effect = weight * (i_now / i_prev).ln()
    return Decomposition(year, prev_year, co2_t - prev_co2_t, activity, effect)


@dataclass(frozen=True)
class YearRow:
    """One year of the peak table."""

    year: int
    co2_t: Decimal
    gdp_10k_cny: Decimal | None
    intensity: Decimal | None
    intensity_change_pct: Decimal | None  # against the base year
    yoy_change_pct: Decimal | None
    decomposition: Decomposition | None

    def as_dict(self) -> dict[str, Any]:
        d = self.decomposition
        return {
            "year": self.year,
            "co2_t": self.co2_t,
            "gdp_10k_cny": self.gdp_10k_cny,
            "intensity_t_per_10k_cny": self.intensity,
            "intensity_change_pct": self.intensity_change_pct,
            "yoy_change_pct": self.yoy_change_pct,
            "activity_effect_t": None if d is None else d.activity_effect_t,
            "intensity_effect_t": None if d is None else d.intensity_effect_t,
        }


def track(
    co2_t: Mapping[int, Decimal],
    gdp_10k_cny: Mapping[int, Decimal],
    base_year: int | None = None,
) -> list[YearRow]:
    """The peak table: per year CO2, GDP, intensity, change against ``base_year`` (default the
    first year with GDP) [%], year-on-year CO2 change [%] and its decomposition (consecutive
    years with GDP only)."""
    years = sorted(co2_t)
    with_gdp = [y for y in years if gdp_10k_cny.get(y)]
    base = base_year if base_year is not None else (with_gdp[0] if with_gdp else None)
    base_i = (
        intensity(co2_t[base], gdp_10k_cny[base])
        if base is not None and base in co2_t and gdp_10k_cny.get(base)
        else None
    )
    rows: list[YearRow] = []
    for i, year in enumerate(years):
        gdp = gdp_10k_cny.get(year)
        inten = intensity(co2_t[year], gdp) if gdp else None
        change = (inten / base_i - 1) * 100 if inten is not None and base_i else None
        prev = years[i - 1] if i else None
        yoy = None
        dec = None
        if prev is not None and prev == year - 1 and co2_t[prev] > 0:
            yoy = (co2_t[year] / co2_t[prev] - 1) * 100
            prev_gdp = gdp_10k_cny.get(prev)
            if gdp and prev_gdp and co2_t[year] > 0:
                dec = decompose(year, co2_t[year], gdp, prev, co2_t[prev], prev_gdp)
        rows.append(YearRow(year, co2_t[year], gdp, inten, change, yoy, dec))
    return rows


def target_status(
    target: Mapping[str, Any], rows: Sequence[YearRow], peak: PeakStatus
) -> dict[str, Any]:
    """How a target of ``targets.toml`` stands: ``met`` True/False, or None when the data do
    not reach the target year (then ``progress`` gives the latest value)."""
    kind = str(target["kind"])
    out: dict[str, Any] = {"id": target["id"], "kind": kind, "target_year": target["target_year"]}
    if kind == "peak_by":
        out["met"] = (
            None
            if peak.status in ("rising", "insufficient", "plateau")
            else bool(peak.peak_year is not None and peak.peak_year <= int(target["target_year"]))
        )
        out["progress"] = peak.status
        return out
    if kind != "intensity_reduction":
        raise ValueError(f"unknown target kind {kind!r}")
    goal = -fx.decimal(target["value_pct"])
    out["goal_pct"] = goal
    by_year = {r.year: r for r in rows}
    base = by_year.get(int(target["base_year"]))
    reached = by_year.get(int(target["target_year"]))
    if base is None or base.intensity is None:
        out["met"] = None
        out["progress"] = "no base-year intensity"
        return out
    latest = [(r.year, r.intensity) for r in rows if r.intensity is not None and r.year > base.year]
    if reached is not None and reached.intensity is not None:
        change = (reached.intensity / base.intensity - 1) * 100
        out["change_pct"] = change
        out["met"] = change <= goal
    else:
        out["met"] = None
        if latest:
            out["progress_year"], value = latest[-1]
            out["change_pct"] = (value / base.intensity - 1) * 100
    return out


def city_report(
    city_code: int,
    co2_t: Mapping[int, Decimal],
    gdp_10k_cny: Mapping[int, Decimal],
    base_year: int | None = None,
) -> dict[str, Any]:
    """One city's peak report: the table of :func:`track`, the peak status and every target of
    ``targets.toml`` for the city's region and the regions containing it."""
    rows = track(co2_t, gdp_10k_cny, base_year)
    status = detect_peak(co2_t)
    regions = fx.region_chain(fx.region_of_city(city_code))
    return {
        "city_code": city_code,
        "base_year": base_year,
        "rows": [r.as_dict() for r in rows],
        "peak": {
            "status": status.status,
            "peak_year": status.peak_year,
            "peak_t": status.peak_value,
            "rule": status.rule,
        },
        "targets": [target_status(t, rows, status) for t in fx.targets() if t["region"] in regions],
    }
