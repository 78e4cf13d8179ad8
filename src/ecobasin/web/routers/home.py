"""``GET /``: a small bilingual page linking the API, until the dashboard lands."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from ecobasin.store import queries
from ecobasin.web.deps import CursorDep, RegionDep

router = APIRouter(tags=["home"])

_LINKS = (
    ("/docs", "接口文档 (Swagger)", "API documentation (Swagger UI)"),
    ("/redoc", "接口文档 (ReDoc)", "API documentation (ReDoc)"),
    ("/api/v1/health", "服务状态", "Health and counts"),
    ("/api/v1/cities", "城市", "Cities of the region"),
    ("/api/v1/cities/boundaries", "城市边界 (GeoJSON)", "City boundaries (GeoJSON)"),
    ("/api/v1/sites", "监测点位", "Monitoring sites"),
    ("/api/v1/sites?format=geojson", "监测点位 (GeoJSON)", "Monitoring sites (GeoJSON)"),
    ("/api/v1/parameters", "监测参数", "Parameters"),
    ("/api/v1/observations?limit=100", "监测数据", "Observations (JSON)"),
    ("/api/v1/observations?format=csv&limit=1000", "监测数据 (CSV)", "Observations (CSV)"),
)


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(cursor: CursorDep, region: RegionDep) -> HTMLResponse:
    """A bilingual landing page: the region, what the store holds and links to the API."""
    summary = queries.summary(cursor, region.cities)
    span = "—"
    if summary["first_time"] is not None and summary["last_time"] is not None:
        span = f"{summary['first_time']:%Y-%m-%d %H:%M} – {summary['last_time']:%Y-%m-%d %H:%M} UTC"
    facts = (
        ("城市", "cities", summary["cities_in_region"]),
        ("监测点位", "sites", summary["sites"]),
        ("监测数据", "observations", summary["observations"]),
        ("时间范围", "time span", span),
    )
    rows = "\n".join(
        f"<tr><th>{zh} / {en}</th><td>{escape(str(value))}</td></tr>" for zh, en, value in facts
    )
    links = "\n".join(
        f'<li><a href="{escape(href)}">{escape(zh)}</a> · {escape(en)}</li>'
        for href, zh, en in _LINKS
    )
    title = f"{escape(region.name_zh)} · {escape(region.name_en)}"
    page = f"""<!doctype html>
<html lang="zh-CN">
<head><meta charset="utf-8"><title>ecobasin — {title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem}}
th{{text-align:left;padding-right:1rem}}</style></head>
<body>
<h1>ecobasin</h1>
<p>{title}</p>
<p lang="zh">生态环境共享平台数据接口</p>
<p lang="en">Shared environmental platform — read API</p>
<table>
{rows}
</table>
<h2>接口 / API</h2>
<ul>
{links}
</ul>
</body>
</html>
"""
    return HTMLResponse(page)
