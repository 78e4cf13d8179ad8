// The incident page /incidents/{id} (issue 22): the river network with the plume's path coloured
// by the forecast arrival, the arrival table, the curves at each intake and site (low and high
// dispersion), the notice board (acknowledge your own city's notice), the joint monitoring plan
// (approve as a city on it), and the timeline. Data: /api/v1/incidents/{id}, /api/v1/rivers/{net}.
import { FONT, api, chart, fillTable, fmtUpTo, lang, markReady, msg, showStatus } from "./common.js";

const root = document.getElementById("incident");
const id = root.dataset.id;
const myCity = root.dataset.city;
const role = root.dataset.role;
const threshold = Number(root.dataset.threshold);
const csrf = document.querySelector("meta[name='csrf-token']")?.content ?? "";
const mapChart = chart("incident-map");
const curveChart = chart("incident-curves");

/** Local (China Standard Time) "MM-DD HH:MM" of an ISO instant. */
function cst(iso) {
  if (!iso) return "—";
  const d = new Date(new Date(iso).getTime() + 8 * 3600 * 1000);
  return `${d.toISOString().slice(5, 10)} ${d.toISOString().slice(11, 16)}`;
}

function nodeName(n) {
  return (lang === "zh" ? n.name_zh : n.name_en) || n.node_id;
}

function drawMap(network, forecast) {
  const nodes = new Map(network.nodes.map((n) => [n.node_id, n]));
  const eta = new Map(forecast.map((r) => [r.node_id, r.front_h]));
  const lines = network.reaches.map((r) => {
    const a = nodes.get(r.from_node);
    const b = nodes.get(r.to_node);
    const hit = eta.has(r.to_node);
    return { coords: [[a.lon, a.lat], [b.lon, b.lat]], lineStyle: { color: hit ? "#d7301f" : "#6baed6", width: hit ? 4 : 2 } };
  });
  const kinds = { intake: "diamond", site: "circle", boundary: "rect", junction: "triangle", outlet: "pin" };
  const points = network.nodes.map((n) => ({
    name: nodeName(n),
    value: [n.lon, n.lat, eta.get(n.node_id) ?? null],
    symbol: kinds[n.kind] ?? "circle",
    symbolSize: n.kind === "intake" ? 12 : 7,
    node: n,
  }));
  mapChart.setOption({
    textStyle: { fontFamily: FONT },
    tooltip: {
      formatter: (p) => p.data.node
        ? `${p.data.name}<br>${msg("incident_front")}: ${p.data.value[2] === null ? "—" : fmtUpTo(p.data.value[2], 1)}`
        : "",
    },
    grid: { left: 40, right: 16, top: 16, bottom: 28 },
    xAxis: { type: "value", scale: true, name: "E°" },
    yAxis: { type: "value", scale: true, name: "N°" },
    visualMap: { dimension: 2, min: 0, max: Math.max(24, ...forecast.map((r) => r.front_h ?? 0)),
      inRange: { color: ["#b10026", "#fd8d3c", "#ffffb2"] }, outOfRange: { color: "#9ecae1" },
      text: [msg("incident_front"), ""], calculable: true, seriesIndex: 1, right: 0, top: 0 },
    series: [
      { type: "lines", coordinateSystem: "cartesian2d", polyline: false, data: lines, silent: true },
      { type: "scatter", data: points, encode: { x: 0, y: 1 } },
    ],
  });
  markReady("incident-map", { nodes: points.length }, mapChart);
}

/** The CST clock time of `hours` after the release (brief §2.1: hours and local clock time). */
function clockAfter(occurredAt, hours) {
  if (hours === null || hours === undefined) return "—";
  return cst(new Date(new Date(occurredAt).getTime() + hours * 3.6e6).toISOString());
}

