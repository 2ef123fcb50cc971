// End-to-end tests for `market-tick instruments` over real sockets against the Tardis-compatible test
// server (tests/support/tardis_server.mjs, started in process on port 0). The server serves the
// exchange listings of tests/fixtures/exchange_details (our own test inputs, see the README there)
// and the real /v1/instruments records of fixtures/tardis/json. Every Parquet file written is read by
// DuckDB (and the aggregate also by hyparquet); expectations come from the fixture JSON read here, not
// from market-tick.
//
// Binary: $MARKET_TICK_BIN or ../../build/market-tick.   Run: cd tests/js && npm test
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';

import { startServer } from '../support/tardis_server.mjs';
import { startGcsDouble } from '../support/gcs_double.mjs';
import { BIN, ROOT, listFiles, mkTmp } from './lib/harness.mjs';
import { closeDuckdb, duckDescribe, duckKvMetadata, duckReadAll, duckdb, hypReadAll, sqlStr } from './lib/readers.mjs';

const DETAILS_DIR = path.join(ROOT, 'tests', 'fixtures', 'exchange_details');
const VENUES = ['binance', 'binance-futures', 'deribit', 'bybit', 'bybit-spot', 'okex', 'okex-futures', 'okex-swap', 'upbit'];
const SDE = '1700000000';
const KEY = 'test-key-0001';
const SECRET_KEY = 'mtk-SECRET-Zq7x9Kf3-c0ffee';
const RUN_TIMEOUT_MS = 60_000;

// The fixed typed column set (docs/INSTRUMENTS.md, Columns) as DuckDB describes it.
const V = 'VARCHAR', TS = 'TIMESTAMP WITH TIME ZONE', D = 'DOUBLE', B = 'BOOLEAN';
const SCHEMA = [
  ['instrument_key', V], ['venue', V], ['instrument_type', V], ['available_from_datetime', TS],
  ['available_to_datetime', TS], ['data_types', V], ['base_asset', V], ['quote_asset', V], ['settle_asset', V],
  ['exchange_raw_symbol', V], ['tardis_symbol', V], ['tardis_exchange', V], ['data_provider', V], ['venue_type', V],
  ['asset_class', V], ['inverse', B], ['symbol_type', V], ['contract_type', V], ['strike', D], ['option_type', V],
  ['expiry', TS], ['contract_size', D], ['tick_size', D], ['settlement_type', V], ['underlying', V], ['min_size', D],
  ['ccxt_symbol', V], ['ccxt_exchange', V], ['price_currency', V], ['amount_unit', V], ['amount_increment', D],
  ['min_trade_amount', D], ['min_notional', D], ['quanto', B], ['underlying_index', V], ['expiration_type', V],
  ['active', B], ['listing', TS], ['alias_for', V],
].map(([name, type]) => ({ name, type }));

// Keys the issue names, by (exchange, Tardis symbol).
const ISSUE_KEYS = {
  'deribit|BTC-PERPETUAL': 'DERIBIT:PERPETUAL:BTC-USD',
  'deribit|BTC_USDC-PERPETUAL': 'DERIBIT:PERPETUAL:BTC-USDC',
  'binance|USDTTRY': 'BINANCE:SPOT_PAIR:USDT-TRY',
  'binance-futures|1000PEPEUSDT': 'BINANCE-FUTURES:PERPETUAL:1000PEPE-USDT',
  'bybit|1000PEPEUSDT': 'BYBIT:PERPETUAL:1000PEPE-USDT',
  'deribit|BTC-14FEB25': 'DERIBIT:FUTURE:BTC-USD-250214',
  'deribit|BTC-25APR25-200000-P': 'DERIBIT:OPTION:BTC-USD-250425-200000-PUT',
  'okex-swap|BTC-USD-SWAP': 'OKX-SWAP:PERPETUAL:BTC-USD',
  'upbit|KRW-BTC': 'UPBIT:SPOT_PAIR:BTC-KRW',
};
const GROUPED = new Set(['SPOT', 'FUTURES', 'PERPETUALS', 'OPTIONS', 'COMBOS']);

