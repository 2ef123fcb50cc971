// `plan --estimate` and `download --dry-run --estimate` over real sockets against the project's
// Tardis-compatible test server (tests/support/tardis_server.mjs). The dataset files are
// GENERATED here with known sizes (their bytes are filler, not gzip: only their sizes are read),
// so the printed estimate can be checked against the exact sums, and the server's request log
// shows how many requests were made and with which method.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { startServer } from '../support/tardis_server.mjs';
import { BIN } from './lib/harness.mjs';

const DAYS = Array.from({ length: 10 }, (_, i) => `2024-01-${String(i + 1).padStart(2, '0')}`);
const SYMBOLS = ['BTCUSDT', 'ETHUSDT'];
// Every trades file 1,000 bytes, every quotes file 3,000 + 100 x (symbol index): within a
// stratum (exchange x data type) sizes are equal, so any sample of it extrapolates exactly.
const SIZE = (type, si) => (type === 'trades' ? 1000 : 3000 + 100 * si);
let srv;
let dataDir;
let out;
let exactTotal = 0;

function run(args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, {
      env: { PATH: process.env.PATH, TARDIS_DATASETS_URL: srv.url, TARDIS_API_KEY: 'k', ...env },
    });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const SELECTION = ['--from', DAYS[0], '--to', DAYS.at(-1), '--exchanges', 'binance-futures',
  '--data-types', 'trades,quotes', '--symbols', SYMBOLS.join(',')];

async function planJson(extra, env) {
  const r = await run(['plan', ...SELECTION, '--output', out, '--json', '--estimate', ...extra], env);
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
}

function headsAndGets() {
  const reqs = srv.stats().requests.filter((q) => q.path.includes('.csv.gz'));
  return { head: reqs.filter((q) => q.method === 'HEAD').length, get: reqs.filter((q) => q.method === 'GET').length, reqs };
}

before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-estimate-data-'));
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-estimate-out-'));
  for (const day of DAYS) {
    for (const [si, sym] of SYMBOLS.entries()) {
      for (const type of ['trades', 'quotes']) {
        fs.writeFileSync(path.join(dataDir, `binance-futures_${type}_${day}_${sym}.csv.gz`), Buffer.alloc(SIZE(type, si), 7));
        exactTotal += SIZE(type, si);
      }
    }
  }
  srv = await startServer({ dataDirs: [dataDir] });
});
after(async () => {
  await srv?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(out, { recursive: true, force: true });
});

test('every item sampled: the estimate is the exact sum of the sizes, by HEAD only', async () => {
  const before = headsAndGets();
  const j = await planJson(['--estimate-samples', '40']);
  const e = j.estimate;
  assert.equal(j.count, 40);
  assert.equal(e.items, 40);
  assert.equal(e.samples, 40);
  assert.equal(e.requests, 40);
  assert.equal(e.bytes, exactTotal); // 20 x 1000 + 10 x 3000 + 10 x 3100 = 81,000
  assert.equal(exactTotal, 81000);
  assert.equal(e.standard_error_bytes, 0);
  assert.equal(e.objects, 40);
  const after_ = headsAndGets();
  assert.equal(after_.head - before.head, 40);
  assert.equal(after_.get - before.get, 0);
});

