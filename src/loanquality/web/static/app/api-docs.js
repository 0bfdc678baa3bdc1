// The API's Swagger UI, from the vendored bundle (no CDN: the docs work on a bank intranet).
(function () {
  const settings = JSON.parse(document.getElementById("swagger-settings").textContent);
  const csrfToken = document.body.dataset.csrfToken;
  settings.dom_id = "#swagger-ui";
  settings.presets = [SwaggerUIBundle.presets.apis];
  if (csrfToken) {
    settings.requestInterceptor = (request) => {
      request.headers["X-CSRFToken"] = csrfToken;
      return request;
    };
  }
  SwaggerUIBundle(settings);
})();
