"""``/docs`` (Swagger UI) and ``/redoc`` (Redoc) from assets vendored in the package.

FastAPI's defaults load unpinned scripts from a CDN on the admin's origin and show a blank
page on an offline bureau network; these pages load only ``/static/vendor/swagger-ui/`` and
``/static/vendor/redoc/`` and start Swagger UI from ``/static/js/api_docs.js``, so the
Content-Security-Policy needs no inline script (OWASP ASVS 4.0 V14.2.3, V14.4.3).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from ecobasin.web.middleware import API_DOCS_CONTENT_SECURITY_POLICY

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_SWAGGER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>ecobasin API · 接口文档</title>
<link rel="icon" href="/static/favicon.svg">
<link rel="stylesheet" href="/static/vendor/swagger-ui/swagger-ui.css">
</head><body>
<div id="swagger-ui" data-openapi-url="/openapi.json"></div>
<script src="/static/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/js/api_docs.js"></script>
</body></html>
"""

_REDOC = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>ecobasin API · 接口文档 (Redoc)</title>
<link rel="icon" href="/static/favicon.svg">
</head><body>
<redoc spec-url="/openapi.json" disable-telemetry="true"></redoc>
<script type="module" src="/static/vendor/redoc/redoc.standalone.js"></script>
</body></html>
"""


#: the vendored bundles insert <style> elements: these two pages allow inline styles
_OWN_POLICY = {"Content-Security-Policy": API_DOCS_CONTENT_SECURITY_POLICY}


@router.get("/docs", response_class=HTMLResponse)
def swagger_ui() -> HTMLResponse:
    """The interactive OpenAPI documentation (Swagger UI 5.35.0, vendored)."""
    return HTMLResponse(_SWAGGER, headers=_OWN_POLICY)


@router.get("/redoc", response_class=HTMLResponse)
def redoc() -> HTMLResponse:
    """The OpenAPI reference (Redoc 3.0.1, vendored)."""
    return HTMLResponse(_REDOC, headers=_OWN_POLICY)
