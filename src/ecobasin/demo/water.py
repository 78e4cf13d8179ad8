"""A seeded, deterministic generator of the demo region's water sections and their data (pure).

The sections lie on the Minjiang (岷江) and Tuojiang (沱江) systems and their tributaries (府河/锦江,
青衣江, 大渡河 lower reach, 绛溪河, 球溪河, 绵远河) and on the Fujiang (涪江) and Qiongjiang (琼江) of
the Jialing basin, across the eight cities of the Chengdu Plain, plus two reservoirs. Coordinates
are approximate points on the rivers, moved inside their city's boundary polygon when needed.
Names and ids are generated (``岷江成都—眉山交界``, ``DW0107``): no real section code or name is
used, and every level below is *illustrative*, not a measurement.

Data for one year (China Standard Time calendar):

* manual monthly samples (period ``"sample"``) of the 21 items of the 2011 method plus TN, fecal
  coliform and water temperature (lakes also Chl-a and Secchi depth), one per month;
* automatic-station 4-hourly values (period ``"4h"``, labels 00:00, 04:00, … 20:00 CST) of pH, DO,
  CODMn, NH3N, TP, TN, turbidity, conductivity and water temperature at national sections, with
  gaps, a few outages and a few bad values (negatives, 999999 spikes) for validation to reject.

Patterns: a wet season (May–October) that dilutes point-source pollution (NH3N, TP, CODMn peak
in the dry months, January–April), warmer water with less dissolved oxygen in summer, a little
non-point phosphorus in the first floods, and a day-to-day log-normal AR(1) factor per section.
Some sections fail their target class: the 球溪河 and 绛溪河 tributaries and the lower Tuojiang in
the dry season, one reservoir eutrophic. Values below a detection limit are written as the limit
with the flag ``"L"`` (CNEMC's ``0.01L``); statistics use half the limit.

The sections themselves are data: ``demo/data/water_sections.csv`` (its columns are described in
docs/demo-data.md). The generators read nothing but that file and the catalog (through its API)
and write nothing; :func:`install` writes the generated year into a store for ``ecobasin demo``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ecobasin import catalog
from ecobasin.demo.region import points_in_geometry
from ecobasin.ingest import importer
from ecobasin.ingest.water import WaterImport, import_water_frames
from ecobasin.jobs.water_quality import refresh_water_quality
from ecobasin.store import Store

__all__ = [
    "AUTO_ITEMS",
    "DETECTION_LIMITS",
    "MANUAL_ITEMS",
    "SECTIONS",
    "SectionSpec",
    "generate_sections",
    "generate_water",
    "install",
]

FloatArray = npt.NDArray[np.float64]

#: Items of the monthly manual sample: the 21 of 环办〔2011〕22号 §一(一), then TN, FC and WT.
MANUAL_ITEMS: tuple[str, ...] = (
    "pH", "DO", "CODMn", "COD", "BOD5", "NH3N", "TP", "Cu", "Zn", "F", "Se", "As", "Hg", "Cd",
    "Cr6", "Pb", "CN", "VPhen", "Petro", "LAS", "S2", "TN", "FC", "WT",
)  # fmt: skip
#: Items of the automatic stations (the nine of the national automatic network).
AUTO_ITEMS: tuple[str, ...] = ("pH", "DO", "CODMn", "NH3N", "TP", "TN", "Turb", "Cond", "WT")
#: Detection limits [mg/L] of the laboratory methods (typical values of the HJ methods); a sample
#: below one is written as the limit, flagged ``"L"``.
DETECTION_LIMITS: dict[str, float] = {
    "Se": 0.0004, "As": 0.0003, "Hg": 0.00004, "Cd": 0.0001, "Cr6": 0.004, "Pb": 0.001,
    "CN": 0.004, "VPhen": 0.0003, "Petro": 0.01, "LAS": 0.05, "S2": 0.01, "Cu": 0.001,
    "Zn": 0.005, "NH3N": 0.025, "TP": 0.01, "BOD5": 0.5, "COD": 4.0,
}  # fmt: skip


@dataclass(frozen=True)
class SectionSpec:
    """One generated section: where it is, what it is assessed against, how polluted it is."""

    code: str  # suffix of the site id
    river_zh: str
    river_en: str
    basin_zh: str
    basin_en: str
    city: int  # city the section belongs to (GB/T 2260)
    lon: float  # approximate point on the river [°E]
    lat: float  # [°N]
    level: str  # national or provincial
    target: str  # target class (I … V)
    load: float  # pollution level: 0 pristine, 1 about the Class III limits [-]
    upstream: int | None = None  # boundary sections: the city the water leaves
    downstream: int | None = None  # and the city it enters
    water_body: str = "river"
    flow: float = 300.0  # annual mean flow [m³/s]


def _optional_int(text: str) -> int | None:
    return int(text) if text else None


def _read_sections() -> tuple[SectionSpec, ...]:
    """The sections of ``demo/data/water_sections.csv`` (columns: docs/demo-data.md)."""
    text = (resources.files("ecobasin.demo") / "data" / "water_sections.csv").read_text("utf-8")
    rows = csv.DictReader(line for line in text.splitlines() if not line.startswith("#"))
    return tuple(
        SectionSpec(
            code=row["code"],
            river_zh=row["river_zh"],
            river_en=row["river_en"],
            basin_zh=row["basin_zh"],
            basin_en=row["basin_en"],
            city=int(row["city"]),
            lon=float(row["lon"]),
            lat=float(row["lat"]),
            level=row["level"],
            target=row["target"],
            load=float(row["load"]),
            upstream=_optional_int(row["upstream"]),
            downstream=_optional_int(row["downstream"]),
            water_body=row["water_body"],
            flow=float(row["flow"]),
        )
        for row in rows
    )


#: The demo sections, upstream to downstream per river (a data file, not code).
SECTIONS: tuple[SectionSpec, ...] = _read_sections()

#: Monthly flow relative to the annual mean, January … December (Sichuan Basin rivers: low water
#: in winter, the flood season June–September).
_FLOW_MONTH = np.array([0.38, 0.34, 0.4, 0.6, 0.95, 1.45, 2.2, 2.1, 1.7, 1.05, 0.6, 0.45])
#: Water temperature [°C] by month (mid-basin rivers).
_WT_MONTH = np.array([9.0, 10.5, 14.0, 18.0, 21.5, 24.0, 25.5, 26.0, 23.0, 19.0, 14.5, 10.5])
_DAILY_PHI, _DAILY_SD = 0.85, 0.16  # day-to-day AR(1) factor of a section [ln]
_AUTO_SD, _LAB_SD = 0.07, 0.05  # 4-hourly and laboratory noise [ln]
_GAP = 0.015  # single missing 4-hourly values
_OUTAGES = 1.2  # mean outages per automatic station and year
_BAD_VALUES = 0.6  # mean negatives/spikes per automatic series and year


def _names(spec: SectionSpec, table: pd.DataFrame, ordinal: int) -> tuple[str, str]:
    """``岷江成都—眉山交界 / Minjiang Chengdu–Meishan boundary`` or ``岷江眉山段2``."""
    if spec.water_body == "lake":
        return f"{spec.river_zh}库心", f"{spec.river_en} centre"
    if spec.upstream is not None and spec.downstream is not None:
        up, down = table.loc[spec.upstream], table.loc[spec.downstream]
        return (
            f"{spec.river_zh}{up['short_zh']}—{down['short_zh']}交界",
            f"{spec.river_en} {up['name_en']}–{down['name_en']} boundary",
        )
    city = table.loc[spec.city]
    return (
        f"{spec.river_zh}{city['short_zh']}段{ordinal}",
        f"{spec.river_en} {city['name_en']} reach {ordinal}",
    )


def _inside(
    spec: SectionSpec, geometry: dict[str, object] | None, rng: np.random.Generator
) -> tuple[float, float]:
    """The spec's point, or the nearest of random points around it inside the city polygon."""
    point = np.array([spec.lon, spec.lat])
    if geometry is None or points_in_geometry([spec.lon], [spec.lat], geometry)[0]:
        return round(float(point[0]), 4), round(float(point[1]), 4)
    for spread in (0.03, 0.06, 0.12, 0.25, 0.5):
        cloud = point + rng.normal(0.0, spread, size=(400, 2))
        ok = points_in_geometry(cloud[:, 0], cloud[:, 1], geometry)
        if ok.any():
            best = cloud[ok][np.argmin(np.hypot(*(cloud[ok] - point).T))]
            return round(float(best[0]), 4), round(float(best[1]), 4)
    return round(float(point[0]), 4), round(float(point[1]), 4)


