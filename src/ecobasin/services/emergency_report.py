"""The compliance report of one warning as a document 应急减排合规报告 (emergency.md §1.4, §2.5):
HTML for print and its PDF through :func:`ecobasin.services.pdf.html_to_pdf` (WeasyPrint, Noto
CJK). What the CLI (``ecobasin emergency report --pdf``) and the API
(``/api/v1/emergency/activations/{id}/report.pdf``) both serve.

The document holds the summary (warning, list version, counts), the shares the list met at the
warning's level (§1.4), the verdict of every listed outlet and pollutant, the non-compliant,
insufficient-data and flagged sections with their reasons, and two charts drawn as inline SVG
on the server (no script, nothing fetched): verdict counts, and each limit's achieved cut
against the measure's ratio.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ecobasin.services import emergency as service
from ecobasin.services.pdf import html_to_pdf, templates
from ecobasin.store import emergency as db

__all__ = [
    "LEVEL_LABELS", "VERDICT_LABELS", "measure_text", "report_context", "report_html", "report_pdf",
]  # fmt: skip

#: warning levels and verdicts as people read them (Chinese · English)
LEVEL_LABELS = {"yellow": "黄色 Yellow", "orange": "橙色 Orange", "red": "红色 Red"}
VERDICT_LABELS = {
    "non_compliant": "未落实 non-compliant",
    "insufficient_data": "数据不足 insufficient data",
    "compliant": "达标 compliant",
    "exempt": "豁免 exempt",
}
_VERDICT_COLOURS = {"non_compliant": "#d95f02", "insufficient_data": "#7570b3",
                    "compliant": "#1b9e77", "exempt": "#999999"}  # fmt: skip


def measure_text(measure: Mapping[str, Any]) -> str:
    """A measure in both languages: ``限产 50% · limit 50 %`` (宽限 grace hours added); a sector
    measure adds what it stops or limits and the share it removes (§1.4)."""
    if measure.get("text"):
        share = float(measure.get("fraction", 0.0)) * 100
        return f"{measure['text']}（削减 {share:g}% of its baseline）"
    action = measure.get("action")
    if action == "stop":
        text = "停产 · stop"
    elif action == "limit":
        pct = f"{float(measure['ratio']) * 100:g}"
        text = f"限产 {pct}% · limit {pct} %"
    elif action == "stagger":
        text = "错峰生产 · staggered production"
    else:
        text = "豁免（仅报告）· exempt (report only)"
    grace = int(measure.get("grace_hours", 0))
    text = f"{text}（宽限 {grace} h grace）" if grace else text
    return f"{text} → {measure['target']}" if measure.get("target") else text


def verdict_chart(counts: Mapping[str, int]) -> dict[str, Any]:
    """Bars of the verdict counts (geometry for the template's SVG) [outlet-pollutants]."""
    width, height, bar = 420, 120, 70
    top = max([*counts.values(), 1])
    bars = []
    for i, (verdict, n) in enumerate(counts.items()):
        h = height * n / top
        bars.append({"x": 20 + i * (bar + 30), "y": height - h, "w": bar, "h": h, "n": n,
                     "label": VERDICT_LABELS[verdict].split()[0],
                     "colour": _VERDICT_COLOURS[verdict]})  # fmt: skip
    return {"width": width, "height": height, "bars": bars}


def achieved_chart(verdicts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Horizontal bars of each limit's achieved cut [%] with its ratio as a tick (§2.5 step 4)."""
    rows = [v for v in verdicts
            if v["measure"].get("action") == "limit" and "achieved_reduction" in v["numbers"]]  # fmt: skip
    scale, left, step = 2.6, 150, 18  # [px per %], label column, row height [px]
    bars = []
    for i, v in enumerate(rows):
        achieved = max(0.0, float(v["numbers"]["achieved_reduction"])) * 100
        bars.append({"y": i * step, "w": min(achieved, 100) * scale, "achieved": achieved,
                     "need_x": left + float(v["measure"]["ratio"]) * 100 * scale,
                     "label": f"{v['name'].split()[0]} {v['outlet']}",
                     "colour": _VERDICT_COLOURS[v["verdict"]]})  # fmt: skip
    return {"left": left, "width": left + 100 * scale + 60, "height": len(rows) * step + 20,
            "bars": bars, "scale": scale}  # fmt: skip


def report_context(store: db.Reader, key: str) -> dict[str, Any]:
    """Everything the document shows: the report of :func:`service.compliance_report`, the
    list accounting of the activated version at the warning's level (None without baselines),
    every verdict in reading order, and the charts."""
    report = service.compliance_report(store, key)
    act = report["activation"]
    overview = service.list_overview(
        store, str(act["city_code"]), act["level"], act["start_time"], act["list_version"]
    )
    order = list(VERDICT_LABELS)
    rows = sorted(
        [v for group in report["groups"].values() for v in group],
        key=lambda v: (order.index(v["verdict"]), v["uscc"], v["outlet"], v["pollutant"]),
    )
    return {
        "report": report, "act": act, "rows": rows,
        "accounting": overview["accounting"] if overview else None,
        "verdict_chart": verdict_chart(report["counts"]),
        "achieved_chart": achieved_chart(rows),
        "level_labels": LEVEL_LABELS, "verdict_labels": VERDICT_LABELS,
        "measure_text": measure_text,
    }  # fmt: skip


def report_html(store: db.Reader, key: str) -> str:
    """The report as one printable HTML document (bilingual; charts inline SVG)."""
    return (
        templates().get_template("emergency_report_print.html").render(**report_context(store, key))
    )


def report_pdf(store: db.Reader, key: str) -> bytes:
    """The report as PDF [bytes] (WeasyPrint, fonts embedded); raises ``LookupError`` for an
    unknown activation."""
    return html_to_pdf(report_html(store, key))
