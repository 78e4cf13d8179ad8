"""``/docs`` (Swagger UI) and ``/redoc`` work offline (issue 15, item 7): their HTML references
only same-origin assets (the vendored bundles under /static/vendor/), and in a real chromium
that may reach nothing but the server they render the API's title without a single request
leaving the origin."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest

from .conftest import Server

pytestmark = pytest.mark.browser

TITLE = "ecobasin API"  # the OpenAPI title (ecobasin.web.app)
#: every URL an HTML page refers to: src, href, spec-url, data-*-url attributes and url(...)
REFERENCE = re.compile(r"""(?:\b(?:src|href|spec-url|data-[a-z-]*url)\s*=\s*["']([^"']*)["'])""")


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_html_references_only_same_origin_assets(server: Server, path: str) -> None:
    html = server.get(path).text
    references = REFERENCE.findall(html)
    assert any(ref.startswith("/static/vendor/") for ref in references)  # the vendored bundle
    foreign = [ref for ref in references if not ref.startswith("/") or ref.startswith("//")]
    assert not foreign, f"{path} refers to {foreign}"
    assert "http://" not in html and "https://" not in html


@pytest.mark.parametrize(
    ("path", "title"), [("/docs", ".swagger-ui .info .title"), ("/redoc", "h1")]
)
def test_the_page_renders_the_title_with_no_request_leaving_the_origin(
    page: Any, server: Server, path: str, title: str
) -> None:
    origin = urlsplit(server.url).netloc
    outside: list[str] = []

    def only_here(route: Any) -> None:
        url = route.request.url
        if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc != origin:
            outside.append(url)
            route.abort()  # as on an offline bureau network
        else:
            route.continue_()

    page.route("**/*", only_here)
    page.goto(path)
    heading = page.locator(title).first
    heading.wait_for(state="visible")
    assert heading.inner_text().startswith(TITLE)
    assert not outside, f"{path} asked outside the server: {outside}"
