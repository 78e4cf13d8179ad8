"""Item 14: security headers on every answer, a CSP without inline script (and templates that
need none), /docs and /redoc from packaged assets, paging links not built from Host."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from loopback import get as http_get

from .conftest import Served


@pytest.fixture(name="server")
def shared_read_only_server(read_only_server: Served) -> Served:
    """The package's read-only server (conftest): these tests only read answers and headers."""
    return read_only_server


PATHS = [
    "/",
    "/city/510100",
    "/rankings",
    "/data",
    "/water",
    "/carbon",
    "/forecast",
    "/live",
    "/signin",
    "/docs",
    "/redoc",
    "/api/v1/health",
    "/api/v1/observations?limit=2",
    "/api/v1/no-such-thing",
    "/static/js/common.js",
]


def _directives(policy: str) -> dict[str, list[str]]:
    parts = (part.split() for part in policy.split(";") if part.strip())
    return {words[0]: words[1:] for words in parts}


@pytest.mark.parametrize("path", PATHS)
def test_every_answer_carries_the_security_headers(server: Served, path: str) -> None:
    response = http_get(f"{server.base}{path}")
    assert response.status_code in (200, 404), response.text
    policy = _directives(response.headers["content-security-policy"])
    assert policy["script-src"] == ["'self'"]  # no inline, eval or foreign script
    if path in ("/docs", "/redoc"):  # the vendored bundles insert <style> elements
        assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    else:  # no <style> element anywhere else: style attributes only (ECharts' markers)
        assert policy["style-src"] == ["'self'"]
        assert policy.get("style-src-attr", ["'unsafe-inline'"]) == ["'unsafe-inline'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"


class _Scripts(HTMLParser):
    """Collects inline scripts, event-handler attributes and foreign script sources."""

    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []
        self.handlers: list[str] = []
        self.sources: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        self.handlers += [name for name, _ in attrs if name.startswith("on")]
        self.handlers += [f"{n}={v}" for n, v in attrs if (v or "").startswith("javascript:")]
        if tag == "script":
            if named.get("src"):
                self.sources.append(str(named["src"]))
            elif named.get("type") != "application/json":  # data blocks never execute
                self._in_script = True

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append(data.strip()[:80])

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False


@pytest.mark.parametrize("path", [p for p in PATHS if not p.startswith(("/api", "/static"))])
def test_pages_need_no_inline_script_and_load_only_own_assets(server: Served, path: str) -> None:
    found = _Scripts()
    found.feed(http_get(f"{server.base}{path}").text)
    assert found.inline == []
    assert found.handlers == []
    assert all(src.startswith("/static/") for src in found.sources), found.sources
    for src in found.sources:
        assert http_get(f"{server.base}{src}").status_code == 200, src


def test_templates_hold_no_inline_script_or_handlers() -> None:
    web = Path(__file__).resolve().parents[2] / "src" / "ecobasin" / "web"
    for template in sorted((web / "templates").glob("*.html")):
        found = _Scripts()
        found.feed(re.sub(r"{[{%#].*?[}%#]}", "", template.read_text()))
        assert (found.inline, found.handlers) == ([], []), template.name


def test_page_templates_hold_no_style_element() -> None:
    """The pages' CSP refuses <style> elements (CSS exfiltration through attribute selectors):
    page styles live in static/css. The PDF-only print template is rendered by WeasyPrint."""
    web = Path(__file__).resolve().parents[2] / "src" / "ecobasin" / "web"
    styled = [
        t.name for t in sorted((web / "templates").glob("*.html")) if "<style" in t.read_text()
    ]
    assert styled == ["emergency_evidence_print.html"]


def test_api_docs_come_from_packaged_assets(server: Served) -> None:
    docs = http_get(f"{server.base}/docs").text
    redoc = http_get(f"{server.base}/redoc").text
    for page in (docs, redoc):
        assert "cdn" not in page.lower() and "https://" not in page
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in docs
    assert "/static/vendor/redoc/redoc.standalone.js" in redoc
    for licence in ("swagger-ui/LICENSE", "redoc/LICENSE"):
        assert http_get(f"{server.base}/static/vendor/{licence}").status_code == 200


def test_paging_links_ignore_the_host_header(server: Served) -> None:
    response = http_get(
        f"{server.base}/api/v1/observations",
        params={"limit": 5},
        headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"},
    )
    assert response.status_code == 200
    assert response.json()["next"] == "/api/v1/observations?limit=5&offset=5"
    csv = http_get(
        f"{server.base}/api/v1/observations",
        params={"limit": 5, "format": "csv"},
        headers={"Host": "evil.example"},
    )
    assert "evil.example" not in csv.headers["link"]


@pytest.fixture
def configured(configured_server: Served) -> Served:
    """The package's server with a public URL set (conftest; its one heavy-export slot is
    another module's subject)."""
    return configured_server


def test_paging_links_use_the_configured_public_url(configured: Served) -> None:
    response = http_get(
        f"{configured.base}/api/v1/observations",
        params={"limit": 5},
        headers={"Host": "evil.example"},
    )
    assert response.json()["next"] == "https://eco.example.org/api/v1/observations?limit=5&offset=5"
