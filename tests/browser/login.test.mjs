// login.test.mjs - the dashboard on a listener that needs the token for
// everything (kotod on 0.0.0.0 over HTTPS, reached on 127.0.0.1): the login page, a
// wrong token refused, the right one exchanged for an HttpOnly session
// cookie, live data through the stream by cookie, stop and start (with the
// session's CSRF token), logout. Pages of other origins posting forms to
// kotod, and a name rebound to 127.0.0.1, are refused. Run by ctest beside
// dashboard.test.mjs, with the same environment.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, mkdirSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM, launch, eventually } from './chromium.mjs';
import { Fixture, Kotod, tick } from './kotod.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const KOTOD = process.env.KOTOD;
const WEB_DIR = process.env.KT_WEB_DIR || join(dirname(KOTOD ?? '.'), 'web');
const SHOTS = process.env.KT_SCREENSHOT_DIR || join(dirname(KOTOD ?? '.'), 'screenshots');

let dir, kotod, ticker, browser, page, evil, evilPort;
const consoleErrors = [];

const text = async (sel) => ((await page.locator(sel).textContent()) ?? '').trim();
const running = async () => (await kotod.api('GET', '/api/agent/monitor/status', { auth: true })).json.running;

// A page of another origin whose form posts to kotod as soon as it loads:
// what a malicious site would do to a logged-in user.
function forgery(target) {
  return `<!doctype html><html><body>
<form id="f" method="POST" action="${target}/api/agent/monitor/stop" enctype="text/plain">
<input name="x" value="y"></form>
<script>document.getElementById('f').submit();</script></body></html>`;
}

before(async () => {
  assert.ok(KOTOD, 'KOTOD must name the kotod binary');
  assert.ok(existsSync(CHROMIUM), `no browser at ${CHROMIUM}: apt-get install chromium (scripts/install-deps.sh)`);
  dir = mkdtempSync(join(tmpdir(), 'koto-login-'));
  const fixture = new Fixture(repo, dir);
  fixture.setMemAvailable(8000000);
  // As a person reaches it from another machine: HTTPS, with the
  // certificate kotod makes for itself. The test's own requests (node's
  // fetch) and the browser accept it as a person would after comparing
  // its logged fingerprint.
  const conf = join(dir, 'koto.conf.lua');
  writeFileSync(conf, 'tls = "self-signed"\n', { mode: 0o600 });
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  kotod = await new Kotod(KOTOD, { fixture, stateDir: join(dir, 'state'), webDir: WEB_DIR, host: '0.0.0.0', config: conf }).start();
  assert.match(kotod.base, /^https:/);
  ticker = tick(kotod, fixture);
  evil = createServer((req, res) => {
    res.setHeader('Content-Type', 'text/html');
    res.end(forgery(kotod.base));
  });
  evilPort = await new Promise((r) => evil.listen(0, '127.0.0.1', () => r(evil.address().port)));
  // evil.example resolves to this machine, as a rebinding attack arranges.
  browser = await launch(join(dir, 'chromium'), {
    args: ['--host-resolver-rules=MAP evil.example 127.0.0.1'], ignoreHTTPSErrors: true });
  page = browser.pages()[0] ?? await browser.newPage();
  page.on('console', (m) => {
    // The refusals this test provokes are logged by the browser as failed loads.
    if (m.type() === 'error' && !/status of (401|403|421)/.test(m.text())) consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(`uncaught: ${e.message}`));
});

after(async () => {
  ticker?.stop();
  await browser?.close();
  evil?.close();
  const r = await kotod?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (r) assert.deepEqual(r, { code: 0, signal: null }, `kotod did not exit cleanly:\n${kotod.log.slice(-3000)}`);
});

test('the dashboard answers a login page', async () => {
  const res = await page.goto(`${kotod.base}/monitoring-dashboard`);
  assert.equal(res.status(), 200);
  assert.equal(await page.title(), 'koto — log in');
  assert.equal(await page.locator('#login-form').isVisible(), true);
  // Nothing of the dashboard or the API without a login.
  const probe = await page.evaluate(async () => (await fetch('/api/agent/monitor/status')).status);
  assert.equal(probe, 401);
});

test('a wrong token is refused and logged', async () => {
  await page.fill('#login-token', 'not-the-token');
  await page.click('#login-submit');
  await eventually(async () => assert.equal(await text('#login-error'), 'That token is not valid.'));
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, 'login.png') }); // for a person to look at
  assert.equal(await page.locator('#login-form').isVisible(), true);
  assert.match(kotod.log, /login from 127\.0\.0\.1 refused: wrong token/);
});

test('the token logs in: an HttpOnly session cookie, and live data through the stream', async () => {
  await page.fill('#login-token', kotod.token);
  await page.click('#login-submit');
  await eventually(async () => assert.equal(await text('#conn-text'), 'Live'), 15000);
  assert.equal(await page.title(), 'koto — system health');
  const [cookie] = (await browser.cookies(kotod.base)).filter((c) => c.name === 'koto_session');
  assert.ok(cookie, 'the session cookie is kept');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.secure, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(await page.evaluate(() => document.cookie), '', 'the page cannot read the cookie');
  // Readings keep arriving on the stream, which the cookie alone opened.
  await eventually(async () => assert.match(await text('#host'), /^koto-fixture · /));
  const reading = await text('#last-reading');
  await eventually(async () => assert.notEqual(await text('#last-reading'), reading), 5000);
  // The token is not asked for: the session stands for it.
  assert.equal(await page.locator('#btn-token').isVisible(), false);
  assert.equal(await page.locator('#btn-logout').isVisible(), true);
});