const ROOT_TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'market-tick-instr-'));
const RUNNING = new Set();
after(async () => {
  for (const child of RUNNING) child.kill('SIGKILL');
  await closeDuckdb();
  fs.rmSync(ROOT_TMP, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// expectations from the fixture listings

const LISTINGS = Object.fromEntries(VENUES.map((ex) => [ex, JSON.parse(fs.readFileSync(path.join(DETAILS_DIR, `${ex}.json`), 'utf8'))]));
const DAY_MS = 86_400_000;

/** Listed (exchange, symbol) pairs whose availability overlaps the UTC day `ymd`, grouped symbols excluded. */
function listedOn(ymd) {
  const start = Date.parse(`${ymd}T00:00:00Z`), end = start + DAY_MS;
  const out = [];
  for (const ex of VENUES) {
    for (const s of LISTINGS[ex].datasets.symbols) {
      if (GROUPED.has(s.id)) continue;
      const from = Date.parse(s.availableSince), to = s.availableTo ? Date.parse(s.availableTo) : Infinity;
      if (from < end && to > start) out.push({ exchange: ex, symbol: s.id, dataTypes: [...s.dataTypes].sort().join(','), type: s.type });
    }
  }
  return out;
}

const days = (from, n) => Array.from({ length: n }, (_, i) => new Date(Date.parse(`${from}T00:00:00Z`) + i * DAY_MS).toISOString().slice(0, 10));
const dayRel = (ymd) => path.join('instrument_availability', 'by_date', `day-${ymd}`, 'instruments.parquet');
const aggRel = (from, to) => path.join('instrument_availability', 'aggregate', `instruments_${from.replaceAll('-', '')}_${to.replaceAll('-', '')}.parquet`);

// ---------------------------------------------------------------------------------------------
// running

function spawnBin(args, opts) {
  return spawnProgram(BIN, args, opts);
}

function spawnProgram(program, args, { cwd, env, timeout = RUN_TIMEOUT_MS }) {
  const child = spawn(program, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  RUNNING.add(child);
  let stdout = '', stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeout);
    child.on('error', (err) => { clearTimeout(timer); RUNNING.delete(child); reject(err); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      RUNNING.delete(child);
      resolve({ args, code, signal, stdout, stderr, ms: performance.now() - t0 });
    });
  });
}

function describeRun(r) {
  const cut = (s) => (s.length > 4000 ? s.slice(0, 4000) + '…' : s);
  return `market-tick ${r.args.map((a) => JSON.stringify(a)).join(' ')}\n  exit=${r.code} signal=${r.signal} in ${Math.round(r.ms)} ms\n  stdout: ${cut(r.stdout)}\n  stderr: ${cut(r.stderr)}`;
}

/** A server of its own and a temp dir, both removed after the test. */
async function setup(t, name, serverOpts = {}) {
  const dir = mkTmp(ROOT_TMP, name);
  const srv = await startServer({ exchangeDetailsDir: DETAILS_DIR, ...serverOpts });
  t.after(async () => {
    await srv.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const c = {
    dir, srv, out: path.join(dir, 'out'),
    // All nine test venues unless the test names exchanges or asks for the default.
    run(args, { key = KEY, env = {}, url = srv.url, timeout, defaultExchanges = false } = {}) {
      const e = { PATH: process.env.PATH ?? '/usr/bin:/bin', TARDIS_API_URL: url, RETRY_BASE_SECONDS: '0.02', SOURCE_DATE_EPOCH: SDE, ...env };
      if (key !== null) e.TARDIS_API_KEY = key;
      const ex = defaultExchanges || args.includes('--exchanges') ? [] : ['--exchanges', VENUES.join(',')];
      return spawnBin(['instruments', ...args, ...ex], { cwd: dir, env: e, timeout });
    },
  };
  return c;
}

/** Requests per path of the server's log (control requests are never logged). */
function requestCounts(srv) {
  return srv.stats().byPath;
}

async function readDay(file) {
  const { columns, rows } = await duckReadAll(file);
  const names = columns.map((c) => c.name);
  return { columns, objects: rows.map((r) => Object.fromEntries(r.map((v, i) => [names[i], v]))) };
}

// ---------------------------------------------------------------------------------------------

describe('market-tick instruments', () => {
  it('writes a day file per day and the aggregate; DuckDB reads all of them with one schema; keys and data types are right; one metadata request per exchange', async (t) => {
    const c = await setup(t, 'days');
    const range = days('2025-02-13', 4); // BTC-14FEB25 expires inside it
    const summary = path.join(c.dir, 'summary.json');
    const r = await c.run(['--from', range[0], '--to', range.at(-1), '--output', c.out, '--summary-json', summary]);
    assert.equal(r.code, 0, describeRun(r));

    const rels = [...range.map(dayRel), aggRel(range[0], range.at(-1))].sort();
    assert.deepEqual(listFiles(c.out), rels, 'exactly the day files and the aggregate, nothing temporary');
    const doneLines = r.stdout.split('\n').filter((l) => l.startsWith('done\t')).map((l) => l.split('\t')[1]).sort();
    assert.deepEqual(doneLines, rels);

    // One /v1/exchanges/{ex} and one /v1/instruments/{ex} per exchange, nothing else.
    const expected = {};
    for (const ex of VENUES) {
      expected[`/v1/exchanges/${ex}`] = 1;
      expected[`/v1/instruments/${ex}`] = 1;
    }
    assert.deepEqual(requestCounts(c.srv), expected, 'metadata requests');

    for (const ymd of range) {
      const file = path.join(c.out, dayRel(ymd));
      assert.deepEqual(await duckDescribe(file), SCHEMA, `${ymd}: schema`);
      const { objects } = await readDay(file);
      const listed = listedOn(ymd);
      const rejected = new Set(['bybit|BTCUSDH23']);
      const want = listed.filter((s) => !rejected.has(`${s.exchange}|${s.symbol}`));
      assert.deepEqual(objects.map((o) => `${o.tardis_exchange}|${o.tardis_symbol}`).sort(),
        want.map((s) => `${s.exchange}|${s.symbol}`).sort(), `${ymd}: instruments listed that day`);
      const keys = objects.map((o) => o.instrument_key);
      assert.deepEqual(keys, [...keys].sort(), `${ymd}: sorted by key`);
      assert.equal(new Set(keys).size, keys.length, `${ymd}: keys unique`);
      for (const o of objects) {
        const l = want.find((s) => s.exchange === o.tardis_exchange && s.symbol === o.tardis_symbol);
        assert.equal(o.data_types, l.dataTypes, `${ymd} ${o.instrument_key}: data_types as listed`);
        assert.equal(o.symbol_type, l.type);
        if (o.instrument_type === 'COMBO') {
          // Keyed by the venue's symbol (docs/INSTRUMENTS.md, the grammar).
          assert.equal(o.instrument_key, `${o.venue}:COMBO:${o.tardis_symbol}`);
          continue;
        }
        assert.match(o.instrument_key, /^[A-Z0-9-]+:(SPOT_PAIR|PERPETUAL|FUTURE|OPTION):[A-Z0-9.-]+$/);
        assert.equal(o.instrument_key.split(':')[2].split('-')[0], o.base_asset);
        assert.equal(o.instrument_key.split(':')[2].split('-')[1], o.quote_asset);
        const k = ISSUE_KEYS[`${o.tardis_exchange}|${o.tardis_symbol}`];
        if (k) assert.equal(o.instrument_key, k, `${o.tardis_exchange} ${o.tardis_symbol}`);
        assert.equal(o.data_provider, 'tardis');
      }
      const has14feb = keys.includes('DERIBIT:FUTURE:BTC-USD-250214');
      assert.equal(has14feb, ymd <= '2025-02-14', `${ymd}: BTC-14FEB25 only until its expiry`);
      const kv = await duckKvMetadata(file);
      assert.equal(kv.row_count, String(objects.length));
      assert.equal(kv.created_at, '2023-11-14T22:13:20.000000Z');
      assert.equal(kv.first_timestamp, `${ymd}T00:00:00.000000Z`);
      assert.match(kv.source, /\/v1\/exchanges\/deribit/);
      assert.deepEqual(JSON.parse(kv.grouped_symbols).map((g) => `${g.exchange}|${g.symbol}`).sort(),
        ['deribit|FUTURES', 'deribit|OPTIONS', 'deribit|PERPETUALS', 'okex-futures|FUTURES', 'okex-swap|PERPETUALS']);
    }

    // Real /v1/instruments terms on the right rows (fixtures/tardis/json/instrument_future.json).
    const { objects: d13 } = await readDay(path.join(c.out, dayRel('2025-02-13')));
    const fut = d13.find((o) => o.instrument_key === 'DERIBIT:FUTURE:BTC-USD-250214');
    assert.equal(fut.tick_size, 2.5);
    assert.equal(fut.min_size, 10);
    assert.equal(fut.contract_size, 1);
    assert.equal(fut.inverse, true);
    assert.equal(fut.settle_asset, 'BTC');
    assert.equal(fut.contract_type, 'inverse_future');
    assert.equal(fut.expiry, BigInt(Date.parse('2025-02-14T08:00:00Z')) * 1000n);
    assert.equal(fut.available_to_datetime, BigInt(Date.parse('2025-02-15T00:00:00Z')) * 1000n);
    const opt = d13.find((o) => o.instrument_key === 'DERIBIT:OPTION:BTC-USD-250425-200000-PUT');
    assert.equal(opt.strike, 200000);
    assert.equal(opt.option_type, 'PUT');
    assert.equal(opt.ccxt_symbol, 'BTC/USD:BTC-250425-200000-P');
    const usdtTry = d13.find((o) => o.instrument_key === 'BINANCE:SPOT_PAIR:USDT-TRY');
    assert.equal(usdtTry.inverse, false);
    assert.equal(usdtTry.settle_asset, null);
    assert.equal(usdtTry.tick_size, null); // no record for it

    // The aggregate: every instrument of the range once, same schema, readable by hyparquet too.
    const agg = path.join(c.out, aggRel(range[0], range.at(-1)));
    assert.deepEqual(await duckDescribe(agg), SCHEMA, 'aggregate schema');
    const { objects: aggRows } = await readDay(agg);
    const union = new Set();
    for (const ymd of range) for (const o of (await readDay(path.join(c.out, dayRel(ymd)))).objects) union.add(o.instrument_key);
    assert.deepEqual(aggRows.map((o) => o.instrument_key).sort(), [...union].sort());
    const hyp = await hypReadAll(agg);
    assert.equal(hyp.rows.length, aggRows.length);
    assert.deepEqual(hyp.columns.map((col) => col.name), SCHEMA.map((s) => s.name));
    assert.deepEqual(hyp.rows.map((row) => row[0]), aggRows.map((o) => o.instrument_key));

    // The summary says why each rejected symbol has no key.
    const s = JSON.parse(fs.readFileSync(summary, 'utf8'));
    assert.equal(s.metadata_requests, 18);
    assert.deepEqual(Object.keys(s), ['from', 'to', 'days', 'files_written', 'files_skipped', 'rows_written', 'bytes_written',
      'aggregate', 'aggregate_rows', 'metadata_requests', 'merge_retries', 'seconds', 'up_to_date', 'exchanges', 'warnings']);
    assert.equal(s.up_to_date, false);
    for (const e of s.exchanges) {
      assert.deepEqual(Object.keys(e), ['exchange', 'dataset_symbols', 'instruments', 'instrument_metadata',
        'instrument_metadata_records', 'instrument_metadata_note', 'grouped', 'rejected', 'exported_until', 'provisional_days']);
    }
    const rejected = s.exchanges.flatMap((e) => e.rejected.map((x) => `${e.exchange}|${x.symbol}|${x.reason}`));
    // The Deribit combo is keyed by its symbol (DERIBIT:COMBO:...) now.
    assert.equal(rejected.length, 1, rejected.join('\n'));
    assert.match(rejected.find((x) => x.startsWith('bybit|')), /month code 'H23'\); its expiry day needs instrument metadata/);
    assert.match(r.stderr, /rejected bybit BTCUSDH23: .*needs instrument metadata/);
  });

  it('without a key: no /v1/instruments request, keys from symbols; a rerun skips every file without a request', async (t) => {
    const c = await setup(t, 'nokey');
    const r = await c.run(['--from', '2024-03-28', '--to', '2024-03-30', '--output', c.out], { key: null });
    assert.equal(r.code, 0, describeRun(r));
    const expected = Object.fromEntries(VENUES.map((ex) => [`/v1/exchanges/${ex}`, 1]));
    assert.deepEqual(requestCounts(c.srv), expected);
    const { objects } = await readDay(path.join(c.out, dayRel('2024-03-29')));
    const keys = objects.map((o) => o.instrument_key);
    for (const k of ['BINANCE-FUTURES:FUTURE:BTC-USDT-240329', 'OKX-FUTURES:FUTURE:BTC-USD-240329', 'OKX-FUTURES:FUTURE:BTC-USDT-240329']) {
      assert.ok(keys.includes(k), `${k} on its expiry day`);
    }
    const okxInverse = objects.find((o) => o.instrument_key === 'OKX-FUTURES:FUTURE:BTC-USD-240329');
    assert.equal(okxInverse.inverse, true);
    assert.equal(okxInverse.settle_asset, 'BTC');
    assert.equal(okxInverse.tick_size, null);
    const { objects: d30 } = await readDay(path.join(c.out, dayRel('2024-03-30')));
    assert.ok(!d30.some((o) => o.instrument_key.endsWith('-240329')), 'expired futures gone the day after');

    c.srv.reset();
    // --summary-json of the run with nothing to do: written too (it was left as it was, so a pipeline
    // read a missing or an earlier run's file), saying so, with the files it checked.
    const summary = path.join(c.dir, 'summary-up-to-date.json');
    fs.writeFileSync(summary, '{"stale": true}');
    const again = await c.run(['--from', '2024-03-28', '--to', '2024-03-30', '--output', c.out, '--summary-json', summary], { key: null });
    assert.equal(again.code, 0, describeRun(again));
    assert.equal(c.srv.stats().total, 0, 'nothing requested when every file exists');
    assert.match(again.stderr, /nothing to do/);
    const s = JSON.parse(fs.readFileSync(summary, 'utf8'));
    assert.equal(s.stale, undefined, 'this run\'s summary');
    assert.equal(s.up_to_date, true);
    assert.equal(s.from, '2024-03-28');
    assert.equal(s.to, '2024-03-30');
    assert.equal(s.days, 3);
    assert.equal(s.files_written, 0);
    assert.equal(s.files_skipped, 4);
    assert.equal(s.metadata_requests, 0);
    assert.deepEqual(s.exchanges.map((e) => e.exchange), VENUES);
    // The fields of a full run's summary, in its order, but the aggregate's rows, the metadata per exchange
    // and the warnings (no request: nothing known of them).
    assert.deepEqual(Object.keys(s), ['from', 'to', 'days', 'files_written', 'files_skipped', 'rows_written', 'bytes_written',
      'aggregate', 'metadata_requests', 'merge_retries', 'seconds', 'up_to_date', 'exchanges', 'warnings']);
    assert.deepEqual(s.exchanges, VENUES.map((exchange) => ({ exchange })));
    assert.deepEqual([s.rows_written, s.bytes_written, s.merge_retries, s.warnings], [0, 0, 0, []]);
    assert.equal(s.aggregate, 'instrument_availability/aggregate/instruments_20240328_20240330.parquet');
  });

  // A run without --force keeps an exchange a file holds: after a run with --quote USDC, a run for every quote
  // asset said "nothing to do" and left the files with the USDC instruments alone, with nothing to say why.
  it('a run whose --quote differs from the stored rows\' says so and what to do, and --force rewrites them', async (t) => {
    const c = await setup(t, 'quote-kept');
    const args = ['--from', '2025-02-14', '--exchanges', 'deribit', '--output', c.out];
    const usdc = await c.run([...args, '--quote', 'USDC']);
    assert.equal(usdc.code, 0, describeRun(usdc));
    const day = path.join(c.out, 'instrument_availability', 'by_date', 'day-2025-02-14', 'instruments.parquet');
    const quotes = async () => [...new Set((await readDay(day)).objects.map((o) => o.quote_asset))].sort();
    assert.deepEqual(await quotes(), ['USDC']);
    const warning = /deribit: its stored instrument definitions were written with --quote USDC and this run asks for every quote asset: they are kept as stored \(a run without --force adds only exchanges a file lacks\); rerun with --force to rewrite them with this run's filter/;
    const all = await c.run(args);
    assert.equal(all.code, 0, describeRun(all));
    assert.match(all.stderr, warning, all.stderr);
    assert.match(all.stderr, /nothing to do/, all.stderr);
    assert.deepEqual(await quotes(), ['USDC'], 'kept as stored');
    // The same filter again: nothing to say.
    const again = await c.run([...args, '--quote', 'USDC']);
    assert.equal(again.code, 0, describeRun(again));
    assert.doesNotMatch(again.stderr, /its stored instrument definitions were written with/, again.stderr);
    const forced = await c.run([...args, '--force']);
    assert.equal(forced.code, 0, describeRun(forced));
    assert.doesNotMatch(forced.stderr, /its stored instrument definitions were written with/, forced.stderr);
    assert.ok((await quotes()).length > 1, 'every quote asset after --force');
  });

  it('--quote filters; --format csv/json/table print instead of writing', async (t) => {
    const c = await setup(t, 'formats');
    const json = await c.run(['--from', '2025-02-14', '--format', 'json', '--quote', 'usdc', '--output', c.out]);
    assert.equal(json.code, 0, describeRun(json));
    assert.deepEqual(listFiles(c.out), [], 'no files with --format');
    const rows = JSON.parse(json.stdout);
    assert.ok(rows.length >= 5);
    for (const row of rows) {
      assert.equal(row.quote_asset, 'USDC');
      assert.deepEqual(Object.keys(row), SCHEMA.map((s) => s.name));
    }
    assert.ok(rows.some((row) => row.instrument_key === 'DERIBIT:PERPETUAL:BTC-USDC'));

    const csv = await c.run(['--from', '2025-02-14', '--format', 'csv']);
    assert.equal(csv.code, 0, describeRun(csv));
    const lines = csv.stdout.trim().split('\n');
    assert.equal(lines[0], SCHEMA.map((s) => s.name).join(','));
    // DuckDB reads the CSV back with the same rows as the day file would have.
    const csvFile = path.join(c.dir, 'defs.csv');
    fs.writeFileSync(csvFile, csv.stdout);
    const db = await duckdb();
    const [{ n }] = await db.objects(`SELECT count(*)::INTEGER AS n FROM read_csv(${sqlStr(csvFile)}, header = true)`);
    assert.equal(n, lines.length - 1);
    const dt = await db.objects(`SELECT data_types FROM read_csv(${sqlStr(csvFile)}, header = true) WHERE instrument_key = 'DERIBIT:PERPETUAL:BTC-USD'`);
    assert.equal(dt[0].data_types, 'book_snapshot_25,book_snapshot_5,derivative_ticker,incremental_book_L2,liquidations,quotes,trades');

    const table = await c.run(['--from', '2025-02-14', '--format', 'table', '--exchanges', 'deribit']);
    assert.equal(table.code, 0, describeRun(table));
    assert.match(table.stdout, /^instrument_key\s+tardis_symbol/);
    assert.match(table.stdout, /DERIBIT:OPTION:BTC-USD-250425-200000-PUT\s+BTC-25APR25-200000-P/);
    assert.match(table.stdout, /\n7 instruments\n$/); // six and the Deribit combo (DERIBIT:COMBO:...)

    const bad = await c.run(['--from', '2025-02-14', '--format', 'xml']);
    assert.equal(bad.code, 2, describeRun(bad));
    const badEx = await c.run(['--from', '2025-02-14', '--exchanges', 'Binance Futures']);
    assert.equal(badEx.code, 2, describeRun(badEx));
  });

  // Printed text that does not reach its file (a full disk) is not a success: the run says that
  // stdout could not be written and exits 3, not 0 with the file cut short.
  it('--format into a stdout that cannot be written (a full disk) exits 3 saying so', async (t) => {
    if (!fs.existsSync('/dev/full')) return t.skip('no /dev/full');
    const c = await setup(t, 'format-full');
    for (const format of ['table', 'csv', 'json']) {
      const r = await spawnProgram('/bin/sh', ['-c', 'exec "$0" "$@" >/dev/full', BIN, 'instruments', '--from', '2025-02-14',
        '--format', format, '--exchanges', VENUES.join(',')],
      { cwd: c.dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TARDIS_API_URL: c.srv.url, TARDIS_API_KEY: KEY, SOURCE_DATE_EPOCH: SDE } });
      assert.equal(r.code, 3, `${format}: ${describeRun(r)}`);
      assert.match(r.stderr, /stdout cannot be written \(No space left on device\)/, `${format}: ${describeRun(r)}`);
    }
  });

  it('a 401 without a key explains the free tier and writes nothing; a refused key degrades /v1/instruments with a warning; the key never shows', async (t) => {
    const c = await setup(t, 'auth', { apiKey: 'the-right-key' });
    // A metadata endpoint that demands a key (the real /v1/exchanges is open; this stands in for
    // any that is not): every request is answered 401.
    const deny = http.createServer((req, res) => {
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ code: 401, message: 'Invalid or missing API key' }));
    });
    deny.listen(0, '127.0.0.1');
    await once(deny, 'listening');
    t.after(() => new Promise((resolve) => deny.close(resolve)));
    const denyUrl = `http://127.0.0.1:${deny.address().port}`;

    const nokey = await c.run(['--from', '2025-02-14', '--output', c.out], { key: null, url: denyUrl });
    assert.equal(nokey.code, 1, describeRun(nokey));
    assert.match(nokey.stderr, /HTTP 401 for http:\/\/127\.0\.0\.1:\d+\/v1\/exchanges\/\S+: Tardis refused a request made without an API key/);
    assert.match(nokey.stderr, /first day of each month of every dataset/);
    assert.match(nokey.stderr, /Set TARDIS_API_KEY/);
    assert.match(nokey.stderr, /no files written/);
    assert.deepEqual(listFiles(c.out), []);

    const wrong = await c.run(['--from', '2025-02-14', '--output', c.out, '--exchanges', 'deribit'], { key: SECRET_KEY });
    assert.equal(wrong.code, 0, describeRun(wrong));
    assert.match(wrong.stderr, /HTTP 401 for .*\/v1\/instruments\/deribit: Tardis refused the API key/);
    assert.match(wrong.stderr, /pro or business subscription/);
    assert.ok(!wrong.stderr.includes(SECRET_KEY) && !wrong.stdout.includes(SECRET_KEY), 'the key never appears');
    const kv = await duckKvMetadata(path.join(c.out, dayRel('2025-02-14')));
    assert.ok(!JSON.stringify(kv).includes(SECRET_KEY));
    const { objects } = await readDay(path.join(c.out, dayRel('2025-02-14')));
    const fut = objects.find((o) => o.instrument_key === 'DERIBIT:FUTURE:BTC-USD-250214');
    assert.equal(fut.tick_size, null, 'no terms without /v1/instruments');
    assert.equal(fut.inverse, true, 'the venue convention still flags it');
    assert.equal(c.srv.stats().byStatus['401'], 1);

    const right = await c.run(['--from', '2025-02-14', '--output', path.join(c.dir, 'right'), '--exchanges', 'deribit'], { key: 'the-right-key' });
    assert.equal(right.code, 0, describeRun(right));
    const { objects: good } = await readDay(path.join(c.dir, 'right', dayRel('2025-02-14')));
    assert.equal(good.find((o) => o.instrument_key === 'DERIBIT:FUTURE:BTC-USD-250214').tick_size, 2.5);
  });

  it('a 400 that echoes the request headers: exit 1, the key appears in no output (text and JSON log, summary)', async (t) => {
    const c = await setup(t, 'echo', { faults: { echoHeaders: { status: 400, path: '/v1/instruments/deribit' } } });
    for (const format of ['text', 'json']) {
      const summary = path.join(c.dir, `summary-${format}.json`);
      const r = await c.run(['--from', '2025-02-14', '--output', c.out, '--exchanges', 'deribit', '--log-format', format,
        '--summary-json', summary], { key: SECRET_KEY });
      assert.equal(r.code, 1, describeRun(r));
      assert.match(r.stderr, /HTTP 400 for .*\/v1\/instruments\/deribit: .*Bearer \[REDACTED\]/, describeRun(r));
      for (const text of [r.stdout, r.stderr, fs.existsSync(summary) ? fs.readFileSync(summary, 'utf8') : '']) {
        assert.ok(!text.includes(SECRET_KEY), `${format}: the key leaked:\n${text}`);
      }
    }
    assert.deepEqual(listFiles(c.out), [], 'nothing written');
  });

  it('retries 5xx and 429 on metadata requests; an unknown exchange is a 404 that fails the run', async (t) => {
    const c = await setup(t, 'retry', {
      faults: { status5xx: { code: 503, path: '/v1/exchanges/deribit', count: 2 }, status429: { retryAfter: 0, path: '/v1/instruments/okex', count: 1 } },
    });
    const r = await c.run(['--from', '2025-02-14', '--output', c.out, '--exchanges', 'deribit,okex']);
    assert.equal(r.code, 0, describeRun(r));
    const byPath = requestCounts(c.srv);
    assert.equal(byPath['/v1/exchanges/deribit'], 3, 'two 503s, then the answer');
    assert.equal(byPath['/v1/instruments/okex'], 2, 'one 429, then the answer');
    assert.equal(byPath['/v1/exchanges/okex'], 1);
    assert.equal(byPath['/v1/instruments/deribit'], 1);
    const retried = c.srv.stats().requests.filter((q) => q.query.startsWith('?retryAttempt='));
    assert.equal(retried.length, 3);

    const unknown = await c.run(['--from', '2025-02-14', '--output', path.join(c.dir, 'x'), '--exchanges', 'deribit,no-such-exchange']);
    assert.equal(unknown.code, 2, describeRun(unknown));
    assert.match(unknown.stderr, /unknown exchange 'no-such-exchange'.*HTTP 404 for .*\/v1\/exchanges\/no-such-exchange: Tardis does not know exchange 'no-such-exchange'/);
    const typo = await c.run(['--from', '2025-02-14', '--output', path.join(c.dir, 'x'), '--exchanges', 'deribitt']);
    assert.equal(typo.code, 2, describeRun(typo));
    assert.match(typo.stderr, /unknown exchange 'deribitt' \(did you mean deribit\?\)/);
    assert.deepEqual(listFiles(path.join(c.dir, 'x')), []);

    c.srv.setFaults({ status5xx: { code: 500, path: '/v1/exchanges/okex' } });
    const giveUp = await c.run(['--from', '2025-02-14', '--output', path.join(c.dir, 'y'), '--exchanges', 'okex'],
      { env: { RETRY_MAX_ATTEMPTS: '3' } });
    assert.equal(giveUp.code, 3, `retryable failure exits 3\n${describeRun(giveUp)}`);
    assert.match(giveUp.stderr, /gave up after 3 requests; last error: HTTP 500/);
  });

  it('a metadata JSON cut short (Content-Length matching the cut) is fetched again; cut every time: exit 3 naming the URL; whole but of the wrong shape: exit 1', async (t) => {
    const c = await setup(t, 'cut-json', {
      faults: { truncatedGzip: { path: '/v1/exchanges/deribit', count: 1 } },
    });
    const r = await c.run(['--from', '2025-02-14', '--output', c.out, '--exchanges', 'deribit']);
    assert.equal(r.code, 0, describeRun(r));
    assert.equal(requestCounts(c.srv)['/v1/exchanges/deribit'], 2, 'the cut answer, then the whole one');

    for (const p of ['/v1/exchanges/deribit', '/v1/instruments/deribit']) {
      c.srv.setFaults({ truncatedGzip: { path: p } });
      const cut = await c.run(['--from', '2025-02-14', '--output', path.join(c.dir, 'cut' + p.split('/')[2]), '--exchanges', 'deribit'],
        { env: { RETRY_MAX_ATTEMPTS: '3' } });
      assert.equal(cut.code, 3, `${p}: a cut transfer is retryable\n${describeRun(cut)}`);
      assert.match(cut.stderr, new RegExp(`GET ${c.srv.url}${p}: gave up after 3 requests; last error: the JSON answer ends early`), describeRun(cut));
    }

    // Whole JSON that is not what the endpoint gives: the data error of the document sent, once.
    c.srv.setFaults({ errorBody: { status: 200, body: '[1, 2, 3]', path: '/v1/exchanges/deribit' } });
    const before = requestCounts(c.srv)['/v1/exchanges/deribit'];
    const shape = await c.run(['--from', '2025-02-14', '--output', path.join(c.dir, 'shape'), '--exchanges', 'deribit'],
      { env: { RETRY_MAX_ATTEMPTS: '3' } });
    assert.equal(shape.code, 1, describeRun(shape));
    assert.ok(shape.stderr.includes(`GET ${c.srv.url}/v1/exchanges/deribit: `), describeRun(shape));
    assert.match(shape.stderr, /expected a JSON object/, describeRun(shape));
    assert.equal(requestCounts(c.srv)['/v1/exchanges/deribit'] - before, 1, 'not fetched again');
  });

  it('a year of the nine venues takes seconds with one metadata fetch per exchange', async (t) => {
    const c = await setup(t, 'year');
    const r = await c.run(['--from', '2024-01-01', '--to', '2024-12-31', '--output', c.out], { timeout: 120_000 });
    assert.equal(r.code, 0, describeRun(r));
    const files = listFiles(c.out);
    assert.equal(files.length, 367, '366 day files (2024 is a leap year) and the aggregate');
    const expected = {};
    for (const ex of VENUES) {
      expected[`/v1/exchanges/${ex}`] = 1;
      expected[`/v1/instruments/${ex}`] = 1;
    }
    assert.deepEqual(requestCounts(c.srv), expected);
    // Every file of the year reads with the same schema.
    const db = await duckdb();
    const glob = path.join(c.out, 'instrument_availability', 'by_date', '*', 'instruments.parquet');
    const [{ files: nfiles, rows }] = await db.objects(
      `SELECT count(DISTINCT filename)::INTEGER AS files, count(*)::INTEGER AS rows FROM read_parquet(${sqlStr(glob)}, filename = true, union_by_name = false)`);
    assert.equal(nfiles, 366);
    assert.ok(rows > 366 * 30, `rows ${rows}`);
    t.diagnostic(`a year (366 days, ${VENUES.length} exchanges, ${rows} rows) took ${Math.round(r.ms)} ms end to end`);
    assert.ok(r.ms < 30_000, `took ${r.ms} ms`);
  });
});

