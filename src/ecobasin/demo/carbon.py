"""A seeded, ILLUSTRATIVE eight-city carbon inventory for the demo (2019–2023).

What is public and what is made up:

* GDP 2020 of each city [10⁸ CNY, current prices] is the rounded figure of the city's 2020
  statistical communiqué (统计公报) as the author recalls it (**[mem]**, to verify); later and
  earlier years apply illustrative real growth rates (+4 % 2020, +8 % 2021, +3 % 2022, +6 %
  2023), so GDP is at constant 2020 prices.
* Every activity figure (coal, gas, oil products, electricity, heat by sector) is
  **illustrative**: Chengdu's structure is sized to land near the order of magnitude of the
  conformance example (about 50 Mt energy CO2 for a GDP of 1,770 bn CNY), other cities are scaled
  by GDP and an industry/coal profile (Leshan cement and silicon, Deyang equipment, Ya'an hydro).
  Trends: coal −6 %/a, gas +4 %/a, electricity +6 %/a, road fuel +2 %/a with dips in 2020 and
  2022, ±2 % seeded noise.
* Sinks: forest stock difference with the illustrative biomass chain of ``parameters.toml`` and
  illustrative stem volumes (Chengdu sized to its reported >2 Mt ecosystem sink, seed 001), plus
  greenways by area × the illustrative rate.

None of it is a measurement; ``docs/carbon.md`` says so too. The generator is pure;
:func:`install` writes through :mod:`ecobasin.store.carbon` (the lead calls it from
``ecobasin demo``).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import numpy as np

from ecobasin.carbon import factors as fx
from ecobasin.carbon import sinks as carbon_sinks
from ecobasin.carbon.activity import ActivityTable, inventory_id
from ecobasin.carbon.inventory import ActivityLine, InventorySettings
from ecobasin.carbon.sinks import SinkResult

__all__ = ["CITY_PROFILES", "DEMO_YEARS", "generate", "generate_sinks", "install"]

DEMO_YEARS: tuple[int, ...] = (2019, 2020, 2021, 2022, 2023)
SOURCE = "demo (illustrative, ecobasin.demo.carbon)"

#: city → (GDP 2020 [10⁸ CNY] [mem], industry factor, coal factor, forest stem volume [10⁶ m³],
#: greenway area [ha]); all but GDP illustrative.
CITY_PROFILES: dict[int, tuple[float, float, float, float, float]] = {
    510100: (17716.7, 1.0, 1.0, 30.0, 1200.0),  # Chengdu
    510600: (2404.1, 1.4, 1.3, 15.0, 200.0),  # Deyang
    510700: (3010.1, 1.0, 1.0, 90.0, 250.0),  # Mianyang
    510900: (1403.2, 1.0, 0.9, 8.0, 120.0),  # Suining
    511100: (2003.4, 1.6, 2.5, 60.0, 150.0),  # Leshan
    511400: (1423.7, 1.2, 1.1, 20.0, 150.0),  # Meishan
    511800: (754.6, 0.9, 0.5, 80.0, 100.0),  # Ya'an
    512000: (807.5, 0.9, 0.9, 6.0, 80.0),  # Ziyang
}
_CHENGDU_GDP = CITY_PROFILES[510100][0]

#: Real GDP growth into each year (illustrative).
_GROWTH = {2019: 0.0, 2020: 0.04, 2021: 0.08, 2022: 0.03, 2023: 0.06}

#: Chengdu 2020 activity (illustrative): sector, activity, amount, unit, subsector, trend key,
#: scales with industry, scales with coal.
_CHENGDU_2020: tuple[tuple[str, str, float, str, str, str, bool, bool], ...] = (
    (
        "energy_industries",
        "natural_gas",
        150_000,
        "10^4 Nm3",
        "grid_generation",
        "gas",
        False,
        False,
    ),
    ("energy_industries", "raw_coal", 800_000, "t", "grid_generation", "coal", False, True),
    ("manufacturing", "raw_coal", 1_200_000, "t", "", "coal", True, True),
    ("manufacturing", "coke", 100_000, "t", "", "coal", True, True),
    ("manufacturing", "natural_gas", 200_000, "10^4 Nm3", "", "gas", True, False),
    ("manufacturing", "fuel_oil", 20_000, "t", "", "flat", True, False),
    ("manufacturing", "electricity", 35_000_000, "MWh", "", "power", True, False),
    ("manufacturing", "heat", 5_000_000, "GJ", "", "flat", True, False),
    ("transport", "gasoline", 3_800_000, "t", "", "road", False, False),
    ("transport", "diesel", 1_500_000, "t", "", "road", False, False),
    ("transport", "electricity", 1_500_000, "MWh", "", "ev", False, False),
    ("commercial", "natural_gas", 80_000, "10^4 Nm3", "", "gas", False, False),
    ("commercial", "lpg", 50_000, "t", "", "flat", False, False),
    ("commercial", "electricity", 25_000_000, "MWh", "", "power", False, False),
    ("residential", "natural_gas", 150_000, "10^4 Nm3", "", "gas", False, False),
    ("residential", "lpg", 80_000, "t", "", "coal", False, False),
    ("residential", "electricity", 20_000_000, "MWh", "", "power", False, False),
    ("agriculture", "diesel", 100_000, "t", "", "flat", False, False),
    ("agriculture", "electricity", 1_000_000, "MWh", "", "power", False, False),
)
#: Yearly change of each trend (illustrative); road fuel dips in 2020 and 2022.
_TREND = {"coal": -0.06, "gas": 0.04, "power": 0.06, "road": 0.02, "ev": 0.35, "flat": 0.0}
_DIPS = {("road", 2020): -0.06, ("road", 2022): -0.04, ("power", 2020): -0.02}


def _gdp_index(year: int) -> float:
    """Real GDP of ``year`` relative to 2020."""
    index = 1.0
    for y in range(2020, year):
        index *= 1 + _GROWTH[y + 1]
    for y in range(year, 2020):
        index /= 1 + _GROWTH[y + 1]
    return index


def _trend(key: str, year: int) -> float:
    level = (1 + _TREND[key]) ** (year - 2020)
    for (k, y), dip in _DIPS.items():
        if k == key and y <= year:
            level *= 1 + dip  # a dip lowers the level from its year on
    return level


def _dec(value: float, places: int = 1) -> Decimal:
    return Decimal(f"{value:.{places}f}")


def generate(
    cities: Sequence[int], years: Sequence[int] = DEMO_YEARS, seed: int = 2025
) -> ActivityTable:
    """Activity lines and GDP [10⁴ CNY, constant 2020 prices] of the cities' inventories.

    Cities without a profile are skipped (the demo covers the Chengdu Plain's eight)."""
    rng = np.random.default_rng(seed)
    table = ActivityTable()
    for city in cities:
        if city not in CITY_PROFILES:
            continue
        gdp_2020, industry, coal, _, _ = CITY_PROFILES[city]
        scale = gdp_2020 / _CHENGDU_GDP
        for year in years:
            inv = inventory_id(city, year)
            table.inventories[inv] = (city, year)
            table.gdp[inv] = _dec(gdp_2020 * 10_000 * _gdp_index(year), 0)
            lines = []
            for n, (sector, activity, amount, unit, sub, trend, by_ind, by_coal) in enumerate(
                _CHENGDU_2020, start=2
            ):
                if sub == "grid_generation" and city not in (510100, 511100):
                    continue  # grid plants only in Chengdu (gas, coal) and Leshan
                value = amount * scale * _trend(trend, year) * float(rng.normal(1.0, 0.02))
                value *= industry if by_ind else 1.0
                value *= coal if by_coal else 1.0
                lines.append(ActivityLine(n, sector, activity, _dec(value), unit, subsector=sub))
            table.lines[inv] = lines
    return table


def generate_sinks(
    cities: Sequence[int], years: Sequence[int] = DEMO_YEARS
) -> list[tuple[int, int, str, dict[str, Any], SinkResult]]:
    """Forest (stock difference) and greenway (area × rate) sinks of each city and year."""
    chain = carbon_sinks.chain_from_parameters("illustrative")
    rates = fx.parameters()["sinks"]["area_rates"]["illustrative_green_space"]
    rate = fx.decimal(rates["rate_tco2_per_ha_yr"])
    out: list[tuple[int, int, str, dict[str, Any], SinkResult]] = []
    for city in cities:
        if city not in CITY_PROFILES:
            continue
        _, _, _, volume_m3e6, greenway_ha = CITY_PROFILES[city]
        growth = 0.039 if city == 510100 else 0.03
        for year in years:
            v1 = _dec(volume_m3e6 * 1e6 * (1 + growth) ** (year - 1 - 2019), 0)
            v2 = _dec(volume_m3e6 * 1e6 * (1 + growth) ** (year - 2019), 0)
            forest = carbon_sinks.stock_difference(v1, v2, Decimal(1), chain)
            inputs: dict[str, Any] = {
                "V_start_m3": v1, "V_end_m3": v2, "chain": "illustrative",
                "source": chain.source,
            }  # fmt: skip
            out.append((city, year, "forest", inputs, forest))
            area = _dec(greenway_ha * (1 + 0.05 * (year - 2019)), 1)
            green = carbon_sinks.area_rate(area, rate)
            out.append(
                (city, year, "greenways", {"area_ha": area, "rate": rate, "source": rates["source"]},
                 green)
            )  # fmt: skip
    return out


def install(store: Any, cities: Sequence[int], years: Sequence[int] = DEMO_YEARS) -> dict[str, int]:
    """Write the demo inventories, compute them and their sinks into ``store`` (a Store)."""
    from ecobasin.store import carbon as store_carbon

    table = generate(cities, years)
    defaults = fx.parameters()["defaults"]
    base = InventorySettings(0, 0, gwp_set=defaults["gwp_set"], factor_set=defaults["factor_set"])
    counts = store_carbon.save_activity(store, table, SOURCE, defaults=base, gdp_price_base=2020)
    report = store_carbon.recompute(store, sorted(table.lines))
    counts["emission_lines"] = int(report["emission_lines"])
    counts["failed_lines"] = int(report["failed_lines"])
    counts["sinks"] = store_carbon.replace_sinks(store, generate_sinks(cities, years), SOURCE)
    return counts
