// Table tools (issue 15, the provincial official): every `<table data-tools="NAME">` sorts by a
// click on a column header (numbers as numbers; again: the other way), filters its rows in place
// by the text typed, and downloads the rows shown as CSV (UTF-8 with BOM, built here) or Excel
// (.xlsx, written by the server with openpyxl: POST /tables/xlsx). Tables filled later by a
// page script work too: every tool reads the rows at the moment it is used.

const t = JSON.parse(document.getElementById("i18n")?.textContent || "{}");
const csrf = document.querySelector("meta[name='csrf-token']")?.content;
const NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?\s*%?$/i;

/** The header cell of each column (the lowest header row that covers it: rowspan, colspan). */
function columnHeads(table) {
  const heads = [];
  const taken = [];
  [...(table.tHead?.rows ?? [])].forEach((row, r) => {
    let col = 0;
    for (const cell of row.cells) {
      while (taken[r]?.[col]) col += 1;
      for (let dr = 0; dr < cell.rowSpan; dr += 1)
        for (let dc = 0; dc < cell.colSpan; dc += 1) {
          taken[r + dr] ??= [];
          taken[r + dr][col + dc] = true;
          if (cell.colSpan === 1) heads[col + dc] = cell;
        }
      col += cell.colSpan;
    }
  });
  return heads;
}

function cellText(cell) {
  return (cell?.textContent ?? "").replace(/\s+/g, " ").trim();
}

/** A sortable key: the number a cell shows ("12.5", "85%", "120–150" → 120), else its text. */
function sortKey(cell) {
  const text = cell?.dataset.sort ?? cellText(cell);
  const head = text.split(/[–~/ ]/)[0].replace(/,/g, "");
  return NUMBER.test(head) ? Number.parseFloat(head) : text;
}

function bodyRows(table) {
  return [...table.tBodies].flatMap((body) => [...body.rows]).filter((row) => row.cells.length > 1);
}

function sortBy(table, column, head) {
  const descending = head.getAttribute("aria-sort") === "ascending";
  for (const other of table.querySelectorAll("th[aria-sort]")) other.removeAttribute("aria-sort");
  head.setAttribute("aria-sort", descending ? "descending" : "ascending");
  orderRows(table, column, descending);
}

function orderRows(table, column, descending) {
  const rows = bodyRows(table);
  const keyed = rows.map((row, i) => [sortKey(row.cells[column]), i, row]);
  keyed.sort(([a, i], [b, j]) => {
    const order =
      typeof a === "number" && typeof b === "number"
        ? a - b
        : typeof a === "number"
          ? -1
          : typeof b === "number"
            ? 1
            : String(a).localeCompare(String(b), document.documentElement.lang);
    return (descending ? -order : order) || i - j;
  });
  const body = table.tBodies[0];
  for (const [, , row] of keyed) body.appendChild(row);
  table.dataset.sortedBy = String(column);
  table.dataset.sortOrder = descending ? "descending" : "ascending";
}

function filterRows(table, text) {
  const words = text.toLowerCase().split(/\s+/).filter(Boolean);
  let shown = 0;
  for (const row of bodyRows(table)) {
    const haystack = cellText(row).toLowerCase();
    // a page's own filter (water: failing sections only) marks rows excluded
    const keep = row.dataset.excluded !== "true" && words.every((word) => haystack.includes(word));
    row.hidden = !keep;
    shown += keep ? 1 : 0;
  }
  table.dataset.shown = String(shown);
}

/** The header names and the shown rows' cells, as text. */
function shownData(table) {
  const columns = columnHeads(table).map((head) => cellText(head));
  const rows = bodyRows(table)
    .filter((row) => !row.hidden)
    .map((row) => [...row.cells].map((cell) => cellText(cell)));
  return { columns, rows };
}

function csvField(text) {
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function save(blob, fileName) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = fileName;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000);
}

function downloadCsv(table, name) {
  const { columns, rows } = shownData(table);
  const lines = [columns, ...rows].map((cells) => cells.map(csvField).join(","));
  save(new Blob([`\ufeff${lines.join("\r\n")}\r\n`], { type: "text/csv;charset=utf-8" }), `${name}.csv`);
}

async function downloadXlsx(table, name, status) {
  const { columns, rows } = shownData(table);
  const headers = { "Content-Type": "application/json" };
  if (csrf) headers["X-CSRF-Token"] = csrf;
  const response = await fetch("/tables/xlsx", {
    method: "POST",
    headers,
    body: JSON.stringify({ title: name, columns, rows }),
  });
  if (!response.ok) {
    status.textContent = `${t.tbl_export_failed ?? "Export failed"}: ${response.status}`;
    status.hidden = false;
    return;
  }
  save(await response.blob(), `${name}.xlsx`);
}

function button(label, id, action) {
  const element = document.createElement("button");
  element.type = "button";
  element.className = "table-tool";
  element.id = id;
  element.textContent = label;
  element.addEventListener("click", action);
  return element;
}

function enhance(table) {
  const name = table.dataset.tools;
  const bar = document.createElement("div");
  bar.className = "table-tools";
  const filter = document.createElement("input");
  filter.type = "search";
  filter.id = `${name}-filter`;
  filter.placeholder = t.tbl_filter ?? "Filter";
  filter.setAttribute("aria-label", t.tbl_filter ?? "Filter");
  filter.addEventListener("input", () => filterRows(table, filter.value));
  const status = document.createElement("span");
  status.className = "status error";
  status.hidden = true;
  bar.append(
    filter,
    button(t.tbl_csv ?? "CSV", `${name}-csv`, () => downloadCsv(table, name)),
    button(t.tbl_xlsx ?? "Excel", `${name}-xlsx`, () => downloadXlsx(table, name, status)),
    status,
  );
  const anchor = table.closest(".table-wrap") ?? table;
  anchor.before(bar);
  columnHeads(table).forEach((head, column) => {
    if (!head) return;
    head.classList.add("sortable");
    head.tabIndex = 0;
    head.title = t.tbl_sort ?? "Sort";
    head.addEventListener("click", () => sortBy(table, column, head));
    head.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        sortBy(table, column, head);
      }
    });
  });
  keepChoicesOnRedraw(table, filter);
  table.dataset.toolsReady = "true";
}

/** A page that redraws its table (the live page every few seconds, the overview on new data)
 *  replaces the rows: the user's sort and filter are applied again to the new rows. */
function keepChoicesOnRedraw(table, filter) {
  const observer = new MutationObserver(() => {
    const column = table.dataset.sortedBy;
    if (column !== undefined) orderRows(table, Number(column), table.dataset.sortOrder === "descending");
    if (filter.value) filterRows(table, filter.value);
    observer.takeRecords(); // our own re-ordering is not a redraw
    table.dataset.redraws = String(Number(table.dataset.redraws ?? 0) + 1);
  });
  for (const body of table.tBodies) observer.observe(body, { childList: true });
}

for (const table of document.querySelectorAll("table[data-tools]")) enhance(table);
