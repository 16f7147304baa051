"""The dashboard page: plain HTML and a little vanilla JS, no build step, no external assets.

It needs an API key with the `admin` scope: typed into its form, or passed once in the URL
fragment (`/dashboard#key=rlk_...`, never sent to the server in the URL); either way it is
kept in sessionStorage (this tab only) and the fragment is removed from the address bar.
Every `REFRESH_MS` it polls `GET /v1/dashboard` with `Authorization: Bearer <key>`.
Every figure carries a stable `data-figure` attribute (tests and scrapers rely on them).
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
keyFromFragment();
refresh();
setInterval(refresh, __REFRESH_MS__);
</script>
</body>
</html>
""".replace("__REFRESH_MS__", str(REFRESH_MS)).replace("__REFRESH_S__", str(REFRESH_MS // 1000))