it('--exchanges defaults to the seed\'s eight venues (one listing request each)', async (t) => {
  const c = await setup(t, 'default-venues');
  const r = await c.run(['--from', '2025-02-14', '--format', 'csv'], { defaultExchanges: true });
  assert.equal(r.code, 0, describeRun(r));
  const listed = Object.keys(requestCounts(c.srv)).filter((p) => p.startsWith('/v1/exchanges/')).sort();
  assert.deepEqual(listed, VENUES.filter((v) => v !== 'upbit').map((v) => `/v1/exchanges/${v}`).sort());
});

// ---------------------------------------------------------------------------------------------
// Files that add up: every run adds its exchanges to the day files and the aggregate, whatever
// ran before or runs at the same time.

/** DuckDB: for every instruments file under `out`, the exchanges its rows belong to. */
async function exchangesPerFile(out) {
  const db = await duckdb();
  const glob = path.join(out, 'instrument_availability', '**', '*.parquet');
  const rows = await db.objects(
    `SELECT filename AS f, string_agg(DISTINCT tardis_exchange, ',' ORDER BY tardis_exchange) AS ex, count(*)::INTEGER AS n
     FROM read_parquet(${sqlStr(glob)}, filename = true) GROUP BY filename ORDER BY filename`);
  return Object.fromEntries(rows.map((r) => [path.relative(out, r.f), r.ex]));
}

