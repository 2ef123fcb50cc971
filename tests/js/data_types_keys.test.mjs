// Issue 16, sections 1, 4 and 6 (out-of-day rows), end to end with real sockets and independent readers:
//  - the data type is the file's (its name, the work item), not the header's: trades and liquidations share
//    a header, quotes and book_ticker too, and all four of one day land in four files with their own rows
//    and metadata, by convert and by download, and validate --deep passes on them;
//  - one key per instrument: with the day's instrument definitions in the store, convert, download and
//    validate key a symbol alike (dydx BTC-USD is a perpetual, which its symbol cannot tell); without
//    them such a symbol is an error with a hint, never a guessed type; a concatenated spot symbol takes
//    the split the venue's listing confirms (binance BTCAEUR -> BTC-AEUR);
//  - rows outside the day in the file's name give a warning at convert time naming the range.
// liquidations and book_ticker files are real trades/quotes rows under the other type's name, cut to a
// different length so each output is told apart by its row count. Other CSV files here are generated.
//
// Binary: $MARKET_TICK_BIN or ../../build/market-tick.   Run: cd tests/js && npm test
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

import { startServer } from '../support/tardis_server.mjs';
import { BIN, FIXTURE_DIR, assertRowsEqual, listFiles, mkTmp } from './lib/harness.mjs';
import { expectedTable } from './lib/tardis.mjs';
import { closeDuckdb, duckdb, duckKvMetadata, duckReadAll, hypReadAll, sqlStr } from './lib/readers.mjs';

const ROOT_TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'market-tick-dtk-'));
after(async () => {
  await closeDuckdb();
  fs.rmSync(ROOT_TMP, { recursive: true, force: true });
});

const SDE = '1700000000';
const D = '2020-02-22';
const BF_KEY = 'BINANCE-FUTURES:PERPETUAL:BTC-USDT';
const TYPES = ['trades', 'liquidations', 'quotes', 'book_ticker'];

/** Runs the binary asynchronously (the in-process test server must keep answering). */
function runBin(args, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SOURCE_DATE_EPOCH: SDE, RETRY_BASE_SECONDS: '0.05', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '', stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, info: `market-tick ${args.join(' ')}\nexit ${code}\nstdout: ${stdout}\nstderr: ${stderr}` }));
  });
}

/** The first `n` rows (after the header) of a gzip CSV, gzipped again. */
function headRows(file, n) {
  const lines = zlib.gunzipSync(fs.readFileSync(file)).toString('utf8').split('\n');
  return zlib.gzipSync(lines.slice(0, n + 1).join('\n') + '\n');
}

/** trades, liquidations, quotes, book_ticker of binance-futures BTCUSDT on D, in `dir`: { type: { file, rows } }. */
function fourFiles(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const src = (t) => path.join(FIXTURE_DIR, `binance-futures_${t}_${D}_BTCUSDT.csv.gz`);
  const name = (t) => path.join(dir, `binance-futures_${t}_${D}_BTCUSDT.csv.gz`);
  fs.copyFileSync(src('trades'), name('trades'));
  fs.copyFileSync(src('quotes'), name('quotes'));
  fs.writeFileSync(name('liquidations'), headRows(src('trades'), 123));
  fs.writeFileSync(name('book_ticker'), headRows(src('quotes'), 77));
  return {
    trades: { file: name('trades'), rows: 9999 },
    liquidations: { file: name('liquidations'), rows: 123 },
    quotes: { file: name('quotes'), rows: 9999 },
    book_ticker: { file: name('book_ticker'), rows: 77 },
  };
}

const objectRel = (day, type, key) => path.join('raw_tick_data', 'by_date', `day-${day}`, `data_type-${type}`, `${key}.parquet`);

/** Every one of the four objects holds its own file's rows (DuckDB, value by value; hyparquet count) and metadata. */
async function checkFour(out, files, label) {
  const raw = listFiles(out).filter((f) => f.startsWith('raw_tick_data'));
  assert.deepEqual(raw, TYPES.map((t) => objectRel(D, t, BF_KEY)).sort(), `${label}: one object per data type`);
  for (const t of TYPES) {
    const obj = path.join(out, objectRel(D, t, BF_KEY));
    const kv = await duckKvMetadata(obj);
    assert.equal(kv.data_type, t, `${label} ${t}: metadata data_type`);
    assert.equal(kv.row_count, String(files[t].rows), `${label} ${t}: metadata row_count`);
    assert.equal(kv.instrument_key, BF_KEY, `${label} ${t}: metadata instrument_key`);
    // No instrument definitions in these stores: no contract term is written (none is guessed).
    for (const k of ['contract_size', 'inverse', 'tick_size', 'price_currency', 'settle_asset', 'amount_unit']) {
      assert.equal(k in kv, false, `${label} ${t}: no ${k} without definitions`);
    }
    const exp = expectedTable(files[t].file, { dataType: t, key: BF_KEY });
    const got = await duckReadAll(obj);
    assertRowsEqual(got.rows, exp.rows, exp.schema.map((c) => c.name), `${label} ${t} (DuckDB)`);
    const hyp = await hypReadAll(obj);
    assert.equal(hyp.rows.length, files[t].rows, `${label} ${t}: hyparquet row count`);
    const hkv = Object.fromEntries(hyp.metadata.key_value_metadata.map((e) => [e.key, e.value]));
    assert.equal(hkv.data_type, t, `${label} ${t}: hyparquet metadata data_type`);
  }
}

async function validateDeep(out, args) {
  const r = await runBin(['validate', '--from', D, '--exchanges', 'binance-futures', '--data-types', TYPES.join(','),
    '--symbols', 'BTCUSDT', '--output', out, '--deep', '--read-only', ...args]);
  assert.equal(r.code, 0, r.info);
  assert.match(r.stdout, /result: complete: 0 missing, 0 corrupt/, r.info);
  for (const t of TYPES) assert.match(r.stdout, new RegExp(`^${t} +1 +1 `, 'm'), `${t} done\n${r.info}`);
}

