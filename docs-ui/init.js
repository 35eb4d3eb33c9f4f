// Swagger UI for the document the Worker serves at /openapi.json (same origin, so "Try it out"
// calls this deployment). The bearer token entered under "Authorize" is kept for the session.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: true,
  tryItOutEnabled: false,
});
