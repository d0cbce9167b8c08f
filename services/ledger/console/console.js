/* Caseline console: opens a case with the caller's token, shows its timeline, deadlines,
   checkpoint and readers, and verifies the case's evidence bundle in the page. */
"use strict";
(function () {
  const { t, when, verdict, badge, el } = window.CaselineI18n;
  const { renderTimeline, renderDeadlines } = window.CaselineTimeline;
  const { store, setLanguage: switchTo, claims, call, settle, problem, fromFragment: taken, forget: leave } = window.CaselineSession;
  const $ = (id) => document.getElementById(id);
  let shown = null; // what the last opening fetched, to draw again in another language

  const setLanguage = (lang) => switchTo(lang, () => shown && draw(shown));

  async function open(event) {
    if (event) event.preventDefault();
    const token = $("token").value.trim() || store.getItem("caseline.token") || "";
    const purpose = $("purpose").value.trim(), caseId = $("case").value.trim();
    if (!token || !purpose || !caseId) { $("message").textContent = t("signin.missing"); return; }
    store.setItem("caseline.token", token);
    store.setItem("caseline.purpose", purpose);
    $("token").value = "";
    $("message").textContent = "";
    const asOf = $("as-of").value ? new Date($("as-of").value + "Z").toISOString() : null;
    const who = claims(token);
    const id = encodeURIComponent(caseId);
    const query = asOf ? `?as_of=${encodeURIComponent(asOf)}` : "";
    $("verdict").replaceChildren(el("span", { class: "badge checking", "data-verdict": "checking" }, t("verdict.checking")));
    const [timeline, checkpoint, key, reads] = await Promise.all([
      settle(call(`/cases/${id}/timeline${query}`)),
      settle(call("/checkpoints/latest")),
      settle(call("/checkpoints/key")),
      who.role === "auditor" ? settle(call(`/audit/cases/${id}`)) : Promise.resolve(null),
    ]);
    shown = { who, caseId, asOf, timeline, checkpoint, reads, report: null, server: null };
    draw(shown);
    shown.report = await proof(id, key.value && key.value.public_key);
    if (!shown.report) shown.server = await settle(call(`/cases/${id}/verify`));
    draw(shown);
  }

  /* The bundle, verified here; null when the role may not receive the full record. */
  async function proof(id, trustedKey) {
    const bundle = await settle(call(`/cases/${id}/export`, { kind: "bytes" }));
    if (bundle.error) {
      if (bundle.error.status === 403) return null;
      return { ok: false, failure: { code: "request", params: {}, seq: null }, error: bundle.error };
    }
    return window.CaselineVerify.verifyBundle(bundle.value, trustedKey);
  }

  function draw(s) {
    $("who").textContent = t("signin.signed_as", { sub: s.who.sub || "?", role: s.who.role || "?", agency: s.who.agency || "?" });
    $("as-of-note").textContent = s.asOf ? t("timeline.as_of", { as_of: when(s.asOf) }) : "";
    drawVerdict(s);
    if (s.timeline.error) problem($("timeline-error"), s.timeline.error);
    else $("timeline-error").replaceChildren();
    const entries = s.timeline.value ? s.timeline.value.entries : [];
    renderTimeline($("timeline"), entries, marks(s.report, entries));
    renderDeadlines($("deadlines"), entries, s.asOf ? new Date(s.asOf) : new Date());
    drawCheckpoint(s);
    drawReads(s);
  }

  function marks(report, entries) {
    if (!report || !report.failure && !report.ok) return null;
    const bad = report.ok ? null : report.failure.ledgerSeq;
    const out = {};
    for (const e of entries) {
      if (bad == null && !report.ok) break;
      out[e.ledger_seq] = bad == null || e.ledger_seq < bad ? "ok" : e.ledger_seq === bad ? "bad" : undefined;
    }
    return out;
  }

  function drawVerdict(s) {
    if (s.report && s.report.error) { problem($("verdict"), s.report.error); return; }
    if (s.report) { badge($("verdict"), verdict(s.report)); return; }
    if (s.server && s.server.value) {
      const v = s.server.value;
      const server = v.ok ? t("verdict.server_ok", { events: v.events }) : t("verdict.server_bad", { seq: v.first_bad_seq });
      badge($("verdict"), { cls: "unchecked", mark: "?", title: t("verdict.unchecked"), detail: t("verdict.unchecked_detail", { server }) });
    } else if (s.server && s.server.error) problem($("verdict"), s.server.error);
  }

  function drawCheckpoint(s) {
    const box = $("checkpoint");
    if (s.checkpoint.error) { problem(box, s.checkpoint.error); return; }
    const c = s.checkpoint.value;
    const witnesses = el("ul", { class: "witnesses" });
    const checked = new Map(((s.report && s.report.cosigners) || []).map((w) => [w.witness, w]));
    for (const w of c.cosignatures || []) {
      const seen = checked.get(w.witness);
      const key = seen ? (seen.checked ? "checkpoint.witness_checked" : "checkpoint.witness_unchecked") : "checkpoint.witness_listed";
      witnesses.append(el("li", { class: seen && seen.checked ? "ok" : "" }, t(key, { witness: w.witness, key_id: w.key_id })));
    }
    if (!witnesses.children.length) witnesses.append(el("li", {}, t("checkpoint.no_witness")));
    box.replaceChildren(
      el("p", {}, t("checkpoint.size", { size: c.ledger_size })),
      el("p", { class: "hash" }, t("checkpoint.root", { root: c.root_hash })),
      el("p", {}, t("checkpoint.signed", { signed_at: when(c.signed_at), key_id: c.key_id })),
      el("h3", {}, t("checkpoint.witnesses")), witnesses);
  }

  function drawReads(s) {
    const box = $("reads");
    if (!s.reads) { box.replaceChildren(el("p", {}, t("reads.auditors_only"))); return; }
    if (s.reads.error) { problem(box, s.reads.error); return; }
    const list = el("ol", { class: "reads" });
    for (const r of s.reads.value.entries) {
      list.append(el("li", {}, t("reads.entry", { at: when(r.at), actor: r.actor, role: r.role, agency: r.agency, service: r.service, purpose: r.purpose || t("reads.no_purpose"), outcome: r.outcome })));
    }
    if (!list.children.length) list.append(el("li", {}, t("reads.none")));
    box.replaceChildren(list);
    const missing = s.reads.value.missing || [];
    if (missing.length) box.append(el("p", { class: "note" }, t("reads.missing", { services: missing.map((m) => m.service).join(", ") })));
  }

  function forget() { shown = null; leave(); }

  /* A link may carry #token=…&case=…&purpose=…&lang=…: taken, then wiped from the address bar. */
  const fromFragment = () => taken({ case: "case", purpose: "purpose", as_of: "as-of" });

  async function start() {
    const given = fromFragment();
    $("purpose").value = $("purpose").value || store.getItem("caseline.purpose") || "";
    $("lang").addEventListener("change", (e) => setLanguage(e.target.value));
    $("open").addEventListener("submit", open);
    $("forget").addEventListener("click", forget);
    await setLanguage(given.get("lang") || store.getItem("caseline.lang") || "fr");
    if (store.getItem("caseline.token") && $("case").value && $("purpose").value) await open();
  }

  start();
})();
