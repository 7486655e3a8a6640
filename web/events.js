// events.js - the event timeline: every detector event from the stream,
// newest first, with severity colours; a started event and its resolution
// linked both ways; the evidence of one event (value, threshold, top
// processes) in the panel beside the list; filters by type and severity;
// and the health summary kotod keeps (counts by type and by severity).

import { $, $$, el, fill, setText, bar } from './dom.js';
import { DASH, known, pct, bytes, number, time, fullTime, duration, count, typeLabel, keyLabel, TYPE_LABELS } from './format.js';

const MAX_SHOWN = 300; // the log holds more; a person reads the newest

const byId = new Map();
let selectedId = null;
let frame = 0;
let onFixScript = () => {};
let onProposeFix = null;
let onChange = () => {};

export function initEvents({ fixScript, proposeFix, changed }) {
  onFixScript = fixScript;
  onProposeFix = proposeFix;
  onChange = changed;
  const type = $('#filter-type');
  type.append(...Object.entries(TYPE_LABELS).map(([v, label]) => el('option', { value: v }, label)));
  type.addEventListener('change', render);
  $('#filter-severity').addEventListener('change', render);
  $('#filter-reset').addEventListener('click', () => {
    type.value = '';
    $('#filter-severity').value = '';
    render();
  });
}

// The stream replays the whole log on every (re)connection: start afresh.
export function resetEvents() {
  byId.clear();
  schedule();
}

export function addEvent(e) {
  byId.set(e.id, e);
  schedule();
}

