/* Caseline bundle viewer: a bundle dropped or chosen is verified and shown; nothing is sent. */
"use strict";
(function () {
  const { t, apply, when, verdict, badge, el, state } = window.CaselineI18n;
  const $ = (id) => document.getElementById(id);
  let last = null;

  function show(report) {
    last = report;
    badge($("verdict"), verdict(report));
    const summary = $("summary");
    summary.replaceChildren(el("p", {}, t("viewer.case", { case_id: report.caseId || "?" })));
    if (report.events) summary.append(el("p", {}, t("viewer.span", { events: report.events, first: when(report.firstTime), last: when(report.lastTime) })));
    const c = report.checkpoint;
    if (c) {
      summary.append(el("p", {}, t("checkpoint.size", { size: c.treeSize })),
        el("p", { class: "hash" }, t("checkpoint.root", { root: c.rootHash })),
        el("p", {}, t("checkpoint.signed", { signed_at: when(c.signedAt), key_id: c.keyId })));
    }
    if (report.handedOver) summary.append(el("p", {}, t("viewer.key_handed_over", { path: report.handedOver.join(" → ") })));
    for (const key of report.rootlessEnds || []) summary.append(el("p", {}, t("viewer.handover_v1", { key })));
    for (const w of report.cosigners) {
      summary.append(el("p", {}, t(w.checked ? "checkpoint.witness_checked" : "checkpoint.witness_unchecked", { witness: w.witness, key_id: w.keyId })));
    }
    const entries = report.entries.map((e) => ({ ledger_seq: e.ledgerSeq, case_seq: e.seq, appended_at: e.appendedAt, event: e.event, redacted: [] }));
    const marks = Object.fromEntries(entries.map((e) => [e.ledger_seq, "ok"]));
    window.CaselineTimeline.renderTimeline($("timeline"), entries, marks);
  }

  async function read(file) {
    const raw = new Uint8Array(await file.arrayBuffer());
    $("verdict").replaceChildren(el("span", { class: "badge checking" }, t("verdict.checking")));
    show(await window.CaselineVerify.verifyBundle(raw, null));
  }

  function setLanguage(lang) {
    apply(lang, window.CASELINE_CATALOGUES[lang], document);
    $("lang").value = state.lang;
    document.title = t("viewer.title");
    if (last) show(last);
  }

  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); if (e.dataTransfer.files[0]) read(e.dataTransfer.files[0]); });
  $("file").addEventListener("change", (e) => { if (e.target.files[0]) read(e.target.files[0]); });
  $("lang").addEventListener("change", (e) => setLanguage(e.target.value));
  setLanguage(new URLSearchParams(location.hash.slice(1)).get("lang") || "fr");
})();
