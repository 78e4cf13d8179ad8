// Forecast page: the AQI forecasts of the latest issue day per city and day (range, level,
// primary pollutant, PM2.5/PM10/O3-8h), the forecaster's adjustments beside the model's values,
// a chart of a city's forecast with its range band, the model's held-out scores by lead, and
// the adjustment form for a city's editors (POST /api/v1/forecasts/adjust with the CSRF header),
// the city's next 72 hours hour by hour (GET /api/v1/forecasts/hourly: stored with the issue,
// fitted on request only where none is stored), and the verification of the issued forecasts by
// lead beside persistence and climatology, with the hourly ones by hour of day
// (GET /api/v1/forecasts/verification, issue 21).
import { FONT, api, chart, fillTable, fmt, lang, levelBadge, levels, markReady, msg, showStatus } from "./common.js";

const context = JSON.parse(document.getElementById("forecast-context").textContent);
const cityName = Object.fromEntries(context.cities.map((c) => [c.code, c.name]));
const cityOrder = Object.fromEntries(context.cities.map((c, i) => [c.code, i]));
const forecastChart = chart("chart-forecast");
const scoresChart = document.getElementById("chart-scores") ? chart("chart-scores") : null;
const hourlyChart = chart("chart-hourly");
const verificationChart = chart("chart-verification");
window.ecobasinCharts = { forecast: forecastChart, scores: scoresChart, hourly: hourlyChart, verification: verificationChart };
let rows = [];

/** "75–105": the published form of an AQI range (AQI values are integers, HJ 633 §5.1). */
export function rangeText(lower, upper) {
  if (lower === null || upper === null) return "—";
  return `${Math.round(lower)}–${Math.round(upper)}`;
}

function dayLabel(row) {
  return `${row.target_day} (${msg("fc_day_plus").replace("{n}", row.lead)})`;
}

/** The model's rows of one parameter, keyed city|lead. */
function byKey(model, parameter) {
  const out = new Map();
  for (const r of rows) if (r.model === model && r.parameter === parameter) out.set(`${r.city}|${r.lead}`, r);
  return out;
}

function adjustedCell(row) {
  const adj = row.adjusted;
  if (!adj) return "—";
  const wrap = document.createElement("span");
  const range = document.createElement("span");
  range.className = "adj-range";
  range.textContent = `${rangeText(adj.lower, adj.upper)}`;
  const level = adj.level ? levelBadge(adj.level) : document.createTextNode("");
  const reason = document.createElement("div");
  reason.className = "adj-reason";
  reason.textContent = `${adj.reason} · ${msg("fc_adjusted_by")} ${adj.by}`;
  wrap.append(range, " ", level, reason);
  return wrap;
}

function renderTable() {
  const aqi = [...byKey(context.model, "AQI").values()].sort(
    (a, b) => (cityOrder[a.city] ?? 99) - (cityOrder[b.city] ?? 99) || a.lead - b.lead,
  );
  const conc = Object.fromEntries(["PM2.5", "PM10", "O3_8h"].map((p) => [p, byKey(context.model, p)]));
  const tbody = document.querySelector("#forecast-table tbody");
  fillTable(tbody, aqi, (r) => {
    const key = `${r.city}|${r.lead}`;
    return [
      cityName[r.city] ?? r.city,
      dayLabel(r),
      fmt(r.value),
      rangeText(r.lower, r.upper),
      r.level ? levelBadge(r.level) : msg("no_data_level"),
      r.primary || (r.value !== null && r.value <= 50 ? msg("fc_none") : "—"),
      fmt(conc["PM2.5"].get(key)?.value),
      fmt(conc.PM10.get(key)?.value),
      fmt(conc.O3_8h.get(key)?.value),
      adjustedCell(r),
    ];
  });
  [...tbody.rows].forEach((tr, i) => {
    const r = aqi[i];
    Object.assign(tr.dataset, { city: r.city, lead: r.lead, targetDay: r.target_day, range: rangeText(r.lower, r.upper) });
    if (i === 0 || aqi[i - 1].city !== r.city) tr.classList.add("city-start");
    for (const k of [2, 3, 6, 7, 8]) tr.cells[k].className = "num";
    tr.cells[3].classList.add("range");
    tr.cells[9].classList.add("adjusted");
  });
  const table = document.getElementById("forecast-table");
  table.dataset.rows = String(aqi.length);
  table.dataset.ready = "true";
}

