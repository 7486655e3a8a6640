// scripts.js - fix scripts: choose a template (its issue type), fill its
// parameters (prefilled from an event), generate, preview, copy, save.
//
// kotod lists its templates with their declared parameters
// (GET /api/agent/generate-script/list); the form shows exactly those, so
// the request carries nothing a template would refuse as unknown. A kotod
// without its rules engine answers 503; the form then falls back to the
// issue types and parameters the API documents, and generating shows the
// 503's message plainly. Saving changes files on the server: it needs the
// token. koto never runs a script, and neither does this page.

import { $, el, fill, setText } from './dom.js';
import { token, getJSON, postJSON, ApiError } from './api.js';
import { typeLabel, keyLabel, count } from './format.js';

// The detector's event types -> the templates' issue types, for an event
// from a kotod that does not say (suggested_template).
const ISSUE_OF = { cpu_high: 'cpu_high', cpu_spike: 'cpu_high', memory_high: 'memory_high',
  process_memory_high: 'process_memory_high', disk_full: 'disk_full', disk_fill: 'disk_full' };
const ABOUT_A_PATH = new Set(['disk_full', 'disk_fill']);

// The documented request shape, for a kotod that cannot list templates.
const FALLBACK_PARAMS = [
  { name: 'process_name', type: 'string' }, { name: 'pid', type: 'integer', min: 1 },
  { name: 'path', type: 'string' }, { name: 'service_name', type: 'string' },
];
const FALLBACK = ['cpu_high', 'memory_high', 'process_memory_high', 'disk_full', 'service_restart', 'disk_health']
  .map((name) => ({ name, description: '', admin: false, dialects: ['bash', 'powershell'], parameters: FALLBACK_PARAMS }));

const ENGINE_MISSING = new Set(['rules_unavailable', 'rules_engine_unavailable']);

let templates = FALLBACK;
let listNote = '';
let script = null; // { text, type, filename } once generated
let suggested = {}; // parameter values suggested by the event
let lastOs = 'linux';

export function initScripts() {
  $('#script-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    generate();
  });
  $('#script-issue').addEventListener('change', () => renderParams(currentValues()));
  $('#script-close').addEventListener('click', () => $('#script-dialog').close());
  $('#script-copy').addEventListener('click', copy);
  $('#script-save').addEventListener('click', save);
  $('#btn-script').addEventListener('click', () => openScript(null));
  token.events.addEventListener('change', update);
  update();
}

export function setOs(os) {
  if (os === 'linux' || os === 'windows') lastOs = os;
}

// "memhog (pid 5000)" -> { process_name: 'memhog', pid: 5000 }
function processOf(subject) {
  const m = /^(.*) \(pid (\d+)\)$/.exec(subject ?? '');
  return m ? { process_name: m[1], pid: Number(m[2]) } : null;
}

// What an event suggests: its issue type, and the process or path it is about.
function suggestionFor(e) {
  const s = { issue_type: e.suggested_template ?? ISSUE_OF[e.type] ?? 'cpu_high' };
  const proc = e.type === 'process_memory_high' ? processOf(e.subject) : null;
  const top = e.top_processes?.[0];
  if (proc) Object.assign(s, proc);
  else if (top && !ABOUT_A_PATH.has(e.type)) Object.assign(s, { process_name: top.name, pid: top.pid });
  if (ABOUT_A_PATH.has(e.type) && e.subject) s.path = e.subject;
  return s;
}

async function loadTemplates() {
  try {
    const r = await getJSON('/api/agent/generate-script/list');
    templates = r.templates ?? [];
    listNote = templates.length ? '' : 'kotod has no fix-script templates loaded (its lua/templates/ is empty).';
  } catch (err) {
    templates = FALLBACK;
    listNote = err instanceof ApiError && ENGINE_MISSING.has(err.code)
      ? 'kotod cannot list templates: its rules engine is unavailable.' : `The templates could not be listed: ${err.message}.`;
  }
}

const template = () => templates.find((t) => t.name === $('#script-issue').value);

function currentValues() {
  const v = {};
  for (const input of $('#script-params').querySelectorAll('input')) {
    v[input.name] = input.type === 'checkbox' ? input.checked : input.value;
  }
  return v;
}

// One field per declared parameter, with its type's input and bounds.
function renderParams(values) {
  const t = template();
  const fields = (t?.parameters ?? []).map((p) => {
    const id = `script-param-${p.name}`;
    const numeric = p.type === 'integer' || p.type === 'number';
    const v = values[p.name] ?? p.default ?? '';
    const input = p.type === 'boolean'
      ? el('input', { type: 'checkbox', id, name: p.name, checked: v === true })
      : el('input', {
        type: numeric ? 'number' : 'text', id, name: p.name, value: String(v),
        required: Boolean(p.required), autocomplete: 'off', step: p.type === 'integer' ? '1' : numeric ? 'any' : null,
        min: p.min ?? null, max: p.max ?? null, maxLength: p.max_len ?? null, 'data-type': p.type,
      });
    return p.type === 'boolean'
      ? el('label', { className: 'check', for: id, title: p.description ?? '' }, input, ` ${keyLabel(p.name)}`)
      : el('label', { className: 'field', for: id }, `${keyLabel(p.name)}${p.required ? ' (required)' : ''}`, input,
        p.description ? el('span', { className: 'hint' }, p.description) : null);
  });
  fill($('#script-params'), fields.length ? fields : el('p', { className: 'muted' }, 'This template takes no parameters.'));
  // The OS choices this template can write.
  for (const opt of $('#script-os').options) {
    opt.disabled = Boolean(t) && !t.dialects.includes(opt.value === 'windows' ? 'powershell' : 'bash');
  }
  setText($('#script-about'), t ? [t.description, t.admin ? 'Needs root / administrator rights to run.' : '']
    .filter(Boolean).join(' ') : '');
  $('#script-generate').disabled = !t;
}