const keyOf = (o) => `${o.tardis_exchange}|${o.tardis_symbol}`;

describe('instruments: honest reports', () => {
  it('--summary-json that cannot be written fails the run (exit 2); nothing is left beside it; the files are kept', async (t) => {
    const c = await setup(t, 'summary-unwritable');
    const folder = path.join(c.dir, 'summary-folder');
    fs.mkdirSync(folder);
    const r = await c.run(['--from', '2025-02-13', '--output', c.out, '--exchanges', 'deribit', '--summary-json', folder]);
    assert.equal(r.code, 2, describeRun(r));
    assert.match(r.stderr, /--summary-json: cannot write .*summary-folder/, describeRun(r));
    assert.deepEqual(fs.readdirSync(folder), [], 'nothing written into the folder');
    assert.deepEqual(fs.readdirSync(c.dir).filter((f) => f.includes('.tmp-')), [], 'no temporary summary left');
    const rels = [dayRel('2025-02-13'), aggRel('2025-02-13', '2025-02-13')].sort();
    assert.deepEqual(listFiles(c.out), rels, 'the definitions themselves are written and kept');
    const { objects } = await readDay(path.join(c.out, dayRel('2025-02-13')));
    assert.ok(objects.some((o) => o.instrument_key === 'DERIBIT:PERPETUAL:BTC-USD'), 'the day file holds deribit');
  });

  it('an output that cannot be written (a file where the folder goes) is a usage error (exit 2) before any metadata request', async (t) => {
    const c = await setup(t, 'output-unwritable');
    const file = path.join(c.dir, 'not-a-folder');
    fs.writeFileSync(file, 'a file\n');
    const r = await c.run(['--from', '2025-02-13', '--output', file, '--exchanges', 'deribit']);
    assert.equal(r.code, 2, describeRun(r));
    assert.match(r.stderr, /the output .*not-a-folder cannot be used as a directory/, describeRun(r));
    assert.deepEqual(requestCounts(c.srv), {}, 'no metadata request for a run that cannot write its files');
    assert.equal(fs.readFileSync(file, 'utf8'), 'a file\n', 'the file is left as it was');
    // --format prints and writes nothing: the output is not looked at.
    const printed = await c.run(['--from', '2025-02-13', '--output', file, '--exchanges', 'deribit', '--format', 'csv']);
    assert.equal(printed.code, 0, describeRun(printed));
  });

  it('a summary is replaced whole: the file holds this run\'s JSON, never a part', async (t) => {
    const c = await setup(t, 'summary-replaced');
    const summary = path.join(c.dir, 'summary.json');
    fs.writeFileSync(summary, 'left by an earlier run, longer than nothing '.repeat(1000));
    const r = await c.run(['--from', '2025-02-13', '--output', c.out, '--exchanges', 'deribit', '--summary-json', summary]);
    assert.equal(r.code, 0, describeRun(r));
    const s = JSON.parse(fs.readFileSync(summary, 'utf8'));
    assert.deepEqual(s.exchanges.map((e) => e.exchange), ['deribit']);
    assert.deepEqual(fs.readdirSync(c.dir).filter((f) => f.includes('.tmp-')), [], 'no temporary summary left');
  });
});