test('stop and start by session, with its CSRF token', async () => {
  await eventually(async () => assert.equal(await page.locator('#btn-stop').isEnabled(), true));
  const stop = page.waitForRequest((r) => r.url().endsWith('/api/agent/monitor/stop'));
  await page.click('#btn-stop');
  assert.match((await stop).headers()['x-csrf-token'] ?? '', /^[0-9a-f]{64}$/);
  await eventually(async () => assert.equal(await text('#mon-state'), 'stopped'));
  assert.equal(await running(), false);
  await eventually(async () => assert.equal(await page.locator('#btn-start').isEnabled(), true));
  await page.click('#btn-start');
  await eventually(async () => assert.equal(await text('#mon-state'), 'monitoring'));
  assert.equal(await running(), true);
  // The same request without the header, as another page would send it: refused.
  const bare = await page.evaluate(async () => {
    const r = await fetch('/api/agent/monitor/stop', { method: 'POST' });
    return [r.status, (await r.json()).error.code];
  });
  assert.deepEqual(bare, [403, 'csrf']);
  assert.equal(await running(), true);
});

test('a form posted from another site is refused', async () => {
  // localhost is another site than 127.0.0.1: the cookie is not even sent
  // (SameSite=Strict), and the Origin check refuses the post first.
  const other = await browser.newPage();
  const posted = other.waitForResponse((r) => r.url() === `${kotod.base}/api/agent/monitor/stop`);
  await other.goto(`http://localhost:${evilPort}/`);
  const r1 = await posted;
  assert.equal(r1.status(), 403);
  assert.equal((await r1.json()).error.code, 'cross_origin');
  // Another port of the same host is the same site but another origin: the
  // cookie goes along, and the Origin check refuses it all the same.
  const posted2 = other.waitForResponse((r) => r.url() === `${kotod.base}/api/agent/monitor/stop`);
  await other.goto(`http://127.0.0.1:${evilPort}/`);
  const r2 = await posted2;
  assert.equal(r2.status(), 403);
  assert.equal((await r2.json()).error.code, 'cross_origin');
  await other.close();
  assert.equal(await running(), true, 'monitoring was not stopped');
});

test('a DNS name rebound to 127.0.0.1 reaches nothing', async () => {
  const other = await browser.newPage();
  const port = new URL(kotod.base).port;
  const res = await other.goto(`${new URL(kotod.base).protocol}//evil.example:${port}/monitoring-dashboard`);
  assert.equal(res.status(), 421);
  assert.equal((await res.json()).error.code, 'misdirected_request');
  const api = await other.goto(`${new URL(kotod.base).protocol}//evil.example:${port}/api/agent/monitor/status`);
  assert.equal(api.status(), 421);
  await other.close();
});

test('logout ends the session', async () => {
  await page.click('#btn-logout');
  await eventually(async () => assert.equal(await page.locator('#login-form').isVisible(), true));
  assert.equal((await browser.cookies(kotod.base)).filter((c) => c.name === 'koto_session').length, 0);
  const probe = await page.evaluate(async () => (await fetch('/api/agent/monitor/status')).status);
  assert.equal(probe, 401);
  assert.match(kotod.log, /logout from 127\.0\.0\.1/);
  assert.deepEqual(consoleErrors, []);
});

test('a read-only named token logs in to watch, not to change anything', async () => {
  const made = await kotod.api('POST', '/api/agent/tokens', { auth: true, body: { name: 'viewer', scopes: 'read' } });
  assert.equal(made.status, 200);
  await page.fill('#login-token', made.json.token);
  await page.click('#login-submit');
  await eventually(async () => assert.equal(await text('#conn-text'), 'Live'), 15000);
  await eventually(async () => assert.match(await text('#control-reason'), /token 'viewer' \(read\): it may watch but not change anything/));
  for (const b of ['#btn-start', '#btn-stop', '#btn-clear']) assert.equal(await page.locator(b).isEnabled(), false, b);
  assert.equal(await page.locator('#btn-token').isVisible(), false);
  // Revoked, its session ends: the page goes back to the login form.
  assert.equal((await kotod.api('DELETE', '/api/agent/tokens/viewer', { auth: true })).status, 200);
  // The page may get there first: its next request answers 401 and it
  // reloads itself (api.js), which aborts this reload (or, caught between
  // the two documents, finds no page attached to reload).
  await page.reload().catch((e) => {
    if (!/ERR_ABORTED|frame was detached|Not attached to an active page/.test(e.message)) throw e;
  });
  await eventually(async () => assert.equal(await page.locator('#login-form').isVisible(), true));
  assert.match(kotod.log, /session of token 'viewer' ended: the token was revoked/);
});
