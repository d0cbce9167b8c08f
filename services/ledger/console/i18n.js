/* Caseline console: message catalogues (one JSON per language), direction, dates, verdicts. */
"use strict";
(function (root) {
  const DIRECTION = { fr: "ltr", ar: "rtl", en: "ltr" };
  const state = { lang: "fr", messages: {} };

  function t(key, params) {
    const text = state.messages[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (m, name) => (params && params[name] != null ? String(params[name]) : m));
  }

  function apply(lang, messages, doc) {
    state.lang = lang in DIRECTION ? lang : "fr";
    state.messages = messages;
    doc.documentElement.lang = state.lang;
    doc.documentElement.dir = DIRECTION[state.lang];
    doc.title = t("app.title");
    doc.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  }

  /* Times are shown in UTC, as recorded: a court reads the same instant wherever it sits. */
  function when(text) {
    if (!text) return "";
    const d = new Date(text);
    if (Number.isNaN(d.getTime())) return String(text);
    const locale = { fr: "fr-FR", ar: "ar", en: "en-GB" }[state.lang];
    return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" }).format(d) + " UTC";
  }

  function reason(failure) { return t("fail." + failure.code, failure.params); }

  /* The badge of a verification report: its class, title and detail. */
  function verdict(report) {
    if (report.ok) {
      return { cls: "ok", mark: "✓", title: t("verdict.ok"),
        detail: t("verdict.ok_detail", { events: report.events, signed_at: when(report.checkpoint.signedAt) }) };
    }
    const f = report.failure;
    const detail = f.seq != null
      ? t("verdict.bad_at", { seq: f.seq, ledger_seq: f.ledgerSeq ?? "?", reason: reason(f) })
      : t("verdict.bad_plain", { reason: reason(f) });
    return { cls: "bad", mark: "✗", title: t("verdict.bad"), detail };
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v; else node.setAttribute(k, v);
    }
    for (const c of children) if (c != null) node.append(c);
    return node;
  }

  function badge(target, v) {
    target.replaceChildren(
      el("span", { class: "badge " + v.cls, "data-verdict": v.cls }, el("span", { class: "mark", "aria-hidden": "true" }, v.mark), " ", v.title),
      el("p", { class: "detail", id: "verdict-detail" }, v.detail));
  }

  root.CaselineI18n = { DIRECTION, state, t, apply, when, verdict, badge, el };
})(typeof window !== "undefined" ? window : globalThis);
