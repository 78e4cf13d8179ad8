// Surface water (GB 3838-2002, 环办〔2011〕22号, 环办监测〔2017〕51号): the section classes of a
// month, the shares of Class I–III and 劣V per basin and city, the city CWQI ranking with its
// change against a base period, and the cross-boundary compensation settlements.
// Data: /api/v1/water/sections, /water/evaluation, /water/rank, /water/compensation.
import { FONT, api, chart, fillTable, fmt, fmtUpTo, link, markReady, msg, showStatus } from "./common.js";
import {
  bilingualPart, classBadge, classInfo, pollutantsText, sectionNames, targetText, waterClasses,
} from "./water_common.js";

const form = document.getElementById("water-control");
const monthSelect = document.getElementById("month-select");
const basinSelect = document.getElementById("basin-select");
const baseSelect = document.getElementById("base-select");
const compForm = document.getElementById("comp-control");
const regionCities = JSON.parse(document.getElementById("region-cities").textContent || "[]");
const charts = {
  sharesBasin: chart("chart-shares-basin"),
  sharesCity: chart("chart-shares-city"),
  rank: chart("chart-rank"),
};
window.ecobasinCharts = charts;
const GOOD_COLOR = classInfo(2)?.color ?? "#4FA6F0"; // Class I–III share: the "excellent" blue
const BAD_COLOR = classInfo(6)?.color ?? "#E5262B"; // 劣V share: the class's red
let sectionById = new Map();
let basinNames = new Map(); // basin_zh -> name in the page language

function numCells(tbody, textColumns) {
  for (const row of tbody.rows) {
    for (const cell of row.cells) if (!textColumns.includes(cell.cellIndex)) cell.className = "num";
  }
}

function pct(value) {
  return value === null || value === undefined ? "—" : `${fmt(value, 1)} %`;
}

// ---- evaluation: facts, section table, shares -------------------------------------------

/** Shares of sections at Class I–III and 劣V per group (counts of the sections shown). */
function sharesBy(items, keyOf) {
  const groups = new Map();
  for (const item of items) {
    const key = keyOf(item);
    const g = groups.get(key) ?? { key, n: 0, good: 0, bad: 0 };
    g.n += 1;
    g.good += item.class_num <= 3 ? 1 : 0;
    g.bad += item.class_num === 6 ? 1 : 0;
    groups.set(key, g);
  }
  return [...groups.values()].map((g) => ({
    ...g,
    share_I_III: (100 * g.good) / g.n,
    share_worse_V: (100 * g.bad) / g.n,
  }));
}

function renderFacts(body) {
  const scopeRow = body.basin
    ? (body.summary ?? []).find((r) => r.scope === "basin")
    : (body.summary ?? []).find((r) => r.scope === "region");
  const [all] = sharesBy(body.items, () => "all");
  document.getElementById("fact-sections").textContent = fmt(body.n_sections);
  document.getElementById("fact-share-good").textContent = pct(scopeRow?.share_I_III ?? all?.share_I_III);
  document.getElementById("fact-share-bad").textContent = pct(scopeRow?.share_worse_V ?? all?.share_worse_V);
  document.getElementById("fact-failing").textContent = fmt(body.failing_target);
}

const failingOnly = document.getElementById("failing-only");

/** Failing sections first (issue 15): a section below its target class comes before the rest,
 * each group in the API's order. */
function failingFirst(items) {
  const fails = (r) => (r.meets_target === false ? 0 : 1);
  return items.map((r, i) => [r, i]).sort(([a, i], [b, j]) => fails(a) - fails(b) || i - j).map(([r]) => r);
}

/** Keep only the failing sections when asked; the table filter (tables.js) then re-applies. */
function applyFailingOnly() {
  const table = document.getElementById("section-table");
  for (const row of table.tBodies[0].rows) {
    row.dataset.excluded = failingOnly?.checked && !row.classList.contains("fails-target") ? "true" : "false";
    row.hidden = row.dataset.excluded === "true";
  }
  document.getElementById("water_sections-filter")?.dispatchEvent(new Event("input"));
}

function renderSections(unordered) {
  const items = failingFirst(unordered);
  const tbody = document.querySelector("#section-table tbody");
  fillTable(tbody, items, (r) => {
    const section = sectionById.get(r.site_id) ?? { site_id: r.site_id, name_zh: r.name_zh, name_en: r.name_en };
    const names = sectionNames(section);
    const name = document.createElement("span");
    name.append(link(`/water/section/${encodeURIComponent(r.site_id)}`, names.name), " ");
    const id = document.createElement("span");
    id.className = "muted";
    id.textContent = r.site_id;
    name.append(id);
    return [
      name,
      bilingualPart(r.city_name),
      names.river,
      classBadge(r.class_num),
      r.target_class ?? "—",
      targetText(r.meets_target),
      pollutantsText(r.main_pollutants),
      fmtUpTo(r.cwqi, 4),
    ];
  });
  items.forEach((r, i) => {
    const row = tbody.rows[i];
    row.dataset.siteId = r.site_id;
    row.dataset.class = r.class;
    if (r.meets_target === false) row.classList.add("fails-target");
  });
  numCells(tbody, [0, 1, 2, 3, 4, 5, 6]);
  tbody.dataset.sites = items.map((r) => r.site_id).join(",");
  applyFailingOnly();
}

