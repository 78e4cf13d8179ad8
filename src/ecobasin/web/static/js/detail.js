// City and station detail: hourly trends of AQI and each pollutant over a chosen range (default
// the last 7 days of data), the year's summary (good-day ratio, exceedance days, days by level),
// the daily AQI calendar and, on a city page, the table of its stations.
import {
  FONT, addDays, api, apiAll, chart, cstDay, cstLabel, fillTable, fmt, levelBadge, levelPieces,
  levelText, levels, link, markReady, missingPollutants, msg, showStatus,
} from "./common.js";

const detail = document.getElementById("detail");
const scope = detail.dataset.scope; // "city" or "site"
const scopeId = detail.dataset.scopeId;
const cityCode = scope === "city" ? scopeId : detail.dataset.cityCode;
const POLLUTANTS = [
  ["pm25", "PM2.5", "µg/m³"],
  ["pm10", "PM10", "µg/m³"],
  ["so2", "SO2", "µg/m³"],
  ["no2", "NO2", "µg/m³"],
  ["o3", "O3", "µg/m³"],
  ["co", "CO", "mg/m³"],
];
const charts = { aqi: chart("chart-aqi"), pollutants: chart("chart-pollutants"), calendar: chart("chart-calendar") };
window.ecobasinCharts = charts;

/** Hour-ending UTC instants from 01:00 CST of `startDay` to 24:00 CST of `endDay`. */
function hoursOf(startDay, endDay) {
  const first = new Date(`${startDay}T01:00:00+08:00`).getTime();
  const last = new Date(`${addDays(endDay, 1)}T00:00:00+08:00`).getTime();
  const hours = [];
  for (let t = first; t <= last; t += 3600 * 1000) hours.push(new Date(t));
  return hours;
}

const baseOption = () => ({
  textStyle: { fontFamily: FONT },
  tooltip: { trigger: "axis", confine: true },
  grid: { left: 50, right: 50, top: 70, bottom: 60 },
  dataZoom: [{ type: "inside" }, { type: "slider", height: 18, bottom: 8 }],
});

function drawTrends(items, startDay, endDay) {
  const hours = hoursOf(startDay, endDay);
  const byTime = new Map(items.map((row) => [new Date(row.time).getTime(), row]));
  const rows = hours.map((h) => byTime.get(h.getTime()));
  const labels = hours.map(cstLabel);
  charts.aqi.setOption(
    {
      ...baseOption(),
      tooltip: {
        trigger: "axis",
        confine: true,
        formatter: (ps) => {
          const row = rows[ps[0].dataIndex];
          return row
            ? `${labels[ps[0].dataIndex]}<br>${msg("aqi")}: <b>${row.aqi ?? "—"}</b><br>${msg("level")}: ${levelText(row.level)}<br>${msg("primary_pollutant")}: ${row.primary_pollutant || "—"}`
            : `${labels[ps[0].dataIndex]}<br>${msg("no_data")}`;
        },
      },
      visualMap: {
        type: "piecewise", seriesIndex: 0, dimension: 1, orient: "horizontal", top: 0, left: "center",
        pieces: levelPieces(true), outOfRange: { color: "#999" }, itemGap: 6, itemWidth: 12,
        textGap: 3, textStyle: { fontFamily: FONT, fontSize: 11 },
      },
      xAxis: { type: "category", data: labels, boundaryGap: false },
      yAxis: { type: "value", name: msg("aqi") },
      series: [{ name: msg("aqi"), type: "line", showSymbol: false, connectNulls: false, data: rows.map((r) => r?.aqi ?? null) }],
    },
    true,
  );
  charts.pollutants.setOption(
    {
      ...baseOption(),
      legend: { top: 0, textStyle: { fontFamily: FONT } },
      xAxis: { type: "category", data: labels, boundaryGap: false },
      yAxis: [
        { type: "value", name: "µg/m³" },
        { type: "value", name: "CO mg/m³", splitLine: { show: false } },
      ],
      series: POLLUTANTS.map(([key, name, unit]) => ({
        name: `${name} [${unit}]`,
        type: "line",
        showSymbol: false,
        yAxisIndex: key === "co" ? 1 : 0,
        data: rows.map((r) => r?.[key] ?? null),
      })),
    },
    true,
  );
  const points = rows.filter((r) => r?.aqi !== null && r?.aqi !== undefined).length;
  markReady("chart-aqi", { points }, charts.aqi);
  markReady("chart-pollutants", { points }, charts.pollutants);
}

