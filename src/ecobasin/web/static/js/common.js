// Shared helpers of the dashboard pages: messages, levels, API calls, formatting, ECharts set-up.

export const lang = document.body.dataset.lang || "zh";
export const t = JSON.parse(document.getElementById("i18n").textContent || "{}");
export const levels = JSON.parse(document.getElementById("levels").textContent || "[]");
export const NO_DATA_COLOR = "#B4B4B4";
export const FONT =
  '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Microsoft YaHei", "PingFang SC", system-ui, sans-serif';

/** A message of the page's catalogue (the key itself when missing, so gaps show). */
export function msg(key) {
  return t[key] ?? key;
}

/** GET a JSON document of the API; `params` become the query (arrays joined by commas). */
export async function api(path, params = {}) {
  const url = new URL(`/api/v1${path}`, location.origin);
  url.searchParams.set("lang", lang);
  for (const [name, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === "") continue;
    url.searchParams.set(name, Array.isArray(value) ? value.join(",") : value);
  }
  return getJSON(url);
}

export async function getJSON(url) {
  const response = await fetch(url, { headers: { Accept: "application/json" } });
  if (!response.ok) {
    let detail = response.statusText;
    try {
      detail = (await response.json()).detail ?? detail;
    } catch {
      /* not JSON */
    }
    throw new Error(`${response.status} ${detail}`);
  }
  return response.json();
}

/** Every page of a paged `{items, next}` answer, up to `max` rows. */
export async function apiAll(path, params = {}, max = 20000) {
  let page = await api(path, params);
  const items = [...page.items];
  while (page.next && items.length < max) {
    page = await getJSON(new URL(page.next, location.origin));
    items.push(...page.items);
  }
  return items;
}

/** The level record (number, name, colour) of an AQI level number, or undefined. */
export function levelInfo(level) {
  return levels.find((l) => l.level === level);
}

/** "3 · 轻度污染" — the level's number and name, so colour is never the only carrier. */
export function levelText(level) {
  const info = levelInfo(level);
  return info ? `${info.level} · ${info.name}` : msg("no_data_level");
}

/** A table cell body: colour swatch + level number and name. Without a level, `incomplete`
 *  (some pollutants measured, not all six) says "incomplete" rather than "no data". */
export function levelBadge(level, color, incomplete = false) {
  const span = document.createElement("span");
  span.className = "level-badge";
  const swatch = document.createElement("i");
  swatch.className = "swatch";
  swatch.style.background = color || levelInfo(level)?.color || NO_DATA_COLOR;
  const text = levelInfo(level) || !incomplete ? levelText(level) : msg("aqi_incomplete");
  span.append(swatch, document.createTextNode(text));
  return span;
}

/** The six pollutants of the AQI (HJ 633-2012 §5) and the fields of an hourly or daily row. */
export const AQI_POLLUTANTS = [
  ["so2", "SO2"], ["no2", "NO2"], ["co", "CO"], ["pm10", "PM10"], ["pm25", "PM2.5"], ["o3", "O3"],
];

/** The AQI pollutants without a value in any of `rows` (daily rows name O3 `o3_8h`). */
export function missingPollutants(rows) {
  const has = (field) => rows.some((r) => r[field] !== null && r[field] !== undefined);
  return AQI_POLLUTANTS.filter(([field]) => !has(field) && !has(`${field}_8h`)).map(([, name]) => name);
}

export function fmt(value, digits = 0) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  return Number(value).toLocaleString(lang === "zh" ? "zh-CN" : "en", {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  });
}

/** Replace the children of a table body with rows built from `cells(item)` (nodes or text). */
export function fillTable(tbody, items, cells) {
  tbody.replaceChildren(
    ...items.map((item) => {
      const tr = document.createElement("tr");
      for (const cell of cells(item)) {
        const td = document.createElement("td");
        if (cell instanceof Node) td.append(cell);
        else td.textContent = cell ?? "—";
        tr.append(td);
      }
      return tr;
    }),
  );
}

