// budget.test.mjs - kotod over its own budget, as the dashboard shows it:
// the summary says what it sheds, and the top processes say when they are
// the reading before's (every second reading leaves the per-process scan
// out). kotod reads a fixture tree holding its own /proc/PID/stat, so it
// finds itself with its real figures, over a 1 MiB budget it cannot meet.
// The tree also has no /proc/pressure, as on kernels before 4.20 (or with
// psi=0): the pressure chart is not shown.
// Run by ctest beside dashboard.test.mjs, with the same environment.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM, launch, eventually } from './chromium.mjs';
import { Fixture, Kotod } from './kotod.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const KOTOD = process.env.KOTOD;
const WEB_DIR = process.env.KT_WEB_DIR || join(dirname(KOTOD ?? '.'), 'web');

let dir, fixture, kotod, browser, page, copier;
const consoleErrors = [];
const text = async (sel) => ((await page.locator(sel).first().textContent()) ?? '').trim();

before(async () => {
  assert.ok(KOTOD, 'KOTOD must name the kotod binary');
  assert.ok(existsSync(CHROMIUM), `no browser at ${CHROMIUM}: apt-get install chromium (scripts/install-deps.sh)`);
  dir = mkdtempSync(join(tmpdir(), 'koto-budget-'));
  fixture = new Fixture(repo, dir);
  fixture.setMemAvailable(8000000);
  rmSync(join(fixture.proc, 'pressure'), { recursive: true });
  const conf = join(dir, 'koto.conf.lua');
  writeFileSync(conf, 'budget_rss_mb = 1\n', { mode: 0o600 });
  kotod = await new Kotod(KOTOD, { fixture, stateDir: join(dir, 'state'), webDir: WEB_DIR, config: conf }).start();
  // kotod's own stat, copied into the tree as it changes.
  const pid = String(kotod.proc.pid);
  mkdirSync(join(fixture.proc, pid), { recursive: true });
  fixture.write(join(pid, 'cmdline'), readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  const copy = () => fixture.write(join(pid, 'stat'), readFileSync(`/proc/${pid}/stat`, 'utf8'));
  copy();
  copier = setInterval(copy, 100);
  browser = await launch(join(dir, 'chromium'));
  page = browser.pages()[0] ?? await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(`uncaught: ${e.message}`));
  assert.equal((await page.goto(`${kotod.base}/monitoring-dashboard`)).status(), 200);
});

after(async () => {
  clearInterval(copier);
  await browser?.close();
  const r = await kotod?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (r) assert.deepEqual(r, { code: 0, signal: null }, `kotod did not exit cleanly:\n${kotod.log.slice(-3000)}`);
});

test('the summary says kotod is over its budget and what it sheds', async () => {
  await eventually(async () => {
    assert.match(await text('#sum-self'),
      /^kotod is over its budget: [\d.]+ [KMG]?i?B of 1 MiB, \S+ of a core \(budget 1(\.0+)? ?%\)\. Until it is back under, it stores fewer series and scans the processes every second reading\.$/);
  }, 20000);
});

test('the top processes say when they are the reading before\'s, and only then', async () => {
  const seen = new Set();
  await eventually(async () => {
    const carried = await page.isVisible('#procs-carried');
    seen.add(carried);
    if (carried) {
      assert.match(await text('#procs-carried'), /^From the reading before: kotod is over its budget and scans the processes every second reading\.$/);
      // The carried table is shown, not an empty one.
      assert.ok(await page.locator('#top-mem-rows tr').count() > 0);
    }
    assert.deepEqual([...seen].sort(), [false, true]);
  }, 20000);
});

test('without pressure stall information there is no pressure chart', async () => {
  await eventually(async () => assert.notEqual(await text('#chart-cpu .chart-now'), '—'));
  assert.equal(await page.isVisible('#chart-cpu'), true);
  assert.equal(await page.isVisible('#chart-pressure'), false);
});

test('no console errors', () => {
  assert.deepEqual(consoleErrors, []);
});
