// The gate check of a construction site (issue 18, nonroad brief A6 进出场核验), on a phone: the
// code scanned (a QR scanner types it and Enter) → admit or refuse with every reason, logged by the
// server. Data: POST and GET /api/v1/machinery/gate.
import { api, fillTable, lang } from "./common.js";

const site = document.getElementById("gate-site");
const code = document.getElementById("gate-code");

async function loadLog() {
  const table = document.getElementById("gate-log");
  table.dataset.ready = "false";
  const { items } = await api("/machinery/gate", { site_id: site.value, limit: 20 });
  fillTable(table.querySelector("tbody"), items, (e) => [
    (e.at ?? "").slice(0, 16).replace("T", " "), e.code_observed,
    e.decision === "admit" ? "准入 admit" : "拒绝 refuse",
  ]);
  table.dataset.ready = "true";
}

async function check(event) {
  event.preventDefault();
  const token = document.querySelector('meta[name="csrf-token"]')?.content ?? "";
  const response = await fetch("/api/v1/machinery/gate", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": token },
    body: JSON.stringify({ site_id: site.value, code: code.value.trim() }),
  });
  const answer = await response.json();
  const box = document.getElementById("gate-result");
  const verdict = document.getElementById("gate-verdict");
  const reasons = document.getElementById("gate-reasons");
  reasons.replaceChildren();
  box.hidden = false;
  if (!response.ok) {
    box.dataset.decision = "error";
    verdict.textContent = `未核验 Not checked: ${answer.detail ?? response.statusText}`;
  } else {
    box.dataset.decision = answer.admit ? "admit" : "refuse";
    verdict.textContent = answer.admit ? "✔ 准入 Admit" : "✘ 拒绝入场 Refuse";
    for (const reason of answer.reasons) {
      const item = document.createElement("li");
      item.dataset.code = reason.code;
      item.textContent = lang === "zh" ? `${reason.text_zh} · ${reason.text_en}` : `${reason.text_en} · ${reason.text_zh}`;
      reasons.append(item);
    }
  }
  code.value = "";
  code.focus();
  await loadLog();
}

document.getElementById("gate-form").addEventListener("submit", check);
site.addEventListener("change", loadLog);
loadLog();
