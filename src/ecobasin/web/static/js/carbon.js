// Carbon of a city: emissions by sector over the years (stacked, t CO2e), peak tracking (energy
// CO2 and intensity per 10⁴ CNY GDP at constant prices against the targets), sinks by kind and
// the electricity accounting choice of each inventory.
// Data: /api/v1/carbon/inventories, /carbon/emissions?by=sector|year, /carbon/peak, /carbon/sinks.
import { FONT, api, chart, fillTable, fmt, fmtUpTo, markReady, msg, showStatus } from "./common.js";

const META = JSON.parse(document.getElementById("carbon-meta").textContent || "{}");
const citySelect = document.getElementById("city-select");
const charts = { sectors: chart("chart-sectors"), peak: chart("chart-peak"), sinks: chart("chart-sinks") };
window.ecobasinCharts = charts;
const MT = 1e6; // t per Mt
//: Okabe–Ito colours: distinguishable for colour-blind readers; the legend names every series.
const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999"];
const TARGET_COLORS = ["#D55E00", "#8E44AD", "#2C3E50"];

const mt = (t) => (t === null || t === undefined ? null : t / MT);
const signedPct = (v, digits = 1) => (v === null || v === undefined ? "—" : `${v > 0 ? "+" : ""}${fmt(v, digits)} %`);

/** Keep the chosen city in the address and in the language switch's way back. */
function remember(city) {
  const url = new URL(location.href);
  url.searchParams.set("city", city);
  history.replaceState(null, "", url);
  const switcher = document.getElementById("lang-switch");
  if (switcher) {
    const target = new URL(switcher.href, location.origin);
    target.searchParams.set("next", `${url.pathname}${url.search}`);
    switcher.href = `${target.pathname}${target.search}`;
  }
}

// ---- emissions by sector ---------------------------------------------------------------------

function renderSectors(years, sectorRows, yearRows) {
  const present = new Set(sectorRows.map((r) => r.sector));
  const known = META.sectors.filter((s) => present.has(s.id));
  const extra = [...present].filter((id) => !known.some((s) => s.id === id)).map((id) => ({ id, name: id }));
  const sectors = [...known, ...extra];
  const total = new Map(); // sector|year -> t CO2e over scopes
  for (const r of sectorRows) {
    const key = `${r.sector}|${r.year}`;
    total.set(key, (total.get(key) ?? 0) + r.co2e_t);
  }
  const basic = new Map(yearRows.map((r) => [r.year, r.basic_t]));
  const series = sectors.map((s, i) => ({
    id: s.id,
    name: s.name,
    type: "bar",
    stack: "gross",
    barMaxWidth: 56,
    itemStyle: { color: PALETTE[i % PALETTE.length] },
    data: years.map((y) => (total.has(`${s.id}|${y}`) ? mt(total.get(`${s.id}|${y}`)) : null)),
  }));
  series.push({
    id: "basic",
    name: msg("carbon_basic_total"),
    type: "line",
    symbol: "diamond",
    symbolSize: 10,
    itemStyle: { color: "#1d2733" },
    lineStyle: { width: 2 },
    z: 5,
    data: years.map((y) => mt(basic.get(y))),
  });
  charts.sectors.setOption(
    {
      textStyle: { fontFamily: FONT },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: (v) => `${fmt(v, 2)} Mt` },
      legend: { top: 0, type: "scroll", textStyle: { fontFamily: FONT } },
      grid: { left: 8, right: 16, top: 56, bottom: 24, containLabel: true },
      xAxis: { type: "category", data: years.map(String) },
      yAxis: { type: "value", name: "Mt CO2e", nameTextStyle: { align: "left" } },
      series,
    },
    true,
  );
  markReady("chart-sectors", { sectors: sectors.length, years: years.length }, charts.sectors);
}

// ---- peak tracking ---------------------------------------------------------------------------

function statusText(status) {
  return msg(`carbon_status_${status}`);
}

function targetName(id) {
  return META.targets.find((t) => t.id === id)?.name ?? id;
}