export async function openScript(e) {
  suggested = e ? suggestionFor(e) : {};
  script = null;
  setText($('#script-for'), e ? `For event #${e.id}: ${typeLabel(e.type)}${e.subject ? ` — ${e.subject}` : ''}. Check the parameters, then generate.`
    : 'Choose the issue and its parameters, then generate.');
  fill($('#script-preview'), el('p', { className: 'muted' }, 'The script appears here; nothing is saved or run until you say so.'));
  setText($('#script-msg'), '');
  update();
  $('#script-generate').disabled = true; // until the templates are known
  if (!$('#script-dialog').open) $('#script-dialog').showModal();
  await loadTemplates();
  const issue = $('#script-issue');
  fill(issue, templates.map((t) => el('option', { value: t.name }, typeLabel(t.name))));
  const wanted = suggested.issue_type;
  issue.value = templates.some((t) => t.name === wanted) ? wanted : templates[0]?.name ?? '';
  const missing = wanted && issue.value !== wanted ? `There is no template for ${typeLabel(wanted)}; choose another.` : '';
  setText($('#script-list-note'), [listNote, missing].filter(Boolean).join(' '));
  $('#script-os').value = lastOs;
  renderParams(suggested);
  issue.focus();
}

function formRequest() {
  const req = { issue_type: $('#script-issue').value, os: $('#script-os').value };
  for (const input of $('#script-params').querySelectorAll('input')) {
    if (input.type === 'checkbox') req[input.name] = input.checked;
    else if (input.value.trim() !== '') {
      req[input.name] = input.type === 'number' ? Number(input.value) : input.value.trim();
    }
  }
  return req;
}

function errorBox(err, req) {
  const engine = err instanceof ApiError && ENGINE_MISSING.has(err.code);
  const title = engine ? 'The rules engine is unavailable'
    : err.code === 'unknown_issue_type' ? 'There is no template for this issue'
      : err.code === 'bad_parameter' ? 'A parameter was refused' : 'No script was generated';
  return el('div', { className: 'notice error', id: 'script-error', role: 'alert' },
    el('strong', {}, title),
    el('span', { className: 'muted' }, ` (${err.status ? `HTTP ${err.status}, ` : ''}${err.code})`),
    el('p', {}, `${err.message}.`),
    el('p', { className: 'muted' }, 'The request sent:'),
    el('pre', { className: 'code small', id: 'script-request' }, JSON.stringify(req, null, 2)));
}

async function generate() {
  const req = formRequest();
  const preview = $('#script-preview');
  script = null;
  update();
  fill(preview, el('p', { className: 'muted' }, 'Generating…'));
  try {
    const r = await postJSON('/api/agent/generate-script', req);
    script = { text: r.script, type: r.script_type, filename: r.filename };
    $('#script-filename').value = r.filename;
    const lines = r.script.split('\n').length;
    fill(preview,
      el('p', { className: 'preview-head' }, el('span', { className: 'tag' }, r.script_type),
        el('span', { className: 'mono' }, r.filename), el('span', { className: 'muted' }, `${count(lines)} lines`)),
      el('pre', { className: 'code', tabIndex: 0, 'aria-label': 'Script preview' }, el('code', { id: 'script-code' }, r.script)),
      el('p', { className: 'muted small' }, 'Read it before running it: koto never runs scripts. ',
        r.script_type === 'powershell' ? '-WhatIf shows what it would do.' : '--dry-run shows what it would do.'));
  } catch (err) {
    fill(preview, errorBox(err, req));
  }
  update();
}

function update() {
  const none = !script;
  const copyBtn = $('#script-copy');
  const saveBtn = $('#script-save');
  copyBtn.disabled = none;
  copyBtn.title = none ? 'Nothing to copy: generate a script first.' : '';
  const needToken = !token.usable();
  saveBtn.disabled = none || needToken;
  saveBtn.title = none ? 'Nothing to save: generate a script first.'
    : needToken ? 'Saving writes a file on the server: enter the API token first.' : '';
  setText($('#script-reason'), none ? 'Generate a script to copy or save it.'
    : needToken ? 'Saving needs the API token.' : '');
}

async function copy() {
  if (!script) return;
  try {
    // The async clipboard needs a secure context (127.0.0.1 is one); a page
    // served on another address falls back to selecting the text.
    await navigator.clipboard.writeText(script.text);
    setText($('#script-msg'), 'Copied to the clipboard.');
  } catch {
    getSelection().selectAllChildren($('#script-code'));
    setText($('#script-msg'), 'Selected: press Ctrl+C (⌘C) to copy.');
  }
}

async function save() {
  if (!script) return;
  const filename = $('#script-filename').value.trim() || script.filename;
  try {
    const r = await postJSON('/api/agent/generate-script/save', {
      script_content: script.text, filename, overwrite: $('#script-overwrite').checked,
    });
    setText($('#script-msg'), `Saved as ${r.path} (${count(r.bytes)} bytes${r.executable ? ', executable' : ''}).`);
  } catch (err) {
    setText($('#script-msg'), err.code === 'exists'
      ? `Not saved: ${err.message}. Tick “overwrite” to replace it.` : `Not saved: ${err.message}.`);
  }
  update();
}
