// One water section (issue 7): the class calendar of a year — a row per month with the month's
// assessed class (环办〔2011〕22号) and, where the section has an automatic station, the daily
// class of every day (GB 3838-2002 single-factor method on the daily means) — the monthly means
// of the main items against their Class III limit, and the main pollutants by month.
// Data: /api/v1/water/sections/{site_id}/calendar?year=.
import { FONT, api, chart, fillTable, fmtUpTo, lang, markReady, msg, showStatus } from "./common.js";
import { classBadge, classInfo, classText, pollutantsText, targetText, waterParameters } from "./water_common.js";

const siteId = document.getElementById("section-facts").dataset.siteId;
const yearSelect = document.getElementById("year-select");
const charts = new Map(); // item -> ECharts instance
window.ecobasinCharts = charts;

/** White numerals on dark class colours, dark ones on light colours (WCAG relative luminance). */
function isDark(hex) {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.3;
}

function itemName(item) {
  const p = waterParameters[item];
  if (!p) return item;
  return lang === "zh" ? p.name_zh : p.name_en;
}

function monthLabel(period) {
  const month = Number(period.slice(5, 7));
  return lang === "zh" ? `${month}月` : new Date(Date.UTC(2000, month - 1, 1)).toLocaleString("en", { month: "short", timeZone: "UTC" });
}

/** A calendar cell: the class colour and numeral, the class and status in its title. */
function classCell(num, title, extraClass) {
  const td = document.createElement("td");
  td.className = `cal-cell ${extraClass}`;
  const info = classInfo(num);
  if (info) {
    td.style.background = info.color;
    td.textContent = info.label;
    td.dataset.class = info.label;
    if (isDark(info.color)) td.classList.add("dark");
  } else {
    td.classList.add("empty");
  }
  td.title = title;
  return td;
}

function daysIn(period) {
  const [y, m] = period.split("-").map(Number);
  return new Date(Date.UTC(y, m, 0)).getUTCDate();
}

function renderCalendar(body) {
  const byDay = new Map(body.days.map((d) => [d.date, d]));
  const tbody = document.querySelector("#class-calendar tbody");
  tbody.replaceChildren(
    ...body.months.map((m) => {
      const tr = document.createElement("tr");
      tr.dataset.period = m.period;
      const th = document.createElement("th");
      th.className = "month-label";
      th.scope = "row";
      th.textContent = monthLabel(m.period);
      const monthTitle = `${m.period}: ${classText(m.class_num)}${m.main_display ? ` · ${pollutantsText(m.main_display)}` : ""}`;
      const month = classCell(m.class_num, monthTitle, "cal-month");
      month.dataset.period = m.period;
      if (m.meets_target === false) month.classList.add("fails");
      tr.append(th, month);
      const n = daysIn(m.period);
      for (let d = 1; d <= 31; d += 1) {
        const date = `${m.period}-${String(d).padStart(2, "0")}`;
        if (d > n) {
          const none = document.createElement("td");
          none.className = "cal-cell none";
          tr.append(none);
          continue;
        }
        const day = byDay.get(date);
        const title = day
          ? `${date}: ${classText(day.class_num)} · ${msg("water_determining")}: ${day.determining.map(itemName).join(", ")}`
          : `${date}: ${msg("no_data")}`;
        const cell = classCell(day?.class_num, title, "cal-day");
        cell.dataset.date = date;
        tr.append(cell);
      }
      return tr;
    }),
  );
  const table = document.getElementById("class-calendar");
  table.classList.toggle("no-days", body.days.length === 0); // months only: no day columns
  table.dataset.days = String(body.days.length);
  table.dataset.months = String(body.months.filter((m) => m.class_num).length);
  const note = document.getElementById("auto-note");
  note.textContent = body.auto_items.length
    ? `${msg("water_auto_items")}: ${body.auto_items.map(itemName).join(lang === "zh" ? "、" : ", ")} (${body.days.length} ${msg("days")})`
    : msg("water_no_auto");
  table.dataset.ready = "true";
}