function drawCalendar(year, items) {
  charts.calendar.setOption(
    {
      textStyle: { fontFamily: FONT },
      tooltip: {
        confine: true,
        formatter: (p) => {
          const row = p.data.row;
          return `${row.day}<br>${msg("aqi")}: <b>${row.aqi ?? "—"}</b><br>${msg("level")}: ${levelText(row.level)}<br>${msg("primary_pollutant")}: ${row.primary_pollutant || "—"}`;
        },
      },
      visualMap: {
        type: "piecewise", orient: "horizontal", left: "center", top: 0, pieces: levelPieces(),
        textStyle: { fontFamily: FONT, fontSize: 11 },
      },
      calendar: {
        top: 60, left: 40, right: 20, cellSize: ["auto", 15], range: String(year),
        dayLabel: { nameMap: document.body.dataset.lang === "zh" ? "ZH" : "EN", fontFamily: FONT },
        monthLabel: { nameMap: document.body.dataset.lang === "zh" ? "ZH" : "EN", fontFamily: FONT },
        yearLabel: { show: false },
        itemStyle: { borderColor: "#fff" },
      },
      series: [{
        type: "heatmap", coordinateSystem: "calendar",
        data: items.filter((r) => r.aqi !== null).map((r) => ({ value: [r.day, r.aqi], row: r })),
      }],
    },
    true,
  );
  markReady("chart-calendar", { points: items.filter((r) => r.aqi !== null).length }, charts.calendar);
}

/** Good-day ratio, exceedance days and days by level from daily AQI rows (HJ 663: a valid
 *  day has a daily AQI; good = levels 1–2; exceedance = level 3 or worse). */
function summarise(items) {
  const valid = items.filter((r) => r.level !== null && r.level !== undefined);
  const byLevel = Object.fromEntries(levels.map((l) => [l.level, 0]));
  for (const r of valid) byLevel[r.level] += 1;
  const good = (byLevel[1] ?? 0) + (byLevel[2] ?? 0);
  return {
    good_days: good,
    valid_days: valid.length,
    good_ratio: valid.length ? good / valid.length : null,
    exceed_days: valid.length - good,
    days_by_level: byLevel,
  };
}

function levelCount(daysByLevel, level) {
  if (!daysByLevel) return null;
  if (Array.isArray(daysByLevel)) return daysByLevel.find((d) => d.level === level)?.days ?? 0;
  return daysByLevel[level] ?? daysByLevel[String(level)] ?? 0;
}

function showSummary(summary, note) {
  // the city's official percentage (GB/T 8170 rounding, as `ecobasin evaluate`) when given
  const percent = summary.good_percent ?? (summary.good_ratio === null ? null : summary.good_ratio * 100);
  document.getElementById("good-ratio").textContent =
    percent === null || percent === undefined ? "—" : `${fmt(percent, 1)} %`;
  document.getElementById("good-days").textContent = `${fmt(summary.good_days)} / ${fmt(summary.valid_days)}`;
  document.getElementById("exceed-days").textContent = fmt(summary.exceed_days);
  document.getElementById("summary-note").textContent = note;
  for (const li of document.querySelectorAll("#days-by-level li")) {
    li.querySelector("strong").textContent = fmt(levelCount(summary.days_by_level, Number(li.dataset.level)));
  }
}

/** Why a station's days have no daily AQI (HJ 633-2012 §5: all six pollutants' daily values
 *  are needed): none at all — say which pollutants it lacks, instead of "0.0 % good days" —
 *  or some days incomplete. */
function stationNote(items, summary) {
  const detailElement = document.getElementById("detail");
  const missing = missingPollutants(items);
  const without = items.length - summary.valid_days;
  detailElement.dataset.validDays = String(summary.valid_days);
  detailElement.dataset.missing = missing.join(",");
  if (items.length && !summary.valid_days) {
    return msg("no_daily_aqi").replace("{missing}", missing.join("、") || "—");
  }
  const base = msg("computed_from_daily");
  return without > 0 ? `${base} · ${msg("days_without_aqi").replace("{n}", without)}` : base;
}

