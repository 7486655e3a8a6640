// remedies.js - remediations: propose a fix for an event, read the proposal
// (its script, its SHA-256 and its own dry run), approve it by that hash or
// deny it, watch its run, and the audit trail. Every request needs the API
// token (reads too: a proposal shows what kotod would run); without it the
// dialog says so and the token button asks for it.

import { $, el, fill, setText } from './dom.js';
import { token, getJSON, postJSON } from './api.js';
import { typeLabel, fullTime, number } from './format.js';

const FINAL = new Set(['succeeded', 'failed', 'denied', 'expired', 'refused']);
let current = null; // the remediation shown
let poll = null;

export function initRemedies() {
  $('#remedy-close').addEventListener('click', () => $('#remedy-dialog').close());
  $('#remedy-dialog').addEventListener('close', stopPolling);
  $('#remedy-approve').addEventListener('click', () => decide('approve'));
  $('#remedy-deny').addEventListener('click', () => decide('deny'));
  $('#btn-remedies').addEventListener('click', openList);
  token.events.addEventListener('change', update);
}

function stopPolling() {
  clearTimeout(poll);
  poll = null;
}

function open(forText) {
  current = null;
  setText($('#remedy-for'), forText);
  setText($('#remedy-msg'), '');
  fill($('#remedy-body'), el('p', { className: 'muted' }, 'Asking kotod…'));
  update();
  if (!$('#remedy-dialog').open) $('#remedy-dialog').showModal();
}

function needToken() {
  if (token.usable()) return false;
  fill($('#remedy-body'), el('p', { className: 'notice error', role: 'alert' },
    'Remediations need the API token: enter it with the token button, then try again.'));
  return true;
}

// "Propose fix…" on an event: kotod picks the template and its parameters.
export async function proposeForEvent(e) {
  open(`For event #${e.id}: ${typeLabel(e.type)}${e.subject ? ` — ${e.subject}` : ''}.`);
  if (needToken()) return;
  try {
    show(await postJSON('/api/agent/remediations', { event_id: e.id }));
  } catch (err) {
    fill($('#remedy-body'), el('p', { className: 'notice error', role: 'alert', id: 'remedy-error' },
      `No proposal: ${err.message} (${err.code}).`));
  }
  refreshAudit();
}

async function openList() {
  open('Recent remediations; choose one to read it.');
  if (needToken()) return;
  try {
    const r = await getJSON('/api/agent/remediations?limit=20');
    fill($('#remedy-body'), r.remediations.length
      ? el('ul', { className: 'remedy-list', id: 'remedy-list' }, r.remediations.map((m) => {
        const b = el('button', { type: 'button', className: 'linkish' },
          `#${m.id} ${m.template} — ${m.state}${m.subject ? ` (${m.subject})` : ''}`);
        b.addEventListener('click', async () => show(await getJSON(`/api/agent/remediations/${m.id}`)));
        return el('li', {}, b);
      }))
      : el('p', { className: 'muted' }, 'No remediation was proposed yet.'));
  } catch (err) {
    fill($('#remedy-body'), el('p', { className: 'notice error', role: 'alert' }, `${err.message}.`));
  }
  refreshAudit();
}

function output(title, id, r) {
  if (!r) return null;
  if (r.skipped) return el('p', { className: 'muted' }, `${title}: skipped (${r.skipped}).`);
  return el('div', {},
    el('h4', {}, `${title}: `, r.result ?? (r.exit_code === 0 ? 'ok' : 'failed'),
      el('span', { className: 'muted' }, ` — exit code ${r.exit_code}, ${number(r.duration_ms, 0)} ms${r.timed_out ? ', stopped at its timeout' : ''}${r.truncated ? ', output cut' : ''}`)),
    el('pre', { className: 'code small', id, tabIndex: 0 }, r.output || '(no output)'));
}

function show(m) {
  current = m;
  setText($('#remedy-msg'), '');
  fill($('#remedy-body'),
    el('p', { className: 'preview-head' },
      el('span', { className: 'tag' }, m.dialect),
      el('strong', { id: 'remedy-title' }, `#${m.id} ${m.template}`),
      el('span', { className: `ev-state`, id: 'remedy-state' }, m.state)),
    el('dl', { className: 'kv' },
      el('div', {}, el('dt', {}, 'Proposed by'), el('dd', {}, `${m.proposed_by}, ${fullTime(m.created_ms)}`)),
      el('div', {}, el('dt', {}, 'Expires'), el('dd', {}, fullTime(m.expires_ms))),
      el('div', {}, el('dt', {}, 'SHA-256'), el('dd', { className: 'mono small', id: 'remedy-sha' }, m.sha256)),
      m.refused && el('div', {}, el('dt', {}, 'Refused'), el('dd', { id: 'remedy-refused' }, m.refused.message))),
    el('h4', {}, 'Script'),
    el('pre', { className: 'code', tabIndex: 0, 'aria-label': 'Script' }, el('code', { id: 'remedy-script' }, m.script)),
    output('Its dry run', 'remedy-dry', m.dry_run),
    output('The run', 'remedy-run', m.run));
  update();
  stopPolling();
  if (!FINAL.has(m.state) && m.state !== 'proposed') {
    poll = setTimeout(async () => {
      try { show(await getJSON(`/api/agent/remediations/${m.id}`)); } catch { /* next open retries */ }
      refreshAudit();
    }, 300);
  }
}

async function decide(what) {
  if (!current) return;
  try {
    // The hash of the script shown here: kotod runs exactly that, or nothing.
    const body = what === 'approve' ? { sha256: current.sha256 } : {};
    show(await postJSON(`/api/agent/remediations/${current.id}/${what}`, body));
    setText($('#remedy-msg'), what === 'approve' ? 'Approved: kotod runs it now.' : 'Denied: it will never run.');
  } catch (err) {
    setText($('#remedy-msg'), `Not ${what === 'approve' ? 'approved' : 'denied'}: ${err.message}.`);
  }
  refreshAudit();
}

async function refreshAudit() {
  if (!token.usable()) return;
  try {
    const r = await getJSON('/api/agent/audit?limit=50');
    const rows = current ? r.audit.filter((a) => a.remediation_id === current.id || !a.remediation_id) : r.audit;
    fill($('#remedy-audit tbody'), rows.slice().reverse().map((a) => el('tr', {},
      el('td', {}, fullTime(a.time_ms)), el('th', { scope: 'row' }, a.action), el('td', {}, a.who),
      el('td', { className: 'num' }, a.remediation_id ? `#${a.remediation_id}` : '—'),
      el('td', { className: 'mono small' }, a.sha256 ? `${a.sha256.slice(0, 12)}…` : '—'))));
  } catch { /* the trail stays as it was */ }
}

function update() {
  const pending = current?.state === 'proposed';
  const noToken = !token.usable();
  for (const id of ['#remedy-approve', '#remedy-deny']) $(id).disabled = !pending || noToken;
  setText($('#remedy-reason'), noToken ? 'Approving needs the API token.'
    : !current ? '' : pending ? 'Read the script and its dry run first.' : `It is ${current.state}.`);
}
