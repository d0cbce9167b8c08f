/* Caseline console: the statistics of GET /stats drawn as small charts (inline SVG drawn here, no
   library), each beside its table; a suppressed figure is shown as suppressed, never as zero. */
"use strict";
(function () {
  const { t, el, when, state } = window.CaselineI18n;
  const { store, setLanguage, call, settle, problem, signIn, fromFragment, forget } = window.CaselineSession;
  const $ = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";
  /* Each chart: its series, counts of GET /stats or rates of two of them (per cent). */
  const CHARTS = [
    { id: "arrests", series: ["arrests", "persons_arrested", "releases"] },
    { id: "breaches", series: ["deadline_breaches", "breaches_ended"] },
    { id: "programmes", series: ["enrolments", "completions", "follow_ups"] },
    { id: "rearrest", rate: true, series: [12, 24, 36].map((n) => ({ name: `rearrest_${n}m`, of: `rearrested_within_${n}m`, over: `releases_followed_${n}m` })) },
  ];
  let shown = null; // the last answer, drawn again in another language or for another facility

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    for (const c of children) node.append(c);
    return node;
  }

  const number = (v, rate) => new Intl.NumberFormat({ fr: "fr-FR", ar: "ar", en: "en-GB" }[state.lang], { maximumFractionDigits: 1 }).format(v) + (rate ? " %" : "");

  /* The figure of one series at (facility, period): {value} | {suppressed: true} | {value: null}. */
  function figure(stats, series, facility, period) {
    const cellOf = (name) => {
      const indicator = stats.indicators.find((i) => i.name === name);
      const cell = indicator && indicator.cells.find((c) => c.facility === facility && c.period === period);
      return cell || { value: null, suppressed: false };
    };
    if (typeof series === "string") {
      const c = cellOf(series);
      return c.suppressed ? { suppressed: true } : { value: c.value };
    }
    const part = cellOf(series.of), whole = cellOf(series.over);
    if (part.suppressed || whole.suppressed) return { suppressed: true };
    if (!whole.value) return { value: null };
    return { value: Math.round((1000 * part.value) / whole.value) / 10 };
  }

  const nameOf = (series) => (typeof series === "string" ? series : series.name);
  const shownAs = (f, rate) => (f.suppressed ? t("stats.suppressed") : f.value == null ? "—" : number(f.value, rate));

  function chart(stats, spec, facility) {
    const periods = stats.periods;
    const rows = periods.map((p) => spec.series.map((s) => figure(stats, s, facility, p)));
    const top = Math.max(1, ...rows.flat().map((f) => f.value || 0));
    const W = 560, H = 220, left = 44, bottom = 28, topPad = 18;
    const plotH = H - bottom - topPad, group = (W - left - 8) / Math.max(1, periods.length);
    const bar = Math.min(28, (group - 10) / spec.series.length);
    const y = (v) => topPad + plotH - (v / top) * plotH;
    const title = t(`stats.chart.${spec.id}`);
    const id = `chart-${spec.id}`;
    const picture = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": `${id}-title`, class: "plot", direction: "ltr" },
      svg("title", { id: `${id}-title` }, title),
      svg("defs", {}, svg("pattern", { id: `${id}-hatch`, width: 6, height: 6, patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" },
        svg("line", { x1: 0, y1: 0, x2: 0, y2: 6, class: "hatch" }))),
      svg("line", { x1: left, x2: W - 4, y1: y(0), y2: y(0), class: "axis" }),
      svg("text", { x: left - 6, y: y(top) + 4, "text-anchor": "end", class: "tick" }, number(top, spec.rate)),
      svg("text", { x: left - 6, y: y(0) + 4, "text-anchor": "end", class: "tick" }, number(0)));
    periods.forEach((p, i) => {
      const x0 = left + i * group + (group - bar * spec.series.length) / 2;
      picture.append(svg("text", { x: left + i * group + group / 2, y: H - 8, "text-anchor": "middle", class: "tick" }, p));
      spec.series.forEach((s, k) => {
        const f = rows[i][k], x = x0 + k * bar;
        const data = { "data-series": nameOf(s), "data-period": p };
        if (f.suppressed) {
          // Not a zero: an outlined, hatched bar of no height meaning, marked n.d.
          picture.append(svg("rect", { ...data, "data-suppressed": "true", x: x + 1, y: topPad, width: bar - 2, height: plotH, class: "bar suppressed", fill: `url(#${id}-hatch)` },
            svg("title", {}, `${t(`stats.series.${nameOf(s)}`)}, ${p}: ${t("stats.suppressed")}`)));
          picture.append(svg("text", { x: x + bar / 2, y: topPad - 4, "text-anchor": "middle", class: "tick suppressed-mark" }, t("stats.suppressed")));
        } else if (f.value != null) {
          const h = Math.max(f.value ? 1 : 0, y(0) - y(f.value));
          picture.append(svg("rect", { ...data, "data-value": f.value, x: x + 1, y: y(0) - h, width: bar - 2, height: h, class: `bar s${k}` },
            svg("title", {}, `${t(`stats.series.${nameOf(s)}`)}, ${p}: ${number(f.value, spec.rate)}`)));
        }
      });
    });
    const legend = el("ul", { class: "legend" }, ...spec.series.map((s, k) => el("li", { class: `s${k}` }, t(`stats.series.${nameOf(s)}`))));
    const table = el("table", { class: "figures", id: `${id}-table` },
      el("caption", {}, title),
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, t("stats.period_column")), ...spec.series.map((s) => el("th", { scope: "col" }, t(`stats.series.${nameOf(s)}`))))),
      el("tbody", {}, ...periods.map((p, i) => el("tr", {}, el("th", { scope: "row" }, p),
        ...rows[i].map((f, k) => el("td", f.suppressed ? { class: "suppressed", "data-suppressed": "true", "data-series": nameOf(spec.series[k]) } : { "data-value": f.value == null ? "" : String(f.value), "data-series": nameOf(spec.series[k]) }, shownAs(f, spec.rate)))))));
    const note = spec.rate ? el("p", { class: "note" }, t("stats.rate_note")) : null;
    return el("section", { class: "panel chart", id, "aria-labelledby": `${id}-heading` },
      el("h2", { id: `${id}-heading` }, title),
      el("div", { class: "chart-row" }, el("div", {}, picture, legend, note), table));
  }

  function draw() {
    if (!shown) return;
    const stats = shown;
    const choice = $("facility").value;
    const facility = choice === "" ? null : choice;
    $("about").textContent = t("stats.about_text", { jurisdiction: stats.jurisdiction, time_zone: stats.time_zone, from: stats.from, to: stats.to, as_of: when(stats.as_of), max_hidden: stats.min_cell - 1 });
    $("charts").replaceChildren(...CHARTS.map((spec) => chart(stats, spec, facility)));
  }

  function fillFacilities(stats) {
    const select = $("facility"), keep = select.value;
    const all = select.options[0];
    select.replaceChildren(all, ...stats.facilities.map((f) => el("option", { value: f }, f)));
    select.value = stats.facilities.includes(keep) ? keep : "";
  }

  const query = () => new URLSearchParams({ period: $("period").value, ...($("from").value && { from: $("from").value }), ...($("to").value && { to: $("to").value }) });

  async function ask(event) {
    if (event) event.preventDefault();
    if (!signIn($("token"), $("purpose"))) { $("message").textContent = t("stats.missing"); return; }
    $("message").textContent = "";
    const answer = await settle(call(`/stats?${query()}`));
    if (answer.error) { problem($("charts"), answer.error); shown = null; return; }
    shown = answer.value;
    fillFacilities(shown);
    for (const b of ["csv", "xlsx"]) $(b).disabled = false;
    draw();
  }

  /* The exports need the token too: fetched here, then handed to the browser as a file. */
  async function download(format) {
    const q = query();
    q.set("format", format);
    q.set("lang", state.lang === "en" ? "en" : "fr");
    const got = await settle(call(`/stats?${q}`, { kind: "blob" }));
    if (got.error) { problem($("message"), got.error); return; }
    const link = el("a", { href: URL.createObjectURL(got.value), download: `caseline-stats-${q.get("period")}.${format}` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  }

  async function start() {
    const given = fromFragment({ purpose: "purpose", period: "period", from: "from", to: "to" });
    $("purpose").value = $("purpose").value || store.getItem("caseline.purpose") || "";
    $("lang").addEventListener("change", (e) => setLanguage(e.target.value, draw));
    $("ask").addEventListener("submit", ask);
    $("facility").addEventListener("change", draw);
    $("forget").addEventListener("click", forget);
    $("csv").addEventListener("click", () => download("csv"));
    $("xlsx").addEventListener("click", () => download("xlsx"));
    await setLanguage(given.get("lang") || store.getItem("caseline.lang") || "fr", draw);
    if (given.get("facility")) $("facility").append(el("option", { value: given.get("facility") }, given.get("facility")));
    if (given.get("facility")) $("facility").value = given.get("facility");
    if (store.getItem("caseline.token") && $("purpose").value) await ask();
  }

  start();
})();