def generate_sections(region: catalog.Region, seed: int = 2025) -> pd.DataFrame:
    """The demo water sections of the region's cities, as rows of the ``sites`` table.

    Parameters
    ----------
    region : catalog.Region
        Sections of cities outside the region are left out (a region without the Chengdu Plain
        cities gets none).
    seed : int, default 2025

    Returns
    -------
    pandas.DataFrame
        ``site_id`` (``DW`` + city number + code), ``kind`` (``"water_section"``), ``level``,
        ``city_code``, ``name_zh``, ``name_en``, ``lon`` [°], ``lat`` [°] (WGS 84, inside the
        city polygon) and ``attributes`` (dict: ``river_zh``, ``river_en``, ``basin_zh``,
        ``basin_en``, ``water_body``, ``target_class``, ``upstream_city``, ``downstream_city``,
        ``boundary``, ``mean_flow_m3_s``, ``generated``).
    """
    rng = np.random.default_rng([seed, 38])
    table = catalog.cities()
    features = {
        int(f["properties"]["code"]): f["geometry"] for f in catalog.boundaries(region)["features"]
    }
    rows: list[dict[str, object]] = []
    ordinals: dict[tuple[str, int], int] = {}
    for spec in SECTIONS:
        if spec.city not in region.cities:
            continue
        key = (spec.river_zh, spec.city)
        ordinals[key] = ordinals.get(key, 0) + 1
        name_zh, name_en = _names(spec, table, ordinals[key])
        lon, lat = _inside(spec, features.get(spec.city), rng)
        city_no = region.cities.index(spec.city) + 1
        rows.append(
            {
                "site_id": f"DW{city_no:02d}{spec.code}",
                "kind": "water_section",
                "level": spec.level,
                "city_code": spec.city,
                "name_zh": name_zh,
                "name_en": name_en,
                "lon": lon,
                "lat": lat,
                "attributes": {
                    "river_zh": spec.river_zh,
                    "river_en": spec.river_en,
                    "basin_zh": spec.basin_zh,
                    "basin_en": spec.basin_en,
                    "water_body": spec.water_body,
                    "target_class": spec.target,
                    "upstream_city": spec.upstream,
                    "downstream_city": spec.downstream,
                    "boundary": spec.upstream is not None,
                    "mean_flow_m3_s": spec.flow or None,
                    "generated": True,
                },
            }
        )
    columns = ["site_id", "kind", "level", "city_code", "name_zh", "name_en", "lon", "lat"]
    return pd.DataFrame(rows, columns=[*columns, "attributes"])


