// The consultation pages (issue 16): every form[data-api] is sent as JSON with the CSRF header;
// the API decides the right and the rules, the page shows its answer (the reason of a refusal).

const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
const status = document.querySelector("[data-status]");

function show(text, failed = false) {
  if (!status) return;
  status.textContent = text;
  status.classList.toggle("error", failed);
  status.dataset.outcome = failed ? "refused" : "ok";
}

/** The JSON body of a form by its kind. */
function body(form) {
  const data = new FormData(form);
  if (form.dataset.kind === "submission") {
    const days = [...form.querySelectorAll("tr[data-day]")].map((row) => {
      const d = row.dataset.day;
      return {
        lead_day: Number(d),
        aqi_low: Number(data.get(`d${d}_low`)),
        aqi_high: Number(data.get(`d${d}_high`)),
        primary: String(data.get(`d${d}_primary`) || "").split(/[,，、\s]+/).filter(Boolean),
        confidence: data.get(`d${d}_confidence`),
        rationale: String(data.get(`d${d}_rationale`) || ""),
      };
    });
    return { city: Number(data.get("city")), days };
  }
  if (form.dataset.kind === "warning") {
    const levels = {};
    for (const [name, value] of data.entries()) {
      if (name.startsWith("level_")) levels[name.slice(6)] = value;
    }
    return {
      narrative: String(data.get("narrative") || ""),
      levels,
      regional: data.get("regional") || null, // empty: what the regional rule gives
      controls: String(data.get("controls") || ""),
      reason: String(data.get("reason") || ""),
    };
  }
  return Object.fromEntries(data.entries());
}

async function send(form) {
  const response = await fetch(form.dataset.api, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
    body: JSON.stringify(body(form)),
  });
  let answer = {};
  try {
    answer = await response.json();
  } catch {
    /* not JSON */
  }
  if (!response.ok) {
    const detail = Array.isArray(answer.detail) ? answer.detail.map((e) => e.msg).join("; ") : answer.detail;
    show(`${response.status}: ${detail ?? response.statusText}`, true);
    return;
  }
  show(answer.state ? `✓ ${answer.state}` : "✓");
  setTimeout(() => location.reload(), 400);
}

for (const form of document.querySelectorAll("form[data-api]")) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send(form).catch((error) => show(String(error), true));
  });
}

// the submission form: another city's form is the same page with ?city=
document.getElementById("submission-city")?.addEventListener("change", (event) => {
  const url = new URL(location.href);
  url.searchParams.set("city", event.target.value);
  location.href = url.toString();
});

for (const button of document.querySelectorAll("button[data-read]")) {
  button.addEventListener("click", async () => {
    const response = await fetch(`/api/v1/consultation/notifications/${button.dataset.read}/read`, {
      method: "POST",
      headers: { Accept: "application/json", "X-CSRF-Token": csrf },
    });
    if (response.ok) button.closest("li")?.remove();
    else show(`${response.status}`, true);
  });
}
