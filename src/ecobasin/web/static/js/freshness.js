// The freshness badge and the demo banner of every page (issue 15): the time of the latest
// stored hour (China Standard Time, hour-ending) and how old it is, in the page's language,
// from GET /api/v1/freshness; the banner shows when the store is the generated demo.

const t = JSON.parse(document.getElementById("i18n")?.textContent || "{}");
const zh = (document.body.dataset.lang || "zh") === "zh";

/** "3 天" / "3 days", "5 小时" / "5 h", "12 分钟" / "12 min". */
function age(minutes) {
  const [value, unit] =
    minutes < 60
      ? [Math.max(0, minutes), t.fresh_min]
      : minutes < 48 * 60
        ? [Math.floor(minutes / 60), t.fresh_hours]
        : [Math.floor(minutes / 1440), t.fresh_days];
  return zh ? `${value} ${unit}${t.fresh_ago}` : `${value} ${unit} ${t.fresh_ago}`;
}

async function show() {
  const badge = document.getElementById("freshness");
  const response = await fetch("/api/v1/freshness", { headers: { Accept: "application/json" } });
  if (!response.ok) return;
  const body = await response.json();
  badge.textContent = body.latest_hour_cst
    ? zh
      ? `${t.fresh_label} ${body.latest_hour_cst}（${age(body.age_minutes)}）`
      : `${t.fresh_label} ${body.latest_hour_cst} (${age(body.age_minutes)})`
    : t.fresh_none;
  badge.dataset.latest = body.latest_hour ?? "";
  badge.dataset.ageMinutes = String(body.age_minutes ?? "");
  badge.classList.toggle("stale", (body.age_minutes ?? Infinity) > 3 * 60);
  badge.hidden = false;
  document.getElementById("demo-banner").hidden = !body.demo;
  document.body.dataset.freshness = "ready";
}

show();
