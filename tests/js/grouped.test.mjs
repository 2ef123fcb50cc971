// Grouped Tardis files (a Deribit OPTIONS day) at scale: thousands of instruments in one file,
// converted under `ulimit -n 256`, every output read back by DuckDB; plus the rows that cannot
// go to an instrument of their own (no key, two symbols with one key). The input is generated
// here (labelled as such): Tardis rows of the real shape, with made-up values.
//
// Binary: $MARKET_TICK_BIN or ../../build/market-tick.   Run: cd tests/js && npm ci && npm test
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import zlib from 'node:zlib';
import os from 'node:os';
import path from 'node:path';

import { DEFAULT_METADATA_DIR, startServer } from '../support/tardis_server.mjs';
import { closeDuckdb, duckdb } from './lib/readers.mjs';

const sql = async (q) => (await duckdb()).arrays(q);
import { BIN, describeRun, mkTmp } from './lib/harness.mjs';

const ROOT_TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'market-tick-grouped-'));
after(async () => {
  await closeDuckdb();
  fs.rmSync(ROOT_TMP, { recursive: true, force: true });
});

const HEADER = 'exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n';
const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

/** Option i of n: BTC/ETH, 10 expiries in 2024, strikes, C/P. */
function option(i) {
  const cur = i % 2 ? 'ETH' : 'BTC';
  const month = 1 + ((i >> 1) % 10);
  const strike = 1000 + 500 * (i >> 5);
  const cp = (i >> 4) % 2 ? 'P' : 'C';
  return { sym: `${cur}-${month}${MONTHS[month - 1]}24-${strike}-${cp}`,
    key: `DERIBIT:OPTION:${cur}-USD-24${String(month).padStart(2, '0')}${String(month).padStart(2, '0')}-${strike}-${cp === 'C' ? 'CALL' : 'PUT'}` };
}

/** A generated Deribit OPTIONS trades day: `perInstrument` rows for each of n options, interleaved. */
function writeOptionsDay(file, n, perInstrument, extraRows = []) {
  const t0 = 1704067200000000; // 2024-01-01
  let s = HEADER;
  let id = 0;
  for (let k = 0; k < perInstrument; k++) {
    for (let i = 0; i < n; i++) {
      const ts = t0 + id * 1000;
      s += `deribit,${option(i).sym},${ts},${ts + 7},${id},${id % 2 ? 'sell' : 'buy'},0.${(id % 97) + 1},${(id % 50) + 1}\n`;
      id++;
    }
  }
  for (const sym of extraRows) {
    const ts = t0 + id * 1000;
    s += `deribit,${sym},${ts},${ts + 7},${id},buy,0.5,1\n`;
    id++;
  }
  fs.writeFileSync(file, s);
  return id;
}

/** Runs the binary with the open-file limit lowered to `nofile` (a shell's ulimit, as a user would). */
function runLimited(args, nofile, env = {}) {
  const r = spawnSync('/bin/sh', ['-c', `ulimit -n ${nofile} && exec "$0" "$@"`, BIN, ...args], {
    encoding: 'utf8', timeout: 300_000, maxBuffer: 64 << 20, env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000', ...env },
  });
  if (r.error) throw r.error;
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

// Files under dir, without the store's layout record (checked in layout.test.mjs).
function walk(dir, base = dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (dir === base && e.name === 'market-tick-store.json') return [];
    return e.isDirectory() ? walk(p, base) : [path.relative(base, p)];
  });
}

/**
 * Deribit OPTIONS trades days (`options` options, two rows each) and BTC-PERPETUAL files for the days in
 * `perpetualDays`, served by a test server that holds every OPTIONS request; `download` of both symbols over
 * the days started with `--concurrency`. Returns the server, the child and its output so far.
 */