/** Background bands of the six AQI levels up to `top` (HJ 633 Appendix A colours). */
function levelAreas(top) {
  return levels
    .filter((l) => l.aqi_min <= top)
    .map((l) => [{ yAxis: Math.max(0, l.aqi_min - 1), itemStyle: { color: l.color, opacity: 0.1 } }, { yAxis: Math.min(l.aqi_max, top) }]);
}

/** An adjusted range drawn as an error bar (lower to upper, with caps) and a square at its middle. */
function errorBar(params, api) {
  const [x, low] = api.coord([api.value(0), api.value(1)]);
  const [, high] = api.coord([api.value(0), api.value(2)]);
  const [, mid] = api.coord([api.value(0), api.value(3)]);
  const style = { stroke: "#000", lineWidth: 2 };
  const cap = 6;
  return {
    type: "group",
    children: [
      { type: "line", shape: { x1: x, y1: low, x2: x, y2: high }, style },
      { type: "line", shape: { x1: x - cap, y1: low, x2: x + cap, y2: low }, style },
      { type: "line", shape: { x1: x - cap, y1: high, x2: x + cap, y2: high }, style },
      { type: "rect", shape: { x: x - 4, y: mid - 4, width: 8, height: 8 }, style: { fill: "#000" } },
    ],
  };
}

function renderChart() {
  const city = document.getElementById("city-select").value;
  const mine = (model) =>
    rows.filter((r) => r.city === city && r.model === model && r.parameter === "AQI").sort((a, b) => a.lead - b.lead);
  const main = mine(context.model);
  const days = main.map((r) => r.target_day);
  const top = Math.ceil((Math.max(100, ...main.map((r) => r.upper ?? 0), ...main.map((r) => r.adjusted?.upper ?? 0)) * 1.1) / 50) * 50;
  const line = (name, data, extra = {}) => ({ name, type: "line", data, symbolSize: 6, ...extra });
  const adjusted = main.map((r) => (r.adjusted ? r.adjusted.value : null));
  const series = [
    // the range band: an invisible base at the lower end, the width stacked on it
    line(msg("fc_series_range"), main.map((r) => r.lower), { stack: "band", lineStyle: { opacity: 0 }, symbol: "none", tooltip: { show: false } }),
    line(msg("fc_series_range"), main.map((r) => (r.upper === null ? null : r.upper - r.lower)), {
      stack: "band", lineStyle: { opacity: 0 }, symbol: "none", areaStyle: { color: "#3a7bbf", opacity: 0.25 }, tooltip: { show: false },
    }),
    line(msg("fc_series_model"), main.map((r) => r.value), {
      itemStyle: { color: "#1f4e89" }, lineStyle: { width: 2 },
      markArea: { silent: true, data: levelAreas(top) },
    }),
    line(msg("fc_series_persistence"), mine("persistence").map((r) => r.value), { lineStyle: { type: "dashed" }, itemStyle: { color: "#777" } }),
    line(msg("fc_series_climatology"), mine("climatology").map((r) => r.value), { lineStyle: { type: "dotted" }, itemStyle: { color: "#2e8b57" } }),
  ];
  if (adjusted.some((v) => v !== null)) {
    const ranges = main.flatMap((r, i) => (r.adjusted ? [[i, r.adjusted.lower, r.adjusted.upper, r.adjusted.value]] : []));
    series.push({ name: msg("fc_series_adjusted"), type: "custom", renderItem: errorBar, data: ranges, itemStyle: { color: "#000" }, z: 5 });
  }
  forecastChart.setOption(
    {
      textStyle: { fontFamily: FONT },
      title: { text: `${cityName[city] ?? city} · AQI · ${msg("fc_issued")} ${context.issue_day}`, left: 0, top: 0, textStyle: { fontFamily: FONT, fontSize: 13 } },
      tooltip: {
        trigger: "axis",
        formatter: (items) => {
          const r = main.find((m) => m.target_day === items[0].axisValue) ?? main[0];
          const lines = [`${dayLabel(r)}`, `${msg("fc_range")}: ${rangeText(r.lower, r.upper)}`];
          for (const it of items) if (typeof it.value === "number") lines.push(`${it.marker}${it.seriesName}: ${fmt(it.value)}`);
          if (r.adjusted) lines.push(`${msg("fc_adjusted")}: ${rangeText(r.adjusted.lower, r.adjusted.upper)}`);
          return lines.join("<br>");
        },
      },
      legend: { bottom: 0, data: [msg("fc_series_model"), msg("fc_series_range"), msg("fc_series_persistence"), msg("fc_series_climatology"), msg("fc_series_adjusted")] },
      grid: { left: 50, right: 20, top: 40, bottom: 60 },
      xAxis: { type: "category", data: days, boundaryGap: false },
      yAxis: { type: "value", min: 0, max: top },
      series,
    },
    true,
  );
  markReady("chart-forecast", { city, points: main.length }, forecastChart);
}

