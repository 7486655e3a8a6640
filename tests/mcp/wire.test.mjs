// wire.test.mjs - /mcp on the wire, request by request, against the real
// kotod: what a hostile page, a client without a token and a broken or
// mismatched message get, in both protocol eras.
// Run by ctest: node --test, KOTOD=path/to/kotod.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { startKotod } from './kotod.mjs';

let k, url;
const MODERN = '2026-07-28';
const meta = { 'io.modelcontextprotocol/protocolVersion': MODERN, 'io.modelcontextprotocol/clientCapabilities': {} };

// A raw request, so Host and Origin are what the test says (fetch fixes Host).
function post(body, headers = {}, token = k.tokens.agent) {
  const data = typeof body === 'string' ? body : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json', Accept: 'application/json, text/event-stream',
        ...(token ? { Authorization: `Bearer ${token}` } : {}), ...headers,
      },
    }, (res) => {
      let text = '';
      res.on('data', (c) => { text += c; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(text); } catch { /* empty or not JSON */ }
        resolve({ status: res.statusCode, headers: res.headers, json });
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

function modern(method, params = {}, headers = {}, token) {
  const h = { 'MCP-Protocol-Version': MODERN, 'Mcp-Method': method, ...headers };
  if (params.name && !('Mcp-Name' in headers)) h['Mcp-Name'] = params.name;
  if (params.uri && !('Mcp-Name' in headers)) h['Mcp-Name'] = params.uri;
  return post({ jsonrpc: '2.0', id: 1, method, params: { ...params, _meta: meta } }, h, token);
}

before(async () => {
  k = await startKotod({ tokens: { agent: null, viewer: 'read' } });
  url = `${k.base}/mcp`;
});
after(() => k?.stop());

test('a rebound DNS name reaches nothing (Host is checked)', async () => {
  const r = await post({ jsonrpc: '2.0', id: 1, method: 'ping' },
    { Host: 'evil.example.com', Origin: 'http://evil.example.com' });
  assert.equal(r.status, 421);
});

test('a page on another origin is refused with 403, before the token is looked at', async () => {
  const r = await post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { Origin: 'http://evil.example.com' });
  assert.equal(r.status, 403);
  assert.equal(r.json.error.code, -32600);
  assert.equal(r.headers['access-control-allow-origin'], undefined, 'no CORS');
  const own = await post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { Origin: k.base });
  assert.equal(own.status, 200);
});

test('every request needs a token', async () => {
  const none = await post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, {}, null);
  assert.equal(none.status, 401);
  assert.match(none.headers['www-authenticate'], /^Bearer/);
  const wrong = await post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, {}, 'f'.repeat(64));
  assert.equal(wrong.status, 401);
});

test('malformed JSON-RPC gets the spec\'s errors, and kotod keeps serving', async () => {
  let r = await post('{"jsonrpc":');
  assert.deepEqual([r.status, r.json.error.code, r.json.id], [400, -32700, null]);
  r = await post([{ jsonrpc: '2.0', id: 1, method: 'ping' }]);
  assert.deepEqual([r.status, r.json.error.code], [400, -32600]);
  r = await post({ jsonrpc: '1.0', id: 1, method: 'ping' });
  assert.deepEqual([r.status, r.json.error.code], [400, -32600]);
  r = await post({ jsonrpc: '2.0', id: { no: 1 }, method: 'ping' });
  assert.deepEqual([r.status, r.json.error.code], [400, -32600]);
  r = await post({ jsonrpc: '2.0', id: 2, method: 42 });
  assert.equal(r.json.error.code, -32600);
  r = await post({ jsonrpc: '2.0', id: 3, method: 'ping', params: [1] });
  assert.equal(r.json.error.code, -32600);
  r = await post({ jsonrpc: '2.0', id: 4, method: 'no/such/method' });
  assert.deepEqual([r.status, r.json.error.code, r.json.id], [200, -32601, 4]);
  r = await post({ jsonrpc: '2.0', method: 'notifications/initialized' });
  assert.equal(r.status, 202);
  r = await post({ jsonrpc: '2.0', id: 5, method: 'ping' });
  assert.deepEqual(r.json, { jsonrpc: '2.0', id: 5, result: {} });
});

test('an oversized body is 413 with a JSON-RPC error', async () => {
  const big = { jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(300 * 1024) } };
  const r = await post(big);
  assert.equal(r.status, 413);
  assert.equal(r.json.error.code, -32600);
});