// A test server whose deribit listing is the test listing plus N GENERATED options (not Tardis
// data) with their /v1/instruments records (no `changes`), all live on 2024-01-01: BTC and ETH,
// call and put, strikes from 1000, one expiry.
async function optionsListing(t, name, n) {
  const details = mkTmp(ROOT_TMP, `${name}-details`);
  const meta = mkTmp(ROOT_TMP, `${name}-meta`);
  for (const f of fs.readdirSync(DETAILS_DIR)) fs.copyFileSync(path.join(DETAILS_DIR, f), path.join(details, f));
  const listing = JSON.parse(fs.readFileSync(path.join(details, 'deribit.json'), 'utf8'));
  const records = [];
  for (let i = 0; i < n; i++) {
    const [u, cp, strike] = [i % 2 ? 'ETH' : 'BTC', (i >> 1) % 2 ? 'P' : 'C', 1000 + (i >> 2)];
    const id = `${u}-29MAR24-${strike}-${cp}`;
    listing.datasets.symbols.push({ id, type: 'option', availableSince: '2023-12-01T00:00:00.000Z',
      availableTo: '2024-03-30T00:00:00.000Z', dataTypes: ['book_snapshot_25', 'options_chain', 'quotes', 'trades'] });
    records.push({ id, datasetId: id, exchange: 'deribit', baseCurrency: u, quoteCurrency: u, type: 'option', active: true,
      availableSince: '2023-12-01T00:00:00.000Z', availableTo: '2024-03-30T00:00:00.000Z', expiry: '2024-03-29T08:00:00.000Z',
      priceIncrement: 0.0001, amountIncrement: 0.1, minTradeAmount: 0.1, inverse: true,
      contractType: cp === 'C' ? 'call_option' : 'put_option', contractMultiplier: 1, strikePrice: strike,
      optionType: cp === 'C' ? 'call' : 'put' });
  }
  fs.writeFileSync(path.join(details, 'deribit.json'), JSON.stringify(listing));
  fs.writeFileSync(path.join(meta, 'instrument_generated_deribit.json'), JSON.stringify(records));
  return { c: await setup(t, name, { exchangeDetailsDir: details, metadataDirs: [meta] }), listing };
}

