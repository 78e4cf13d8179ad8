// A noise station's page /noise/station/{id} (issue 23): the 24-hour profile of a CST day on
// hour-ending labels 01:00 … 24:00 (Leq and LMx against the class limits of GB 3096-2008, the
// night Lmax limit = night limit + 15 dB(A), §5.4), the night Lmax events, and the monthly
// compliance day and night. Data: /api/v1/noise/stations/{id}/profile and …/months.
import { FONT, api, chart, fillTable, fmt, markReady, msg, showStatus } from "./common.js";
import { VERDICT_COLORS, passText } from "./noise_common.js";

const facts = document.getElementById("station-facts");
const siteId = facts.dataset.siteId;
const dayInput = document.getElementById("day-input");
const profileChart = chart("profile-chart");
const monthsChart = chart("months-chart");
const path = `/noise/stations/${encodeURIComponent(siteId)}`;
// A y-axis name written along the axis (rotated), clear of the legend on the top line.
const SIDE_NAME = { nameLocation: "middle", nameRotate: 90, nameGap: 34 };

function limitLine(p) {
  // the limit of each hour: day limit for the day labels, night limit for the night ones
  return p.hours.map((h) => (h.period === "day" ? p.day_limit : p.night_limit));
}

function drawProfile(p) {
  const labels = p.hours.map((h) => h.label);
  profileChart.setOption(
    {
      textStyle: { fontFamily: FONT },
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 56, right: 16, top: 32, bottom: 28 },
      xAxis: { type: "category", data: labels, name: msg("noise_hour_ending") },
      // the unit beside the axis, not above it: on a phone the legend fills the top line
      yAxis: { type: "value", name: "dB(A)", scale: true, ...SIDE_NAME },
      series: [
        { name: "Leq", type: "bar", data: p.hours.map((h) => h.Leq),
          itemStyle: { color: (x) => (p.hours[x.dataIndex].period === "day" ? "#7aa6d8" : "#3b5b92") } },
        { name: "LMx", type: "line", data: p.hours.map((h) => h.LMx), itemStyle: { color: "#8e44ad" } },
        { name: msg("noise_limit"), type: "line", step: "middle", symbol: "none", data: limitLine(p),
          lineStyle: { type: "dashed", color: VERDICT_COLORS.day } },
        { name: msg("noise_night_lmax_limit"), type: "line", symbol: "none",
          data: p.hours.map((h) => (h.period === "night" ? p.night_lmax_limit : null)),
          lineStyle: { type: "dotted", color: "#000" } },
      ],
    },
    true,
  );
  markReady("profile-chart", { day: p.day, hours: p.hours.filter((h) => h.Leq !== null).length }, profileChart);
}

function fillEvents(p) {
  const table = document.getElementById("event-table");
  table.dataset.ready = "false";
  const rows = p.lmax_events.length ? p.lmax_events : [{ label: msg("noise_no_events"), LMx: null }];
  fillTable(table.querySelector("tbody"), rows, (e) => [
    e.label,
    fmt(e.LMx, 1),
    e.LMx === null ? "" : fmt(p.night_lmax_limit),
  ]);
  for (const row of table.tBodies[0].rows) for (const cell of [...row.cells].slice(1)) cell.className = "num";
  table.dataset.events = String(p.lmax_events.length);
  table.dataset.ready = "true";
}

async function loadDay() {
  if (!dayInput.value) return;
  showStatus("station-status", msg("loading"));
  try {
    const p = await api(`${path}/profile`, { day: dayInput.value });
    document.getElementById("fact-ld").textContent = fmt(p.Ld, 1);
    document.getElementById("fact-ln").textContent = fmt(p.Ln, 1);
    document.getElementById("fact-verdict").textContent =
      `${msg("noise_day")} ${passText(p.day_pass)} · ${msg("noise_night")} ${passText(p.night_pass)}`;
    drawProfile(p);
    fillEvents(p);
    showStatus("station-status", "");
  } catch (error) {
    showStatus("station-status", `${msg("load_failed")}: ${error.message}`, true);
  }
}

async function loadMonths() {
  const year = (dayInput.value || "").slice(0, 4);
  if (!year) return;
  const body = await api(`${path}/months`, { year });
  const table = document.getElementById("months-table");
  fillTable(table.querySelector("tbody"), body.items, (m) => [
    m.month,
    fmt(m.day_rate_pct, 1),
    fmt(m.night_rate_pct, 1),
    `${m.day_valid} / ${m.night_valid}`,
  ]);
  for (const row of table.tBodies[0].rows) for (const cell of [...row.cells].slice(1)) cell.className = "num";
  table.dataset.ready = "true";
  monthsChart.setOption(
    {
      textStyle: { fontFamily: FONT },
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 56, right: 16, top: 32, bottom: 28 },
      xAxis: { type: "category", data: body.items.map((m) => m.month) },
      yAxis: { type: "value", min: 0, max: 100, name: "%", ...SIDE_NAME },
      series: [
        { name: msg("noise_day_rate"), type: "bar", data: body.items.map((m) => m.day_rate_pct),
          itemStyle: { color: VERDICT_COLORS.pass } },
        { name: msg("noise_night_rate"), type: "bar", data: body.items.map((m) => m.night_rate_pct),
          itemStyle: { color: "#3b5b92" } },
      ],
    },
    true,
  );
  markReady("months-chart", { months: body.items.length }, monthsChart);
}

dayInput.addEventListener("change", loadDay);
loadDay();
loadMonths().catch((error) => showStatus("station-status", `${msg("load_failed")}: ${error.message}`, true));