describe('the data type is the file\'s, not the header\'s', () => {
  it('convert: trades, liquidations, quotes, book_ticker of one day give four files with their own rows', async () => {
    const dir = mkTmp(ROOT_TMP, 'convert-four');
    const files = fourFiles(path.join(dir, 'in'));
    const out = path.join(dir, 'out');
    // trades and quotes first, then the two that share their headers: nothing may be replaced.
    const a = await runBin(['convert', files.trades.file, files.quotes.file, '--output', out]);
    assert.equal(a.code, 0, a.info);
    const b = await runBin(['convert', files.liquidations.file, files.book_ticker.file, '--output', out]);
    assert.equal(b.code, 0, b.info);
    assert.match(b.stdout, new RegExp(`data_type-liquidations/${BF_KEY}\\.parquet\\t123\\t`), b.info);
    assert.match(b.stdout, new RegExp(`data_type-book_ticker/${BF_KEY}\\.parquet\\t77\\t`), b.info);
    await checkFour(out, files, 'convert');
    await validateDeep(out, []);
  });

  it('download: the four data types of one day from the test server into one store', async () => {
    const dir = mkTmp(ROOT_TMP, 'download-four');
    const files = fourFiles(path.join(dir, 'srv'));
    const srv = await startServer({ dataDirs: [path.join(dir, 'srv')] });
    try {
      const out = path.join(dir, 'out');
      const r = await runBin(['download', '--from', D, '--exchanges', 'binance-futures', '--data-types', TYPES.join(','),
        '--symbols', 'BTCUSDT', '--output', out], { TARDIS_DATASETS_URL: srv.url, TARDIS_API_KEY: 'k' });
      assert.equal(r.code, 0, r.info);
      assert.match(r.stderr, /4 done/, r.info);
      await checkFour(out, files, 'download');
      await validateDeep(out, []);
    } finally {
      await srv.close();
    }
  });

  it('download: a file whose header is not its work item\'s data type fails, naming both headers', async () => {
    const dir = mkTmp(ROOT_TMP, 'download-mismatch');
    fs.mkdirSync(path.join(dir, 'srv'));
    // trades rows served as book_ticker
    fs.copyFileSync(path.join(FIXTURE_DIR, `binance-futures_trades_${D}_BTCUSDT.csv.gz`),
      path.join(dir, 'srv', `binance-futures_book_ticker_${D}_BTCUSDT.csv.gz`));
    const srv = await startServer({ dataDirs: [path.join(dir, 'srv')] });
    try {
      const out = path.join(dir, 'out');
      const r = await runBin(['download', '--from', D, '--exchanges', 'binance-futures', '--data-types', 'book_ticker',
        '--symbols', 'BTCUSDT', '--output', out], { TARDIS_DATASETS_URL: srv.url, TARDIS_API_KEY: 'k' });
      assert.equal(r.code, 1, r.info);
      assert.ok(r.stderr.includes(`/binance-futures/book_ticker/2020/02/22/BTCUSDT.csv.gz:1: the header is not the one of data type ` +
        `'book_ticker' (from the work item): got "exchange,symbol,timestamp,local_timestamp,id,side,price,amount", expected ` +
        `"exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount"; the header is the one of 'trades'`), r.info);
      assert.deepEqual(listFiles(out).filter((f) => f.startsWith('raw_tick_data')), [], 'nothing written');
    } finally {
      await srv.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// keys
// ---------------------------------------------------------------------------------------------

const KD = '2024-03-05';
const T0 = 1709596800000000; // 2024-03-05T00:00:00Z in µs

/** A generated trades file of `rows` rows of (exchange, symbol), starting `offsetUs` after T0. */
function tradesFile(file, exchange, symbol, rows, offsetUs = 1_000_000) {
  const lines = ['exchange,symbol,timestamp,local_timestamp,id,side,price,amount'];
  for (let i = 0; i < rows; i++) {
    const ts = T0 + offsetUs + i * 60_000_000;
    lines.push(`${exchange},${symbol},${ts},${ts + 1234},${1000 + i},${i % 2 ? 'sell' : 'buy'},${(60000 + i * 0.5).toString()},0.0${i + 1}`);
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, zlib.gzipSync(lines.join('\n') + '\n'));
  return file;
}

describe('one key for one instrument', () => {
  let srv, dir, metaDir, dataDir, env;
  before(async () => {
    dir = mkTmp(ROOT_TMP, 'keys');
    dataDir = path.join(dir, 'srv');
    metaDir = path.join(dir, 'meta');
    fs.mkdirSync(metaDir, { recursive: true });
    tradesFile(path.join(dataDir, `dydx_trades_${KD}_BTC-USD.csv.gz`), 'dydx', 'BTC-USD', 5);
    tradesFile(path.join(dataDir, `binance_trades_${KD}_BTCUSDT.csv.gz`), 'binance', 'BTCUSDT', 3);
    tradesFile(path.join(dataDir, `binance_trades_${KD}_AEURUSDT.csv.gz`), 'binance', 'AEURUSDT', 3);
    tradesFile(path.join(dataDir, `binance_trades_${KD}_BTCAEUR.csv.gz`), 'binance', 'BTCAEUR', 4);
    // /v1/instruments record (generated) for the dydx perpetual: its type comes from the metadata.
    fs.writeFileSync(path.join(metaDir, 'instrument_dydx_BTC-USD.json'), JSON.stringify({
      id: 'BTC-USD', datasetId: 'BTC-USD', exchange: 'dydx', baseCurrency: 'BTC', quoteCurrency: 'USD',
      type: 'perpetual', active: true, availableSince: '2021-01-01T00:00:00.000Z', priceIncrement: 1,
      amountIncrement: 0.0001, minTradeAmount: 0.0001, makerFee: 0, takerFee: 0.0005, inverse: false,
      contractType: 'linear_perpetual',
    }));
    srv = await startServer({ dataDirs: [dataDir], metadataDirs: [metaDir] });
    env = { TARDIS_DATASETS_URL: srv.url, TARDIS_API_URL: srv.url, TARDIS_API_KEY: 'k' };
  });
  after(async () => { await srv?.close(); });

  async function storeWithDefinitions(name) {
    const store = path.join(dir, name);
    const r = await runBin(['instruments', '--from', KD, '--exchanges', 'dydx,binance', '--output', store], env);
    assert.equal(r.code, 0, r.info);
    return store;
  }

  it('convert, download and validate key dydx BTC-USD alike from the stored definitions', async () => {
    const DYDX = 'DYDX:PERPETUAL:BTC-USD';
    const input = path.join(dataDir, `dydx_trades_${KD}_BTC-USD.csv.gz`);
    const a = await storeWithDefinitions('conv');
    const c = await runBin(['convert', input, '--output', a]);
    assert.equal(c.code, 0, c.info);
    const b = await storeWithDefinitions('dl');
    const d = await runBin(['download', '--from', KD, '--exchanges', 'dydx', '--data-types', 'trades', '--symbols', 'BTC-USD',
      '--output', b], env);
    assert.equal(d.code, 0, d.info);
    const rel = objectRel(KD, 'trades', DYDX);
    for (const store of [a, b]) {
      assert.deepEqual(listFiles(store).filter((f) => f.startsWith('raw_tick_data')), [rel], `${store}\n${c.info}\n${d.info}`);
      const kv = await duckKvMetadata(path.join(store, rel));
      assert.equal(kv.instrument_key, DYDX);
      assert.equal(kv.row_count, '5');
      // Issue 20: the file carries the instrument's terms of the day, as the day's definitions (read
      // here by DuckDB) give them; a term the definitions leave null is not in the metadata.
      const db = await duckdb();
      const [def] = await db.objects(`SELECT contract_size, inverse, tick_size, price_currency, settle_asset, amount_unit
        FROM read_parquet(${sqlStr(path.join(store, 'instrument_availability', 'by_date', `day-${KD}`, 'instruments.parquet'))})
        WHERE instrument_key = ${sqlStr(DYDX)}`);
      assert.equal(kv.inverse, 'false'); // the record's inverse: false
      assert.equal(kv.tick_size, '1'); // the record's priceIncrement
      assert.equal(def.contract_size, null);
      assert.equal('contract_size' in kv, false, 'no contractMultiplier in the record: left out, not guessed');
      for (const k of ['inverse', 'tick_size', 'price_currency', 'settle_asset', 'amount_unit']) {
        assert.equal(kv[k], def[k] === null ? undefined : String(def[k]), `${store}: ${k}`);
      }
      // validate with --symbols (keys through the same resolver) and from the definitions alone
      for (const sel of [['--symbols', 'dydx:BTC-USD'], []]) {
        const v = await runBin(['validate', '--from', KD, '--exchanges', 'dydx', '--data-types', 'trades', ...sel,
          '--output', store, '--deep', '--read-only']);
        assert.equal(v.code, 0, v.info);
        assert.match(v.stdout, /result: complete: 0 missing, 0 corrupt/, v.info);
        assert.match(v.stdout, /^trades +1 +1 /m, v.info);
      }
    }
  });

  it('a renamed file (no day in its name) is keyed from the definitions of its rows\' day', async () => {
    const DYDX = 'DYDX:PERPETUAL:BTC-USD';
    const renamed = path.join(dir, 'renamed', 'dydx-btc-usd-march-5.csv.gz');
    fs.mkdirSync(path.dirname(renamed), { recursive: true });
    fs.copyFileSync(path.join(dataDir, `dydx_trades_${KD}_BTC-USD.csv.gz`), renamed);
    const store = await storeWithDefinitions('renamed-store');
    const c = await runBin(['convert', renamed, '--data-type', 'trades', '--output', store]);
    assert.equal(c.code, 0, c.info);
    const rel = objectRel(KD, 'trades', DYDX);
    assert.deepEqual(listFiles(store).filter((f) => f.startsWith('raw_tick_data')), [rel], c.info);
    const kv = await duckKvMetadata(path.join(store, rel));
    assert.equal(kv.instrument_key, DYDX);
    assert.equal(kv.row_count, '5');
    // Without definitions for that day the rule still refuses to guess.
    const empty = mkTmp(dir, 'renamed-empty');
    const e = await runBin(['convert', renamed, '--data-type', 'trades', '--output', empty]);
    assert.equal(e.code, 1, e.info);
    assert.match(e.stderr, /cannot be read from the symbol/, e.info);
  });

  it('without definitions a symbol whose type its venue\'s rule cannot tell is an error with a hint', async () => {
    const input = path.join(dataDir, `dydx_trades_${KD}_BTC-USD.csv.gz`);
    const empty = mkTmp(dir, 'empty');
    const c = await runBin(['convert', input, '--output', empty]);
    assert.equal(c.code, 1, c.info);
    assert.match(c.stderr, /symbol 'BTC-USD' of exchange 'dydx'.*cannot be read from the symbol/, c.info);
    assert.match(c.stderr, /market-tick instruments/, c.info);
    assert.match(c.stderr, /--output FILE\.parquet/, c.info);
    assert.deepEqual(listFiles(empty), [], 'nothing written, no guessed key');
    // A bare symbol stops at planning (no exchange knows it); so does a pinned one, whose key can only come from
    // the definitions (it was downloaded, then failed as bad data, exit 1).
    const bare = await runBin(['download', '--from', KD, '--exchanges', 'dydx', '--data-types', 'trades', '--symbols', 'BTC-USD',
      '--output', empty], env);
    assert.equal(bare.code, 2, bare.info);
    assert.match(bare.stderr, /dydx knows none of these symbols.*market-tick instruments/, bare.info);
    const d = await runBin(['download', '--from', KD, '--exchanges', 'dydx', '--data-types', 'trades', '--symbols', 'dydx:BTC-USD',
      '--output', empty], env);
    assert.equal(d.code, 2, d.info);
    assert.match(d.stderr, /--symbols dydx:BTC-USD: dydx has no symbol rule.*the store lists none of its instruments; run `market-tick instruments` .*with --force where an earlier run wrote them/, d.info);
    assert.deepEqual(listFiles(empty).filter((f) => f.startsWith('raw_tick_data')), [], d.info);
    const v = await runBin(['validate', '--from', KD, '--exchanges', 'dydx', '--data-types', 'trades', '--symbols', 'dydx:BTC-USD',
      '--output', empty, '--read-only']);
    assert.equal(v.code, 2, v.info);
    assert.match(v.stderr, /dydx has no symbol rule.*market-tick instruments/, v.info);
    // The hint's other way: one file, no key needed.
    const one = path.join(empty, 'one.parquet');
    const s = await runBin(['convert', input, '--output', one]);
    assert.equal(s.code, 0, s.info);
    assert.equal((await duckKvMetadata(one)).row_count, '5');
  });

  it('a grouped file of a venue whose symbols cannot tell their type needs the day\'s definitions; after `instruments` a rerun keys it', async (t) => {
    // dydx PERPETUALS without definitions: every row would have gone under DYDX:UNKEYED:{symbol} with a
    // completion record, so the rerun the hint asks for (after `instruments`) skipped the item for good.
    const gdir = path.join(dir, 'grouped-srv');
    const gmeta = path.join(dir, 'grouped-meta');
    fs.mkdirSync(gmeta, { recursive: true });
    const lines = ['exchange,symbol,timestamp,local_timestamp,id,side,price,amount'];
    for (let i = 0; i < 6; i++) {
      const ts = T0 + 1_000_000 + i * 60_000_000;
      lines.push(`dydx,${i % 3 ? 'BTC-USD' : 'ETH-USD'},${ts},${ts + 1234},${2000 + i},buy,${100 + i},0.5`);
    }
    const gfile = path.join(gdir, `dydx_trades_${KD}_PERPETUALS.csv.gz`);
    fs.mkdirSync(gdir, { recursive: true });
    fs.writeFileSync(gfile, zlib.gzipSync(lines.join('\n') + '\n'));
    // The listing (built by the test server from the files it serves) has the two perpetuals too.
    for (const sym of ['BTC-USD', 'ETH-USD']) tradesFile(path.join(gdir, `dydx_trades_${KD}_${sym}.csv.gz`), 'dydx', sym, 1);
    for (const [sym, base] of [['BTC-USD', 'BTC'], ['ETH-USD', 'ETH']]) {
      fs.writeFileSync(path.join(gmeta, `instrument_dydx_${sym}.json`), JSON.stringify({
        id: sym, datasetId: sym, exchange: 'dydx', baseCurrency: base, quoteCurrency: 'USD', type: 'perpetual',
        active: true, availableSince: '2021-01-01T00:00:00.000Z',
      }));
    }
    const gsrv = await startServer({ dataDirs: [gdir], metadataDirs: [gmeta] });
    t.after(() => gsrv.close());
    const genv = { TARDIS_DATASETS_URL: gsrv.url, TARDIS_API_URL: gsrv.url, TARDIS_API_KEY: 'k' };
    const requests = () => gsrv.stats().requests.filter((q) => q.path.endsWith('.csv.gz')).length;
    const store = mkTmp(dir, 'grouped-store');
    const args = ['download', '--from', KD, '--exchanges', 'dydx', '--data-types', 'trades', '--symbols', 'dydx:PERPETUALS',
      '--output', store];
    const d = await runBin(args, genv);
    assert.equal(d.code, 1, d.info);
    assert.match(d.stderr, /dydx.*instrument definitions for 2024-03-05 list no instrument of dydx.*market-tick instruments/, d.info);
    assert.equal(requests(), 0, 'failed before any request');
    assert.deepEqual(listFiles(store).filter((f) => f.startsWith('raw_tick_data')), [], d.info);
    // convert of the same file: the same error, nothing written (no UNKEYED objects, no record).
    const c = await runBin(['convert', gfile, '--output', store]);
    assert.equal(c.code, 1, c.info);
    assert.match(c.stderr, /instrument definitions for 2024-03-05 list no instrument of dydx.*market-tick instruments/, c.info);
    assert.deepEqual(listFiles(store).filter((f) => f.startsWith('raw_tick_data')), [], c.info);
    // `instruments` without a key: the perpetuals need metadata, so they are left out, and the day file records
    // that it was written so. Before, it held dydx for good, and the run with a key then said "nothing to do".
    const { TARDIS_API_KEY: _, ...nokey } = genv;
    const n = await runBin(['instruments', '--from', KD, '--exchanges', 'dydx', '--output', store], nokey);
    assert.equal(n.code, 0, n.info);
    assert.match(n.stdout, /^done\t.*day-2024-03-05.*\t0$/m, n.info);
    assert.match(n.stderr, /dydx: symbols were rejected without instrument metadata, which needs TARDIS_API_KEY to be set; the files record that, and the next run of instruments with a key rewrites dydx in them/, n.info);
    assert.doesNotMatch(n.stderr, /REDACTED/, 'the advice is not taken for a secret');
    const dayFile = path.join(store, 'instrument_availability', 'by_date', `day-${KD}`, 'instruments.parquet');
    const sources = JSON.parse((await duckKvMetadata(dayFile)).exchange_sources);
    assert.deepEqual(sources.map((x) => [x.exchange, x.needs_key, x.final]), [['dydx', true, true]]);
    // Another run without a key has nothing to add: it requests nothing.
    const metaRequests = () => gsrv.stats().requests.filter((q) => q.path.startsWith('/v1/')).length;
    const m0 = metaRequests();
    const n2 = await runBin(['instruments', '--from', KD, '--exchanges', 'dydx', '--output', store], nokey);
    assert.equal(n2.code, 0, n2.info);
    assert.match(n2.stderr, /nothing to do/, n2.info);
    assert.equal(metaRequests(), m0, n2.info);
    const d2 = await runBin(args, genv);
    assert.equal(d2.code, 1, d2.info);
    assert.match(d2.stderr, /list no instrument of dydx \(none were written, or instruments rejected its symbols/, d2.info);
    assert.equal(requests(), 0, 'failed before any request');
    // What the hint says (a key, no --force), then the same download: every row under its own key.
    const i = await runBin(['instruments', '--from', KD, '--exchanges', 'dydx', '--output', store], genv);
    assert.equal(i.code, 0, i.info);
    assert.match(i.stdout, /^done\t.*day-2024-03-05.*\t2$/m, i.info);
    const after = JSON.parse((await duckKvMetadata(dayFile)).exchange_sources);
    assert.deepEqual(after.map((x) => [x.exchange, x.needs_key]), [['dydx', undefined]]);
    const again = await runBin(args, genv);
    assert.equal(again.code, 0, again.info);
    assert.deepEqual(listFiles(store).filter((f) => f.startsWith('raw_tick_data') && f.endsWith('.parquet')),
      [objectRel(KD, 'trades', 'DYDX:PERPETUAL:BTC-USD'), objectRel(KD, 'trades', 'DYDX:PERPETUAL:ETH-USD')], again.info);
    assert.equal((await duckKvMetadata(path.join(store, objectRel(KD, 'trades', 'DYDX:PERPETUAL:BTC-USD')))).row_count, '4');
    const v = await runBin(['validate', '--from', KD, '--exchanges', 'dydx', '--data-types', 'trades', '--output', store,
      '--deep', '--read-only']);
    assert.equal(v.code, 0, v.info);
    assert.match(v.stdout, /^trades +2 +2 /m, v.info);
    // The item is complete by its record: a rerun skips it without a request, definitions or not.
    fs.rmSync(path.join(store, 'instrument_availability'), { recursive: true });
    const before = requests();
    const rerun = await runBin(args, genv);
    assert.equal(rerun.code, 0, rerun.info);
    assert.match(rerun.stderr, /1 items: 0 done, 1 skipped/, rerun.info);
    assert.equal(requests(), before, 'no request for a complete item');
  });

  // deribit OPTIONS trades of 2025-02-03: an option, a combo, the option again, served by a test server of its
  // own (and the two symbols' own files, empty); the download of the grouped item into a fresh store.
  async function comboServer(t, name) {
    const day = '2025-02-03';
    const cdir = path.join(dir, `${name}-srv`);
    const OPT = 'BTC-25APR25-200000-P', COMBO = 'BTC-FS-28MAR25_PERP';
    const t0 = Date.parse(`${day}T00:00:00Z`) * 1000;
    const lines = ['exchange,symbol,timestamp,local_timestamp,id,side,price,amount'];
    [OPT, COMBO, OPT].forEach((sym, i) => lines.push(`deribit,${sym},${t0 + i * 1000},${t0 + i * 1000 + 5},${i},buy,0.1,1`));
    fs.mkdirSync(cdir, { recursive: true });
    fs.writeFileSync(path.join(cdir, `deribit_trades_${day}_OPTIONS.csv.gz`), zlib.gzipSync(lines.join('\n') + '\n'));
    for (const sym of [OPT, COMBO]) fs.writeFileSync(path.join(cdir, `deribit_trades_${day}_${sym}.csv.gz`), zlib.gzipSync(lines[0] + '\n'));
    const csrv = await startServer({ dataDirs: [cdir] });
    t.after(() => csrv.close());
    const cenv = { TARDIS_DATASETS_URL: csrv.url, TARDIS_API_URL: csrv.url, TARDIS_API_KEY: 'k' };
    const store = mkTmp(dir, `${name}-store`);
    const args = ['download', '--from', day, '--exchanges', 'deribit', '--data-types', 'trades', '--symbols', 'deribit:OPTIONS',
      '--output', store];
    return { day, COMBO, csrv, cenv, store, args };
  }

  // A run of comboServer's item skipped on the record of a run that kept the combo's row without a key: exit 0,
  // the record's UNKEYED rows said on stderr and in the item's summary entry, none in the run's total.
  // Returns the entry.
  function assertSkippedListingRecordedCombo(run, summaryPath, combo) {
    assert.equal(run.code, 0, run.info);
    assert.match(run.stderr, /1 items: 0 done, 1 skipped/, run.info);
    assert.match(run.stderr, /its record lists 1 rows of 1 symbols kept without an instrument key \(UNKEYED objects/, run.info);
    const sum = JSON.parse(fs.readFileSync(summaryPath, 'utf8'));
    assert.equal(sum.unkeyed_rows, 0, 'none of this run');
    const res = sum.results[0];
    assert.equal(res.outcome, 'skipped');
    assert.equal(res.unkeyed_rows, 1);
    assert.deepEqual(res.unkeyed_symbols, [combo]);
    return res;
  }

  it('a combo in a grouped file downloaded without definitions: the UNKEYED warning says how the definitions key it', async (t) => {
    // deribit OPTIONS of 2025-02-03 with a combo row; the real /v1/instruments records of the fixtures (the
    // option BTC-25APR25-200000-P, the combo BTC-FS-28MAR25_PERP) give the definitions. The warning said only
    // "a rerun cannot change it", though the definitions key the combo once `instruments` has run.
    const { day, COMBO, csrv, cenv, store, args } = await comboServer(t, 'combo');
    const d = await runBin(args, cenv);
    assert.equal(d.code, 1, d.info);
    assert.match(d.stderr, new RegExp(`1 rows of symbol '${COMBO}' kept as .*DERIBIT:UNKEYED:${COMBO}\\.parquet .*no instrument ` +
      `definitions of deribit for ${day}, which may key it: run \`market-tick instruments --from ${day} --exchanges deribit\`, ` +
      'then this download again with --force'), d.info);
    // A plain rerun skips the complete item and still says that rows are kept without a key (stderr, the item's
    // summary entry); it said nothing, as if the condition had gone. Its exit code is 0: it did nothing new, and a
    // fleet rerunning the range must be able to finish it.
    const summary = path.join(store, '..', 'combo-rerun.json');
    const again = await runBin([...args, '--summary-json', summary], cenv);
    assertSkippedListingRecordedCombo(again, summary, COMBO);
    const i = await runBin(['instruments', '--from', day, '--exchanges', 'deribit', '--output', store], cenv);
    assert.equal(i.code, 0, i.info);
    const f = await runBin([...args, '--force'], cenv);
    assert.equal(f.code, 0, f.info);
    assert.doesNotMatch(f.stderr, /UNKEYED/, f.info);
    // The UNKEYED object of the first run is gone with its record: the combo's row is stored once, under its key.
    assert.deepEqual(listFiles(store).filter((x) => x.startsWith('raw_tick_data') && x.endsWith('.parquet')).map((x) => path.basename(x)).sort(),
      [`DERIBIT:COMBO:${COMBO}.parquet`, 'DERIBIT:OPTION:BTC-USD-250425-200000-PUT.parquet'], f.info);
    const kv = await duckKvMetadata(path.join(store, objectRel(day, 'trades', `DERIBIT:COMBO:${COMBO}`)));
    assert.equal(kv.row_count, '1');
  });

  it('a combo in a grouped file another run completes while this one reads it: its entry lists the recorded UNKEYED rows, exit 0', async (t) => {
    // Run A's request is held; run B downloads the item whole (the combo kept under DERIBIT:UNKEYED, exit 1)
    // and writes its record; A, released, reads the file, finds the record and is skipped. Its entry lists the
    // rows kept without a key, as a rerun skipped on the record at its start does.
    const { COMBO, csrv, cenv, store, args } = await comboServer(t, 'combo-race');
    csrv.setFaults({ holdRequests: { path: 'OPTIONS', count: 1 } });
    const summaryA = path.join(store, '..', 'combo-race-a.json');
    const a = runBin([...args, '--summary-json', summaryA], cenv);
    await csrv.waitHeld(1);
    const b = await runBin(args, cenv);
    assert.equal(b.code, 1, b.info);
    assert.match(b.stderr, new RegExp(`1 rows of symbol '${COMBO}' kept as .*DERIBIT:UNKEYED:${COMBO}\\.parquet`), b.info);
    csrv.release();
    const ra = await a;
    const res = assertSkippedListingRecordedCombo(ra, summaryA, COMBO);
    assert.match(res.reason, /completed meanwhile by another run/);
  });

  it('an exchange id Tardis does not use is named as such, with the id it resembles, and nothing is written', async () => {
    // A file of the user's own (generated rows, no official name): 'Deribit' and a trailing space are not
    // Tardis exchange ids, so neither a symbol rule nor stored definitions could key their rows.
    for (const [exchange, hint] of [['Deribit', /\(did you mean deribit\?\)/], ['binance-futures ', /\(did you mean binance-futures\?\)/],
      ['madeupx', /is not a Tardis exchange id;/]]) {
      const input = path.join(dir, `own-${exchange.trim()}.csv`);
      fs.writeFileSync(input, 'exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n' +
        `${exchange},BTC-PERPETUAL,1709251200000000,1709251200000100,1,buy,60000,0.1\n`);
      const out = mkTmp(dir, `own-${exchange.trim()}-store`);
      const c = await runBin(['convert', input, '--data-type', 'trades', '--output', out]);
      assert.equal(c.code, 1, c.info);
      assert.match(c.stderr, new RegExp(`own-${exchange.trim()}\\.csv:2: exchange '${exchange}' \\(of symbol 'BTC-PERPETUAL'\\) is not a Tardis exchange id`), c.info);
      assert.match(c.stderr, hint, c.info);
      assert.doesNotMatch(c.stderr, /run `market-tick instruments`/, c.info);
      assert.deepEqual(listFiles(out), [], 'nothing written');
    }
  });

  // Issue: without definitions Kraken's XBT/USD was keyed by its symbol, KRAKEN:SPOT_PAIR:XBT-USD; with them
  // (the /v1/instruments record names the base currency BTC) KRAKEN:SPOT_PAIR:BTC-USD: one store could hold
  // two objects of one instrument, and validate looked for the other one.
  it('kraken XBT/USD has one key with and without definitions (BTC-USD): convert, download and validate agree', async (t) => {
    const KRAKEN = 'KRAKEN:SPOT_PAIR:BTC-USD';
    const kdir = path.join(dir, 'kraken-srv');
    const kmeta = path.join(dir, 'kraken-meta');
    fs.mkdirSync(kmeta, { recursive: true });
    // Kraken's rows spell the pair as the exchange does (XBT/USD), the dataset symbol as the clients do (XBT-USD).
    const input = tradesFile(path.join(kdir, `kraken_trades_${KD}_XBT-USD.csv.gz`), 'kraken', 'XBT/USD', 4);
    fs.writeFileSync(path.join(kmeta, 'instrument_kraken_XBT-USD.json'), JSON.stringify({
      id: 'XBT/USD', datasetId: 'XBT-USD', exchange: 'kraken', baseCurrency: 'BTC', quoteCurrency: 'USD', type: 'spot',
      active: true, availableSince: '2019-06-04T00:00:00.000Z', priceIncrement: 0.1, amountIncrement: 0.00000001,
      minTradeAmount: 0.0001, makerFee: 0.0016, takerFee: 0.0026,
    }));
    const ksrv = await startServer({ dataDirs: [kdir], metadataDirs: [kmeta] });
    t.after(() => ksrv.close());
    const kenv = { TARDIS_DATASETS_URL: ksrv.url, TARDIS_API_URL: ksrv.url, TARDIS_API_KEY: 'k' };
    const rel = objectRel(KD, 'trades', KRAKEN);
    const raw = (store) => listFiles(store).filter((f) => f.startsWith('raw_tick_data') && f.endsWith('.parquet'));
    const download = ['download', '--from', KD, '--exchanges', 'kraken', '--data-types', 'trades', '--symbols', 'kraken:XBT-USD'];
    const validate = async (store, label) => {
      const v = await runBin(['validate', '--from', KD, '--exchanges', 'kraken', '--data-types', 'trades', '--symbols',
        'kraken:XBT-USD', '--output', store, '--deep', '--read-only']);
      assert.equal(v.code, 0, `${label}\n${v.info}`);
      assert.match(v.stdout, /result: complete: 0 missing, 0 corrupt/, `${label}\n${v.info}`);
      assert.match(v.stdout, /^trades +1 +1 /m, `${label}\n${v.info}`);
    };
    const instruments = async (store) => {
      const i = await runBin(['instruments', '--from', KD, '--exchanges', 'kraken', '--output', store], kenv);
      assert.equal(i.code, 0, i.info);
      // The symbol alone and the record give one key: no warning that they differ.
      assert.doesNotMatch(i.stderr, /instrument metadata gives key/, i.info);
    };

    // convert without definitions (the symbol rule), then the definitions into the same store: validate finds
    // the object the definitions name, and download has nothing left to write.
    const a = mkTmp(dir, 'kraken-convert');
    const c = await runBin(['convert', input, '--output', a]);
    assert.equal(c.code, 0, c.info);
    assert.deepEqual(raw(a), [rel], c.info);
    await validate(a, 'convert without definitions');
    await instruments(a);
    await validate(a, 'convert without definitions, validate with them');
    const again = await runBin([...download, '--output', a], kenv);
    assert.equal(again.code, 0, again.info);
    assert.deepEqual(raw(a), [rel], `one object for one instrument\n${again.info}`);

    // download with definitions; convert with definitions: the same object name.
    for (const [name, args, env] of [['kraken-download', [...download], kenv], ['kraken-convert-defs', ['convert', input], {}]]) {
      const store = mkTmp(dir, name);
      await instruments(store);
      const r = await runBin([...args, '--output', store], env);
      assert.equal(r.code, 0, r.info);
      assert.deepEqual(raw(store), [rel], r.info);
      const kv = await duckKvMetadata(path.join(store, rel));
      assert.equal(kv.instrument_key, KRAKEN);
      assert.equal(kv.row_count, '4');
      await validate(store, name);
    }
  });

  it('binance BTCAEUR takes the split its listing confirms (BTC-AEUR), in every command', async () => {
    const KEY = 'BINANCE:SPOT_PAIR:BTC-AEUR';
    const input = path.join(dataDir, `binance_trades_${KD}_BTCAEUR.csv.gz`);
    const a = await storeWithDefinitions('split-conv');
    const c = await runBin(['convert', input, '--output', a]);
    assert.equal(c.code, 0, c.info);
    const b = await storeWithDefinitions('split-dl');
    const d = await runBin(['download', '--from', KD, '--exchanges', 'binance', '--data-types', 'trades', '--symbols', 'BTCAEUR',
      '--output', b], env);
    assert.equal(d.code, 0, d.info);
    for (const store of [a, b]) {
      assert.deepEqual(listFiles(store).filter((f) => f.startsWith('raw_tick_data')), [objectRel(KD, 'trades', KEY)], store);
      const v = await runBin(['validate', '--from', KD, '--exchanges', 'binance', '--data-types', 'trades', '--symbols', 'BTCAEUR',
        '--output', store, '--deep', '--read-only']);
      assert.equal(v.code, 0, v.info);
      assert.match(v.stdout, /result: complete/, v.info);
    }
    // Without a listing, the symbol rule alone (the longest known quote).
    const bare = mkTmp(dir, 'split-bare');
    const r = await runBin(['convert', input, '--output', bare]);
    assert.equal(r.code, 0, r.info);
    assert.deepEqual(listFiles(bare), [objectRel(KD, 'trades', 'BINANCE:SPOT_PAIR:BTCA-EUR')]);
  });
});

// ---------------------------------------------------------------------------------------------
// rows outside the file's day
// ---------------------------------------------------------------------------------------------

describe('rows outside the day in the file name', () => {
  it('convert warns with the range, by the rule validate --deep applies', async () => {
    const dir = mkTmp(ROOT_TMP, 'out-of-day');
    // Rows of 2024-03-05 under the name of 2024-03-04 (a mislabelled file).
    const input = tradesFile(path.join(dir, 'in', 'binance-futures_trades_2024-03-04_BTCUSDT.csv.gz'), 'binance-futures', 'BTCUSDT', 3);
    const out = path.join(dir, 'out');
    const r = await runBin(['convert', input, '--output', out]);
    assert.equal(r.code, 0, r.info);
    const range = '2024-03-05T00:00:01.001234Z .. 2024-03-05T00:02:01.001234Z';
    assert.match(r.stderr, new RegExp(`^W .*binance-futures_trades_2024-03-04_BTCUSDT\\.csv\\.gz: rows outside the file's day 2024-03-04.*local_timestamp runs ${range.replaceAll('.', '\\.')}, outside 2024-03-04`, 'm'), r.info);
    const v = await runBin(['validate', '--from', '2024-03-04', '--exchanges', 'binance-futures', '--data-types', 'trades',
      '--symbols', 'BTCUSDT', '--output', out, '--deep', '--read-only']);
    assert.equal(v.code, 1, v.info);
    assert.ok(v.stdout.includes(`local_timestamp runs ${range}, outside 2024-03-04`), v.info);
    // Rows inside their day: no warning.
    const good = tradesFile(path.join(dir, 'in', 'binance-futures_trades_2024-03-05_BTCUSDT.csv.gz'), 'binance-futures', 'BTCUSDT', 3);
    const g = await runBin(['convert', good, '--output', out]);
    assert.equal(g.code, 0, g.info);
    assert.doesNotMatch(g.stderr, /outside/, g.info);
  });

  it('a file whose name gives no day: rows of later days under the first row\'s day are said the same way', async () => {
    const dir = mkTmp(ROOT_TMP, 'out-of-day-undated');
    // Two days concatenated into one file (zcat day1 day2 > all.csv): each instrument's rows go
    // under the day of its first row, 2024-03-04, and validate --deep calls the object corrupt.
    const lines = ['exchange,symbol,timestamp,local_timestamp,id,side,price,amount'];
    for (const [i, ts] of [T0 - 1_000_000, T0 + 1_000_000, T0 + 86_400_000_000 + 5].entries()) {
      lines.push(`binance-futures,BTCUSDT,${ts},${ts + 1},${100 + i},buy,9682,0.1`);
    }
    const input = path.join(dir, 'in', 'all.csv');
    fs.mkdirSync(path.dirname(input), { recursive: true });
    fs.writeFileSync(input, lines.join('\n') + '\n');
    const out = path.join(dir, 'out');
    const r = await runBin(['convert', input, '--output', out, '--data-type', 'trades']);
    assert.equal(r.code, 0, r.info);
    const warned = r.stderr.split('\n').filter((l) => /rows outside/.test(l));
    assert.equal(warned.length, 1, r.info);
    assert.match(warned[0], /all\.csv: rows outside the day their object is filed under, (\d{4}-\d\d-\d\d) \(the file's name gives no day/, r.info);
    assert.match(warned[0], /local_timestamp runs .* will be reported corrupt by validate --deep; convert one file per day/, r.info);
    // Rows of one day in an undated file: no warning.
    fs.writeFileSync(input, [lines[0], lines[2]].join('\n') + '\n');
    const g = await runBin(['convert', input, '--output', path.join(dir, 'out2'), '--data-type', 'trades']);
    assert.equal(g.code, 0, g.info);
    assert.doesNotMatch(g.stderr, /outside/, g.info);
  });

  it('a grouped file of another day gives one warning for all its objects (convert and download), with the range over them', async () => {
    const dir = mkTmp(ROOT_TMP, 'out-of-day-grouped');
    // Three Deribit options, rows of 2024-03-05 under the name of 2024-03-04.
    const lines = ['exchange,symbol,timestamp,local_timestamp,id,side,price,amount'];
    const symbols = ['BTC-29MAR24-60000-C', 'BTC-29MAR24-60000-P', 'BTC-29MAR24-70000-C'];
    for (let i = 0; i < 6; i++) {
      const ts = T0 + 1_000_000 + i * 60_000_000;
      lines.push(`deribit,${symbols[i % 3]},${ts},${ts + 1234},${1000 + i},buy,0.05,1`);
    }
    const name = 'deribit_trades_2024-03-04_OPTIONS.csv.gz';
    const input = path.join(dir, 'srv', name);
    fs.mkdirSync(path.dirname(input), { recursive: true });
    fs.writeFileSync(input, zlib.gzipSync(lines.join('\n') + '\n'));
    const range = '2024-03-05T00:00:01.001234Z .. 2024-03-05T00:05:01.001234Z';
    const outside = (stderr) => stderr.split('\n').filter((l) => /rows outside/.test(l));
    const r = await runBin(['convert', input, '--output', path.join(dir, 'out')]);
    assert.equal(r.code, 0, r.info);
    assert.equal(outside(r.stderr).length, 1, r.info);
    assert.ok(outside(r.stderr)[0].includes(`rows outside the file's day 2024-03-04 (from its name): local_timestamp runs ${range}, outside 2024-03-04 (over 3 of its 3 objects); `), r.info);
    assert.match(outside(r.stderr)[0], /DERIBIT:OPTION:BTC-USD-240329-60000-CALL\.parquet and the 2 others will be reported corrupt by validate --deep/, r.info);
    const srv = await startServer({ dataDirs: [path.join(dir, 'srv')] });
    try {
      const d = await runBin(['download', '--from', '2024-03-04', '--exchanges', 'deribit', '--data-types', 'trades',
        '--symbols', 'deribit:OPTIONS', '--output', path.join(dir, 'dl')], { TARDIS_DATASETS_URL: srv.url, TARDIS_API_KEY: 'k' });
      assert.equal(d.code, 0, d.info);
      assert.equal(outside(d.stderr).length, 1, d.info);
      assert.ok(outside(d.stderr)[0].includes(`2024-03-04/trades/deribit/OPTIONS: rows outside the item's day: local_timestamp runs ${range}, outside 2024-03-04 (over 3 of its 3 objects); `), d.info);
    } finally {
      await srv.close();
    }
  });

  it('download warns the same way for a served file of another day', async () => {
    const dir = mkTmp(ROOT_TMP, 'out-of-day-download');
    tradesFile(path.join(dir, 'srv', 'binance-futures_trades_2024-03-04_BTCUSDT.csv.gz'), 'binance-futures', 'BTCUSDT', 3);
    const srv = await startServer({ dataDirs: [path.join(dir, 'srv')] });
    try {
      const summary = path.join(dir, 'summary.json');
      const r = await runBin(['download', '--from', '2024-03-04', '--exchanges', 'binance-futures', '--data-types', 'trades',
        '--symbols', 'binance-futures:BTCUSDT', '--output', path.join(dir, 'out'), '--summary-json', summary],
      { TARDIS_DATASETS_URL: srv.url, TARDIS_API_KEY: 'k' });
      assert.equal(r.code, 0, r.info);
      const range = '2024-03-05T00:00:01.001234Z .. 2024-03-05T00:02:01.001234Z';
      assert.match(r.stderr, new RegExp(`^W .*2024-03-04/trades/binance-futures/BTCUSDT: rows outside the item's day: local_timestamp runs ${range.replaceAll('.', '\\.')}, outside 2024-03-04`, 'm'), r.info);
      // The summary says it too (its reason was empty: a pipeline reading only the summary saw a plain done).
      const item = JSON.parse(fs.readFileSync(summary, 'utf8')).results[0];
      assert.equal(item.outcome, 'done');
      assert.ok(item.reason.startsWith(`rows outside the item's day: local_timestamp runs ${range}, outside 2024-03-04`), item.reason);
      assert.match(item.reason, /will be reported corrupt by validate --deep$/);
    } finally {
      await srv.close();
    }
  });
});