/** The next 72 hours of a city (GET /api/v1/forecasts/hourly): PM2.5 and O3 with range bands. */
async function renderHourly() {
  const city = document.getElementById("city-select").value;
  const element = document.getElementById("chart-hourly");
  element.dataset.ready = "false";
  let body;
  try {
    body = await api("/forecasts/hourly", { issue_day: context.issue_day, city });
  } catch (error) {
    hourlyChart.clear();
    showStatus("hourly-status", `${msg("fc_hourly_unavailable")}: ${error.message}`, true);
    markReady("chart-hourly", { city, points: 0 });
    return;
  }
  // say whether the hours are the stored issue or a fit made for this request
  showStatus("hourly-status", msg(`fc_hourly_source_${body.source}`));
  document.getElementById("chart-hourly").dataset.source = body.source;
  const of = (pollutant) => body.values.filter((v) => v.pollutant === pollutant).sort((a, b) => a.lead_hour - b.lead_hour);
  const pm = of("PM2.5");
  const o3 = of("O3");
  const base = pm.length ? pm : o3;
  const hours = base.map((v) => `${v.local_day.slice(5)} ${String(v.local_hour).padStart(2, "0")}:00`);
  const line = (name, data, extra = {}) => ({ name, type: "line", data, symbol: "none", ...extra });
  const band = (name, rows, colour) => [
    line(name, rows.map((v) => v.lower), { stack: name, lineStyle: { opacity: 0 }, tooltip: { show: false } }),
    line(name, rows.map((v) => (v.upper === null || v.lower === null ? null : v.upper - v.lower)), {
      stack: name, lineStyle: { opacity: 0 }, areaStyle: { color: colour, opacity: 0.2 }, tooltip: { show: false },
    }),
  ];
  const series = [];
  for (const [rows, name, colour] of [[pm, "PM2.5", "#8b3a3a"], [o3, "O3", "#2e6bbf"]]) {
    if (!rows.length) continue;
    series.push(...band(`${name} ${msg("fc_series_range")}`, rows, colour));
    series.push(line(`${name} [µg/m³]`, rows.map((v) => v.value), { itemStyle: { color: colour }, lineStyle: { width: 2 } }));
  }
  hourlyChart.setOption(
    {
      textStyle: { fontFamily: FONT },
      title: { text: `${cityName[city] ?? city} · ${msg("fc_issued")} ${context.issue_day}`, left: 0, top: 0, textStyle: { fontFamily: FONT, fontSize: 13 } },
      tooltip: { trigger: "axis" },
      legend: { bottom: 0 },
      grid: { left: 50, right: 20, top: 40, bottom: 60 },
      xAxis: { type: "category", data: hours, boundaryGap: false },
      yAxis: { type: "value", min: 0 },
      series,
    },
    true,
  );
  markReady("chart-hourly", { city, points: base.length }, hourlyChart);
}

function renderScores() {
  if (!scoresChart) return;
  const pollutant = document.getElementById("pollutant-select").value;
  const scores = context.scores[pollutant] ?? [];
  const unit = pollutant === "CO" ? "mg/m³" : "µg/m³";
  scoresChart.setOption(
    {
      textStyle: { fontFamily: FONT },
      tooltip: { trigger: "axis" },
      // the legend below the lead axis's title, never on top of the y axes' titles (it wraps)
      legend: { bottom: 0 },
      grid: { left: 55, right: 55, top: 40, bottom: 95 },
      xAxis: { type: "category", name: msg("fc_lead_axis"), nameLocation: "middle", nameGap: 28, data: scores.map((s) => `+${s.lead}`) },
      yAxis: [
        { type: "value", name: `RMSE [${unit}]`, min: 0 },
        { type: "value", name: msg("fc_coverage"), min: 0, max: 1, splitLine: { show: false } },
      ],
      series: [
        { name: msg("fc_rmse_model"), type: "line", data: scores.map((s) => s.rmse_model), itemStyle: { color: "#1f4e89" } },
        { name: msg("fc_rmse_persistence"), type: "line", data: scores.map((s) => s.rmse_persistence), lineStyle: { type: "dashed" }, itemStyle: { color: "#777" } },
        // issue 21: the blend is shown beside climatology and the raw model (older saved models lack them)
        { name: msg("fc_rmse_climatology"), type: "line", data: scores.map((s) => s.rmse_climatology ?? null), lineStyle: { type: "dotted" }, itemStyle: { color: "#a0522d" } },
        { name: msg("fc_rmse_raw_model"), type: "line", data: scores.map((s) => s.rmse_raw_model ?? null), lineStyle: { type: "dashed" }, itemStyle: { color: "#6a9fd4" } },
        { name: msg("fc_coverage"), type: "bar", yAxisIndex: 1, data: scores.map((s) => s.interval_coverage), itemStyle: { color: "#3a7bbf", opacity: 0.25 }, barWidth: "30%" },
      ],
    },
    true,
  );
  markReady("chart-scores", { pollutant, points: scores.length }, scoresChart);
}

