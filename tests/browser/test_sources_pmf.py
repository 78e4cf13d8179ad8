"""The PMF section of a station's source page (issue 19, B7) in a real browser against
``ecobasin serve``: a run of the real ESAT worker stored for station OWN shows its Q values, the
bootstrap's mapped share, the caption that factors are statistical and named by the analyst, and
the factor-profile and contribution figures loaded as PNGs."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import loopback
from ecobasin.services import pmf
from ecobasin.store import Store
from needs import require
from source_helpers import build
from sources.test_pmf_worker import synthetic_pure

from .conftest import ECOBASIN, PAGE_TIMEOUT_MS, _free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pmf_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = Path(os.environ.get("ECOBASIN_PMF_ENV", ROOT / ".pmf-env"))
    require(env / "bin" / "python", "the PMF worker environment",
            "`ecobasin sources pmf-setup --env .pmf-env`, as .ci/run does")  # fmt: skip
    db = tmp_path_factory.mktemp("pmf_browser") / "sources.duckdb"
    build(db)
    x, u = synthetic_pure(120)
    result = pmf.run_pmf(env, x, u, factors=3, models=20, bootstrap_n=20)
    with Store(db) as store:
        pmf.save_run(store, "OWN", result, models=20, seed=42, by="analyst",
                     at=datetime.now(UTC))  # fmt: skip
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    command = [*ECOBASIN, "serve", "--port", str(port), "--db", str(db)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        loopback.wait_for_health(url, process)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()


def test_the_pmf_section_shows_the_latest_run(browser: Any, pmf_server: str) -> None:
    context = browser.new_context(base_url=pmf_server, viewport={"width": 1300, "height": 1000})
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    tab = context.new_page()
    failures: list[str] = []
    tab.on("pageerror", lambda error: failures.append(f"script error: {error}"))
    tab.on("response", lambda r: failures.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)  # fmt: skip
    tab.goto("/sources/OWN")
    tab.locator("#pmf-section").scroll_into_view_if_needed()
    tab.wait_for_function(
        "() => [...document.querySelectorAll('.pmf-plots img')].every("
        "(img) => img.complete && img.naturalWidth > 500)"
    )
    sources = tab.evaluate(
        "[...document.querySelectorAll('.pmf-plots img')].map((i) => i.getAttribute('src'))"
    )
    assert [s.rsplit("/", 1)[1] for s in sources] == ["profiles.png", "contributions.png"]
    assert "named by the analyst" in tab.inner_text("#pmf-caption")
    assert tab.inner_text("#pmf-factors") == "3"
    assert "100 % 因子映射 mapped" in tab.inner_text("#pmf-bootstrap")
    q_true, q_robust, q_expected = tab.inner_text("#pmf-q").split(" / ")
    assert int(q_expected) == 120 * 10 - 3 * (120 + 10)
    assert 0 < float(q_robust) <= float(q_true) + 0.1  # robust Q down-weights, never adds
    context.close()
    assert not failures, "\n".join(failures)
