/* Caseline console: the prison registry's page: record an admission (intake), see it reach the
   case's timeline (ledger), the facility's overdue deadlines (judicial), search the person
   registry and propose, confirm or reject person links, four eyes (intake). */
"use strict";
(function () {
  const { t, when, el } = window.CaselineI18n;
  const { renderTimeline } = window.CaselineTimeline;
  const { store, setLanguage, call, settle, problem, signIn, fromFragment, forget } = window.CaselineSession;
  const $ = (id) => document.getElementById(id);
  const FIELDS = ["case_id", "facility", "admitted_at", "warrant_ref", "register_number", "health_screening", "injuries_observed"];
  const view = { who: null, entries: null, caseId: null, overdue: null, recorded: null, candidates: null, elsewhere: false, links: null, linkCase: null };
  /* A score drawn as a full bar: the name, the date of birth and both parents met (the most is 2.23). */
  const SCORE_SCALE = 2;
  /* The refusals of person links the page explains (intake's 409 problems, by their type). */
  const RULES = ["link-by-one-person", "link-already-proposed", "link-to-same-person", "not-linked", "link-not-pending", "link-of-erased-case", "unknown-person"];
  /* A message whose `ids` are elements of their own, left to right in an Arabic sentence too. */
  function withIds(key, ids, params) {
    const marks = Object.fromEntries(Object.keys(ids).map((k) => [k, `\u0000${k}\u0000`]));
    return t(key, { ...params, ...marks }).split("\u0000")
      .map((part, i) => (i % 2 ? el("bdi", { dir: "ltr", class: "id" }, String(ids[part])) : part));
  }
  const pause = () => new Promise((resolve) => setTimeout(resolve, 500));

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
    if (view.candidates) drawCandidates(view.candidates);
    if (view.links) drawLinks(view.links);
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
      await pause();
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

  /* Person search (intake's GET /persons): candidates without names, among the persons with a
     case the caller may see, each with its score, the reasons in words and those cases (opened
     to see a name); whether a similar identity is on record in cases out of the caller's sight. */
  async function searchPersons(event) {
    event.preventDefault();
    if (!view.who) { $("message").textContent = t("registry.missing"); return; }
    const q = new URLSearchParams();
    for (const f of ["name", "birth", "father", "mother"]) {
      const v = $(`ps-${f}`).value.trim();
      if (v) q.set(f, v);
    }
    $("persons-error").replaceChildren();
    const got = await settle(call(`/persons?${q}`, { service: "intake" }));
    if (got.error) { view.candidates = null; $("candidates").replaceChildren(); $("persons-note").textContent = ""; problem($("persons-error"), got.error); return; }
    view.candidates = got.value.candidates;
    view.elsewhere = got.value.similar_elsewhere === true;
    draw();
  }

  function drawCandidates(items) {
    const found = items.length ? t("persons.found", { count: items.length }) : t("persons.none");
    $("persons-note").textContent = view.elsewhere ? `${found} ${t("persons.elsewhere")}` : found;
    $("candidates").replaceChildren(...items.map((c) => {
      const fill = el("span", { class: "fill" });
      fill.style.inlineSize = `${Math.min(100, (100 * c.score) / SCORE_SCALE).toFixed(1)}%`;
      const cases = c.cases.length
        ? el("ul", { class: "cases" }, ...c.cases.map((k) => el("li", {},
          el("a", { href: `/console#case=${encodeURIComponent(k.case_id)}`, dir: "ltr", "data-case-id": k.case_id }, k.case_id))))
        : el("p", { class: "note" }, t("persons.no_case"));
      return el("li", { class: "candidate", "data-person-id": c.person_id },
        el("p", { class: "score" }, el("span", { class: "bar", "aria-hidden": "true" }, fill), " ",
          el("strong", {}, t("persons.score", { score: c.score.toFixed(2) }))),
        el("ul", { class: "reasons" }, ...c.reasons.map((r) => el("li", {}, el("bdi", {}, r)))),
        el("p", { class: "note" }, ...withIds("persons.cases_of", { person_id: c.person_id })), cases,
        el("button", { type: "button", class: "quiet propose", "data-person-id": c.person_id }, t("links.propose")));
    }));
  }

  /* Person links, four eyes: a registrar proposes that a case names a candidate's person; a second
     person confirms or rejects it. The pending proposals are read from the case's timeline. */
  function reasonGiven() {
    const reason = $("link-reason").value.trim();
    if (!reason) { $("link-result").replaceChildren(el("p", { class: "error" }, t("links.reason_needed"))); $("link-reason").focus(); }
    return reason;
  }

  async function propose(personId) {
    const caseId = $("link-case_id").value.trim();
    if (!caseId) { $("link-result").replaceChildren(el("p", { class: "error" }, t("links.case_needed"))); $("link-case_id").focus(); return; }
    const reason = reasonGiven();
    if (!reason) return;
    const candidate = (view.candidates || []).find((c) => c.person_id === personId);
    const body = { kind: "link", person_id: personId, reason, match_reasons: candidate ? candidate.reasons : [] };
    const got = await settle(call(`/cases/${encodeURIComponent(caseId)}/person-links`, { service: "intake", method: "POST", body }));
    if (got.error) { refused(got.error); return; }
    $("link-result").replaceChildren(el("p", { class: "done" }, ...withIds("links.proposed", { case_id: caseId })));
    await pending(caseId, (links) => links.has(got.value.link_id));
  }

  async function answer(linkId, what) {
    const caseId = view.linkCase;
    let body;
    if (what === "rejection") { body = { reason: reasonGiven() }; if (!body.reason) return; }
    const path = `/cases/${encodeURIComponent(caseId)}/person-links/${encodeURIComponent(linkId)}/${what}`;
    const got = await settle(call(path, { service: "intake", method: "POST", body }));
    if (got.error) { refused(got.error); return; }
    $("link-result").replaceChildren(el("p", { class: "done" }, ...withIds(what === "confirmation" ? "links.confirmed" : "links.rejected", { case_id: caseId })));
    await pending(caseId, (links) => links.has(linkId) && links.get(linkId).state !== "pending");
  }

  /* A refusal of intake's rules said in the page's words, with intake's own detail under it. */
  function refused(error) {
    const rule = String(error.body.type || "").split("/").pop();
    if (error.status !== 409 || !RULES.includes(rule)) { problem($("link-result"), error); return; }
    $("link-result").replaceChildren(el("div", { class: "refusal", "data-rule": rule },
      el("p", { class: "error" }, el("strong", {}, t(`links.rule_${rule.replace(/-/g, "_")}`))),
      el("p", { class: "note" }, error.detail)));
  }

  function linksOf(entries) {
    const links = new Map();
    for (const e of entries) {
      const ev = e.event || {};
      const type = String(ev.type || "").split(".")[2];
      const d = ev.data || {};
      if (type === "PersonLinkProposed") links.set(d.link_id, { ...d, time: ev.time, state: "pending" });
      else if ((type === "PersonLinkConfirmed" || type === "PersonLinkRejected") && links.has(d.link_id)) {
        links.get(d.link_id).state = type === "PersonLinkConfirmed" ? "confirmed" : "rejected";
      }
    }
    return links;
  }

  /* The case's links from the ledger's timeline, read again until `until` holds (or once). */
  async function pending(caseId, until) {
    view.linkCase = caseId;
    for (let tries = 0; tries < 30; tries++) {
      const got = await settle(call(`/cases/${encodeURIComponent(caseId)}/timeline`));
      if (got.error && got.error.status !== 404) { problem($("link-result"), got.error); return; }
      if (got.value) { view.links = linksOf(got.value.entries); draw(); }
      if (!until || (view.links && until(view.links))) return;
      await pause();
    }
  }

  function drawLinks(links) {
    const waiting = [...links.values()].filter((l) => l.state === "pending");
    $("pending").replaceChildren(...waiting.map((l) => el("li", { "data-link-id": l.link_id },
      ...withIds(l.kind === "unlink" ? "links.pending_unlink" : "links.pending_link", { case_id: view.linkCase, person_id: l.person_id, by: l.proposed_by || "?" }, { when: when(l.time) }),
      l.reason ? el("p", { class: "note" }, l.reason) : null,
      el("p", { class: "actions" },
        el("button", { type: "button", class: "confirm", "data-link-id": l.link_id }, t("links.confirm")), " ",
        el("button", { type: "button", class: "quiet reject", "data-link-id": l.link_id }, t("links.reject"))))));
    if (!waiting.length) $("pending").append(el("li", {}, ...withIds("links.none_pending", { case_id: view.linkCase })));
  }

  async function showLinks(event) {
    if (event) event.preventDefault();
    const caseId = $("link-case_id").value.trim();
    if (!view.who || !caseId) return;
    $("link-result").replaceChildren();
    await pending(caseId);
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
    await showLinks();
  }

  async function start() {
    const given = fromFragment({ purpose: "purpose", case: "adm-case_id" });
    if (given.get("case")) $("link-case_id").value = given.get("case");
    $("purpose").value = $("purpose").value || store.getItem("caseline.purpose") || "";
    $("lang").addEventListener("change", (e) => setLanguage(e.target.value, draw));
    $("sign").addEventListener("submit", enter);
    $("admission").addEventListener("submit", record);
    $("forget").addEventListener("click", forget);
    $("overdue-refresh").addEventListener("click", overdue);
    $("person-search").addEventListener("submit", searchPersons);
    $("links").addEventListener("submit", showLinks);
    $("candidates").addEventListener("click", (e) => { const b = e.target.closest("button.propose"); if (b) propose(b.dataset.personId); });
    $("pending").addEventListener("click", (e) => {
      const b = e.target.closest("button[data-link-id]");
      if (b) answer(b.dataset.linkId, b.classList.contains("confirm") ? "confirmation" : "rejection");
    });
    await setLanguage(given.get("lang") || store.getItem("caseline.lang") || "fr", draw);
    if (store.getItem("caseline.token") && $("purpose").value) await enter();
  }

  start();
})();