describe('instruments files add up across runs', () => {
  it('deribit then binance into one store: every day file and the aggregate hold both; the rerun of both does nothing', async (t) => {
    const c = await setup(t, 'addup');
    const range = days('2025-02-13', 3);
    const args = ['--from', range[0], '--to', range.at(-1), '--output', c.out];
    const first = await c.run([...args, '--exchanges', 'deribit']);
    assert.equal(first.code, 0, describeRun(first));
    c.srv.reset();
    const second = await c.run([...args, '--exchanges', 'binance']);
    assert.equal(second.code, 0, describeRun(second));
    assert.doesNotMatch(second.stderr, /nothing to do/);
    assert.deepEqual(requestCounts(c.srv), { '/v1/exchanges/binance': 1, '/v1/instruments/binance': 1 }, 'only binance is fetched');
    const files = [...range.map(dayRel), aggRel(range[0], range.at(-1))];
    assert.deepEqual(second.stdout.split('\n').filter((l) => l.startsWith('done\t')).map((l) => l.split('\t')[1]).sort(), [...files].sort());

    const per = await exchangesPerFile(c.out);
    for (const f of files) assert.equal(per[f], 'binance,deribit', `${f}: rows of both exchanges`);
    for (const ymd of range) {
      const file = path.join(c.out, dayRel(ymd));
      const { objects } = await readDay(file);
      const want = listedOn(ymd).filter((s) => (s.exchange === 'deribit' || s.exchange === 'binance'));
      assert.deepEqual(objects.map(keyOf).sort(), want.map((s) => `${s.exchange}|${s.symbol}`).sort(), `${ymd}: every listed instrument of both`);
      const keys = objects.map((o) => o.instrument_key);
      assert.deepEqual(keys, [...keys].sort(), `${ymd}: still sorted by key`);
      const kv = await duckKvMetadata(file);
      assert.equal(kv.exchanges, 'binance,deribit');
      assert.equal(kv.row_count, String(objects.length));
      assert.equal(kv.provisional_exchanges, '');
      assert.match(kv.source, /\/v1\/exchanges\/binance .*\/v1\/exchanges\/deribit/);
      assert.deepEqual(JSON.parse(kv.exchange_sources).map((s) => [s.exchange, s.final]), [['binance', true], ['deribit', true]]);
      assert.deepEqual(JSON.parse(kv.grouped_symbols).map((g) => `${g.exchange}|${g.symbol}`).sort(),
        ['deribit|FUTURES', 'deribit|OPTIONS', 'deribit|PERPETUALS'], 'deribit\'s grouped symbols kept');
    }
    // The validate side sees binance now (it read only deribit before).
    const v = await spawnBin(['validate', '--from', range[0], '--to', range.at(-1), '--exchanges', 'binance', '--data-types', 'trades', '--output', c.out],
      { cwd: c.dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
    assert.doesNotMatch(v.stdout + v.stderr, /no instrument definitions/, describeRun(v));
    assert.match(v.stdout + v.stderr, /BINANCE:SPOT_PAIR:BTC-USDT/, describeRun(v));

    c.srv.reset();
    const again = await c.run([...args, '--exchanges', 'deribit,binance']);
    assert.equal(again.code, 0, describeRun(again));
    assert.match(again.stderr, /nothing to do/);
    assert.equal(c.srv.stats().total, 0, 'no request when every file holds both');
  });

  it('--force for one exchange rewrites its rows only; the other exchange\'s rows and sources stay as they were', async (t) => {
    const c = await setup(t, 'force-one');
    const args = ['--from', '2025-02-14', '--to', '2025-02-15', '--output', c.out];
    const r1 = await c.run([...args, '--exchanges', 'deribit,binance']);
    assert.equal(r1.code, 0, describeRun(r1));
    const file = path.join(c.out, dayRel('2025-02-14'));
    const before = (await readDay(file)).objects;
    const beforeSources = JSON.parse((await duckKvMetadata(file)).exchange_sources);

    c.srv.reset();
    const r2 = await c.run([...args, '--exchanges', 'deribit', '--force'], { env: { SOURCE_DATE_EPOCH: '1800000000' } });
    assert.equal(r2.code, 0, describeRun(r2));
    assert.deepEqual(Object.keys(requestCounts(c.srv)).sort(), ['/v1/exchanges/deribit', '/v1/instruments/deribit']);
    const after = (await readDay(file)).objects;
    assert.deepEqual(after.filter((o) => o.tardis_exchange === 'binance'), before.filter((o) => o.tardis_exchange === 'binance'), 'binance rows untouched');
    assert.deepEqual(after.map(keyOf).sort(), before.map(keyOf).sort(), 'deribit rewritten with the same instruments');
    const sources = JSON.parse((await duckKvMetadata(file)).exchange_sources);
    assert.deepEqual(sources.find((s) => s.exchange === 'binance'), beforeSources.find((s) => s.exchange === 'binance'));
    assert.equal(sources.find((s) => s.exchange === 'deribit').created_at, '2027-01-15T08:00:00.000000Z', 'deribit rewritten by the forced run');
    assert.equal((await duckKvMetadata(file)).exchanges, 'binance,deribit');
    const agg = await exchangesPerFile(c.out);
    assert.equal(agg[aggRel('2025-02-14', '2025-02-15')], 'binance,deribit');
  });

  // GENERATED listing (not Tardis data): the deribit test listing plus 20,000 options, all live on
  // the three days. Peak RSS from /usr/bin/time (skipped without it): adding a small exchange
  // reads each stored file a column at a time, so it holds about what writing the files did (both
  // keep their rows and the catalog in temporary files, so both are mostly the process's own
  // baseline); decoding every stored row as a definition took several times that.
  it('adding an exchange to files of 20,000 generated options peaks about as writing them; the rows are the same as a run of both', async (t) => {
    if (!fs.existsSync('/usr/bin/time')) return t.skip('no /usr/bin/time');
    const details = mkTmp(ROOT_TMP, 'big-details');
    for (const f of fs.readdirSync(DETAILS_DIR)) fs.copyFileSync(path.join(DETAILS_DIR, f), path.join(details, f));
    const listing = JSON.parse(fs.readFileSync(path.join(details, 'deribit.json'), 'utf8'));
    for (let i = 0; i < 20_000; i++) {
      const [u, cp] = [i % 2 ? 'ETH' : 'BTC', (i >> 1) % 2 ? 'P' : 'C'];
      listing.datasets.symbols.push({ id: `${u}-29MAR24-${1000 + (i >> 2)}-${cp}`, type: 'option', availableSince: '2023-12-01T00:00:00.000Z',
        availableTo: '2024-03-30T00:00:00.000Z', dataTypes: ['book_snapshot_25', 'options_chain', 'quotes', 'trades'] });
    }
    fs.writeFileSync(path.join(details, 'deribit.json'), JSON.stringify(listing));
    const c = await setup(t, 'big-merge', { exchangeDetailsDir: details });
    const range = days('2024-01-01', 3);
    const args = ['--from', range[0], '--to', range.at(-1)];
    const peak = async (name, out, more) => {
      const rss = path.join(c.dir, `${name}.rss`);
      const r = await spawnProgram('/usr/bin/time', ['-f', '%M', '-o', rss, BIN, 'instruments', ...args, '--output', out, ...more],
        { cwd: c.dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TARDIS_API_URL: c.srv.url, SOURCE_DATE_EPOCH: SDE } });
      assert.equal(r.code, 0, describeRun(r));
      return Number(fs.readFileSync(rss, 'utf8').trim().split('\n').at(-1));
    };
    const write = await peak('write', c.out, ['--exchanges', 'deribit']);
    const merge = await peak('merge', c.out, ['--exchanges', 'binance']);
    t.diagnostic(`peak RSS: writing deribit ${write} KB, adding binance ${merge} KB`);
    assert.ok(merge < write * 1.5, `adding binance peaked at ${merge} KB, writing the files at ${write} KB`);
    // The merged files hold what one run of both exchanges writes, row for row.
    const both = path.join(c.dir, 'both');
    await peak('both', both, ['--exchanges', 'deribit,binance']);
    for (const f of [...range.map(dayRel), aggRel(range[0], range.at(-1))]) {
      const [m, b] = [await readDay(path.join(c.out, f)), await readDay(path.join(both, f))];
      assert.equal(m.objects.length, b.objects.length, f);
      assert.ok(m.objects.length > 20_000, f);
      assert.deepEqual(m.objects, b.objects, `${f}: same rows in the same order`);
    }
  });

  // GENERATED listings (not Tardis data): the deribit test listing plus N options with their
  // /v1/instruments records (no `changes`), all live on the day. The real Deribit listing holds
  // every option it ever listed, so what a run holds per instrument of the listing (the records,
  // the catalog's entries, the listing's symbols) bounds its memory: the peak RSS from
  // /usr/bin/time (skipped without it) of one day of 50,000 options against one of 10,000 grows
  // by less than 2 KB per added option: the catalog's entries and the records are held packed, not
  // as structs whose fixed members alone come near that.
  it('one day of a listing of 50,000 generated options holds under 2 KB per option more than one of 10,000', async (t) => {
    if (!fs.existsSync('/usr/bin/time')) return t.skip('no /usr/bin/time');
    const peakOf = async (n) => {
      const { c, listing } = await optionsListing(t, `per-option-${n}`, n);
      const rss = path.join(c.dir, 'rss');
      const r = await spawnProgram('/usr/bin/time', ['-f', '%M', '-o', rss, BIN, 'instruments', '--from', '2024-01-01', '--to', '2024-01-01',
        '--exchanges', 'deribit', '--output', c.out],
      { cwd: c.dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TARDIS_API_URL: c.srv.url, TARDIS_API_KEY: KEY, SOURCE_DATE_EPOCH: SDE } });
      assert.equal(r.code, 0, describeRun(r));
      const counted = r.stderr.match(new RegExp(`deribit: ${listing.datasets.symbols.length} dataset symbols: (\\d+) instruments`));
      assert.ok(counted && Number(counted[1]) > n, describeRun(r));
      const day = await readDay(path.join(c.out, dayRel('2024-01-01')));
      const opt = day.objects.find((o) => o.tardis_symbol === 'ETH-29MAR24-1000-P');
      assert.equal(opt.instrument_key, 'DERIBIT:OPTION:ETH-USD-240329-1000-PUT');
      assert.equal(opt.tick_size, 0.0001);
      assert.equal(opt.contract_type, 'put_option');
      return { kb: Number(fs.readFileSync(rss, 'utf8').trim().split('\n').at(-1)), rows: day.objects.length };
    };
    const small = await peakOf(10_000);
    const large = await peakOf(50_000);
    assert.equal(large.rows - small.rows, 40_000);
    const perOption = ((large.kb - small.kb) * 1024) / 40_000;
    t.diagnostic(`peak RSS: 10,000 options ${small.kb} KB, 50,000 options ${large.kb} KB: ${perOption.toFixed(0)} bytes per option`);
    assert.ok(perOption < 2048, `${perOption.toFixed(0)} bytes of peak RSS per option (10,000: ${small.kb} KB, 50,000: ${large.kb} KB)`);
  });

  // --format prints the range's definitions formatted a definition at a time into a temporary file,
  // then that file: what it holds per option is the catalog's, as when it writes the files. Holding
  // every definition, and the whole text, took several times the bound below per option.
  it('--format of a listing of 50,000 generated options holds under 512 bytes per option more than one of 10,000', async (t) => {
    if (!fs.existsSync('/usr/bin/time')) return t.skip('no /usr/bin/time');
    const listings = { 10_000: await optionsListing(t, 'format-10000', 10_000), 50_000: await optionsListing(t, 'format-50000', 50_000) };
    for (const format of ['table', 'csv', 'json']) {
      const peakOf = async (n) => {
        const { c } = listings[n];
        const rss = path.join(c.dir, `rss-${format}`);
        const r = await spawnProgram('/usr/bin/time', ['-f', '%M', '-o', rss, BIN, 'instruments', '--from', '2024-01-01', '--to', '2024-01-01',
          '--exchanges', 'deribit', '--format', format],
        { cwd: c.dir, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TARDIS_API_URL: c.srv.url, TARDIS_API_KEY: KEY, SOURCE_DATE_EPOCH: SDE } });
        assert.equal(r.code, 0, describeRun(r));
        assert.deepEqual(listFiles(c.out), [], 'nothing written');
        let rows;
        if (format === 'json') {
          const defs = JSON.parse(r.stdout);
          rows = defs.length;
          const opt = defs.find((d) => d.tardis_symbol === 'ETH-29MAR24-1000-P');
          assert.equal(opt.instrument_key, 'DERIBIT:OPTION:ETH-USD-240329-1000-PUT');
          assert.equal(opt.tick_size, 0.0001);
        } else if (format === 'csv') {
          const lines = r.stdout.trimEnd().split('\n');
          rows = lines.length - 1;
          const opt = lines.find((l) => l.startsWith('DERIBIT:OPTION:ETH-USD-240329-1000-PUT,'));
          assert.match(opt, /,ETH-29MAR24-1000-P,deribit,.*,put_option,/, 'the option\'s row');
        } else {
          rows = Number(r.stdout.match(/^(\d+) instruments$/m)[1]);
          assert.equal(r.stdout.trimEnd().split('\n').length, rows + 2, 'a header, the rows and the count');
        }
        return { kb: Number(fs.readFileSync(rss, 'utf8').trim().split('\n').at(-1)), rows };
      };
      const small = await peakOf(10_000);
      const large = await peakOf(50_000);
      assert.equal(large.rows - small.rows, 40_000, format);
      const perOption = ((large.kb - small.kb) * 1024) / 40_000;
      t.diagnostic(`--format ${format}: peak RSS 10,000 options ${small.kb} KB, 50,000 options ${large.kb} KB: ${perOption.toFixed(0)} bytes per option`);
      assert.ok(perOption < 512, `--format ${format}: ${perOption.toFixed(0)} bytes of peak RSS per option (10,000: ${small.kb} KB, 50,000: ${large.kb} KB)`);
    }
  });

  // The merge reads a stored file a column at a time, while writing the merged one: a column that
  // does not decode is found then, and must still leave nothing behind.
  it('a stored file with a column that does not decode: exit 1 naming it, nothing written; --force replaces it with the requested exchanges', async (t) => {
    const c = await setup(t, 'bad-column');
    const args = ['--from', '2025-02-14', '--to', '2025-02-14', '--output', c.out];
    const r1 = await c.run([...args, '--exchanges', 'deribit']);
    assert.equal(r1.code, 0, describeRun(r1));
    const file = path.join(c.out, dayRel('2025-02-14'));
    const db = await duckdb();
    const [chunk] = await db.objects(`SELECT coalesce(dictionary_page_offset, data_page_offset) AS off, total_compressed_size AS n
      FROM parquet_metadata(${sqlStr(file)}) WHERE path_in_schema = 'tick_size'`);
    const bytes = fs.readFileSync(file);
    bytes.fill(0xff, Number(chunk.off), Number(chunk.off) + Number(chunk.n));
    fs.writeFileSync(file, bytes);
    const before = listFiles(c.out);

    const r2 = await c.run([...args, '--exchanges', 'binance']);
    assert.equal(r2.code, 1, describeRun(r2));
    assert.match(r2.stderr, /day-2025-02-14\/instruments\.parquet is not a readable instruments file \(.*column tick_size.*\): move it away, or rerun with --force/);
    assert.deepEqual(listFiles(c.out), before, 'no file added, none left half written');
    assert.ok(fs.readFileSync(file).equals(bytes), 'the stored file as it was');

    const r3 = await c.run([...args, '--exchanges', 'binance', '--force']);
    assert.equal(r3.code, 0, describeRun(r3));
    assert.match(r3.stderr, /is not a readable instruments file .*--force replaces it with the requested exchanges only/);
    const { objects } = await readDay(file);
    assert.deepEqual([...new Set(objects.map((o) => o.tardis_exchange))], ['binance']);
    assert.equal((await duckKvMetadata(file)).exchanges, 'binance');
  });

  it('two runs for two exchanges started at once into one local store: both exit 0 and every file holds both (five rounds)', async (t) => {
    const c = await setup(t, 'race');
    const range = days('2025-03-01', 31);
    let retries = 0;
    for (let round = 0; round < 5; round++) {
      const out = path.join(c.dir, `out-${round}`);
      const args = (ex, n) => ['--from', range[0], '--to', range.at(-1), '--output', out, '--exchanges', ex, '--summary-json', path.join(c.dir, `s-${round}-${n}.json`)];
      const [a, b] = await Promise.all([c.run(args('deribit', 'a')), c.run(args('okex-swap', 'b'))]);
      assert.equal(a.code, 0, describeRun(a));
      assert.equal(b.code, 0, describeRun(b));
      const per = await exchangesPerFile(out);
      const files = [...range.map(dayRel), aggRel(range[0], range.at(-1))];
      assert.deepEqual(Object.keys(per).sort(), [...files].sort(), `round ${round}: every file`);
      for (const f of files) assert.equal(per[f], 'deribit,okex-swap', `round ${round} ${f}`);
      assert.deepEqual(listFiles(out).sort(), [...files].sort(), `round ${round}: no temporary file left`);
      for (const n of ['a', 'b']) retries += JSON.parse(fs.readFileSync(path.join(c.dir, `s-${round}-${n}.json`), 'utf8')).merge_retries;
    }
    t.diagnostic(`files read again after another run changed them: ${retries} in 5 rounds`);
  });

  it('days after an exchange\'s exportedUntil are written as provisional, said so, and refreshed by a later run', async (t) => {
    const details = mkTmp(ROOT_TMP, 'details-exported');
    for (const f of fs.readdirSync(DETAILS_DIR)) fs.copyFileSync(path.join(DETAILS_DIR, f), path.join(details, f));
    const c = await setup(t, 'exported', { exchangeDetailsDir: details });
    const listing = JSON.parse(fs.readFileSync(path.join(details, 'deribit.json'), 'utf8'));
    assert.equal(listing.datasets.exportedUntil, '2026-08-22T00:00:00.000Z'); // 2026-08-21 is the last exported day
    const range = ['2026-08-21', '2026-08-22', '2026-08-23'];
    const args = ['--from', range[0], '--to', range.at(-1), '--output', c.out, '--exchanges', 'deribit'];
    const summary = path.join(c.dir, 'summary.json');
    const doneLines = (r) => Object.fromEntries(r.stdout.split('\n').filter((l) => /^(done|skipped)\t/.test(l)).map((l) => {
      const p = l.split('\t');
      return [p[1], p[0] === 'skipped' ? 'skipped' : (p[3] ?? 'final')];
    }));

    const r1 = await c.run([...args, '--summary-json', summary]);
    assert.equal(r1.code, 0, describeRun(r1));
    assert.deepEqual(doneLines(r1), {
      [dayRel('2026-08-21')]: 'final',
      [dayRel('2026-08-22')]: 'provisional:deribit',
      [dayRel('2026-08-23')]: 'provisional:deribit',
      [aggRel(range[0], range.at(-1))]: 'provisional:deribit',
    });
    assert.match(r1.stderr, /deribit: Tardis has exported its data until 2026-08-22T00:00:00\.000000Z \(datasets\.exportedUntil\), so its listing for 2026-08-22 \.\. 2026-08-23 is provisional/);
    const s = JSON.parse(fs.readFileSync(summary, 'utf8'));
    assert.deepEqual(s.exchanges[0].provisional_days, ['2026-08-22', '2026-08-23']);
    assert.equal(s.exchanges[0].exported_until, '2026-08-22T00:00:00.000000Z');
    const kv22 = await duckKvMetadata(path.join(c.out, dayRel('2026-08-22')));
    assert.equal(kv22.provisional_exchanges, 'deribit');
    assert.equal(JSON.parse(kv22.exchange_sources)[0].final, false);
    assert.equal((await duckKvMetadata(path.join(c.out, dayRel('2026-08-21')))).provisional_exchanges, '');

    // Tardis exports two more days, and the listing gained a symbol on 2026-08-22.
    listing.datasets.exportedUntil = '2026-08-24T00:00:00.000Z';
    listing.datasets.symbols.push({ id: 'SOL_USDC-PERPETUAL', type: 'perpetual', availableSince: '2026-08-22T00:00:00.000Z', dataTypes: ['trades'] });
    fs.writeFileSync(path.join(details, 'deribit.json'), JSON.stringify(listing));
    const r2 = await c.run(args);
    assert.equal(r2.code, 0, describeRun(r2));
    assert.deepEqual(doneLines(r2), {
      [dayRel('2026-08-21')]: 'skipped',
      [dayRel('2026-08-22')]: 'final',
      [dayRel('2026-08-23')]: 'final',
      [aggRel(range[0], range.at(-1))]: 'final',
    });
    assert.doesNotMatch(r2.stderr, /provisional/);
    for (const ymd of ['2026-08-22', '2026-08-23']) {
      const file = path.join(c.out, dayRel(ymd));
      const { objects } = await readDay(file);
      assert.ok(objects.some((o) => o.instrument_key === 'DERIBIT:PERPETUAL:SOL-USDC'), `${ymd}: the refreshed listing`);
      assert.equal((await duckKvMetadata(file)).provisional_exchanges, '');
    }
    const { objects: d21 } = await readDay(path.join(c.out, dayRel('2026-08-21')));
    assert.ok(!d21.some((o) => o.instrument_key === 'DERIBIT:PERPETUAL:SOL-USDC'), 'the final day was not rewritten');

    c.srv.reset();
    const r3 = await c.run(args);
    assert.equal(r3.code, 0, describeRun(r3));
    assert.match(r3.stderr, /nothing to do/);
    assert.equal(c.srv.stats().total, 0);
  });
});