# --------------------------------------------------------------------------------------------
# Concentrations
# --------------------------------------------------------------------------------------------


def _ar1(rng: np.random.Generator, n: int, phi: float, sd: float) -> FloatArray:
    """A stationary AR(1) series with marginal standard deviation ``sd``."""
    shocks = rng.normal(0.0, sd * np.sqrt(1.0 - phi**2), size=n)
    out = np.empty(n)
    out[0] = rng.normal(0.0, sd)
    for i in range(1, n):
        out[i] = phi * out[i - 1] + shocks[i]
    return out


def _daily_means(
    spec: SectionSpec, days: pd.DatetimeIndex, rng: np.random.Generator
) -> dict[str, FloatArray]:
    """Expected daily concentrations [mg/L] of a section (before sampling noise)."""
    month = days.month.to_numpy() - 1
    doy = days.day_of_year.to_numpy().astype(np.float64)
    flow = np.interp(doy, np.arange(12) * 30.4 + 15.0, _FLOW_MONTH, period=365.0)
    dilution = flow**-0.6  # point sources diluted by the flow
    first_flood = np.exp(-0.5 * ((doy - 165.0) / 18.0) ** 2)  # June: non-point washoff
    p = spec.load
    lake = spec.water_body == "lake"
    factor = np.exp(_ar1(rng, len(days), _DAILY_PHI, _DAILY_SD))
    wt = np.interp(doy, np.arange(12) * 30.4 + 15.0, _WT_MONTH, period=365.0)
    wt = wt + rng.normal(0.0, 0.6, size=len(days))
    saturation = 14.6 - 0.39 * wt + 0.007 * wt**2  # DO saturation [mg/L] at temperature
    codmn = (1.2 + 2.4 * p * dilution) * factor
    nh3n = (0.05 + 0.42 * p**1.8 * dilution**1.2) * factor
    tp_scale = 0.03 if lake else 0.1
    tp = (0.015 + tp_scale * p * dilution + 0.04 * p * first_flood) * factor
    out = {
        "WT": wt,
        "pH": 7.7 + 0.25 * np.sin(2 * np.pi * (doy - 100.0) / 365.0) + 0.1 * (lake and p > 0.7),
        "DO": saturation * (0.97 - 0.2 * p * dilution / 1.5) / factor**0.3,
        "CODMn": codmn,
        "COD": codmn * 3.3,
        "BOD5": codmn * 0.55,
        "NH3N": nh3n,
        "TP": tp,
        "TN": (0.6 + 2.2 * p * dilution**0.5 + 0.3 * (lake and 1.0)) * factor,
        "Cu": 0.002 + 0.003 * p * factor,
        "Zn": 0.004 + 0.012 * p * factor,
        "F": 0.18 + 0.22 * p + 0.03 * factor,
        "Se": np.full(len(days), 0.0002),
        "As": 0.0008 + 0.0012 * p * factor,
        "Hg": np.full(len(days), 0.00002),
        "Cd": 0.00005 + 0.0001 * p * factor,
        "Cr6": np.full(len(days), 0.002),
        "Pb": 0.0005 + 0.0015 * p * factor,
        "CN": np.full(len(days), 0.002),
        "VPhen": 0.0002 + 0.0006 * p * factor,
        "Petro": 0.005 + 0.012 * p * factor,
        "LAS": 0.02 + 0.03 * p * factor,
        "S2": 0.004 + 0.006 * p * factor,
        "FC": 300.0 * (1.0 + 25.0 * p * p) * factor * (1.0 + 1.5 * first_flood),
        "Turb": (8.0 + 60.0 * first_flood + 40.0 * (flow > 1.5))
        * factor**2
        * (0.3 if lake else 1.0),
        "Cond": 280.0 + 180.0 * p * dilution,
        "Chla": (4.0 + 30.0 * p * np.clip(wt - 12.0, 0.0, None) / 14.0) * factor,
        "SD": 2.2 / (1.0 + 1.5 * p) / factor**0.5,
    }
    out["DO"] = np.minimum(out["DO"], saturation * 1.1)
    del month
    return {
        k: np.broadcast_to(np.asarray(v, dtype=np.float64), (len(days),)).copy()
        for k, v in out.items()
    }


