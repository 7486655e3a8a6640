// thresholds.test.mjs - the dashboard's threshold lines come from kotod's
// configuration (GET /api/agent/config), per filesystem too, and follow a
// reload, by POST /api/agent/reload or by SIGHUP, without a page refresh.
// Run by ctest beside dashboard.test.mjs, with the same environment.
//
// The fixture (tests/browser/kotod.mjs) holds memory at 50 %; the CPU and
// memory thresholds below are none of the defaults (85, 90), and the memory
// one is never crossed, so no event can carry it to the page: only the
// configuration can. The filesystems are the machine's own (kotod reads
// them with statvfs, df's formula), so the disk thresholds are set around
// the fullest one's use, read the same way: one below it, one above.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, existsSync, cpSync, writeFileSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM, launch, eventually } from './chromium.mjs';
import { Fixture, Kotod } from './kotod.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const KOTOD = process.env.KOTOD;
const WEB_DIR = process.env.KT_WEB_DIR || join(dirname(KOTOD ?? '.'), 'web');

let dir, conf, kotod, browser, page;
const consoleErrors = [];
const requests = []; // every URL the page asked for

// The fixture's mount points (its mountinfo), as kotod computes their use.
function usedPct(mount) {
  try {
    const s = statfsSync(mount);
    const used = s.blocks - s.bfree;
    return s.blocks > 0 ? (used / (used + s.bavail)) * 100 : null;
  } catch {
    return null;
  }
}
const [fullest, used] = ['/', '/dev/shm'].map((m) => [m, usedPct(m)])
  .filter(([, u]) => u !== null).sort((a, b) => b[1] - a[1])[0] ?? [null, null];
// A few points of room either way: the machine writes while the test runs.
const below = Math.floor(used) - 3;
const above = Math.ceil(used) + 3;

// koto.conf.lua with these thresholds; own: the fullest filesystem's own, if any.
function writeConf({ cpu, memory, disk, own }) {
  const fs = own === undefined ? '' : `["${fullest}"] = { threshold = ${own} }`;
  writeFileSync(conf, `thresholds = {
  cpu = { threshold = ${cpu} },
  memory = { threshold = ${memory} },
  disk = { threshold = ${disk} },
  filesystems = { ${fs} },
}
`);
}

const caption = async (chart) => ((await page.locator(`#chart-${chart} .chart-now`).textContent()) ?? '').trim();
const configFetches = () => requests.filter((u) => u === `${kotod.base}/api/agent/config`).length;
// The bar of one filesystem's row in the "Now" card: "over" past its threshold.
const fsBarOver = (mount) => page.locator('#fs-rows tr')
  .filter({ has: page.locator('th', { hasText: new RegExp(`^${mount}$`) }) })
  .locator('.bar').evaluate((b) => b.classList.contains('over'));

async function expectThresholds({ cpu, memory, disk }) {
  await eventually(async () => {
    assert.match(await caption('cpu'), new RegExp(` · threshold ${cpu}%$`));
    assert.match(await caption('memory'), new RegExp(` · threshold ${memory}%$`));
    assert.match(await caption('disk'), new RegExp(`^Used [\\d.]+% · threshold ${disk}%$`));
  });
}

before(async () => {
  assert.ok(KOTOD, 'KOTOD must name the kotod binary');
  assert.ok(existsSync(CHROMIUM), `no browser at ${CHROMIUM}: apt-get install chromium (scripts/install-deps.sh)`);
  assert.ok(used >= 5 && used <= 95, `the fullest of / and /dev/shm is ${used} % used: this test needs `
    + 'it between 5 and 95 %, to set one threshold below it and one above');
  dir = mkdtempSync(join(tmpdir(), 'koto-thresholds-'));
  const fixture = new Fixture(repo, dir);
  fixture.setMemAvailable(8000000); // 50 %
  const lua = join(dir, 'lua');
  cpSync(join(repo, 'lua', 'lib'), join(lua, 'lib'), { recursive: true });
  cpSync(join(repo, 'tests', 'browser', 'lua'), lua, { recursive: true });
  conf = join(dir, 'koto.conf.lua');
  // The disk chart plots the fullest filesystem, which has its own
  // threshold: the chart draws that one, not the general one.
  writeConf({ cpu: 80, memory: 70, disk: above, own: below });
  kotod = await new Kotod(KOTOD, { fixture, stateDir: join(dir, 'state'), webDir: WEB_DIR, luaDir: lua, config: conf }).start();

  browser = await launch(join(dir, 'chromium'));
  page = browser.pages()[0] ?? await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(`uncaught: ${e.message}`));
  page.on('request', (r) => requests.push(r.url()));
  assert.equal((await page.goto(`${kotod.base}/monitoring-dashboard`)).status(), 200);
});

after(async () => {
  await browser?.close();
  const r = await kotod?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (r) assert.deepEqual(r, { code: 0, signal: null }, `kotod did not exit cleanly:\n${kotod.log.slice(-3000)}`);
});

test('the threshold lines are the configured ones, a filesystem\'s own included', async () => {
  await expectThresholds({ cpu: 80, memory: 70, disk: below });
  // Its bar in the "Now" card is judged by its own threshold too.
  await eventually(async () => assert.equal(await fsBarOver(fullest), true));
});

test('a reload by POST changes them without a page refresh, and nothing polls for them', async () => {
  await page.evaluate(() => { window.kotoNoReload = true; });
  // Fetched when the stream opened, and not again while nothing changes.
  const before = configFetches();
  assert.equal(before, 1);
  await new Promise((r) => setTimeout(r, 1000)); // five readings at kotod's 200 ms
  assert.equal(configFetches(), before);

  writeConf({ cpu: 95, memory: 60, disk: below, own: above });
  const res = await kotod.api('POST', '/api/agent/reload', { auth: true });
  assert.equal(res.status, 200, res.text);
  await expectThresholds({ cpu: 95, memory: 60, disk: above });
  await eventually(async () => assert.equal(await fsBarOver(fullest), false));
  assert.equal(configFetches(), before + 1);
  assert.equal(await page.evaluate(() => window.kotoNoReload), true, 'the page was reloaded');
});

test('a SIGHUP reload is followed too; without a threshold of its own a filesystem gets the general one', async () => {
  writeConf({ cpu: 90, memory: 55, disk: below - 1 });
  kotod.proc.kill('SIGHUP');
  await expectThresholds({ cpu: 90, memory: 55, disk: below - 1 });
  await eventually(async () => assert.equal(await fsBarOver(fullest), true));
  assert.equal(await page.evaluate(() => window.kotoNoReload), true, 'the page was reloaded');
});

test('no console errors and no requests to anywhere else', () => {
  assert.deepEqual(consoleErrors, []);
  assert.deepEqual(requests.filter((u) => !u.startsWith(`${kotod.base}/`) && !u.startsWith('data:')), []);
});
