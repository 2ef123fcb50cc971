// validate -> download --from-report -> validate: the download fetches exactly
// the items the missing-data reports list (one missing, one corrupt), and the
// second validation is clean. The Tardis-compatible test server runs as its own
// process (the binary is run synchronously here).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { FIXTURE_DIR, ROOT, describeRun, run, runOk } from './lib/harness.mjs';

let server, work, data;
const SEL = ['--from', '2020-02-22', '--exchanges', 'binance-futures', '--data-types', 'trades,quotes', '--symbols', 'BTCUSDT'];
const obj = (dt) => path.join(data, 'raw_tick_data', 'by_date', 'day-2020-02-22', `data_type-${dt}`,
  'BINANCE-FUTURES:PERPETUAL:BTC-USDT.parquet');

before(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-from-report-'));
  data = path.join(work, 'data');
  const portFile = path.join(work, 'port');
  server = spawn(process.execPath, [path.join(ROOT, 'tests', 'support', 'tardis_server.mjs'), '--port', '0',
    '--port-file', portFile], { stdio: 'ignore' });
  for (let i = 0; i < 200 && !fs.existsSync(portFile); i++) await sleep(25);
  process.env.TARDIS_DATASETS_URL = `http://127.0.0.1:${fs.readFileSync(portFile, 'utf8').trim()}`;
  process.env.TARDIS_API_KEY = 'k';
  process.env.SOURCE_DATE_EPOCH = '1700000000';
});
after(() => {
  server?.kill();
  fs.rmSync(work, { recursive: true, force: true });
});

test('download --from-report fetches exactly the missing and corrupt items', () => {
  runOk(['convert', path.join(FIXTURE_DIR, 'binance-futures_trades_2020-02-22_BTCUSDT.csv.gz'),
    path.join(FIXTURE_DIR, 'binance-futures_quotes_2020-02-22_BTCUSDT.csv.gz'), '--output', data]);
  const good = fs.readFileSync(obj('trades'));
  fs.rmSync(obj('trades'));                                             // missing
  fs.truncateSync(obj('quotes'), Math.floor(fs.statSync(obj('quotes')).size / 2));  // corrupt
  const v1 = run(['validate', ...SEL, '--output', data, '--deep']);
  assert.equal(v1.code, 1, describeRun(['validate'], v1));
  assert.match(v1.stdout, /missing\t2020-02-22\ttrades/);
  assert.match(v1.stdout, /corrupt\t2020-02-22\tquotes/);
  const d = runOk(['download', '--from', '2020-02-22', '--output', data, '--from-report', '--summary-json', path.join(work, 's.json')]);
  const summary = JSON.parse(fs.readFileSync(path.join(work, 's.json'), 'utf8'));
  assert.deepEqual(summary.results.map((r) => r.id).sort(),
    ['2020-02-22/quotes/binance-futures/BTCUSDT', '2020-02-22/trades/binance-futures/BTCUSDT'], d.stderr);
  assert.equal(summary.counts.done, 2);
  const v2 = run(['validate', ...SEL, '--output', data, '--deep']);
  assert.equal(v2.code, 0, describeRun(['validate'], v2));
  // Same rows as the original conversion: only the `source` metadata (URL vs path) differs.
  const body = (b) => b.subarray(0, b.length - 8 - b.readUInt32LE(b.length - 8));
  assert.ok(body(fs.readFileSync(obj('trades'))).equals(body(good)));
});

// No day of the range has a report (validate never ran there, or another --output): exit 2 naming
// the store and what to run, in download and derive. It was exit 0 with nothing done, a warning per
// day, which a loop of --from-report rounds reads as a store complete.
test('--from-report without a report for any day of the range is a usage error naming the store', () => {
  const empty = path.join(work, 'never-validated');
  for (const cmd of ['download', 'derive']) {
    const r = run([cmd, '--from', '2020-03-01', '--to', '2020-03-31', '--output', empty, '--from-report']);
    assert.equal(r.code, 2, describeRun([cmd], r));
    assert.match(r.stderr, /--from-report: no missing-data report for 2020-03-01 \.\. 2020-03-31 \(31 days\) in .*never-validated.*missing_data_reports.*run market-tick validate/);
  }
  // Some days reported: the others are named in one warning per run of days, and the run goes on.
  const r = run(['download', '--from', '2020-02-20', '--to', '2020-02-23', '--output', data, '--from-report']);
  assert.equal(r.code, 0, describeRun(['download'], r));
  assert.match(r.stderr, /--from-report: 2020-02-20 \.\. 2020-02-21 \(2 days\) have no missing-data report/);
  assert.match(r.stderr, /--from-report: 2020-02-23 has no missing-data report/);
});

// One data type (or exchange) at a time: each validate replaced the day's report with its own items, so the
// trades item the first run reported missing was gone from it after a run over quotes, and the --from-report
// round downloaded the quotes alone with exit 0. A run keeps the report's rows of the items it did not check.
test('validate one data type at a time: the day report keeps the items the run did not check, and --from-report fetches all', () => {
  const store = path.join(work, 'one-at-a-time');
  runOk(['convert', path.join(FIXTURE_DIR, 'binance-futures_trades_2020-02-22_BTCUSDT.csv.gz'),
    path.join(FIXTURE_DIR, 'binance-futures_quotes_2020-02-22_BTCUSDT.csv.gz'), '--output', store]);
  const object = (dt) => path.join(store, 'raw_tick_data', 'by_date', 'day-2020-02-22', `data_type-${dt}`,
    'BINANCE-FUTURES:PERPETUAL:BTC-USDT.parquet');
  fs.rmSync(object('trades'));
  fs.rmSync(object('quotes'));
  const sel = (dt) => ['validate', '--from', '2020-02-22', '--exchanges', 'binance-futures', '--data-types', dt, '--symbols', 'BTCUSDT', '--output', store];
  for (const dt of ['trades', 'quotes', 'trades']) {
    const v = run(sel(dt));
    assert.equal(v.code, 1, describeRun(sel(dt), v));
    assert.match(v.stdout, new RegExp(`missing\\t2020-02-22\\t${dt}\\t`), v.stdout);
  }
  const dry = runOk(['download', '--from', '2020-02-22', '--output', store, '--from-report', '--dry-run']);
  assert.match(dry.stderr, /--from-report: 2 missing and 0 corrupt items/, dry.stderr);
  const d = runOk(['download', '--from', '2020-02-22', '--output', store, '--from-report', '--summary-json', path.join(work, 'one.json')]);
  const summary = JSON.parse(fs.readFileSync(path.join(work, 'one.json'), 'utf8'));
  assert.deepEqual(summary.results.map((r) => `${r.id} ${r.outcome}`).sort(),
    ['2020-02-22/quotes/binance-futures/BTCUSDT done', '2020-02-22/trades/binance-futures/BTCUSDT done'], d.stderr);
  // The trades run now finds its item: its row goes, the quotes row (not checked by it) stays until a run checks it.
  assert.equal(run(sel('trades')).code, 0);
  assert.match(runOk(['download', '--from', '2020-02-22', '--output', store, '--from-report', '--dry-run']).stderr,
    /--from-report: 1 missing and 0 corrupt items/);
  assert.equal(run(sel('quotes')).code, 0);
  assert.match(runOk(['download', '--from', '2020-02-22', '--output', store, '--from-report', '--dry-run']).stderr,
    /--from-report: 0 missing and 0 corrupt items/);
});
