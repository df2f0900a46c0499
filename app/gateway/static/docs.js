// Starts Swagger UI on this origin's OpenAPI document (an inline script would break the page's CSP).
window.addEventListener("DOMContentLoaded", () => {
  window.ui = window.SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null, // never ask a third party to validate the document
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
