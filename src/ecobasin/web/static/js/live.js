// Live enterprise monitoring: outlets' latest readings against their limits, open alarms and the
// HJ 212 gateway's status, from /api/v1/live/enterprises and /api/v1/gateway/status, refreshed
// every few seconds. Over a limit is said in words and colour (colour is never the only carrier).
import { api, fillTable, fmt, fmtUpTo, lang, msg, showStatus } from "./common.js";

const REFRESH_S = Number(document.getElementById("live-refresh").dataset.seconds) || 5;
const table = document.getElementById("enterprise-table");
const panel = document.getElementById("gateway-panel");

const nameOf = (item) => (lang === "zh" ? item.name_zh : item.name_en || item.name_zh) ?? item.site_id;
const cityOf = (item) => (lang === "zh" ? item.city_zh : item.city_en) ?? "—";
const paramName = (r) => (lang === "zh" ? r.name_zh : r.name_en) ?? r.parameter;
const SHORT = { dust: lang === "zh" ? "烟尘" : "dust", NH3N: "NH₃-N", SO2: "SO₂", NOx: "NOₓ", O2: "O₂" };
/** A short label for the chips ("NOₓ 折算", "COD"); the full name is the chip's tooltip. */
function shortName(r) {
  const converted = r.parameter.endsWith("_Zs");
  const base = r.parameter.replace(/^FG_/, "").replace(/_Zs$/, "");
  return `${SHORT[base] ?? base}${converted ? (lang === "zh" ? " 折算" : " conv.") : ""}`;
}

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The outlet's state in words: over, within, no data, no limit, no mean yet. */
function state(item) {
  if (item.over_limit) return ["over", msg("live_over")];
  if (!item.readings.length) return ["none", msg("live_no_data")];
  if (!item.limits.length) return ["none", msg("live_no_limit")];
  if (item.readings.every((r) => r.over === null || r.over === undefined)) return ["none", msg("live_no_mean")];
  return ["within", msg("live_within")];
}

/** "SO₂ conv. · hourly mean 21.3 / limit 35 mg/m³ · Within limit" for a limit and its reading
 *  (a limit without any reading yet gets an empty one). */
function chip(limit, reading) {
  const r = { ...limit, name_zh: null, name_en: null, basis_value: null, over: null, ...reading };
  const kind = r.over === true ? "over" : r.over === false ? "within" : "pending";
  const node = el("span", `chip ${kind}`);
  node.dataset.parameter = r.parameter;
  node.dataset.over = String(r.over);
  const basis = msg(`basis_${r.basis}`);
  const empty = reading ? msg("live_no_mean") : msg("live_no_data");
  const mean = r.basis_value === null ? empty : `${basis} ${fmtUpTo(r.basis_value, 3)}`;
  node.append(
    el("span", "param", shortName(r)),
    el("span", "mean", `${mean} / ${msg("limit_word")} ${fmtUpTo(r.limit, 3)} ${r.unit ?? ""}`),
  );
  if (r.over !== null) node.append(el("span", "verdict", r.over ? msg("live_over") : msg("live_within")));
  node.title = [paramName(r), r.standard_id, r.clause, r.basis_time_cst].filter(Boolean).join(" · ");
  return node;
}

function readingsDetails(item) {
  const details = el("details", "readings");
  details.append(el("summary", "", `${msg("live_readings")} (${item.readings.length})`));
  const rows = el("table");
  for (const r of item.readings) {
    const tr = el("tr");
    const value = r.value === null ? "—" : `${fmtUpTo(r.value, 3)} ${r.unit ?? ""}`;
    tr.append(el("td", "", paramName(r)), el("td", "num", value), el("td", "", r.flag ?? ""),
      el("td", "muted", `${r.period} · ${r.time_cst}`));
    rows.append(tr);
  }
  details.append(rows);
  return details;
}

function outletCell(item) {
  const cell = el("div");
  cell.append(el("strong", "", nameOf(item)));
  const sub = el("div", "muted", item.site_id + (item.simulated ? ` · ${msg("live_simulated")}` : ""));
  cell.append(sub);
  if (item.readings.length) cell.append(readingsDetails(item));
  return cell;
}

