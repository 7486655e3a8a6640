// conformance.mjs - the official MCP conformance suite's server scenarios
// (@modelcontextprotocol/conformance, pinned in package-lock.json) against
// the real kotod, under each protocol era kotod speaks. Scenarios that
// cannot apply to kotod are listed, each with its reason, in
// conformance-expected.yaml; the suite fails on any other failure, and on a
// listed one that starts to pass.
//
// kotod wants a token on every MCP request and the suite sends none, so the
// suite talks to a small relay on loopback that adds the Authorization
// header, as an MCP client's configuration would, and passes everything
// else (Host and Origin included, for the rebinding checks) unchanged.
// Run by ctest: KOTOD=path/to/kotod node conformance.mjs
import http from 'node:http';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startKotod, repo } from './kotod.mjs';

const k = await startKotod({ tokens: { conformance: null } });
const target = new URL(k.base);

const relay = http.createServer((req, res) => {
  const headers = { ...req.headers, authorization: `Bearer ${k.tokens.conformance}` };
  const up = http.request({ host: target.hostname, port: target.port, method: req.method,
    path: req.url, headers }, (r) => {
    res.writeHead(r.statusCode, r.headers);
    r.pipe(res);
  });
  up.on('error', () => { res.writeHead(502); res.end(); });
  req.pipe(up);
});
await new Promise((r) => relay.listen(0, '127.0.0.1', r));
const url = `http://localhost:${relay.address().port}/mcp`;

function run(args) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [
      '--import', join(repo, 'tests/mcp/node20-fs.mjs'),
      join(repo, 'node_modules/@modelcontextprotocol/conformance/dist/index.js'),
      'server', '--url', url,
      '--expected-failures', join(repo, 'tests/mcp/conformance-expected.yaml'), ...args],
    { stdio: ['ignore', 'inherit', 'inherit'], cwd: k.dir });
    p.on('exit', (code) => resolve(code));
  });
}

let failed = 0;
for (const version of ['2025-11-25', '2026-07-28']) {
  console.log(`\n==== conformance, server scenarios, ${version} ====`);
  const code = await run(['--requirements', version, '-o', join(k.dir, `results-${version}`)]);
  console.log(`==== ${version}: exit ${code}`);
  if (code !== 0) failed++;
}
relay.close();
if (process.env.KEEP_RESULTS) console.log(`results in ${k.dir}`); else k.stop();
console.log(`${2 - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