export function allEvents() {
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

function schedule() {
  if (!frame) {
    frame = requestAnimationFrame(() => {
      frame = 0;
      render();
      onChange(allEvents());
    });
  }
}

// started id -> its resolved event
function resolutions() {
  const m = new Map();
  for (const e of byId.values()) if (e.state === 'resolved' && e.started_id) m.set(e.started_id, e);
  return m;
}

// A resolution and an escalation point back at their start; a start at its resolution.
function partner(e, resolvedBy) {
  return e.state === 'started' ? resolvedBy.get(e.id) : byId.get(e.started_id);
}

function sevChip(sev) {
  return el('span', { className: `sev sev-${sev}` }, sev);
}

function pairText(e, other) {
  if (e.state === 'flapping_start') return 'began flapping: its starts and ends are not notified';
  if (e.state === 'flapping_end') return 'stopped flapping';
  const text = pairOf(e, other);
  return e.flapping ? `${text ?? ''}${text ? ' · ' : ''}while flapping, not notified` : text;
}

function pairOf(e, other) {
  if (e.state === 'resolved') {
    const down = e.while_down ? ' (while kotod was down)' : '';
    return other ? `ends #${other.id}, after ${duration((e.time - other.time) / 1000)}${down}` : `ends #${e.started_id}${down}`;
  }
  if (e.state === 'escalated') {
    return other ? `worsens #${other.id}, ${duration((e.time - other.time) / 1000)} in` : `worsens #${e.started_id}`;
  }
  return other ? `resolved after ${duration((other.time - e.time) / 1000)} (#${other.id})` : null;
}

// A new event rebuilds the list and the panel; whatever had the keyboard
// focus there gets it back, so arriving events do not throw a keyboard user
// to the top of the page.
function focusKey() {
  const a = document.activeElement;
  if (!a || !a.closest('#timeline, #event-detail')) return null;
  return { id: a.id, data: a.dataset.id ?? a.dataset.pair, cls: a.className };
}

function restoreFocus(key) {
  if (!key) return;
  const target = key.id ? document.getElementById(key.id)
    : $$('#timeline button, #event-detail button').find((b) => b.className === key.cls && (b.dataset.id ?? b.dataset.pair) === key.data);
  target?.focus({ preventScroll: true });
}

function render() {
  const focused = focusKey();
  const type = $('#filter-type').value;
  const sev = $('#filter-severity').value;
  const all = allEvents();
  const shown = all.filter((e) => (!type || e.type === type) && (!sev || e.severity === sev));
  const resolvedBy = resolutions();
  const items = shown.slice(-MAX_SHOWN).reverse().map((e) => {
    const other = partner(e, resolvedBy);
    const ongoing = e.state === 'started' && !other;
    const main = el('button', {
      type: 'button', className: 'ev', 'data-id': e.id,
      'aria-controls': 'event-detail', 'aria-current': e.id === selectedId ? 'true' : null,
    },
    el('span', { className: 'ev-head' },
      sevChip(e.severity),
      el('span', { className: 'ev-type' }, typeLabel(e.type)),
      el('span', { className: `ev-state state-${e.state}` }, ongoing ? 'ongoing' : e.state),
      el('time', { className: 'ev-time', dateTime: new Date(e.time).toISOString() }, time(e.time))),
    el('span', { className: 'ev-msg' }, e.message));
    main.addEventListener('click', () => select(e.id));
    const text = pairText(e, other);
    const link = other
      ? el('button', { type: 'button', className: 'pair-link', 'data-pair': other.id }, `${e.state === 'started' ? '↓' : '↑'} ${text}`)
      : text && el('span', { className: 'pair-link muted' }, text);
    link?.addEventListener?.('click', () => select(other.id, { focus: true }));
    return el('li', { className: `ev-item sev-${e.severity} ${e.state}`, 'data-id': e.id }, main, link);
  });
  fill($('#timeline'), items.length ? items : el('li', { className: 'empty' },
    all.length ? 'No events match these filters.' : 'No events yet: kotod has seen nothing past its thresholds.'));
  setText($('#filter-count'), type || sev ? `Showing ${count(shown.length)} of ${count(all.length)}` : `${count(all.length)} events`);
  $('#filter-reset').hidden = !(type || sev);
  if (selectedId !== null && !byId.has(selectedId)) selectedId = null;
  renderDetail(resolvedBy);
  restoreFocus(focused);
}

export function select(id, { focus = false } = {}) {
  selectedId = id;
  render();
  const btn = $(`#timeline .ev[data-id="${id}"]`);
  if (focus && btn) btn.focus();
  // On a narrow screen the panel sits below the list: bring it into view.
  const panel = $('#event-detail');
  const r = panel.getBoundingClientRect();
  if (r.top > innerHeight || r.bottom < 0) panel.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
}

function renderDetail(resolvedBy) {
  const panel = $('#event-detail');
  const e = selectedId !== null ? byId.get(selectedId) : null;
  if (!e) {
    fill(panel, el('p', { className: 'muted detail-hint' }, 'Choose an event to see its evidence: the value, the threshold and the busiest processes at that moment.'));
    return;
  }
  const other = partner(e, resolvedBy);
  // What the value and threshold are: a share (most events), hours
  // (disk_fill's forecast against its horizon), a count (process checks),
  // or nothing to show (a service's state, a remediation's outcome).
  const measure = e.type in MEASURES ? MEASURES[e.type] : 'pct';
  const show = (v, digits) => (measure === 'hours' ? (known(v) ? `${number(v, 1)} h` : DASH)
    : measure === 'count' ? (known(v) ? number(v, 0) : DASH) : pct(v, digits));
  const over = measure === 'pct' && known(e.value) && known(e.threshold) ? e.value - e.threshold : null;
  const figures = Object.entries(e.evidence ?? {});
  const procs = e.top_processes ?? [];
  const pairBtn = other && el('button', { type: 'button', className: 'linkish' },
    e.state === 'resolved' ? `Show the start (#${other.id})` : `Show the resolution (#${other.id})`);
  pairBtn?.addEventListener('click', () => select(other.id, { focus: true }));
  const fix = el('button', { type: 'button', className: 'btn', id: 'detail-fix' }, 'Fix script…');
  fix.addEventListener('click', () => onFixScript(e));
  const propose = e.state !== 'resolved' && onProposeFix
    ? el('button', { type: 'button', className: 'btn', id: 'detail-propose' }, 'Propose fix…') : null;
  propose?.addEventListener('click', () => onProposeFix(e));
  fill(panel,
    el('h3', { id: 'detail-title' }, sevChip(e.severity), ` #${e.id} ${typeLabel(e.type)} `, el('span', { className: `ev-state state-${e.state}` }, e.state)),
    el('p', { className: 'detail-msg' }, e.message),
    el('dl', { className: 'kv detail-kv' },
      measure && el('div', {}, el('dt', {}, 'Value'), el('dd', { className: 'num', id: 'detail-value' }, show(e.value))),
      measure && el('div', {}, el('dt', {}, 'Threshold'), el('dd', { className: 'num', id: 'detail-threshold' }, show(e.threshold, 2))),
      ...figures.map(([k, v]) => el('div', { className: 'detail-figure' }, el('dt', {}, keyLabel(k)), el('dd', { className: 'num' }, known(v) ? number(v) : DASH))),
      over !== null && el('div', {}, el('dt', {}, over >= 0 ? 'Past it by' : 'Below it by'), el('dd', { className: 'num' }, `${number(Math.abs(over), 1)} points`)),
      el('div', {}, el('dt', {}, 'When'), el('dd', {}, el('time', { dateTime: new Date(e.time).toISOString() }, fullTime(e.time)))),
      e.subject && el('div', {}, el('dt', {}, 'Subject'), el('dd', { className: 'mono' }, e.subject))),
    measure === 'pct' && known(e.value) && bar(e.value, { warn: e.threshold, label: `value ${pct(e.value)} against threshold ${pct(e.threshold, 2)}` }),
    el('h4', {}, e.state === 'resolved' ? 'Busiest processes when it ended' : 'Busiest processes when it started'),
    procs.length
      ? el('table', { className: 'data', id: 'detail-procs' },
        el('thead', {}, el('tr', {}, el('th', { scope: 'col', className: 'num' }, 'PID'), el('th', { scope: 'col' }, 'Name'),
          el('th', { scope: 'col', className: 'num' }, 'CPU'), el('th', { scope: 'col', className: 'num' }, 'Memory'))),
        el('tbody', {}, procs.map((p) => el('tr', {},
          el('td', { className: 'num mono' }, String(p.pid)), el('th', { scope: 'row' }, p.name),
          el('td', { className: 'num' }, pct(p.cpu_pct)), el('td', { className: 'num' }, bytes(p.rss_bytes))))))
      : el('p', { className: 'muted' }, 'No processes were recorded.'),
    el('p', { className: 'detail-pair' }, pairText(e, other) ?? (e.state === 'started' ? 'Still going: no resolution yet.' : DASH), ' ', pairBtn),
    el('div', { className: 'actions' }, fix, propose));
}

const MEASURES = { disk_fill: 'hours', process_down: 'count', process_count: 'count', service_failed: null,
  remediation_failed: null, remediation_gave_up: null, koto_over_budget: '% of budget' };

// The health summary from GET /api/agent/monitor/status.
export function renderSummary(health) {
  if (!health) return;
  const status = $('#health-status');
  status.className = `status status-${health.status}`;
  setText(status, health.status);
  setText($('#sum-logged'), count(health.events_logged));
  // A clear empties the log but not the machine: conditions still holding stay
  // listed, so the counts say since when they count.
  setText($('#sum-cleared'), known(health.log_cleared) ? ` since it was cleared at ${time(health.log_cleared)}` : '');
  setText($('#sum-active'), count(health.active?.length ?? 0));
  for (const s of ['low', 'medium', 'high']) setText($(`#sum-sev-${s}`), count(health.by_severity?.[s] ?? 0));
  const types = Object.entries(health.by_type ?? {});
  const max = Math.max(1, ...types.map(([, n]) => n));
  fill($('#sum-types'), types.map(([t, n]) => el('li', { className: n ? '' : 'zero' },
    el('span', { className: 'sum-type' }, typeLabel(t)),
    bar((100 * n) / max, { label: `${typeLabel(t)}: ${n}` }),
    el('span', { className: 'num' }, count(n)))));
  const list = conditionList(health.active ?? []);
  list.id = 'sum-conditions';
  $('#sum-conditions').replaceWith(list);
}

// Where the event log lives: on disk across restarts, or in memory only,
// and why (status.store).
export function renderStore(store) {
  const p = $('#sum-store');
  p.hidden = !store;
  if (!store) return;
  p.className = `store store-${store.state}${store.state === 'ok' ? ' muted' : ''}`;
  setText(p, store.state === 'ok'
    ? `Kept on disk: ${count(store.events)} events, ${bytes(store.size_bytes)}.`
    : store.state === 'degraded'
      ? `Store degraded, ${count(store.pending)} events waiting for the disk: ${store.message}`
      : `Store off, events in memory only: ${store.message}`);
}

// kotod's own memory and CPU against its budget (health.self).
export function renderSelf(self) {
  const p = $('#sum-self');
  p.hidden = !self || !known(self.rss_bytes);
  if (p.hidden) return;
  const budget = (v, f) => (v ? ` of ${f(v)}` : '');
  const use = `${bytes(self.rss_bytes)}${budget(self.budget_rss_bytes, bytes)}, `
    + `${known(self.cpu_pct) ? pct(self.cpu_pct, 2) : DASH} of a core${self.budget_cpu_pct ? ` (budget ${pct(self.budget_cpu_pct, 2)})` : ''}`;
  p.className = `self ${self.over_budget ? 'self-over' : 'muted'}`;
  setText(p, self.over_budget
    ? `kotod is over its budget: ${use}. Until it is back under, it stores fewer series and scans the processes every second reading.`
    : `kotod itself: ${use}.`);
}

// Active conditions as sentences: "MEDIUM CPU high: 92% (threshold 85%) since 6:25 PM".
export function conditionList(active) {
  return el('ul', { className: 'conditions' }, active.length
    ? active.map((a) => el('li', {}, sevChip(a.severity), ' ', typeLabel(a.type),
      a.subject ? el('span', { className: 'mono' }, ` ${a.subject}`) : '',
      `: ${pct(a.value)} (threshold ${pct(a.threshold, 2)}) since ${time(a.since)}`))
    : el('li', { className: 'muted' }, 'Nothing past a threshold now.'));
}
