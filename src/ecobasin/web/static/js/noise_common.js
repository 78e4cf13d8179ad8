// Shared by the noise pages and the overview map's noise layer (issue 23): the colour of a
// station-day verdict (GB 3096-2008 Table 1, day and night judged separately), zone-class
// colours and the colours of the complaint source types.
import { NO_DATA_COLOR, escapeHtml, fmt, lang, msg } from "./common.js";

export const VERDICT_COLORS = { pass: "#2e9d4f", night: "#f39c12", day: "#d7301f", none: NO_DATA_COLOR };
export const ZONE_COLORS = { 0: "#1b9e77", 1: "#66c2a5", 2: "#fee08b", 3: "#fdae61", "4a": "#f46d43", "4b": "#9e6bb8" };
export const COMPLAINT_COLOR = "#5b3a8c";
export const CASE_COLOR = "#c2185b";

/** "pass" (day and night compliant), "day" (day over), "night" (night over only) or "none". */
export function verdictOf(s) {
  if (s.day_pass === false) return "day";
  if (s.night_pass === false) return "night";
  if (s.day_pass === true && s.night_pass === true) return "pass";
  return "none";
}

export function passText(value) {
  if (value === null || value === undefined) return "—";
  return value ? msg("noise_pass") : msg("noise_fail");
}

export function stationName(s) {
  return lang === "zh" ? s.name_zh || s.name_en || s.site_id : s.name_en || s.name_zh || s.site_id;
}

export function stationTip(s) {
  return (
    `<div class="tip" data-site-id="${escapeHtml(s.site_id)}"><h3>${escapeHtml(stationName(s))} <span class="muted">${escapeHtml(s.site_id)}</span></h3>` +
    `<div>${msg("noise_class")}: <strong>${escapeHtml(s.zone_class ?? "—")}</strong> · <span class="muted">${escapeHtml(s.day ?? "—")}</span></div>` +
    `<div>Ld ${fmt(s.Ld, 1)} dB(A): ${escapeHtml(passText(s.day_pass))}</div>` +
    `<div>Ln ${fmt(s.Ln, 1)} dB(A): ${escapeHtml(passText(s.night_pass))}</div></div>`
  );
}

export function complaintTip(c) {
  const m = c.measurement;
  const source = lang === "zh" ? c.source_zh : c.source_en;
  return (
    `<div class="tip" data-complaint-id="${escapeHtml(c.complaint_id)}"><h3>${escapeHtml(source)} <span class="muted">${escapeHtml(c.complaint_id)}</span></h3>` +
    `<div class="muted">${escapeHtml(new Date(c.time).toLocaleString(lang === "zh" ? "zh-CN" : "en-GB", { timeZone: "Asia/Shanghai" }))}</div>` +
    `<div>${escapeHtml(c.description ?? "")}</div>` +
    `<div>${msg("noise_class")}: ${escapeHtml(c.zone_class ?? "—")}</div>` +
    (m
      ? `<div>${msg("noise_measurement")}: ${escapeHtml(m.site_id)} ${escapeHtml(m.hour_ending_cst)} Leq ${fmt(m.Leq, 1)}` +
        ` LMx ${fmt(m.LMx, 1)} dB(A), ${fmt(m.distance_m)} m</div>`
      : "") +
    (c.case_candidate ? `<div><strong>${msg("noise_case_candidate")}</strong></div>` : "") +
    `</div>`
  );
}
