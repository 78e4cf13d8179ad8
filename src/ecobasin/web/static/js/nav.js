// The collapsible navigation of phones (issue 15, item 6): on a narrow screen (≤ 760 px, the
// media query of app.css) the links fold behind the "菜单 Menu" button. The button is a real
// <button>, so Enter and Space work; Escape closes the menu and returns focus to the button.
// Without this script the class `nav-js` is never set and the links stay visible.
const header = document.querySelector("header.topbar");
const toggle = document.getElementById("nav-toggle");

function setOpen(open) {
  header.classList.toggle("nav-open", open);
  toggle.setAttribute("aria-expanded", String(open));
}

if (header && toggle) {
  header.classList.add("nav-js");
  toggle.addEventListener("click", () => setOpen(!header.classList.contains("nav-open")));
  header.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && header.classList.contains("nav-open")) {
      setOpen(false);
      toggle.focus();
    }
  });
}

// The link groups (base.html, <details class="nav-group">): one open at a time; Escape or a
// click outside closes it. <details> opens with Enter and Space by itself, so the links stay
// reachable by keyboard and without this script.
const groups = [...document.querySelectorAll("details.nav-group")];

function closeGroups(except) {
  for (const group of groups) {
    if (group !== except) group.open = false;
  }
}

for (const group of groups) {
  // the others close on the summary's click, before this one opens: "toggle" alone comes
  // later (a queued task), so for a moment two menus were open
  group.querySelector("summary").addEventListener("click", () => {
    if (!group.open) closeGroups(group);
  });
  group.addEventListener("toggle", () => {
    if (group.open) closeGroups(group);
  });
}
document.addEventListener("click", (event) => {
  if (!groups.some((group) => group.contains(event.target))) closeGroups(null);
});
document.addEventListener("keydown", (event) => {
  const open = groups.find((group) => group.open);
  if (event.key === "Escape" && open) {
    open.open = false;
    open.querySelector("summary").focus();
  }
});
