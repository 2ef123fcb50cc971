// `market-tick validate` end to end with the real binary: a storage tree built with `market-tick convert`
// from the real Tardis fixtures, then damaged (truncated file, wrong schema, a file of another day, a
// zero-row day, missing objects). Checks the summary table, the exit codes, the missing-data reports
// (read by DuckDB), and opens the HTML report in headless Chromium (Debian's chromium driven by
// playwright-core) to count the heatmap cells of each status against the known tree. The screenshot
// goes to tests/js/artifacts/validate-report.png.
//
// Binary: $MARKET_TICK_BIN or ../../build/market-tick.   Chromium: $CHROMIUM or /usr/bin/chromium.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

import { closeDuckdb, duckParquetMetadata, duckReadAll, duckdb, hypReadAll, sqlStr } from './lib/readers.mjs';
import { FIXTURE_DIR, describeRun, mkTmp, run, runOk } from './lib/harness.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = path.join(HERE, 'artifacts');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const ROOT_TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'market-tick-validate-'));
after(async () => {
  await closeDuckdb();
  fs.rmSync(ROOT_TMP, { recursive: true, force: true });
});

const D1 = '2020-02-22', D2 = '2020-02-23';
const KEY = { BTC: 'BINANCE-FUTURES:PERPETUAL:BTC-USDT', ETH: 'BINANCE-FUTURES:PERPETUAL:ETH-USDT', XRP: 'BINANCE-FUTURES:PERPETUAL:XRP-USDT' };
const obj = (day, dt, key) => path.join('raw_tick_data', 'by_date', `day-${day}`, `data_type-${dt}`, `${key}.parquet`);
const SELECTION = ['--exchanges', 'binance-futures', '--data-types', 'trades,quotes', '--symbols', 'BTCUSDT,ETHUSDT,XRPUSDT'];

// The known tree: every expected item (2 days x 2 data types x 3 symbols) and its status with --deep.
const EXPECTED = {
  [`${D1} trades ${KEY.BTC}`]: 'done',
  [`${D1} quotes ${KEY.BTC}`]: 'done',
  [`${D1} trades ${KEY.ETH}`]: 'no_data', // header-only CSV: Tardis had no rows
  [`${D1} quotes ${KEY.ETH}`]: 'corrupt', // truncated to half
  [`${D1} trades ${KEY.XRP}`]: 'missing',
  [`${D1} quotes ${KEY.XRP}`]: 'corrupt', // a trades file under the quotes name: wrong schema
  [`${D2} trades ${KEY.BTC}`]: 'corrupt', // the 22nd's file under the 23rd: timestamps outside the day
  [`${D2} quotes ${KEY.BTC}`]: 'missing',
  [`${D2} trades ${KEY.ETH}`]: 'no_data',
  [`${D2} quotes ${KEY.ETH}`]: 'missing',
  [`${D2} trades ${KEY.XRP}`]: 'missing',
  [`${D2} quotes ${KEY.XRP}`]: 'missing',
};
const count = (status) => Object.values(EXPECTED).filter((s) => s === status).length;

/** Parses the summary table: { dataType: { expected, done, no_data, not_available, missing, corrupt, rows } }
 * (the no_data_incident column must be 0 here: these tests have no incident reports). */
function parseSummary(stdout) {
  const out = {};
  for (const line of stdout.split('\n')) {
    const m = line.match(/^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+|-)$/);
    if (!m || m[1] === 'data_type') continue;
    assert.equal(+m[6], 0, `no_data_incident of ${m[1]}`);
    out[m[1]] = { expected: +m[2], done: +m[3], no_data: +m[4], not_available: +m[5], missing: +m[7], corrupt: +m[8],
      rows: m[9] === '-' ? null : +m[9] };
  }
  return out;
}

