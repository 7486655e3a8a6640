// scopes.test.mjs - every operation of docs/openapi.yaml against the scope
// it documents: without a token, with a token one scope short, and with the
// scope it needs, on the real kotod. Tokens are made with `kotod --token
// add`, as a person would; the audit must name the token that proposed.
// Run by ctest: node --test, KOTOD=path/to/kotod.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, cpSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const spec = YAML.parse(readFileSync(join(repo, 'docs', 'openapi.yaml'), 'utf8'));
const KOTOD = process.env.KOTOD;

let kotod, base, dir, args;
const tokens = {}; // scope -> token

function addToken(name, scope) {
  return execFileSync(KOTOD, [...args, '--token', 'add', name, '--scope', scope],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'koto-scopes-'));
  cpSync(join(repo, 'tests/fixtures/linux-basic/t0'), join(dir, 'proc'), { recursive: true });
  args = ['--state-dir', join(dir, 'state')];
  tokens.read = addToken('viewer', 'read');
  tokens.propose = addToken('agent', 'read,propose');
  kotod = spawn(KOTOD, [
    '--procfs', join(dir, 'proc'), '--sysfs', join(repo, 'tests/fixtures/linux-basic/sys'),
    '--listen', '127.0.0.1:0', '--interval', '100', ...args,
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
  tokens.control = readFileSync(join(dir, 'state', 'token'), 'utf8').trim();
});

after(() => {
  kotod?.kill('SIGTERM');
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// One request; a stream is cut once its head is in.
async function call(method, path, token, body) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const ac = new AbortController();
  const res = await fetch(base + path, {
    method, headers, signal: ac.signal, body: body === undefined ? undefined : JSON.stringify(body),
  });
  if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    ac.abort();
    return { status: res.status, json: null };
  }
  const text = await res.text();
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  return { status: res.status, json };
}

const below = { propose: 'read', control: 'propose' };
const concrete = (p) => p.replace('{id}', '1').replace('{name}', 'get_system_health');

const ops = [];
for (const [path, item] of Object.entries(spec.paths))
  for (const [method, op] of Object.entries(item))
    // /mcp has its own tests (tests/mcp); logging in takes the token in its body.
    if (op?.responses && path !== '/mcp' && !(path === '/api/agent/session' && method === 'post'))
      ops.push({ method: method.toUpperCase(), path, op });

test('every documented operation names the scope it needs, or none (read)', () => {
  for (const { method, path, op } of ops) {
    const s = op.security?.[0]?.bearer?.[0];
    if (op.security) assert.ok(['read', 'propose', 'control'].includes(s), `${method} ${path}: ${s}`);
  }
});

for (const { method, path, op } of ops) {
  const scope = op.security?.[0]?.bearer?.[0];
  const url = concrete(path);
  if (!scope) {
    test(`${method} ${path}: read, open on loopback`, async () => {
      const none = await call(method, url);
      assert.ok(![401, 403].includes(none.status), `without a token: ${none.status}`);
      const r = await call(method, url, tokens.read);
      assert.ok(![401, 403].includes(r.status), `with read: ${r.status}`);
    });
    continue;
  }
  test(`${method} ${path}: needs ${scope}`, async () => {
    const none = await call(method, url, undefined, method === 'GET' ? undefined : {});
    assert.equal(none.status, 401, `without a token: ${JSON.stringify(none.json)}`);
    const wrong = await call(method, url, 'f'.repeat(64), method === 'GET' ? undefined : {});
    assert.equal(wrong.status, 401, 'an unknown token');
    if (below[scope]) {
      const short = await call(method, url, tokens[below[scope]], method === 'GET' ? undefined : {});
      assert.equal(short.status, 403, `with ${below[scope]}: ${JSON.stringify(short.json)}`);
      assert.equal(short.json?.error?.code, 'insufficient_scope');
    }
    const ok = await call(method, url, tokens[scope], method === 'GET' ? undefined : {});
    assert.ok(![401, 403].includes(ok.status), `with ${scope}: ${ok.status} ${JSON.stringify(ok.json)}`);
  });
}

test('a tool that changes state needs control; a reading tool read', async () => {
  let r = await call('POST', '/api/agent/tools/clear_monitoring_log', tokens.propose, {});
  assert.equal(r.status, 403);
  assert.equal(r.json.error.code, 'insufficient_scope');
  r = await call('POST', '/api/agent/tools/clear_monitoring_log', tokens.control, {});
  assert.equal(r.status, 200);
  r = await call('POST', '/api/agent/tools/get_system_health', tokens.read, {});
  assert.equal(r.status, 200);
});

test('the audit names the token that proposed, and the agent cannot approve', async () => {
  const p = await call('POST', '/api/agent/remediations', tokens.propose, { issue_type: 'memory_high' });
  assert.equal(p.status, 200, JSON.stringify(p.json));
  const id = p.json.id;
  const a = await call('POST', `/api/agent/remediations/${id}/approve`, tokens.propose,
    { sha256: p.json.sha256 });
  assert.equal(a.status, 403);
  const audit = await call('GET', '/api/agent/audit', tokens.read);
  const mine = audit.json.audit.filter((e) => e.remediation_id === id);
  assert.ok(mine.some((e) => /^token agent from 127\.0\.0\.1:/.test(e.who)), JSON.stringify(mine));
});

test('a revoked token stops working without a restart', async () => {
  const t = addToken('short-lived', 'read');
  assert.equal((await call('GET', '/api/agent/audit', t)).status, 200);
  execFileSync(KOTOD, [...args, '--token', 'revoke', 'short-lived'], { stdio: 'ignore' });
  assert.equal((await call('GET', '/api/agent/audit', t)).status, 401);
});
