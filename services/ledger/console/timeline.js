/* Caseline console: the timeline drawn as a line of dated entries, corrections beside what they
   void, and the legal deadlines the entries state. */
"use strict";
(function (root) {
  const { t, when, el } = root.CaselineI18n;

  const service = (type) => String(type || "").split(".")[1] || "";
  const name = (type) => String(type || "").split(".")[2] || String(type || "");

  function details(data) {
    const list = el("dl", { class: "data" });
    for (const [k, v] of Object.entries(data || {})) {
      list.append(el("dt", {}, k), el("dd", {}, typeof v === "object" && v !== null ? JSON.stringify(v) : String(v)));
    }
    return list;
  }

  /* entries: [{ledger_seq, case_seq, appended_at, event, redacted}]; marks: ledger_seq → "ok" | "bad". */
  function renderTimeline(list, entries, marks) {
    const byId = new Map(entries.map((e) => [e.event && e.event.id, e]));
    const voidedBy = new Map();
    for (const e of entries) {
      if (name(e.event && e.event.type) === "EntryVoided") voidedBy.set((e.event.data || {}).voided_event_id, e);
    }
    list.replaceChildren();
    if (!entries.length) { list.append(el("li", { class: "empty" }, t("timeline.empty"))); return; }
    for (const e of entries) {
      const ev = e.event || {};
      const mark = marks && marks[e.ledger_seq];
      const item = el("li", { class: `entry svc-${service(ev.type)}`, "data-ledger-seq": String(e.ledger_seq), "data-case-seq": String(e.case_seq), id: `entry-${e.case_seq}` });
      if (mark) item.classList.add(mark === "ok" ? "verified" : "first-bad");
      const head = el("div", { class: "head" },
        el("time", { datetime: ev.time || "" }, when(ev.time)), " ",
        el("strong", { class: "type" }, name(ev.type)), " ",
        el("span", { class: "service" }, service(ev.type)));
      if (mark) head.append(" ", el("span", { class: "seal " + mark }, mark === "ok" ? "✓ " + t("timeline.verified") : "✗ " + t("timeline.first_bad")));
      item.append(head,
        el("p", { class: "who" }, t("timeline.recorded_by", { actor: ev.actor || "?", agency: ev.agency || "?", recorded: when(ev.recordedtime || e.appended_at) })),
        el("p", { class: "pos" }, t("timeline.position", { case_seq: e.case_seq, ledger_seq: e.ledger_seq })));
      const voider = voidedBy.get(ev.id);
      if (voider) {
        item.classList.add("voided");
        item.append(el("p", { class: "note voided-by" }, el("a", { href: `#entry-${voider.case_seq}` }, t("timeline.voided_by", { case_seq: voider.case_seq, reason: (voider.event.data || {}).reason || "" }))));
      }
      if (name(ev.type) === "EntryVoided") {
        const target = byId.get((ev.data || {}).voided_event_id);
        item.classList.add("correction");
        if (target) item.append(el("p", { class: "note voids" }, el("a", { href: `#entry-${target.case_seq}` }, t("timeline.voids", { case_seq: target.case_seq }))));
      }
      if (e.redacted && e.redacted.length) item.append(el("p", { class: "note" }, t("timeline.redacted", { fields: e.redacted.join(", ") })));
      item.append(details(ev.data));
      list.append(item);
    }
  }

  /* The deadlines the (not voided) entries state: the latest of each kind, and breaches. */
  function deadlines(entries, now) {
    const voided = new Set(entries.filter((e) => name(e.event.type) === "EntryVoided").map((e) => (e.event.data || {}).voided_event_id));
    const latest = {}, breaches = [];
    for (const e of entries) {
      const ev = e.event || {}, d = ev.data || {};
      if (voided.has(ev.id)) continue;
      const kind = name(ev.type);
      if (kind === "CustodyStarted" && d.started_at && d.max_hours) {
        latest.custody = new Date(new Date(d.started_at).getTime() + d.max_hours * 3600e3).toISOString();
      } else if (kind === "CustodyExtended" && d.extended_until) latest.custody = d.extended_until;
      else if ((kind === "PreTrialDetentionOrdered" || kind === "PreTrialDetentionRenewed") && d.expires_at) latest.pre_trial = d.expires_at;
      else if (kind === "DetentionDeadlineBreached") breaches.push(d);
    }
    const out = Object.entries(latest).map(([kind, until]) => ({ kind, until, passed: new Date(until) < now }));
    return { running: out, breaches };
  }

  function renderDeadlines(list, entries, now) {
    const { running, breaches } = deadlines(entries, now);
    list.replaceChildren();
    for (const d of running) {
      list.append(el("li", { class: d.passed ? "passed" : "running" }, t(`deadlines.${d.kind}`, { until: when(d.until) }), " — ", t(d.passed ? "deadlines.passed" : "deadlines.running")));
    }
    for (const b of breaches) list.append(el("li", { class: "breached" }, t("deadlines.breached", { kind: b.deadline_kind, expired_at: when(b.expired_at) })));
    if (!list.children.length) list.append(el("li", {}, t("deadlines.none")));
  }

  root.CaselineTimeline = { renderTimeline, renderDeadlines, deadlines };
})(typeof window !== "undefined" ? window : globalThis);
