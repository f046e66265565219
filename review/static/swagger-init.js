// Starts Swagger UI on /api/docs (the call FastAPI would inline, moved here for the CSP).
// swagger-ui-bundle ships Swagger UI 4, which refuses OpenAPI 3.1 documents outright; FastAPI's
// schema uses 3.1 only in ways 4 renders well (nullable as anyOf), so the page reads it as 3.0.3.
// /api/openapi.json itself is served unchanged.
window.addEventListener("load", function () {
  "use strict";
  fetch("/api/openapi.json", { credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(function (spec) {
      if (/^3\.1\./.test(spec.openapi || "")) spec.openapi = "3.0.3";
      window.ui = SwaggerUIBundle({
        spec: spec,
        dom_id: "#swagger-ui",
        validatorUrl: null,  // no badge fetched from swagger.io: offline and private
        layout: "BaseLayout",
        deepLinking: true,
        showExtensions: true,
        showCommonExtensions: true,
        presets: [SwaggerUIBundle.presets.apis],
      });
    });
});
