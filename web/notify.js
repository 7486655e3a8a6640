// notify.js - the notification channels (status.notify, then GET
// /api/agent/notify): each one's queue, what it delivered and its last
// error, and a button that sends a test message through it (with the
// token); the silences in force with a form for a new one and a button that
// ends one, and the maintenance windows. kotod's stream does not carry
// deliveries, so while channels or silences exist their state is asked for
// every few seconds; with neither nothing is asked.

import { $, el, fill, setText } from './dom.js';
import { getJSON, postJSON, deleteJSON, ApiError } from './api.js';
import { count, time, DASH, TYPE_LABELS, typeLabel } from './format.js';

const EVERY_MS = 5000;
let timer = 0;

function row(c) {
  const test = el('button', { type: 'button', className: 'btn quiet', 'data-channel': c.name }, 'Send test');
  test.addEventListener('click', () => sendTest(c.name));
  const state = c.failed > 0 || (c.last_error && (!c.last_success_ms || c.last_error_ms > c.last_success_ms))
    ? 'notify-bad' : 'notify-ok';
  return el('tr', { 'data-channel': c.name, className: state },
    el('th', { scope: 'row' }, c.name),
    el('td', {}, c.kind),
    el('td', { className: 'num notify-queued' }, count(c.queued)),
    el('td', { className: 'num notify-sent' }, count(c.sent)),
    el('td', { className: 'num notify-failed' }, count(c.failed)),
    el('td', { className: 'notify-success' }, c.last_success_ms ? time(c.last_success_ms) : DASH),
    el('td', { className: 'notify-error' }, c.last_error ? `${c.last_error} (${time(c.last_error_ms)})` : DASH),
    el('td', {}, test));
}

function matchText(m) {
  const parts = [m.type && typeLabel(m.type), m.severity, m.subject].filter(Boolean);
  return parts.length ? parts.join(' · ') : 'every event';
}

function silenceRow(s) {
  const end = el('button', { type: 'button', className: 'btn quiet', 'data-silence': s.id }, 'End');
  end.addEventListener('click', () => endSilence(s.id));
  return el('tr', { 'data-silence': s.id, className: `silence-${s.state}` },
    el('td', { className: 'num' }, `${s.id}`),
    el('td', {}, matchText(s.matchers ?? {}), s.state === 'pending' ? ` (from ${time(s.starts_at)})` : ''),
    el('td', {}, time(s.ends_at)),
    el('td', {}, s.comment),
    el('td', {}, s.created_by),
    el('td', {}, end));
}

export function renderNotify(notify) {
  const channels = notify?.channels ?? [];
  const silences = notify?.silences ?? [];
  const windows = notify?.maintenance ?? [];
  $('#notify-table').hidden = channels.length === 0;
  $('#notify-none').hidden = channels.length > 0;
  fill($('#notify-rows'), channels.map(row));
  $('#silence-table').hidden = silences.length === 0;
  $('#silence-none').hidden = silences.length > 0;
  fill($('#silence-rows'), silences.map(silenceRow));
  setText($('#maint-windows'), windows.length
    ? `Maintenance windows: ${windows.map((w) => `${w.name} (${w.open ? 'open now' : 'closed'})`).join(', ')}.`
    : '');
  clearTimeout(timer);
  if (channels.length || silences.length) timer = setTimeout(refreshNotify, EVERY_MS);
}

export function initNotify() {
  const type = $('#silence-type');
  type.append(...Object.entries(TYPE_LABELS).map(([v, label]) => el('option', { value: v }, label)));
  $('#silence-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    addSilence();
  });
}

function tokenMessage(err, what) {
  return err instanceof ApiError && err.status === 401
    ? `Enter the API token (the Token button) to ${what}.`
    : `Not done: ${err.message}`;
}

async function addSilence() {
  const matchers = {};
  for (const [k, sel] of [['type', '#silence-type'], ['severity', '#silence-severity'], ['subject', '#silence-subject']]) {
    const v = $(sel).value.trim();
    if (v) matchers[k] = v;
  }
  const msg = $('#notify-msg');
  try {
    const s = await postJSON('/api/agent/silences', {
      matchers, duration_s: Number($('#silence-duration').value), comment: $('#silence-comment').value.trim(),
    });
    setText(msg, `Silence ${s.id} made: ${matchText(s.matchers)} until ${time(s.ends_at)}.`);
    $('#silence-comment').value = '';
    refreshNotify();
  } catch (err) {
    setText(msg, tokenMessage(err, 'make a silence'));
  }
}

async function endSilence(id) {
  const msg = $('#notify-msg');
  try {
    await deleteJSON(`/api/agent/silences/${id}`);
    setText(msg, `Silence ${id} ended.`);
    refreshNotify();
  } catch (err) {
    setText(msg, tokenMessage(err, 'end a silence'));
  }
}

export async function refreshNotify() {
  try {
    renderNotify(await getJSON('/api/agent/notify'));
  } catch {
    timer = setTimeout(refreshNotify, EVERY_MS); // kotod away: the stream says so; try again
  }
}

async function sendTest(name) {
  const msg = $('#notify-msg');
  try {
    const r = await postJSON('/api/agent/notify/test', { channel: name });
    setText(msg, `Test message ${r.id} queued for ${name}.`);
    setTimeout(refreshNotify, 1000);
  } catch (err) {
    setText(msg, err instanceof ApiError && err.status === 401
      ? 'Enter the API token (the Token button) to send a test message.'
      : `The test message was not queued: ${err.message}`);
  }
}
