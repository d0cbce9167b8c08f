/* Caseline console: the prison registry's page: record an admission (intake), see it reach the
   case's timeline (ledger), and the facility's overdue deadlines (judicial). */
"use strict";
(function () {
  const { t, when, el } = window.CaselineI18n;
  const { renderTimeline } = window.CaselineTimeline;
  const { store, setLanguage, call, settle, problem, signIn, fromFragment, forget } = window.CaselineSession;
  const $ = (id) => document.getElementById(id);
  const FIELDS = ["case_id", "facility", "admitted_at", "warrant_ref", "register_number", "health_screening", "injuries_observed"];
  const view = { who: null, entries: null, caseId: null, overdue: null, recorded: null };

  function draw() {
    const who = view.who;
    $("who").textContent = who ? t("signin.signed_as", { sub: who.sub || "?", role: who.role || "?", agency: who.agency || "?" }) : "";
    $("overdue-facility").textContent = who && who.facility ? t("overdue.facility", { facility: who.facility }) : t("overdue.no_facility");
    if (view.recorded) $("admission-result").replaceChildren(el("p", { class: "done" }, t("admission.recorded", { case_id: view.recorded.case_id, version: view.recorded.version ?? "?" })));
    if (view.entries) {
      $("timeline-note").textContent = t("registry.timeline_of", { case_id: view.caseId });
      renderTimeline($("timeline"), view.entries, null);
    }
    if (view.overdue) drawOverdue(view.overdue);
  }

  function drawOverdue(items) {
    const list = $("overdue");
    list.replaceChildren(...items.map((d) => el("li", { class: "passed", "data-case-id": d.case_id },
      el("strong", {}, t(`overdue.kind_${d.kind}`)), " ",
      t("overdue.item", { register: d.register_number || "—", expired: when(d.expires_at), hours: d.hours_past_limit }),
      d.action ? el("p", { class: "note" }, d.action) : null,
      el("a", { href: `/console#case=${encodeURIComponent(d.case_id)}` }, t("overdue.open_case")))));
    if (!items.length) list.append(el("li", {}, t("overdue.none")));
  }

  function clearProblems() {
    for (const f of FIELDS) { $(`err-${f}`).textContent = ""; $(`adm-${f}`).removeAttribute("aria-invalid"); }
    $("admission-result").replaceChildren();
  }

  /* A 422's `errors` name the fields: each problem is shown under its field. */
  function showProblems(error) {
    const others = [];
    for (const e of error.body.errors || []) {
      const field = String(e.field || "").replace(/^path\./, "").split(".")[0];
      if (FIELDS.includes(field)) {
        const box = $(`err-${field}`);
        box.textContent = box.textContent ? `${box.textContent}; ${e.message}` : e.message;
        $(`adm-${field}`).setAttribute("aria-invalid", "true");
      } else others.push(`${e.field}: ${e.message}`);
    }
    if (!(error.body.errors || []).length || others.length) {
      problem($("admission-result"), error);
      if (others.length) $("admission-result").append(el("p", { class: "error" }, others.join("; ")));
    } else $("admission-result").replaceChildren(el("p", { class: "error" }, t("admission.fix_fields")));
    const first = document.querySelector("[aria-invalid=true]");
    if (first) first.focus();
  }

  function body() {
    const out = {};
    for (const f of FIELDS.slice(1)) {
      const v = $(`adm-${f}`).value.trim();
      if (!v) continue;
      out[f] = f === "admitted_at" ? new Date(v + "Z").toISOString() : v;
    }
    return out;
  }

  async function record(event) {
    event.preventDefault();
    if (!view.who) { $("message").textContent = t("registry.missing"); return; }
    clearProblems();
    view.recorded = null;
    const caseId = $("adm-case_id").value.trim();
    const answer = await settle(call(`/cases/${encodeURIComponent(caseId)}/admission`, { service: "intake", method: "POST", body: body() }));
    if (answer.error) { showProblems(answer.error); return; }
    view.recorded = { case_id: caseId, ...answer.value };
    draw();
    await timeline(caseId, answer.value.event_id);
  }

  /* The case's timeline from the ledger, read again until the new entry has reached it. */
  async function timeline(caseId, eventId) {
    view.caseId = caseId;
    for (let tries = 0; tries < 30; tries++) {
      const got = await settle(call(`/cases/${encodeURIComponent(caseId)}/timeline`));
      if (got.value) {
        view.entries = got.value.entries;
        $("timeline-error").replaceChildren();
        draw();
        if (!eventId || view.entries.some((e) => e.event && e.event.id === eventId)) return;
      } else if (got.error.status !== 404) { problem($("timeline-error"), got.error); return; }
      $("timeline-note").textContent = t("registry.waiting");
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    $("timeline-note").textContent = t("registry.not_yet");
  }

  async function overdue() {
    if (!view.who) return;
    const q = new URLSearchParams({ status: "overdue", limit: "200" });
    if (view.who.facility) q.set("facility", view.who.facility);
    const got = await settle(call(`/deadlines?${q}`, { service: "judicial" }));
    if (got.error) { problem($("overdue-error"), got.error); return; }
    $("overdue-error").replaceChildren();
    view.overdue = got.value.items;
    draw();
  }

  async function enter(event) {
    if (event) event.preventDefault();
    const who = signIn($("token"), $("purpose"));
    if (!who) { $("message").textContent = t("registry.missing"); return; }
    $("message").textContent = "";
    view.who = who;
    if (who.facility && !$("adm-facility").value) $("adm-facility").value = who.facility;
    draw();
    await overdue();
  }

  async function start() {
    const given = fromFragment({ purpose: "purpose", case: "adm-case_id" });
    $("purpose").value = $("purpose").value || store.getItem("caseline.purpose") || "";
    $("lang").addEventListener("change", (e) => setLanguage(e.target.value, draw));
    $("sign").addEventListener("submit", enter);
    $("admission").addEventListener("submit", record);
    $("forget").addEventListener("click", forget);
    $("overdue-refresh").addEventListener("click", overdue);
    await setLanguage(given.get("lang") || store.getItem("caseline.lang") || "fr", draw);
    if (store.getItem("caseline.token") && $("purpose").value) await enter();
  }

  start();
})();
