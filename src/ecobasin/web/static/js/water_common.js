// Shared helpers of the water views (overview layer, water page): GB 3838-2002 classes with the
// status and colour of 环办〔2011〕22号 Table 1, main pollutants named in the page language, the
// section tooltip. The classes and the water parameters are embedded in the page by the server.
import { escapeHtml, fmtUpTo, lang, msg } from "./common.js";

const embedded = (id, fallback) =>
  JSON.parse(document.getElementById(id)?.textContent || fallback);

/** Classes 1..6 (I … 劣V): num, label, name, status, colour (name), color (hex). */
export const waterClasses = embedded("water-classes", "[]");
/** Water parameters by id: name_zh, name_en, unit. */
export const waterParameters = embedded("water-parameters", "{}");
const byZhName = new Map(Object.entries(waterParameters).map(([id, p]) => [p.name_zh, { id, ...p }]));

/** Items shown in a section's tooltip and their display decimals (mg/L; pH has no unit). */
export const KEY_ITEMS = ["pH", "DO", "CODMn", "COD", "BOD5", "NH3N", "TP", "TN"];
export const NO_CLASS_COLOR = "#B4B4B4";

export function classInfo(num) {
  return waterClasses.find((c) => c.num === num);
}

/** "III · 良好" — the class numeral and its status, so colour is never the only carrier. */
export function classText(num) {
  const info = classInfo(num);
  return info ? `${info.label} · ${info.status}` : msg("no_data");
}

/** A table cell body: colour swatch + class numeral and status. */
export function classBadge(num) {
  const span = document.createElement("span");
  span.className = "level-badge water-class";
  span.dataset.class = String(num ?? "");
  const swatch = document.createElement("i");
  swatch.className = "swatch";
  swatch.style.background = classInfo(num)?.color ?? NO_CLASS_COLOR;
  span.append(swatch, document.createTextNode(classText(num)));
  return span;
}

/** The target-met cell text: a mark and a word (never the colour alone). */
export function targetText(meets) {
  if (meets === true) return `✓ ${msg("water_met")}`;
  if (meets === false) return `✗ ${msg("water_not_met")}`;
  return "—";
}

/** "氨氮(0.5),总磷(0.3)" in the page language: "ammonia nitrogen (0.5), total phosphorus (0.3)". */
export function pollutantsText(text) {
  if (!text) return "—";
  return text
    .split(",")
    .map((item) => {
      const [, name, multiple] = item.trim().match(/^(.*?)(?:\(([^)]*)\))?$/) ?? [null, item];
      const known = byZhName.get(name);
      const shown = known ? (lang === "zh" ? known.name_zh : known.name_en) : name;
      return multiple === undefined ? shown : lang === "zh" ? `${shown}(${multiple})` : `${shown} (${multiple})`;
    })
    .join(lang === "zh" ? "，" : ", ");
}

/** The page-language half of a bilingual "成都市 Chengdu" name (names outside the region too). */
export function bilingualPart(text) {
  if (!text) return "—";
  const cut = text.indexOf(" ");
  if (cut < 0) return text;
  return lang === "zh" ? text.slice(0, cut) : text.slice(cut + 1);
}

/** Name, river and basin of a section record of /water/sections in the page language. */
export function sectionNames(section) {
  const en = lang === "en";
  return {
    name: (en && section.name_en) || section.name_zh,
    river: (en && section.river_en) || section.river_zh || "",
    basin: (en && section.basin_en) || section.basin_zh || "",
  };
}

function valueRows(result) {
  return KEY_ITEMS.filter((item) => result[item] !== null && result[item] !== undefined)
    .map((item) => {
      const unit = waterParameters[item]?.unit ?? "";
      return (
        `<tr><th>${escapeHtml(item)}</th><td class="num">${fmtUpTo(result[item], 3)}</td>` +
        `<td>${escapeHtml(unit === "1" ? "" : unit)}</td></tr>`
      );
    })
    .join("");
}

/** Tooltip of a section: class and status, target, main pollutants and the period means. */
export function sectionTip(section, result, period) {
  const names = sectionNames(section);
  const head =
    `<div class="tip" data-site-id="${escapeHtml(section.site_id)}">` +
    `<h3>${escapeHtml(names.name)} <span class="muted">${escapeHtml(section.site_id)}</span></h3>` +
    `<div class="muted">${escapeHtml(names.river)} · ${escapeHtml(names.basin)} · ${escapeHtml(period)}</div>`;
  if (!result) return `${head}<div>${msg("water_class")}: <strong>${msg("no_data")}</strong></div></div>`;
  return (
    head +
    `<div>${msg("water_class")}: <strong class="tip-class">${escapeHtml(result.class)}</strong>` +
    ` · <strong class="tip-status">${escapeHtml(lang === "zh" ? result.status_zh : result.status_en)}</strong></div>` +
    `<div>${msg("water_target")}: ${escapeHtml(result.target_class ?? "—")} · ${escapeHtml(targetText(result.meets_target))}</div>` +
    `<div>${msg("water_main_pollutants")}: ${escapeHtml(pollutantsText(result.main_pollutants))}</div>` +
    `<div>${msg("water_cwqi")}: ${fmtUpTo(result.cwqi, 4)}${result.tli === null ? "" : ` · TLI ${fmtUpTo(result.tli, 2)}`}</div>` +
    `<table><caption class="muted">${msg("water_means")}</caption>${valueRows(result)}</table>` +
    `<div class="muted tip-link">${msg("water_section_page")}: ` +
    `<a href="/water/section/${encodeURIComponent(section.site_id)}">${escapeHtml(section.site_id)}</a></div></div>`
  );
}