function renderPeak(report) {
  const rows = report.rows;
  const intensityTargets = report.targets.filter((t) => t.kind === "intensity_reduction");
  const lastYear = Math.max(...rows.map((r) => r.year), ...intensityTargets.map((t) => t.target_year));
  const years = [];
  for (let y = rows[0].year; y <= lastYear; y++) years.push(y);
  const byYear = new Map(rows.map((r) => [r.year, r]));
  const series = [
    {
      id: "co2",
      name: msg("carbon_energy_co2"),
      type: "bar",
      barMaxWidth: 48,
      itemStyle: { color: "#56B4E9" },
      data: years.map((y) => mt(byYear.get(y)?.co2_t)),
      markPoint: report.peak.peak_year
        ? {
            symbol: "pin",
            symbolSize: 44,
            itemStyle: { color: "#1d2733" },
            label: { formatter: msg("carbon_peak_mark"), fontFamily: FONT, fontSize: 11 },
            data: [{ coord: [String(report.peak.peak_year), mt(report.peak.peak_t)] }],
          }
        : undefined,
    },
    {
      id: "intensity",
      name: msg("carbon_intensity"),
      type: "line",
      yAxisIndex: 1,
      symbolSize: 8,
      itemStyle: { color: "#0072B2" },
      data: years.map((y) => byYear.get(y)?.intensity_t_per_10k_cny ?? null),
    },
  ];
  intensityTargets.forEach((t, i) => {
    const meta = META.targets.find((m) => m.id === t.id);
    const baseYear = meta?.base_year ?? report.base_year;
    const base = byYear.get(baseYear)?.intensity_t_per_10k_cny;
    if (base === undefined || base === null) return;
    const goal = base * (1 + t.goal_pct / 100);
    series.push({
      id: `target-${t.id}`,
      name: `${msg("carbon_target_path")}: ${targetName(t.id)}`,
      type: "line",
      yAxisIndex: 1,
      connectNulls: true,
      symbol: "triangle",
      symbolSize: 9,
      lineStyle: { type: "dashed", width: 1.5 },
      itemStyle: { color: TARGET_COLORS[i % TARGET_COLORS.length] },
      data: years.map((y) => (y === baseYear ? base : y === t.target_year ? goal : null)),
    });
  });
  const status = `${statusText(report.peak.status)}${report.peak.peak_year ? ` · ${msg("carbon_peak_year")} ${report.peak.peak_year}` : ""}`;
  charts.peak.setOption(
    {
      textStyle: { fontFamily: FONT },
      title: { text: `${msg("carbon_peak_status")}: ${status}`, left: 0, top: 0, textStyle: { fontFamily: FONT, fontSize: 14 } },
      tooltip: { trigger: "axis", valueFormatter: (v) => (v === null || v === undefined ? "—" : fmtUpTo(v, 4)) },
      legend: { top: 30, left: 0, type: "scroll", textStyle: { fontFamily: FONT } },
      grid: { left: 8, right: 8, top: 96, bottom: 24, containLabel: true },
      xAxis: { type: "category", data: years.map(String) },
      yAxis: [
        { type: "value", name: "Mt CO2", nameTextStyle: { align: "left" } },
        { type: "value", name: "t/10⁴ CNY", nameTextStyle: { align: "right" }, splitLine: { show: false } },
      ],
      series,
    },
    true,
  );
  markReady("chart-peak", { status: report.peak.status, points: rows.length }, charts.peak);
  document.getElementById("peak-rule").textContent = `${msg("carbon_peak_rule")}: ${report.peak.rule}`;
  fillTable(document.querySelector("#target-table tbody"), report.targets, (t) => [
    targetName(t.id),
    String(t.target_year ?? "—"),
    t.kind === "intensity_reduction" ? signedPct(t.goal_pct) : msg("carbon_goal_peak"),
    t.kind === "intensity_reduction"
      ? `${signedPct(t.change_pct, 2)} (${t.progress_year} / ${META.targets.find((m) => m.id === t.id)?.base_year ?? report.base_year})`
      : statusText(t.progress),
    t.met === true ? `✓ ${msg("carbon_met")}` : t.met === false ? `✗ ${msg("carbon_not_met")}` : msg("carbon_in_progress"),
  ]);
  for (const row of document.querySelectorAll("#target-table tbody tr")) {
    for (const i of [1, 2, 3]) row.cells[i].className = "num";
  }
}

// ---- sinks -----------------------------------------------------------------------------------

function sinkLabel(id, method) {
  const name = msg(`carbon_sink_${id}`);
  const how = msg(`carbon_method_${method}`);
  return `${name.startsWith("carbon_sink_") ? id : name} · ${how.startsWith("carbon_method_") ? method : how}`;
}

