// range.js - the trends' time range: Live (the readings in memory, as they
// come) or a span from the store (1 h, 6 h, 24 h, 7 d, 30 d, or custom),
// fetched for every charted series in one go and shown by charts.js; a
// span that ends now is fetched again every minute.

import { $ } from './dom.js';
import { getJSON } from './api.js';
import { showRange, showLive } from './charts.js';

const SPANS = { '1h': 3600e3, '6h': 6 * 3600e3, '24h': 86400e3, '7d': 7 * 86400e3, '30d': 30 * 86400e3 };
// The charts' keys and the store's series names.
const SERIES = {
  cpu: 'cpu', mem: 'memory', swap: 'swap', disk: 'disk', rx: 'net_rx', tx: 'net_tx',
  pcpu: 'cpu_pressure', pmem: 'memory_pressure', pio: 'io_pressure',
};
const POINTS = 500;
const REFRESH_MS = 60e3;

let chosen = 'live';
let custom = null; // { from, to } for "custom"
let timer = 0;
let generation = 0; // answers to an older choice are dropped
let onLive = () => {};

// One series over [from, to]; a series never recorded comes back empty.
async function series(name, from, to) {
  try {
    return await getJSON(`/api/agent/history?metric=${encodeURIComponent(name)}&from=${from}&to=${to}&points=${POINTS}`);
  } catch (e) {
    if (e.status === 404) return null;
    throw e;
  }
}

async function fetchRange(from, to) {
  const mine = ++generation;
  const names = Object.entries(SERIES);
  const [answers, ev] = await Promise.all([
    Promise.all(names.map(([, n]) => series(n, from, to))),
    getJSON(`/api/agent/monitor/events?from=${from}&to=${to}&limit=1000`).catch(() => ({ events: [] })),
  ]);
  if (mine !== generation) return;
  // Every answer has the same buckets (same range, points and tier rule);
  // the first one that exists gives the times.
  const base = answers.find((a) => a) ?? { t: [], tier: 'raw' };
  const empty = () => base.t.map(() => null);
  const r = { from, to, tier: base.tier, t: base.t, avg: {}, min: {}, max: {}, events: ev.events ?? [] };
  names.forEach(([key], i) => {
    const a = answers[i];
    const same = a && a.t.length === base.t.length;
    r.avg[key] = same ? a.avg : empty();
    r.min[key] = same ? a.min : empty();
    r.max[key] = same ? a.max : empty();
  });
  showRange(r);
}

function press(name) {
  for (const b of document.querySelectorAll('#range-picker [data-range]')) {
    b.setAttribute('aria-pressed', String(b.dataset.range === name));
  }
  $('#range-custom').hidden = name !== 'custom';
}

async function load() {
  clearTimeout(timer);
  const err = $('#range-error');
  err.textContent = '';
  if (chosen === 'live') {
    generation++;
    showLive();
    onLive();
    return;
  }
  const span = custom && chosen === 'custom' ? custom : { to: Date.now(), from: Date.now() - SPANS[chosen] };
  try {
    await fetchRange(Math.round(span.from), Math.round(span.to));
  } catch (e) {
    err.textContent = `Could not fetch the history: ${e.message}`;
  }
  if (chosen !== 'custom') timer = setTimeout(load, REFRESH_MS);
}

// The input's local time (YYYY-MM-DDTHH:MM) from milliseconds since the epoch.
function localInput(ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60e3);
  return d.toISOString().slice(0, 16);
}

// live: called when Live is chosen again, to reload the history in memory.
export function initRange({ live }) {
  onLive = live;
  for (const b of document.querySelectorAll('#range-picker [data-range]')) {
    b.addEventListener('click', () => {
      chosen = b.dataset.range;
      press(chosen);
      if (chosen === 'custom') {
        if (!$('#range-from').value) {
          $('#range-from').value = localInput(Date.now() - 86400e3);
          $('#range-to').value = localInput(Date.now());
        }
        $('#range-from').focus();
        return;
      }
      load();
    });
  }
  $('#range-custom').addEventListener('submit', (e) => {
    e.preventDefault();
    const from = new Date($('#range-from').value).getTime();
    const to = new Date($('#range-to').value).getTime();
    if (!(from < to)) {
      $('#range-error').textContent = 'The start must come before the end.';
      return;
    }
    custom = { from, to };
    load();
  });
}

// The store's state from the status: without a store there is only Live.
export function setStore(store) {
  const on = store && store.state !== 'off';
  for (const b of document.querySelectorAll('#range-picker [data-range]')) {
    if (b.dataset.range === 'live') continue;
    b.disabled = !on;
    b.title = on ? '' : 'Past ranges come from the store, which is off (store = false, or see the status)';
  }
  if (!on && chosen !== 'live') {
    chosen = 'live';
    press(chosen);
    load();
  }
}

export const rangeIsLive = () => chosen === 'live';

// Shows [from, to] from the store as a custom range (the what-if view's
// replayed span), with the form filled in to match.
export function showSpan(from, to) {
  chosen = 'custom';
  custom = { from, to };
  $('#range-from').value = localInput(from);
  $('#range-to').value = localInput(to);
  press(chosen);
  load();
}
