"""The overview refreshes itself when new data arrive (issue 15, persona 4): while it shows the
latest hour, a newer stored hour (written here through the API by Chengdu's editor, as a
station would) appears on the map without a reload."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from .conftest import Server

pytestmark = pytest.mark.browser


def test_overview_shows_a_new_hour_without_a_reload(page: Any, server: Server) -> None:
    name, password, city = server.editor
    page.goto("/signin?next=/?refresh=2")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("#signin-form [type='submit']")
    page.wait_for_selector("#map[data-ready='true']")
    before = page.get_attribute("#map", "data-time")
    fresh = server.get("/api/v1/freshness").json()
    newer = datetime.fromisoformat(fresh["latest_hour"]) + timedelta(hours=1)
    label = newer.astimezone().isoformat()
    stations = server.get(f"/api/v1/sites?city={city}&kind=air_station").json()["results"]
    rows = [
        {"site_id": s["site_id"], "parameter": "PM2.5", "time": label, "value": 42}
        for s in stations
    ]
    token = page.get_attribute("meta[name='csrf-token']", "content")
    answer = page.request.post(
        "/api/v1/observations", data={"rows": rows}, headers={"X-CSRF-Token": token}
    )
    assert answer.status == 200, answer.text()
    assert server.get("/api/v1/freshness").json()["latest_hour"] != fresh["latest_hour"]
    page.wait_for_selector("#map[data-refreshes='1']")
    after = page.get_attribute("#map", "data-time")
    assert after != before
    assert datetime.fromisoformat(after.replace("Z", "+00:00")) == newer
