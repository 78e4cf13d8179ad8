"""Fixtures of the browser tests: a demo database built once, the real server on a free port
(``ecobasin serve`` in a subprocess) and Debian's chromium driven by Playwright.

Only the live page's tests (:data:`LIVE_PAGE_MODULES`) get a server running the simulated
enterprises (``serve --simulate 8``), for their module only: the simulation cost ~190 s of CPU
when one such server fed its gateway for the whole browser session (docs/measurements.md,
"fifth pass"). The other modules share one server whose gateway listens but is not fed.

Chromium is the system one (``/usr/bin/chromium``, installed by ``.ci/run``), never a browser
downloaded by Playwright. Without it the tests are skipped with the reason, except under CI
(env ``CI`` set), where a missing browser is a broken set-up and fails.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

import loopback
from demo_database import DemoDatabase, copy_demo
from ecobasin import catalog
from needs import require
from store_files import private_copy

CHROMIUM = Path("/usr/bin/chromium")
#: The features Playwright turns off in every chromium it launches (its own
#: ``--disable-features``, Playwright 1.65). Chromium reads only the last ``--disable-features``
#: of its command line, so ours repeats them (test_page_fixture.py checks the running browser).
PLAYWRIGHT_DISABLED_FEATURES = (
    "AvoidUnnecessaryBeforeUnloadCheckSync",
    "DestroyProfileOnBrowserClose",
    "HttpsUpgrades",
    "HttpsFirstBalancedModeAutoEnable",
    "LensOverlay",
    "MediaRouter",
    "PaintHolding",
    "ThirdPartyStoragePartitioning",
    "AvoidCorsURLLoaderRestartOnRedirect",
    "TcpPortRandomizationWin",
    "OptimizationHints",
    "NetworkTimeServiceQuerying",
    "AimEnabled",
    "PreconnectToSearch",
    "msForceBrowserSignIn",
    "msEdgeUpdateLaunchServicesPreferredVersion",
)
#: The address bar's pop-ups (chrome://omnibox-popup.top-chrome/, two WebUI pages) that the
#: headless chromium prepares for every window it opens, that is every context: each window
#: cost ~1 CPU-s (a renderer process of its own and the browser's set-up of it) that no page
#: and no test sees.
OMNIBOX_POPUP_FEATURES = ("WebUIOmniboxPopup", "WebUIOmniboxAimPopup")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-features=" + ",".join(PLAYWRIGHT_DISABLED_FEATURES + OMNIBOX_POPUP_FEATURES),
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
EDITOR = ("editor_chengdu", "a-long-test-password-2025", 510100)
VIEWER = ("viewer_region", "another-long-test-password-2025")
#: An administrator (issue 15: the phone-layout test opens /admin too).
ADMIN = ("admin_region", "an-admin-long-test-password-2025")
#: An editor of Deyang (issue 15: edits Deyang's sites, is refused on Chengdu's).
EDITOR_DEYANG = ("editor_deyang", "a-third-long-test-password-2025", 510600)
#: An editor of Ziyang, downstream of Chengdu on the Tuojiang (issue 22: acknowledges notices).
EDITOR_ZIYANG = ("editor_ziyang", "a-fourth-long-test-password-2025", 512000)
#: Simulated enterprises the server runs (``serve --simulate``; the demo registers 8 with its
#: seed, so these are the same outlets): the live page shows their data (tests/browser/test_live.py).
SIMULATED_ENTERPRISES = 8
#: The modules whose ``server`` runs the simulated enterprises: the live page's data and
#: redraws come from them. Every other module's server runs the gateway without devices.
LIVE_PAGE_MODULES = frozenset({"test_live.py", "test_live_redraw.py"})
SERVER_START_TIMEOUT = 120.0  # [s] a bound for a wedged server, not a performance limit
PAGE_TIMEOUT_MS = 60_000
#: The motion preference of the tests' pages (Playwright's ``reduced_motion``): see
#: :class:`ReducedMotionBrowser`.
REDUCED_MOTION = "reduce"
ECOBASIN = (
    sys.executable,
    "-c",
    "from ecobasin.cli import main; main()",
)  # the machine is shared and slow at times


@dataclass(frozen=True)
class DemoFacts:
    """What the demo store holds, read from the DuckDB file before the server takes it."""

    air_stations: int  # air stations of the region's cities
    stations_by_city: dict[int, int]
    latest_hour_aqi: dict[str, int | None]  # site id -> AQI of the latest stored hour
    water_sections: int = 0  # water sections of the store (issue 7)
    water_month: str | None = None  # the latest evaluated month
    water_classes: dict[str, str] = field(default_factory=dict)  # site id -> class that month
    #: city -> year -> sectors with emission lines (issue 8)
    carbon_sectors: dict[int, dict[int, set[str]]] = field(default_factory=dict)
    enterprises: int = 0  # enterprise outlets (gas_outlet, water_outlet) registered (issue 5)


@dataclass(frozen=True)
class Server:
    url: str
    facts: DemoFacts
    editor: tuple[str, str, int]  # name, password, city code of an editor made for the tests
    viewer: tuple[str, str] = VIEWER  # name, password of a viewer made for the tests
    editor_deyang: tuple[str, str, int] = EDITOR_DEYANG  # an editor of another city
    admin: tuple[str, str] = ADMIN  # name, password of an administrator made for the tests
    log: Path | None = None  # the server's stderr: its tracebacks name the cause of an HTTP 500

    def log_tail(self, chars: int = 4000) -> str:
        """The end of the server's log, for a failure message."""
        if self.log is None or not self.log.exists():
            return ""
        return self.log.read_text(encoding="utf-8", errors="replace")[-chars:]

    def get(self, path: str, **params: Any) -> httpx.Response:
        # no params: keep a query already in `path` (httpx replaces it with params={})
        return loopback.get(f"{self.url}{path}", params=params or None, timeout=60)