function drawArrivals(forecast, occurredAt) {
  const rows = forecast.filter((r) => ["intake", "site", "boundary"].includes(r.kind));
  fillTable(document.querySelector("#arrival-table tbody"), rows, (r) => [
    `${lang === "zh" ? r.name_zh : r.name_en}${r.kind === "intake" ? ` (${msg("incident_role_intake")})` : ""}`,
    r.city,
    fmtUpTo(r.distance_km, 1),
    fmtUpTo(r.front_h, 1),
    clockAfter(occurredAt, r.front_h),
    fmtUpTo(r.t_peak_h_low, 1),
    `${fmtUpTo(r.C_peak_mg_L_high, 4)}–${fmtUpTo(r.C_peak_mg_L_low, 4)}`,
    r.above_from_h_high === null ? msg("incident_below") : `${fmtUpTo(r.above_from_h_high, 1)}–${fmtUpTo(r.above_to_h_high, 1)}`,
  ]);
  document.getElementById("arrival-table").dataset.ready = "true";
}

function drawCurves(curves, samples, occurredAt) {
  const observed = new Set(samples.map((r) => r.node_id));
  const shown = curves.filter((c) => c.kind === "intake" || observed.has(c.node_id)).slice(0, 8);
  const series = shown.flatMap((c) => [
    { name: `${lang === "zh" ? c.name_zh : c.name_en}`, type: "line", showSymbol: false,
      data: c.hours.map((h, i) => [h, c.low[i]]) },
    { name: `${lang === "zh" ? c.name_zh : c.name_en}`, type: "line", showSymbol: false, lineStyle: { type: "dashed" },
      data: c.hours.map((h, i) => [h, c.high[i]]) },
  ]);
  const start = new Date(occurredAt).getTime();
  for (const c of shown.filter((x) => observed.has(x.node_id))) {
    series.push({ name: `${lang === "zh" ? c.name_zh : c.name_en} ${msg("incident_observed")}`, type: "scatter", symbolSize: 5,
      data: samples.filter((r) => r.node_id === c.node_id)
        .map((r) => [(new Date(r.sampled_at).getTime() - start) / 3.6e6, r.value_mg_L]) });
  }
  series.push({ name: msg("incident_threshold"), type: "line", data: [], markLine: { symbol: "none",
    data: [{ yAxis: threshold }], lineStyle: { color: "#d7301f" }, label: { formatter: `${msg("incident_threshold")} ${threshold} mg/L` } } });
  curveChart.setOption({
    textStyle: { fontFamily: FONT },
    tooltip: { trigger: "axis" },
    legend: { top: 0, type: "scroll" },
    grid: { left: 56, right: 16, top: 36, bottom: 36 },
    xAxis: { type: "value", name: msg("incident_hours_after") },
    yAxis: { type: "value", name: "mg/L" },
    series,
  });
  markReady("incident-curves", { intakes: shown.filter((c) => c.kind === "intake").length, observed: observed.size }, curveChart);
}

