"""The dashboard page: plain HTML and a little vanilla JS, no build step, no external assets.

It needs an API key with the `admin` scope: typed into its form, or passed once in the URL
fragment (`/dashboard#key=rlk_...`, never sent to the server in the URL); either way it is
kept in sessionStorage (this tab only) and the fragment is removed from the address bar.
Every `REFRESH_MS` it polls `GET /v1/dashboard` with `Authorization: Bearer <key>`.
Every figure carries a stable `data-figure` attribute (tests and scrapers rely on them).
The charts are plain SVG drawn by the page itself (no library to vendor, nothing fetched from
elsewhere: it works offline); each line is a `<path data-series="{chart}-{name}">`.
"""

from __future__ import annotations

REFRESH_MS = 2000

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Reward ledger - operations</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5rem; background: #f6f7f9; color: #1d232b; }
h1 { font-size: 1.3rem; margin: 0 0 .3rem; }
h2 { font-size: 1rem; margin: 1.2rem 0 .4rem; }
.muted { color: #667; font-size: .85rem; }
.cards { display: flex; flex-wrap: wrap; gap: .8rem; }
.card { background: #fff; border: 1px solid #dde; border-radius: 6px; padding: .7rem 1rem;
        min-width: 11rem; }
.card .label { font-size: .8rem; color: #667; }
.card .value { font-size: 1.6rem; font-weight: 600; }
table { border-collapse: collapse; background: #fff; }
th, td { border: 1px solid #dde; padding: .3rem .6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.ok { color: #17803d; } .bad { color: #b42318; }
#login { display: none; margin: 1rem 0; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(36rem, 1fr)); gap: .8rem; }
.chart { background: #fff; border: 1px solid #dde; border-radius: 6px; padding: .5rem .8rem;
         margin: 0; }
.chart figcaption { font-size: .85rem; font-weight: 600; }
.chart svg { width: 100%; height: auto; display: block; }
.chart text { font-size: 11px; fill: #667; }
.legend { font-size: .8rem; color: #445; }
.legend span { margin-right: .8rem; white-space: nowrap; }
.legend i { display: inline-block; width: .8rem; height: .25rem; margin-right: .25rem;
            vertical-align: middle; }
</style>
</head>
<body>
<h1>Reward ledger - operations</h1>
<div class="muted">Refreshes every __REFRESH_S__ s.
  <span data-figure="updated">not loaded yet</span></div>
<form id="login">
  <label>Admin API key <input id="key" type="password" size="60" autocomplete="off"></label>
  <button type="submit">Show</button>
</form>
<div class="cards">
  <div class="card"><div class="label">Throughput (outcomes/s, last 60 s)</div>
    <div class="value" data-figure="throughput">-</div></div>
  <div class="card"><div class="label">Outcomes (last 60 s)</div>
    <div class="value" data-figure="outcomes">-</div></div>
  <div class="card"><div class="label">Rejected (last 60 s)</div>
    <div class="value" data-figure="rejections-total">-</div></div>
  <div class="card"><div class="label">Freshness p50 (ms)</div>
    <div class="value" data-figure="freshness-p50">-</div></div>
  <div class="card"><div class="label">Freshness p99 (ms)</div>
    <div class="value" data-figure="freshness-p99">-</div></div>
  <div class="card"><div class="label">Mirror lag (journal records)</div>
    <div class="value" data-figure="lag">-</div></div>
  <div class="card"><div class="label">Last audit</div>
    <div class="value" data-figure="audit-status">-</div></div>
</div>
<div class="muted">Throughput and rejections: every outcome this gateway saw on the outcome
  channel. Freshness: this gateway's own writes, produce to outcome visible in Redis
  (<span data-figure="freshness-samples">0</span> samples). Lag: journal end offsets minus
  the mirror's applied offsets (a transaction commit marker counts as one record).</div>
<h2>Last 15 minutes, 10-second steps:
  <select id="program" data-figure="program" aria-label="program"></select></h2>
<div class="charts">
  <figure class="chart"><figcaption>Throughput by operation (outcomes/s)</figcaption>
    <svg data-chart="throughput" viewBox="0 0 600 170"></svg><div class="legend"></div></figure>
  <figure class="chart"><figcaption>Rejections by reason (per step)</figcaption>
    <svg data-chart="rejections" viewBox="0 0 600 170"></svg><div class="legend"></div></figure>
  <figure class="chart"><figcaption>Freshness, request sent to visible (ms, p50 and p99)
    </figcaption>
    <svg data-chart="freshness" viewBox="0 0 600 170"></svg><div class="legend"></div></figure>
  <figure class="chart"><figcaption>Lag (records): journal to Redis, core consumer
    (all programs)</figcaption>
    <svg data-chart="lag" viewBox="0 0 600 170"></svg><div class="legend"></div></figure>
</div>
<h2>Rejections by reason (last 60 s)</h2>
<table><thead><tr><th>Reason</th><th>Count</th></tr></thead>
  <tbody id="reasons"></tbody></table>
<h2>Program totals</h2>
<table><thead><tr><th>Program / asset</th><th>Issued</th><th>Redeemed</th><th>Expired</th>
  <th>Adjusted</th><th>Outstanding</th><th>Held</th><th>In transit</th></tr></thead>
  <tbody id="totals"></tbody></table>
<h2>Last audit</h2>
<div data-figure="audit-detail" class="muted">-</div>
<ul id="problems"></ul>
<script>
"use strict";
const STORE = "ledger-dashboard-key";
const TOTAL_FIELDS = ["issued", "redeemed", "expired", "adjusted", "outstanding", "held",
                      "in_transit"];
function keyFromFragment() {
  const match = /(?:^#|&)key=([^&]+)/.exec(location.hash);
  if (match) {
    sessionStorage.setItem(STORE, decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
}
function fig(name) { return document.querySelector('[data-figure="' + name + '"]'); }
function set(name, value) { const e = fig(name); if (e) e.textContent = value; }
function cell(row, text, figure) {
  const td = document.createElement("td");
  td.textContent = text;
  if (figure) td.dataset.figure = figure;
  row.appendChild(td);
}
function ms(value) { return value === null ? "-" : value.toFixed(1); }
const COLOURS = ["#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2", "#ca8a04",
                 "#db2777", "#4b5563", "#65a30d"];
const SVG = "http://www.w3.org/2000/svg";
const PLOT = {left: 48, right: 592, top: 8, bottom: 148};
function svgEl(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}
function roundUp(value) {
  if (value <= 0) return 1;
  const power = Math.pow(10, Math.floor(Math.log10(value)));
  for (const step of [1, 2, 2.5, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}
function pathOf(values, top) {
  // Gaps (null) break the line; each point is one step.
  const dx = (PLOT.right - PLOT.left) / Math.max(values.length - 1, 1);
  // A point alone between gaps is drawn as a dot (a tiny segment with round caps).
  let d = "", run = 0;
  const close = () => { if (run === 1) d += "l0.01 0"; run = 0; };
  values.forEach((v, i) => {
    if (v === null || v === undefined) { close(); return; }
    const x = PLOT.left + i * dx;
    const y = PLOT.bottom - (v / top) * (PLOT.bottom - PLOT.top);
    d += (run ? "L" : "M") + x.toFixed(1) + " " + y.toFixed(1);
    run += 1;
  });
  close();
  return d;
}
function drawChart(name, lines) {
  const svg = document.querySelector('svg[data-chart="' + name + '"]');
  const legend = svg.nextElementSibling;
  svg.replaceChildren();
  legend.replaceChildren();
  const all = lines.flatMap((l) => l.values.filter((v) => v !== null && v !== undefined));
  const top = roundUp(Math.max(0, ...all));
  for (const fraction of [0, 0.5, 1]) {
    const y = PLOT.bottom - fraction * (PLOT.bottom - PLOT.top);
    svg.appendChild(svgEl("line", {x1: PLOT.left, x2: PLOT.right, y1: y, y2: y,
                                   stroke: "#e5e7eb"}));
    const label = svgEl("text", {x: PLOT.left - 6, y: y + 4, "text-anchor": "end"});
    label.textContent = String(+(top * fraction).toFixed(2));
    svg.appendChild(label);
  }
  [["-15 min", PLOT.left, "start"], ["-10", PLOT.left + (PLOT.right - PLOT.left) / 3, "middle"],
   ["-5", PLOT.left + 2 * (PLOT.right - PLOT.left) / 3, "middle"], ["now", PLOT.right, "end"]]
    .forEach(([text, x, anchor]) => {
      const t = svgEl("text", {x: x, y: 165, "text-anchor": anchor});
      t.textContent = text;
      svg.appendChild(t);
    });
  if (!lines.length) {
    const t = svgEl("text", {x: 320, y: 80, "text-anchor": "middle"});
    t.textContent = "nothing in the last 15 minutes";
    svg.appendChild(t);
  }
  lines.forEach((line, n) => {
    const colour = COLOURS[n % COLOURS.length];
    svg.appendChild(svgEl("path", {d: pathOf(line.values, top), fill: "none", stroke: colour,
                                   "stroke-width": 2.2, "stroke-linecap": "round",
                                   "stroke-linejoin": "round",
                                   "data-series": name + "-" + line.name}));
    const item = document.createElement("span");
    const swatch = document.createElement("i");
    swatch.style.background = colour;
    item.append(swatch, line.name);
    legend.appendChild(item);
  });
}
function named(byName) {
  return Object.entries(byName).map(([name, values]) => ({name: name, values: values}));
}
function renderSeries(series) {
  const select = document.getElementById("program");
  const programs = Object.keys(series.programs);
  const chosen = programs.includes(select.value) ? select.value : programs[0];
  select.replaceChildren(...programs.map((p) => new Option(p, p, false, p === chosen)));
  const p = series.programs[chosen] || {throughput_by_operation: {}, rejections_by_reason: {},
                                        freshness_p50_ms: [], freshness_p99_ms: []};
  drawChart("throughput", named(p.throughput_by_operation));
  drawChart("rejections", named(p.rejections_by_reason));
  drawChart("freshness", [{name: "p50", values: p.freshness_p50_ms},
                          {name: "p99", values: p.freshness_p99_ms}]);
  drawChart("lag", [{name: "journal", values: series.journal_lag},
                    {name: "core", values: series.core_lag}]);
}
let last = null;
function render(data) {
  const a = data.activity;
  set("throughput", a.outcomes_per_s.toFixed(2));
  set("outcomes", String(a.outcomes));
  const rejected = Object.values(a.rejections_by_reason).reduce((s, n) => s + n, 0);
  set("rejections-total", String(rejected));
  set("freshness-p50", ms(a.freshness_p50_ms));
  set("freshness-p99", ms(a.freshness_p99_ms));
  set("freshness-samples", String(a.freshness_samples));
  set("lag", data.lag.total_records === null ? "unknown" : String(data.lag.total_records));
  const reasons = document.getElementById("reasons");
  reasons.replaceChildren();
  for (const [reason, count] of Object.entries(a.rejections_by_reason)) {
    const row = document.createElement("tr");
    cell(row, reason);
    cell(row, String(count), "rejections-" + reason);
    reasons.appendChild(row);
  }
  const totals = document.getElementById("totals");
  totals.replaceChildren();
  for (const [program, assets] of Object.entries(data.totals)) {
    for (const [asset, t] of Object.entries(assets)) {
      const row = document.createElement("tr");
      cell(row, program + " / " + asset);
      for (const f of TOTAL_FIELDS) {
        cell(row, String(t[f]), "totals-" + program + "-" + asset + "-" + f);
      }
      totals.appendChild(row);
    }
  }
  const audit = data.audit;
  const status = fig("audit-status");
  const problems = document.getElementById("problems");
  problems.replaceChildren();
  if (audit === null) {
    status.textContent = "none yet";
    status.className = "value";
    set("audit-detail", "no audit report stored yet");
  } else {
    status.textContent = audit.ok ? "OK" : "PROBLEMS";
    status.className = "value " + (audit.ok ? "ok" : "bad");
    set("audit-detail", "checked " + new Date(audit.checked_at_ms).toISOString() + ": " +
        audit.events + " events, " + audit.accounts_compared + " accounts compared, " +
        audit.problems.length + " problems");
    for (const p of audit.problems) {
      const li = document.createElement("li"); li.textContent = p; problems.appendChild(li);
    }
  }
  renderSeries(data.series);
  last = data;
  set("updated", "updated " + new Date(data.generated_at_ms).toISOString());
}
async function refresh() {
  const key = sessionStorage.getItem(STORE);
  const login = document.getElementById("login");
  if (!key) { login.style.display = "block"; set("updated", "an admin API key is needed"); return; }
  try {
    const answer = await fetch("/v1/dashboard", {headers: {"Authorization": "Bearer " + key}});
    if (answer.status === 401 || answer.status === 403) {
      sessionStorage.removeItem(STORE);
      login.style.display = "block";
      set("updated", "the key was refused (" + answer.status + "): an admin API key is needed");
      return;
    }
    if (!answer.ok) { set("updated", "refresh failed: HTTP " + answer.status); return; }
    login.style.display = "none";
    render(await answer.json());
  } catch (error) {
    set("updated", "refresh failed: " + error);
  }
}
document.getElementById("login").addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(STORE, document.getElementById("key").value.trim());
  refresh();
});
document.getElementById("program").addEventListener("change", () => {
  if (last) renderSeries(last.series);
});
keyFromFragment();
refresh();
setInterval(refresh, __REFRESH_MS__);
</script>
</body>
</html>
""".replace("__REFRESH_MS__", str(REFRESH_MS)).replace("__REFRESH_S__", str(REFRESH_MS // 1000))