def _read_facts(db: Path) -> DemoFacts:
    cities = list(catalog.load_region().cities)
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            "SELECT city_code, count(*) FROM sites WHERE kind = 'air_station' "
            "AND city_code = ANY(?) GROUP BY city_code",
            [cities],
        ).fetchall()
        latest = con.execute(
            "SELECT scope_id, aqi FROM aqi_hourly WHERE scope = 'site' AND time = "
            "(SELECT max(time) FROM aqi_hourly WHERE scope = 'site')"
        ).fetchall()
        water = _read_water_carbon_facts(con)
        (enterprises,) = con.execute(
            "SELECT count(*) FROM sites WHERE kind IN ('gas_outlet', 'water_outlet')"
        ).fetchone()
    by_city = {int(code): int(n) for code, n in rows}
    return DemoFacts(
        air_stations=sum(by_city.values()),
        stations_by_city=by_city,
        latest_hour_aqi={str(site): None if aqi is None else int(aqi) for site, aqi in latest},
        enterprises=int(enterprises),
        **water,
    )


def _read_water_carbon_facts(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Water sections, their classes of the latest month and the carbon sectors by city and
    year (tests/browser/test_water_carbon.py)."""
    (sections,) = con.execute("SELECT count(*) FROM sites WHERE kind = 'water_section'").fetchone()
    (month,) = con.execute(
        "SELECT max(period) FROM water_section_results WHERE period_kind = 'month'"
    ).fetchone()
    classes = con.execute(
        "SELECT site_id, class FROM water_section_results WHERE period = ?", [month]
    ).fetchall()
    sectors: dict[int, dict[int, set[str]]] = {}
    for city, year, sector in con.execute(
        "SELECT DISTINCT i.city_code, i.year, e.sector FROM carbon_emissions e "
        "JOIN carbon_inventories i USING (inventory_id)"
    ).fetchall():
        sectors.setdefault(int(city), {}).setdefault(int(year), set()).add(str(sector))
    return {
        "water_sections": int(sections),
        "water_month": month,
        "water_classes": {str(site): str(cls) for site, cls in classes},
        "carbon_sectors": sectors,
    }


def _ecobasin(*args: str, stdin: str | None = None) -> None:
    """Run the ``ecobasin`` command line in this process (typer's runner on the real app): the
    set-up's ``user add`` tests no process boundary, and a process paid ~1.5 s of CPU for its
    imports alone."""
    from typer.testing import CliRunner

    from ecobasin.cli import app

    result = CliRunner().invoke(app, list(args), input=stdin)
    assert result.exit_code == 0, f"ecobasin {' '.join(args)}:\n{result.output}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    return require(CHROMIUM, "Debian's chromium", "apt-get install chromium; .ci/run installs it")


@dataclass(frozen=True)
class ServedDatabase:
    """The demo database with the tests' users, and what it holds, before a server takes it."""

    path: Path
    facts: DemoFacts


@pytest.fixture(scope="session")
def served_database(
    tmp_path_factory: pytest.TempPathFactory, chromium_path: Path, demo_database: DemoDatabase
) -> ServedDatabase:
    """A copy of the session's demo database (``ecobasin demo --no-serve``, tests/conftest.py)
    with the tests' users; each server serves a copy of it."""
    db = copy_demo(demo_database, tmp_path_factory.mktemp("browser"))
    for name, password, city in (EDITOR, EDITOR_DEYANG, EDITOR_ZIYANG):
        _ecobasin(
            "user",
            "add",
            name,
            "--role",
            "editor",
            "--city",
            str(city),
            "--password-stdin",
            "--db",
            str(db),
            stdin=password + "\n",
        )
    for (name, password), role in ((VIEWER, "viewer"), (ADMIN, "admin")):
        _ecobasin(
            "user", "add", name, "--role", role, "--password-stdin", "--db", str(db),
            stdin=password + "\n",
        )  # fmt: skip
    return ServedDatabase(path=db, facts=_read_facts(db))


@contextmanager
def _serving(served: ServedDatabase, folder: Path, *feed: str) -> Iterator[Server]:
    """``ecobasin serve`` on a copy of ``served`` with the HJ 212 gateway (any free port) and
    the ``feed`` options, stopped at the end."""
    db = private_copy(served.path, folder / served.path.name)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [*ECOBASIN, "serve", "--port", str(port), "--db", str(db)]
    command += ["--gateway-port", "0", *feed]
    # stderr to a file, not an unread pipe: a full pipe would stall the server's logging, and
    # the file keeps the traceback behind an HTTP 500 for the failing test's message
    log = folder / "serve.log"
    with log.open("wb") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        loopback.wait_for_health(url, process, SERVER_START_TIMEOUT)
        yield Server(url=url, facts=served.facts, editor=EDITOR, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def quiet_server(
    served_database: ServedDatabase, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The server of the modules that do not show live data: its gateway listens (the live
    page and its API answer), no device feeds it."""
    with _serving(served_database, tmp_path_factory.mktemp("served"), "--gateway") as served:
        yield served


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest, served_database: ServedDatabase) -> Iterator[Server]:
    """The served demo: for the modules of :data:`LIVE_PAGE_MODULES` a server of their own fed
    by the simulated enterprises for the module's duration; the shared quiet one otherwise."""
    if request.path.name not in LIVE_PAGE_MODULES:
        yield request.getfixturevalue("quiet_server")
        return
    folder = request.getfixturevalue("tmp_path_factory").mktemp("served-live")
    with _serving(served_database, folder, "--simulate", str(SIMULATED_ENTERPRISES)) as served:
        yield served


class ReducedMotionBrowser:
    """A Playwright browser whose new contexts and pages prefer reduced motion unless told
    otherwise (``reduced_motion="no-preference"``): our pages then draw their charts without
    ECharts' animations, which cost chromium ~1 s of CPU per chart and which no test reads
    (test_dashboard.py proves both ways)."""

    def __init__(self, browser: Any) -> None:
        self._browser = browser

    def new_context(self, **options: Any) -> Any:
        return self._browser.new_context(**{"reduced_motion": REDUCED_MOTION, **options})

    def new_page(self, **options: Any) -> Any:
        return self._browser.new_page(**{"reduced_motion": REDUCED_MOTION, **options})

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)


@pytest.fixture(scope="package")
def shared_chromium(chromium_path: Path) -> Iterator[Any]:
    """One Playwright driver and one chromium for the browser tests a worker runs in a row: a
    launch cost ~4 s of CPU (the browser, GPU and utility processes and the node driver), once
    per module before.

    Per package, not per session: Playwright's sync API runs an asyncio loop in this thread
    while it is open, and the non-browser tests after them call asyncio.run themselves. pytest
    tears a package fixture down in the teardown of the package's last test, as the next test
    (which xdist's worker knows before it runs a test) lies outside the package.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(chromium_path), args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@contextmanager
def closing_left_contexts(launched: Any) -> Iterator[Any]:
    """``launched`` (a shared chromium) for one module; the contexts the module left open are
    closed at its end, as closing its own browser did: a page left open (a live page polling
    its server) does not run on into the next modules."""
    try:
        yield launched
    finally:
        for context in list(launched.contexts):
            context.close()


@pytest.fixture(scope="module")
def browser(shared_chromium: Any) -> Iterator[Any]:
    """The shared chromium (:func:`shared_chromium`) for one module, preferring reduced motion
    (:class:`ReducedMotionBrowser`)."""
    with closing_left_contexts(shared_chromium) as launched:
        yield ReducedMotionBrowser(launched)


#: The window of a ``page`` (CSS pixels).
PAGE_VIEWPORT = {"width": 1400, "height": 1000}
PAGE_LOCALE = "zh-CN"


class ModuleTab:
    """One context and tab that the ``page`` tests of a module take in turn: a fresh context
    per test cost chromium ~1 CPU-s (its renderer process and the browser's set-up), a page
    load in a tab that lives on ~0.5. :meth:`fresh` leaves nothing of the test before: it
    leaves the page (its scripts and polls end), drops the origin's cookies, storage and the
    HTTP cache, routes, the window size, the motion preference and the mouse position, as a new
    context has them.
    ``locale`` is the context's language (``navigator.language``, ``Accept-Language``) for all
    the module's tests; None keeps the browser's own."""

    def __init__(self, browser: Any, url: str, locale: str | None = PAGE_LOCALE) -> None:
        self._browser = browser
        self._url = url
        self._locale = locale
        self._tab: Any = None
        self._motion = "no-preference"

    @contextmanager
    def taken(
        self, listeners: dict[str, Any], viewport: dict[str, int] | None = None
    ) -> Iterator[Any]:
        """The tab, :meth:`fresh` at ``viewport``, with ``listeners`` (event -> callable) on
        it for the test only; at the end the tab has left the test's page."""
        tab = self.fresh()
        if viewport is not None:
            tab.set_viewport_size(viewport)
        for event, listener in listeners.items():
            tab.on(event, listener)
        try:
            yield tab
        finally:
            self.leave()
            for event, listener in listeners.items():
                tab.remove_listener(event, listener)

    def fresh(self) -> Any:
        if self._tab is None or self._tab.is_closed():
            self._open()
        tab = self._tab
        tab.unroute_all(behavior="ignoreErrors")
        tab.goto("about:blank")
        context = tab.context
        context.clear_cookies()
        context.clear_permissions()
        cdp = context.new_cdp_session(tab)
        cdp.send("Storage.clearDataForOrigin", {"origin": self._url, "storageTypes": "all"})
        cdp.send("Network.clearBrowserCache")
        cdp.detach()
        tab.set_viewport_size(PAGE_VIEWPORT)
        tab.emulate_media(reduced_motion=self._motion)
        tab.mouse.move(0, 0)
        return tab

    @property
    def url(self) -> str:
        """The address of the page the tab shows."""
        return str(self._tab.url)

    def leave(self) -> None:
        """End the test's page (its scripts, polls and requests), as closing its context did."""
        if not self._tab.is_closed():
            self._tab.goto("about:blank")

    def close(self) -> None:
        if self._tab is not None:
            self._tab.context.close()

    def _open(self) -> None:
        self.close()
        language = {} if self._locale is None else {"locale": self._locale}
        context = self._browser.new_context(base_url=self._url, viewport=PAGE_VIEWPORT, **language)
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        self._tab = context.new_page()
        # the context's motion preference, which a test may change with ``emulate_media``
        reduced = self._tab.evaluate("matchMedia('(prefers-reduced-motion: reduce)').matches")
        self._motion = "reduce" if reduced else "no-preference"


@pytest.fixture(scope="module")
def module_tab(browser: Any, server: Server) -> Iterator[ModuleTab]:
    """The tab the ``page`` tests of one module take in turn (:class:`ModuleTab`)."""
    shared = ModuleTab(browser, server.url)
    yield shared
    shared.close()


def failure_listeners(failures: list[str]) -> dict[str, Any]:
    """Listeners for :meth:`ModuleTab.taken` that note script errors and failed requests (HTTP
    400 and above) into ``failures``, for the test to assert there are none."""
    return {
        "pageerror": lambda error: failures.append(f"script error: {error}"),
        "response": lambda r: (
            failures.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None
        ),
    }


@pytest.fixture
def page(module_tab: ModuleTab, server: Server) -> Iterator[Any]:
    """A browser page with nothing of the tests before it (no cookies, storage, cache or
    routes: :meth:`ModuleTab.fresh`) that fails the test on any script error or failed API
    call."""
    errors: list[str] = []
    # the stack names the script and line, so a rare failure in CI can be found from its log
    listeners: dict[str, Any] = {
        "pageerror": lambda error: errors.append(
            f"script error: {error} at {module_tab.url}\n{error.stack}"
        ),
        "console": lambda message: (
            errors.append(f"console: {message.text}") if message.type == "error" else None
        ),
        "response": lambda response: (
            errors.append(f"HTTP {response.status} {response.url}")
            if response.status >= 400
            else None
        ),
    }
    with module_tab.taken(listeners) as tab:
        yield tab
    if any(error.startswith("HTTP 5") for error in errors):
        errors.append(f"server log (tail):\n{server.log_tail()}")
    assert not errors, "\n".join(errors)


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot to test-artifacts/screenshots/NAME.png (not committed)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
