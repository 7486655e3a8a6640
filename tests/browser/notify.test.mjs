// notify.test.mjs - the dashboard's Notifications section: the channels of
// the notify list with their state, and a test message sent from the page
// (with the token) that a webhook receiver on loopback gets, after which the
// channel's row shows it delivered. A second channel points at a port where
// nothing listens: its row shows the error. Silences are made from the
// form and ended from their row; the maintenance windows are listed. Run by ctest beside
// dashboard.test.mjs, with the same environment.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, existsSync, cpSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM, launch, eventually } from './chromium.mjs';
import { Fixture, Kotod } from './kotod.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const KOTOD = process.env.KOTOD;
const WEB_DIR = process.env.KT_WEB_DIR || join(dirname(KOTOD ?? '.'), 'web');

let dir, kotod, browser, page, receiver, deadPort;
const received = []; // {id, body}
const consoleErrors = [];

const listen = (srv) => new Promise((r) => srv.listen(0, '127.0.0.1', () => r(srv.address().port)));
const cell = async (channel, cls) => ((await page.locator(`#notify-rows tr[data-channel="${channel}"] .${cls}`).textContent()) ?? '').trim();

before(async () => {
  assert.ok(KOTOD, 'KOTOD must name the kotod binary');
  assert.ok(existsSync(CHROMIUM), `no browser at ${CHROMIUM}: apt-get install chromium (scripts/install-deps.sh)`);
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      received.push({ id: req.headers['webhook-id'], body: JSON.parse(body) });
      res.end();
    });
  });
  const port = await listen(receiver);
  const dead = createServer();
  deadPort = await listen(dead);
  await new Promise((r) => dead.close(r)); // a port where nothing listens now
  dir = mkdtempSync(join(tmpdir(), 'koto-notify-'));
  const fixture = new Fixture(repo, dir);
  fixture.setMemAvailable(8000000); // 50 %: no memory_high; only test messages go out
  const lua = join(dir, 'lua');
  cpSync(join(repo, 'lua', 'lib'), join(lua, 'lib'), { recursive: true });
  cpSync(join(repo, 'tests', 'browser', 'lua'), lua, { recursive: true });
  const conf = join(dir, 'koto.conf.lua');
  writeFileSync(conf, `notify = {
  { name = "ops", kind = "webhook", url = "http://127.0.0.1:${port}/hook", types = { "memory_high" } },
  { name = "nowhere", kind = "webhook", url = "http://127.0.0.1:${deadPort}/hook", backoff_ms = 100,
    types = { "memory_high" } },
}
maintenance = { { name = "backups", days = { "sun" }, start = "02:00", ["end"] = "04:00" } }
`);
  kotod = await new Kotod(KOTOD, { fixture, stateDir: join(dir, 'state'), webDir: WEB_DIR, luaDir: lua, config: conf }).start();
  browser = await launch(join(dir, 'chromium'));
  page = browser.pages()[0] ?? await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(`uncaught: ${e.message}`));
  assert.equal((await page.goto(`${kotod.base}/monitoring-dashboard`)).status(), 200);
});

after(async () => {
  await browser?.close();
  const r = await kotod?.stop();
  receiver?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (r) assert.deepEqual(r, { code: 0, signal: null }, `kotod did not exit cleanly:\n${kotod.log.slice(-3000)}`);
});

test('the channels are listed, nothing sent yet', async () => {
  await eventually(async () => assert.equal(await page.locator('#notify').isVisible(), true));
  // The section shows before the first answer about the channels fills it.
  await eventually(async () =>
    assert.deepEqual(await page.locator('#notify-rows th').allTextContents(), ['ops', 'nowhere']));
  assert.equal(await cell('ops', 'notify-sent'), '0');
  assert.equal(await cell('ops', 'notify-success'), '—');
});

test('without the token a test message is refused, and the page says why', async () => {
  await page.locator('#notify-rows button[data-channel="ops"]').click();
  await eventually(async () => assert.match(await page.locator('#notify-msg').textContent(), /Enter the API token/));
  assert.equal(received.length, 0);
});

test('with the token the receiver gets it, and the row shows it delivered', async () => {
  await page.evaluate((t) => sessionStorage.setItem('koto.token', t), kotod.token);
  await page.locator('#notify-rows button[data-channel="ops"]').click();
  await eventually(async () => assert.match(await page.locator('#notify-msg').textContent(), /^Test message msg_[0-9a-f]{32} queued for ops\.$/));
  const id = (await page.locator('#notify-msg').textContent()).match(/msg_[0-9a-f]{32}/)[0];
  await eventually(() => assert.deepEqual(received.map((r) => [r.id, r.body.type]), [[id, 'koto.test']]));
  await eventually(async () => assert.equal(await cell('ops', 'notify-sent'), '1'), 15000);
  assert.notEqual(await cell('ops', 'notify-success'), '—');
});

test('a channel whose receiver is down shows its error and its queue', async () => {
  await page.locator('#notify-rows button[data-channel="nowhere"]').click();
  await eventually(async () => {
    assert.match(await cell('nowhere', 'notify-error'), /Couldn't connect|refused|connect/i);
    assert.equal(await cell('nowhere', 'notify-queued'), '1');
  }, 15000);
  assert.equal(await page.locator('#notify-rows tr[data-channel="nowhere"]').evaluate((r) => r.classList.contains('notify-bad')), true);
});

test('a silence is made from the form, listed, and ended from its row', async () => {
  await eventually(async () => assert.match(await page.locator('#maint-windows').textContent(), /^Maintenance windows: backups \((open now|closed)\)\.$/));
  assert.equal(await page.locator('#silence-none').isVisible(), true);
  await page.locator('#silence-type').selectOption('disk_full');
  await page.locator('#silence-subject').fill('/var');
  await page.locator('#silence-duration').selectOption('14400');
  await page.locator('#silence-comment').fill('resizing /var');
  await page.locator('#silence-form button[type="submit"]').click();
  await eventually(async () => assert.match(await page.locator('#notify-msg').textContent(), /^Silence 1 made: /));
  const row = page.locator('#silence-rows tr[data-silence="1"]');
  await eventually(async () => assert.equal(await row.count(), 1));
  assert.match(await row.textContent(), /\/var/);
  assert.match(await row.textContent(), /resizing \/var/);
  const api = await kotod.api('GET', '/api/agent/silences');
  assert.deepEqual(api.json.silences.map((x) => [x.id, x.state, x.matchers.type, x.matchers.subject]),
    [[1, 'active', 'disk_full', '/var']]);
  assert.ok(api.json.silences[0].ends_at - api.json.silences[0].starts_at === 14400 * 1000);
  await page.locator('#silence-rows button[data-silence="1"]').click();
  await eventually(async () => assert.equal(await page.locator('#silence-rows tr').count(), 0));
  assert.equal(await page.locator('#silence-none').isVisible(), true);
  assert.equal((await kotod.api('GET', '/api/agent/silences')).json.silences[0].state, 'expired');
});

test('no console errors but the refused test message', () => {
  assert.deepEqual(consoleErrors.filter((e) => !/401/.test(e)), []);
});
