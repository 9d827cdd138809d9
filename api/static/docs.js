// Swagger UI for /docs: the schema and every "Try it out" request carry the API key
// this tab keeps (the investigator page's sessionStorage entry), asked for once.
"use strict";

(function () {
  const KEY_STORE = "linkage.apiKey";
  let key = sessionStorage.getItem(KEY_STORE);
  if (!key) {
    key = window.prompt("API key (kept in this tab only)") || "";
    if (key) sessionStorage.setItem(KEY_STORE, key);
  }
  window.ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    requestInterceptor: (req) => {
      if (key && !req.headers["X-API-Key"]) req.headers["X-API-Key"] = key;
      return req;
    },
  });
})();
