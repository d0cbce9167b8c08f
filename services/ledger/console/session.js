/* Caseline console: what every page shares: the catalogues and language switch, the token and
   purpose kept in this tab, and the calls that carry them. */
"use strict";
(function (root) {
  const { t, apply, el, state } = root.CaselineI18n;
  const store = root.sessionStorage;
  const catalogues = {};
  /* The services' base URLs from /console/config.json: a token is sent to these and the ledger only. */
  const services = { ledger: "" };

  async function catalogue(lang) {
    if (!catalogues[lang]) {
      const r = await fetch(`/console/messages/${lang}.json`);
      catalogues[lang] = await r.json();
    }
    return catalogues[lang];
  }

  async function setLanguage(lang, redraw) {
    apply(lang, await catalogue(lang), document);
    store.setItem("caseline.lang", state.lang);
    const select = document.getElementById("lang");
    if (select) select.value = state.lang;
    if (redraw) redraw();
  }

  function claims(token) {
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(new TextDecoder().decode(Uint8Array.from(atob(part), (c) => c.charCodeAt(0))));
    } catch (e) { return {}; }
  }

  /* Headers carry Latin-1 only: a purpose in another script travels percent-encoded. */
  const headerSafe = (text) => (/^[\x20-\x7e]*$/.test(text) ? text : encodeURIComponent(text));

  class RequestError extends Error {
    constructor(status, detail, service, body) {
      super(detail); this.status = status; this.detail = detail; this.service = service; this.body = body || {};
    }
  }

  async function config() {
    if (!services.loaded) {
      const r = await fetch("/console/config.json");
      Object.assign(services, (await r.json()).services, { ledger: "", loaded: true });
    }
    return services;
  }

  /* A call to `service` (the ledger by default) with the tab's token and purpose. */
  async function call(path, options) {
    const o = options || {};
    const service = o.service || "ledger";
    const base = service === "ledger" ? "" : (await config())[service];
    if (base == null) throw new RequestError(0, t("error.no_service", { service }), service);
    const headers = {
      Authorization: "Bearer " + store.getItem("caseline.token"),
      "Caseline-Purpose": headerSafe(store.getItem("caseline.purpose") || ""),
      /* The services' problems in the page's language. */
      "Accept-Language": state.lang,
    };
    if (o.body !== undefined) headers["Content-Type"] = "application/json";
    let r;
    try {
      r = await fetch(base + path, { method: o.method || "GET", headers, body: o.body === undefined ? undefined : JSON.stringify(o.body), credentials: "omit" });
    } catch (e) { throw new RequestError(0, service === "ledger" ? t("error.network") : t("error.unreachable", { service }), service); }
    if (!r.ok) {
      let detail = r.statusText, body = {};
      try { body = await r.json(); detail = body.detail || body.title || detail; } catch (e) { /* not a problem document */ }
      throw new RequestError(r.status, detail, service, body);
    }
    if (o.kind === "bytes") return new Uint8Array(await r.arrayBuffer());
    if (o.kind === "blob") return r.blob();
    return r.json();
  }

  const settle = (promise) => promise.then((value) => ({ value }), (error) => ({ error }));

  function problem(target, error) {
    const text = !error.status ? error.message
      : error.service && error.service !== "ledger" ? t("error.service_request", { service: error.service, status: error.status, detail: error.detail })
      : t("error.request", { status: error.status, detail: error.detail });
    target.replaceChildren(el("p", { class: "error" }, text));
  }

  /* The token given in the form, else the tab's; false when the purpose or token is missing. */
  function signIn(tokenField, purposeField) {
    const token = tokenField.value.trim() || store.getItem("caseline.token") || "";
    const purpose = purposeField.value.trim();
    if (!token || !purpose) return false;
    store.setItem("caseline.token", token);
    store.setItem("caseline.purpose", purpose);
    tokenField.value = "";
    return claims(token);
  }

  /* A link may carry #token=…&purpose=…&lang=…: taken, then wiped from the address bar. */
  function fromFragment(fields) {
    const given = new URLSearchParams(location.hash.slice(1));
    if (given.get("token")) store.setItem("caseline.token", given.get("token"));
    for (const [name, id] of Object.entries(fields)) {
      if (given.get(name) && document.getElementById(id)) document.getElementById(id).value = given.get(name);
    }
    if (location.hash) history.replaceState(null, "", location.pathname + location.search);
    return given;
  }

  function forget() {
    store.removeItem("caseline.token");
    store.removeItem("caseline.purpose");
    location.reload();
  }

  root.CaselineSession = { store, catalogue, setLanguage, claims, headerSafe, RequestError, config, call, settle, problem, signIn, fromFragment, forget };
})(typeof window !== "undefined" ? window : globalThis);
