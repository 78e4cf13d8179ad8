"""Response models of the read API (they become the OpenAPI schemas).

Names are bilingual: every named thing carries ``name_zh`` and ``name_en`` and, for the
language the client asked for with ``lang``, ``name``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = [
    "City",
    "CityList",
    "Health",
    "HealthCounts",
    "Lang",
    "Observation",
    "ObservationPage",
    "Parameter",
    "ParameterList",
    "RegionInfo",
    "Site",
    "SiteList",
]

Lang = Literal["zh", "en"]


class RegionInfo(BaseModel):
    """The region this server answers for."""

    id: str = Field(examples=["chengdu_plain"])
    name_zh: str = Field(examples=["成都平原经济区"])
    name_en: str = Field(examples=["Chengdu Plain Economic Zone"])
    name: str
    cities: list[int] = Field(description="GB/T 2260 codes of the region's cities.")


class HealthCounts(BaseModel):
    """Row counts of the store."""

    cities_in_region: int
    sites: int
    observations: int
    meteorology: int
    rejected: int


class Health(BaseModel):
    """Whether the API and its store answer, and what the store holds."""

    status: Literal["ok"] = "ok"
    version: str = Field(description="ecobasin version.")
    schema_version: int = Field(description="Highest store migration applied.")
    region: RegionInfo
    counts: HealthCounts
    first_time: datetime | None = Field(description="Earliest observation (UTC).")
    last_time: datetime | None = Field(description="Latest observation (UTC).")


class City(BaseModel):
    """A prefecture-level city."""

    code: int = Field(description="GB/T 2260 division code.", examples=[510100])
    name_zh: str = Field(examples=["成都市"])
    name_en: str = Field(examples=["Chengdu"])
    name: str = Field(description="The name in the requested language.")
    province_zh: str | None = None
    province_en: str | None = None
    lon: float | None = Field(default=None, description="Label point [°E, WGS-84].")
    lat: float | None = Field(default=None, description="Label point [°N, WGS-84].")
    in_region: bool = Field(description="Whether the city belongs to the served region.")


class CityList(BaseModel):
    count: int
    results: list[City]


class Site(BaseModel):
    """A monitoring site: air station, micro-station, water section or enterprise outlet."""

    site_id: str = Field(examples=["1431A"])
    kind: str = Field(examples=["air_station"])
    level: str = Field(examples=["national"])
    city_code: int = Field(examples=[510100])
    city_zh: str | None = None
    city_en: str | None = None
    city: str | None = Field(default=None, description="City name in the requested language.")
    name_zh: str | None = None
    name_en: str | None = None
    name: str | None = Field(default=None, description="Site name in the requested language.")
    lon: float | None = Field(default=None, description="[°E, WGS-84]")
    lat: float | None = Field(default=None, description="[°N, WGS-84]")
    attributes: dict[str, Any] | None = None


class SiteList(BaseModel):
    count: int
    results: list[Site]


class Parameter(BaseModel):
    """A measured parameter of the registry, with its canonical unit."""

    parameter: str = Field(examples=["PM2.5"])
    domain: str = Field(examples=["air"])
    hj212_2017: str | None = Field(default=None, description="HJ 212-2017 factor code.")
    hj212_2005: str | None = Field(default=None, description="HJ/T 212-2005 code.")
    name_zh: str
    name_en: str
    name: str
    unit: str = Field(examples=["µg/m³"])
    min_value: float | None = None
    max_value: float | None = None
    decimals: int | None = None


class ParameterList(BaseModel):
    count: int
    results: list[Parameter]


class Observation(BaseModel):
    """One stored value. ``time_utc`` is the end of the averaging period."""

    site_id: str
    city_code: int
    parameter: str
    period: str = Field(examples=["1h"])
    time_utc: datetime = Field(description="End of the averaging period (UTC).")
    time_cst: str = Field(
        description="China Standard Time hour-ending label (YYYY-MM-DD HH:MM): 10:00 is the "
        "value averaged over 09:00–10:00 CST.",
        examples=["2024-01-01 10:00"],
    )
    value: float | None
    unit: str | None
    flag: str | None
    source: str


class ObservationPage(BaseModel):
    """One page of observations and the links to its neighbours."""

    total: int = Field(description="How many observations match the filters.")
    limit: int
    offset: int
    next: str | None = Field(description="URL of the next page, null on the last.")
    previous: str | None = Field(description="URL of the previous page, null on the first.")
    results: list[Observation]