test('8 samples of 40 items spread over both strata, both symbols and eight days; extrapolation exact', async () => {
  const n0 = headsAndGets().reqs.length;
  const j = await planJson(['--estimate-samples', '8', '--estimate-mb-per-second', '0.0001']);
  const e = j.estimate;
  assert.equal(e.samples, 8);
  assert.equal(e.requests, 8);
  // Within each stratum the sizes depend on the symbol only through quotes, and quotes are
  // sampled on both symbols in equal numbers (4 samples: 2 per symbol), so the estimate is exact.
  const byStratum = Object.fromEntries(e.strata.map((s) => [s.data_type, s]));
  assert.equal(byStratum.trades.items, 20);
  assert.equal(byStratum.trades.sampled, 4);
  assert.equal(byStratum.trades.bytes, 20000);
  assert.equal(byStratum.quotes.sampled, 4);
  assert.equal(byStratum.quotes.bytes, 61000);
  assert.equal(e.bytes, 81000);
  // 81,000 bytes at 100 bytes/s (0.0001 MB/s): 810 s = 0.225 h.
  assert.ok(Math.abs(e.machine_hours - 0.225) < 1e-9, String(e.machine_hours));
  const sampled = headsAndGets().reqs.slice(n0).map((q) => decodeURIComponent(q.path));
  assert.equal(sampled.length, 8);
  for (const sym of SYMBOLS) assert.ok(sampled.some((u) => u.includes(sym)), `${sym} sampled: ${sampled}`);
  const days = new Set(sampled.map((u) => u.match(/\/(\d{4}\/\d{2}\/\d{2})\//)[1]));
  assert.ok(days.size >= 4, `days sampled: ${[...days]}`);
  // Deterministic: the same plan samples the same files.
  const n1 = headsAndGets().reqs.length;
  await planJson(['--estimate-samples', '8']);
  assert.deepEqual(headsAndGets().reqs.slice(n1).map((q) => q.path), headsAndGets().reqs.slice(n0, n0 + 8).map((q) => q.path));
});

test('the table names the figure used, the objects and the machine-hours', async () => {
  const r = await run(['plan', ...SELECTION, '--output', out, '--estimate', '--estimate-samples', '40'],
    { ESTIMATE_MB_PER_SECOND: '0.0001' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /estimate: 81\.00 KB to download \(40 items, 40 sampled by 40 requests; \+\/- 0 B one standard error\)/);
  assert.match(r.stdout, /estimate: 40 objects to write/);
  assert.match(r.stdout, /estimate: 0\.23 machine-hours at 0\.0001 MB\/s of compressed download per machine \(ESTIMATE_MB_PER_SECOND\)/);
});

test('a server that refuses HEAD is asked with a one-byte ranged GET', async () => {
  srv.setFaults({ noHead: {} });
  try {
    const n0 = headsAndGets().reqs.length;
    // The first sample costs two requests (HEAD refused, then GET); the rest go straight to GET.
    const j = await planJson(['--estimate-samples', '41']);
    assert.equal(j.estimate.bytes, exactTotal);
    assert.equal(j.estimate.samples, 40);
    assert.equal(j.estimate.requests, 41);
    const reqs = headsAndGets().reqs.slice(n0);
    assert.equal(reqs.filter((q) => q.method === 'HEAD').length, 1);
    const gets = reqs.filter((q) => q.method === 'GET');
    assert.equal(gets.length, 40);
    for (const g of gets) {
      assert.equal(g.range, 'bytes=0-0');
      assert.equal(g.status, 206);
    }
  } finally {
    srv.setFaults({});
  }
});

test('a missing file counts as 0 bytes and is reported; download --dry-run --estimate prints the same', async () => {
  const gone = path.join(dataDir, 'binance-futures_trades_2024-01-05_ETHUSDT.csv.gz');
  const keep = fs.readFileSync(gone);
  fs.rmSync(gone);
  try {
    const j = await planJson(['--estimate-samples', '40']);
    assert.equal(j.estimate.not_available, 1);
    assert.equal(j.estimate.bytes, exactTotal - 1000);
    const d = await run(['download', ...SELECTION, '--output', out, '--dry-run', '--estimate', '--estimate-samples', '40']);
    assert.equal(d.status, 0, d.stderr);
    assert.match(d.stderr, /estimate: 80\.00 KB to download \(40 items, 40 sampled by 40 requests/);
    assert.match(d.stderr, /estimate: 1 sampled files do not exist \(404\), counted as 0 bytes/);
    assert.equal(d.stdout.trim().split('\n').length, 40); // the URLs, as before
    assert.deepEqual(fs.readdirSync(out), []); // nothing written
  } finally {
    fs.writeFileSync(gone, keep);
  }
});

test('--estimate without --dry-run and without a reachable server', async () => {
  const u = await run(['download', ...SELECTION, '--output', out, '--estimate']);
  assert.equal(u.status, 2);
  assert.match(u.stderr, /--estimate goes with --dry-run/);
  // No key for paid days: every sample is refused (401), a configuration error.
  const k = await run(['plan', ...SELECTION, '--output', out, '--estimate', '--estimate-samples', '4'], { TARDIS_API_KEY: '' });
  assert.equal(k.status, 2, k.stderr);
  assert.match(k.stderr, /estimate: no dataset size could be read: .*HTTP 401/);
  // Nothing listens: the first sample's retries (3 attempts) end the sampling, exit 3 (a retry may work).
  const t0 = Date.now();
  const dead = await run(['plan', ...SELECTION, '--output', out, '--estimate'], { TARDIS_DATASETS_URL: 'http://127.0.0.1:9' });
  assert.equal(dead.status, 3, dead.stderr);
  assert.match(dead.stderr, /estimate: no dataset size could be read: .*127\.0\.0\.1:9\/v1\/binance-futures/);
  assert.ok(Date.now() - t0 < 20000, `took ${Date.now() - t0} ms: one sample's retries, not 32`);
});
