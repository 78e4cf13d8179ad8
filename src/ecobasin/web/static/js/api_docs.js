// Starts the vendored Swagger UI on /docs (kept out of the page: the CSP allows no inline script).
const root = document.getElementById("swagger-ui");
window.ui = window.SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null, // the default badge would send the schema to an outside validator
  presets: [window.SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