const MEMBERS = ["issued", "persistence", "climatology"];
const MEMBER_STYLE = {
  issued: { lineStyle: { width: 2 }, itemStyle: { color: "#1f4e89" } },
  persistence: { lineStyle: { type: "dashed" }, itemStyle: { color: "#777" } },
  climatology: { lineStyle: { type: "dotted", width: 2 }, itemStyle: { color: "#a0522d" } },
};
let verification = null;

/** Digits shown per score: counts whole, rates and skills 2, errors 1. */
function scoreText(key, value) {
  if (key === "n") return fmt(value);
  return fmt(value, /rmse|mae|bias/.test(key) ? 1 : 2);
}

function label(entry) {
  return entry ? entry[lang] ?? entry.en : "";
}

function renderVerificationTable() {
  const keys = [...document.querySelectorAll("#verification-table thead th[data-key]")].map((th) => th.dataset.key);
  const rows = [...verification.leads].sort((a, b) => a.lead - b.lead || MEMBERS.indexOf(a.member) - MEMBERS.indexOf(b.member));
  const tbody = document.querySelector("#verification-table tbody");
  fillTable(tbody, rows, (r) => [
    msg("fc_day_plus").replace("{n}", r.lead),
    label(verification.members[r.member]),
    // a skill score is the issued forecast's against a baseline: shown on its row only
    ...keys.map((k) => (k.startsWith("skill_") && r.member !== "issued" ? "—" : scoreText(k, r[k]))),
  ]);
  [...tbody.rows].forEach((tr, i) => {
    Object.assign(tr.dataset, { member: rows[i].member, lead: rows[i].lead });
    if (rows[i].member === "issued") tr.classList.add("city-start");
    for (let k = 2; k < tr.cells.length; k += 1) tr.cells[k].className = "num";
  });
  const table = document.getElementById("verification-table");
  table.dataset.rows = String(rows.length);
  table.dataset.ready = "true";
}

function renderVerificationHours() {
  const keys = [...document.querySelectorAll("#verification-hours thead th[data-key]")].map((th) => th.dataset.key);
  const rows = [...verification.hours].sort((a, b) => a.pollutant.localeCompare(b.pollutant) || a.local_hour - b.local_hour);
  fillTable(document.querySelector("#verification-hours tbody"), rows, (r) =>
    keys.map((k) => (k === "pollutant" ? r.pollutant : k === "local_hour" ? `${String(r.local_hour).padStart(2, "0")}:00` : scoreText(k, r[k]))),
  );
  showStatus("verification-hours-status", rows.length ? "" : msg("fc_verify_hours_none"));
  const table = document.getElementById("verification-hours");
  table.dataset.rows = String(rows.length);
  table.dataset.ready = "true";
}

/** The chosen score by lead: the issued forecast against persistence and climatology drawn as
 *  reference lines (for a skill score, both references are the line at 0). */
function renderVerificationChart() {
  const metric = document.getElementById("verify-metric").value;
  const leads = [...new Set(verification.leads.map((r) => r.lead))].sort((a, b) => a - b);
  const of = (member, key) => leads.map((lead) => verification.leads.find((r) => r.member === member && r.lead === lead)?.[key] ?? null);
  const line = (name, data, style) => ({ name, type: "line", data, symbolSize: 6, connectNulls: false, ...style });
  let series;
  if (metric.startsWith("skill_")) {
    const what = metric.slice("skill_".length);
    series = [
      line(msg("fc_verify_skill_vs_persistence"), of("issued", `skill_${what}_persistence`), MEMBER_STYLE.issued),
      line(msg("fc_verify_skill_vs_climatology"), of("issued", `skill_${what}_climatology`), {
        lineStyle: { width: 2, type: "dashed" }, itemStyle: { color: "#2e8b57" },
      }),
    ];
    series[0].markLine = {
      silent: true, symbol: "none", lineStyle: { color: "#777", type: "dotted" },
      label: { formatter: msg("fc_verify_reference"), position: "insideEndTop" },
      data: [{ yAxis: 0 }],
    };
  } else {
    series = MEMBERS.map((m) => line(label(verification.members[m]), of(m, metric), MEMBER_STYLE[m]));
  }
  const rate = /acc|within|ts_|skill/.test(metric);
  verificationChart.setOption(
    {
      textStyle: { fontFamily: FONT },
      tooltip: { trigger: "axis", valueFormatter: (v) => scoreText(metric, v) },
      legend: { bottom: 0 },
      grid: { left: 60, right: 30, top: 40, bottom: 95 },
      xAxis: { type: "category", name: msg("fc_lead_axis"), nameLocation: "middle", nameGap: 28, data: leads.map((l) => `+${l}`) },
      yAxis: { type: "value", name: msg(`fc_verify_metric_${metric}`), ...(rate && !metric.startsWith("skill_") ? { min: 0, max: 1 } : {}) },
      series,
    },
    true,
  );
  markReady("chart-verification", { metric, points: leads.length, series: series.length }, verificationChart);
}

