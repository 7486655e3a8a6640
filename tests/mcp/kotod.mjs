// kotod.mjs - the real kotod for the MCP tests: started on a loopback port
// over the linux-basic fixture, with its state in a fresh directory; named
// tokens made the way a person makes them (kotod --token add).
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, cpSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export async function startKotod({ tokens = {}, extra = [] } = {}) {
  const KOTOD = process.env.KOTOD;
  const dir = mkdtempSync(join(tmpdir(), 'koto-mcp-'));
  cpSync(join(repo, 'tests/fixtures/linux-basic/t0'), join(dir, 'proc'), { recursive: true });
  const state = ['--state-dir', join(dir, 'state')];
  const made = {};
  for (const [name, scope] of Object.entries(tokens)) {
    const args = [...state, '--token', 'add', name];
    if (scope) args.push('--scope', scope);
    made[name] = execFileSync(KOTOD, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  }
  const proc = spawn(KOTOD, [
    '--procfs', join(dir, 'proc'), '--sysfs', join(repo, 'tests/fixtures/linux-basic/sys'),
    '--listen', '127.0.0.1:0', '--interval', '100', ...state, ...extra,
    '--web-dir', join(repo, 'web')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`kotod did not start:\n${log}`)), 10000);
    proc.stderr.on('data', (chunk) => {
      log += chunk;
      const m = log.match(/dashboard at (http:\/\/[^/]+)\//);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    proc.on('exit', (code) => reject(new Error(`kotod exited ${code}:\n${log}`)));
  });
  made.default = readFileSync(join(dir, 'state', 'token'), 'utf8').trim();
  return {
    base, dir, tokens: made, log: () => log,
    stop() { proc.kill('SIGTERM'); rmSync(dir, { recursive: true, force: true }); },
  };
}

// Polls fn until it returns a truthy value (at most ms).
export async function until(fn, ms = 10000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}
