// Overview map: city boundaries shaded by the cities' AQI level, stations as points in the
// official level colours, a time control (latest hour, an hour of the last 7 days, a day) and the
// city table beside the map. Data: /api/v1/cities/boundaries and /api/v1/map.
// The water layer: the sections as points in the colour of their GB 3838 class of the latest
// month (环办〔2011〕22号 Table 1) and the city CWQI ranking beside the map. Data:
// /api/v1/water/sections, /water/evaluation and /water/rank.
import {
  FONT, NO_DATA_COLOR, addDays, api, chart, cstLabel, escapeHtml, fillTable, fmt, fmtUpTo, getJSON, lang, levelBadge,
  levelText, link, markReady, msg, showStatus,
} from "./common.js";
import { renderNoise } from "./noise_layer.js";
import { NO_CLASS_COLOR, classInfo, sectionNames, sectionTip } from "./water_common.js";

const HOURS_BACK = 7 * 24;
const map = chart("map");
window.ecobasinMap = map;
const form = document.getElementById("time-control");
const hourSelect = document.getElementById("hour-select");
const dayInput = document.getElementById("day-input");
let cityByCode = new Map();

/** Hex colour with transparency: the city areas are tinted so stations and labels stay legible. */
function tint(color, alpha = 0.4) {
  if (!color || !color.startsWith("#") || color.length !== 7) return NO_DATA_COLOR;
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16));
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

function concentrationRows(items) {
  return (items || [])
    .map(
      (c) =>
        `<tr><th>${escapeHtml(c.parameter)}</th><td class="num">${fmt(c.value, c.unit === "mg/m³" ? 1 : 0)}</td>` +
        `<td>${escapeHtml(c.unit)}</td><td class="muted">${escapeHtml(c[`averaging_${lang}`] ?? c.averaging ?? "")}</td></tr>`,
    )
    .join("");
}

function stationTip(s, when) {
  return (
    `<div class="tip" data-site-id="${escapeHtml(s.site_id)}"><h3>${escapeHtml(s.name)} <span class="muted">${escapeHtml(s.site_id)}</span></h3>` +
    `<div class="muted">${escapeHtml(when)}</div>` +
    `<div>${msg("aqi")}: <strong class="tip-aqi">${s.aqi ?? "—"}</strong></div>` +
    `<div>${msg("level")}: <strong>${escapeHtml(levelText(s.level))}</strong></div>` +
    `<div>${msg("primary_pollutant")}: ${escapeHtml(s.primary_pollutant || "—")}</div>` +
    `<table><caption class="muted">${msg("concentrations")}</caption>${concentrationRows(s.concentrations)}</table></div>`
  );
}

function cityTip(c, when) {
  return (
    `<div class="tip" data-city="${escapeHtml(c.code)}"><h3>${escapeHtml(c.name)}</h3><div class="muted">${escapeHtml(when)}</div>` +
    `<div>${msg("aqi")}: <strong class="tip-aqi">${c.aqi ?? "—"}</strong></div>` +
    `<div>${msg("level")}: <strong class="tip-level">${escapeHtml(levelText(c.level))}</strong></div>` +
    `<div>${msg("primary_pollutant")}: <span class="tip-primary">${escapeHtml(c.primary_pollutant || "—")}</span></div>` +
    `<div>${msg("n_stations")}: ${c.n_stations ?? "—"}</div>` +
    `<table><caption class="muted">${msg("concentrations")}</caption>${concentrationRows(c.concentrations)}</table></div>`
  );
}

function whenText(payload) {
  return payload.scope === "day"
    ? `${payload.day} (${msg("daily_mean")})`
    : `${payload.time_cst} (${msg("hour_ending")})`;
}

