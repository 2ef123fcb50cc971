// End-to-end tests for `market-tick download` over real sockets against the Tardis-compatible test
// server (tests/support/tardis_server.mjs, started in process on port 0 by every test). The Parquet
// written is read back with DuckDB and compared value by value with the fixture CSV (read by
// lib/tardis.mjs, nothing shared with market-tick); runs under faults must give byte-identical files
// (SOURCE_DATE_EPOCH pins created_at), leave no *.tmp-* files, and the server's request log must show
// the behaviour (Range resume, Retry-After wait, re-download, skip without requests).
//
// The binary runs as an async child process: a synchronous spawn would block the event loop the
// in-process server needs.
//
// Binary: $MARKET_TICK_BIN or ../../build/market-tick.   Run: cd tests/js && npm test
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import dc from 'node:diagnostics_channel';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import zlib from 'node:zlib';

import { startServer } from '../support/tardis_server.mjs';
import { BIN, FIXTURE_DIR, assertRowsEqual, listFiles, mkTmp } from './lib/harness.mjs';
import { DUCKDB_TYPE, ROW_KEYED, chainKey, expectedSchema, expectedTable, parseTardisName, readTardisCsv } from './lib/tardis.mjs';
import { closeDuckdb, duckDescribe, duckReadAll } from './lib/readers.mjs';

const SDE = '1700000000'; // SOURCE_DATE_EPOCH for every run: created_at pinned, bytes comparable
const KEY = 'test-key-0001'; // any non-empty key is valid for a server started without apiKey
const SECRET_KEY = 'mtk-SECRET-Zq7x9Kf3-c0ffee'; // distinctive, grepped for in every output
const RUN_TIMEOUT_MS = 30_000;

// Instrument keys of the storage layout, by (Tardis exchange, Tardis symbol in the rows).
const INSTRUMENT_KEYS = {
  'binance-futures|BTCUSDT': 'BINANCE-FUTURES:PERPETUAL:BTC-USDT',
  'bitmex|XBTUSD': 'BITMEX:PERPETUAL:BTC-USD',
  'deribit|BTC-PERPETUAL': 'DERIBIT:PERPETUAL:BTC-USD',
  'deribit|BTC-9JUN20-9875-P': 'DERIBIT:OPTION:BTC-USD-200609-9875-PUT',
  'deribit|BTC-9JUN20-10000-C': 'DERIBIT:OPTION:BTC-USD-200609-10000-CALL',
  'deribit|BTC-10JUN20-10000-C': 'DERIBIT:OPTION:BTC-USD-200610-10000-CALL',
  'deribit|ETH-9JUN20-250-P': 'DERIBIT:OPTION:ETH-USD-200609-250-PUT',
  'deribit|ETH-9JUN20-300-C': 'DERIBIT:OPTION:ETH-USD-200609-300-CALL',
};

const fx = (name) => path.join(FIXTURE_DIR, name);
const F_TRADES = fx('binance-futures_trades_2020-02-22_BTCUSDT.csv.gz');
const F_QUOTES = fx('binance-futures_quotes_2020-02-22_BTCUSDT.csv.gz');
const F_L2 = fx('deribit_incremental_book_L2_2020-04-01_BTC-PERPETUAL.csv.gz');
const F_OPTIONS = fx('deribit_options_chain_2020-06-08_OPTIONS.csv.gz');
const F_BITMEX = fx('bitmex_trades_2020-03-01_XBTUSD.csv.gz');

// One download invocation per spec (the fixture days differ, and items are the cross product of
// days x exchanges x data types x symbols).
const SPECS = {
  binance: {
    args: ['--from', '2020-02-22', '--exchanges', 'binance-futures', '--data-types', 'trades,quotes', '--symbols', 'BTCUSDT'],
    fixtures: [F_TRADES, F_QUOTES],
  },
  l2: {
    args: ['--from', '2020-04-01', '--exchanges', 'deribit', '--data-types', 'incremental_book_L2', '--symbols', 'BTC-PERPETUAL'],
    fixtures: [F_L2],
  },
  options: {
    args: ['--from', '2020-06-08', '--exchanges', 'deribit', '--data-types', 'options_chain', '--symbols', 'OPTIONS'],
    fixtures: [F_OPTIONS],
  },
  bitmex: {
    args: ['--from', '2020-03-01', '--exchanges', 'bitmex', '--data-types', 'trades', '--symbols', 'XBTUSD'],
    fixtures: [F_BITMEX],
  },
};

const ROOT_TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'market-tick-dl-'));
const RUNNING = new Set(); // children still alive; killed (by object) if a test leaves one behind

