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