/** Problem lines: { 'day dt key': { status, reason } }. */
function parseProblems(stdout) {
  const out = {};
  for (const line of stdout.split('\n')) {
    const p = line.split('\t');
    if (p[0] === 'missing' || p[0] === 'corrupt') out[`${p[1]} ${p[2]} ${p[3]}`] = { status: p[0], reason: p[4] ?? '' };
  }
  return out;
}

describe('market-tick validate on a damaged storage tree', () => {
  let work, data, report;
  let rowsTrades, rowsQuotes;

  before(() => {
    work = mkTmp(ROOT_TMP, 'tree');
    data = path.join(work, 'data');
    // Real fixtures, converted by the binary.
    const conv = runOk(['convert', path.join(FIXTURE_DIR, 'binance-futures_trades_2020-02-22_BTCUSDT.csv.gz'),
      path.join(FIXTURE_DIR, 'binance-futures_quotes_2020-02-22_BTCUSDT.csv.gz'), '--output', data]);
    const rows = Object.fromEntries(conv.stdout.trim().split('\n').map((l) => l.split('\t')).map(([p, r]) => [path.basename(path.dirname(p)), +r]));
    rowsTrades = rows['data_type-trades'];
    rowsQuotes = rows['data_type-quotes'];
    assert.ok(rowsTrades > 0 && rowsQuotes > 0, conv.stdout);
    // A day without rows: the header alone, named as Tardis names files.
    const empty = path.join(work, `binance-futures_trades_${D1}_ETHUSDT.csv.gz`);
    fs.writeFileSync(empty, zlib.gzipSync('exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n'));
    runOk(['convert', empty, '--output', data]);
    const abs = (day, dt, key) => path.join(data, obj(day, dt, key));
    assert.ok(fs.existsSync(abs(D1, 'trades', KEY.ETH)), 'zero-row file written');
    // Damage.
    const copy = (from, to) => {
      fs.mkdirSync(path.dirname(to), { recursive: true });
      fs.copyFileSync(from, to);
    };
    copy(abs(D1, 'quotes', KEY.BTC), abs(D1, 'quotes', KEY.ETH));
    fs.truncateSync(abs(D1, 'quotes', KEY.ETH), Math.floor(fs.statSync(abs(D1, 'quotes', KEY.ETH)).size / 2));
    copy(abs(D1, 'trades', KEY.BTC), abs(D1, 'quotes', KEY.XRP));
    copy(abs(D1, 'trades', KEY.BTC), abs(D2, 'trades', KEY.BTC));
    copy(abs(D1, 'trades', KEY.ETH), abs(D2, 'trades', KEY.ETH));
    report = path.join(work, 'report.html');
  });

  it('--deep: every status in the summary, the problem lines, exit code 1', () => {
    const args = ['validate', '--from', D1, '--to', D2, ...SELECTION, '--output', data, '--deep', '--report', report];
    const r = run(args);
    assert.equal(r.code, 1, describeRun(args, r));
    const s = parseSummary(r.stdout);
    assert.deepEqual(s.total, { expected: 12, done: count('done'), no_data: count('no_data'), not_available: 0, missing: count('missing'), corrupt: count('corrupt'), rows: rowsTrades + rowsQuotes }, r.stdout);
    assert.deepEqual(s.trades, { expected: 6, done: 1, no_data: 2, not_available: 0, missing: 2, corrupt: 1, rows: rowsTrades }, r.stdout);
    assert.deepEqual(s.quotes, { expected: 6, done: 1, no_data: 0, not_available: 0, missing: 3, corrupt: 2, rows: rowsQuotes }, r.stdout);
    const problems = parseProblems(r.stdout);
    const wanted = Object.entries(EXPECTED).filter(([, st]) => st === 'missing' || st === 'corrupt');
    assert.equal(Object.keys(problems).length, wanted.length, r.stdout);
    for (const [item, st] of wanted) assert.equal(problems[item]?.status, st, `${item}\n${r.stdout}`);
    assert.match(problems[`${D1} quotes ${KEY.ETH}`].reason, /no PAR1 magic/);
    assert.match(problems[`${D1} quotes ${KEY.XRP}`].reason, /schema does not match quotes: column 6 is 'id'/);
    assert.match(problems[`${D2} trades ${KEY.BTC}`].reason, /outside 2020-02-23/);
    assert.match(r.stdout, /^result: INCOMPLETE: 5 missing, 3 corrupt/m);
    assert.ok(fs.existsSync(report));
  });

  it('writes one missing-data report per day that DuckDB reads', async () => {
    const db = await duckdb();
    for (const [day, n] of [[D1, 3], [D2, 5]]) {
      const f = path.join(data, 'missing_data_reports', 'by_date', `day-${day}`, 'missing_data.parquet');
      assert.ok(fs.existsSync(f), f);
      const rows = await db.objects(`SELECT * FROM read_parquet(${sqlStr(f)}) ORDER BY data_type, instrument_key`);
      assert.equal(rows.length, n, day);
      for (const row of rows) {
        assert.equal(row.date, day);
        assert.equal(row.tardis_exchange, 'binance-futures');
        const item = `${day} ${row.data_type} ${row.instrument_key}`;
        assert.equal(row.status, EXPECTED[item], item);
        assert.equal(row.object_name, obj(day, row.data_type, row.instrument_key).split(path.sep).join('/'));
        assert.match(row.tardis_symbol, /^(BTC|ETH|XRP)USDT$/);
      }
    }
  });

  it('without --deep only existence counts (a truncated file passes), exit code 1', () => {
    const args = ['validate', '--from', D1, '--to', D2, ...SELECTION, '--output', data, '--read-only'];
    const r = run(args);
    assert.equal(r.code, 1, describeRun(args, r));
    assert.deepEqual(parseSummary(r.stdout).total, { expected: 12, done: 7, no_data: 0, not_available: 0, missing: 5, corrupt: 0, rows: null }, r.stdout);
  });

  it('a complete selection exits 0', () => {
    const args = ['validate', '--from', D1, '--exchanges', 'binance-futures', '--data-types', 'trades,quotes', '--symbols', 'BTCUSDT', '--output', data, '--deep', '--read-only'];
    const r = run(args);
    assert.equal(r.code, 0, describeRun(args, r));
    assert.match(r.stdout, /^result: complete: 0 missing, 0 corrupt/m);
  });

  it('reports that cannot be written: says so (not "wrote N"), and the run fails', () => {
    // A complete selection, so only the reports can fail the run: their
    // folder is a file in a copy of the tree.
    const copy = path.join(work, 'unwritable');
    fs.cpSync(data, copy, { recursive: true });
    fs.rmSync(path.join(copy, 'missing_data_reports'), { recursive: true, force: true });
    fs.writeFileSync(path.join(copy, 'missing_data_reports'), 'not a folder');
    const args = ['validate', '--from', D1, '--exchanges', 'binance-futures', '--data-types', 'trades,quotes', '--symbols', 'BTCUSDT', '--output', copy, '--deep'];
    const r = run(args);
    assert.match(r.stdout, /^result: complete: 0 missing, 0 corrupt/m, describeRun(args, r));
    assert.doesNotMatch(r.stderr, /wrote 1 missing-data reports/, describeRun(args, r));
    assert.match(r.stderr, /wrote 0 of 1 missing-data reports/, describeRun(args, r));
    assert.notEqual(r.code, 0, describeRun(args, r));
    // --report to a folder: an output that cannot be written, nothing left beside it.
    const dir = path.join(work, 'report-dir');
    fs.mkdirSync(dir, { recursive: true });
    const r2 = run([...args.slice(0, -2), '--output', data, '--read-only', '--report', dir]);
    assert.equal(r2.code, 2, describeRun(args, r2));
    assert.match(r2.stderr, /--report: cannot write .*report-dir/, r2.stderr);
    assert.deepEqual(fs.readdirSync(work).filter((f) => f.includes('.tmp')), [], 'no temporary file left');
  });

  it('a store that cannot be written (a file where the folder goes): exit 2 before the checks, pointing to --read-only', () => {
    const file = path.join(work, 'store-is-a-file');
    fs.writeFileSync(file, 'a file\n');
    const sel = ['--from', D1, '--exchanges', 'binance-futures', '--data-types', 'trades', '--symbols', 'BTCUSDT', '--output', file];
    const args = ['validate', ...sel];
    const r = run(args);
    assert.equal(r.code, 2, describeRun(args, r));
    assert.match(r.stderr, /the output .*store-is-a-file cannot be used as a directory.*--read-only checks the store without writing them/, describeRun(args, r));
    assert.equal(r.stdout, '', 'no result table: nothing was checked');
    // --read-only writes nothing there: the one item is checked, and missing.
    const ro = ['validate', ...sel, '--read-only'];
    const r2 = run(ro);
    assert.equal(r2.code, 1, describeRun(ro, r2));
    assert.match(r2.stdout, /^result: INCOMPLETE: 1 missing/m, describeRun(ro, r2));
    assert.equal(fs.readFileSync(file, 'utf8'), 'a file\n');
  });

  it('usage errors exit 2', () => {
    for (const args of [['validate', '--output', data], ['validate', '--from', 'yesterday'], ['validate', '--from', D2, '--to', D1, '--symbols', 'BTCUSDT', '--exchanges', 'binance-futures'],
      ['validate', '--from', D1, '--symbols', 'BTCUSDT', '--exchanges', 'binance-futures', '--data-types', 'nope', '--output', data]]) {
      const r = run(args);
      assert.equal(r.code, 2, describeRun(args, r));
    }
  });

  it('the HTML report in headless Chromium: cells per status match the tree, nothing fetched', async () => {
    assert.ok(fs.existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM)`);
    const profile = fs.mkdtempSync(path.join(ROOT_TMP, 'chromium-profile-'));
    // A fresh profile directory (playwright passes it as --user-data-dir).
    const browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1200, height: 900 },
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage();
      const requests = [];
      page.on('request', (req) => requests.push(req.url()));
      const url = `file://${report}`;
      await page.goto(url);
      // Heatmap cells of each status, all data types together and per data type.
      const cells = await page.$$eval('svg.heatmap rect.cell', (els) => els.map((e) => ({
        status: e.getAttribute('data-status'), day: e.getAttribute('data-day'),
        dt: e.closest('svg').getAttribute('data-data-type'), fill: getComputedStyle(e).fill,
        w: e.getBoundingClientRect().width,
      })));
      const byStatus = {};
      for (const c of cells) byStatus[c.status] = (byStatus[c.status] ?? 0) + 1;
      assert.deepEqual(byStatus, { done: count('done'), no_data: count('no_data'), missing: count('missing'), corrupt: count('corrupt') });
      for (const dt of ['trades', 'quotes']) {
        const mine = cells.filter((c) => c.dt === dt);
        const want = Object.entries(EXPECTED).filter(([k]) => k.split(' ')[1] === dt);
        assert.equal(mine.length, want.length, dt);
        for (const st of ['done', 'no_data', 'missing', 'corrupt']) {
          assert.equal(mine.filter((c) => c.status === st).length, want.filter(([, s]) => s === st).length, `${dt} ${st}`);
        }
        for (const day of [D1, D2]) assert.equal(mine.filter((c) => c.day === day).length, 3, `${dt} ${day}`);
      }
      // Colours come from the inline CSS: one distinct fill per status, every cell drawn.
      const fills = {};
      for (const c of cells) (fills[c.status] ??= new Set()).add(c.fill);
      for (const [st, set] of Object.entries(fills)) assert.equal(set.size, 1, `${st}: ${[...set]}`);
      assert.equal(new Set(Object.values(fills).map((s) => [...s][0])).size, 4, JSON.stringify(Object.fromEntries(Object.entries(fills).map(([k, v]) => [k, [...v]]))));
      assert.ok(cells.every((c) => c.w > 4), 'cells have a visible size');
      // Legend, totals, the list of problems, the rows chart.
      assert.equal(await page.$$eval('.legend .sw', (els) => els.length), 7); // 6 statuses + not expected
      const totals = await page.$$eval('#totals tr.total td[data-total]', (els) => Object.fromEntries(els.map((e) => [e.getAttribute('data-total'), +e.textContent.replaceAll(',', '')])));
      assert.deepEqual(totals, { done: count('done'), no_data: count('no_data'), not_available: 0, no_data_incident: 0, missing: count('missing'), corrupt: count('corrupt') });
      assert.equal(await page.$$eval('#problems tr[data-status]', (els) => els.length), count('missing') + count('corrupt'));
      assert.equal(await page.textContent('#verdict'), 'incomplete');
      const bars = await page.$$eval('svg.rows-chart[data-data-type=trades] rect.bar', (els) => els.map((e) => +e.getAttribute('data-rows')));
      assert.deepEqual(bars, [rowsTrades, 0]);
      // Self-contained: nothing but the page itself was requested; no scripts.
      assert.deepEqual(requests, [url]);
      assert.equal(await page.$$eval('script', (els) => els.length), 0);
      fs.mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: path.join(ARTIFACTS, 'validate-report.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });
});

// A grouped item whose completion record lists more objects than a row group
// of the missing-data report holds (pipeline/missing_report.h,
// kMissingReportRowGroupRows): the report is written in row groups, and
// DuckDB and hyparquet read the same rows, every listed object missing.
describe('market-tick validate: a missing-data report of many rows', () => {
  const N = 70_000; // > 65,536 rows: two row groups
  const DAY = '2023-11-01';
  const key = (i) => `DERIBIT:OPTION:BTC-USD-231102-${100000 + i}-CALL`;
  const prefix = `raw_tick_data/by_date/day-${DAY}/data_type-trades/`;
  let store;

  before(() => {
    const dir = mkTmp(ROOT_TMP, 'many');
    const csv = path.join(dir, `deribit_trades_${DAY}_OPTIONS.csv`);
    const lines = ['exchange,symbol,timestamp,local_timestamp,id,side,price,amount'];
    for (let i = 0; i < 3; i++) lines.push(`deribit,BTC-2NOV23-${20000 + 500 * i}-C,${1698796800000000 + i},${1698796800000000 + i},${i},buy,0.01,1`);
    fs.writeFileSync(csv, lines.join('\n') + '\n');
    store = path.join(dir, 'store');
    runOk(['convert', csv, '--output', store]);
    // The record now lists N objects that are not there (as bench/record_bench.sh makes it).
    const objects = Array.from({ length: N }, (_, i) => ({
      name: `${prefix}${key(i)}.parquet`, instrument_key: key(i), rows: 10, bytes: 1762,
      first_timestamp: `${DAY}T00:00:00.000000Z`, last_timestamp: `${DAY}T00:00:00.027000Z`,
    }));
    const record = path.join(store, prefix, '_items', 'deribit', 'OPTIONS.json');
    const rec = JSON.parse(fs.readFileSync(record, 'utf8'));
    fs.writeFileSync(record, JSON.stringify({ ...rec, rows: N * 10, objects }, null, 1));
  });

  it('writes the report in row groups that DuckDB and hyparquet read as the same rows', async () => {
    const args = ['validate', '--from', DAY, '--exchanges', 'deribit', '--data-types', 'trades', '--symbols', 'OPTIONS', '--output', store];
    const r = run(args, { timeout: 300_000 });
    assert.equal(r.code, 1, describeRun(args, r));
    assert.match(r.stdout, new RegExp(`^result: INCOMPLETE: ${N} missing, 0 corrupt`, 'm'), r.stdout);
    const f = path.join(store, 'missing_data_reports', 'by_date', `day-${DAY}`, 'missing_data.parquet');
    const groups = new Set((await duckParquetMetadata(f)).map((c) => Number(c.row_group_id)));
    assert.deepEqual([...groups], [0, 1]);
    const duck = await duckReadAll(f);
    const hyp = await hypReadAll(f);
    assert.equal(duck.rows.length, N);
    assert.equal(hyp.rows.length, N);
    const names = duck.columns.map((c) => c.name);
    assert.deepEqual(names.slice(0, 8), ['date', 'data_type', 'instrument_key', 'tardis_exchange', 'tardis_symbol', 'status', 'reason', 'object_name']);
    for (let i = 0; i < N; i++) {
      // Keys sort as their numbers do (all six digits): row i is object i.
      const want = [DAY, 'trades', key(i), 'deribit', 'OPTIONS', 'missing', 'listed in the completion record of deribit OPTIONS, but no object', `${prefix}${key(i)}.parquet`];
      assert.deepEqual(duck.rows[i].slice(0, 8), want, `DuckDB row ${i}`);
      assert.deepEqual(hyp.rows[i].slice(0, 8), want, `hyparquet row ${i}`);
      assert.equal(BigInt(duck.rows[i][8]), BigInt(hyp.rows[i][8]), `checked_at of row ${i}`);
    }
  });
});

// A damaged file's bytes quoted in a reason (here its footer's data_type, one byte made invalid
// UTF-8; then a control character): the problem line stays one line of valid UTF-8, and the
// missing-data report stays readable by DuckDB (a STRING column must hold valid UTF-8).
describe('market-tick validate: a reason quoting a damaged footer', () => {
  it('is escaped on stdout and in the report, which DuckDB and hyparquet read', async () => {
    const dir = mkTmp(ROOT_TMP, 'bytes');
    const store = path.join(dir, 'store');
    runOk(['convert', path.join(FIXTURE_DIR, 'binance-futures_trades_2020-02-22_BTCUSDT.csv.gz'), '--output', store]);
    const f = path.join(store, obj(D1, 'trades', KEY.BTC));
    const good = fs.readFileSync(f);
    const footer = good.length - 8 - good.readUInt32LE(good.length - 8);
    const at = good.indexOf('trades', good.indexOf('data_type', footer));
    assert.ok(at > footer);
    for (const [byte, shown] of [[0xf4, '\\xf4rades'], [0x1b, '\\x1brades']]) {
      const b = Buffer.from(good);
      b[at] = byte;
      fs.writeFileSync(f, b);
      const args = ['validate', '--from', D1, '--exchanges', 'binance-futures', '--data-types', 'trades', '--symbols', 'BTCUSDT',
        '--output', store, '--deep'];
      const r = run(args);
      assert.equal(r.code, 1, describeRun(args, r));
      const line = r.stdout.split('\n').find((l) => l.startsWith('corrupt\t'));
      assert.ok(line, r.stdout);
      assert.ok(line.includes(shown), line);
      assert.equal(line.split('\t').length, 5, line);
      assert.ok(!/[\x00-\x08\x1b\x7f]/.test(line) && Buffer.from(line).toString('utf8') === line, line);
      const report = path.join(store, 'missing_data_reports', 'by_date', `day-${D1}`, 'missing_data.parquet');
      const duck = await duckReadAll(report);
      const hyp = await hypReadAll(report);
      const reason = duck.columns.findIndex((c) => c.name === 'reason');
      assert.equal(duck.rows.length, 1);
      assert.ok(String(duck.rows[0][reason]).includes(shown), duck.rows[0][reason]);
      assert.equal(hyp.rows[0][reason], duck.rows[0][reason]);
    }
  });
});