def _report(values: FloatArray, item: str, decimals: int) -> tuple[FloatArray, list[str | None]]:
    """Round to the published precision; below the detection limit → the limit, flag ``L``."""
    dl = DETECTION_LIMITS.get(item)
    if item in ("FC",):
        return np.round(values, -1), [None] * len(values)
    step = 10.0**-decimals
    rounded = np.maximum(np.round(values, decimals), step)
    if dl is None:
        return rounded, [None] * len(values)
    below = values < dl
    return np.where(below, dl, rounded), ["L" if b else None for b in below]


def _year_days(year: int) -> pd.DatetimeIndex:
    return pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")


def generate_water(
    sections: pd.DataFrame, year: int = 2025, seed: int = 2025
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Manual monthly samples and automatic 4-hourly values of the sections for one year.

    Parameters
    ----------
    sections : pandas.DataFrame
        As from :func:`generate_sections` (``site_id``, ``level``, ``attributes``).
    year : int, default 2025
        CST calendar year.
    seed : int, default 2025
        The same sections, year and seed give identical frames.

    Returns
    -------
    manual, auto : pandas.DataFrame
        Tidy frames ``site_id``, ``parameter``, ``period`` (``"sample"`` / ``"4h"``), ``time``
        (datetime64[us, UTC]: the sampling instant; for 4-hourly values the CST label 00:00 …
        20:00 as an instant), ``value`` (canonical unit: mg/L, pH 1, FC count/L, WT °C,
        Chla mg/m³, SD m, Turb NTU, Cond µS/cm) and ``flag`` (``"L"`` below the detection
        limit, else None). Automatic series have gaps and a few bad values (negatives, 999999)
        that the import validation rejects.
    """
    registry = catalog.parameters("water")
    decimals = {str(k): int(v) for k, v in registry["decimals"].items()}
    days = _year_days(year)
    manual: list[pd.DataFrame] = []
    auto: list[pd.DataFrame] = []
    specs = {f"{s.code}": s for s in SECTIONS}
    for i, row in enumerate(sections.itertuples(index=False)):
        spec = specs[str(row.site_id)[4:]]
        rng = np.random.default_rng([seed, year, i])
        daily = _daily_means(spec, days, rng)
        manual.append(_manual(str(row.site_id), spec, daily, days, rng, decimals))
        if row.level == "national" and spec.water_body == "river":
            auto.append(_auto(str(row.site_id), daily, days, rng, decimals))
    empty = pd.DataFrame(columns=["site_id", "parameter", "period", "time", "value", "flag"])
    return (
        pd.concat(manual, ignore_index=True) if manual else empty,
        pd.concat(auto, ignore_index=True) if auto else empty.copy(),
    )


def _manual(
    site_id: str,
    spec: SectionSpec,
    daily: dict[str, FloatArray],
    days: pd.DatetimeIndex,
    rng: np.random.Generator,
    decimals: dict[str, int],
) -> pd.DataFrame:
    """One sample per month on a working day between the 5th and the 20th, 10:00 CST."""
    items = [*MANUAL_ITEMS, *(("Chla", "SD") if spec.water_body == "lake" else ())]
    picks = []
    for month in range(1, 13):
        candidates = np.flatnonzero((days.month == month) & (days.day >= 5) & (days.day <= 20))
        picks.append(int(rng.choice(candidates)))
    index = np.array(picks)
    times = (days[index] + pd.Timedelta(hours=10)).tz_localize("Asia/Shanghai").tz_convert("UTC")
    values: list[FloatArray] = []
    flags: list[str | None] = []
    for item in items:
        true = daily[item][index]
        noisy = (
            true if item in ("pH", "WT") else true * np.exp(rng.normal(0.0, _LAB_SD, len(index)))
        )
        if item == "pH":
            noisy = noisy + rng.normal(0.0, 0.05, len(index))
        item_values, item_flags = _report(noisy, item, decimals[item])
        values.append(item_values)
        flags += item_flags
    # one frame for the site, item after item: a frame per item cost ~30 % of the demo's water
    frame = pd.DataFrame(
        {"site_id": site_id, "parameter": np.repeat(items, len(index)), "period": "sample",
         "time": times[np.tile(np.arange(len(index)), len(items))],
         "value": np.concatenate(values), "flag": pd.Series(flags, dtype=object)}
    )  # fmt: skip
    frame["time"] = frame["time"].astype("datetime64[us, UTC]")
    return frame


def _auto(
    site_id: str,
    daily: dict[str, FloatArray],
    days: pd.DatetimeIndex,
    rng: np.random.Generator,
    decimals: dict[str, int],
) -> pd.DataFrame:
    """Six values a day (labels 00:00 … 20:00 CST), with gaps, outages and a few bad values."""
    n = len(days) * 6
    slot = np.tile(np.arange(6), len(days))
    local = days.repeat(6) + pd.to_timedelta(slot * 4, unit="h")
    times = local.tz_localize("Asia/Shanghai").tz_convert("UTC")
    present = rng.random(n) >= _GAP
    for _ in range(rng.poisson(_OUTAGES)):
        start = int(rng.integers(0, n))
        present[start : start + int(rng.integers(6, 6 * 12))] = False
    kept_values: list[FloatArray] = []
    kept_slots: list[npt.NDArray[np.intp]] = []
    for item in AUTO_ITEMS:
        base = np.repeat(daily[item], 6)
        if item == "DO":  # photosynthesis: afternoon maximum
            base = base * (1.0 + 0.06 * np.sin(2 * np.pi * (slot * 4 - 8) / 24.0))
        if item in ("pH", "WT"):
            values = base + rng.normal(0.0, 0.04 if item == "pH" else 0.2, n)
        else:
            values = base * np.exp(rng.normal(0.0, _AUTO_SD, n))
        step = 10.0 ** -decimals[item]
        values = np.maximum(np.round(values, decimals[item]), step)
        keep = present.copy()
        for _ in range(rng.poisson(_BAD_VALUES)):
            at = int(rng.integers(0, n))
            negative = item != "WT" and rng.random() < 0.5
            values[at] = -0.5 if negative else 999999.0
            keep[at] = True
        kept_values.append(values[keep])
        kept_slots.append(np.flatnonzero(keep))
    # one frame for the site, item after item (as for the manual samples)
    frame = pd.DataFrame(
        {"site_id": site_id,
         "parameter": np.repeat(AUTO_ITEMS, [len(slots) for slots in kept_slots]),
         "period": "4h", "time": times[np.concatenate(kept_slots)],
         "value": np.concatenate(kept_values), "flag": None}
    )  # fmt: skip
    frame["time"] = frame["time"].astype("datetime64[us, UTC]")
    return frame


def install(
    store: Store, region: catalog.Region, year: int = 2025, seed: int = 2025
) -> WaterImport:
    """Register the demo sections, import their generated year and compute the results.

    Called by ``ecobasin demo`` after the air data. The generated values pass the same checks
    and validation as files (the bad values the generator plants are rejected).
    """
    sections = generate_sections(region, seed=seed)
    if sections.empty:
        return WaterImport(importer.ImportReport())
    store.upsert_sites(sections, source="demo generator (water)")
    manual, auto = generate_water(sections, year=year, seed=seed)

    def frames() -> Iterator[tuple[pd.DataFrame, dict[str, Any]]]:
        for name, frame in (("manual", manual), ("auto", auto)):
            candidates = frame.assign(
                raw_value=None, unit=None, line=frame.index + 1, field="generated"
            )
            yield candidates, {"source": f"demo water {name} {year}"}

    result = import_water_frames(
        store, frames(), "demo-water", refresh=refresh_water_quality, region_id=region.id
    )
    result.report.sites_added = len(sections)
    return result
