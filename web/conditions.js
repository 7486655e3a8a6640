// conditions.js - the Conditions panel: every condition of conditions/*.lua
// as kotod loaded it (GET /api/agent/conditions), its bands, and where each
// subject stands at the last reading: clear, holding (n of hold readings
// past the threshold) or active with its severity. A condition switched off
// shows why, with the file:line kotod names. Fetched again as readings come
// on the stream, at most every REFRESH_MS.

import { $, el, fill, setText } from './dom.js';
import { getJSON } from './api.js';
import { number, fullTime } from './format.js';

const REFRESH_MS = 2000;
let last = 0;
let timer = 0;
let busy = false;
let visible = false;
let stale = true; // something changed while the panel was out of view

// section: the panel; fetched once it is on screen.
export function initConditions(section) {
  new IntersectionObserver((entries) => {
    visible = entries.some((e) => e.isIntersecting);
    if (visible && stale) refreshConditions();
  }).observe(section);
}

function bands(c) {
  const above = c.above !== undefined;
  const parts = [above ? `above ${number(c.above)}` : `below ${number(c.below)}`];
  const clear = above ? c.clear_below : c.clear_above;
  if (clear !== (above ? c.above : c.below)) parts.push(`clears ${above ? 'below' : 'above'} ${number(clear)}`);
  parts.push(`hold ${c.hold}`);
  // Low begins at the threshold; only bands above it say more.
  const sev = ['low', 'medium', 'high'].filter((b) => c.severity[b] !== null)
    .map((b) => `${b} ${number(c.severity[b])}`);
  if (sev.length > 1) parts.push(`severity ${sev.join(' / ')}`);
  if (c.each) parts.push(`each of ${c.each}${c.match ? ` matching ${c.match}` : ''}`);
  return parts.join(', ');
}

function stateText(s) {
  if (s.state === 'active') return `active, ${s.severity}`;
  if (s.state === 'holding') return `holding ${s.over} of ${s.hold}`;
  return 'clear';
}

function subjectItem(s) {
  return el('li', { className: `cond-subject cond-${s.state}`, 'data-state': s.state, 'data-subject': s.subject },
    el('span', { className: 'cond-name' }, s.subject || 'host'), ' ',
    el('span', {
      className: `cond-state${s.state === 'active' ? ` sev sev-${s.severity}` : ''}`,
      title: s.state === 'active' ? `since ${fullTime(s.since_ms)}: ${s.message}` : s.message,
    }, stateText(s)), ' ',
    el('span', { className: 'num muted' }, `value ${number(s.value)}`));
}

function row(c) {
  const worst = c.subjects.some((s) => s.state === 'active') ? 'active'
    : c.subjects.some((s) => s.state === 'holding') ? 'holding' : 'clear';
  return el('tr', { id: `cond-${c.name}`, 'data-enabled': String(c.enabled), 'data-state': c.enabled ? worst : 'disabled' },
    el('th', { scope: 'row' }, el('span', { className: 'cond-title' }, c.name),
      el('br'), el('span', { className: 'mono small muted cond-source' }, c.source)),
    el('td', { className: 'cond-bands' }, bands(c)),
    el('td', { className: 'cond-status' }, c.enabled
      ? (worst === 'clear' ? 'enabled' : worst)
      : el('span', { className: 'error cond-error' }, 'disabled: ', c.error)),
    el('td', {}, c.subjects.length
      ? el('ul', { className: 'cond-subjects' }, c.subjects.map(subjectItem))
      : el('span', { className: 'muted' }, c.enabled ? 'no verdict yet' : '—')));
}

export async function refreshConditions() {
  if (!visible) {
    stale = true;
    return;
  }
  if (busy) return;
  stale = false;
  busy = true;
  last = Date.now();
  try {
    const r = await getJSON('/api/agent/conditions');
    $('#conditions-none').hidden = r.conditions.length > 0;
    $('#conditions-table').hidden = r.conditions.length === 0;
    fill($('#conditions-rows'), r.conditions.map(row));
    setText($('#conditions-msg'), '');
  } catch (e) {
    setText($('#conditions-msg'), `Could not fetch the conditions: ${e.message}`);
  } finally {
    busy = false;
  }
}

// On each reading from the stream: at most one fetch every REFRESH_MS.
export function conditionsOnSample() {
  if (!visible) {
    stale = true;
    return;
  }
  if (timer) return;
  const wait = Math.max(0, last + REFRESH_MS - Date.now());
  timer = setTimeout(() => { timer = 0; refreshConditions(); }, wait);
}