after(async () => {
  for (const child of RUNNING) child.kill('SIGKILL');
  await closeDuckdb();
  fs.rmSync(ROOT_TMP, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// request timeline: every HTTP request any in-process server receives, with its arrival time
// ---------------------------------------------------------------------------------------------

const TIMELINE = [];
dc.subscribe('http.server.request.start', ({ request }) => {
  TIMELINE.push({
    t: Date.now(),
    port: request.socket.localPort,
    url: request.url,
    range: request.headers.range ?? null,
  });
});

/** Dataset requests (…csv.gz) seen by this server since TIMELINE index `from`, with arrival times, in order. */
function timelineOf(srv, pathPart = '', from = 0) {
  return TIMELINE.slice(from).filter((e) => e.port === srv.port && /\.csv\.gz(\?|$)/.test(e.url) && e.url.includes(pathPart));
}

/** The server's own log of dataset requests (status, range, faults, bytesSent, complete). */
function datasetRequests(srv, pathPart = '') {
  return srv.stats().requests.filter((r) => r.path.endsWith('.csv.gz') && r.path.includes(pathPart));
}

const showReqs = (reqs) => JSON.stringify(reqs.map((r) => ({
  path: r.path, query: r.query, status: r.status, range: r.range, faults: r.faults, bytesSent: r.bytesSent, complete: r.complete,
})), null, 1);

// ---------------------------------------------------------------------------------------------
// expected outputs
// ---------------------------------------------------------------------------------------------

const itemIdOf = (file) => {
  const { exchange, dataType, date, symbol } = parseTardisName(file);
  return `${date}/${dataType}/${exchange}/${symbol}`;
};

/** Objects one fixture must become: [{ rel, itemId, file, table }]. */
function expectedOutputs(file) {
  const { dataType, date } = parseTardisName(file);
  const { rows, header } = readTardisCsv(file);
  const si = header.indexOf('symbol'), ei = header.indexOf('exchange');
  const pairs = [...new Set(rows.map((r) => `${r[ei]}|${r[si]}`))];
  // One object per instrument; options_chain: one per underlying (chain key) with each row's own key.
  const outKey = (es) => {
    const key = INSTRUMENT_KEYS[es];
    if (!key) throw new Error(`test table lacks an instrument key for ${es} (${path.basename(file)})`);
    return ROW_KEYED.has(dataType) ? chainKey(key) : key;
  };
  const rowKey = (r) => INSTRUMENT_KEYS[`${r[ei]}|${r[si]}`] ?? null;
  return [...new Set(pairs.map(outKey))].map((key) => {
    const table = expectedTable(file, { rowKey, filter: (r) => outKey(`${r[ei]}|${r[si]}`) === key });
    return { rel: path.join('raw_tick_data', 'by_date', `day-${date}`, `data_type-${dataType}`, `${key}.parquet`), itemId: itemIdOf(file), file, table };
  });
}

const EXPECTED = Object.fromEntries(Object.entries(SPECS).map(([k, s]) => [k, s.fixtures.flatMap(expectedOutputs)]));
const relsOf = (...specs) => specs.flatMap((k) => EXPECTED[k].map((o) => o.rel)).sort();
const BINANCE_RELS = relsOf('binance');
const TRADES_REL = EXPECTED.binance.find((o) => o.file === F_TRADES).rel;

// ---------------------------------------------------------------------------------------------
// running the binary
// ---------------------------------------------------------------------------------------------

function baseEnv(srv, { key = KEY, env = {} } = {}) {
  const e = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    TARDIS_DATASETS_URL: srv.url,
    RETRY_BASE_SECONDS: '0.05',
    SOURCE_DATE_EPOCH: SDE,
    ...env,
  };
  if (key !== null) e.TARDIS_API_KEY = key;
  return e;
}

/** Starts the binary asynchronously. Returns { child, done } (done resolves to the run result). */
function spawnBin(args, { cwd, env }) {
  const child = spawn(BIN, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  RUNNING.add(child);
  let stdout = '', stderr = '', timedOut = false;
  child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
  const t0 = Date.now();
  const done = new Promise((resolve, reject) => {
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, RUN_TIMEOUT_MS);
    child.on('error', (err) => { clearTimeout(timer); RUNNING.delete(child); reject(err); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      RUNNING.delete(child);
      resolve({ args, code, signal, stdout, stderr, t0, t1: Date.now(), timedOut });
    });
  });
  return { child, done };
}

function describeRun(r) {
  const cut = (s) => (s.length > 3000 ? s.slice(0, 3000) + '…' : s);
  return `market-tick ${r.args.map((a) => JSON.stringify(a)).join(' ')}\n  exit=${r.code} signal=${r.signal}` +
    `${r.timedOut ? ' (TIMED OUT, killed)' : ''} in ${r.t1 - r.t0} ms\n  stdout: ${cut(r.stdout)}\n  stderr: ${cut(r.stderr)}`;
}

/**
 * A test case: its own server and temp dir (both removed after the test).
 * c.start(specArgs, opts) / c.run(specArgs, opts): download into c.out (or opts.out) with a summary
 * JSON of its own; the run result gains `summary` (parsed JSON or null) and `summaryText`.
 *
 * `baseline`: spec names to download first, without faults, into DIR/clean on this same server;
 * c.clean maps each object's relative path to its bytes. The Parquet `source` metadata holds the
 * URL (with the server's port), so byte comparisons are only meaningful against the same server.
 * The faults in serverOpts are switched on (and the stats cleared) after the baseline.
 */
async function setup(t, name, serverOpts = {}, { baseline = [] } = {}) {
  const dir = mkTmp(ROOT_TMP, name);
  const { faults, ...rest } = serverOpts;
  const srv = await startServer(baseline.length ? rest : serverOpts);
  const own = new Set();
  t.after(async () => {
    for (const child of own) if (RUNNING.has(child)) child.kill('SIGKILL');
    await srv.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  let n = 0;
  const c = {
    dir, srv, out: path.join(dir, 'out'), clean: new Map(),
    start(specArgs, { out = c.out, key = KEY, env = {}, extra = [] } = {}) {
      const summaryPath = path.join(dir, `summary-${++n}.json`);
      const args = ['download', ...specArgs, '--output', out, '--summary-json', summaryPath, ...extra];
      const h = spawnBin(args, { cwd: dir, env: baseEnv(srv, { key, env }) });
      own.add(h.child);
      const done = h.done.then((r) => {
        r.summaryPath = summaryPath;
        r.summaryText = fs.existsSync(summaryPath) ? fs.readFileSync(summaryPath, 'utf8') : null;
        r.summary = r.summaryText === null ? null : JSON.parse(r.summaryText);
        r.cwd = dir;
        r.out = out;
        return r;
      });
      return { child: h.child, done };
    },
    run(specArgs, opts) {
      return c.start(specArgs, opts).done;
    },
  };
  if (baseline.length) {
    const cleanDir = path.join(dir, 'clean');
    for (const k of baseline) {
      const r = await c.run(SPECS[k].args, { out: cleanDir, key: serverOpts.apiKey ?? KEY });
      assert.equal(r.code, 0, `baseline ${k}\n${describeRun(r)}`);
    }
    assert.deepEqual(listFiles(cleanDir), relsOf(...baseline), 'baseline objects');
    for (const rel of listFiles(cleanDir)) c.clean.set(rel, fs.readFileSync(path.join(cleanDir, rel)));
    srv.reset();
    if (faults) srv.setFaults(faults);
  }
  c.timelineFrom = TIMELINE.length; // c.timeline() ignores the baseline's requests
  c.timeline = (pathPart) => timelineOf(srv, pathPart, c.timelineFrom);
  return c;
}

/** stdout lines OUTCOME\tITEM_ID\tPATH with PATH made relative to the output dir. */
function stdoutLines(r) {
  return r.stdout.split('\n').filter((l) => l !== '').map((line) => {
    const parts = line.split('\t');
    assert.equal(parts.length, 3, `stdout line is not OUTCOME\\tITEM_ID\\tPATH: ${JSON.stringify(line)}\n${describeRun(r)}`);
    return `${parts[0]}\t${parts[1]}\t${path.relative(r.out, path.resolve(r.cwd, parts[2]))}`;
  }).sort();
}

const ZERO_COUNTS = { done: 0, skipped: 0, no_data: 0, not_available: 0, failed: 0, failed_retryable: 0, cancelled: 0 };

function assertCounts(r, counts, label) {
  assert.ok(r.summary, `${label}: no summary JSON written\n${describeRun(r)}`);
  assert.deepEqual(r.summary.counts, { ...ZERO_COUNTS, ...counts }, `${label}: summary counts\n${describeRun(r)}`);
}

function resultOf(r, id) {
  const res = r.summary?.results?.find((x) => x.id === id);
  assert.ok(res, `summary has no result for ${id}: ${r.summaryText}`);
  return res;
}

/** The output dir holds exactly `rels` (so no *.tmp-* and nothing else), each byte-identical to `clean` (rel -> Buffer). */
function assertSameAsClean(out, rels, clean, label) {
  // Item records (grouped items, 404s) are checked where they matter.
  const files = listFiles(out).filter((f) => !f.includes('/_items/'));
  const tmps = files.filter((f) => f.includes('.tmp-'));
  assert.deepEqual(tmps, [], `${label}: temporary files left in ${out}`);
  assert.deepEqual(files, [...rels].sort(), `${label}: files under ${out}`);
  for (const rel of rels) {
    const want = clean.get(rel);
    assert.ok(want, `${label}: no clean-run bytes for ${rel}`);
    const got = fs.readFileSync(path.join(out, rel));
    assert.ok(got.equals(want), `${label}: ${rel} differs from the clean run (${got.length} vs ${want.length} bytes)`);
  }
}

async function waitFor(cond, { timeoutMs = 10_000, stepMs = 10, what = 'condition' } = {}) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return;
    await sleep(stepMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

// Holds an flock on `file` from another process (as a running market-tick holds its own) until
// the test ends; returns once the lock is held.
async function holdLock(t, file, what) {
  const holder = spawn('flock', [file, 'sleep', '60'], { stdio: 'ignore' });
  t.after(() => holder.kill('SIGKILL'));
  await waitFor(() => spawnSync('flock', ['-n', '-E', '9', file, 'true']).status === 9, { what });
}

const completedObjects = (out) => listFiles(out).filter((f) => f.endsWith('.parquet') && !f.includes('.tmp-'));
// Tick objects, and the items' completion records (grouped items, 404s) beside them.
const tickObjects = (out) => listFiles(out).filter((f) => f.endsWith('.parquet'));
const itemRecords = (out) => listFiles(out).filter((f) => f.includes('/_items/'));
const recordRel = (id) => {
  const [day, dt, ex, sym] = id.split('/');
  return `raw_tick_data/by_date/day-${day}/data_type-${dt}/_items/${ex}/${sym}.json`;
};

// ---------------------------------------------------------------------------------------------
// 1. clean run
// ---------------------------------------------------------------------------------------------

describe('download: clean run of fixture items', () => {
  let srv, dir, out;
  const runs = {};
  before(async () => {
    dir = mkTmp(ROOT_TMP, 'clean');
    out = path.join(dir, 'out');
    srv = await startServer();
    for (const [k, spec] of Object.entries(SPECS)) {
      const summaryPath = path.join(dir, `summary-${k}.json`);
      const args = ['download', ...spec.args, '--output', out, '--summary-json', summaryPath];
      const r = await spawnBin(args, { cwd: dir, env: baseEnv(srv) }).done;
      r.cwd = dir;
      r.out = out;
      r.summaryText = fs.existsSync(summaryPath) ? fs.readFileSync(summaryPath, 'utf8') : null;
      r.summary = r.summaryText === null ? null : JSON.parse(r.summaryText);
      runs[k] = r;
    }
  });
  after(async () => {
    await srv?.close();
  });

  it('every run exits 0 and the output holds exactly the expected objects', () => {
    for (const r of Object.values(runs)) assert.equal(r.code, 0, describeRun(r));
    assert.deepEqual(tickObjects(out), relsOf(...Object.keys(SPECS)), 'objects written');
    // The grouped item (deribit OPTIONS) has its completion record, listing every object it wrote.
    assert.deepEqual(itemRecords(out), [recordRel('2020-06-08/options_chain/deribit/OPTIONS')], 'records');
    const rec = JSON.parse(fs.readFileSync(path.join(out, recordRel('2020-06-08/options_chain/deribit/OPTIONS')), 'utf8'));
    assert.equal(rec.outcome, 'done');
    assert.equal(rec.item, '2020-06-08/options_chain/deribit/OPTIONS');
    assert.deepEqual(rec.objects.map((o) => o.name).sort(), EXPECTED.options.map((o) => o.rel).sort());
    assert.equal(rec.objects.reduce((n, o) => n + o.rows, 0), rec.rows);
    assert.equal(rec.rows, runs.options.summary.results[0].rows);
  });

  it('stdout: one `done\\tITEM_ID\\tPATH` line per object', () => {
    for (const [k, r] of Object.entries(runs)) {
      const want = EXPECTED[k].map((o) => `done\t${o.itemId}\t${o.rel}`).sort();
      assert.deepEqual(stdoutLines(r), want, `stdout of ${k}\n${describeRun(r)}`);
      assert.match(r.stderr, /summary:/, `stderr summary line\n${describeRun(r)}`);
    }
  });

  it('summary JSON: counts, per item outcome, requests, rows, bytes, objects', () => {
    for (const [k, r] of Object.entries(runs)) {
      const spec = SPECS[k];
      const label = `summary of ${k}`;
      assert.equal(r.summary?.items, spec.fixtures.length, `${label}: items\n${r.summaryText}`);
      assertCounts(r, { done: spec.fixtures.length }, label);
      let rows = 0, bytesIn = 0, bytesOut = 0;
      for (const f of spec.fixtures) {
        const id = itemIdOf(f);
        const res = resultOf(r, id);
        const outs = EXPECTED[k].filter((o) => o.itemId === id);
        const itemRows = outs.reduce((s, o) => s + o.table.rows.length, 0);
        const itemOut = outs.reduce((s, o) => s + fs.statSync(path.join(out, o.rel)).size, 0);
        assert.equal(res.outcome, 'done', `${label}: ${id} outcome`);
        assert.equal(res.requests, 1, `${label}: ${id} requests`);
        assert.equal(res.rows, itemRows, `${label}: ${id} rows`);
        assert.equal(res.bytes_in, fs.statSync(f).size, `${label}: ${id} bytes_in (size of the .csv.gz)`);
        assert.equal(res.bytes_out, itemOut, `${label}: ${id} bytes_out (size of the objects)`);
        assert.deepEqual(res.objects.map((p) => path.relative(out, path.resolve(dir, p))).sort(), outs.map((o) => o.rel).sort(),
          `${label}: ${id} objects`);
        rows += itemRows;
        bytesIn += res.bytes_in;
        bytesOut += itemOut;
      }
      assert.equal(r.summary.rows, rows, `${label}: rows`);
      assert.equal(r.summary.bytes_in, bytesIn, `${label}: bytes_in`);
      assert.equal(r.summary.bytes_out, bytesOut, `${label}: bytes_out`);
      assert.equal(typeof r.summary.seconds, 'number', `${label}: seconds`);
    }
  });

  it('server saw each dataset once, authenticated, answered 200 in full', () => {
    const reqs = datasetRequests(srv);
    const want = Object.values(SPECS).flatMap((s) => s.fixtures).map((f) => {
      const { exchange, dataType, date, symbol } = parseTardisName(f);
      return `/v1/${exchange}/${dataType}/${date.replaceAll('-', '/')}/${symbol}.csv.gz`;
    }).sort();
    assert.deepEqual(reqs.map((r) => r.path).sort(), want, showReqs(reqs));
    for (const q of reqs) {
      assert.equal(q.status, 200, showReqs([q]));
      assert.equal(q.complete, true, showReqs([q]));
      assert.equal(q.auth, 'valid', `API key sent: ${showReqs([q])}`);
    }
  });

  it('DuckDB reads every object equal to the fixture CSV rows (DESCRIBE and values)', async () => {
    for (const o of Object.values(EXPECTED).flat()) {
      const p = path.join(out, o.rel);
      const label = `${path.basename(o.file)} -> ${o.rel}`;
      const desc = await duckDescribe(p);
      assert.deepEqual(desc.map((d) => `${d.name} ${d.type}`), o.table.schema.map((c) => `${c.name} ${DUCKDB_TYPE[c.kind]}`),
        `${label}: DESCRIBE`);
      const d = await duckReadAll(p);
      assertRowsEqual(d.rows, o.table.rows, o.table.schema.map((c) => c.name), `${label} [DuckDB]`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// 2. faults: every run ends with exit 0 and the clean run's bytes
// ---------------------------------------------------------------------------------------------

describe('download: faults are retried and give the clean bytes', () => {
  /** Runs the binance spec (trades + quotes) under `faults`; asserts exit 0, 2 done, clean bytes. */
  async function faultRun(t, name, faults, env = {}) {
    const c = await setup(t, name, { faults }, { baseline: ['binance'] });
    const r = await c.run(SPECS.binance.args, { env });
    assert.equal(r.code, 0, `${name}: exit code\n${describeRun(r)}\nrequests: ${showReqs(datasetRequests(c.srv))}`);
    assertCounts(r, { done: 2 }, name);
    assert.deepEqual(stdoutLines(r), EXPECTED.binance.map((o) => `done\t${o.itemId}\t${o.rel}`).sort(), `${name}: stdout`);
    assertSameAsClean(c.out, BINANCE_RELS, c.clean, name);
    return { c, r };
  }
  const TRADES_PATH = '/binance-futures/trades/';
  const TRADES_ID = itemIdOf(F_TRADES);

  it('429 with Retry-After: retried no sooner than Retry-After seconds', async (t) => {
    const { c, r } = await faultRun(t, 'f-429', { status429: { retryAfter: 1, count: 1, path: TRADES_PATH } });
    const reqs = datasetRequests(c.srv, TRADES_PATH);
    assert.deepEqual(reqs.map((q) => q.status), [429, 200], showReqs(reqs));
    const tl = c.timeline(TRADES_PATH);
    assert.equal(tl.length, 2, JSON.stringify(tl));
    const gap = tl[1].t - tl[0].t;
    assert.ok(gap >= 1000, `second request ${gap} ms after the 429; Retry-After was 1 s`);
    assert.equal(resultOf(r, TRADES_ID).requests, 2, 'summary requests for the trades item');
  });

  for (const code of [500, 503]) {
    it(`${code} burst: retried until success`, async (t) => {
      const { c, r } = await faultRun(t, `f-${code}`, { status5xx: { code, count: 4 } });
      const reqs = datasetRequests(c.srv);
      assert.equal(reqs.filter((q) => q.status === code).length, 4, showReqs(reqs));
      assert.equal(reqs.filter((q) => q.status === 200).length, 2, showReqs(reqs));
      assert.equal(reqs.length, 6, showReqs(reqs));
      assert.equal(r.summary.results.reduce((s, x) => s + x.requests, 0), 6, `summary requests\n${r.summaryText}`);
    });
  }

  it('dropMidBody: the cut transfer resumes with Range: bytes=N-', async (t) => {
    const { c } = await faultRun(t, 'f-drop', { dropMidBody: { afterBytes: 50_000, count: 1, path: TRADES_PATH } });
    const reqs = datasetRequests(c.srv, TRADES_PATH);
    assert.equal(reqs.length, 2, showReqs(reqs));
    assert.deepEqual([reqs[0].status, reqs[0].range, reqs[0].bytesSent, reqs[0].complete], [200, null, 50_000, false], showReqs(reqs));
    assert.deepEqual([reqs[1].status, reqs[1].range, reqs[1].complete], [206, 'bytes=50000-', true], showReqs(reqs));
  });

  it('stall (STALL_TIMEOUT_SECONDS=1): detected, then resumed with Range', async (t) => {
    const { c, r } = await faultRun(t, 'f-stall', { stall: { afterBytes: 50_000, ms: 0, count: 1, path: TRADES_PATH } },
      { STALL_TIMEOUT_SECONDS: '1' });
    const reqs = datasetRequests(c.srv, TRADES_PATH);
    assert.equal(reqs.length, 2, showReqs(reqs));
    assert.deepEqual([reqs[0].bytesSent, reqs[0].complete], [50_000, false], showReqs(reqs));
    assert.deepEqual([reqs[1].status, reqs[1].range, reqs[1].complete], [206, 'bytes=50000-', true], showReqs(reqs));
    const tl = c.timeline(TRADES_PATH);
    const gap = tl[1].t - tl[0].t;
    assert.ok(gap >= 1000, `retry ${gap} ms after the stalled request started; stall timeout is 1 s`);
    // The first 50 000 bytes arrive within milliseconds, then nothing: a 1 s stall timeout must
    // notice within about 1 s of the last byte, not seconds later.
    assert.ok(gap < 2500, `stall noticed only ${gap} ms after the stalled request started (50 000 bytes, then silence); ` +
      `STALL_TIMEOUT_SECONDS=1\n${describeRun(r)}`);
    assert.ok(r.t1 - r.t0 < 10_000, `run took ${r.t1 - r.t0} ms`);
  });

  it('truncatedGzip (count 1): re-downloaded from the start', async (t) => {
    const { c } = await faultRun(t, 'f-trunc', { truncatedGzip: { count: 1, path: TRADES_PATH } });
    const reqs = datasetRequests(c.srv, TRADES_PATH);
    assert.equal(reqs.length, 2, showReqs(reqs));
    assert.deepEqual(reqs[0].faults, ['truncatedGzip'], showReqs(reqs));
    assert.deepEqual([reqs[1].status, reqs[1].range, reqs[1].faults, reqs[1].complete], [200, null, [], true], showReqs(reqs));
  });

  it('trickle: slow bodies complete', async (t) => {
    const { c } = await faultRun(t, 'f-trickle', { trickle: { bytesPerChunk: 8192, intervalMs: 10 } });
    const reqs = datasetRequests(c.srv);
    assert.equal(reqs.length, 2, showReqs(reqs));
    for (const q of reqs) assert.deepEqual([q.status, q.faults, q.complete], [200, ['trickle'], true], showReqs(reqs));
  });

  it('ignoreRange + dropMidBody: the 200 answer to the Range restarts the file cleanly', async (t) => {
    const { c } = await faultRun(t, 'f-ignore-range', {
      dropMidBody: { afterBytes: 50_000, count: 1, path: TRADES_PATH },
      ignoreRange: { count: 1, path: TRADES_PATH },
    });
    const reqs = datasetRequests(c.srv, TRADES_PATH);
    assert.equal(reqs.length, 2, showReqs(reqs));
    assert.deepEqual([reqs[0].bytesSent, reqs[0].complete], [50_000, false], showReqs(reqs));
    assert.deepEqual([reqs[1].status, reqs[1].range, reqs[1].faults, reqs[1].complete], [200, 'bytes=50000-', ['ignoreRange'], true],
      showReqs(reqs));
  });

  it('truncatedGzip every time: re-downloaded up to 2 times, then the item fails as a damaged source file (exit 1, no object)', async (t) => {
    const c = await setup(t, 'f-trunc-always', { faults: { truncatedGzip: { path: TRADES_PATH } } }, { baseline: ['binance'] });
    const url = `${c.srv.url}/v1/binance-futures/trades/2020/02/22/BTCUSDT.csv.gz`;
    for (const attempts of ['3', '10']) {
      c.srv.reset();
      c.srv.setFaults({ truncatedGzip: { path: TRADES_PATH } });
      fs.rmSync(c.out, { recursive: true, force: true });
      const r = await c.run(SPECS.binance.args, { env: { RETRY_MAX_ATTEMPTS: attempts } });
      assert.equal(r.code, 1, describeRun(r));
      const reqs = datasetRequests(c.srv, TRADES_PATH);
      assert.equal(reqs.length, 3, `1 download + 2 re-downloads\n${showReqs(reqs)}`);
      const res = resultOf(r, TRADES_ID);
      assert.equal(res.outcome, 'failed', r.summaryText);
      // What the item cost in transfer: the three truncated copies (it said 0 for an item that failed).
      assert.equal(res.bytes_in, 3 * Math.floor(fs.statSync(F_TRADES).size / 2), r.summaryText);
      // The reason says what the outcome means: the same damaged bytes at every download are the source's.
      assert.ok(res.reason.startsWith(`${url}: the source's file is damaged: 3 downloads of it in a row gave the same damaged bytes (`), res.reason);
      assert.match(res.reason, /truncated gzip/, res.reason);
      assert.match(res.reason, /report the file to Tardis support, or rerun later once the source's file is fixed$/, res.reason);
      assert.ok(!res.reason.includes('re-download it'), res.reason);
      assertCounts(r, { done: 1, failed: 1 }, 'truncated always');
      assertSameAsClean(c.out, BINANCE_RELS.filter((x) => x !== TRADES_REL), c.clean, 'truncated always');
    }
  });

  // Issue: damage was told apart by kind, length and ETag only: whole copies damaged on the way,
  // each at another byte, had the same length and ETag and failed the item as a damaged source
  // file (exit 1), though another download could be whole.
  it('corruptGzip, whole copies damaged at another byte each time: retryable (exit 3), the URL named; at the same byte every time: the source\'s file (exit 1 after 3 downloads)', async (t) => {
    const c = await setup(t, 'f-corrupt', { faults: { corruptGzip: { step: 1, path: TRADES_PATH } } }, { baseline: ['binance'] });
    const url = `${c.srv.url}/v1/binance-futures/trades/2020/02/22/BTCUSDT.csv.gz`;
    const size = fs.statSync(F_TRADES).size;

    c.srv.reset();
    c.srv.setFaults({ corruptGzip: { step: 1, path: TRADES_PATH } });
    fs.rmSync(c.out, { recursive: true, force: true });
    const differ = await c.run(SPECS.binance.args, { env: { RETRY_MAX_ATTEMPTS: '4' } });
    assert.equal(differ.code, 3, describeRun(differ));
    let reqs = datasetRequests(c.srv, TRADES_PATH);
    assert.deepEqual(reqs.map((q) => [q.status, q.range, q.complete, q.damagedAt]),
      [0, 1, 2, 3].map((i) => [200, null, true, size - 8 + i]), showReqs(reqs));
    let res = resultOf(differ, TRADES_ID);
    assert.equal(res.outcome, 'failed_retryable', differ.summaryText);
    assert.equal(res.requests, 4, differ.summaryText);
    assert.ok(res.reason.startsWith(`${url}: the downloaded copy is damaged and no attempt is left to download it again (gave up after 4 requests`),
      res.reason);
    assert.match(res.reason, /corrupt gzip data/, res.reason);
    assertCounts(differ, { done: 1, failed_retryable: 1 }, 'damaged differently');
    assertSameAsClean(c.out, BINANCE_RELS.filter((x) => x !== TRADES_REL), c.clean, 'damaged differently');

    // Within the attempts, the next whole copy completes the item.
    c.srv.reset();
    c.srv.setFaults({ corruptGzip: { step: 1, count: 3, path: TRADES_PATH } });
    fs.rmSync(c.out, { recursive: true, force: true });
    const whole = await c.run(SPECS.binance.args, { env: { RETRY_MAX_ATTEMPTS: '10' } });
    assert.equal(whole.code, 0, describeRun(whole));
    reqs = datasetRequests(c.srv, TRADES_PATH);
    assert.deepEqual(reqs.map((q) => q.damagedAt), [size - 8, size - 7, size - 6, undefined], showReqs(reqs));
    assertSameAsClean(c.out, BINANCE_RELS, c.clean, 'damaged differently, then whole');

    c.srv.reset();
    c.srv.setFaults({ corruptGzip: { step: 0, path: TRADES_PATH } });
    fs.rmSync(c.out, { recursive: true, force: true });
    const same = await c.run(SPECS.binance.args, { env: { RETRY_MAX_ATTEMPTS: '10' } });
    assert.equal(same.code, 1, describeRun(same));
    reqs = datasetRequests(c.srv, TRADES_PATH);
    assert.deepEqual(reqs.map((q) => q.damagedAt), [size - 8, size - 8, size - 8], showReqs(reqs));
    res = resultOf(same, TRADES_ID);
    assert.equal(res.outcome, 'failed', same.summaryText);
    assert.ok(res.reason.startsWith(`${url}: the source's file is damaged: 3 downloads of it in a row gave the same damaged bytes (`), res.reason);
    assert.match(res.reason, /corrupt gzip data/, res.reason);
  });

  // Issue: a byte damaged in the middle of the deflate data decompresses to rows that do not parse before
  // the gzip's CRC32 at the end finds the damage: the item failed at once as bad data (exit 1, 1 request).
  it('corruptGzip in the middle of the file (rows that do not parse before the CRC): fetched again (exit 0); moving: exit 3; the same bytes: exit 1 after 3', async (t) => {
    const c = await setup(t, 'f-corrupt-mid', {}, { baseline: ['binance'] });
    const url = `${c.srv.url}/v1/binance-futures/trades/2020/02/22/BTCUSDT.csv.gz`;
    const at = Math.floor(fs.statSync(F_TRADES).size / 2);
    const cases = [
      [{ at, count: 1 }, '10', 0, 'failed to parse once, then whole'],
      [{ at, step: 1 }, '3', 3, 'damaged at another byte each time'],
      [{ at }, '10', 1, 'the same damaged bytes'],
    ];
    for (const [fault, attempts, code, label] of cases) {
      c.srv.reset();
      c.srv.setFaults({ corruptGzip: { ...fault, path: TRADES_PATH } });
      fs.rmSync(c.out, { recursive: true, force: true });
      const r = await c.run(SPECS.binance.args, { env: { RETRY_MAX_ATTEMPTS: attempts } });
      assert.equal(r.code, code, `${label}\n${describeRun(r)}`);
      const reqs = datasetRequests(c.srv, TRADES_PATH);
      const res = resultOf(r, TRADES_ID);
      if (code === 0) {
        assert.deepEqual(reqs.map((q) => q.damagedAt), [at, undefined], showReqs(reqs));
        assertSameAsClean(c.out, BINANCE_RELS, c.clean, label);
        continue;
      }
      assert.equal(reqs.length, 3, `${label}\n${showReqs(reqs)}`);
      assert.match(res.reason, /corrupt gzip data/, res.reason);
      assert.match(res.reason, /before the damage was found, the damaged data had failed to parse: /, res.reason);
      if (code === 3) {
        assert.equal(res.outcome, 'failed_retryable', r.summaryText);
        assert.ok(res.reason.startsWith(`${url}: the downloaded copy is damaged and no attempt is left`), res.reason);
      } else {
        assert.equal(res.outcome, 'failed', r.summaryText);
        assert.ok(res.reason.startsWith(`${url}: the source's file is damaged: 3 downloads of it in a row gave the same damaged bytes (`),
          res.reason);
      }
      assertSameAsClean(c.out, BINANCE_RELS.filter((x) => x !== TRADES_REL), c.clean, label);
    }
  });

  it('truncatedGzip every time with fewer attempts than it takes to tell a damaged source (RETRY_MAX_ATTEMPTS 1, 2): retryable (exit 3), said so', async (t) => {
    const c = await setup(t, 'f-trunc-few', { faults: { truncatedGzip: { path: TRADES_PATH } } });
    const url = `${c.srv.url}/v1/binance-futures/trades/2020/02/22/BTCUSDT.csv.gz`;
    for (const attempts of [1, 2]) {
      c.srv.reset();
      c.srv.setFaults({ truncatedGzip: { path: TRADES_PATH } });
      const r = await c.run(SPECS.binance.args, { env: { RETRY_MAX_ATTEMPTS: String(attempts) } });
      assert.equal(r.code, 3, describeRun(r));
      const res = resultOf(r, TRADES_ID);
      assert.equal(res.outcome, 'failed_retryable', r.summaryText);
      assert.equal(res.requests, attempts, r.summaryText);
      assert.ok(res.reason.startsWith(`${url}: the downloaded copy is damaged and no attempt is left to download it again (gave up after ${attempts} requests`),
        res.reason);
      assert.match(res.reason, /truncated gzip/, res.reason);
      assert.match(res.reason, /a rerun downloads it again \(the same damaged bytes at 3 downloads in a row would mean the source's file is damaged\)$/, res.reason);
      assert.equal(datasetRequests(c.srv, TRADES_PATH).length, attempts);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// 3. auth
// ---------------------------------------------------------------------------------------------

function assertNoKey(r, key, label) {
  for (const [what, text] of [['stdout', r.stdout], ['stderr', r.stderr], ['summary JSON', r.summaryText ?? '']]) {
    assert.ok(!text.includes(key), `${label}: the API key appears in ${what}:\n${text}`);
  }
  for (const rel of listFiles(r.out)) {
    assert.ok(!fs.readFileSync(path.join(r.out, rel)).includes(key), `${label}: the API key appears in ${rel}`);
  }
}

describe('download: 401', () => {
  it('paid day without a key: exit 1, stderr says to set TARDIS_API_KEY, no objects, run stops', async (t) => {
    const c = await setup(t, 'auth-nokey');
    const r = await c.run(['--from', '2020-02-22', '--to', '2020-02-25', '--exchanges', 'binance-futures', '--data-types', 'trades,quotes',
      '--symbols', 'BTCUSDT'], { key: null, extra: ['--concurrency', '1'] });
    assert.equal(r.code, 1, describeRun(r));
    assert.match(r.stderr, /TARDIS_API_KEY/, describeRun(r));
    assert.deepEqual(completedObjects(r.out), [], 'objects');
    assert.deepEqual(listFiles(r.out), [], 'files');
    const reqs = datasetRequests(c.srv);
    assert.ok(reqs.length >= 1 && reqs.every((q) => q.status === 401 && q.auth === 'none'), showReqs(reqs));
    assert.equal(reqs.length, 1, `with --concurrency 1 the run must stop after the first 401 (8 items)\n${showReqs(reqs)}`);
    assert.ok(r.summary && r.summary.counts.failed >= 1, `summary: ${r.summaryText}`);
    assert.equal(r.summary.counts.done, 0, r.summaryText);
  });

  it('a wrong key: exit 1, and the key never appears in any output (debug logs)', async (t) => {
    const c = await setup(t, 'auth-wrongkey', { apiKey: 'the-server-key' });
    const r = await c.run(SPECS.binance.args, { key: SECRET_KEY, extra: ['--log-level', 'debug'] });
    assert.equal(r.code, 1, describeRun(r));
    assert.match(r.stderr, /TARDIS_API_KEY/, describeRun(r));
    assert.deepEqual(listFiles(r.out), [], 'files');
    const reqs = datasetRequests(c.srv);
    assert.ok(reqs.length >= 1 && reqs.every((q) => q.status === 401 && q.auth === 'invalid'), showReqs(reqs));
    assertNoKey(r, SECRET_KEY, 'wrong key');
  });

  it('the right key: exit 0, sent as Bearer, never appears in any output (debug logs)', async (t) => {
    const c = await setup(t, 'auth-goodkey', { apiKey: SECRET_KEY }, { baseline: ['binance'] });
    const r = await c.run(SPECS.binance.args, { key: SECRET_KEY, extra: ['--log-level', 'debug'] });
    assert.equal(r.code, 0, describeRun(r));
    assertSameAsClean(r.out, BINANCE_RELS, c.clean, 'right key');
    const reqs = datasetRequests(c.srv);
    assert.ok(reqs.length === 2 && reqs.every((q) => q.auth === 'valid' && q.status === 200), showReqs(reqs));
    assertNoKey(r, SECRET_KEY, 'right key');
  });
});

// ---------------------------------------------------------------------------------------------
// 4. 404, empty bodies
// ---------------------------------------------------------------------------------------------

describe('download: not available and empty data', () => {
  it('404: outcome not_available, exit 0, no object, recorded, one line', async (t) => {
    const c = await setup(t, 'notfound');
    const r = await c.run(['--from', '2020-02-23', '--exchanges', 'binance-futures', '--data-types', 'trades', '--symbols', 'BTCUSDT']);
    assert.equal(r.code, 0, describeRun(r));
    assertCounts(r, { not_available: 1 }, '404');
    const id = '2020-02-23/trades/binance-futures/BTCUSDT';
    assert.equal(resultOf(r, id).outcome, 'not_available');
    // No tick object; the outcome is recorded where validate reads it.
    assert.deepEqual(listFiles(r.out), [recordRel(id)], 'files');
    const rec = JSON.parse(fs.readFileSync(path.join(r.out, recordRel(id)), 'utf8'));
    assert.equal(rec.outcome, 'not_available');
    assert.equal(rec.item, id);
    assert.equal(rec.reason, 'HTTP 404');
    assert.match(rec.source, /\/v1\/binance-futures\/trades\/2020\/02\/23\/BTCUSDT\.csv\.gz$/);
    assert.doesNotMatch(JSON.stringify(rec), /Bearer|TARDIS_API_KEY/);
    assert.equal(r.stdout, `not_available\t${id}\t-\n`, 'stdout');
    // The line names the URL that answered 404.
    assert.match(r.stderr, new RegExp(`not_available ${id}: HTTP 404 for ${c.srv.url}/v1/binance-futures/trades/2020/02/23/BTCUSDT\\.csv\\.gz: not available at the source`));
    assert.deepEqual(datasetRequests(c.srv).map((q) => q.status), [404], showReqs(datasetRequests(c.srv)));
  });

  for (const fault of ['emptyBody', 'emptyGzip']) {
    it(`${fault}: a zero-row object with the full schema, outcome no_data`, async (t) => {
      const c = await setup(t, `empty-${fault}`, { faults: { [fault]: {} } });
      const r = await c.run(['--from', '2020-02-22', '--exchanges', 'binance-futures', '--data-types', 'trades', '--symbols', 'BTCUSDT']);
      assert.equal(r.code, 0, describeRun(r));
      assertCounts(r, { no_data: 1 }, fault);
      const id = itemIdOf(F_TRADES);
      assert.equal(resultOf(r, id).outcome, 'no_data', r.summaryText);
      assert.deepEqual(listFiles(r.out), [TRADES_REL], 'files');
      assert.deepEqual(stdoutLines(r), [`no_data\t${id}\t${TRADES_REL}`], describeRun(r));
      const p = path.join(r.out, TRADES_REL);
      const desc = await duckDescribe(p);
      assert.deepEqual(desc.map((d) => `${d.name} ${d.type}`), expectedSchema('trades').map((c2) => `${c2.name} ${DUCKDB_TYPE[c2.kind]}`),
        `${fault}: DESCRIBE`);
      const d = await duckReadAll(p);
      assert.equal(d.rows.length, 0, `${fault}: rows`);
      const reqs = datasetRequests(c.srv);
      // An empty body (not one byte) is asked once more before it counts as the day's answer; an empty gzip is
      // what Tardis sends for a day without data, taken at once.
      assert.deepEqual(reqs.map((q) => q.faults), fault === 'emptyBody' ? [[fault], [fault]] : [[fault]], showReqs(reqs));
      if (fault === 'emptyBody') assert.match(r.stderr, /with an empty body \(0 bytes\), where Tardis sends a gzip stream even for a day without data; asking again/);
    });
  }

  it('one empty body (a proxy\'s slip) is asked again: the day\'s rows land, not a zero-row object', async (t) => {
    // Taken as the day's "no data" at once, it was skipped by every rerun, and validate called it complete.
    const c = await setup(t, 'empty-once', { faults: { emptyBody: { count: 1 } } });
    const r = await c.run(['--from', '2020-02-22', '--exchanges', 'binance-futures', '--data-types', 'trades', '--symbols', 'BTCUSDT']);
    assert.equal(r.code, 0, describeRun(r));
    assertCounts(r, { done: 1 }, 'done');
    const d = await duckReadAll(path.join(r.out, TRADES_REL));
    assert.ok(d.rows.length > 0, 'the day\'s rows');
    assert.deepEqual(datasetRequests(c.srv).map((q) => q.faults), [['emptyBody'], []], showReqs(datasetRequests(c.srv)));
    // With no attempt left to ask again, the item fails as retryable and writes nothing: taken as "no data", it
    // would be skipped by every rerun (and a grouped item replaced by it would lose its objects).
    c.srv.setFaults({ emptyBody: { count: 1 } });
    const last = await c.run(['--from', '2020-02-22', '--exchanges', 'binance-futures', '--data-types', 'trades', '--symbols', 'BTCUSDT'],
      { env: { RETRY_MAX_ATTEMPTS: '1' }, out: path.join(c.dir, 'one-attempt') });
    assert.equal(last.code, 3, describeRun(last));
    assertCounts(last, { failed_retryable: 1 }, 'one attempt');
    assert.deepEqual(listFiles(path.join(c.dir, 'one-attempt')).filter((f) => f.endsWith('.parquet')), [], describeRun(last));
  });
});

// A proxy's or maintenance page sent with 200 where the file was expected: asked again, and retryable
// when no attempt is left. It failed for good (exit 1) after one request, the tool itself saying
// it was not a Tardis file, and a "retry on 3" fleet left the day out.
describe('download: a page in the file\'s place', () => {
  it('an HTML page answered with 200 is asked again: the day\'s rows land; with no attempt left, exit 3', async (t) => {
    const page = '<html><body><h1>503 Service temporarily unavailable</h1></body></html>\n';
    const c = await setup(t, 'html-200', { faults: { errorBody: { status: 200, body: page, count: 1 } } });
    const args = ['--from', '2020-02-22', '--exchanges', 'binance-futures', '--data-types', 'trades', '--symbols', 'BTCUSDT'];
    const r = await c.run(args);
    assert.equal(r.code, 0, describeRun(r));
    assertCounts(r, { done: 1 }, 'done');
    assert.equal(resultOf(r, itemIdOf(F_TRADES)).requests, 2, r.summaryText);
    assert.match(r.stderr, /BTCUSDT\.csv\.gz:1: .*this is an HTML or XML page, not a Tardis file.*; asking again/, describeRun(r));
    const d = await duckReadAll(path.join(r.out, TRADES_REL));
    assert.ok(d.rows.length > 0, 'the day\'s rows');

    // A page without a line end is found at the file's end, not as its header is read: asked again too.
    c.srv.setFaults({ errorBody: { status: 200, body: page.trim(), count: 1 } });
    const noEol = await c.run(args, { out: path.join(c.dir, 'no-eol') });
    assert.equal(noEol.code, 0, describeRun(noEol));
    assert.equal(resultOf(noEol, itemIdOf(F_TRADES)).requests, 2, noEol.summaryText);

    c.srv.setFaults({ errorBody: { status: 200, body: page } });
    const out = path.join(c.dir, 'always');
    const last = await c.run(args, { env: { RETRY_MAX_ATTEMPTS: '2' }, out });
    assert.equal(last.code, 3, describeRun(last));
    assertCounts(last, { failed_retryable: 1 }, 'always a page');
    const res = resultOf(last, itemIdOf(F_TRADES));
    assert.equal(res.requests, 2, last.summaryText);
    assert.equal(res.bytes_in, 2 * page.length, last.summaryText);
    assert.match(res.reason, /gave up after 2 requests .*last error: http:\/\/127\.0\.0\.1:\d+\/v1\/binance-futures\/trades\/2020\/02\/22\/BTCUSDT\.csv\.gz:1: .*HTML or XML page/, res.reason);
    assert.deepEqual(listFiles(out).filter((f) => f.endsWith('.parquet')), [], describeRun(last));

    // The same page at three answers in a row is what the URL serves (a wrong TARDIS_DATASETS_URL, a
    // captive portal): no retry gets past it, so the item fails for good instead of exit 3 for ever.
    const same = await c.run(args, { out: path.join(c.dir, 'same') });
    assert.equal(same.code, 1, describeRun(same));
    const sres = resultOf(same, itemIdOf(F_TRADES));
    assert.equal(sres.outcome, 'failed', same.summaryText);
    assert.equal(sres.requests, 3, same.summaryText);
    assert.match(sres.reason, /^3 answers in a row were the same page, not a Tardis file \(.*HTML or XML page.*\); check TARDIS_DATASETS_URL and any proxy/, sres.reason);
  });
});

// ---------------------------------------------------------------------------------------------
// 5. rerun skips, --force redoes
// ---------------------------------------------------------------------------------------------

describe('download: rerun', () => {
  it('a rerun skips existing objects without a request; --force downloads again', async (t) => {
    const c = await setup(t, 'rerun', {}, { baseline: ['binance'] });
    const r1 = await c.run(SPECS.binance.args);
    assert.equal(r1.code, 0, describeRun(r1));
    assertSameAsClean(c.out, BINANCE_RELS, c.clean, 'first run');
    const mtimes = BINANCE_RELS.map((rel) => fs.statSync(path.join(c.out, rel)).mtimeMs);

    c.srv.reset();
    const r2 = await c.run(SPECS.binance.args);
    assert.equal(r2.code, 0, describeRun(r2));
    assertCounts(r2, { skipped: 2 }, 'rerun');
    // A skipped item lists its objects as the run that wrote them did (the path under the output).
    for (const f of SPECS.binance.fixtures) {
      const id = itemIdOf(f);
      assert.equal(resultOf(r2, id).objects.length, 1, r2.summaryText);
      assert.deepEqual(resultOf(r2, id).objects, resultOf(r1, id).objects, `rerun: objects of ${id}\n${r2.summaryText}`);
    }
    assert.deepEqual(datasetRequests(c.srv), [], 'rerun: dataset requests');
    assert.equal(r2.stdout, '', `rerun writes no object, so no stdout line\n${describeRun(r2)}`);
    assertSameAsClean(c.out, BINANCE_RELS, c.clean, 'rerun');
    assert.deepEqual(BINANCE_RELS.map((rel) => fs.statSync(path.join(c.out, rel)).mtimeMs), mtimes, 'rerun: objects untouched');

    c.srv.reset();
    const r3 = await c.run(SPECS.binance.args, { extra: ['--force'] });
    assert.equal(r3.code, 0, describeRun(r3));
    assertCounts(r3, { done: 2 }, '--force');
    assert.equal(datasetRequests(c.srv).length, 2, showReqs(datasetRequests(c.srv)));
    assert.deepEqual(stdoutLines(r3), EXPECTED.binance.map((o) => `done\t${o.itemId}\t${o.rel}`).sort(), '--force stdout');
    assertSameAsClean(c.out, BINANCE_RELS, c.clean, '--force');
  });
});

// ---------------------------------------------------------------------------------------------
// 6. persistent 503
// ---------------------------------------------------------------------------------------------

describe('download: persistent 503', () => {
  it('RETRY_MAX_ATTEMPTS=3: exit 3, failed_retryable after 3 requests, no object', async (t) => {
    const c = await setup(t, 'persistent-503', { faults: { status5xx: { code: 503 } } });
    const r = await c.run(['--from', '2020-02-22', '--exchanges', 'binance-futures', '--data-types', 'trades', '--symbols', 'BTCUSDT'],
      { env: { RETRY_MAX_ATTEMPTS: '3' } });
    assert.equal(r.code, 3, describeRun(r));
    assertCounts(r, { failed_retryable: 1 }, 'persistent 503');
    const res = resultOf(r, itemIdOf(F_TRADES));
    assert.equal(res.outcome, 'failed_retryable');
    assert.equal(res.requests, 3, r.summaryText);
    assert.deepEqual(res.objects, [], r.summaryText);
    // The reason names the file's URL and what the server answered, in the summary and the log.
    const url = `${c.srv.url}/v1/binance-futures/trades/2020/02/22/BTCUSDT.csv.gz`;
    assert.ok(res.reason.includes(`last error: HTTP 503 for ${url}: `), res.reason);
    assert.match(res.reason, /"code":503/, res.reason);
    assert.ok(r.stderr.includes(`last error: HTTP 503 for ${url}`), describeRun(r));
    const reqs = datasetRequests(c.srv);
    assert.deepEqual(reqs.map((q) => q.status), [503, 503, 503], showReqs(reqs));
    assert.deepEqual(listFiles(r.out), [], 'files');
    assert.equal(r.stdout, '', 'stdout');
  });
});

describe('download: a Retry-After past RETRY_MAX_TOTAL_SECONDS', () => {
  it('exit 3 at once, the reason names the URL, the wait asked, the limit and what to do', async (t) => {
    const c = await setup(t, 'retry-after-long', { faults: { status429: { retryAfter: 120 } } });
    const r = await c.run(['--from', '2020-02-22', '--exchanges', 'binance-futures', '--data-types', 'trades', '--symbols', 'BTCUSDT'],
      { env: { RETRY_MAX_TOTAL_SECONDS: '5' } });
    assert.equal(r.code, 3, describeRun(r));
    const res = resultOf(r, itemIdOf(F_TRADES));
    assert.equal(res.outcome, 'failed_retryable', r.summaryText);
    assert.equal(res.requests, 1, r.summaryText);
    const url = `${c.srv.url}/v1/binance-futures/trades/2020/02/22/BTCUSDT.csv.gz`;
    assert.ok(res.reason.startsWith(`${url} asked to wait 120 s before the next request (Retry-After), more than the `), res.reason);
    assert.match(res.reason, / s left of RETRY_MAX_TOTAL_SECONDS=5: raise RETRY_MAX_TOTAL_SECONDS above the server's wait, or rerun later; gave up after 1 requests in 0 s; last error: HTTP 429 for /, res.reason);
    assert.ok(r.stderr.includes(`${url} asked to wait 120 s`), describeRun(r));
    assert.ok(r.t1 - r.t0 < 5000, `gave up at once, not after the wait: ${r.t1 - r.t0} ms`);
  });
});

// ---------------------------------------------------------------------------------------------
// 7. + 8. interrupted runs
// ---------------------------------------------------------------------------------------------

describe('download: interrupted runs', () => {
  it('SIGKILL mid-run, then a rerun: the clean objects, no *.tmp-*', async (t) => {
    const c = await setup(t, 'kill9', { faults: { trickle: { bytesPerChunk: 2048, intervalMs: 15 } } }, { baseline: ['binance'] });
    const h = c.start(SPECS.binance.args, { extra: ['--concurrency', '1'] });
    let early = null;
    h.done.then((r) => { early = r; });
    await waitFor(() => early !== null || completedObjects(c.out).length > 0, { what: 'the first object' });
    assert.equal(early, null, `the run ended before it could be killed\n${early && describeRun(early)}`);
    h.child.kill('SIGKILL');
    const r1 = await h.done;
    assert.equal(r1.signal, 'SIGKILL', describeRun(r1));
    // Whatever sits under a final name after the kill is complete.
    const survived = completedObjects(c.out);
    assert.ok(survived.length >= 1 && survived.length < 2, `objects after the kill: ${survived.join(', ')}`);
    for (const rel of survived) {
      assert.ok(fs.readFileSync(path.join(c.out, rel)).equals(c.clean.get(rel)), `${rel} after SIGKILL differs from the clean run`);
    }

    // This binary writes an object only once its data is complete, so a kill during the transfer
    // leaves no temporary file; a kill while the object is being written would. Plant what such a
    // kill leaves (half an object under a *.tmp-* name) next to each missing object: the rerun
    // that writes the object must not leave it behind.
    const missing = BINANCE_RELS.filter((rel) => !survived.includes(rel));
    for (const rel of missing) {
      const p = path.join(c.out, rel);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      const bytes = c.clean.get(rel);
      fs.writeFileSync(`${p}.tmp-00000000deadbeef`, bytes.subarray(0, bytes.length >> 1));
    }

    c.srv.reset();
    const r2 = await c.run(SPECS.binance.args);
    assert.equal(r2.code, 0, describeRun(r2));
    assertCounts(r2, { done: 2 - survived.length, skipped: survived.length }, 'rerun after SIGKILL');
    assert.equal(datasetRequests(c.srv).length, 2 - survived.length, `only the missing items are requested\n${showReqs(datasetRequests(c.srv))}`);
    assertSameAsClean(c.out, BINANCE_RELS, c.clean, 'rerun after SIGKILL');
  });

  it('stdout closed by its reader (| head -1) mid-run: exit 130 as an interrupt (not killed by SIGPIPE), said on stderr, nothing partial; a rerun completes', async (t) => {
    const c = await setup(t, 'stdout-closed', { faults: { trickle: { bytesPerChunk: 4096, intervalMs: 20 } } }, { baseline: ['binance'] });
    // 2020-02-21 is not served (two 404 lines first), then the two files of 2020-02-22, slowly, one at a time.
    const args = ['--from', '2020-02-21', '--to', '2020-02-22', '--exchanges', 'binance-futures', '--data-types', 'trades,quotes', '--symbols', 'BTCUSDT'];
    const h = c.start(args, { extra: ['--concurrency', '1'] });
    h.child.stdout.once('data', () => h.child.stdout.destroy());
    const r = await h.done;
    assert.equal(r.signal, null, `not killed by a signal\n${describeRun(r)}`);
    assert.equal(r.code, 130, describeRun(r));
    assert.match(r.stderr, /stdout cannot be written \(Broken pipe\): its reader went away; stopping as if interrupted/, describeRun(r));
    assert.ok(r.summary, `summary JSON\n${describeRun(r)}`);
    assert.ok(r.summary.counts.cancelled >= 1, `the item in flight was cancelled\n${r.summaryText}`);
    assert.deepEqual(listFiles(c.out).filter((f) => f.includes('.tmp-')), [], 'no temporary file left');
    for (const rel of listFiles(c.out).filter((f) => f.endsWith('.parquet'))) {
      assert.ok(fs.readFileSync(path.join(c.out, rel)).equals(c.clean.get(rel)), `${rel} is a clean object`);
    }
    c.srv.setFaults({});
    const r2 = await c.run(args);
    assert.equal(r2.code, 0, describeRun(r2));
    assertSameAsClean(c.out, BINANCE_RELS, c.clean, 'rerun after stdout closed');
  });

  for (const sig of ['SIGINT', 'SIGTERM']) {
    it(`${sig} mid-run: exit 130 quickly, summary, nothing partial; a rerun completes`, async (t) => {
      const c = await setup(t, `sig-${sig}`, { faults: { trickle: { bytesPerChunk: 1024, intervalMs: 50 } } }, { baseline: ['binance'] });
      const h = c.start(SPECS.binance.args);
      await waitFor(() => {
        const reqs = datasetRequests(c.srv);
        return reqs.length === 2 && reqs.every((q) => q.bytesSent >= 8 * 1024);
      }, { what: 'both transfers under way' });
      const tSig = Date.now();
      h.child.kill(sig);
      const r = await h.done;
      assert.equal(r.code, 130, describeRun(r));
      assert.ok(r.t1 - tSig < 5000, `exited ${r.t1 - tSig} ms after ${sig}`);
      assert.match(r.stderr, /summary:/, describeRun(r));
      assert.deepEqual(listFiles(c.out).filter((f) => f.includes('.tmp-')), [], `temporary files after ${sig}`);
      for (const rel of listFiles(c.out)) {
        assert.ok(fs.readFileSync(path.join(c.out, rel)).equals(c.clean.get(rel) ?? Buffer.alloc(0)), `${rel} after ${sig} is not a clean object`);
      }
      assert.ok(r.summary, `summary JSON after ${sig}\n${describeRun(r)}`);
      assert.equal(r.summary.items, 2, r.summaryText);
      assert.ok(r.summary.counts.cancelled >= 1, `cancelled items\n${r.summaryText}`);
      assert.equal(r.summary.counts.cancelled + r.summary.counts.done, 2, r.summaryText);

      c.srv.setFaults({});
      const r2 = await c.run(SPECS.binance.args);
      assert.equal(r2.code, 0, describeRun(r2));
      assertSameAsClean(c.out, BINANCE_RELS, c.clean, `rerun after ${sig}`);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// 9. shards
// ---------------------------------------------------------------------------------------------

describe('download: shards', () => {
  it('--shard 0/3, 1/3, 2/3 together give exactly the unsharded objects, byte-identical', async (t) => {
    const c = await setup(t, 'shards', {}, { baseline: ['binance', 'bitmex'] });
    // 9 days x 2 data types x 2 pinned symbols = 36 items; 3 exist (the rest are 404).
    const args = ['--from', '2020-02-22', '--to', '2020-03-01', '--exchanges', 'binance-futures,bitmex', '--data-types', 'trades,quotes',
      '--symbols', 'binance-futures:BTCUSDT,bitmex:XBTUSD'];
    const wantRels = relsOf('binance', 'bitmex');
    const full = await c.run(args, { out: path.join(c.dir, 'full') });
    assert.equal(full.code, 0, describeRun(full));
    assert.equal(full.summary.items, 36, full.summaryText);
    assertCounts(full, { done: 3, not_available: 33 }, 'unsharded');
    assertSameAsClean(full.out, wantRels, c.clean, 'unsharded');

    const shardFiles = [];
    const shardRecords = [];
    const shardIds = [];
    for (let i = 0; i < 3; i++) {
      const r = await c.run(args, { out: path.join(c.dir, `shard-${i}`), extra: ['--shard', `${i}/3`] });
      assert.equal(r.code, 0, describeRun(r));
      assert.ok(r.summary, `shard ${i} summary`);
      shardFiles.push(tickObjects(r.out));
      shardRecords.push(itemRecords(r.out));
      shardIds.push(r.summary.results.map((x) => x.id));
      assert.equal(r.summary.items, r.summary.results.length, `shard ${i}: items vs results`);
      for (const rel of tickObjects(r.out)) {
        assert.ok(fs.readFileSync(path.join(r.out, rel)).equals(c.clean.get(rel) ?? Buffer.alloc(0)), `shard ${i}: ${rel} differs`);
      }
    }
    const allFiles = shardFiles.flat();
    assert.equal(new Set(allFiles).size, allFiles.length, `an object was written by two shards: ${JSON.stringify(shardFiles)}`);
    assert.deepEqual([...allFiles].sort(), wantRels, `union of shard objects: ${JSON.stringify(shardFiles)}`);
    // Every 404 recorded once, by the shard that asked.
    assert.equal(itemRecords(full.out).length, 33);
    assert.deepEqual(shardRecords.flat().sort(), itemRecords(full.out));
    const allIds = shardIds.flat();
    assert.equal(new Set(allIds).size, allIds.length, 'an item ran in two shards');
    assert.deepEqual([...allIds].sort(), full.summary.results.map((x) => x.id).sort(), 'union of shard items = unsharded items');
    assert.ok(shardIds.every((ids) => ids.length > 0), `every shard has items: ${shardIds.map((x) => x.length)}`);
  });
});

// ---------------------------------------------------------------------------------------------
// 7. a hostile or broken server (issue 16 §7)
// ---------------------------------------------------------------------------------------------

describe('download: a hostile or broken server', () => {
  const TRADES_PATH = '/binance-futures/trades/';
  const TRADES_ID = itemIdOf(F_TRADES);
  const TRADES_ARGS = ['--from', '2020-02-22', '--exchanges', 'binance-futures', '--data-types', 'trades', '--symbols', 'BTCUSDT'];

  it('a 400 that echoes the request headers: the key appears nowhere (stderr text and JSON, summary, files)', async (t) => {
    const c = await setup(t, 'echo-headers', { faults: { echoHeaders: { status: 400, path: TRADES_PATH } } });
    for (const format of ['text', 'json']) {
      const r = await c.run(TRADES_ARGS, { key: SECRET_KEY, extra: ['--log-format', format, '--log-level', 'debug'] });
      assert.equal(r.code, 1, `${format}: a 400 is permanent\n${describeRun(r)}`);
      // The echoed body did reach the message (so the key would have been there), redacted.
      assert.match(r.stderr, /HTTP 400 for .*BTCUSDT\.csv\.gz: .*\\?"authorization\\?":\\?"Bearer \[REDACTED\]\\?"/, describeRun(r));
      assert.match(resultOf(r, TRADES_ID).reason, /Bearer \[REDACTED\]/, r.summaryText);
      assertNoKey(r, SECRET_KEY, `--log-format ${format}`);
      if (format === 'json') {
        for (const line of r.stderr.split('\n').filter((l) => l)) assert.doesNotThrow(() => JSON.parse(line), line);
      }
    }
    const reqs = datasetRequests(c.srv);
    assert.equal(reqs.length, 2, `one request per run, not retried\n${showReqs(reqs)}`);
  });

  it('a password in TARDIS_DATASETS_URL is in no message, summary, object or completion record', async (t) => {
    const c = await setup(t, 'url-password');
    const url = c.srv.url.replace('http://', 'http://user:URLPASSWORD1@');
    // A file served and stored (its objects' `source`), then a server error (its message).
    const ok = await c.run(TRADES_ARGS, { env: { TARDIS_DATASETS_URL: url } });
    assert.equal(ok.code, 0, describeRun(ok));
    assertCounts(ok, { done: 1 }, 'a URL with user information');
    c.srv.setFaults({ status5xx: { code: 500 } });
    const bad = await c.run(['--from', '2020-02-22', '--exchanges', 'deribit', '--data-types', 'trades', '--symbols', 'BTC-PERPETUAL'],
      { env: { TARDIS_DATASETS_URL: url, RETRY_MAX_ATTEMPTS: '1' } });
    assert.equal(bad.code, 3, describeRun(bad));
    for (const r of [ok, bad]) {
      for (const text of [r.stdout, r.stderr, r.summaryText]) assert.ok(!text.includes('URLPASSWORD1'), describeRun(r));
    }
    assert.match(bad.stderr, /http:\/\/\[REDACTED\]@127\.0\.0\.1/, describeRun(bad));
    const files = listFiles(c.out);
    assert.ok(files.some((f) => f.endsWith('.parquet')), files.join('\n'));
    for (const f of files) assert.ok(!fs.readFileSync(path.join(c.out, f)).includes('URLPASSWORD1'), `${f} holds the password`);
  });

  it('a key with a trailing newline and spaces (env, TARDIS_API_KEY_FILE, .env) is trimmed and accepted', async (t) => {
    const c = await setup(t, 'key-trim', { apiKey: SECRET_KEY });
    const viaEnv = await c.run(TRADES_ARGS, { key: `${SECRET_KEY} \n`, out: path.join(c.dir, 'env') });
    assert.equal(viaEnv.code, 0, describeRun(viaEnv));
    assertCounts(viaEnv, { done: 1 }, 'key from env');
    const keyFile = path.join(c.dir, 'key.txt');
    fs.writeFileSync(keyFile, `  ${SECRET_KEY}\r\n\n`);
    const viaFile = await c.run(TRADES_ARGS, { key: null, env: { TARDIS_API_KEY_FILE: keyFile }, out: path.join(c.dir, 'file') });
    assert.equal(viaFile.code, 0, describeRun(viaFile));
    assertCounts(viaFile, { done: 1 }, 'key from file');
    const envFile = path.join(c.dir, 'keys.env');
    fs.writeFileSync(envFile, `TARDIS_API_KEY="${SECRET_KEY}  "\n`);
    const viaDotEnv = await c.run(TRADES_ARGS, { key: null, extra: ['--env-file', envFile], out: path.join(c.dir, 'dotenv') });
    assert.equal(viaDotEnv.code, 0, describeRun(viaDotEnv));
    assertCounts(viaDotEnv, { done: 1 }, 'key from .env');
    const reqs = datasetRequests(c.srv);
    assert.ok(reqs.length === 3 && reqs.every((q) => q.auth === 'valid' && q.status === 200), showReqs(reqs));
    // A space inside the key is a usage error that does not show the key.
    const inside = await c.run(TRADES_ARGS, { key: 'abcd efgh-secret', out: path.join(c.dir, 'bad') });
    assert.equal(inside.code, 2, describeRun(inside));
    assert.match(inside.stderr, /TARDIS_API_KEY holds a space or control character/);
    assert.ok(!inside.stderr.includes('efgh-secret'), inside.stderr);
  });

  it('a body longer than its Content-Length: read no further than announced; the next item on the connection is clean', async (t) => {
    const c = await setup(t, 'overlong', {}, { baseline: ['binance'] });
    c.srv.setFaults({ overlongBody: { extraBytes: 1 << 20, path: TRADES_PATH } });
    // One item in flight: quotes follows trades on the same client, after the extra bytes.
    const r = await c.run(SPECS.binance.args, { extra: ['--concurrency', '1'] });
    assert.equal(r.code, 0, describeRun(r));
    const reqs = datasetRequests(c.srv);
    assert.ok(reqs.some((q) => q.faults.includes('overlongBody')), showReqs(reqs));
    assertCounts(r, { done: 2 }, 'overlong');
    const size = fs.statSync(F_TRADES).size;
    assert.equal(resultOf(r, TRADES_ID).bytes_in, size, `exactly the ${size} announced bytes were taken\n${r.summaryText}`);
    assertSameAsClean(c.out, BINANCE_RELS, c.clean, 'overlong body');
  });

  it('an endless body: stopped by the size bound (ITEM_MAX_SIZE, failed) or the time bound (ITEM_TIMEOUT_HOURS, retryable)', async (t) => {
    const c = await setup(t, 'endless', { faults: { endlessBody: { path: TRADES_PATH } } });
    const sized = await c.run(TRADES_ARGS, { env: { ITEM_MAX_SIZE: '2M' }, out: path.join(c.dir, 'sized') });
    assert.equal(sized.code, 1, describeRun(sized));
    let res = resultOf(sized, TRADES_ID);
    assert.equal(res.outcome, 'failed', sized.summaryText);
    assert.match(res.reason, /stopped by the size bound: more than 2097152 bytes/, sized.summaryText);
    // The reason names the file, as every other reason of a download does.
    const url = `${c.srv.url}/v1/binance-futures/trades/2020/02/22/BTCUSDT.csv.gz`;
    assert.ok(res.reason.startsWith(`${url}: stopped by the size bound`), sized.summaryText);
    assert.equal(res.requests, 1, 'a size bound is not retried');
    assert.deepEqual(listFiles(path.join(c.dir, 'sized')).filter((f) => f.endsWith('.parquet') || f.includes('.tmp-')), [], 'nothing left');

    const timed = await c.run(TRADES_ARGS, { env: { ITEM_TIMEOUT_HOURS: '0.0005' }, out: path.join(c.dir, 'timed') });
    assert.equal(timed.code, 3, describeRun(timed));
    res = resultOf(timed, TRADES_ID);
    assert.equal(res.outcome, 'failed_retryable', timed.summaryText);
    assert.match(res.reason, /stopped by the time bound: the item took longer than 1 s \(ITEM_TIMEOUT_HOURS\)/, timed.summaryText);
    assert.ok(res.reason.startsWith(`${url}: stopped by the time bound`), timed.summaryText);
    assert.ok(timed.t1 - timed.t0 < 15_000, describeRun(timed));
    assert.deepEqual(listFiles(path.join(c.dir, 'timed')).filter((f) => f.endsWith('.parquet') || f.includes('.tmp-')), [], 'nothing left');
  });

  it('a drip of 1 byte/s: below MIN_SPEED_BYTES_PER_SECOND over a MIN_SPEED_WINDOW_SECONDS window is a stall, retried, then exit 3', async (t) => {
    // Bytes keep coming (the zero-byte stall timeout never fires), far too slowly.
    const c = await setup(t, 'drip', { faults: { trickle: { bytesPerChunk: 1, intervalMs: 1000, path: TRADES_PATH } } });
    const r = await c.run(TRADES_ARGS, {
      env: { MIN_SPEED_BYTES_PER_SECOND: '1000', MIN_SPEED_WINDOW_SECONDS: '1', RETRY_MAX_ATTEMPTS: '2' },
    });
    assert.equal(r.code, 3, describeRun(r));
    const res = resultOf(r, TRADES_ID);
    assert.equal(res.outcome, 'failed_retryable', r.summaryText);
    assert.equal(res.requests, 2, r.summaryText);
    const why = /gave up after 2 requests in \d+ s; last error: slower than 1000 bytes\/s on average over 1 s \(\d+ bytes in the last window: stalled transfer\) \(http:\/\/127\.0\.0\.1:\d+\/v1\/binance-futures\/trades\/2020\/02\/22\/BTCUSDT\.csv\.gz, after \d+ body bytes\)/;
    assert.match(res.reason, why, r.summaryText);
    assert.match(r.stderr, /failed_retryable 2020-02-22\/trades\/binance-futures\/BTCUSDT: .*slower than 1000 bytes\/s.*http:\/\/127\.0\.0\.1/, r.stderr);
    // The second request resumed after the bytes the first one got.
    const reqs = datasetRequests(c.srv, TRADES_PATH);
    assert.equal(reqs.length, 2, showReqs(reqs));
    assert.match(reqs[1].range ?? '', /^bytes=[1-9]\d*-$/, showReqs(reqs));
    assert.ok(r.t1 - r.t0 < 10_000, `two 1 s windows, not ${r.t1 - r.t0} ms\n${describeRun(r)}`);
    assert.deepEqual(listFiles(r.out).filter((f) => f.endsWith('.parquet') || f.includes('.tmp-')), [], 'nothing stored');
  });
});

// ---------------------------------------------------------------------------------------------
// 8. exit codes a fleet can trust (issue 16 §8)
// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// honest reports: what the run says is what happened
// ---------------------------------------------------------------------------------------------

describe('download: honest reports', () => {
  it('--summary-json that cannot be written fails the run (exit 2); nothing is left beside it', async (t) => {
    const c = await setup(t, 'summary-unwritable');
    const folder = path.join(c.dir, 'summary-folder');
    fs.mkdirSync(folder);
    const r = await c.run(SPECS.binance.args, { extra: ['--summary-json', folder] });
    assert.equal(r.code, 2, describeRun(r));
    assert.match(r.stderr, /--summary-json: cannot write .*summary-folder/, describeRun(r));
    assert.deepEqual(fs.readdirSync(folder), [], 'nothing written into the folder');
    assert.deepEqual(fs.readdirSync(c.dir).filter((f) => f.includes('.tmp-')), [], 'no temporary summary left');
    assert.deepEqual(completedObjects(c.out), BINANCE_RELS, 'the downloads themselves are kept');
  });

  it('--summary-json with no temporary directory for its entries: exit 2 (a rerun cannot fix it) before any download, no summary', async (t) => {
    // The items' entries wait in an unnamed temporary file ($TMPDIR) until the summary is written.
    const c = await setup(t, 'summary-no-tmpdir');
    const r = await c.run(SPECS.binance.args, { env: { TMPDIR: path.join(c.dir, 'no-such-dir') } });
    assert.equal(r.code, 2, describeRun(r));
    assert.match(r.stderr, /cannot create a temporary file in .*no-such-dir for the summary's entries/, describeRun(r));
    assert.equal(r.summaryText, null, 'no summary written');
    assert.deepEqual(fs.readdirSync(c.dir).filter((f) => f.includes('.tmp-')), [], 'no temporary summary left');
    assert.deepEqual(datasetRequests(c.srv), [], 'nothing downloaded');
  });

  it('OUTCOME lines reach stdout as each item ends, not at the end of the run', async (t) => {
    // The quotes file pauses 3 s half way; trades, beside it, ends at once.
    const c = await setup(t, 'streamed', { faults: { stall: { path: '/quotes/', ms: 3000 } } });
    const h = c.start(SPECS.binance.args, { extra: ['--concurrency', '2'] });
    let firstLineAt = null;
    h.child.stdout.on('data', (d) => { if (firstLineAt === null && String(d).includes('\n')) firstLineAt = Date.now(); });
    const r = await h.done;
    assert.equal(r.code, 0, describeRun(r));
    assert.match(r.stdout.split('\n')[0], /^done\t2020-02-22\/trades\/binance-futures\/BTCUSDT\t/, describeRun(r));
    assert.ok(firstLineAt !== null, describeRun(r));
    assert.ok(r.t1 - firstLineAt >= 1500,
      `the first OUTCOME line came ${r.t1 - firstLineAt} ms before the run ended (want it as its item ended)\n${describeRun(r)}`);
    assert.deepEqual(stdoutLines(r), EXPECTED.binance.map((o) => `done\t${o.itemId}\t${o.rel}`).sort(), describeRun(r));
  });

  it("a rerun removes what a killed --force run left beside existing objects, never a live writer's file", async (t) => {
    const c = await setup(t, 'force-leftovers');
    const r1 = await c.run(SPECS.binance.args);
    assert.equal(r1.code, 0, describeRun(r1));
    const [a, b] = BINANCE_RELS.map((rel) => path.join(c.out, rel));
    // What a --force run killed while writing leaves: a temporary file beside the existing object,
    // flock-ed by nobody (its writer is dead).
    const dead = `${a}.tmp-00000000deadbeef`;
    fs.writeFileSync(dead, 'half an object');
    // A live writer's temporary file: flock-ed by a running process, as market-tick holds its own.
    const live = `${b}.tmp-00000000000a11fe`;
    fs.writeFileSync(live, 'being written');
    await holdLock(t, live, 'the lock on the live file');
    c.srv.reset();
    const r2 = await c.run(SPECS.binance.args);
    assert.equal(r2.code, 0, describeRun(r2));
    assertCounts(r2, { skipped: 2 }, 'rerun');
    assert.deepEqual(datasetRequests(c.srv), [], 'rerun: no dataset request');
    assert.ok(!fs.existsSync(dead), "the dead writer's temporary file is removed");
    assert.ok(fs.existsSync(live), "the live writer's temporary file is kept");
  });
});

describe('download: sealed leftovers of a killed grouped run', () => {
  it('a rerun removes sealed files whose owner is dead, keeps a live owner\'s, and removes a dead owner\'s lock file', async (t) => {
    const c = await setup(t, 'sealed-leftovers');
    const r1 = await c.run(SPECS.options.args);
    assert.equal(r1.code, 0, describeRun(r1));
    const rels = relsOf('options');
    assert.equal(rels.length, 2, rels.join(', '));
    const [a, b] = rels.map((rel) => path.join(c.out, rel));
    const dir = path.dirname(a);
    // A grouped file's objects are written, closed ("sealed") and renamed at the end; a process
    // holds ".owner.tmp-ID" flock-ed while it has "...-sealed-ID" files in the folder.
    const dead = `${a}.tmp-00000000deadbeef-sealed-00000000000dead0`;  // its owner's lock file is gone
    fs.writeFileSync(dead, 'sealed by a killed run');
    const liveOwner = path.join(dir, '.owner.tmp-00000000000a11fe');
    const live = `${b}.tmp-00000000beefcafe-sealed-00000000000a11fe`;
    fs.writeFileSync(liveOwner, '');
    fs.writeFileSync(live, 'sealed by a running process');
    await holdLock(t, liveOwner, 'the live owner lock');
    const deadOwner = path.join(dir, '.owner.tmp-000000000000dead');  // killed after its last commit
    fs.writeFileSync(deadOwner, '');
    c.srv.reset();
    const r2 = await c.run(SPECS.options.args);
    assert.equal(r2.code, 0, describeRun(r2));
    assertCounts(r2, { skipped: 1 }, 'rerun');
    assert.deepEqual(datasetRequests(c.srv), [], 'skipped on its completion record');
    assert.ok(!fs.existsSync(dead), 'sealed file of a dead owner removed');
    assert.ok(!fs.existsSync(deadOwner), "a dead owner's lock file removed");
    assert.ok(fs.existsSync(live) && fs.existsSync(liveOwner), "a live owner's sealed file and lock file kept");
  });
});

describe('download: exit codes a fleet can trust', () => {
  it('a data error in a downloaded file is permanent: one request, failed, exit 1', async (t) => {
    const dir = mkTmp(ROOT_TMP, 'data-error-src');
    const csv = 'exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n' +
      'binance-futures,BTCUSDT,1582329602111000,1582329602418379,42377944,buy,9682,0.132\n' +
      'binance-futures,BTCUSDT,not-a-time,1582329602418420,42377945,buy,9682,0.412\n';
    fs.writeFileSync(path.join(dir, 'binance-futures_trades_2020-02-22_BTCUSDT.csv.gz'), zlib.gzipSync(csv));
    const c = await setup(t, 'data-error', { dataDirs: [dir] });
    const r = await c.run(['--from', '2020-02-22', '--exchanges', 'binance-futures', '--data-types', 'trades', '--symbols', 'BTCUSDT']);
    assert.equal(r.code, 1, describeRun(r));
    assertCounts(r, { failed: 1 }, 'data error');
    const res = resultOf(r, itemIdOf(F_TRADES));
    assert.match(res.reason, /line 3/, r.summaryText);
    assert.equal(res.requests, 1, `not downloaded again\n${r.summaryText}`);
    // The whole file was received (the bad row is found once the gzip's check has passed).
    assert.equal(res.bytes_in, zlib.gzipSync(csv).length, r.summaryText);
    assert.deepEqual(listFiles(c.out), [], 'nothing written');
  });

  it('two downloads of the same items into one store at once: both exit 0, every object correct', async (t) => {
    const c = await setup(t, 'race', {}, { baseline: ['binance'] });
    // Each file's request is held until the other run asks for the same file, so both runs pass
    // the existence check, both download every file and race at the create-only commit, however
    // the two processes are scheduled.
    c.srv.setFaults({ pairRequests: { waitMs: 20000 } });
    const a = c.start(SPECS.binance.args);
    const b = c.start(SPECS.binance.args);
    const [ra, rb] = await Promise.all([a.done, b.done]);
    for (const r of [ra, rb]) {
      assert.equal(r.code, 0, describeRun(r));
      assert.equal(r.summary.counts.failed + r.summary.counts.failed_retryable, 0, r.summaryText);
      assert.equal(r.summary.counts.done + r.summary.counts.skipped, 2, r.summaryText);
    }
    // Per file, one run's commit wins (done), the other's loses to an identical object (skipped).
    const both = `${ra.summaryText}\n${rb.summaryText}`;
    assert.equal(ra.summary.counts.done + rb.summary.counts.done, 2, both);
    assert.equal(ra.summary.counts.skipped + rb.summary.counts.skipped, 2, both);
    for (const res of [...ra.summary.results, ...rb.summary.results]) {
      if (res.outcome === 'skipped') assert.ok(res.requests >= 1, `the loser downloaded, then lost the race\n${both}`);
    }
    assertSameAsClean(c.out, BINANCE_RELS, c.clean, 'two runs at once');
    const reqs = datasetRequests(c.srv);
    assert.equal(reqs.length, 4, `both runs downloaded both files (a race, not a skip)\n${showReqs(reqs)}`);
    assert.equal(c.srv.stats().byFault.pairRequests, 4, showReqs(reqs));
  });

  it('a grouped item another run completes while this one reads it: skipped, its objects left as they are', async (t) => {
    const c = await setup(t, 'grouped-race');
    const opts = relsOf('options');
    // The first request of the file stalls halfway (run B); run A, started once B is reading,
    // downloads the same file whole and writes every object and the completion record.
    c.srv.setFaults({ stall: { path: '/options_chain/', afterBytes: 300, ms: 3000, count: 1 } });
    const b = c.start(SPECS.options.args);
    const deadline = Date.now() + RUN_TIMEOUT_MS;
    while (datasetRequests(c.srv, '/options_chain/').length === 0 && Date.now() < deadline) await sleep(20);
    const ra = await c.run(SPECS.options.args);
    assert.equal(ra.code, 0, describeRun(ra));
    assertCounts(ra, { done: 1 }, 'run A');
    assert.deepEqual(tickObjects(c.out), opts, 'objects of run A');
    const inodes = opts.map((rel) => fs.statSync(path.join(c.out, rel)).ino);
    const rb = await b.done;
    assert.equal(rb.code, 0, describeRun(rb));
    // B read the whole file, then found the item complete: it neither replaces A's objects
    // (grouped objects are otherwise written over, so the record lists every one) nor says it wrote them.
    assertCounts(rb, { skipped: 1 }, 'run B');
    assert.match(resultOf(rb, itemIdOf(F_OPTIONS)).reason, /completed meanwhile by another run/, rb.summaryText);
    assert.deepEqual(opts.map((rel) => fs.statSync(path.join(c.out, rel)).ino), inodes, 'objects of run A kept');
    assert.deepEqual(tickObjects(c.out), opts, 'no other object');
    assert.equal(datasetRequests(c.srv, '/options_chain/').length, 2, showReqs(datasetRequests(c.srv)));
  });

  it('a grouped item two runs read at once: both write its objects, the one whose record comes second is skipped', async (t) => {
    const c = await setup(t, 'grouped-both');
    const opts = relsOf('options');
    // A lone run's objects (setup's baseline does not take a grouped item's record).
    const cleanDir = path.join(c.dir, 'clean');
    assert.equal((await c.run(SPECS.options.args, { out: cleanDir })).code, 0);
    const clean = new Map(opts.map((rel) => [rel, fs.readFileSync(path.join(cleanDir, rel))]));
    c.srv.reset();
    // Both runs' requests for the file are answered together: both find no record before and
    // (as a rule) after reading it, both write every object, and the create-only record goes to
    // one of them. A run much slower than the other finds the record once it has read the file
    // and writes nothing; either way it is skipped. (On GCS the orders are made deterministic
    // with the test double: tests/gcs/double.test.mjs.)
    c.srv.setFaults({ pairRequests: { path: '/options_chain/', waitMs: 20000 } });
    const [ra, rb] = await Promise.all([c.start(SPECS.options.args).done, c.start(SPECS.options.args).done]);
    for (const r of [ra, rb]) assert.equal(r.code, 0, describeRun(r));
    const both = `${ra.summaryText}\n${rb.summaryText}`;
    assert.equal(c.srv.stats().byFault.pairRequests, 2, both);
    const [done, skipped] = resultOf(ra, itemIdOf(F_OPTIONS)).outcome === 'done' ? [ra, rb] : [rb, ra];
    assertCounts(done, { done: 1 }, 'the run whose record was kept');
    assertCounts(skipped, { skipped: 1 }, 'the other run');
    assert.match(resultOf(skipped, itemIdOf(F_OPTIONS)).reason,
      /^completed at the same time by another run \(its completion record was written first|^completed meanwhile by another run/, both);
    assert.equal(skipped.stdout, '', 'the skipped run reports no object written');
    assertSameAsClean(c.out, opts, clean, 'two runs of a grouped item at once');
    const rec = JSON.parse(fs.readFileSync(path.join(c.out, itemRecords(c.out)[0]), 'utf8'));
    assert.deepEqual(rec.objects.map((o) => o.name).sort(), opts);
    assert.equal(rec.rows, 7);
  });

  it('a grouped item two runs with other compression read at once: the record gives the sizes of the files that stay', async (t) => {
    const c = await setup(t, 'grouped-sizes');
    c.srv.setFaults({ pairRequests: { path: '/options_chain/', waitMs: 20000 } });
    const [ra, rb] = await Promise.all([c.start(SPECS.options.args).done,
      c.start(SPECS.options.args, { extra: ['--compression', 'none'] }).done]);
    for (const r of [ra, rb]) assert.equal(r.code, 0, describeRun(r));
    const outcomes = [ra, rb].map((r) => resultOf(r, itemIdOf(F_OPTIONS)).outcome).sort();
    assert.deepEqual(outcomes, ['done', 'skipped'], `${ra.summaryText}\n${rb.summaryText}`);
    const rec = JSON.parse(fs.readFileSync(path.join(c.out, itemRecords(c.out)[0]), 'utf8'));
    assert.deepEqual(rec.objects.map((o) => o.name).sort(), relsOf('options'));
    for (const o of rec.objects) assert.equal(o.bytes, fs.statSync(path.join(c.out, o.name)).size, o.name);
    assert.equal(rec.rows, 7);
    assert.deepEqual(listFiles(c.out).filter((f) => f.includes('.tmp-')), [], 'no temporary file left');
  });

  it('an output that cannot be written is a usage error (exit 2) found before any download', async (t) => {
    const c = await setup(t, 'unwritable');
    const file = path.join(c.dir, 'a-file');
    fs.writeFileSync(file, 'x');
    for (const out of [file, path.join(file, 'sub')]) {
      const r = await c.run(SPECS.binance.args, { out });
      assert.equal(r.code, 2, describeRun(r));
      assert.ok(r.stderr.includes(`the output ${out} `), describeRun(r));
    }
    assert.deepEqual(datasetRequests(c.srv), [], 'no download was started');
  });
});