function renderSinks(years, rows) {
  const kinds = [...new Map(rows.map((r) => [r.sink_id, r.method])).entries()];
  const value = new Map(rows.map((r) => [`${r.sink_id}|${r.year}`, r.removal_tco2]));
  charts.sinks.setOption(
    {
      textStyle: { fontFamily: FONT },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: (v) => `${fmtUpTo(v, 3)} Mt` },
      legend: { top: 0, textStyle: { fontFamily: FONT } },
      grid: { left: 8, right: 16, top: 40, bottom: 24, containLabel: true },
      xAxis: { type: "category", data: years.map(String) },
      yAxis: { type: "value", name: "Mt CO2/a", nameTextStyle: { align: "left" } },
      series: kinds.map(([id, method], i) => ({
        id,
        name: sinkLabel(id, method),
        type: "bar",
        stack: "sinks",
        barMaxWidth: 48,
        itemStyle: { color: ["#009E73", "#8BC34A", "#999999"][i % 3] },
        data: years.map((y) => mt(value.get(`${id}|${y}`))),
      })),
    },
    true,
  );
  markReady("chart-sinks", { kinds: kinds.length }, charts.sinks);
}

// ---- inventories: electricity choice, settings, source ---------------------------------------

function renderInventories(inventories) {
  fillTable(document.querySelector("#electricity-table tbody"), inventories, (inv) => {
    const choice = inv.electricity_choice ?? {};
    return [
      String(inv.year),
      choice.factor_id ?? inv.grid_factor_id ?? "—",
      choice.kind ? `${choice.region ?? "—"} · ${msg(`carbon_grid_kind_${choice.kind}`)}` : (choice.region ?? "—"),
      String(choice.factor_year ?? "—"),
      choice.value ?? "—",
      choice.note ?? "",
    ];
  });
  for (const row of document.querySelectorAll("#electricity-table tbody tr")) {
    row.cells[3].className = "num";
    row.cells[4].className = "num";
  }
  const last = inventories[inventories.length - 1];
  document.getElementById("carbon-settings").textContent = last
    ? `GWP: ${last.gwp_set} · ${msg("carbon_factor_set")}: ${last.factor_set} · ${msg("carbon_heat_factor")}: ` +
      `${last.heat_factor_id ?? "—"} · ${msg("carbon_gdp_base")}: ${last.gdp_price_base ?? "—"}`
    : "";
  const sources = [...new Set(inventories.map((inv) => inv.source).filter(Boolean))];
  document.getElementById("carbon-source").textContent = `${msg("carbon_source")}: ${sources.join("; ") || "—"}`;
  document.getElementById("carbon-illustrative").hidden = !sources.some((s) => /illustrative|demo/i.test(s));
}

function renderFacts(years, yearRows, report, sinkRows) {
  const latest = years[years.length - 1];
  const row = yearRows.find((r) => r.year === latest);
  const peakRow = report?.rows.find((r) => r.year === latest);
  const sinks = sinkRows.filter((r) => r.year === latest).reduce((sum, r) => sum + r.removal_tco2, 0);
  document.getElementById("fact-year").textContent = latest ?? "—";
  document.getElementById("fact-total").textContent = fmt(mt(row?.basic_t), 2);
  document.getElementById("fact-intensity").textContent = fmtUpTo(peakRow?.intensity_t_per_10k_cny, 4);
  document.getElementById("fact-peak").textContent = report ? statusText(report.peak.status) : "—";
  document.getElementById("fact-sinks").textContent = sinkRows.length ? fmt(mt(sinks), 2) : "—";
}

async function load() {
  const city = citySelect.value;
  remember(city);
  for (const id of ["chart-sectors", "chart-peak", "chart-sinks"]) document.getElementById(id).dataset.ready = "false";
  showStatus("carbon-status", msg("loading"));
  try {
    const [inventories, sectors, totals, peak, sinks] = await Promise.all([
      api("/carbon/inventories", { city }),
      api("/carbon/emissions", { city, by: "sector" }),
      api("/carbon/emissions", { city, by: "year" }),
      api("/carbon/peak", { city }),
      api("/carbon/sinks", { city }),
    ]);
    const years = [...new Set(inventories.results.map((inv) => inv.year))].sort((a, b) => a - b);
    if (!years.length) {
      showStatus("carbon-status", msg("carbon_no_inventory_city"), false);
      return;
    }
    const report = peak.results.find((r) => String(r.city_code) === city);
    renderInventories(inventories.results);
    renderSectors(years, sectors.results, totals.results);
    if (report) renderPeak(report);
    renderSinks(years, sinks.results);
    renderFacts(years, totals.results, report, sinks.results);
    window.ecobasinCarbonData = { city: Number(city), years, sectors: sectors.results, totals: totals.results, peak: report };
    showStatus("carbon-status", "");
  } catch (error) {
    showStatus("carbon-status", `${msg("load_failed")}: ${error.message}`, true);
  }
}

if (citySelect.options.length && !document.getElementById("carbon-empty")) {
  citySelect.addEventListener("change", load);
  load();
}
