// notify.js - the notification channels (status.notify, then GET
// /api/agent/notify): each one's queue, what it delivered and its last
// error, and a button that sends a test message through it (with the
// token). kotod's stream does not carry deliveries, so while channels exist
// their state is asked for every few seconds; with none the section stays
// hidden and nothing is asked.

import { $, el, fill, setText } from './dom.js';
import { getJSON, postJSON, ApiError } from './api.js';
import { count, time, DASH } from './format.js';

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

export function renderNotify(notify) {
  const section = $('#notify');
  const channels = notify?.channels ?? [];
  section.hidden = channels.length === 0;
  clearTimeout(timer);
  if (!channels.length) return;
  fill($('#notify-rows'), channels.map(row));
  timer = setTimeout(refreshNotify, EVERY_MS);
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
