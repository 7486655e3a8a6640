// kotod.mjs - what the browser test drives: a real kotod on a loopback
// port, reading a private copy of the linux-basic fixture that the test
// edits to make things happen.
//
// A procfs copy that never changes gives no rates (every counter's delta is
// 0, so CPU % and bytes/s are unknown), so the Ticker advances the copy one
// fixture step (t0 -> t1, the README's "elapsed = 10 s") after each reading
// kotod announces on its stream. Every reading then sees exactly one step:
// CPU busy 92 %, cpu0 98 %, cpu1 86 %, eth0 1 MB/s received, "a) (b" at 95 %.
import { spawn } from 'node:child_process';
import { cpSync, readFileSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';

// Files whose counters tick, written in the reverse of the order kotod reads
// them (uptime first), so a reading never pairs a new uptime with old counters.
const TICKING = ['diskstats', 'net/dev', '5000/stat', '4242/stat', '4100/stat', '3700/stat', '2/stat',
  '1/stat', 'vmstat', 'stat', 'uptime'];

// Step k of a file: each number that grows from t0 to t1 grows k times as
// much; the rest (names, gauges that fall such as procs_running) stay at t0.
function frame(t0, t1, k) {
  const num = /\d+(?:\.\d+)?/g;
  const b = t1.match(num);
  let i = 0;
  const out = t0.replace(num, (a) => {
    const next = Number(b[i++]);
    const cur = Number(a);
    if (!(next > cur)) return a;
    const decimals = a.includes('.') ? a.split('.')[1].length : 0;
    return (cur + k * (next - cur)).toFixed(decimals);
  });
  if (i !== b.length) throw new Error('t0 and t1 differ in shape');
  return out;
}

export class Fixture {
  constructor(repo, dir) {
    this.src = join(repo, 'tests/fixtures/linux-basic');
    this.proc = join(dir, 'proc');
    this.sys = join(this.src, 'sys');
    cpSync(join(this.src, 't0'), this.proc, { recursive: true });
    this.k = 0;
    this.files = TICKING.map((f) => [f, readFileSync(join(this.src, 't0', f), 'utf8'),
      readFileSync(join(this.src, 't1', f), 'utf8')]);
  }

  write(rel, text) {
    const path = join(this.proc, rel);
    writeFileSync(`${path}.new`, text);
    renameSync(`${path}.new`, path); // kotod sees the old file or the new, never half
  }

  advance() {
    this.k++;
    for (const [f, a, b] of this.files) this.write(f, frame(a, b, this.k));
  }

  // MemTotal is 16000000 kB: 8000000 is 50 % used, 480000 is 97 %.
  setMemAvailable(kB) {
    const t0 = readFileSync(join(this.src, 't0', 'meminfo'), 'utf8');
    this.write('meminfo', t0.replace(/^MemAvailable:.*$/m, `MemAvailable:   ${kB} kB`));
  }
}

export class Kotod {
  // config: a koto.conf.lua of the test's own (-c), else luaDir's or the defaults.
  // host: the address to listen on; 0.0.0.0 (every request needs the token)
  // is reached on 127.0.0.1.
  constructor(bin, { fixture, stateDir, webDir, luaDir, config, host = '127.0.0.1' }) {
    Object.assign(this, { bin, fixture, stateDir, webDir, luaDir, config, host });
    this.port = 0;
    this.log = '';
  }

  async start() {
    this.log = '';
    this.proc = spawn(this.bin, [
      '--procfs', this.fixture.proc, '--sysfs', this.fixture.sys,
      '--listen', `${this.host}:${this.port}`, '--interval', '200',
      '--state-dir', this.stateDir, '--web-dir', this.webDir,
      ...(this.luaDir ? ['--lua-dir', this.luaDir] : []),
      ...(this.config ? ['-c', this.config] : []),
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, signal) => resolve({ code, signal })));
    this.base = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`kotod did not start:\n${this.log}`)), 15000);
      this.proc.stderr.on('data', (chunk) => {
        this.log += chunk;
        const m = this.log.match(/dashboard at (https?:\/\/[^/]+)\//);
        if (m) {
          clearTimeout(timer);
          resolve(m[1].replace('//0.0.0.0:', '//127.0.0.1:'));
        }
      });
      this.proc.on('exit', () => reject(new Error(`kotod exited at start:\n${this.log}`)));
    });
    this.port = Number(new URL(this.base).port); // a restart comes back on the same port
    this.token = readFileSync(join(this.stateDir, 'token'), 'utf8').trim();
    return this;
  }

  // SIGTERM, and the exit status (0 when it stopped cleanly, also under ASan).
  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return this.exited;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 10000);
    const r = await this.exited;
    clearTimeout(timer);
    return r;
  }

  async api(method, path, { auth = false, body } = {}) {
    const headers = auth ? { Authorization: `Bearer ${this.token}` } : {};
    const res = await fetch(this.base + path, { method, headers, body: body && JSON.stringify(body) });
    const text = await res.text();
    let json = null;
    try { json = JSON.parse(text); } catch { /* a stream or text */ }
    return { status: res.status, json, text };
  }
}

// Follows kotod's stream and advances the fixture after every reading;
// reconnects while kotod restarts. stop() ends it.
export function tick(kotod, fixture) {
  let stopped = false;
  let ctl = null;
  (async () => {
    while (!stopped) {
      ctl = new AbortController();
      try {
        const res = await fetch(`${kotod.base}/api/agent/monitor/stream`, {
          signal: ctl.signal, headers: { Authorization: `Bearer ${kotod.token}` },
        });
        const decoder = new TextDecoder();
        let buf = '';
        for await (const chunk of res.body) {
          buf += decoder.decode(chunk, { stream: true });
          let end;
          while ((end = buf.indexOf('\n\n')) >= 0) {
            if (/^event: sample$/m.test(buf.slice(0, end))) fixture.advance();
            buf = buf.slice(end + 2);
          }
        }
      } catch { /* kotod is restarting, or we stopped */ }
      if (!stopped) await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return { stop() { stopped = true; ctl?.abort(); } };
}
