// sdk.test.mjs - a real MCP client (@modelcontextprotocol/sdk) against the
// real kotod: it lists and calls every tool its token is offered, reads the
// resources and prompts, and proposes a fix that then waits for approval in
// the REST API, which this client's token cannot give.
// Run by ctest: node --test, KOTOD=path/to/kotod.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { startKotod, until } from './kotod.mjs';

let k, agent, admin;

async function connect(token) {
  const client = new Client({ name: 'koto-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(`${k.base}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  await client.connect(transport);
  return client;
}

async function rest(method, path, token, body) {
  const res = await fetch(k.base + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, json: await res.json() };
}

// Arguments that make each tool do its work on the fixture machine.
function argsFor(name, eventId) {
  switch (name) {
    case 'suggest_optimizations': return { category: 'memory' };
    case 'get_system_anomalies': return { limit: 5 };
    case 'generate_fix_script': return { issue_type: 'memory_high' };
    case 'get_script_type': return { os: 'linux' };
    case 'query_history': return { metric: 'memory', from: '-1h' };
    case 'explain_event': return { event_id: eventId };
    case 'propose_fix': return { event_id: eventId };
    default: return {};
  }
}

before(async () => {
  k = await startKotod({ tokens: { agent: null } }); // the default scopes: read,propose
  // Events and stored readings exist once a few readings are in.
  await until(async () => (await rest('GET', '/api/agent/monitor/events?limit=1', k.tokens.default)).json.events?.length);
  await until(async () => (await rest('GET', '/api/agent/history/series', k.tokens.default)).json.series?.some((s) => s.metric === 'memory'), 30000);
  agent = await connect(k.tokens.agent);
  admin = await connect(k.tokens.default);
});

after(async () => {
  await agent?.close();
  await admin?.close();
  k?.stop();
});

test('the server identifies itself and its capabilities', () => {
  assert.equal(agent.getServerVersion().name, 'kotod');
  const caps = agent.getServerCapabilities();
  assert.ok(caps.tools && caps.resources && caps.prompts);
});

test('the tools are the registry\'s, with the same schemas, offered by scope', async () => {
  const registry = (await rest('GET', '/api/agent/tools', k.tokens.agent)).json.tools;
  const mine = (await agent.listTools()).tools;
  const all = (await admin.listTools()).tools;
  const byName = Object.fromEntries(all.map((t) => [t.name, t]));
  for (const r of registry) {
    assert.ok(byName[r.name], `${r.name} is offered to a control token`);
    assert.deepEqual(byName[r.name].inputSchema, r.parameters, `${r.name}: same schema`);
    const a = byName[r.name].annotations;
    assert.equal(a.readOnlyHint, !r.changes_state, `${r.name}: readOnlyHint`);
    assert.equal(typeof a.destructiveHint, 'boolean');
    assert.equal(typeof a.idempotentHint, 'boolean');
    assert.equal(mine.some((t) => t.name === r.name), !r.changes_state,
      `${r.name} is offered to read,propose only when it changes nothing`);
  }
  for (const name of ['query_history', 'explain_event', 'list_checks', 'propose_fix'])
    assert.ok(mine.some((t) => t.name === name), `${name} is offered`);
  assert.equal(all.length, registry.length + 4);
});

test('every tool the agent is offered answers without an error', async () => {
  const events = (await rest('GET', '/api/agent/monitor/events?limit=1', k.tokens.agent)).json.events;
  const eventId = events[0].id;
  for (const t of (await agent.listTools()).tools) {
    const r = await agent.callTool({ name: t.name, arguments: argsFor(t.name, eventId) });
    assert.equal(r.isError, false, `${t.name}: ${JSON.stringify(r.content)}`);
    assert.equal(r.content[0].type, 'text');
    assert.deepEqual(JSON.parse(r.content[0].text), r.structuredContent, `${t.name}: text is the JSON`);
  }
});

test('a tool the token may not use is not there; a failing tool is a result with isError', async () => {
  await assert.rejects(agent.callTool({ name: 'clear_monitoring_log', arguments: {} }),
    (e) => e.code === -32602);
  const bad = await agent.callTool({ name: 'explain_event', arguments: { event_id: 999999 } });
  assert.equal(bad.isError, true);
  assert.match(bad.content[0].text, /no_such_event/);
  const badArgs = await agent.callTool({ name: 'get_system_anomalies', arguments: { limit: 'ten' } });
  assert.equal(badArgs.isError, true);
});

test('the resources read as JSON, one event through its template', async () => {
  const list = (await agent.listResources()).resources;
  assert.ok(list.length >= 5);
  for (const r of list) {
    const c = (await agent.readResource({ uri: r.uri })).contents[0];
    assert.equal(c.uri, r.uri);
    assert.equal(c.mimeType, 'application/json');
    JSON.parse(c.text);
  }
  const tpl = (await agent.listResourceTemplates()).resourceTemplates;
  assert.equal(tpl[0].uriTemplate, 'koto://events/{id}');
  const events = (await rest('GET', '/api/agent/monitor/events?limit=1', k.tokens.agent)).json.events;
  const one = JSON.parse((await agent.readResource({ uri: `koto://events/${events[0].id}` })).contents[0].text);
  assert.equal(one.event.id, events[0].id);
  assert.ok('findings' in one && 'suggested_fix' in one);
  await assert.rejects(agent.readResource({ uri: 'koto://nothing' }), (e) => e.code === -32602);
});

test('the prompts a person picks', async () => {
  const names = (await agent.listPrompts()).prompts.map((p) => p.name);
  assert.deepEqual(names.sort(), ['diagnose_host', 'explain_event']);
  const d = await agent.getPrompt({ name: 'diagnose_host' });
  assert.match(d.messages[0].content.text, /get_system_health/);
  const e = await agent.getPrompt({ name: 'explain_event', arguments: { event_id: '7' } });
  assert.match(e.messages[0].content.text, /event 7/);
});

test('a proposed fix waits for a person: it is in the REST API and the agent cannot approve it', async () => {
  const events = (await rest('GET', '/api/agent/monitor/events?limit=50', k.tokens.agent)).json.events;
  const ev = events.find((e) => e.type === 'memory_high') ?? events[0];
  const r = await agent.callTool({ name: 'propose_fix', arguments: { event_id: ev.id } });
  assert.equal(r.isError, false, JSON.stringify(r.content));
  const p = r.structuredContent;
  assert.ok(Number.isInteger(p.id));
  assert.match(p.sha256, /^[0-9a-f]{64}$/);
  assert.ok(p.script.length > 0);
  assert.ok(p.dry_run, 'the dry run came back');
  const got = await rest('GET', `/api/agent/remediations/${p.id}`, k.tokens.agent);
  assert.equal(got.status, 200);
  assert.equal(got.json.state, 'proposed');
  assert.equal(got.json.sha256, p.sha256);
  const listed = await rest('GET', '/api/agent/remediations?state=proposed', k.tokens.agent);
  assert.ok(listed.json.remediations.some((x) => x.id === p.id));
  const approve = await rest('POST', `/api/agent/remediations/${p.id}/approve`, k.tokens.agent, { sha256: p.sha256 });
  assert.equal(approve.status, 403);
  assert.equal(approve.json.error.code, 'insufficient_scope');
  const audit = (await rest('GET', '/api/agent/audit?limit=1000', k.tokens.agent)).json.audit;
  assert.ok(audit.some((a) => a.remediation_id === p.id && a.action === 'proposed' && /^token agent /.test(a.who)),
    JSON.stringify(audit.filter((a) => a.remediation_id === p.id)));
  assert.ok(!audit.some((a) => a.remediation_id === p.id && a.action === 'approved'));
  // There is no tool to approve with, whatever the token.
  assert.ok(!(await admin.listTools()).tools.some((t) => /approve/.test(t.name)));
});