// The firebase storage emulator ignores ifGenerationMatch (tests/gcs has the sequential merge on
// it); the GCS test double (tests/support/gcs_double.mjs, over real sockets) enforces it as
// documented, so the race runs there.
it('two runs for two exchanges started at once into one gs:// store (GCS test double): both exit 0 and every object holds both (three rounds)', async (t) => {
  const c = await setup(t, 'race-gcs');
  const d = await startGcsDouble();
  t.after(() => d.close());
  const range = days('2025-03-01', 20);
  const files = [...range.map(dayRel), aggRel(range[0], range.at(-1))];
  let conflicts = 0;
  for (let round = 0; round < 3; round++) {
    d.reset();
    const args = (ex) => ['--from', range[0], '--to', range.at(-1), '--output', `gs://bkt/r${round}`, '--exchanges', ex];
    const env = { STORAGE_EMULATOR_HOST: d.hostPort };
    const [a, b] = await Promise.all([c.run(args('deribit'), { env }), c.run(args('okex-swap'), { env })]);
    assert.equal(a.code, 0, describeRun(a));
    assert.equal(b.code, 0, describeRun(b));
    conflicts += d.stats.requests.filter((q) => q.status === 412).length;
    const local = path.join(c.dir, `gcs-${round}`);
    for (const f of files) {
      const o = d.object('bkt', `r${round}/${f}`);
      assert.ok(o, `round ${round}: ${f} exists`);
      fs.mkdirSync(path.dirname(path.join(local, f)), { recursive: true });
      fs.writeFileSync(path.join(local, f), o.blob.bytes());
    }
    const per = await exchangesPerFile(local);
    for (const f of files) assert.equal(per[f], 'deribit,okex-swap', `round ${round} ${f}`);
    // Every write named the generation it replaced (or 0 for a new object).
    const uploads = d.stats.requests.filter((q) => q.method === 'POST' && q.url.includes('/upload/'));
    assert.ok(uploads.length >= 2 * files.length);
    for (const u of uploads) assert.match(u.url, /ifGenerationMatch=\d+/);
  }
  t.diagnostic(`412 answers (a run lost the race for a file and merged again): ${conflicts} in 3 rounds`);
});

