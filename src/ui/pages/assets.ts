/**
 * The fleet page's two static files, served from the server's own origin (the CSP allows no
 * inline style or script): the stylesheet, and the events page's script. No build step: the
 * script is plain browser JavaScript, and every page works without it but the live stream.
 */

export const stylesheet = `
:root { --fg: #1d2330; --muted: #5d6778; --line: #dde2ea; --bg: #f6f8fb; --card: #fff; --accent: #2457c5;
  --ok: #1c7c45; --ok-bg: #e3f4ea; --warn: #8a5a00; --warn-bg: #fdf1d8; --bad: #b3261e; --bad-bg: #fbe4e2; --new: #4a4f9a; --new-bg: #e8e9fb; --gone: #666; --gone-bg: #ececec; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg); }
header.top { display: flex; align-items: center; gap: 24px; padding: 10px 24px; background: #1d2330; color: #fff; }
header.top a { color: #c9d4ea; text-decoration: none; }
header.top a.brand { color: #fff; font-weight: 700; font-size: 16px; letter-spacing: .3px; }
header.top nav { display: flex; gap: 16px; flex: 1; }
header.top nav a[aria-current="page"] { color: #fff; border-bottom: 2px solid #7aa2ff; }
header.top form { margin: 0; }
header.top button { background: transparent; color: #c9d4ea; border: 1px solid #4b5468; border-radius: 4px; padding: 3px 10px; cursor: pointer; }
main { padding: 18px 24px 40px; max-width: 1500px; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 24px 0 8px; }
.muted, .sub { color: var(--muted); }
.sub { font-size: 12.5px; }
a { color: var(--accent); }
section.card { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 12px 16px; margin: 12px 0; }
table { border-collapse: collapse; width: 100%; background: var(--card); border: 1px solid var(--line); }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #eef1f6; font-weight: 600; white-space: nowrap; font-size: 13px; }
th a { color: inherit; text-decoration: none; }
th a:hover { text-decoration: underline; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:hover td { background: #fafbfd; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600; white-space: nowrap; }
.s-HEALTHY, .s-UP { color: var(--ok); background: var(--ok-bg); }
.s-DEGRADED, .s-AGENT_DOWN { color: var(--warn); background: var(--warn-bg); }
.s-UNAVAILABLE, .s-NODE_DOWN, .s-bad { color: var(--bad); background: var(--bad-bg); }
.s-NEW { color: var(--new); background: var(--new-bg); }
.s-RETIRED, .s-gone { color: var(--gone); background: var(--gone-bg); }
.s-paused { color: var(--new); background: var(--new-bg); }
.s-maintenance { color: var(--warn); background: var(--warn-bg); }
.tag.maintenance { color: var(--warn); border-color: #f0d8a0; background: var(--warn-bg); }
.tag { display: inline-block; margin-left: 6px; padding: 0 6px; border: 1px solid var(--line); border-radius: 4px; font-size: 11.5px; color: var(--muted); }
.bad { color: var(--bad); font-weight: 600; }
.warn { color: var(--warn); }
form.filters { display: flex; flex-wrap: wrap; gap: 10px; align-items: end; margin: 12px 0; }
form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 2px; }
input, select, button { font: inherit; }
input[type="text"], input[type="search"], input[type="password"], select { padding: 4px 8px; border: 1px solid #c3cad6; border-radius: 4px; background: #fff; min-width: 140px; }
button, .button { padding: 5px 14px; border: 1px solid var(--accent); border-radius: 4px; background: var(--accent); color: #fff; cursor: pointer; text-decoration: none; display: inline-block; }
button.secondary, .button.secondary { background: #fff; color: var(--accent); }
.chips { display: flex; gap: 8px; flex-wrap: wrap; margin: 8px 0; }
.chips a { text-decoration: none; }
.notice { padding: 8px 12px; border-radius: 6px; margin: 10px 0; border: 1px solid; }
.notice.bad { background: var(--bad-bg); border-color: #efb7b2; color: var(--bad); font-weight: normal; }
.notice.warn { background: var(--warn-bg); border-color: #f0d8a0; color: var(--warn); }
.notice.ok { background: var(--ok-bg); border-color: #b5dfc5; color: var(--ok); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 3px 16px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 12px; }
.grid section.card { margin: 0; }
.pager { display: flex; gap: 12px; align-items: center; margin: 8px 0; }
code, .mono { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 12.5px; }
.reason { color: var(--muted); font-size: 12.5px; word-break: break-word; }
.stream-state { font-size: 12.5px; }
.stream-state.live::before { content: "\\25CF  "; color: var(--ok); }
.stream-state.down::before { content: "\\25CF  "; color: var(--bad); }
tr.fresh td { animation: fresh 2s ease-out; }
@keyframes fresh { from { background: #fff6c8; } to { background: transparent; } }
.actions { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
.login { max-width: 420px; margin: 60px auto; }
`;