test('GET and DELETE on /mcp are 405: no stream, no sessions', async () => {
  for (const method of ['GET', 'DELETE']) {
    const res = await fetch(url, { method, headers: { Authorization: `Bearer ${k.tokens.agent}` } });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'POST');
  }
});

test('legacy: initialize answers the version asked for, or the latest it speaks', async () => {
  const init = (v) => post({ jsonrpc: '2.0', id: 1, method: 'initialize',
    params: { protocolVersion: v, capabilities: {}, clientInfo: { name: 't', version: '1' } } });
  assert.equal((await init('2025-06-18')).json.result.protocolVersion, '2025-06-18');
  const r = await init('2024-01-01');
  assert.equal(r.json.result.protocolVersion, '2025-11-25');
  assert.equal(r.headers['mcp-session-id'], undefined);
});

test('modern: server/discover, results typed, a version per request', async () => {
  const r = await modern('server/discover');
  assert.equal(r.status, 200);
  assert.ok(r.json.result.supportedVersions.includes(MODERN));
  assert.ok(r.json.result.supportedVersions.includes('2025-11-25'));
  assert.equal(r.json.result.resultType, 'complete');
  assert.equal(r.json.result._meta['io.modelcontextprotocol/serverInfo'].name, 'kotod');
  const t = await modern('tools/list');
  assert.equal(t.json.result.ttlMs, 0);
  assert.equal(t.json.result.cacheScope, 'private');
  const c = await modern('tools/call', { name: 'get_system_health', arguments: {} });
  assert.equal(c.json.result.isError, false);
});

test('modern: header mismatches, a version kotod does not speak, missing _meta, unknown methods', async () => {
  let r = await modern('tools/list', {}, { 'Mcp-Method': 'prompts/list' });
  assert.deepEqual([r.status, r.json.error.code], [400, -32020]);
  r = await modern('tools/call', { name: 'get_system_health', arguments: {} }, { 'Mcp-Name': 'list_checks' });
  assert.deepEqual([r.status, r.json.error.code], [400, -32020]);
  r = await post({ jsonrpc: '2.0', id: 1, method: 'tools/call',
    params: { name: 'get_system_health', arguments: {}, _meta: meta } },
  { 'MCP-Protocol-Version': MODERN, 'Mcp-Method': 'tools/call' });
  assert.deepEqual([r.status, r.json.error.code], [400, -32020], 'Mcp-Name missing');
  r = await modern('tools/call', { name: 'get_system_health', arguments: {} },
    { 'Mcp-Name': `=?base64?${Buffer.from('get_system_health').toString('base64')}?=` });
  assert.equal(r.status, 200, 'a base64 Mcp-Name is decoded');
  r = await modern('ping', {}, { 'MCP-Protocol-Version': '2025-11-25' });
  assert.deepEqual([r.status, r.json.error.code], [400, -32020]);
  r = await post({ jsonrpc: '2.0', id: 1, method: 'ping',
    params: { _meta: { ...meta, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' } } },
  { 'MCP-Protocol-Version': '2099-01-01', 'Mcp-Method': 'ping' });
  assert.deepEqual([r.status, r.json.error.code, r.json.error.data.requested], [400, -32022, '2099-01-01']);
  r = await post({ jsonrpc: '2.0', id: 1, method: 'server/discover', params: {} },
    { 'MCP-Protocol-Version': MODERN, 'Mcp-Method': 'server/discover' });
  assert.deepEqual([r.status, r.json.error.code], [400, -32602]);
  r = await modern('no/such/method');
  assert.deepEqual([r.status, r.json.error.code], [404, -32601]);
});

test('a token sees the tools of its scopes', async () => {
  const names = async (token) => (await post({ jsonrpc: '2.0', id: 1, method: 'tools/list' }, {}, token))
    .json.result.tools.map((t) => t.name);
  const viewer = await names(k.tokens.viewer);
  const agent = await names(k.tokens.agent);
  const admin = await names(k.tokens.default);
  assert.ok(!viewer.includes('propose_fix') && agent.includes('propose_fix'));
  assert.ok(!agent.includes('stop_system_monitoring') && admin.includes('stop_system_monitoring'));
  const r = await post({ jsonrpc: '2.0', id: 9, method: 'tools/call',
    params: { name: 'propose_fix', arguments: { issue_type: 'memory_high' } } }, {}, k.tokens.viewer);
  assert.equal(r.json.error.code, -32602);
});