function renderEnterprises(body) {
  const tbody = table.querySelector("tbody");
  fillTable(tbody, body.results, (item) => {
    const [kind, text] = state(item);
    const chips = el("div", "chips");
    for (const limit of item.limits) {
      chips.append(chip(limit, item.readings.find((r) => r.parameter === limit.parameter)));
    }
    return [
      outletCell(item),
      cityOf(item),
      msg(`kind_${item.kind}`),
      item.last_time_cst ?? "—",
      el("span", `state ${kind}`, text),
      chips,
    ];
  });
  [...tbody.rows].forEach((tr, i) => {
    const item = body.results[i];
    tr.dataset.site = item.site_id;
    tr.dataset.over = String(item.over_limit);
    tr.classList.toggle("over-limit", item.over_limit);
    tr.cells[0].className = "outlet";
  });
  document.getElementById("enterprise-count").textContent =
    `${body.count} · ${msg("live_over")} ${body.over_limit}`;
  renderAlarms(body.results);
  table.dataset.rows = String(body.count);
  table.dataset.ready = "true";
}

function renderAlarms(items) {
  const alarms = items.flatMap((item) => item.open_alarms.map((a) => ({ ...a, outlet: nameOf(item) })));
  alarms.sort((a, b) => (a.start_utc < b.start_utc ? 1 : -1));
  fillTable(document.querySelector("#alarm-table tbody"), alarms, (a) => [
    el("span", `kind-${a.kind}`, msg(`alarm_kind_${a.kind}`) + (a.flag ? ` (${a.flag})` : "")),
    a.outlet,
    a.parameter ? shortName(a) : "—",
    a.start_cst,
    a.peak === null ? "—" : `${fmtUpTo(a.peak, 3)} / ${fmtUpTo(a.limit, 3)}`,
  ]);
  document.getElementById("alarm-count").textContent = String(alarms.length);
  document.getElementById("alarms-none").hidden = alarms.length > 0;
}

function setFact(id, value) {
  document.getElementById(id).textContent = value;
}

function renderGateway(status) {
  document.getElementById("gateway-none").hidden = status !== null;
  document.getElementById("gateway-facts").hidden = status === null;
  if (status === null) {
    panel.dataset.running = "false";
    panel.dataset.ready = "true";
    return;
  }
  document.getElementById("gateway-port").textContent = `127.0.0.1:${status.port}`;
  for (const key of ["connections", "frames", "acked", "stored", "duplicates", "rejected", "refused", "budget_closed", "unsampled"]) {
    setFact(`gw-${key}`, fmt(status[key]));
  }
  setFact("gw-rate", status.messages_per_s === null ? "…" : fmt(status.messages_per_s, 2));
  document.getElementById("gateway-alarm").hidden = !status.alarms.includes("raw_log_unwritable");
  document.getElementById("gateway-broker-alarm").hidden = !status.alarms.includes("broker_unreachable");
  const sim = status.simulator;
  document.getElementById("simulator-block").hidden = sim === null;
  if (sim) {
    for (const key of ["sent", "acked", "retries", "lost"]) setFact(`sim-${key}`, fmt(sim[key]));
    setFact("sim-p50", sim.ack_p50_ms === null ? "—" : `${fmt(sim.ack_p50_ms, 1)} ms`);
  }
  Object.assign(panel.dataset, { running: "true", acked: String(status.acked), stored: String(status.stored) });
  panel.dataset.ready = "true";
}

async function gatewayStatus() {
  try {
    return await api("/gateway/status");
  } catch (error) {
    if (String(error.message).startsWith("404")) return null; // this server runs no gateway
    throw error;
  }
}

async function refresh() {
  try {
    const [enterprises, status] = await Promise.all([api("/live/enterprises"), gatewayStatus()]);
    renderEnterprises(enterprises);
    renderGateway(status);
    document.getElementById("live-updated").textContent = new Date().toLocaleTimeString(
      lang === "zh" ? "zh-CN" : "en-GB", { timeZone: "Asia/Shanghai", hour12: false });
    showStatus("live-status", "");
  } catch (error) {
    showStatus("live-status", `${msg("load_failed")}: ${error.message}`, true);
  } finally {
    setTimeout(refresh, REFRESH_S * 1000); // after the answer: slow answers never pile up
  }
}

refresh();