// SIGINT (Ctrl-C) while --format makes the text of a listing of 200,000 GENERATED options: exit 130
// and nothing printed, so a stdout redirected to a file holds no part of a listing; while the text is
// printed (a pipe not read for a while), exit 130 before the rest of it. --format once ran on to
// the end (exit 0, every definition printed) whatever the signal.
describe('instruments --format: SIGINT', () => {
  // One listing for the tests here, its server and folders removed after the last.
  const cleanups = [];
  after(async () => { for (const fn of cleanups) await fn(); });
  let listing;
  const getListing = async () => (listing ??= await optionsListing({ after: (fn) => cleanups.push(fn) }, 'sigint-format', 200_000));
  const env = (c) => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', TARDIS_API_URL: c.srv.url, TARDIS_API_KEY: KEY, SOURCE_DATE_EPOCH: SDE });
  const args = (format) => ['instruments', '--from', '2024-01-01', '--to', '2024-01-01', '--exchanges', 'deribit', '--format', format];
  // The child, its exit, and a promise of the first stderr line matching `re`.
  const start = (c, format, stdout) => {
    const child = spawn(BIN, args(format), { cwd: c.dir, env: env(c), stdio: ['ignore', stdout, 'pipe'] });
    RUNNING.add(child);
    let stderr = '';
    const seen = [];
    child.stderr.setEncoding('utf8').on('data', (d) => {
      stderr += d;
      for (const s of seen) if (s.re.test(stderr)) s.resolve();
    });
    const closed = new Promise((resolve) => child.on('close', (code, signal) => { RUNNING.delete(child); resolve({ code, signal }); }));
    const when = (re) => new Promise((resolve) => { seen.push({ re, resolve }); if (re.test(stderr)) resolve(); });
    return { child, closed, when, stderr: () => stderr };
  };

  for (const format of ['table', 'json']) {
    it(`${format}: SIGINT once the catalog is built (the text being made): exit 130, the file stdout goes to left empty`, async () => {
      const { c } = await getListing();
      const file = path.join(c.dir, `printed-${format}.txt`);
      const fd = fs.openSync(file, 'w');
      const run = start(c, format, fd);
      fs.closeSync(fd);
      // Logged when the catalog is built, just before the definitions are formatted.
      await run.when(/deribit: \d+ dataset symbols: 2\d{5} instruments/);
      run.child.kill('SIGINT');
      const t0 = Date.now();
      const { code } = await run.closed;
      assert.equal(code, 130, run.stderr());
      assert.ok(Date.now() - t0 < 3000, `exited ${Date.now() - t0} ms after SIGINT`);
      assert.equal(fs.statSync(file).size, 0, 'no part of the listing in the file');
      // Seen once the catalog is built (the signal may come before the formatting began).
      assert.match(run.stderr(), /interrupted while (formatting the definitions|building the instrument catalog); nothing printed/);
    });
  }

  it('csv: SIGINT while the text is printed to a pipe: exit 130 before all of it', async () => {
    const { c } = await getListing();
    const run = start(c, 'csv', 'pipe');
    // Not read until the signal is sent: the first piece (the whole text is made before any of it is
    // printed) fills the pipe, and the run waits there.
    await new Promise((resolve) => run.child.stdout.once('readable', resolve));
    run.child.kill('SIGINT');
    let bytes = 0;
    run.child.stdout.on('data', (d) => { bytes += d.length; });
    run.child.stdout.resume();
    const { code } = await run.closed;
    assert.equal(code, 130, run.stderr());
    // 200,000 rows of well over 100 bytes each: more than 20 MB whole; at most the piece being
    // written when the signal came (1 MiB) and the one before it got out.
    assert.ok(bytes > 0 && bytes <= 2 << 20, `${bytes} bytes printed`);
    assert.match(run.stderr(), /interrupted while printing; the definitions printed are incomplete/);
  });
});
