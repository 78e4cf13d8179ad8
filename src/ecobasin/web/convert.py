"""Store frames to response models, GeoJSON and CSV text (no SQL, no I/O)."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from typing import Any, cast

import pandas as pd

from ecobasin import catalog, timebase
from ecobasin.services.cells import pick
from ecobasin.services.editing import UploadResult
from ecobasin.web.models import City, Lang, Parameter, RejectedLine, Site, UploadOut

__all__ = [
    "CSV_COLUMNS",
    "boundaries_geojson",
    "city_models",
    "csv_header",
    "csv_rows",
    "observation_records",
    "parameter_models",
    "site_models",
    "sites_geojson",
    "upload_out",
]

CSV_COLUMNS = (
    "site_id",
    "city_code",
    "parameter",
    "period",
    "time_utc",
    "time_cst",
    "value",
    "unit",
    "flag",
    "source",
)


def _clean(value: Any) -> Any:
    """``None`` for SQL NULLs that pandas shows as NaN/NA."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {str(key): _clean(value) for key, value in row.items()}
        for row in frame.to_dict(orient="records")
    ]


def city_models(frame: pd.DataFrame, region: catalog.Region, lang: Lang) -> list[City]:
    rows = []
    for row in _records(frame):
        rows.append(
            City(
                code=int(row["code"]),
                name_zh=row["name_zh"],
                name_en=row["name_en"],
                name=pick(lang, row["name_zh"], row["name_en"]) or str(row["code"]),
                province_zh=row.get("province_zh"),
                province_en=row.get("province_en"),
                lon=row.get("lon"),
                lat=row.get("lat"),
                in_region=int(row["code"]) in region.cities,
            )
        )
    return rows


def parameter_models(frame: pd.DataFrame, lang: Lang) -> list[Parameter]:
    return [
        Parameter(**row, name=pick(lang, row["name_zh"], row["name_en"]) or row["parameter"])
        for row in _records(frame)
    ]


def site_models(frame: pd.DataFrame, lang: Lang) -> list[Site]:
    rows = []
    for row in _records(frame):
        attributes = row.pop("attributes", None)
        rows.append(
            Site(
                **row,
                city=pick(lang, row["city_zh"], row["city_en"]),
                name=pick(lang, row["name_zh"], row["name_en"]),
                attributes=json.loads(attributes) if attributes else None,
            )
        )
    return rows


def sites_geojson(sites: Sequence[Site]) -> dict[str, Any]:
    """An RFC 7946 FeatureCollection of sites: Point geometries [lon, lat] (WGS-84), null
    geometry when a site has no coordinates; the site's other fields as properties."""
    features = []
    for site in sites:
        properties = site.model_dump(exclude={"lon", "lat"})
        geometry = (
            {"type": "Point", "coordinates": [site.lon, site.lat]}
            if site.lon is not None and site.lat is not None
            else None
        )
        features.append(
            {"type": "Feature", "id": site.site_id, "geometry": geometry, "properties": properties}
        )
    return {"type": "FeatureCollection", "features": features}


def boundaries_geojson(region: catalog.Region, lang: Lang) -> dict[str, Any]:
    """The region's city polygons (``catalog.boundaries``) with a ``name`` in ``lang``."""
    collection = catalog.boundaries(region)
    features = []
    for feature in collection["features"]:
        properties = dict(feature["properties"])
        properties["name"] = pick(lang, properties.get("name_zh"), properties.get("name_en"))
        features.append({**feature, "properties": properties})
    return {"type": "FeatureCollection", "features": features}


def _time_columns(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    utc = frame["time"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    cst = timebase.period_end_label(frame["time"], frame["period"])
    return utc, cst


def observation_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Observations as JSON-ready dicts shaped like :class:`Observation` (vectorised: a page
    of 100 000 rows is converted without building a model per row)."""
    if frame.empty:
        return []
    utc, cst = _time_columns(frame)
    table = frame.assign(time_utc=utc, time_cst=cst)[list(CSV_COLUMNS)].astype(object)
    table = table.where(table.notna(), None)
    # the keys are CSV_COLUMNS, already strings: no dict per row to rebuild
    return cast(list[dict[str, Any]], table.to_dict(orient="records"))


def csv_header() -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(CSV_COLUMNS)
    return buffer.getvalue()


def csv_rows(frame: pd.DataFrame) -> str:
    """CSV lines (no header) for a chunk of observations; times as ISO UTC and CST labels."""
    if frame.empty:
        return ""
    utc, cst = _time_columns(frame)
    table = frame.assign(time_utc=utc, time_cst=cst)[list(CSV_COLUMNS)].astype(object)
    # missing cells (None, NaN, NA, NaT: what _clean clears) as empty fields, column-wise
    # rather than a test per cell: a 100 000-row export spent most of its time on those tests
    table = table.where(table.notna(), "")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows(table.itertuples(index=False, name=None))
    return buffer.getvalue()


def _text_cells(frame: Any) -> list[dict[str, Any]]:
    """Rows with every cell as text, missing cells None."""
    return [
        {k: (None if v is None or v != v else str(v)) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


def upload_out(result: UploadResult, layout: str) -> UploadOut:
    """The import report of one upload (the API's answer and the editing page's report)."""
    report = result.report
    return UploadOut(
        source=result.source,
        layout=layout,
        records=report["records"],
        inserted=report["inserted"],
        replaced=report["replaced"],
        unchanged=report["unchanged"],
        missing=report["missing"],
        sites_added=report["sites_added"],
        rejected_counts=report["rejected"],
        rejected=[RejectedLine(**row) for row in _text_cells(result.rejected)],
        aqi_site_days=result.aqi_site_days,
    )
