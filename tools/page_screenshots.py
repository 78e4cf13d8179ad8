"""Screenshots of the dashboard's pages for docs/dashboard.md, repeatable.

Serves a demo database (``ecobasin demo --no-serve`` first) on a free port, signs in as the
administrator in Debian's chromium (Playwright), and saves the top of each page, 900 px wide, to
``docs/img/page_<name>.png``. The browser tests take the screenshots of their tasks; this tool
takes the pages no test walks through as a whole.

    python tools/page_screenshots.py DEMO.duckdb ADMIN_PASSWORD
"""

from __future__ import annotations

import argparse
import io
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from PIL import Image
from playwright.sync_api import sync_playwright

OUT = Path(__file__).resolve().parents[1] / "docs" / "img"
#: (file name, path, a selector that shows the page has drawn)
PAGES = (
    ("water", "/water", "#water-map[data-ready='true'], .card"),
    ("noise", "/noise", "#compliance-table"),
    ("carbon", "/carbon", ".card"),
    ("data", "/data", ".card"),
    ("live", "/live", ".card"),
    ("admin", "/admin", ".card"),
    ("api_docs", "/docs", "#swagger-ui .information-container"),
    ("consultation", "/consultation", ".card, main"),
    ("emergency", "/emergency", ".card, main"),
    ("supervision", "/supervision", ".card, main"),
    ("machinery", "/machinery", ".card, main"),
    ("incidents", "/incidents", "#incident-list"),
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("db", type=Path)
    parser.add_argument("password")
    args = parser.parse_args()
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [sys.executable, "-c", "from ecobasin.cli import main; main()", "serve", "--no-gateway", "--port", str(port),
         "--db", str(args.db)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(600):
            try:
                if httpx.get(f"{url}/api/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        _shoot(url, args.password)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _shoot(url: str, password: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--headless", "--no-sandbox", "--disable-gpu"],
        )
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        page.goto(f"{url}/signin?next=/")
        page.fill("#name", "admin")
        page.fill("#password", password)
        page.click("#signin-form [type='submit']")
        page.wait_for_url(f"{url}/")
        for name, path, ready in PAGES:
            page.goto(f"{url}{path}")
            page.wait_for_selector(ready, timeout=60_000)
            page.wait_for_timeout(1500)  # charts finish their animation
            picture = Image.open(io.BytesIO(page.screenshot()))
            picture.thumbnail((900, 900))
            picture.save(OUT / f"page_{name}.png", optimize=True)
            print(f"{name}: {path}")
        browser.close()


if __name__ == "__main__":
    main()