async function loadVerification(event) {
  event?.preventDefault();
  const params = { city: document.getElementById("verify-city").value };
  const from = document.getElementById("verify-from").value;
  const to = document.getElementById("verify-to").value;
  if (from) params.from = from;
  if (to) params.to = to;
  document.getElementById("verification-table").dataset.ready = "false";
  try {
    verification = await api("/forecasts/verification", params);
  } catch (error) {
    showStatus("verification-status", `${msg("load_failed")}: ${error.message}`, true);
    return;
  }
  document.getElementById("verify-from").value = verification.start;
  document.getElementById("verify-to").value = verification.end;
  const summary = msg("fc_verify_summary")
    .replace("{city}", cityName[verification.city] ?? verification.city)
    .replace("{from}", verification.start)
    .replace("{to}", verification.end)
    .replace("{n}", verification.issues);
  showStatus("verification-status", verification.leads.length ? summary : `${summary} · ${msg("fc_verify_none")}`);
  renderVerificationTable();
  renderVerificationChart();
  renderVerificationHours();
}

function fillAdjustDays() {
  const select = document.getElementById("adjust-day");
  if (!select) return;
  const chosen = select.value;
  const days = [...new Set(rows.filter((r) => r.parameter === "AQI" && r.model === context.model).map((r) => r.target_day))].sort();
  select.replaceChildren(...days.map((d) => new Option(d, d, false, d === chosen)));
}

async function submitAdjustment(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const data = new FormData(form);
  const body = {
    city: data.get("city"),
    issue_day: context.issue_day,
    target_day: data.get("target_day"),
    model: context.model,
    aqi_lower: Number(data.get("aqi_lower")),
    aqi_upper: Number(data.get("aqi_upper")),
    primary: data.get("primary") || null,
    reason: String(data.get("reason")).trim(),
  };
  const token = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
  const response = await fetch("/api/v1/forecasts/adjust", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": token },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    let detail = response.statusText;
    try {
      detail = (await response.json()).detail ?? detail;
    } catch {
      /* not JSON */
    }
    showStatus("adjust-status", `${msg("fc_adjust_failed")}: ${detail}`, true);
    return;
  }
  showStatus("adjust-status", `${msg("fc_adjust_saved")}: ${cityName[body.city]} ${body.target_day}`);
  await load();
loadVerification();
}

async function load() {
  document.getElementById("forecast-table").dataset.ready = "false";
  showStatus("forecast-status", msg("loading"));
  try {
    rows = await api("/forecasts", { issue_day: context.issue_day });
    renderTable();
    renderChart();
    renderScores();
    renderHourly();
    fillAdjustDays();
    const empty = !document.querySelector("#forecast-table tbody tr");
    showStatus("forecast-status", empty ? msg("no_data") : "");
  } catch (error) {
    showStatus("forecast-status", `${msg("load_failed")}: ${error.message}`, true);
  }
}

document.getElementById("city-select").addEventListener("change", () => {
  renderChart();
  renderHourly();
});
document.getElementById("pollutant-select")?.addEventListener("change", renderScores);
document.getElementById("verification-control").addEventListener("submit", loadVerification);
document.getElementById("verify-city").addEventListener("change", () => {
  document.getElementById("verify-from").value = "";
  document.getElementById("verify-to").value = "";
  loadVerification();
});
document.getElementById("verify-metric").addEventListener("change", () => verification && renderVerificationChart());
document.getElementById("adjust-form")?.addEventListener("submit", submitAdjustment);
load();
loadVerification();