function renderShares(id, instance, groups) {
  const rows = [...groups].reverse(); // first group at the top of a horizontal bar chart
  const label = { show: true, position: "right", formatter: (p) => `${fmt(p.value, 1)} %` };
  instance.setOption(
    {
      textStyle: { fontFamily: FONT },
      tooltip: {
        trigger: "axis",
        axisPointer: { type: "shadow" },
        valueFormatter: (v) => `${fmt(v, 1)} %`,
      },
      legend: { top: 0, textStyle: { fontFamily: FONT } },
      grid: { left: 8, right: 56, top: 32, bottom: 24, containLabel: true },
      xAxis: { type: "value", min: 0, max: 100, name: "%" },
      yAxis: { type: "category", data: rows.map((g) => `${g.name} (${g.n})`) },
      series: [
        { id: "good", name: msg("water_share_i_iii"), type: "bar", data: rows.map((g) => g.share_I_III), itemStyle: { color: GOOD_COLOR }, label },
        { id: "bad", name: msg("water_share_worse_v"), type: "bar", data: rows.map((g) => g.share_worse_V), itemStyle: { color: BAD_COLOR }, label },
      ],
    },
    true,
  );
  const element = document.getElementById(id);
  element.dataset.groups = JSON.stringify(groups.map((g) => [g.key, g.n, g.good, g.bad]));
  markReady(id, { points: groups.length }, instance);
}

function renderEvaluation(body) {
  document.getElementById("period-shown").textContent = body.period;
  renderFacts(body);
  renderSections(body.items);
  const basins = sharesBy(body.items, (r) => r.basin).map((g) => ({ ...g, name: basinNames.get(g.key) ?? g.key }));
  renderShares("chart-shares-basin", charts.sharesBasin, basins);
  const order = new Map(regionCities.map((c, i) => [c.code, i]));
  const cities = sharesBy(body.items, (r) => r.city)
    .sort((a, b) => (order.get(a.key) ?? 99) - (order.get(b.key) ?? 99))
    .map((g) => ({ ...g, name: regionCities.find((c) => c.code === g.key)?.name ?? String(g.key) }));
  renderShares("chart-shares-city", charts.sharesCity, cities);
  window.ecobasinWaterEvaluation = body;
}

async function loadEvaluation() {
  const table = document.getElementById("section-table");
  table.dataset.ready = "false";
  showStatus("water-status", msg("loading"));
  try {
    renderEvaluation(await api("/water/evaluation", { period: monthSelect.value, basin: basinSelect.value }));
    table.dataset.ready = "true";
    showStatus("water-status", "");
  } catch (error) {
    showStatus("water-status", `${msg("load_failed")}: ${error.message}`, true);
  }
}

// ---- CWQI ranking ----------------------------------------------------------------------------

function renderRank(body) {
  const tbody = document.querySelector("#rank-table tbody");
  const nameOf = (r) => regionCities.find((c) => c.code === r.city)?.name ?? bilingualPart(r.city_name);
  fillTable(tbody, body.items, (r) => [
    String(r.rank ?? "—"),
    link(`/city/${r.city}`, nameOf(r)),
    fmtUpTo(r.cwqi, 4),
    fmtUpTo(r.cwqi_base, 4),
    r.change_pct === null || r.change_pct === undefined ? "—" : `${r.change_pct > 0 ? "+" : ""}${fmt(r.change_pct, 2)} %`,
    r.change_rank === null || r.change_rank === undefined
      ? r.change_excluded ? msg("water_change_excluded") : "—"
      : String(r.change_rank),
    fmt(r.n_sections),
  ]);
  numCells(tbody, [1]);
  tbody.dataset.cities = body.items.map((r) => r.city).join(",");
  const items = [...body.items].reverse(); // rank 1 (cleanest) at the top
  charts.rank.setOption(
    {
      textStyle: { fontFamily: FONT },
      title: { text: `${msg("water_cwqi")} · ${body.period}`, textStyle: { fontFamily: FONT, fontSize: 14 } },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, valueFormatter: (v) => fmtUpTo(v, 4) },
      grid: { left: 8, right: 56, top: 36, bottom: 24, containLabel: true },
      xAxis: { type: "value" },
      yAxis: { type: "category", data: items.map((r) => `${r.rank}. ${nameOf(r)}`) },
      series: [{
        name: msg("water_cwqi"),
        type: "bar",
        data: items.map((r) => r.cwqi),
        label: { show: true, position: "right", formatter: (p) => fmtUpTo(p.value, 2) },
        itemStyle: { color: "#3a7bbf" },
      }],
    },
    true,
  );
  markReady("chart-rank", { points: body.items.length }, charts.rank);
}

