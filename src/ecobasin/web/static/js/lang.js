// The page language is remembered twice: in the `lang` cookie (so the server renders it) and in
// localStorage (so a browser whose cookie was cleared gets its language back).
const KEY = "ecobasin.lang";
const pageLang = document.body.dataset.lang;
const cookieLang = document.cookie.split("; ").find((c) => c.startsWith("lang="))?.slice(5);
const storedLang = localStorage.getItem(KEY);

if (!cookieLang && storedLang && storedLang !== pageLang && (storedLang === "zh" || storedLang === "en")) {
  const next = location.pathname + location.search;
  location.replace(`/lang?to=${storedLang}&next=${encodeURIComponent(next)}`);
} else {
  localStorage.setItem(KEY, pageLang);
}

document.getElementById("lang-switch")?.addEventListener("click", (event) => {
  localStorage.setItem(KEY, event.currentTarget.dataset.lang);
});