export function link(href, text) {
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  return a;
}

export function escapeHtml(text) {
  return String(text ?? "").replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c],
  );
}

/** Whether the user asked the system for less motion ("reduce motion"): charts then draw their
 *  final state at once, without ECharts' animations. */
export const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;

/** An ECharts instance on the element with `id`, resized with the window (not while the element
 *  has no width or height: the next resize that gives it a size redraws it); without animations
 *  when the user prefers reduced motion. */
export function chart(id) {
  const element = document.getElementById(id);
  const instance = echarts.init(element, null, { renderer: "canvas" });
  if (reducedMotion) {
    // every option set, also one that replaces the last (notMerge), keeps animations off
    const setOption = instance.setOption.bind(instance);
    instance.setOption = (option, ...rest) => setOption({ ...option, animation: false }, ...rest);
  }
  window.addEventListener("resize", () => {
    // ECharts 6.1.0 throws "Cannot read properties of null (reading '0')" when a geo chart is
    // resized to zero width or height (its view transform cannot be inverted: apache/echarts
    // issue 21706); a full-page screenshot shrinks the window to 1×1 px for a moment
    if (element.clientWidth > 0 && element.clientHeight > 0) instance.resize();
  });
  return instance;
}

/** Mark a chart element as drawn once its chart has finished rendering and animating (tests
 *  and screenshots wait for `data-ready`); `extra` become data attributes at once. */
export function markReady(id, extra = {}, instance = undefined) {
  const element = document.getElementById(id);
  for (const [key, value] of Object.entries(extra)) element.dataset[key] = String(value);
  if (!instance) {
    element.dataset.ready = "true";
    return;
  }
  // setOption renders at once; without animations "finished" has already fired by now
  if (instance.getZr().animation.isFinished()) {
    element.dataset.ready = "true";
    return;
  }
  element.dataset.ready = "false";
  const done = () => {
    instance.off("finished", done);
    element.dataset.ready = "true";
  };
  instance.on("finished", done);
}

export function showStatus(id, text, isError = false) {
  const element = document.getElementById(id);
  if (!element) return;
  element.textContent = text;
  element.classList.toggle("error", isError);
  element.hidden = !text;
}

/** ECharts visualMap pieces of the six levels, labelled with number and name. */
export function levelPieces(short = false) {
  return levels.map((l) => ({
    min: l.aqi_min,
    max: l.level === 6 ? 100000 : l.aqi_max,
    label: short
      ? `${l.level} ${l.name}`
      : `${l.level} ${l.name} (${l.level === 6 ? `>${l.aqi_min - 1}` : `${l.aqi_min}–${l.aqi_max}`})`,
    color: l.color,
  }));
}

/** Numbers as measured: up to `digits` decimals, no trailing zeros. */
export function fmtUpTo(value, digits = 3) {
  if (value === null || value === undefined || Number.isNaN(value)) return "—";
  return Number(value).toLocaleString(lang === "zh" ? "zh-CN" : "en", { maximumFractionDigits: digits });
}

/** CST "YYYY-MM-DD HH:00" label of an hour-ending UTC instant (24:00 ends the day, like
 *  ecobasin.timebase.local_label). */
export function cstLabel(date) {
  const cst = new Date(date.getTime() + 8 * 3600 * 1000);
  if (cst.getUTCHours() === 0) {
    const previous = new Date(cst.getTime() - 24 * 3600 * 1000);
    return `${previous.toISOString().slice(0, 10)} 24:00`;
  }
  return `${cst.toISOString().slice(0, 10)} ${cst.toISOString().slice(11, 13)}:00`;
}

/** The CST day (YYYY-MM-DD) an hour-ending UTC instant belongs to. */
export function cstDay(date) {
  return new Date(date.getTime() + 8 * 3600 * 1000 - 1).toISOString().slice(0, 10);
}

export function addDays(day, n) {
  const d = new Date(`${day}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + n);
  return d.toISOString().slice(0, 10);
}
