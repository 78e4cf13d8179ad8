// The incident form of /incidents (issue 22): a source city's editor reports an incident at a
// node of the river network; the time entered is China Standard Time. Posts to
// /api/v1/incidents and opens the new incident's page.
import { api, lang, msg, showStatus } from "./common.js";

const form = document.getElementById("incident-form");
const csrf = document.querySelector("meta[name='csrf-token']")?.content ?? "";
const myCity = form.dataset.city;

async function fillNodes() {
  const network = await api(`/rivers/${form.dataset.network}`);
  const select = document.getElementById("incident-node");
  const mine = network.nodes.filter((n) => !myCity || n.city === myCity);
  select.replaceChildren(...mine.map((n) => {
    const option = document.createElement("option");
    option.value = n.node_id;
    option.dataset.city = n.city;
    option.textContent = `${n.node_id} · ${lang === "zh" ? n.name_zh : n.name_en}`;
    return option;
  }));
  const now = new Date(Date.now() + 8 * 3600 * 1000);
  form.elements.determined_at.value = now.toISOString().slice(0, 16);
  form.dataset.ready = "true";
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const data = new FormData(form);
  const determined = `${data.get("determined_at")}:00+08:00`;
  const node = data.get("node_id");
  const amount = Number(data.get("amount"));
  const mode = data.get("mode");
  const release = mode === "instantaneous" ? { mode, mass_kg: amount } : { mode, rate_kg_h: amount };
  if (mode === "finite") release.duration_h = Number(data.get("duration_h") || 0);
  const body = {
    title: data.get("title"), network: form.dataset.network, node_id: node,
    city: Number(myCity || document.querySelector(`#incident-node option[value='${node}']`)?.dataset.city || 0),
    substance: data.get("substance"),
    release, source_type: data.get("source_type"), source: data.get("source") || "",
    occurred_at: determined, discovered_at: determined, determined_at: determined,
  };
  const response = await fetch("/api/v1/incidents", {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    showStatus("incident-form-status", `${response.status} ${answer.detail ?? ""}`, true);
    return;
  }
  location.assign(`/incidents/${answer.incident_id}`);
});

fillNodes().catch((error) => showStatus("incident-form-status", error.message, true));