function seriesChart(item, limit, months) {
  const grid = document.getElementById("series-grid");
  let box = document.getElementById(`series-${item}`);
  if (!box) {
    const wrap = document.createElement("div");
    const unit = limit.unit === "1" ? "" : ` [${limit.unit}]`;
    const h3 = document.createElement("h3");
    h3.textContent = `${itemName(item)} ${item}${unit}`;
    box = document.createElement("div");
    box.id = `series-${item}`;
    box.className = "chart";
    box.setAttribute("role", "img");
    box.setAttribute("aria-label", h3.textContent);
    wrap.append(h3, box);
    grid.append(wrap);
    charts.set(item, chart(box.id));
  }
  const values = months.map((m) => m.means?.[item] ?? null);
  const over = (v) => v !== null && (limit.direction === "min" ? v < limit.limit_III : v > limit.limit_III);
  const points = values.map((v, i) => ({
    value: v,
    itemStyle: { color: over(v) ? classInfo(5).color : "#1d2733" },
    symbolSize: over(v) ? 8 : 5,
    period: months[i].period,
  }));
  const limitName = `${msg("water_limit_iii")} ${fmtUpTo(limit.limit_III, 4)}`;
  const instance = charts.get(item);
  instance.setOption(
    {
      textStyle: { fontFamily: FONT },
      grid: { left: 8, right: 16, top: 30, bottom: 8, containLabel: true },
      legend: {
        top: 0,
        right: 0,
        textStyle: { fontFamily: FONT, fontSize: 11 },
        itemWidth: 18,
        // the limit's key drawn as a dashed line, like the line itself
        data: [msg("water_means"), { name: limitName, icon: "path://M0,0H4V1H0ZM6,0H10V1H6ZM12,0H16V1H12Z" }],
      },
      tooltip: { trigger: "axis", valueFormatter: (v) => fmtUpTo(v, 4) },
      xAxis: { type: "category", data: months.map((m) => monthLabel(m.period)) },
      yAxis: { type: "value", min: 0, axisLabel: { formatter: (v) => fmtUpTo(v, 3) } },
      series: [
        {
          id: "mean",
          name: msg("water_means"),
          type: "line",
          data: points,
          connectNulls: false,
          itemStyle: { color: "#1d2733" },
          lineStyle: { color: "#1d2733" },
        },
        {
          // a series rather than a markLine, so the axis always reaches the limit
          id: "limit",
          name: limitName,
          type: "line",
          data: months.map(() => limit.limit_III),
          symbol: "none",
          silent: true,
          lineStyle: { type: "dashed", color: classInfo(3).color, width: 2 },
          itemStyle: { color: classInfo(3).color },
        },
      ],
    },
    true,
  );
  box.dataset.limit = String(limit.limit_III);
  box.dataset.values = JSON.stringify(values);
  markReady(box.id, { points: values.filter((v) => v !== null).length }, instance);
}

function renderSeries(body) {
  for (const [item, limit] of Object.entries(body.series_limits)) seriesChart(item, limit, body.months);
  document.getElementById("series-grid").dataset.ready = "true";
}

function renderPollutants(body) {
  const tbody = document.querySelector("#pollutant-table tbody");
  const rows = [...body.months.filter((m) => m.class_num), ...(body.annual ? [body.annual] : [])];
  fillTable(tbody, rows, (m) => [
    m.period,
    classBadge(m.class_num),
    targetText(m.meets_target),
    pollutantsText(m.main_display),
    m.determining.map(itemName).join(lang === "zh" ? "、" : ", ") || "—",
    fmtUpTo(m.cwqi, 4),
  ]);
  rows.forEach((m, i) => {
    const tr = tbody.rows[i];
    tr.dataset.period = m.period;
    tr.cells[5].className = "num";
    if (m.period.length === 4) tr.classList.add("annual");
  });
  tbody.dataset.ready = "true";
}

function renderFacts(body) {
  const dd = document.getElementById("fact-year-class");
  dd.replaceChildren(body.annual ? classBadge(body.annual.class_num) : document.createTextNode("—"));
  if (body.annual?.tli !== null && body.annual?.tli !== undefined) dd.append(` · TLI ${fmtUpTo(body.annual.tli, 2)}`);
}

async function load() {
  const year = yearSelect.value;
  if (!year) return;
  for (const id of ["class-calendar", "series-grid"]) document.getElementById(id).dataset.ready = "false";
  document.querySelector("#pollutant-table tbody").dataset.ready = "false";
  showStatus("section-status", msg("loading"));
  try {
    const body = await api(`/water/sections/${encodeURIComponent(siteId)}/calendar`, { year });
    renderFacts(body);
    renderCalendar(body);
    renderSeries(body);
    renderPollutants(body);
    window.ecobasinSectionCalendar = body;
    showStatus("section-status", "");
    const url = new URL(location.href);
    url.searchParams.set("year", year);
    history.replaceState(null, "", url);
  } catch (error) {
    showStatus("section-status", `${msg("load_failed")}: ${error.message}`, true);
  }
}

yearSelect?.addEventListener("change", load);
load();
