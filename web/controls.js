// controls.js - what changes kotod's state (start, stop, clear: these need
// the bearer token) and the analysis, whose steps are shown as they stream
// in. The token is asked for once, in a dialog, and kept in sessionStorage
// for the rest of the session (api.js); without it the buttons stay
// disabled and say why.

import { $, el, fill, setText } from './dom.js';
import { token, postJSON, postEventStream, logout, ApiError } from './api.js';
import { byKey, keyLabel, count } from './format.js';
import { conditionList } from './events.js';

const ASK_TOKEN = 'Enter the API token to start or stop monitoring and to clear events.';

let running = null;
let hooks = { changed: () => {}, cleared: () => {} };

export function initControls(h) {
  hooks = h;
  $('#btn-token').addEventListener('click', askToken);
  $('#btn-forget').addEventListener('click', () => {
    token.set('');
    message('The token is forgotten; the controls are locked again.');
  });
  $('#token-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const value = $('#token-input').value.trim();
    if (!value) {
      setText($('#token-error'), 'Paste the token first.');
      return;
    }
    token.set(value);
    $('#token-input').value = '';
    $('#token-dialog').close();
    message('Token kept for this session.');
  });
  $('#token-cancel').addEventListener('click', () => $('#token-dialog').close());
  $('#btn-logout').addEventListener('click', () => logout().catch(() => {}));
  $('#btn-start').addEventListener('click', () => change('start'));
  $('#btn-stop').addEventListener('click', () => change('stop'));
  $('#btn-clear').addEventListener('click', clearLog);
  $('#btn-analyze').addEventListener('click', analyze);
  token.events.addEventListener('change', update);
  update();
}

function askToken() {
  setText($('#token-error'), '');
  if (!$('#token-dialog').open) $('#token-dialog').showModal();
  $('#token-input').focus();
}

export function setRunning(r) {
  running = r;
  update();
}

function message(text, isError = false) {
  const m = $('#control-msg');
  setText(m, text);
  m.classList.toggle('error', isError);
}

// Disabled buttons cannot take focus, so the reason is also written out
// beside them (#control-reason) and tied to each with aria-describedby.
function update() {
  const has = token.usable();
  const limit = token.sessionLimit();
  const need = limit || ASK_TOKEN;
  const why = {
    start: !has ? need : running === true ? 'Monitoring is already running.' : '',
    stop: !has ? need : running === false ? 'Monitoring is already stopped.' : '',
    clear: !has ? need : '',
  };
  for (const [name, reason] of Object.entries(why)) {
    const b = $(`#btn-${name}`);
    b.disabled = Boolean(reason);
    b.title = reason;
  }
  setText($('#control-reason'), has ? '' : need);
  $('#control-reason').hidden = has;
  $('#btn-token').hidden = has || Boolean(limit);
  $('#btn-forget').hidden = !token.get();
  $('#btn-logout').hidden = !token.csrf() || Boolean(token.get());
  const mon = $('#mon-state');
  setText(mon, running === null ? 'monitoring …' : running ? 'monitoring' : 'stopped');
  mon.className = `mon ${running === false ? 'mon-stopped' : 'mon-running'}`;
}

function refusal(err) {
  if (err instanceof ApiError && err.status === 401) {
    return `Refused: ${err.message}. The token is forgotten; enter it again.`;
  }
  if (err instanceof ApiError && err.status === 403) return `Refused: ${err.message}.`;
  return `Failed: ${err.message}.`;
}

async function change(action) {
  const b = $(`#btn-${action}`);
  b.disabled = true;
  try {
    const r = await postJSON(`/api/agent/monitor/${action}`);
    running = r.running;
    message(r.status === 'started' ? 'Monitoring started.' : r.status === 'stopped' ? 'Monitoring stopped.'
      : r.status === 'already_running' ? 'Monitoring was already running.' : 'Monitoring was already stopped.');
    hooks.changed();
  } catch (err) {
    message(refusal(err), true);
  }
  update();
}

async function clearLog() {
  try {
    const r = await postJSON('/api/agent/monitor/clear');
    message(`Cleared ${count(r.cleared)} events.`);
    hooks.cleared();
  } catch (err) {
    message(refusal(err), true);
  }
  update();
}

// ---- the analysis --------------------------------------------------------------

const STEP_TITLES = { cpu: 'CPU', memory: 'Memory', disk: 'Disk', processes: 'Processes', conditions: 'Conditions' };