function render(payload) {
  cityByCode = new Map(payload.cities.map((c) => [String(c.code), c]));
  const when = whenText(payload);
  const stations = payload.stations.filter((s) => s.lon !== null && s.lat !== null);
  map.setOption(
    {
      textStyle: { fontFamily: FONT },
      tooltip: {
        trigger: "item",
        confine: true,
        formatter: (p) => {
          if (p.componentType === "geo") {
            const city = cityByCode.get(p.name);
            return city ? cityTip(city, when) : escapeHtml(p.name);
          }
          return stationTip(p.data.station, when);
        },
      },
      geo: {
        map: "region",
        roam: true,
        top: 8,
        bottom: 8,
        // the geo component's own tooltip: without a formatter ECharts shows a region's bare
        // name, the city code (issue 15: "510100" instead of the city's AQI). Points on the geo
        // inherit it too, so it hands every item to the layer's tooltip formatter of the moment
        // (air, water or noise).
        tooltip: { show: true, formatter: (p) => map.getOption().tooltip[0].formatter(p) },
        label: {
          show: true,
          fontFamily: FONT,
          fontSize: 13,
          color: "#1d2733",
          formatter: (p) => cityByCode.get(p.name)?.name ?? p.name,
        },
        itemStyle: { areaColor: tint(NO_DATA_COLOR), borderColor: "#4a5563", borderWidth: 1 },
        emphasis: { itemStyle: { borderWidth: 2 }, label: { show: true } },
        regions: payload.cities.map((c) => ({
          name: String(c.code),
          itemStyle: { areaColor: tint(c.color) },
        })),
      },
      series: [
        {
          id: "stations",
          name: msg("stations"),
          type: "scatter",
          coordinateSystem: "geo",
          symbolSize: 11,
          itemStyle: { borderColor: "#222", borderWidth: 1 },
          emphasis: { scale: 1.6 },
          data: stations.map((s) => ({
            name: s.name,
            value: [s.lon, s.lat],
            station: s,
            itemStyle: { color: s.color || NO_DATA_COLOR },
          })),
        },
      ],
    },
    { replaceMerge: ["series"] },
  );
  let rendered = stations.length;
  try {
    rendered = map.getModel().getSeriesByIndex(0).getData().count();
  } catch {
    /* private API gone: fall back to the points given */
  }
  const element = document.getElementById("map");
  element.dataset.stationCount = String(rendered);
  element.dataset.scope = payload.scope;
  element.dataset.time = payload.time ?? payload.day ?? "";
  markReady("map", {}, map);
  window.ecobasinMapData = payload;
  document.getElementById("showing").textContent = when;
  fillCityTable(payload.cities);
}

function fillCityTable(cities) {
  fillTable(document.querySelector("#city-table tbody"), cities, (c) => [
    link(`/city/${c.code}`, c.name),
    fmt(c.aqi),
    levelBadge(c.level, c.color),
    c.primary_pollutant || "—",
    fmt(c.n_stations),
  ]);
  for (const row of document.querySelectorAll("#city-table tbody tr")) {
    row.children[1].className = "num";
    row.children[4].className = "num";
  }
}

function fillTimeControls(payload) {
  const latest = new Date(payload.latest_hour);
  const first = new Date(payload.first_hour);
  const options = [];
  for (let i = 0; i < HOURS_BACK; i++) {
    const hour = new Date(latest.getTime() - i * 3600 * 1000);
    if (hour < first) break;
    options.push(new Option(cstLabel(hour), hour.toISOString().replace(".000Z", "Z")));
  }
  hourSelect.replaceChildren(...options);
  dayInput.min = payload.first_day;
  dayInput.max = payload.latest_day;
  dayInput.value = payload.latest_day;
}

function mode() {
  return new FormData(form).get("mode");
}

async function load() {
  const current = mode();
  hourSelect.disabled = current !== "hour";
  dayInput.disabled = current !== "day";
  const params = current === "hour" ? { hour: hourSelect.value } : current === "day" ? { day: dayInput.value } : {};
  document.getElementById("map").dataset.ready = "false";
  showStatus("map-status", msg("loading"));
  try {
    render(await api("/map", params));
    showStatus("map-status", "");
  } catch (error) {
    showStatus("map-status", `${msg("load_failed")}: ${error.message}`, true);
  }
}