/**
 * The events page's live stream: an EventSource on the stream URL the table names, each event
 * added as a row (text only: never parsed as HTML), the newest first, at most the page's limit.
 */
export const eventsScript = `
(function () {
  'use strict';
  var table = document.getElementById('events');
  var state = document.getElementById('stream-state');
  if (!table || !state || typeof EventSource === 'undefined') return;
  var body = table.tBodies[0];
  var keep = Number(table.getAttribute('data-keep')) || 500;
  var seen = new Set();
  Array.prototype.forEach.call(body.rows, function (row) { seen.add(row.getAttribute('data-id')); });
  var empty = document.getElementById('no-events');
  function cell(row, text, className) {
    var td = row.insertCell(-1);
    td.textContent = text;
    if (className) td.className = className;
    return td;
  }
  function tag(text, kind, title) {
    var span = document.createElement('span');
    span.className = 'tag ' + kind;
    span.textContent = text;
    span.title = title;
    return span;
  }
  function show(text, live) {
    state.textContent = text;
    state.className = 'stream-state ' + (live ? 'live' : 'down');
    state.setAttribute('data-state', live ? 'live' : 'down');
  }
  var source = new EventSource(table.getAttribute('data-stream'));
  source.addEventListener('open', function () { show('live: new events appear at the top', true); });
  source.addEventListener('error', function () { show('disconnected: reconnecting...', false); });
  source.addEventListener('gap', function (message) { show('reconnected; some events were missed (' + message.data + ')', true); });
  source.addEventListener('fleet-event', function (message) {
    var event;
    try { event = JSON.parse(message.data); } catch (e) { return; }
    if (seen.has(event.id)) return;
    seen.add(event.id);
    if (empty) { empty.remove(); empty = null; }
    var row = body.insertRow(0);
    row.className = 'fresh';
    row.setAttribute('data-id', event.id);
    row.setAttribute('data-event', event.event);
    row.setAttribute('data-cluster', event.cluster_id || '');
    row.setAttribute('data-discovery', event.discovery || '');
    row.setAttribute('data-maintenance', event.maintenance ? 'true' : 'false');
    cell(row, event.timestamp, 'mono');
    var clusterCell = row.insertCell(-1);
    if (event.cluster_id) {
      var link = document.createElement('a');
      link.href = '/clusters/' + encodeURIComponent(event.cluster_id);
      link.textContent = event.cluster_id;
      clusterCell.appendChild(link);
    } else {
      // An event about a discovery: no cluster page to link to.
      clusterCell.appendChild(tag('discovery', 'discovery', 'an event about a discovery'));
      clusterCell.appendChild(document.createTextNode(' ' + (event.discovery || '-')));
    }
    var code = document.createElement('span');
    code.className = 'badge s-' + (/_DOWN$|_LOST$|_CONFLICT$/.test(event.event) ? 'bad' : /_RETIRED$/.test(event.event) ? 'gone' : 'UP');
    code.textContent = event.event;
    var codeCell = row.insertCell(-1);
    codeCell.appendChild(code);
    if (event.maintenance) {
      codeCell.appendChild(document.createTextNode(' '));
      codeCell.appendChild(tag('maintenance', 'maintenance', 'in maintenance until ' + event.maintenance.until + ': ' + event.maintenance.reason));
    }
    cell(row, event.node, 'mono');
    cell(row, event.detail, 'reason');
    while (body.rows.length > keep) body.deleteRow(body.rows.length - 1);
  });
})();
`;
