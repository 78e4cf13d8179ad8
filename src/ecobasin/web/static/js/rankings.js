// Rankings: the region's cities for a year, a quarter or a month by composite index, good-day ratio, PM2.5
// or O3 — the numbers of `ecobasin evaluate` from /api/v1/rankings — as a table and a bar chart.
import { FONT, api, chart, fillTable, fmt, link, markReady, msg, showStatus } from "./common.js";

const form = document.getElementById("rankings-control");
const bars = chart("chart-rankings");
window.ecobasinCharts = { rankings: bars };
const METRIC = {
  composite: ["composite_index", (v) => fmt(v, 2), 1],
  good_ratio: ["good_ratio", (v) => fmt(v * 100, 1), 100],
  pm25: ["pm25", (v) => fmt(v), 1],
  o3: ["o3_8h_p90", (v) => fmt(v), 1],
};

/** The API's period: `2025`, `2025Q3` or `2025-10`. */
function period() {
  const data = new FormData(form);
  const kind = data.get("kind");
  if (kind === "month") return `${data.get("year")}-${data.get("month")}`;
  if (kind === "quarter") return `${data.get("year")}Q${data.get("quarter")}`;
  return data.get("year");
}

/** "+0.12" / "-0.30" / "—": a change against the same period last year. */
function signed(value, digits) {
  if (value === null || value === undefined) return "—";
  return `${value > 0 ? "+" : ""}${fmt(value, digits)}`;
}

/** "▲2" moved up, "▼1" moved down, "0" kept, "—" no comparison (issue 15). */
function rankChange(change) {
  if (change === null || change === undefined) return "—";
  return change > 0 ? `▲${change}` : change < 0 ? `▼${-change}` : "0";
}

function render(body) {
  const [field, format, scale] = METRIC[body.by] ?? METRIC.composite;
  document.getElementById("period-shown").textContent = body.period;
  document.getElementById("compared-with").textContent = body.compared_with ?? msg("rk_no_comparison");
  const tbody = document.querySelector("#rankings-table tbody");
  fillTable(tbody, body.items, (r) => [
    String(r.rank ?? "—"),
    link(`/city/${r.city_code}`, r.name),
    fmt(r.composite_index, 2),
    r.good_ratio === null ? "—" : `${fmt(r.good_ratio * 100, 1)} %`,
    `${fmt(r.good_days)}/${fmt(r.valid_days)}`,
    fmt(r.exceed_days),
    fmt(r.pm25),
    fmt(r.pm10),
    fmt(r.o3_8h_p90),
    fmt(r.so2),
    fmt(r.no2),
    fmt(r.co_p95, 1),
    signed(r.composite_change, 2),
    rankChange(r.rank_change),
  ]);
  for (const row of tbody.rows) for (const cell of row.cells) if (cell.cellIndex !== 1) cell.className = "num";
  tbody.dataset.cities = body.items.map((r) => r.city_code).join(",");
  const label = form.querySelector(`#by-select option[value="${body.by}"]`)?.textContent ?? body.by;
  const items = [...body.items].reverse(); // best at the top of a horizontal bar chart
  bars.setOption(
    {
      textStyle: { fontFamily: FONT },
      title: { text: `${label} · ${body.period}`, textStyle: { fontFamily: FONT, fontSize: 14 } },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
      grid: { left: 90, right: 40, top: 40, bottom: 30 },
      xAxis: { type: "value", name: body.by === "good_ratio" ? "%" : "" },
      yAxis: { type: "category", data: items.map((r) => `${r.rank}. ${r.name}`) },
      series: [{
        name: label,
        type: "bar",
        data: items.map((r) => (r[field] === null ? null : r[field] * scale)),
        label: { show: true, position: "right", formatter: (p) => format(p.value / scale) },
        itemStyle: { color: "#3a7bbf" },
      }],
    },
    true,
  );
  markReady("chart-rankings", { points: body.items.length }, bars);
}

// Each change of the form starts a load; an answer that arrives after a newer load began is
// dropped, so two quick changes never end with the older answer on the page.
let latestLoad = 0;

async function load() {
  const mine = ++latestLoad;
  const kind = new FormData(form).get("kind");
  document.getElementById("month-select").disabled = kind !== "month";
  document.getElementById("quarter-select").disabled = kind !== "quarter";
  document.getElementById("rankings-table").dataset.ready = "false";
  showStatus("rankings-status", msg("loading"));
  try {
    const body = await api("/rankings", { period: period(), by: new FormData(form).get("by") });
    if (mine !== latestLoad) return;
    render(body);
    document.getElementById("rankings-table").dataset.ready = "true";
    showStatus("rankings-status", "");
  } catch (error) {
    if (mine !== latestLoad) return;
    showStatus("rankings-status", `${msg("load_failed")}: ${error.message}`, true);
  }
}

form.addEventListener("change", load);
load();