function valueNode(key, v) {
  if (Array.isArray(v)) {
    if (!v.length) return el('span', { className: 'muted' }, 'none');
    if (key === 'active') return conditionList(v);
    if (typeof v[0] !== 'object') return v.map((x) => byKey(key, x)).join(', ');
    const cols = [...new Set(v.flatMap((o) => Object.keys(o)))];
    return el('table', { className: 'data compact' },
      el('thead', {}, el('tr', {}, cols.map((c) => el('th', { scope: 'col' }, keyLabel(c))))),
      el('tbody', {}, v.map((o) => el('tr', {}, cols.map((c) => el('td', {}, byKey(c, o[c])))))));
  }
  if (v && typeof v === 'object') return el('dl', { className: 'kv' }, entries(v));
  return byKey(key, v);
}

function entries(values) {
  return Object.entries(values).map(([k, v]) => el('div', { className: Array.isArray(v) ? 'wide' : '' },
    el('dt', {}, keyLabel(k)), el('dd', {}, valueNode(k, v))));
}

function renderStep(step, n) {
  return el('li', { className: 'step', 'data-step': step.step },
    el('h3', {}, el('span', { className: 'step-n' }, String(n)), STEP_TITLES[step.step] ?? keyLabel(step.step),
      step.kind === 'raw' ? el('span', { className: 'tag', title: step.label ?? '' }, 'measured') : null),
    el('dl', { className: 'kv' }, entries(step.values ?? {})));
}

// Rules write commands between backticks: `kill 4242` becomes <code>.
function withCode(text) {
  return text.split('`').map((part, i) => (i % 2 ? el('code', {}, part) : part));
}

// A finding of the analysis rules: what is wrong, how bad, the numbers
// behind it, what to do, and which rule said so. A rule that failed is a
// finding too (category rule_error), shown as such rather than hidden.
function renderFinding(f) {
  const broken = f.category === 'rule_error';
  const evidence = f.evidence && typeof f.evidence === 'object' && !Array.isArray(f.evidence) ? f.evidence : {};
  return el('li', { className: `finding sev-${f.severity}${broken ? ' rule-error' : ''}`, 'data-rule': f.rule ?? '' },
    el('h4', {}, el('span', { className: `sev sev-${f.severity}` }, f.severity), ' ',
      broken ? 'A rule failed' : f.bottleneck, f.category && !broken ? el('span', { className: 'tag' }, f.category) : null),
    broken ? el('p', { className: 'mono' }, f.bottleneck) : null,
    Object.keys(evidence).length ? el('dl', { className: 'kv' }, entries(evidence)) : null,
    f.suggestions?.length ? el('ul', { className: 'suggestions' }, f.suggestions.map((x) => el('li', {}, withCode(String(x))))) : null,
    el('p', { className: 'source muted' }, [f.rule, f.source].filter(Boolean).join(' · ')));
}

let analysing = null;

async function analyze() {
  analysing?.abort();
  analysing = new AbortController();
  const steps = $('#analysis-steps');
  const findings = $('#analysis-findings');
  const status = $('#analysis-status');
  fill(steps);
  fill(findings);
  $('#analysis-steps-wrap').hidden = true;
  $('#analysis-findings-wrap').hidden = true;
  status.classList.remove('error');
  setText(status, 'Analysing…');
  $('#btn-analyze').setAttribute('aria-busy', 'true');
  let nSteps = 0;
  let nFindings = 0;
  const progress = () => setText(status, `Analysing… ${nSteps} measured, ${nFindings} ${nFindings === 1 ? 'finding' : 'findings'} so far`);
  try {
    await postEventStream('/api/agent/optimize', {}, (msg) => {
      if (msg.event === 'step') {
        steps.append(renderStep(msg.data, ++nSteps));
        $('#analysis-steps-wrap').hidden = false;
        progress();
      } else if (msg.event === 'finding') {
        findings.append(renderFinding(msg.data));
        nFindings++;
        $('#analysis-findings-wrap').hidden = false;
        progress();
      } else if (msg.event === 'done') {
        const d = msg.data;
        const what = d.rules_loaded === false ? 'no analysis rules are loaded, so these are the measured figures only'
          : d.findings === 0 ? 'the rules found nothing to report'
            : `${count(d.findings ?? nFindings)} ${(d.findings ?? nFindings) === 1 ? 'finding' : 'findings'}`;
        setText(status, `Done: ${count(d.steps ?? nSteps)} areas measured from reading #${d.reading}; ${what}.`);
      }
    }, analysing.signal);
  } catch (err) {
    if (err.name !== 'AbortError') {
      status.classList.add('error');
      setText(status, `The analysis failed: ${err.message}.`);
    }
  } finally {
    $('#btn-analyze').removeAttribute('aria-busy');
  }
}