async function post(path) {
  const response = await fetch(`/api/v1/incidents/${id}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
    body: "{}",
  });
  if (!response.ok) {
    const detail = (await response.json().catch(() => ({}))).detail ?? response.statusText;
    throw new Error(`${response.status} ${detail}`);
  }
  return response.json();
}

/** The server's state of a notice by its clock (sent, acknowledged, overdue, waiting), and
 * whether an overdue one was escalated to the province. */
function noticeState(n) {
  const state = msg(`incident_state_${n.state}`);
  return n.escalated_at ? `${state} · ${msg("incident_escalated_mark")}` : state;
}

function drawNotices(notices) {
  fillTable(document.querySelector("#notice-table tbody"), notices, (n) => {
    let action = "";
    const mine = role === "admin" || (n.to_city && n.to_city === myCity);
    if (n.kind === "cross_boundary" && !n.acked_at && n.sent_at && mine) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "ack";
      button.dataset.notice = n.notice_id;
      button.textContent = msg("incident_ack");
      button.addEventListener("click", async () => {
        button.disabled = true;
        try {
          await post(`/notices/${n.notice_id}/ack`);
          await load();
        } catch (error) {
          showStatus("incident-status", error.message, true);
          button.disabled = false;
        }
      });
      action = button;
    }
    const to = `${n.to_org}${n.to_city ? ` · ${n.to_city}` : ""}${n.external ? ` (${msg("incident_external")})` : ""}`;
    return [msg(`incident_kind_${n.kind}`), to, cst(n.deadline), cst(n.sent_at), cst(n.acked_at), noticeState(n), action];
  });
  document.getElementById("notice-table").dataset.ready = "true";
}

function drawPlan(view) {
  const approved = new Set(view.approvals.map((a) => a.city_code));
  const parties = [...new Set(view.plan.map((p) => p.responsible_city))];
  fillTable(document.querySelector("#plan-table tbody"), view.plan, (p) => [
    p.node_id,
    msg(`incident_role_${p.role}`),
    `${p.responsible_city}${approved.has(p.responsible_city) ? " ✓" : ""}`,
    p.window_from_h === null ? "—" : `${fmtUpTo(p.window_from_h, 1)}–${p.window_to_h === null ? "" : fmtUpTo(p.window_to_h, 1)}`,
    p.frequency,
  ]);
  const joint = parties.every((c) => approved.has(c));
  const badge = document.getElementById("plan-joint");
  badge.textContent = joint ? msg("incident_plan_joint") : `${approved.size}/${parties.length}`;
  const button = document.getElementById("approve-plan");
  button.hidden = !(myCity && parties.includes(myCity) && !approved.has(myCity));
  document.getElementById("plan-table").dataset.ready = "true";
}

/** A dispatch button for a request addressed to the user's own city (or any, for the province). */
function dispatchButton(r) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "dispatch";
  button.textContent = msg("incident_dispatch");
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      await post(`/materials/${r.request_id}/dispatch`);
      await load();
    } catch (error) {
      showStatus("incident-status", error.message, true);
      button.disabled = false;
    }
  });
  return button;
}

function drawMaterials(rows) {
  fillTable(document.querySelector("#material-table tbody"), rows, (r) => {
    const mine = role === "admin" || (role === "editor" && r.to_city === myCity);
    const state = r.dispatched_at ? cst(r.dispatched_at) : (mine ? dispatchButton(r) : msg("incident_state_waiting"));
    return [r.item, `${fmtUpTo(r.quantity, 2)} ${r.unit}`, `${r.from_city} → ${r.to_city}`, cst(r.requested_at), state];
  });
  document.getElementById("material-table").dataset.ready = "true";
}

function drawTimeline(events) {
  const list = document.getElementById("timeline");
  list.replaceChildren(...events.map((e) => {
    const li = document.createElement("li");
    li.textContent = `${cst(e.event_at)} · ${e.actor} · ${msg(`incident_event_${e.event.replaceAll(" ", "_")}`)}`;
    return li;
  }));
}

async function load() {
  try {
    const view = await api(`/incidents/${id}`);
    const network = await api(`/rivers/${root.dataset.network}`);
    drawMap(network, view.forecast);
    drawArrivals(view.forecast, view.incident.occurred_at);
    drawCurves(view.curves, view.samples, view.incident.occurred_at);
    drawMaterials(view.materials);
    drawNotices(view.notices);
    drawPlan(view);
    drawTimeline(view.events);
    showStatus("incident-status", `${msg("incident_run")} ${view.forecast_runs}`);
  } catch (error) {
    showStatus("incident-status", error.message, true);
  }
}

document.getElementById("approve-plan").addEventListener("click", async (event) => {
  event.target.disabled = true;
  try {
    await post("/plan/approve");
    await load();
  } catch (error) {
    showStatus("incident-status", error.message, true);
  } finally {
    event.target.disabled = false;
  }
});

load();
