"""ecobasin: the shared environmental platform of a city region.

A functional core (``ecobasin.catalog``, ``standards``, ``forecast``, ``carbon``, ``alarms``)
inside an I/O shell (``ingest``, ``gateway``, ``store``, ``services``, ``jobs``, ``web``, ``cli``);
see ``docs/architecture.md``.

The names below are the public API for library users: the official indices and assessments
(HJ 633-2012/2026, GB 3095-2012, HJ 663-2013, GB 3838-2002, GB/T 8170), the readers
(``read_*`` → ``(frame, meta)``), the database (:class:`Store`), regions and the error
hierarchy. They are imported on first use, so ``import ecobasin`` stays cheap and loads no
database driver.

>>> import ecobasin
>>> ecobasin.iaqi_value("CO_24h", 2.2, "HJ633-2012")  # [mg/m³] -> IAQI, HJ 633-2012 表1
55
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ecobasin.catalog import Region, load_region
    from ecobasin.errors import EcobasinError, InputError, NotFound, StoreBusyError, UnitError
    from ecobasin.ingest.cnemc import read_cnemc
    from ecobasin.ingest.cnemc_water import read_cnemc_water
    from ecobasin.ingest.csvmap import load_mapping, read_mapped_csv, read_tidy_csv
    from ecobasin.ingest.hj212 import parse_segment
    from ecobasin.ingest.met_forecast import read_met_forecast
    from ecobasin.standards.air import (
        annual_statistics,
        aqi_level,
        city_ranking,
        composite_index,
        daily_aqi,
        hourly_aqi,
        iaqi,
        iaqi_value,
        is_valid,
        round_gbt8170,
    )
    from ecobasin.standards.water import classify, cwqi_section, main_pollutants, tli
    from ecobasin.store import Store

__version__ = "0.1.0"

#: public name -> the module that defines it (imported on first access, PEP 562)
_SOURCES: dict[str, str] = {
    **dict.fromkeys(("Region", "load_region"), "ecobasin.catalog"),
    **dict.fromkeys(
        ("EcobasinError", "InputError", "NotFound", "StoreBusyError", "UnitError"),
        "ecobasin.errors",
    ),
    "read_cnemc": "ecobasin.ingest.cnemc",
    "read_cnemc_water": "ecobasin.ingest.cnemc_water",
    **dict.fromkeys(("load_mapping", "read_mapped_csv", "read_tidy_csv"), "ecobasin.ingest.csvmap"),
    "parse_segment": "ecobasin.ingest.hj212",
    "read_met_forecast": "ecobasin.ingest.met_forecast",
    **dict.fromkeys(
        (
            "annual_statistics",
            "aqi_level",
            "city_ranking",
            "composite_index",
            "daily_aqi",
            "hourly_aqi",
            "iaqi",
            "iaqi_value",
            "is_valid",
            "round_gbt8170",
        ),
        "ecobasin.standards.air",
    ),
    **dict.fromkeys(
        ("classify", "cwqi_section", "main_pollutants", "tli"), "ecobasin.standards.water"
    ),
    "Store": "ecobasin.store",
}

__all__ = [
    "EcobasinError",
    "InputError",
    "NotFound",
    "Region",
    "Store",
    "StoreBusyError",
    "UnitError",
    "__version__",
    "annual_statistics",
    "aqi_level",
    "city_ranking",
    "classify",
    "composite_index",
    "cwqi_section",
    "daily_aqi",
    "hourly_aqi",
    "iaqi",
    "iaqi_value",
    "is_valid",
    "load_mapping",
    "load_region",
    "main_pollutants",
    "parse_segment",
    "read_cnemc",
    "read_cnemc_water",
    "read_mapped_csv",
    "read_met_forecast",
    "read_tidy_csv",
    "round_gbt8170",
    "tli",
]


def __getattr__(name: str) -> Any:
    if name in _SOURCES:
        value = getattr(importlib.import_module(_SOURCES[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'ecobasin' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