function step(direction) {
  const current = mode();
  if (current === "latest") {
    form.querySelector('input[value="hour"]').checked = true;
    hourSelect.selectedIndex = direction < 0 ? Math.min(1, hourSelect.options.length - 1) : 0;
  } else if (current === "hour") {
    // options run newest first: earlier = a higher index
    const index = hourSelect.selectedIndex - direction;
    hourSelect.selectedIndex = Math.max(0, Math.min(hourSelect.options.length - 1, index));
  } else {
    const day = addDays(dayInput.value, direction);
    if (day < dayInput.min || day > dayInput.max) return;
    dayInput.value = day;
  }
  load();
}

async function start() {
  try {
    const [boundaries, payload] = await Promise.all([api("/cities/boundaries"), api("/map")]);
    for (const feature of boundaries.features) feature.properties.name = String(feature.properties.code);
    echarts.registerMap("region", boundaries);
    fillTimeControls(payload);
    render(payload);
    showStatus("map-status", "");
  } catch (error) {
    showStatus("map-status", `${msg("load_failed")}: ${error.message}`, true);
    return;
  }
  form.addEventListener("change", load);
  document.getElementById("layer-control").addEventListener("change", (event) => setLayer(event.target.value));
  document.getElementById("step-back").addEventListener("click", () => step(-1));
  document.getElementById("step-forward").addEventListener("click", () => step(1));
  map.on("click", (p) => {
    if (p.componentType === "geo") location.href = `/city/${p.name}`;
    else if (p.data?.station) location.href = `/station/${encodeURIComponent(p.data.station.site_id)}`;
    else if (p.data?.section) location.href = `/water/section/${encodeURIComponent(p.data.section.site_id)}`;
    else if (p.data?.noiseStation) location.href = `/noise/station/${encodeURIComponent(p.data.noiseStation.site_id)}`;
  });
}

// ---- refresh when new data arrive (issue 15) ----------------------------------------------------

/** Seconds between looks at /api/v1/freshness: `?refresh=N` (2–600), else 180. */
function refreshSeconds() {
  const asked = Number.parseInt(new URLSearchParams(location.search).get("refresh") ?? "", 10);
  return Number.isFinite(asked) ? Math.min(600, Math.max(2, asked)) : 180;
}

/** While the map shows the latest hour of the air layer, reload it when a newer hour is stored. */
function refreshWhenNewData() {
  let seen = null;
  let refreshes = 0;
  const look = async () => {
    try {
      const fresh = await getJSON(new URL("/api/v1/freshness", location.origin));
      const isNew = seen !== null && fresh.latest_hour !== seen;
      seen = fresh.latest_hour;
      if (!isNew || mode() !== "latest" || mapElement.dataset.layer === "water") return;
      const payload = await api("/map");
      fillTimeControls(payload);
      render(payload);
      refreshes += 1;
      mapElement.dataset.refreshes = String(refreshes);
    } catch {
      /* the next look tries again */
    }
  };
  look();
  setInterval(look, refreshSeconds() * 1000);
}

// ---- the water layer -------------------------------------------------------------------------

const mapElement = document.getElementById("map");
let water = null; // sections, results of the latest month and the city ranking, loaded once

async function waterData() {
  if (water) return water;
  const month = mapElement.dataset.waterMonth;
  const [sections, evaluation, rank] = await Promise.all([
    api("/water/sections"),
    api("/water/evaluation", { period: month }),
    api("/water/rank", { period: month }),
  ]);
  water = {
    month,
    sections: sections.items,
    results: new Map(evaluation.items.map((r) => [r.site_id, r])),
    rank: rank.items,
  };
  window.ecobasinWaterData = { month, sections: sections.items, results: evaluation.items, rank: rank.items };
  return water;
}