async function heldGroupedDownload(t, dir, { days, options, perpetualDays, concurrency }) {
  const data = path.join(dir, 'srv');
  fs.mkdirSync(data);
  for (const [k, d] of days.entries()) {
    const csv = path.join(dir, 'day.csv');
    writeOptionsDay(csv, options, 2);
    fs.writeFileSync(path.join(data, `deribit_trades_${d}_OPTIONS.csv.gz`), zlib.gzipSync(fs.readFileSync(csv)));
    if (!perpetualDays.includes(d)) continue;
    const ts = Date.parse(`${d}T00:00:00Z`) * 1000;
    fs.writeFileSync(path.join(data, `deribit_trades_${d}_BTC-PERPETUAL.csv.gz`),
      zlib.gzipSync(HEADER + `deribit,BTC-PERPETUAL,${ts},${ts + 7},${k + 1},buy,42000,10\n`));
  }
  const srv = await startServer({ dataDirs: [data] });
  t.after(() => srv.close());
  srv.setFaults({ holdRequests: { path: 'OPTIONS' } });
  const out = path.join(dir, 'out');
  const child = spawn(BIN, ['download', '--from', days[0], '--to', days.at(-1), '--exchanges', 'deribit',
    '--data-types', 'trades', '--symbols', 'OPTIONS,BTC-PERPETUAL', '--output', out, '--concurrency', String(concurrency)], {
    env: { ...process.env, TARDIS_DATASETS_URL: srv.url, TARDIS_API_URL: srv.url, TARDIS_API_KEY: 'k', SOURCE_DATE_EPOCH: '1700000000' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const run = { srv, out, stdout: '', stderr: '' };
  child.stdout.on('data', (b) => { run.stdout += b; });
  child.stderr.on('data', (b) => { run.stderr += b; });
  run.closed = new Promise((resolve) => child.on('close', resolve));
  return run;
}

describe('grouped files', () => {
  it('3,000 instruments in one file convert under ulimit -n 256, every row in its own instrument\'s file', async () => {
    const dir = mkTmp(ROOT_TMP, 'many');
    const tmp = mkTmp(ROOT_TMP, 'many-tmpdir');
    const input = path.join(dir, 'deribit_trades_2024-01-01_OPTIONS.csv');
    const N = 3000;
    const rows = writeOptionsDay(input, N, 3);
    const out = path.join(dir, 'out');
    const args = ['convert', input, '--output', out, '--threads', '2'];
    const r = runLimited(args, 256, { TMPDIR: tmp });
    assert.equal(r.code, 0, describeRun(args, r));
    const files = walk(out).sort();
    const prefix = 'raw_tick_data/by_date/day-2024-01-01/data_type-trades/';
    // One file per instrument, and the item's completion record, written last (as download writes it).
    const record = `${prefix}_items/deribit/OPTIONS.json`;
    const want = [...Array.from({ length: N }, (_, i) => `${prefix}${option(i).key}.parquet`), record].sort();
    assert.deepEqual(files, want, 'one file per instrument, named by its key, nothing else (no temporary or spill file)');
    const rec = JSON.parse(fs.readFileSync(path.join(out, record), 'utf8'));
    assert.equal(rec.outcome, 'done');
    assert.equal(rec.objects.length, N);
    assert.equal(rec.objects.reduce((n, o) => n + o.rows, 0), rows);
    assert.deepEqual(fs.readdirSync(tmp), [], 'no spill file left in TMPDIR');
    assert.equal(r.stdout.trim().split('\n').length, N, 'one stdout line per output');
    // Every file holds exactly its instrument's rows, in order.
    const got = await sql(
      `SELECT filename, count(*)::INT AS n, min(symbol) AS s1, max(symbol) AS s2, list(id ORDER BY local_timestamp)::VARCHAR[] AS ids
       FROM read_parquet('${out}/${prefix}*.parquet', filename=true) GROUP BY filename`);
    assert.equal(got.rows.length, N);
    let total = 0;
    const byKey = new Map(Array.from({ length: N }, (_, i) => [option(i).key, i]));
    for (const [filename, n, s1, s2, ids] of got.rows) {
      const key = path.basename(filename, '.parquet');
      const i = byKey.get(key);
      assert.ok(i !== undefined, `unexpected file ${filename}`);
      assert.equal(n, 3, key);
      assert.equal(s1, option(i).sym, key);
      assert.equal(s2, option(i).sym, key);
      assert.deepEqual(ids.items, [String(i), String(i + N), String(i + 2 * N)], key);
      total += n;
    }
    assert.equal(total, rows);

    // validate --deep reads the 3,000 footers with fewer at once than asked when the open-file limit
    // leaves no room for more, and says so once. It read 64 at once, and checks failed with EMFILE at
    // random, each retried as a store error until the run gave up with exit 3.
    const vargs = ['validate', '--from', '2024-01-01', '--output', out, '--deep', '--exchanges', 'deribit',
      '--data-types', 'trades', '--symbols', 'deribit:OPTIONS', '--read-only', '--concurrency', '64'];
    const v = runLimited(vargs, 24);
    assert.equal(v.code, 0, describeRun(vargs, v));
    assert.equal(v.stderr.match(/--concurrency 64: the open-file limit \(ulimit -n\) of 24 leaves room for 1 checks at once; running that many/g)?.length, 1,
      describeRun(vargs, v));
    assert.match(v.stdout, /^result: complete/m, describeRun(vargs, v));
  });

  // The spill of a grouped file that cannot be written (a full disk; here a file size limit, ulimit -f,
  // whose signal the shell ignores so the write fails with EFBIG) names the input it stopped. It said
  // "write DIR/(market-tick spill): No space left on device", the same line for every file that failed.
  it('a spill that cannot be written names the input file it belongs to', () => {
    const dir = mkTmp(ROOT_TMP, 'spill-full');
    const input = path.join(dir, 'deribit_trades_2024-01-01_OPTIONS.csv');
    writeOptionsDay(input, 3000, 40);
    const out = path.join(dir, 'out');
    const args = ['convert', input, '--output', out];
    const r = spawnSync('/bin/sh', ['-c', 'trap "" XFSZ; ulimit -f 2048 && exec "$0" "$@"', BIN, ...args],
      { encoding: 'utf8', timeout: 300_000, env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000', TMPDIR: dir } });
    assert.equal(r.status, 3, describeRun(args, { code: r.status, stdout: r.stdout, stderr: r.stderr }));
    assert.ok(r.stderr.includes(`(market-tick spill of ${input}): File too large`), r.stderr);
    assert.deepEqual(fs.existsSync(out) ? walk(out).filter((f) => f.endsWith('.parquet')) : [], [], 'nothing written');
  });

  // A book_snapshot_25 day of 3,000 options (generated: 20 rows each, 104 value columns) took 280 MB at
  // --threads 2: each output with rows waiting for a piece of their own held a row group of 109 column
  // objects, and the cap on such outputs counted outputs, as for trades' 8 columns. Counted in columns,
  // the batch goes to the spill at once; the objects are the same bytes.
  it('a wide grouped file (book_snapshot_25, 3,000 options) converts within 256 MB, each option its rows',
    { skip: !fs.existsSync('/usr/bin/time') && 'needs /usr/bin/time' }, async () => {
      const dir = mkTmp(ROOT_TMP, 'wide');
      const input = path.join(dir, 'deribit_book_snapshot_25_2024-01-01_OPTIONS.csv');
      const levels = Array.from({ length: 25 }, (_, j) => `asks[${j}].price,asks[${j}].amount,bids[${j}].price,bids[${j}].amount`);
      const t0 = 1704067200000000;
      const N = 3000, PER = 20;
      const fd = fs.openSync(input, 'w');
      fs.writeSync(fd, `exchange,symbol,timestamp,local_timestamp,${levels.join(',')}\n`);
      for (let k = 0; k < PER; k++) {
        let chunk = '';
        for (let i = 0; i < N; i++) {
          const ts = t0 + (k * N + i) * 100;
          const vals = Array.from({ length: 25 }, (_, j) => `0.0${j + 1},${(i + j) % 50 + 1},0.00${25 - j},${(k + j) % 40 + 1}`);
          chunk += `deribit,${option(i).sym},${ts},${ts + 5},${vals.join(',')}\n`;
        }
        fs.writeSync(fd, chunk);
      }
      fs.closeSync(fd);
      const out = path.join(dir, 'out');
      const r = spawnSync('/bin/sh', ['-c', `/usr/bin/time -f 'maxrss_kb=%M' "$0" "$@"`, BIN, 'convert', input, '--output', out,
        '--threads', '2'], { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' } });
      assert.equal(r.status, 0, r.stderr.slice(-2000));
      const rssKb = Number(/maxrss_kb=(\d+)/.exec(r.stderr)[1]);
      assert.ok(rssKb < 256 * 1024, `peak RSS ${(rssKb / 1024).toFixed(0)} MB`);
      const prefix = 'raw_tick_data/by_date/day-2024-01-01/data_type-book_snapshot_25/';
      assert.equal(walk(out).filter((f) => f.endsWith('.parquet')).length, N);
      const got = await sql(
        `SELECT count(*)::INT AS n, min(symbol) AS s, min(bid_volume_25)::DOUBLE AS b25, max(ask_price_1)::DOUBLE AS a1
         FROM read_parquet('${out}/${prefix}${option(7).key}.parquet')`);
      assert.deepEqual(got.rows, [[PER, option(7).sym, 1, 0.01]]);
    });

  it('a row whose symbol has no key is kept under DERIBIT:UNKEYED:{symbol}, counted, exit 1; the others are kept', async () => {
    const dir = mkTmp(ROOT_TMP, 'unkeyed');
    const input = path.join(dir, 'deribit_trades_2024-01-01_OPTIONS.csv');
    writeOptionsDay(input, 4, 1, ['BTC-FS-26JAN24_PERP', 'BTC-FS-26JAN24_PERP']);
    const out = path.join(dir, 'out');
    const args = ['convert', input, '--output', out];
    const r = runLimited(args, 256);
    assert.equal(r.code, 1, describeRun(args, r));
    assert.match(r.stderr, /2 rows of symbol 'BTC-FS-26JAN24_PERP' kept under a fallback name/);
    assert.match(r.stderr, /2 rows of 1 symbols have no instrument key/);
    const files = walk(out).sort();
    assert.equal(files.length, 6, files.join('\n')); // 4 options, the fallback, the completion record
    const fallback = files.find((f) => f.endsWith('DERIBIT:UNKEYED:BTC-FS-26JAN24_PERP.parquet'));
    assert.ok(fallback, files.join('\n'));
    const rows = await sql(`SELECT symbol, id FROM '${path.join(out, fallback)}' ORDER BY id`);
    assert.deepEqual(rows.rows, [['BTC-FS-26JAN24_PERP', '4'], ['BTC-FS-26JAN24_PERP', '5']]);
    const kv = await sql(`SELECT value::VARCHAR FROM parquet_kv_metadata('${path.join(out, fallback)}') WHERE key::VARCHAR = 'unkeyed_reason'`);
    assert.match(kv.rows[0][0], /BTC-FS-26JAN24_PERP/);
    // validate takes the fallback object as one of the item's own (its record lists it), rows and all: it
    // was called an unexpected object, its rows left out of the item's.
    const summary = path.join(dir, 'summary.json');
    const v = runLimited(['validate', '--from', '2024-01-01', '--exchanges', 'deribit', '--data-types', 'trades',
      '--symbols', 'OPTIONS', '--output', out, '--deep', '--summary-json', summary], 256);
    assert.equal(v.code, 0, v.stderr);
    const s = JSON.parse(fs.readFileSync(summary, 'utf8'));
    assert.deepEqual([s.counts.expected, s.counts.done, s.counts.corrupt, s.unexpected_objects], [5, 5, 0, 0], v.stdout);
    assert.match(v.stdout, /^trades +5 +5 .* 6$/m, v.stdout);
  });

  // A symbol so long that its fallback name is cut to fit and hashed: no key gives that name back, and
  // validate left the object out of the item (an unexpected object, or not even that with --layout
  // hive), so a damaged or deleted one went unreported and --from-report never fetched it again.
  for (const layout of ['by_date', 'hive']) {
    it(`a fallback object whose name was hashed is validated as the item's own (--layout ${layout})`, () => {
      const dir = mkTmp(ROOT_TMP, `unkeyed-long-${layout}`);
      const input = path.join(dir, 'deribit_trades_2024-01-01_OPTIONS.csv');
      const long = 'Z'.repeat(180);
      writeOptionsDay(input, 4, 1, [long]);
      const out = path.join(dir, 'out');
      const args = ['convert', input, '--output', out, '--layout', layout];
      const r = runLimited(args, 256);
      assert.equal(r.code, 1, describeRun(args, r));
      const fallback = walk(out).find((f) => /UNKEYED/.test(f));
      assert.ok(fallback && path.basename(fallback).length <= 200 && !fallback.includes(long), fallback);
      const vargs = ['validate', '--from', '2024-01-01', '--exchanges', 'deribit', '--data-types', 'trades',
        '--symbols', 'OPTIONS', '--output', out, '--deep', '--read-only'];
      const counts = () => {
        const summary = path.join(dir, `summary-${Math.random()}.json`);
        const v = runLimited([...vargs, '--summary-json', summary], 256);
        const s = JSON.parse(fs.readFileSync(summary, 'utf8'));
        return { code: v.code, got: [s.counts.expected, s.counts.done, s.counts.missing, s.counts.corrupt, s.unexpected_objects], v };
      };
      let c = counts();
      assert.deepEqual([c.code, ...c.got], [0, 5, 5, 0, 0, 0], c.v.stdout);
      fs.truncateSync(path.join(out, fallback), 100);
      c = counts();
      assert.deepEqual([c.code, ...c.got], [1, 5, 4, 0, 1, 0], c.v.stdout);
      assert.match(c.v.stdout, /^corrupt\t2024-01-01\ttrades\tDERIBIT:UNKEYED:Z+[~-][0-9a-f]{16}\t/m, c.v.stdout);
      fs.rmSync(path.join(out, fallback));
      c = counts();
      assert.deepEqual([c.code, ...c.got], [1, 5, 4, 1, 0, 0], c.v.stdout);
    });
  }

  // --no-force keeps existing objects, so a grouped file's record (which lists the objects its file
  // wrote) is not written: the run said nothing, and validate then called the item missing.
  it('convert --no-force of a grouped file says that no completion record is written', () => {
    const dir = mkTmp(ROOT_TMP, 'no-force');
    const input = path.join(dir, 'deribit_trades_2024-01-01_OPTIONS.csv');
    writeOptionsDay(input, 4, 2);
    const out = path.join(dir, 'out');
    const args = ['convert', input, '--output', out, '--no-force'];
    const r = runLimited(args, 256);
    assert.equal(r.code, 0, describeRun(args, r));
    assert.equal(r.stderr.match(/--no-force writes no completion record for its item/g)?.length, 1, describeRun(args, r));
    const files = walk(out);
    assert.equal(files.filter((f) => f.endsWith('.parquet')).length, 4, files.join('\n'));
    assert.deepEqual(files.filter((f) => f.includes('_items')), [], files.join('\n'));
    // Without --no-force: the record, and no such line.
    const again = runLimited(['convert', input, '--output', out], 256);
    assert.equal(again.code, 0, describeRun(args, again));
    assert.doesNotMatch(again.stderr, /--no-force/);
    assert.equal(walk(out).filter((f) => f.includes('_items')).length, 1);
  });

  it('two symbols with one key fail the file, naming both, and write nothing of it', () => {
    const dir = mkTmp(ROOT_TMP, 'collide');
    const input = path.join(dir, 'deribit_trades_2024-01-01_OPTIONS.csv');
    writeOptionsDay(input, 4, 1, ['XRP_USDC-26JAN24-0d5-C', 'XRP_USDC-26JAN24-0.5-C']);
    const out = path.join(dir, 'out');
    const args = ['convert', input, '--output', out];
    const r = runLimited(args, 256);
    assert.equal(r.code, 1, describeRun(args, r));
    assert.match(r.stderr, /symbols 'XRP_USDC-26JAN24-0d5-C' \(exchange deribit\) and 'XRP_USDC-26JAN24-0.5-C' \(exchange deribit\) both give instrument key DERIBIT:OPTION:XRP-USDC-240126-0.5-CALL/);
    assert.deepEqual(fs.existsSync(out) ? walk(out) : [], [], 'no output of that file');
  });

  it('download: grouped items are split one at a time (items of one instrument beside them), each complete', async (t) => {
    // Each grouped item holds the state of its thousands of instruments and its spill's buffers, so several
    // in flight at once passed the memory bound (bench/README.md, "Grouped items in flight"). Held by the
    // server, the second grouped file is not even asked for while the first is being read, whatever
    // --concurrency says.
    const dir = mkTmp(ROOT_TMP, 'grouped-in-flight');
    const days = ['2024-01-01', '2024-01-02', '2024-01-03'];
    const run = await heldGroupedDownload(t, dir, { days, options: 20, perpetualDays: [days[0]], concurrency: 8 });
    const { srv, out } = run;
    const datasets = () => srv.stats().requests.filter((q) => q.path.endsWith('.csv.gz'));
    for (let round = 0; round < days.length; round++) {
      await srv.waitHeld(1);
      // Room for the others to ask, were they let: 7 more items may be in flight.
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(srv.held(), 1, `round ${round}: one grouped file asked for at a time\n${run.stderr}`);
      srv.release();
    }
    const code = await run.closed;
    const { stdout, stderr } = run;
    assert.equal(code, 0, stderr);
    assert.equal(datasets().length, 2 * days.length, 'each file once (BTC-PERPETUAL: one day served, two 404s)');
    assert.ok(datasets().some((q) => q.path.endsWith('BTC-PERPETUAL.csv.gz')), 'the one-instrument item ran beside');
    assert.match(stderr, /6 items: 4 done, 0 skipped, 0 no data, 2 not available, 0 failed/, stderr);
    for (const d of days) {
      const rec = JSON.parse(fs.readFileSync(path.join(out, 'raw_tick_data', 'by_date', `day-${d}`, 'data_type-trades', '_items', 'deribit', 'OPTIONS.json'), 'utf8'));
      assert.equal(rec.objects.length, 20, `${d}: every option`);
      assert.equal(rec.rows, 40);
    }
    assert.equal(stdout.split('\n').filter((l) => l.startsWith('done\t')).length, 3 * 20 + 1);
  });

  it('download: while a grouped item is in flight, the other workers take the items of one instrument, not the next grouped one', async (t) => {
    // A worker that took the next grouped item would only wait for the slot; with two in flight, the other one
    // downloads every one-instrument item of the range while the first grouped file is held.
    const dir = mkTmp(ROOT_TMP, 'grouped-order');
    const days = ['2024-01-01', '2024-01-02', '2024-01-03'];
    const run = await heldGroupedDownload(t, dir, { days, options: 5, perpetualDays: days, concurrency: 2 });
    const { srv } = run;
    const perpetuals = () => srv.stats().requests.filter((q) => q.path.endsWith('BTC-PERPETUAL.csv.gz')).length;
    await srv.waitHeld(1);
    for (let waited = 0; waited < 5000 && perpetuals() < days.length; waited += 50) await new Promise((r) => setTimeout(r, 50));
    const beside = perpetuals();
    const held = srv.held();
    for (let round = 0; round < days.length; round++) {
      if (round > 0) await srv.waitHeld(1);
      srv.release();
    }
    const code = await run.closed;
    const { stderr } = run;
    assert.equal(beside, days.length, `every one-instrument item ran while the first grouped file was held\n${stderr}`);
    assert.equal(held, 1, 'one grouped file asked for at a time');
    assert.equal(code, 0, stderr);
    assert.match(stderr, /6 items: 6 done, 0 skipped/, stderr);
  });

  it('more --threads than the open-file limit holds: a grouped file is written by the threads that fit, said once, every run complete', () => {
    // Each thread writing a grouped file's objects holds an object and its footer spill open: 65 of them (64 threads)
    // passed ulimit -n 64, and the file failed now and then with "Too many open files" (exit 2), its objects
    // half written.
    const dir = mkTmp(ROOT_TMP, 'threads-nofile');
    const file = path.join(dir, 'deribit_trades_2024-01-01_OPTIONS.csv');
    const n = 300;
    writeOptionsDay(file, n, 20);
    for (let run = 0; run < 4; run++) {
      const out = path.join(dir, `out${run}`);
      const args = ['convert', file, '--output', out, '--threads', '64'];
      const r = runLimited(args, 60);
      assert.equal(r.code, 0, `run ${run}: ${describeRun(args, r)}`);
      assert.match(r.stderr, /--threads 64: the open-file limit \(ulimit -n\) of 60 leaves room for \d+ threads writing a grouped file's objects/,
        r.stderr.slice(0, 2000));
      assert.equal(r.stderr.match(/open-file limit/g).length, 1, 'said once');
      assert.equal(walk(out).filter((f) => f.endsWith('.parquet')).length, n, `run ${run}`);
    }
  });

  it('download under ulimit -n 256 with --concurrency 64: fewer files in flight, said once, every item done', async (t) => {
    // Each file in flight holds about four descriptors (its connection, the HTTP library's wake-up pair, the
    // object being written): 64 of them passed 256, and some items failed with "Too many open files" (exit 1).
    const dir = mkTmp(ROOT_TMP, 'nofile');
    const data = path.join(dir, 'srv');
    fs.mkdirSync(data);
    const n = 1000;
    for (let i = 0; i < n; i++) {
      const sym = option(i).sym;
      let csv = HEADER;
      for (let k = 0; k < 200; k++) csv += `deribit,${sym},${1704067200000000 + k * 1000},${1704067200000007 + k * 1000},${k},buy,0.${k},${k + 1}\n`;
      fs.writeFileSync(path.join(data, `deribit_trades_2024-01-01_${sym}.csv.gz`), zlib.gzipSync(csv));
    }
    const srv = await startServer({ dataDirs: [data] });
    t.after(() => srv.close());
    const symbols = Array.from({ length: n }, (_, i) => `deribit:${option(i).sym}`).join(',');
    const out = path.join(dir, 'out');
    const child = spawn('/bin/sh', ['-c', 'ulimit -n 256 && exec "$0" "$@"', BIN, 'download', '--from', '2024-01-01',
      '--exchanges', 'deribit', '--data-types', 'trades', '--symbols', symbols, '--output', out, '--concurrency', '64'], {
      env: { ...process.env, TARDIS_DATASETS_URL: srv.url, TARDIS_API_URL: srv.url, SOURCE_DATE_EPOCH: '1700000000' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b) => { stderr += b; });
    const code = await new Promise((resolve) => child.on('close', resolve));
    assert.equal(code, 0, stderr.slice(-3000));
    assert.match(stderr, new RegExp(`${n} items: ${n} done, 0 skipped, 0 no data, 0 not available, 0 failed`), stderr.slice(-3000));
    assert.match(stderr, /--concurrency 64: the open-file limit \(ulimit -n\) of 256 leaves room for \d+ files in flight/, stderr.slice(0, 2000));
    assert.equal(stderr.match(/open-file limit/g).length, 1, 'said once');
  });

  it('an option venue without a symbol rule whose listing names OPTIONS only: its records key the grouped rows in convert, download and validate', async (t) => {
    // huobi-dm-options lists its options as one grouped dataset; their keys come from /v1/instruments alone, so
    // `instruments` must take the records of options the listing does not name. Generated: the day's file and
    // the two records (shaped as the real Deribit option record among the fixtures).
    const dir = mkTmp(ROOT_TMP, 'huobi-options');
    const data = path.join(dir, 'srv');
    const meta = path.join(dir, 'meta');
    fs.mkdirSync(data);
    fs.mkdirSync(meta);
    const day = '2024-03-01';
    const t0 = Date.parse(`${day}T00:00:00Z`) * 1000;
    const CALL = 'BTC-USDT-240329-C-70000', PUT = 'ETH-USDT-240329-P-3500';
    const rows = [CALL, PUT, CALL].map((sym, i) => `huobi-dm-options,${sym},${t0 + i * 1000},${t0 + i * 1000 + 5},${i},buy,100,1`);
    const file = path.join(data, `huobi-dm-options_trades_${day}_OPTIONS.csv.gz`);
    fs.writeFileSync(file, zlib.gzipSync(HEADER + rows.join('\n') + '\n'));
    const record = (id, base, strike, optionType) => ({
      id, datasetId: id, exchange: 'huobi-dm-options', baseCurrency: base, quoteCurrency: 'USDT', type: 'option', active: true,
      availableSince: '2024-02-01T00:00:00.000Z', expiry: '2024-03-29T08:00:00.000Z', priceIncrement: 0.01,
      amountIncrement: 0.001, minTradeAmount: 0.001, makerFee: 0.0002, takerFee: 0.0005, inverse: false,
      contractType: `${optionType}_option`, contractMultiplier: 1, strikePrice: strike, optionType,
    });
    fs.writeFileSync(path.join(meta, 'instrument_huobi-dm-options.json'),
      JSON.stringify([record(CALL, 'BTC', 70000, 'call'), record(PUT, 'ETH', 3500, 'put')]));
    const srv = await startServer({ dataDirs: [data], metadataDirs: [meta, DEFAULT_METADATA_DIR] });
    t.after(() => srv.close());
    const env = { ...process.env, TARDIS_DATASETS_URL: srv.url, TARDIS_API_URL: srv.url, TARDIS_API_KEY: 'k', SOURCE_DATE_EPOCH: '1700000000' };
    const runAsync = (args, runEnv = env) => new Promise((resolve) => {
      const child = spawn(BIN, args, { env: runEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '', stderr = '';
      child.stdout.on('data', (b) => { stdout += b; });
      child.stderr.on('data', (b) => { stderr += b; });
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    const prefix = `raw_tick_data/by_date/day-${day}/data_type-trades/`;
    const want = [`${prefix}HUOBI-DM-OPTIONS:OPTION:BTC-USDT-240329-70000-CALL.parquet`,
      `${prefix}HUOBI-DM-OPTIONS:OPTION:ETH-USDT-240329-3500-PUT.parquet`];
    const objects = (store) => walk(store).filter((f) => f.endsWith('.parquet') && f.startsWith('raw_tick_data')).sort();
    for (const how of ['convert', 'download']) {
      const store = path.join(dir, how);
      const instruments = ['instruments', '--from', day, '--exchanges', 'huobi-dm-options', '--output', store];
      if (how === 'convert') {
        // A run without a key first: it records that the exchange needs one, so the run with a key rewrites
        // the day without --force.
        const keyless = { ...env };
        delete keyless.TARDIS_API_KEY;
        const k = await runAsync(instruments, keyless);
        assert.equal(k.code, 0, k.stderr);
        const c = await runAsync(['convert', file, '--output', store]);
        assert.equal(c.code, 1, c.stderr);
        assert.match(c.stderr, /list no instrument of huobi-dm-options/, c.stderr);
      }
      const i = await runAsync(instruments);
      assert.equal(i.code, 0, i.stderr);
      const args = how === 'convert' ? ['convert', file, '--output', store]
        : ['download', '--from', day, '--exchanges', 'huobi-dm-options', '--data-types', 'trades', '--output', store];
      const r = await runAsync(args);
      assert.equal(r.code, 0, `${how}\n${r.stderr}`);
      assert.deepEqual(objects(store), want, `${how}\n${r.stderr}`);
      const got = await sql(`SELECT instrument_key, count(*)::INT FROM read_parquet('${store}/${prefix}*.parquet') GROUP BY 1 ORDER BY 1`);
      assert.deepEqual(got.rows, [['HUOBI-DM-OPTIONS:OPTION:BTC-USDT-240329-70000-CALL', 2], ['HUOBI-DM-OPTIONS:OPTION:ETH-USDT-240329-3500-PUT', 1]], how);
      const v = await runAsync(['validate', '--from', day, '--exchanges', 'huobi-dm-options', '--data-types', 'trades', '--output', store]);
      assert.equal(v.code, 0, `${how}: validate\n${v.stdout}\n${v.stderr}`);
    }
  });
});
