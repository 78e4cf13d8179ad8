"""The consultation reports as PDF (WeasyPrint): text read back with pdftotext, fonts embedded
(pdffonts), the first page drawn (pdftoppm) and not blank, stored once by hash and fetched again."""

from __future__ import annotations

import hashlib
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from consultation_helpers import CHENGDU, DEYANG, T0, concluded_store_file
from ecobasin.services import consultation as service
from ecobasin.services import consultation_charts, pdf
from ecobasin.store import consultation as store_consultation
from ecobasin.store.database import Store
from ecobasin.workflow.consultation import DayForecast

pytestmark = pytest.mark.slow  # WeasyPrint lays out CJK text and subsets Noto CJK (seconds)


@pytest.fixture(scope="module")
def drafted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, str, dict[str, str]]:
    path = tmp_path_factory.mktemp("pdf") / "store.duckdb"
    sid = concluded_store_file(path)
    store = Store(path)
    _, hashes = service.draft_report(store, sid, "chair", T0 + timedelta(hours=4))
    yield store, sid, hashes  # type: ignore[misc]
    store.close()


def _tool(name: str, *args: str, data: bytes) -> bytes:
    return subprocess.run([name, *args], input=data, capture_output=True, check=True).stdout


def test_the_opinion_pdf_carries_cities_ranges_and_the_warning(drafted) -> None:  # type: ignore[no-untyped-def]
    store, _, hashes = drafted
    media_type, pdf = store_consultation.report(store, hashes["zh_pdf"])
    assert media_type == "application/pdf" and pdf.startswith(b"%PDF-")
    text = _tool("pdftotext", "-layout", "-", "-", data=pdf).decode("utf-8")
    for name in ("成都", "德阳", "绵阳", "遂宁", "乐山", "眉山", "雅安", "资阳"):
        assert name in text, name
    assert "160–200" in text and "61–91" in text  # Chengdu day 1, the others' day 1
    assert "橙色" in text  # Chengdu's orange warning
    assert "可根据当地情况提前启动预警" in text
    english = _tool(
        "pdftotext", "-", "-", data=store_consultation.report(store, hashes["en_pdf"])[1]
    )
    assert b"Chengdu" in english and b"orange" in english


def test_cjk_fonts_are_embedded(drafted) -> None:  # type: ignore[no-untyped-def]
    store, _, hashes = drafted
    fonts = _tool("pdffonts", "-", data=store_consultation.report(store, hashes["zh_pdf"])[1])
    rows = fonts.decode().splitlines()[2:]
    assert any("CJK" in row for row in rows), rows
    assert rows and all(row.split()[-5] == "yes" for row in rows), rows  # the "emb" column


def _pages(pdf: bytes, tmp_path: Path) -> list[Image.Image]:
    """Every page drawn at 60 dpi by pdftoppm."""
    (tmp_path / "report.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(tmp_path / "report.pdf"), str(tmp_path / "p")],
                   check=True)  # fmt: skip
    return [Image.open(p).convert("RGB") for p in sorted(tmp_path.glob("p-*.png"))]


def test_the_pages_are_drawn_with_text_and_the_chart(drafted, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    store, _, hashes = drafted
    pages = _pages(store_consultation.report(store, hashes["zh_pdf"])[1], tmp_path)
    first = pages[0].convert("L")
    assert sum(first.histogram()[:128]) > 0.01 * first.width * first.height  # not a white page
    colours = [c for page in pages for _, c in page.getcolors(1 << 20) or []]
    assert any(r - g > 30 and r - b > 30 for r, g, b in colours)  # the chart's (pale) red band
    assert any(g - r > 30 and g - b > 30 for r, g, b in colours)  # and its green band


def test_pdfs_are_stored_once_listed_and_fetched_again(drafted) -> None:  # type: ignore[no-untyped-def]
    store, sid, _ = drafted
    listed = service.reports_of(store, sid)
    kinds = {(r["lang"], r["media_type"]) for r in listed}
    assert {("zh", "application/pdf"), ("en", "application/pdf")} <= kinds
    for r in listed:
        _, content = store_consultation.report(store, r["sha256"])
        assert hashlib.sha256(content).hexdigest() == r["sha256"] and len(content) == r["size"]


def test_signing_stores_the_signed_opinion_as_pdf_too(drafted) -> None:  # type: ignore[no-untyped-def]
    store, sid, _ = drafted
    before = len(service.reports_of(store, sid))
    s = service.sign_report(store, sid, "chair", T0 + timedelta(hours=5))
    assert s.state == "issued" and s.warning[CHENGDU][0] == "orange"
    listed = service.reports_of(store, sid)
    assert any(r["sha256"] == s.report_hash for r in listed)
    assert len(listed) >= before
    assert sum(r["media_type"] == "application/pdf" for r in listed) >= 2


def test_the_same_figures_draw_the_chart_once() -> None:
    drawn = consultation_charts._consensus_chart
    day = {(city, lead): DayForecast(city, lead, 60 * lead, 90 * lead)
           for city in (CHENGDU, DEYANG) for lead in (1, 2)}  # fmt: skip
    names = {CHENGDU: "成都", DEYANG: "德阳"}

    def chart(consensus: dict[tuple[int, int], DayForecast], names: dict[int, str]) -> bytes:
        return consultation_charts.consensus_chart_png(consensus, names, (CHENGDU, DEYANG), 2, "t")

    first = chart(day, names)
    misses = drawn.cache_info().misses
    assert chart(dict(reversed(day.items())), dict(names)) == first  # the same figures
    assert drawn.cache_info().misses == misses  # not drawn again
    higher = {**day, (DEYANG, 2): DayForecast(DEYANG, 2, 120, 260)}
    assert chart(higher, names) != first
    assert chart(day, {CHENGDU: "Chengdu", DEYANG: "Deyang"}) != first
    assert drawn.cache_info().misses == misses + 2  # other figures, other names: drawn
    fresh = drawn.__wrapped__(
        tuple(sorted(day.items())), ("成都", "德阳"), (CHENGDU, DEYANG), 2, "t"
    )
    assert fresh == first  # what is kept is what a drawing gives


def test_a_document_is_rendered_once_and_a_linked_one_each_time(tmp_path: Path) -> None:
    kept = pdf._self_contained_pdf
    html = "<html><body><p>同一份文件 the same document</p></body></html>"
    first = pdf.html_to_pdf(html)
    misses = kept.cache_info().misses
    assert pdf.html_to_pdf(html) == first and kept.cache_info().misses == misses
    assert pdf.html_to_pdf(html.replace("same", "other")) != first
    assert kept.cache_info().misses == misses + 1
    assert kept.__wrapped__(html) == first  # what is kept is what a rendering gives
    style = tmp_path / "style.css"
    linked = (
        '<html><head><link rel="stylesheet" href="style.css"></head><body><p>x</p></body></html>'
    )
    style.write_text("p { color: red }", encoding="utf-8")
    red = pdf.html_to_pdf(linked, base_url=tmp_path.as_uri() + "/")
    style.write_text("p { color: blue }", encoding="utf-8")
    assert pdf.html_to_pdf(linked, base_url=tmp_path.as_uri() + "/") != red  # the file read again