function waterCityTip(code, w) {
  const city = cityByCode.get(code);
  const r = w.rank.find((item) => String(item.city) === code);
  const name = city?.name ?? code;
  if (!r) return `<div class="tip"><h3>${escapeHtml(name)}</h3><div>${msg("no_data")}</div></div>`;
  return (
    `<div class="tip"><h3>${escapeHtml(name)}</h3><div class="muted">${escapeHtml(w.month)}</div>` +
    `<div>${msg("water_cwqi")}: <strong>${fmtUpTo(r.cwqi, 4)}</strong> · ${msg("rank")} ${r.rank}</div>` +
    `<div>${msg("water_share_i_iii")}: ${fmt(r.share_I_III, 1)} %</div>` +
    `<div>${msg("water_n_sections")}: ${fmt(r.n_sections)}</div></div>`
  );
}

function renderWater(w) {
  const placed = w.sections.filter((s) => s.lon !== null && s.lat !== null);
  const cities = window.ecobasinMapData?.cities ?? [];
  map.setOption(
    {
      tooltip: {
        enterable: true, // the section tooltip links to the section page
        formatter: (p) =>
          p.componentType === "geo" ? waterCityTip(p.name, w) : sectionTip(p.data.section, p.data.result, w.month),
      },
      geo: { regions: cities.map((c) => ({ name: String(c.code), itemStyle: { areaColor: tint("#9fb8cf", 0.25) } })) },
      series: [
        {
          id: "sections",
          name: msg("water_sections_title"),
          type: "scatter",
          coordinateSystem: "geo",
          symbol: "diamond",
          symbolSize: 15,
          itemStyle: { borderColor: "#222", borderWidth: 1 },
          emphasis: { scale: 1.5 },
          data: placed.map((s) => {
            const result = w.results.get(s.site_id);
            return {
              name: sectionNames(s).name,
              value: [s.lon, s.lat],
              section: s,
              result,
              itemStyle: { color: classInfo(result?.class_num)?.color ?? NO_CLASS_COLOR },
            };
          }),
        },
      ],
    },
    { replaceMerge: ["series"] },
  );
  let rendered = placed.length;
  try {
    rendered = map.getModel().getSeriesByIndex(0).getData().count();
  } catch {
    /* private API gone: fall back to the points given */
  }
  mapElement.dataset.sectionCount = String(rendered);
  mapElement.dataset.layer = "water";
  mapElement.dataset.time = w.month;
  markReady("map", {}, map);
  const tbody = document.querySelector("#water-city-table tbody");
  fillTable(tbody, w.rank, (r) => [
    String(r.rank ?? "—"),
    link(`/city/${r.city}`, cityByCode.get(String(r.city))?.name ?? String(r.city)),
    fmtUpTo(r.cwqi, 4),
    `${fmt(r.share_I_III, 1)} %`,
    fmt(r.n_sections),
  ]);
  for (const row of tbody.rows) for (const cell of row.cells) if (cell.cellIndex !== 1) cell.className = "num";
}

async function setLayer(layer) {
  const isWater = layer === "water";
  const isNoise = layer === "noise"; // issue 23: static/js/noise_layer.js
  form.hidden = isWater || isNoise;
  for (const [id, hide] of [["water-showing", !isWater], ["water-legend-box", !isWater], ["water-side", !isWater],
    ["air-legend-box", isWater || isNoise], ["air-side", isWater || isNoise],
    ["noise-showing", !isNoise], ["noise-legend-box", !isNoise], ["noise-side", !isNoise]]) {
    document.getElementById(id).hidden = hide;
  }
  mapElement.dataset.ready = "false";
  if (isNoise) {
    showStatus("map-status", msg("loading"));
    try {
      await renderNoise(map, mapElement, cityByCode, tint);
      showStatus("map-status", "");
    } catch (error) {
      showStatus("map-status", `${msg("load_failed")}: ${error.message}`, true);
    }
    return;
  }
  if (!isWater) {
    mapElement.dataset.layer = "air";
    if (window.ecobasinMapData) render(window.ecobasinMapData); // sets the air tooltip again
    else load();
    return;
  }
  showStatus("map-status", msg("loading"));
  try {
    renderWater(await waterData());
    showStatus("map-status", "");
  } catch (error) {
    showStatus("map-status", `${msg("load_failed")}: ${error.message}`, true);
  }
}

start().then(refreshWhenNewData);
