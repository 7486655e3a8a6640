// whatif.js - the what-if view: a threshold changed (named as GET
// /api/agent/config names it) and/or a condition added, judged over the
// stored history by POST /api/agent/rules/replay. What would have fired is
// drawn on the trend charts beside what did (charts.js), which switch to the
// replayed range, and summed up per type and subject in a table. kotod's
// 400 (a condition that does not load, an unknown setting) is shown in the
// form as it says it.

import { $, el, fill, setText } from './dom.js';
import { postJSON } from './api.js';
import { number, duration, typeLabel, fullTime } from './format.js';
import { setWhatIf } from './charts.js';
import { showSpan } from './range.js';

let running = false;

// The thresholds' numeric settings, from the configuration in force
// (GET /api/agent/config's list, which app.js fetches for the thresholds).
export function setWhatIfSettings(settings) {
  const sel = $('#whatif-setting');
  const chosen = sel.value;
  const opts = settings.filter((s) => s.key.startsWith('thresholds.')
    && (s.type === 'number' || s.type === 'integer') && typeof s.value === 'number');
  fill(sel, el('option', { value: '' }, '(as configured)'),
    opts.map((s) => el('option', { value: s.key, 'data-value': String(s.value), selected: s.key === chosen },
      `${s.key.slice('thresholds.'.length)} (now ${number(s.value)})`)));
}

function body() {
  const b = { from: $('#whatif-range').value };
  const key = $('#whatif-setting').value;
  const value = $('#whatif-value').value;
  if (key) {
    if (value === '' || !Number.isFinite(Number(value))) throw new Error('Give the threshold a number.');
    b.thresholds = { [key]: Number(value) };
  }
  const source = $('#whatif-cond').value;
  if (source.trim()) {
    let name = $('#whatif-cond-name').value.trim() || 'whatif.lua';
    if (!name.endsWith('.lua')) name += '.lua';
    b.conditions = [{ name, source }];
  }
  return b;
}

function show(r) {
  const rows = r.summary.filter((s) => s.would_fire || s.fired);
  $('#whatif-table').hidden = false;
  fill($('#whatif-rows'), rows.length ? rows.map((s) => el('tr', {
    'data-type': s.type, 'data-subject': s.subject,
    className: s.would_fire !== s.fired ? 'whatif-differs' : '',
  },
  el('th', { scope: 'row' }, typeLabel(s.type)),
  el('td', {}, s.subject || 'host'),
  el('td', { className: 'num whatif-would' }, String(s.would_fire)),
  el('td', { className: 'num whatif-fired' }, String(s.fired)),
  el('td', { className: 'num' }, duration(s.active_ms / 1000))))
    : el('tr', {}, el('td', { colSpan: 5, className: 'muted' }, 'Nothing would have fired, and nothing did.')));
  setText($('#whatif-status'), `${number(r.readings, 0)} readings (${r.tier === 'raw' ? 'each reading' : `${r.tier} averages`}) from ${fullTime(r.from)} to ${fullTime(r.to)}: `
    + `${r.would_fire.length} would fire, ${r.fired.length} fired.`);
  setWhatIf(r);
  showSpan(r.from, r.to);
  $('#whatif-clear').hidden = false;
}

async function run(e) {
  e.preventDefault();
  if (running) return;
  setText($('#whatif-error'), '');
  let b;
  try {
    b = body();
  } catch (err) {
    setText($('#whatif-error'), err.message);
    return;
  }
  running = true;
  $('#whatif-run').disabled = true;
  setText($('#whatif-status'), 'Judging the history again…');
  try {
    show(await postJSON('/api/agent/rules/replay', b));
  } catch (err) {
    setText($('#whatif-status'), '');
    setText($('#whatif-error'), err.message);
  } finally {
    running = false;
    $('#whatif-run').disabled = false;
  }
}

export function initWhatIf() {
  $('#whatif-form').addEventListener('submit', run);
  // Choosing a setting starts from its value in force.
  $('#whatif-setting').addEventListener('change', () => {
    const o = $('#whatif-setting').selectedOptions[0];
    $('#whatif-value').value = o?.dataset.value ?? '';
  });
  $('#whatif-clear').addEventListener('click', () => {
    setWhatIf(null);
    $('#whatif-clear').hidden = true;
    $('#whatif-table').hidden = true;
    setText($('#whatif-status'), '');
  });
}