async function loadYear(year) {
  const items = await apiAll("/aqi/daily", { scope, ids: scopeId, year, limit: 1000 });
  drawCalendar(year, items);
  let summary = summarise(items);
  let note = msg("computed_from_daily");
  if (scope === "site") note = stationNote(items, summary);
  if (scope === "city") {
    try {
      const official = await api(`/cities/${scopeId}/summary`, { year });
      summary = { ...summary, ...official, days_by_level: official.levels ?? summary.days_by_level };
      note = "";
    } catch {
      /* keep the summary computed from the daily rows */
    }
  }
  showSummary(summary, note);
}

async function loadRange() {
  const start = document.getElementById("range-start").value;
  const end = document.getElementById("range-end").value;
  const items = await apiAll("/aqi/hourly", {
    scope, ids: scopeId, start: `${start}T01:00`, end: `${addDays(end, 1)}T00:00`, limit: 5000,
  });
  drawTrends(items, start, end);
}

function fillStations(latest) {
  document.getElementById("stations-time").textContent = latest.time_cst ? `(${latest.time_cst})` : "";
  fillTable(document.querySelector("#station-table tbody"), latest.items, (s) => [
    link(`/station/${encodeURIComponent(s.site_id)}`, s.name),
    s.site_id,
    fmt(s.aqi),
    levelBadge(s.level, s.color, (s.concentrations ?? []).length > 0),
    s.primary_pollutant || "—",
  ]);
  for (const row of document.querySelectorAll("#station-table tbody tr")) row.children[2].className = "num";
}

/** The station's latest hour. Without an AQI but with some pollutants measured it says which
 *  are missing (an hourly AQI needs all six, HJ 633-2012 §5) instead of "no data". */
async function showCurrent(station, when, latestTime) {
  const target = document.getElementById("current-value");
  if (!station) return;
  let missing = [];
  if (station.aqi === null && latestTime) {
    const hour = await api("/aqi/hourly", { scope: "site", ids: scopeId, start: latestTime, end: latestTime });
    const row = hour.items[0];
    if (row) missing = missingPollutants([row]);
    if (row && missing.length === 6) missing = [];
    target.dataset.missing = missing.join(",");
  }
  const level = levelBadge(station.level, station.color, missing.length > 0);
  const why = missing.length ? ` (${msg("aqi_missing").replace("{missing}", missing.join("、"))})` : "";
  target.replaceChildren(
    document.createTextNode(`${msg("aqi")} ${station.aqi ?? "—"} · `),
    level,
    document.createTextNode(`${why} · ${msg("primary_pollutant")}: ${station.primary_pollutant || "—"} (${when})`),
  );
  target.dataset.level = level.textContent;
}

async function start() {
  const latest = await api("/aqi/latest", { scope: "site", cities: cityCode });
  if (scope === "city") fillStations(latest);
  else await showCurrent(latest.items.find((s) => s.site_id === scopeId), latest.time_cst, latest.time);
  const lastDay = latest.time ? cstDay(new Date(latest.time)) : new Date().toISOString().slice(0, 10);
  const startInput = document.getElementById("range-start");
  const endInput = document.getElementById("range-end");
  endInput.value = lastDay;
  startInput.value = addDays(lastDay, -6);
  endInput.max = lastDay;
  startInput.max = lastDay;
  document.getElementById("range-control").addEventListener("submit", (event) => {
    event.preventDefault();
    run(loadRange);
  });
  const yearSelect = document.getElementById("year-select");
  if (!yearSelect.value) yearSelect.append(new Option(lastDay.slice(0, 4)));
  yearSelect.value = lastDay.slice(0, 4);
  yearSelect.addEventListener("change", () => run(() => loadYear(yearSelect.value)));
  await Promise.all([loadRange(), loadYear(yearSelect.value)]);
}

async function run(task) {
  showStatus("detail-status", msg("loading"));
  try {
    await task();
    showStatus("detail-status", "");
  } catch (error) {
    showStatus("detail-status", `${msg("load_failed")}: ${error.message}`, true);
  }
}

run(start);
