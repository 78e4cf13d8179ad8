// Data page: a query form (cities, stations, parameters, range, hourly or daily) that previews
// the first rows and links the full result as CSV and Parquet. Hourly rows come from
// /api/v1/observations, daily AQI rows and concentrations from /api/v1/aqi/daily.
import {
  addDays, api, cstDay, fillTable, fmt, fmtUpTo, getJSON, lang, levelBadge, msg, showStatus,
} from "./common.js";

const PREVIEW_ROWS = 100;
// the public may download pages of at most 10000 rows (public_page_rows); signed-in users 100000
const SIGNED_IN = Boolean(document.querySelector('meta[name="csrf-token"]')?.content);
const DOWNLOAD_ROWS = SIGNED_IN ? 100000 : 10000;
const form = document.getElementById("data-form");
const siteSelect = document.getElementById("site-select");
let sites = [];

function chosen(name) {
  return new FormData(form).getAll(name).map(String);
}

function fillSites() {
  const cities = new Set(chosen("city"));
  const keep = new Set([...siteSelect.selectedOptions].map((o) => o.value));
  siteSelect.replaceChildren(
    ...sites
      .filter((s) => cities.has(String(s.city_code)))
      .map((s) => new Option(`${s.name} (${s.site_id})`, s.site_id, false, keep.has(s.site_id))),
  );
}

function urlOf(path, params) {
  const url = new URL(`/api/v1${path}`, location.origin);
  for (const [name, value] of params) url.searchParams.append(name, value);
  return url;
}

/** The hourly query: /observations?city=…&site=…&parameter=…&period=1h&start=…&end=… */
function hourlyParams(start, end) {
  const params = [["period", "1h"], ["start", `${start}T01:00`], ["end", `${addDays(end, 1)}T00:00`]];
  const chosenSites = chosen("site");
  if (chosenSites.length) for (const s of chosenSites) params.push(["site", s]);
  else for (const c of chosen("city")) params.push(["city", c]);
  for (const p of chosen("parameter")) params.push(["parameter", p]);
  return params;
}

/** The daily query: /aqi/daily?scope=site&ids=…&start=…&end=… (the chosen stations, else all
 *  air stations of the chosen cities). */
function dailyParams(start, end) {
  let ids = chosen("site");
  if (!ids.length) ids = [...siteSelect.options].map((o) => o.value);
  return [["scope", "site"], ["ids", ids.join(",")], ["start", start], ["end", end], ["lang", lang]];
}

const HOURLY_COLUMNS = [
  ["site_id", msg("site_id")], ["parameter", msg("parameter")], ["time_cst", msg("time")],
  ["value", msg("value")], ["unit", msg("unit")], ["flag", msg("flag")],
];
const DAILY_COLUMNS = [
  ["scope_id", msg("site_id")], ["name", msg("station")], ["day", msg("day")], ["aqi", msg("aqi")], ["level", msg("level")],
  ["primary_pollutant", msg("primary_pollutant")], ["pm25", "PM2.5 [µg/m³]"], ["pm10", "PM10 [µg/m³]"],
  ["so2", "SO2 [µg/m³]"], ["no2", "NO2 [µg/m³]"], ["co", "CO [mg/m³]"], ["o3_8h", "O3-8h [µg/m³]"],
];

function showTable(columns, rows) {
  const table = document.getElementById("data-table");
  const head = document.createElement("tr");
  for (const [, label] of columns) {
    const th = document.createElement("th");
    th.textContent = label;
    head.append(th);
  }
  table.tHead.replaceChildren(head);
  fillTable(table.tBodies[0], rows, (row) =>
    columns.map(([key]) => {
      const value = row[key];
      if (key === "level") return levelBadge(row.level, row.color);
      if (key === "co") return fmt(value, 1);
      if (typeof value === "number") return fmtUpTo(value, key === "aqi" ? 0 : 3);
      return value || "—";
    }),
  );
  table.dataset.rows = String(rows.length);
}

async function query(event) {
  event?.preventDefault();
  const start = document.getElementById("data-start").value;
  const end = document.getElementById("data-end").value;
  const daily = new FormData(form).get("resolution") === "daily";
  showStatus("data-status", msg("loading"));
  try {
    let rows;
    let total;
    let download;
    if (daily) {
      const params = dailyParams(start, end);
      const body = await getJSON(urlOf("/aqi/daily", [...params, ["limit", PREVIEW_ROWS]]));
      rows = body.items;
      total = body.next ? undefined : rows.length; // daily pages carry no total
      download = (format) => urlOf("/aqi/daily", [...params, ["format", format], ["limit", DOWNLOAD_ROWS]]);
      showTable(DAILY_COLUMNS, rows);
    } else {
      const params = hourlyParams(start, end);
      const body = await getJSON(urlOf("/observations", [...params, ["limit", PREVIEW_ROWS]]));
      rows = body.results;
      total = body.total;
      download = (format) => urlOf("/observations", [...params, ["format", format], ["limit", DOWNLOAD_ROWS]]);
      showTable(HOURLY_COLUMNS, rows);
    }
    document.getElementById("download-csv").href = download("csv");
    document.getElementById("download-parquet").href = download("parquet");
    document.getElementById("data-count").textContent =
      total === undefined ? `${fmt(rows.length)} ${msg("rows_shown")}` : `${fmt(rows.length)} ${msg("rows_shown")} · ${fmt(total)} ${msg("rows_total")}`;
    document.getElementById("downloads").hidden = false;
    showStatus("data-status", rows.length ? "" : msg("no_data"));
  } catch (error) {
    showStatus("data-status", `${msg("load_failed")}: ${error.message}`, true);
  }
}

async function start() {
  // the latest hour of air quality, not of all data: live enterprise data must not move it
  const [siteList, latest] = await Promise.all([
    api("/sites", { kind: "air_station" }),
    api("/aqi/latest", { scope: "city" }),
  ]);
  sites = siteList.results;
  fillSites();
  const lastDay = latest.time ? cstDay(new Date(latest.time)) : new Date().toISOString().slice(0, 10);
  document.getElementById("data-end").value = lastDay;
  document.getElementById("data-start").value = addDays(lastDay, -6);
  document.getElementById("city-checks").addEventListener("change", fillSites);
  form.addEventListener("submit", query);
  await query();
}

start().catch((error) => showStatus("data-status", `${msg("load_failed")}: ${error.message}`, true));