async function loadRank() {
  const table = document.getElementById("rank-table");
  table.dataset.ready = "false";
  try {
    renderRank(await api("/water/rank", { period: monthSelect.value, base: baseSelect.value }));
    table.dataset.ready = "true";
  } catch (error) {
    showStatus("water-status", `${msg("load_failed")}: ${error.message}`, true);
  }
}

/** The base period of the change ranking: the same month a year before when stored, else the
 *  earliest stored month (环办监测〔2017〕51号 compares with a base period of the same kind). */
function defaultBase(month) {
  const months = [...monthSelect.options].map((o) => o.value);
  const lastYear = `${Number(month.slice(0, 4)) - 1}${month.slice(4)}`;
  if (months.includes(lastYear)) return lastYear;
  const earliest = months[months.length - 1];
  return earliest !== month ? earliest : "";
}

// ---- compensation ----------------------------------------------------------------------------

function compPeriod() {
  return new FormData(compForm).get("comp_kind") === "year" ? monthSelect.value.slice(0, 4) : monthSelect.value;
}

function multiplesText(r, factors) {
  const parts = factors
    .filter((f) => r[`${f}_multiple`])
    .map((f) => `${f} ${fmtUpTo(r[`${f}_multiple`], 2)}`);
  return parts.length ? parts.join(", ") : "—";
}

function renderCompensation(body) {
  document.getElementById("comp-period").textContent = body.period;
  const rules =
    `${msg("water_comp_rules")}: ${body.rule_set} ${body.rule_set_version} (${body.method}; ` +
    `${body.factors.join(", ")}) · ${msg("water_comp_total")}: ${fmt(body.total_cny, 2)} ${msg("cny")}` +
    (body.verified ? "" : ` · ${msg("water_comp_unverified")}`);
  document.getElementById("comp-rules").textContent = rules;
  const settlements = document.querySelector("#settlement-table tbody");
  const rows = body.summary ?? [];
  if (!rows.length) {
    settlements.replaceChildren();
    const tr = settlements.insertRow();
    const td = tr.insertCell();
    td.colSpan = 6;
    td.className = "muted";
    td.textContent = msg("water_comp_none");
  } else {
    fillTable(settlements, rows, (r) => [
      bilingualPart(r.payer),
      bilingualPart(r.payee),
      fmt(r.amount_cny, 2),
      fmt(r.gross_payer_to_payee, 2),
      fmt(r.gross_payee_to_payer, 2),
      fmt(r.n_sections),
    ]);
    numCells(settlements, [0, 1]);
  }
  settlements.dataset.rows = String(rows.length);
  const details = document.querySelector("#comp-table tbody");
  fillTable(details, body.items, (r) => {
    const section = sectionById.get(r.site_id);
    return [
      r.period,
      section ? sectionNames(section).name : r.name_zh,
      bilingualPart(r.upstream),
      bilingualPart(r.downstream),
      r.target_class ?? "—",
      classBadge(waterClasses.find((c) => c.label === r.section_class)?.num),
      multiplesText(r, body.factors),
      bilingualPart(r.payer),
      bilingualPart(r.payee),
      fmt(r.amount_cny, 2),
    ];
  });
  numCells(details, [0, 1, 2, 3, 4, 5, 7, 8]);
}

async function loadCompensation() {
  const table = document.getElementById("settlement-table");
  table.dataset.ready = "false";
  showStatus("comp-status", "");
  try {
    renderCompensation(await api("/water/compensation", { period: compPeriod() }));
    table.dataset.ready = "true";
  } catch (error) {
    showStatus("comp-status", `${msg("load_failed")}: ${error.message}`, true);
  }
}

// ---- start -----------------------------------------------------------------------------------

async function start() {
  if (!monthSelect.value) {
    document.getElementById("period-shown").textContent = "—";
    return; // no water results stored: the page says so
  }
  try {
    const sections = (await api("/water/sections")).items;
    sectionById = new Map(sections.map((s) => [s.site_id, s]));
    basinNames = new Map(sections.map((s) => [s.basin_zh, sectionNames(s).basin]));
    const basins = [...basinNames.entries()].sort((a, b) => a[0].localeCompare(b[0], "zh"));
    basinSelect.append(...basins.map(([zh, name]) => new Option(name, zh)));
  } catch (error) {
    showStatus("water-status", `${msg("load_failed")}: ${error.message}`, true);
    return;
  }
  baseSelect.value = defaultBase(monthSelect.value);
  monthSelect.addEventListener("change", () => {
    baseSelect.value = defaultBase(monthSelect.value);
    loadEvaluation();
    loadRank();
    loadCompensation();
  });
  basinSelect.addEventListener("change", loadEvaluation);
  failingOnly?.addEventListener("change", applyFailingOnly);
  baseSelect.addEventListener("change", loadRank);
  compForm.addEventListener("change", loadCompensation);
  form.addEventListener("submit", (event) => event.preventDefault());
  await Promise.all([loadEvaluation(), loadRank(), loadCompensation()]);
}

start();
