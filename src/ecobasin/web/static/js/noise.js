// The noise overview page /noise (issue 23): compliance per city and month, day and night
// (GB 3096-2008 station-days; data /api/v1/noise/compliance), the region's monthly rates as a
// chart, and the HJ 640-2012 survey results with grades (/api/v1/noise/surveys).
import { FONT, api, chart, fillTable, fmt, lang, markReady, msg, showStatus } from "./common.js";
import { VERDICT_COLORS } from "./noise_common.js";

const yearSelect = document.getElementById("year-select");
const complianceChart = chart("compliance-chart");
let cityNames = new Map();

function rate(ok, n) {
  return n ? Math.round((1000 * ok) / n) / 10 : null;
}

function regionByMonth(items) {
  const months = new Map();
  for (const r of items) {
    const m = months.get(r.period) ?? { day_ok: 0, day_n: 0, night_ok: 0, night_n: 0 };
    m.day_ok += r.day_compliant;
    m.day_n += r.day_valid;
    m.night_ok += r.night_compliant;
    m.night_n += r.night_valid;
    months.set(r.period, m);
  }
  return [...months.entries()].sort(([a], [b]) => a.localeCompare(b));
}

function drawChart(items) {
  const months = regionByMonth(items);
  complianceChart.setOption(
    {
      textStyle: { fontFamily: FONT },
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 48, right: 16, top: 32, bottom: 28 },
      xAxis: { type: "category", data: months.map(([m]) => m) },
      yAxis: { type: "value", min: 0, max: 100, name: "%" },
      series: [
        { name: msg("noise_day_rate"), type: "bar", itemStyle: { color: VERDICT_COLORS.pass },
          data: months.map(([, m]) => rate(m.day_ok, m.day_n)) },
        { name: msg("noise_night_rate"), type: "bar", itemStyle: { color: "#3b5b92" },
          data: months.map(([, m]) => rate(m.night_ok, m.night_n)) },
      ],
    },
    true,
  );
  markReady("compliance-chart", { months: months.length }, complianceChart);
}

function fillCompliance(items) {
  const table = document.getElementById("compliance-table");
  table.dataset.ready = "false";
  fillTable(table.querySelector("tbody"), items, (r) => [
    cityNames.get(r.city_code) ?? String(r.city_code),
    r.period,
    fmt(r.stations),
    fmt(r.day_rate_pct, 1),
    fmt(r.night_rate_pct, 1),
  ]);
  for (const [i, row] of [...table.tBodies[0].rows].entries()) {
    row.dataset.city = String(items[i].city_code);
    row.dataset.period = items[i].period;
    for (const cell of [...row.cells].slice(2)) cell.className = "num";
  }
  table.dataset.ready = "true";
}

async function fillSurveys(year) {
  const table = document.getElementById("survey-table");
  table.dataset.ready = "false";
  const asks = [];
  for (const survey of ["regional", "traffic"])
    for (const period of ["day", "night"]) asks.push(api("/noise/surveys", { year, survey, period }));
  const rows = (await Promise.all(asks)).flatMap((body) => body.items);
  for (const r of rows) cityNames.set(r.city_code, lang === "zh" ? r.city_zh : r.city_en);
  rows.sort((a, b) => a.city_code - b.city_code || a.survey.localeCompare(b.survey) || a.period.localeCompare(b.period));
  fillTable(table.querySelector("tbody"), rows, (r) => [
    lang === "zh" ? r.city_zh : r.city_en,
    msg(r.survey === "regional" ? "noise_regional" : "noise_traffic"),
    msg(r.period === "day" ? "noise_day" : "noise_night"),
    fmt(r.mean_dBA, 1),
    `${r.grade_zh} ${lang === "zh" ? r.rating_zh : r.rating_en}`,
  ]);
  for (const row of table.tBodies[0].rows) row.cells[3].className = "num";
  table.dataset.ready = "true";
}

async function load() {
  const year = yearSelect.value;
  if (!year) return;
  showStatus("noise-status", msg("loading"));
  try {
    await fillSurveys(year); // gives the city names
    const body = await api("/noise/compliance", { year, by: "month" });
    fillCompliance(body.items);
    drawChart(body.items);
    showStatus("noise-status", "");
  } catch (error) {
    showStatus("noise-status", `${msg("load_failed")}: ${error.message}`, true);
  }
}

// Complaints that may open a rectification case (construction or industry near a noise site,
// with a measurement): a signed-in user gets a button; the server decides who may (an editor
// of the complaint's city or an admin) and answers the case, new or already open.
const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";

function caseCell(item) {
  if (item.case_id) {
    const link = document.createElement("a");
    link.href = `/supervision/case/${encodeURIComponent(item.case_id)}`;
    link.textContent = item.case_id;
    return link;
  }
  if (!csrf) return "—";
  const button = document.createElement("button");
  button.type = "button";
  button.className = "open-case";
  button.dataset.complaint = item.complaint_id;
  button.dataset.city = String(item.city_code);
  button.textContent = msg("noise_open_case");
  button.addEventListener("click", () => openCase(item, button));
  return button;
}

async function openCase(item, button) {
  button.disabled = true;
  const url = `/api/v1/noise/complaints/${encodeURIComponent(item.complaint_id)}/case`;
  const response = await fetch(url, {
    method: "POST",
    headers: { Accept: "application/json", "X-CSRF-Token": csrf },
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    button.disabled = false;
    showStatus("candidates-status", `${item.complaint_id}: ${body.detail ?? response.status}`, true);
    return;
  }
  showStatus("candidates-status", `${item.complaint_id}: ${msg("noise_case_opened")} ${body.case_id}`);
  button.replaceWith(caseCell({ ...item, case_id: body.case_id }));
}

// China Standard Time (UTC+8, no daylight saving) as people read it: 2025-12-29 23:11
function cstLabel(iso) {
  return new Date(Date.parse(iso) + 8 * 3600e3).toISOString().slice(0, 16).replace("T", " ");
}

async function fillCandidates() {
  const table = document.getElementById("candidates-table");
  table.dataset.ready = "false";
  const items = (await api("/noise/complaints")).items.filter((c) => c.case_candidate);
  fillTable(table.querySelector("tbody"), items, (c) => [
    c.complaint_id,
    cstLabel(c.time),
    lang === "zh" ? c.source_zh : c.source_en,
    c.measurement ? `${c.measurement.site_id} ${c.measurement.hour_ending_cst} Leq ${fmt(c.measurement.Leq, 1)} dB(A)` : "—",
    caseCell(c),
  ]);
  if (!items.length) showStatus("candidates-status", msg("noise_no_candidates"));
  table.dataset.ready = "true";
}

yearSelect.addEventListener("change", load);
load();
fillCandidates().catch((error) => showStatus("candidates-status", `${msg("load_failed")}: ${error.message}`, true));
