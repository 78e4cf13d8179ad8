// The machinery registry page /machinery (issue 18): per-city counts, the map of no-use zones
// (and sites when signed in), the open findings of checks C1–C11 and the spot-check form.
// Data: /api/v1/machinery/{counts,zones,sites,findings,inspections}, /api/v1/cities/boundaries.
import { FONT, api, chart, fillTable, lang, link, markReady, showStatus } from "./common.js";

const mapElement = document.getElementById("machinery-map");
const signedIn = mapElement.dataset.signedIn === "true";
// the region's extent [west, south, east, north] (°), from the catalog: the map opens on the cities
const [west, south, east, north] = mapElement.dataset.extent.split(",").map(Number);
const map = chart("machinery-map");
const cityNames = new Map();

function cityName(code) {
  return cityNames.get(code) ?? String(code);
}

async function loadCounts() {
  const { items } = await api("/machinery/counts");
  for (const row of items) cityNames.set(row.city, lang === "zh" ? row.name_zh : row.name_en);
  const table = document.getElementById("counts-table");
  fillTable(table.querySelector("tbody"), items, (r) => [
    cityName(r.city), r.machines, r.machines_g2_or_below, r.machines_electric, r.inspections,
    r.inspections_failed, r.open_findings,
  ]);
  for (const row of table.tBodies[0].rows) {
    for (const cell of [...row.cells].slice(1)) cell.className = "num";
  }
  table.dataset.ready = "true";
}

async function loadMap() {
  const [boundaries, zones, sites] = await Promise.all([
    api("/cities/boundaries"),
    api("/machinery/zones"),
    signedIn ? api("/machinery/sites") : Promise.resolve({ items: [] }),
  ]);
  for (const f of boundaries.features) f.properties.name = String(f.properties.code);
  const zoneFeatures = zones.features.map((f) => ({
    ...f, properties: { ...f.properties, name: `zone:${f.properties.zone_id}` },
  }));
  echarts.registerMap("machinery", { type: "FeatureCollection", features: [...boundaries.features, ...zoneFeatures] });
  map.setOption({
    textStyle: { fontFamily: FONT },
    tooltip: { trigger: "item" },
    geo: {
      map: "machinery", roam: true,
      boundingCoords: [[west, north], [east, south]],
      itemStyle: { areaColor: "#eef2f5", borderColor: "#8a9aa8" },
      regions: zoneFeatures.map((f) => ({
        name: f.properties.name, itemStyle: { areaColor: "rgba(220, 60, 60, 0.45)", borderColor: "#c0392b" },
      })),
      tooltip: { formatter: (p) => (p.name.startsWith("zone:") ? `禁用区 No-use zone ${p.name.slice(5)}` : cityName(Number(p.name))) },
    },
    series: [{
      type: "scatter", coordinateSystem: "geo", symbolSize: 7,
      data: sites.items.map((s) => ({ name: s.name, value: [s.lon, s.lat], in_zone: s.in_zone })),
      itemStyle: { color: (p) => (p.data.in_zone ? "#c0392b" : "#2c7fb8") },
      tooltip: { formatter: (p) => `${p.name}${p.data.in_zone ? " · 禁用区内 in zone" : ""}` },
    }],
  });
  markReady("machinery-map", { zones: zoneFeatures.length, sites: sites.items.length }, map);
}

async function loadFindings() {
  const table = document.getElementById("findings-table");
  if (!table) return;
  table.dataset.ready = "false";
  const { items } = await api("/machinery/findings", { limit: 200 });
  fillTable(table.querySelector("tbody"), items, (f) => [
    `${f.rule} ${f.title ?? ""}`, f.code_norm, cityName(f.city), f.reason, (f.last_seen ?? "").slice(0, 16),
    f.case_ref ? link(`/supervision/case/${encodeURIComponent(f.case_ref)}`, f.case_ref) : "—",
  ]);
  for (const [i, row] of [...table.querySelectorAll("tbody tr")].entries()) row.dataset.rule = items[i].rule;
  table.dataset.ready = "true";
}

async function submitSpotCheck(event) {
  event.preventDefault();
  const value = (id) => document.getElementById(id).value.trim();
  const readings = ["spot-k1", "spot-k2", "spot-k3"].map(value).filter((v) => v !== "").map(Number);
  const ringelmann = value("spot-ringelmann");
  const method = readings.length && ringelmann ? "both" : readings.length ? "free_accel" : ringelmann ? "ringelmann" : "visual_only";
  const body = {
    code_observed: value("spot-code"), city: Number(value("spot-city")), agency: value("spot-agency"),
    inspected_at: new Date().toISOString(), method, readings_k: readings,
    ringelmann_grade: ringelmann ? Number(ringelmann) : null, site_id: value("spot-site") || null,
  };
  const token = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
  const response = await fetch("/api/v1/machinery/inspections", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": token },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  const result = document.getElementById("spot-result");
  if (!response.ok) {
    result.dataset.result = "error";
    showStatus("spot-result", `未保存 Not saved: ${answer.detail ?? response.statusText}`, true);
    return;
  }
  result.dataset.result = answer.result;
  const verdict = { pass: "合格 pass", fail: "不合格 fail", not_tested: "未检测 not tested" }[answer.result];
  const rules = answer.findings.map((f) => f.rule).join(", ") || "—";
  showStatus("spot-result", `#${answer.inspection_id} ${verdict}: ${answer.reason} · 发现 findings: ${rules}`, answer.result === "fail");
  await Promise.all([loadFindings(), loadCounts()]);
}

async function main() {
  try {
    await loadCounts();
    await Promise.all([loadMap(), loadFindings()]);
    showStatus("machinery-status", "");
  } catch (error) {
    showStatus("machinery-status", `加载失败 Failed to load: ${error.message}`, true);
  }
}

document.getElementById("spot-form")?.addEventListener("submit", submitSpotCheck);
main();
