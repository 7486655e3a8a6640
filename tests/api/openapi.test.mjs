// openapi.test.mjs - every documented operation of docs/openapi.yaml is
// called on the real kotod and its answer is checked against the
// description: the status must be documented and a JSON body must match the
// schema for that status. Run by ctest: node --test, KOTOD=path/to/kotod.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, cpSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import YAML from 'yaml';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const spec = YAML.parse(readFileSync(join(repo, 'docs', 'openapi.yaml'), 'utf8'));
const ajv = new Ajv2020({ strict: false, allErrors: true });
ajv.addSchema({ $id: 'koto', components: spec.components });

let kotod, base, token, dir;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'koto-openapi-'));
  cpSync(join(repo, 'tests/fixtures/linux-basic/t0'), join(dir, 'proc'), { recursive: true });
  kotod = spawn(process.env.KOTOD, [
    '--procfs', join(dir, 'proc'), '--sysfs', join(repo, 'tests/fixtures/linux-basic/sys'),
    '--listen', '127.0.0.1:0', '--interval', '100', '--state-dir', join(dir, 'state'),
    '--web-dir', join(repo, 'web')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kotod did not start:\n${log}`)), 10000);
    kotod.stderr.on('data', (chunk) => {
      log += chunk;
      const m = log.match(/dashboard at (http:\/\/[^/]+)\//);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
  });
  token = readFileSync(join(dir, 'state', 'token'), 'utf8').trim();
  await new Promise((r) => setTimeout(r, 400)); // a few readings, so events exist
});

after(() => {
  kotod?.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// Replaces #/components/... with koto#/components/... so the shared schema resolves.
function rebase(schema) {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"koto#/components/'));
}

function responseSpec(path, method, status) {
  const op = spec.paths[path]?.[method];
  assert.ok(op, `${method.toUpperCase()} ${path} is not documented`);
  let r = op.responses[String(status)];
  assert.ok(r, `${method.toUpperCase()} ${path} answered ${status}, which is not documented`);
  if (r.$ref) r = r.$ref.split('/').slice(1).reduce((o, k) => o[k], spec);
  return r;
}

const called = new Set();

async function call(method, path, { template = path.split('?')[0], body, auth = false, headers = {} } = {}) {
  const h = { ...headers };
  if (auth) h.Authorization = `Bearer ${token}`;
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const res = await fetch(base + path, {
    method, headers: h, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  called.add(`${method.toLowerCase()} ${template}`);
  const r = responseSpec(template, method.toLowerCase(), res.status);
  const type = res.headers.get('content-type') ?? '';
  const media = r.content && Object.keys(r.content);
  if (media) assert.ok(media.some((m) => type.startsWith(m)), `${path}: content type ${type} is not one of ${media}`);
  const schema = r.content?.['application/json']?.schema;
  if (schema) {
    const validate = ajv.compile(rebase(schema));
    const json = JSON.parse(text);
    assert.ok(validate(json), `${method} ${path} ${res.status}: ${ajv.errorsText(validate.errors)}\n${text.slice(0, 800)}`);
  }
  return { status: res.status, text };
}

test('every documented operation answers as documented', async () => {
  await call('GET', '/healthz');
  await call('GET', '/api/agent/monitor/status');
  await call('GET', '/api/agent/monitor/events?limit=5');
  await call('GET', '/api/agent/monitor/events?event_type=memory_high&severity=high',
    { template: '/api/agent/monitor/events' });
  assert.equal((await call('GET', '/api/agent/monitor/events?event_type=nope',
    { template: '/api/agent/monitor/events' })).status, 400);
  await call('GET', '/api/agent/history?metric=cpu', { template: '/api/agent/history' });
  await call('GET', '/api/agent/history', { template: '/api/agent/history' });
  assert.equal((await call('GET', '/api/agent/history?metric=memory&from=-1h&points=60', { template: '/api/agent/history' })).status, 200);
  assert.equal((await call('GET', '/api/agent/history?metric=nope&from=-1h', { template: '/api/agent/history' })).status, 404);
  assert.equal((await call('GET', '/api/agent/history?metric=memory&from=yesterday', { template: '/api/agent/history' })).status, 422);
  assert.equal((await call('GET', '/api/agent/history/series')).status, 200);
  assert.equal((await call('POST', '/api/agent/monitor/stop')).status, 401);
  assert.equal((await call('POST', '/api/agent/monitor/stop', { auth: true, headers: { Origin: 'http://evil.example' } })).status, 403);
  assert.equal((await call('POST', '/api/agent/monitor/stop', { auth: true })).status, 200);
  await call('GET', '/api/agent/monitor/status');
  assert.equal((await call('POST', '/api/agent/monitor/start', { auth: true })).status, 200);
  assert.equal((await call('POST', '/api/agent/monitor/clear', { auth: true })).status, 200);
  assert.equal((await call('POST', '/api/agent/monitor/clear')).status, 401);
  const opt = await call('POST', '/api/agent/optimize');
  assert.match(opt.text, /^event: done$/m);
  assert.equal((await call('POST', '/api/agent/generate-script', { body: { issue_type: 'cpu_high', pid: 4242 } })).status, 200);
  assert.equal((await call('POST', '/api/agent/generate-script', { body: { issue_type: 'nope' } })).status, 404);
  assert.equal((await call('POST', '/api/agent/generate-script', { body: { issue_type: 'cpu_high', pid: 'x' } })).status, 422);
  assert.equal((await call('GET', '/api/agent/generate-script/list')).status, 200);
  assert.equal((await call('POST', '/api/agent/generate-script/save', { body: {} })).status, 401);
  assert.equal((await call('POST', '/api/agent/generate-script/save', { body: { script_content: 'echo\n', filename: 'a.sh' }, auth: true })).status, 200);
  assert.equal((await call('POST', '/api/agent/generate-script/save', { body: { script_content: 'echo\n', filename: 'a.sh' }, auth: true })).status, 409);
  assert.equal((await call('POST', '/api/agent/generate-script/save', { body: { script_content: 'x', filename: '../a.sh' }, auth: true })).status, 422);
  assert.equal((await call('GET', '/api/agent/config')).status, 200);
  assert.equal((await call('GET', '/api/agent/conditions')).status, 200);
  const replay = '/api/agent/rules/replay';
  assert.equal((await call('POST', replay, { body: { from: '1h' } })).status, 200);
  assert.equal((await call('POST', replay, { body: { from: '1h', thresholds: { 'cpu.threshold': 50 },
    conditions: [{ name: 'x.lua', source: 'return { name = "x_high", value = function(r) return r.cpu.busy_pct end, above = 1 }' }] } })).status, 200);
  assert.equal((await call('POST', replay, { body: { thresholds: { 'cpu.threshold': 500 } } })).status, 400);
  assert.equal((await call('POST', replay, { body: { conditions: [{ name: 'x.lua', source: 'return {' }] } })).status, 400);
  assert.equal((await call('POST', '/api/agent/reload')).status, 401);
  assert.equal((await call('POST', '/api/agent/reload', { auth: true })).status, 200);
  await call('GET', '/api/agent/notify');
  assert.equal((await call('POST', '/api/agent/notify/test', { body: { channel: 'nope' } })).status, 401);
  assert.equal((await call('POST', '/api/agent/notify/test', { body: { channel: 'nope' }, auth: true })).status, 404);
  assert.equal((await call('POST', '/api/agent/notify/test', { body: {}, auth: true })).status, 422);
  await call('GET', '/api/agent/silences');
  assert.equal((await call('POST', '/api/agent/silences', { body: { duration_s: 60, comment: 'x' } })).status, 401);
  assert.equal((await call('POST', '/api/agent/silences', { body: { duration_s: 60 }, auth: true })).status, 422);
  const sil = JSON.parse((await call('POST', '/api/agent/silences', {
    body: { matchers: { type: 'disk_full', subject: '/var' }, duration_s: 600, comment: 'resizing', created_by: 'test' }, auth: true })).text);
  await call('GET', '/api/agent/silences');
  assert.equal((await call('DELETE', `/api/agent/silences/${sil.id}`, { template: '/api/agent/silences/{id}' })).status, 401);
  assert.equal((await call('DELETE', `/api/agent/silences/${sil.id}`, { template: '/api/agent/silences/{id}', auth: true })).status, 200);
  assert.equal((await call('DELETE', '/api/agent/silences/9999', { template: '/api/agent/silences/{id}', auth: true })).status, 404);
  assert.equal((await call('DELETE', '/api/agent/silences/x', { template: '/api/agent/silences/{id}', auth: true })).status, 400);
  assert.equal((await call('GET', '/api/agent/tokens')).status, 401);
  assert.equal((await call('GET', '/api/agent/tokens', { auth: true })).status, 200);
  assert.equal((await call('POST', '/api/agent/tokens', { body: { name: 'spec' }, auth: true })).status, 200);
  assert.equal((await call('POST', '/api/agent/tokens', { body: { name: 'spec' }, auth: true })).status, 409);
  assert.equal((await call('POST', '/api/agent/tokens', { body: { name: 'no spaces' }, auth: true })).status, 422);
  assert.equal((await call('DELETE', '/api/agent/tokens/spec', { template: '/api/agent/tokens/{name}', auth: true })).status, 200);
  assert.equal((await call('DELETE', '/api/agent/tokens/spec', { template: '/api/agent/tokens/{name}', auth: true })).status, 404);
  const tools = JSON.parse((await call('GET', '/api/agent/tools')).text);
  for (const t of tools.tools) {
    const r = await call('POST', `/api/agent/tools/${t.name}`, { template: '/api/agent/tools/{name}', body: {}, auth: t.changes_state });
    // Tools with required parameters refuse an empty call; the others answer.
    const required = t.parameters.required?.length > 0;
    assert.equal(r.status, required ? 422 : 200, `${t.name}: ${r.text}`);
  }
  assert.equal((await call('POST', '/api/agent/tools/nope', { template: '/api/agent/tools/{name}' })).status, 404);
  assert.equal((await call('POST', '/api/agent/tools/get_system_anomalies', { template: '/api/agent/tools/{name}', body: { limit: 'x' } })).status, 422);
  assert.equal((await call('POST', '/api/agent/remediations', { body: { issue_type: 'memory_high' } })).status, 401);
  const prop = JSON.parse((await call('POST', '/api/agent/remediations', { body: { issue_type: 'memory_high', top: 3 }, auth: true })).text);
  assert.equal(prop.state, 'proposed');
  assert.equal((await call('POST', '/api/agent/remediations', { body: { issue_type: 'nope' }, auth: true })).status, 404);
  assert.equal((await call('POST', '/api/agent/remediations', { body: { event_id: 999999 }, auth: true })).status, 404);
  assert.equal((await call('POST', '/api/agent/remediations', { body: { issue_type: 'cpu_high', pid: 'x' }, auth: true })).status, 422);
  assert.equal((await call('GET', '/api/agent/remediations', { auth: true })).status, 200);
  assert.equal((await call('GET', '/api/agent/remediations')).status, 401);
  const one = '/api/agent/remediations/{id}';
  assert.equal((await call('GET', `/api/agent/remediations/${prop.id}`, { template: one, auth: true })).status, 200);
  assert.equal((await call('GET', '/api/agent/remediations/99999', { template: one, auth: true })).status, 404);
  const approve = '/api/agent/remediations/{id}/approve';
  assert.equal((await call('POST', `/api/agent/remediations/${prop.id}/approve`, { template: approve, body: { sha256: '0'.repeat(64) }, auth: true })).status, 422);
  assert.equal((await call('POST', `/api/agent/remediations/${prop.id}/approve`, { template: approve, body: { sha256: prop.sha256 } })).status, 401);
  assert.equal((await call('POST', `/api/agent/remediations/${prop.id}/approve`, { template: approve, body: { sha256: prop.sha256 }, auth: true })).status, 200);
  assert.equal((await call('POST', `/api/agent/remediations/${prop.id}/approve`, { template: approve, body: { sha256: prop.sha256 }, auth: true })).status, 409);
  const other = JSON.parse((await call('POST', '/api/agent/remediations', { body: { issue_type: 'memory_high' }, auth: true })).text);
  const deny = '/api/agent/remediations/{id}/deny';
  assert.equal((await call('POST', `/api/agent/remediations/${other.id}/deny`, { template: deny, auth: true })).status, 200);
  assert.equal((await call('POST', `/api/agent/remediations/${other.id}/deny`, { template: deny, auth: true })).status, 409);
  assert.equal((await call('GET', '/api/agent/audit?limit=50', { auth: true })).status, 200);
  assert.equal((await call('GET', '/api/agent/audit')).status, 401);
  await call('GET', '/metrics');
  await call('GET', '/monitoring-dashboard');
  const rpc = (body, headers = {}) => call('POST', '/mcp', { body, auth: true, headers });
  assert.equal((await rpc({ jsonrpc: '2.0', id: 1, method: 'tools/list' })).status, 200);
  assert.equal((await rpc({ jsonrpc: '2.0', method: 'notifications/initialized' })).status, 202);
  assert.equal((await rpc({ jsonrpc: '2.0' })).status, 400);
  assert.equal((await call('POST', '/mcp', { body: { jsonrpc: '2.0', id: 1, method: 'ping' } })).status, 401);
  assert.equal((await rpc({ jsonrpc: '2.0', id: 1, method: 'ping' }, { Origin: 'http://evil.example' })).status, 403);
  const meta = { 'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} };
  assert.equal((await rpc({ jsonrpc: '2.0', id: 1, method: 'nope', params: { _meta: meta } },
    { 'MCP-Protocol-Version': '2026-07-28', 'Mcp-Method': 'nope' })).status, 404);
  assert.equal((await rpc({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(300000) } })).status, 413);
  assert.equal((await call('GET', '/mcp', { auth: true })).status, 405);
  assert.equal((await call('DELETE', '/mcp', { auth: true })).status, 405);

  // The dashboard's login: a session by cookie, CSRF on changes, logout.
  assert.equal((await call('POST', '/api/agent/session', { body: { token: 'wrong' } })).status, 401);
  const login = await fetch(`${base}/api/agent/session`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ token }),
  });
  const cookie = { Cookie: login.headers.get('set-cookie').split(';')[0] };
  const { csrf_token: csrf } = await login.json();
  assert.equal((await call('POST', '/api/agent/session', { body: { token } })).status, 200);
  assert.equal(JSON.parse((await call('GET', '/api/agent/session', { headers: cookie })).text).csrf_token, csrf);
  assert.equal((await call('GET', '/api/agent/session')).status, 200);
  assert.equal((await call('DELETE', '/api/agent/session', { headers: cookie })).status, 403);
  assert.equal((await call('DELETE', '/api/agent/session')).status, 401);
  assert.equal((await call('DELETE', '/api/agent/session', { headers: { ...cookie, 'X-CSRF-Token': csrf } })).status, 200);

  // The stream is endless: check its head only.
  const ctl = new AbortController();
  const res = await fetch(`${base}/api/agent/monitor/stream`, { signal: ctl.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/event-stream/);
  ctl.abort();
  called.add('get /api/agent/monitor/stream');
});

test('every documented operation was exercised', () => {
  const documented = Object.entries(spec.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`));
  const missed = documented.filter((op) => !called.has(op));
  assert.deepEqual(missed, []);
});
