"""A city editor's work in the browser, start to finish (issue 15, persona 1): a Deyang editor
creates a site of Deyang (coordinates outside Deyang are refused with the reason), edits it,
uploads a tidy CSV with good and bad lines (the report shows the rejected lines with their
reasons and downloads them as CSV), invalidates a range with a reason, sees all of it in the
city's audit log and retires the site; the same editor is refused on a Chengdu site and on a
file naming one, through the pages, and nothing is written then.

The page fails the test on any script error or failed request except the refusals a step
declares it expects (status and path), and every declared refusal must happen.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from .conftest import ModuleTab, Server, screenshot

pytestmark = pytest.mark.browser

SITE = "DY-T15"  # a micro-station the test creates in Deyang
DEYANG_POINT = (104.40, 31.13)  # [°E, °N] central Deyang
CHENGDU_POINT = (104.06, 30.66)  # [°E, °N] central Chengdu: not in Deyang
HOURS = ("2025-06-01T10:00", "2025-06-01T11:00", "2025-06-01T12:00")  # CST, hour-ending
PHONE = {"width": 390, "height": 844}
FAILED_RESOURCE = "Failed to load resource: the server responded with a status of "


@dataclass
class Tab:
    """A browser tab whose unexpected failures are collected; ``expect`` declares one."""

    page: Any
    errors: list[str] = field(default_factory=list)
    expected: list[tuple[int, str]] = field(default_factory=list)
    seen: list[tuple[int, str]] = field(default_factory=list)

    def expect(self, status: int, path: str) -> None:
        self.expected.append((status, path))

    def on_console(self, message: Any) -> None:
        # chromium also logs each failed response; an expected one is not an error
        text = str(message.text)
        logged = text.startswith(FAILED_RESOURCE)
        status = text.removeprefix(FAILED_RESOURCE).split(" ", 1)[0] if logged else ""
        if message.type != "error" or status in {str(code) for code, _ in self.expected}:
            return
        self.errors.append(f"console: {text}")

    def on_response(self, response: Any) -> None:
        if response.status < 400:
            return
        path = response.url.split("://", 1)[-1].split("/", 1)[-1]
        key = (response.status, "/" + path.split("?", 1)[0])
        if key in self.expected and key not in self.seen:
            self.seen.append(key)
        else:
            self.errors.append(f"HTTP {response.status} {response.url}")


@pytest.fixture
def tab(module_tab: ModuleTab) -> Iterator[Tab]:
    """The module's tab (``ModuleTab``: nothing of the test before), failing on script errors
    and on refusals the test did not expect."""
    result = Tab(page=None)
    listeners: dict[str, Any] = {
        "pageerror": lambda error: result.errors.append(f"script error: {error}"),
        "console": result.on_console,
        "response": result.on_response,
    }
    with module_tab.taken(listeners) as page:
        result.page = page
        yield result
    assert not result.errors, "\n".join(result.errors)
    assert sorted(result.seen) == sorted(result.expected), "an expected refusal did not happen"


def _sign_in(page: Any, name: str, password: str) -> None:
    page.goto("/signin?next=/edit")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("#signin-form [type='submit']")
    page.wait_for_selector("#sites-table")


def _site_ids(page: Any) -> list[str]:
    return page.eval_on_selector_all(
        "#sites-table tbody tr[data-site]", "rs => rs.map(r => r.dataset.site)"
    )


def _new_site(page: Any, lon: float, lat: float) -> None:
    page.fill("#new-site input[name='site_id']", SITE)
    page.select_option("#new-site select[name='kind']", "micro_station")
    page.fill("#new-site input[name='name_zh']", "德阳测试微站")
    page.fill("#new-site input[name='name_en']", "Deyang test micro-station")
    page.fill("#new-site input[name='lon']", str(lon))
    page.fill("#new-site input[name='lat']", str(lat))
    page.click("#new-site [type='submit']")
    page.wait_for_load_state()


def _tidy_csv(rows: list[tuple[str, str, str, str]]) -> bytes:
    out = io.StringIO()
    out.write("site,parameter,time,value\n")
    for row in rows:
        out.write(",".join(row) + "\n")
    return out.getvalue().encode("utf-8")


def _upload(page: Any, name: str, content: bytes) -> None:
    page.goto("/edit")
    page.set_input_files(
        "#upload-form input[type='file']",
        files=[{"name": name, "mimeType": "text/csv", "buffer": content}],
    )
    page.click("#upload-form [type='submit']")
    page.wait_for_selector("#upload-report, #upload-error")


def _stored(server: Server, site: str) -> list[dict[str, Any]]:
    answer = server.get(f"/api/v1/observations?site={site}&parameter=PM2.5&limit=100")
    assert answer.status_code == 200, answer.text
    rows: list[dict[str, Any]] = answer.json()["results"]
    return rows


def test_deyang_editor_creates_uploads_invalidates_and_retires_a_site(
    tab: Tab, server: Server
) -> None:
    page = tab.page
    name, password, city = server.editor_deyang
    _sign_in(page, name, password)
    assert page.get_attribute("#edit-city", "data-city") == str(city)
    # only Deyang's sites are offered, its enterprise outlets included (an editor reads them)
    listed = page.request.get(f"/api/v1/sites?city={city}").json()["results"]
    assert {s["site_id"] for s in listed} == set(_site_ids(page))
    assert {s["kind"] for s in listed} >= {"air_station", "gas_outlet"}
    assert page.locator("#nav-edit[aria-current='page']").count() == 1
    # coordinates in Chengdu are refused with the reason, and the form keeps what was typed
    tab.expect(422, "/edit/sites")
    _new_site(page, *CHENGDU_POINT)
    assert "lon" in page.locator("#edit-error").inner_text()
    assert page.input_value("#new-site input[name='site_id']") == SITE
    assert SITE not in _site_ids(page)
    _new_site(page, *DEYANG_POINT)
    assert SITE in page.locator("#edit-notice").inner_text()
    assert SITE in _site_ids(page)
    # edit its English name on the site's own page
    page.click(f"#sites-table a[href='/edit/sites/{SITE}']")
    page.fill("#site-form input[name='name_en']", "Deyang test station (edited)")
    page.click("#site-form [type='submit']")
    page.wait_for_selector("#edit-notice")
    stored_site = next(
        s
        for s in server.get(f"/api/v1/sites?city={city}").json()["results"]
        if s["site_id"] == SITE
    )
    assert stored_site["name_en"] == "Deyang test station (edited)"
    assert stored_site["kind"] == "micro_station"
    # upload: three good hours, a negative value and an unknown parameter
    good = [(SITE, "PM2.5", hour, str(v)) for hour, v in zip(HOURS, (35, 41, 38), strict=True)]
    bad = [(SITE, "PM2.5", "2025-06-01T13:00", "-5"), (SITE, "XYZ", "2025-06-01T10:00", "3")]
    _upload(page, "deyang_june.csv", _tidy_csv(good + bad))
    report = page.locator("#upload-report")
    assert report.get_attribute("data-inserted") == "3"
    assert report.get_attribute("data-rejected") == "2"
    lines = page.eval_on_selector_all(
        "#rejected-table tbody tr", "rs => rs.map(r => [...r.cells].map(c => c.textContent))"
    )
    assert sorted(" ".join(line[0].split()[:2]) for line in lines) == ["line 5", "line 6"]
    assert all(line[2] for line in lines)  # each with its reason
    screenshot(page, "edit_upload_report")
    with page.expect_download() as download:
        page.click("#rejected-download")
    saved = download.value.path().read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(saved)))
    assert [(r["record_ref"], r["reason"]) for r in rows] == [(ln[0], ln[2]) for ln in lines]
    assert sorted(v["value"] for v in _stored(server, SITE)) == [35, 38, 41]
    # invalidate the first two hours with a reason
    page.goto("/edit")
    page.select_option("#invalidate-form select[name='site_id']", SITE)
    page.check("#invalidate-form input[value='PM2.5']")
    page.fill("#invalidate-form input[name='start']", HOURS[0])
    page.fill("#invalidate-form input[name='end']", HOURS[1])
    page.select_option("#invalidate-form select[name='flag']", "M")
    page.fill("#invalidate-form input[name='reason']", "仪器维护 maintenance visit")
    page.click("#invalidate-form [type='submit']")
    assert "2" in page.locator("#edit-notice").inner_text()
    flags = {v["time_cst"][:16].replace(" ", "T"): v["flag"] for v in _stored(server, SITE)}
    assert [flags[h] for h in HOURS] == ["M", "M", None]
    # retire it; the audit log of Deyang shows every step
    row = page.locator(f"#sites-table tr[data-site='{SITE}']")
    row.locator("input[name='reason']").fill("站点迁移 station moved")
    row.locator("[type='submit']").click()
    page.wait_for_selector("#edit-notice")
    assert page.get_attribute(f"#sites-table tr[data-site='{SITE}']", "data-retired") == "true"
    actions = page.eval_on_selector_all(
        f"#audit-table tr[data-target='{SITE}']", "rs => rs.map(r => r.dataset.action)"
    )
    assert actions == ["sites.retire", "observations.invalidate", "sites.update", "sites.create"]
    audit = page.locator("#audit-table").inner_text()
    assert "仪器维护 maintenance visit" in audit and "observations.upload" in page.content()
    screenshot(page, "edit")


def test_deyang_editor_is_refused_on_a_chengdu_site(tab: Tab, server: Server) -> None:
    page = tab.page
    name, password, _ = server.editor_deyang
    chengdu = server.get("/api/v1/sites?city=510100&kind=air_station").json()["results"][0]
    target = chengdu["site_id"]
    before = _stored(server, target)[-1:]
    _sign_in(page, name, password)
    tab.expect(403, f"/edit/sites/{target}")
    page.goto(f"/edit/sites/{target}")
    refusal = page.locator("#edit-forbidden").inner_text()
    assert f"may not write site {target} of 510100" in refusal
    assert page.locator("#site-form").count() == 0
    # a file naming the Chengdu site is refused whole: nothing of it is stored
    tab.expect(403, "/edit/upload")
    page.goto("/edit")
    mine = next(s for s in _site_ids(page) if s != SITE)
    content = _tidy_csv([(mine, "PM2.5", "2025-06-02T10:00", "20"),
                         (target, "PM2.5", "2025-06-02T10:00", "999")])  # fmt: skip
    _upload(page, "mixed.csv", content)
    assert f"site {target}" in page.locator("#upload-error").inner_text()
    assert _stored(server, target)[-1:] == before
    screenshot(page, "edit_refused")
    # the audit log of Chengdu is not Deyang's editor's to read; Deyang's is
    assert page.request.get("/api/v1/audit/cities/510100").status == 403
    assert page.request.get("/api/v1/audit/cities/510600").status == 200


def test_editing_page_fits_a_phone(module_tab: ModuleTab, server: Server) -> None:
    with module_tab.taken({}, PHONE) as page:
        name, password, _ = server.editor_deyang
        _sign_in(page, name, password)
        forms = page.eval_on_selector_all(
            "#new-site, #upload-form, #invalidate-form",
            "fs => fs.map(f => f.getBoundingClientRect().right)",
        )
        assert all(right <= PHONE["width"] for right in forms), forms
        screenshot(page, "edit_phone")


#: Two hours of the public UCI five-cities layout (a PM_<site> column per site, CST
#: hour-beginning labels): the file name names no city, so the data are the city edited.
FIVE_CITIES = (
    "No,year,month,day,hour,season,PM_Roof,DEWP,HUMI,PRES,TEMP,cbwd,Iws,precipitation,Iprec\n"
    "1,2025,6,3,10,2,31,12,60,1005,24,NE,1.79,0,0\n"
    "2,2025,6,3,11,2,33,12,60,1005,24,NE,2.68,0,0\n"
)


def test_deyang_editor_uploads_a_mapped_layout(tab: Tab, server: Server) -> None:
    """The upload form's bundled layouts work from the page: the five-cities layout's file
    (named without a city) is Deyang's, its column a new Deyang site with the two hours."""
    page = tab.page
    name, password, city = server.editor_deyang
    _sign_in(page, name, password)
    page.set_input_files(
        "#upload-form input[type='file']",
        files=[{"name": "hourly.csv", "mimeType": "text/csv", "buffer": FIVE_CITIES.encode()}],
    )
    page.select_option("#upload-form select[name='layout']", "uci_five_cities")
    page.click("#upload-form [type='submit']")
    page.wait_for_selector("#upload-report, #upload-error")
    assert page.locator("#upload-error").count() == 0
    assert page.get_attribute("#upload-report", "data-inserted") == "2"
    site = f"{city}-Roof"
    assert sorted(v["value"] for v in _stored(server, site)) == [31, 33]
    page.goto("/edit")
    assert site in _site_ids(page)
