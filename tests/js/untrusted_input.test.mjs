// Bytes from a file or a server are untrusted (issue 22): text cells that are not UTF-8 or hold a
// NUL, a metadata answer nested 100,000 levels deep, a process under an address-space limit, files
// whose rows are another instrument's than the item they were served or named for, and server or
// file text with line breaks and terminal escapes.
// Each case checks the exit code, the message (file:line:column or URL) and what is stored; every
// stored file is read back by DuckDB.
//
// Binary: $MARKET_TICK_BIN or ../../build/market-tick.   Run: cd tests/js && npm test
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import zlib from 'node:zlib';

import { startServer } from '../support/tardis_server.mjs';
import { BIN, FIXTURE_DIR, ROOT, assertRowsEqual, describeRun, listFiles, mkTmp, parseConvertStdout, run } from './lib/harness.mjs';
import { expectedTable } from './lib/tardis.mjs';
import { closeDuckdb, duckReadAll } from './lib/readers.mjs';

const ROOT_TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'market-tick-untrusted-'));
after(async () => {
  await closeDuckdb();
  fs.rmSync(ROOT_TMP, { recursive: true, force: true });
});

const TRADES_HEADER = 'exchange,symbol,timestamp,local_timestamp,id,side,price,amount';
const GOOD_ROW = 'binance,BTCUSDT,1582329600000000,1582329600100000,1,buy,9681.5,0.1';
const TRADES_FIXTURE = path.join(FIXTURE_DIR, 'binance-futures_trades_2020-02-22_BTCUSDT.csv.gz');
const DETAILS_DIR = path.join(ROOT, 'tests', 'fixtures', 'exchange_details');

/** Writes `rows` (Buffers or strings) as a trades CSV and converts it; returns { r, args, out }. */
function convertRows(name, rows, extra = []) {
  const dir = mkTmp(ROOT_TMP, name);
  const file = path.join(dir, 'binance_trades_2020-02-22_BTCUSDT.csv');
  fs.writeFileSync(file, Buffer.concat([TRADES_HEADER, ...rows].map((l) => Buffer.concat([Buffer.from(l), Buffer.from('\n')]))));
  const out = path.join(dir, 'out');
  const args = ['convert', file, '--output', out, ...extra];
  return { r: run(args, { cwd: dir }), args, out };
}

describe('text cells must be UTF-8 without NUL', () => {
  it('invalid UTF-8 in a symbol: exit 1, file:line:column, nothing written, JSON log lines stay JSON', () => {
    const bad = Buffer.concat([Buffer.from('binance,BTC'), Buffer.from([0xc3]), Buffer.from('USDT,1582329600000001,1582329600100001,2,sell,9681.5,0.2')]);
    const { r, args, out } = convertRows('bad-utf8', [GOOD_ROW, bad], ['--log-format', 'json']);
    assert.equal(r.code, 1, describeRun(args, r));
    assert.deepEqual(listFiles(out), [], 'nothing is written');
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    assert.ok(lines.length > 0, describeRun(args, r));
    const messages = lines.map((l) => JSON.parse(l).message); // throws on a line that is not JSON
    assert.ok(messages.some((m) => /BTCUSDT\.csv:3:12: invalid UTF-8 in a text value \(byte 0xC3.*column 2 'symbol'/.test(m)),
      describeRun(args, r));
    // stderr as a whole is valid UTF-8 (no raw 0xC3 byte got through).
    assert.ok(!r.stderr.includes('\ufffd'), 'the message replaced the bad byte itself');
  });

  it('invalid UTF-8 in a trade id and in a side are rejected the same way', () => {
    for (const [label, row, where] of [
      ['id', Buffer.concat([Buffer.from('binance,BTCUSDT,1582329600000001,1582329600100001,12345678901234'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from(',sell,1,1')]), /:2:65: invalid UTF-8.*column 5 'id'/],
      ['side', Buffer.concat([Buffer.from('binance,BTCUSDT,1582329600000001,1582329600100001,7,s'), Buffer.from([0xff]), Buffer.from('ll,1,1')]), /:2:54: invalid UTF-8.*column 6 'side'/],
    ]) {
      const { r, args, out } = convertRows(`bad-utf8-${label}`, [row]);
      assert.equal(r.code, 1, describeRun(args, r));
      assert.match(r.stderr, where, describeRun(args, r));
      assert.deepEqual(listFiles(out), [], 'nothing is written');
    }
  });

  it('a NUL byte in a symbol: exit 1, file:line:column, nothing written (it used to drop the rows with exit 0)', () => {
    const bad = Buffer.concat([Buffer.from('binance,BTC'), Buffer.from([0]), Buffer.from('USDT,1582329600000001,1582329600100001,2,sell,9681.5,0.2')]);
    const { r, args, out } = convertRows('nul-symbol', [GOOD_ROW, bad, GOOD_ROW]);
    assert.equal(r.code, 1, describeRun(args, r));
    assert.match(r.stderr, /BTCUSDT\.csv:3:12: a NUL byte in a text value .*column 2 'symbol'/, describeRun(args, r));
    assert.equal(r.stdout, '', 'no object is reported');
    assert.deepEqual(listFiles(out), [], 'nothing is written');
  });

  it('valid multi-byte UTF-8 text is kept as is and DuckDB reads it', async () => {
    const { r, args } = convertRows('good-utf8', [GOOD_ROW.replace(',1,buy,', ',\u6d4b\u8bd5-\u00e9,buy,')]);
    assert.equal(r.code, 0, describeRun(args, r));
    const [file] = parseConvertStdout(r.stdout, path.join(ROOT_TMP, 'good-utf8'));
    const d = await duckReadAll(file.path);
    const id = d.columns.findIndex((c) => c.name === 'id');
    assert.equal(d.rows[0][id], '\u6d4b\u8bd5-\u00e9');
  });
});

describe('metadata answers are bounded', () => {
  it('an /v1/exchanges/{id} answer nested 100,000 levels deep: a clear error naming the URL, no crash, nothing written', async (t) => {
    const dir = mkTmp(ROOT_TMP, 'deep-json');
    const details = path.join(dir, 'details');
    fs.mkdirSync(details);
    for (const f of fs.readdirSync(DETAILS_DIR)) fs.copyFileSync(path.join(DETAILS_DIR, f), path.join(details, f));
    // In the field that the error message quotes: printing it recursed once per level.
    fs.writeFileSync(path.join(details, 'binance.json'), `{"id":${'['.repeat(100000)}${']'.repeat(100000)}}`);
    const srv = await startServer({ exchangeDetailsDir: details });
    t.after(() => srv.close());
    const out = path.join(dir, 'out');
    const args = ['instruments', '--from', '2024-01-01', '--exchanges', 'binance', '--output', out];
    const child = spawn(BIN, args, { cwd: dir, env: { PATH: process.env.PATH, TARDIS_API_URL: srv.url, RETRY_BASE_SECONDS: '0.02' } });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    const [code, signal] = await new Promise((resolve) => child.on('close', (c, s) => resolve([c, s])));
    const shown = `exit=${code} signal=${signal}\n${stderr}`;
    assert.equal(signal, null, shown);
    assert.equal(code, 1, shown);
    assert.ok(stderr.includes(`GET ${srv.url}/v1/exchanges/binance: the JSON answer nests arrays and objects deeper than 64 levels`), shown);
    assert.deepEqual(listFiles(out), [], 'nothing is written');
  });
});

describe('under an address-space limit (ulimit -v)', () => {
  const limited = (args, cwd, env = process.env) =>
    spawnSync('bash', ['-c', 'ulimit -v 400000 && exec "$0" "$@"', BIN, ...args], { cwd, env, encoding: 'utf8', timeout: 120_000 });

  it('convert exits 0 (it aborted with std::bad_alloc) and DuckDB reads every value back', async () => {
    const dir = mkTmp(ROOT_TMP, 'ulimit-convert');
    const out = path.join(dir, 'out');
    const args = ['convert', TRADES_FIXTURE, '--output', out, '--log-level', 'debug'];
    const r = limited(args, dir);
    const shown = `exit=${r.status} signal=${r.signal}\n${r.stderr}`;
    assert.equal(r.status, 0, shown);
    assert.match(r.stderr, /heap: cannot reserve 512 MiB of address space/, shown);
    const [file] = parseConvertStdout(r.stdout, dir);
    const exp = expectedTable(TRADES_FIXTURE, { key: 'BINANCE-FUTURES:PERPETUAL:BTC-USDT' });
    const d = await duckReadAll(file.path);
    assertRowsEqual(d.rows, exp.rows, exp.schema.map((c) => c.name), 'ulimit convert [DuckDB]');
  });

  it('with too little address space to load libcurl at all, the error says so instead of blaming the package', () => {
    const dir = mkTmp(ROOT_TMP, 'ulimit-tiny');
    const env = { PATH: process.env.PATH, TARDIS_API_URL: 'http://127.0.0.1:9', RETRY_BASE_SECONDS: '0.01' };
    const r = spawnSync('bash', ['-c', 'ulimit -v 20000 && exec "$0" "$@"', BIN, 'instruments', '--from', '2024-01-01',
      '--exchanges', 'deribit', '--format', 'table'], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
    const shown = `exit=${r.status} signal=${r.signal}\n${r.stderr}`;
    assert.equal(r.status, 1, shown);
    assert.match(r.stderr, /cannot load libcurl\.so\.4 \(.*\); there was no memory to load it: check the address-space limit \(ulimit -v\)/, shown);
    assert.doesNotMatch(r.stderr, /install the libcurl4 package/, shown);
  });

  it('download loads libcurl and converts (it blamed a missing libcurl package)', async (t) => {
    const dir = mkTmp(ROOT_TMP, 'ulimit-download');
    const srv = await startServer();
    t.after(() => srv.close());
    const out = path.join(dir, 'out');
    const args = ['download', '--from', '2020-02-22', '--exchanges', 'binance-futures', '--data-types', 'trades',
      '--symbols', 'BTCUSDT', '--output', out];
    const env = { PATH: process.env.PATH, TARDIS_DATASETS_URL: srv.url, TARDIS_API_KEY: 'k', RETRY_BASE_SECONDS: '0.02' };
    // spawnSync would block the in-process server: run bash asynchronously.
    const child = spawn('bash', ['-c', 'ulimit -v 400000 && exec "$0" "$@"', BIN, ...args], { cwd: dir, env });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    const [code, signal] = await new Promise((resolve) => child.on('close', (c, s) => resolve([c, s])));
    const shown = `exit=${code} signal=${signal}\n${stderr}`;
    assert.equal(code, 0, shown);
    assert.ok(!/libcurl/.test(stderr), shown);
    const files = listFiles(out).filter((f) => f.endsWith('.parquet'));
    assert.equal(files.length, 1, shown);
    const exp = expectedTable(TRADES_FIXTURE, { key: 'BINANCE-FUTURES:PERPETUAL:BTC-USDT' });
    const d = await duckReadAll(path.join(out, files[0]));
    assert.equal(d.rows.length, exp.rows.length, 'rows read back');
  });
});

/** Runs the binary without blocking the in-process server; resolves to { code, signal, stdout, stderr }. */
function runAsync(args, { cwd, env }) {
  const child = spawn(BIN, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  return new Promise((resolve) => child.on('close', (code, signal) => {
    clearTimeout(timer);
    resolve({ code, signal, stdout, stderr, shown: `market-tick ${args.join(' ')}\nexit=${code} signal=${signal}\nstdout: ${stdout}\nstderr: ${stderr}` });
  }));
}

const BITMEX_FIXTURE = path.join(FIXTURE_DIR, 'bitmex_trades_2020-03-01_XBTUSD.csv.gz');
const DERIBIT_L2_FIXTURE = path.join(FIXTURE_DIR, 'deribit_incremental_book_L2_2020-04-01_BTC-PERPETUAL.csv.gz');

/**
 * Generated data: the binance-futures BTCUSDT trades fixture with the symbol of the rows from
 * `fromRow` (0-based) on replaced by `symbol`; gzip bytes.
 */
function swapSymbolFrom(fromRow, symbol) {
  const lines = zlib.gunzipSync(fs.readFileSync(TRADES_FIXTURE)).toString('utf8').split('\n');
  for (let i = 1 + fromRow; i < lines.length; i++) lines[i] = lines[i].replace(',BTCUSDT,', `,${symbol},`);
  return zlib.gzipSync(Buffer.from(lines.join('\n')));
}

function parquetFiles(dir) {
  return listFiles(dir).filter((f) => f.endsWith('.parquet'));
}

describe("a one-instrument file holds only its item's rows (exchange and symbol)", () => {
  it('download: a file served for binance-futures BTCUSDT with ETHUSDT rows from line 5002, or BitMEX rows: exit 1 naming URL:line, nothing stored', async (t) => {
    const dir = mkTmp(ROOT_TMP, 'item-download');
    const data = path.join(dir, 'data');
    fs.mkdirSync(data);
    // Both served under binance-futures BTCUSDT names (they were stored as BINANCE-FUTURES:PERPETUAL:BTC-USDT, exit 0).
    fs.writeFileSync(path.join(data, 'binance-futures_trades_2020-02-22_BTCUSDT.csv.gz'), swapSymbolFrom(5000, 'ETHUSDT'));
    fs.copyFileSync(BITMEX_FIXTURE, path.join(data, 'binance-futures_trades_2020-03-01_BTCUSDT.csv.gz'));
    const srv = await startServer({ dataDirs: [data] });
    t.after(() => srv.close());
    const env = { PATH: process.env.PATH, TARDIS_DATASETS_URL: srv.url, TARDIS_API_URL: srv.url, TARDIS_API_KEY: 'k', RETRY_BASE_SECONDS: '0.02' };
    for (const [day, urlDay, line, ex, sym] of [
      ['2020-02-22', '2020/02/22', 5002, 'binance-futures', 'ETHUSDT'],
      ['2020-03-01', '2020/03/01', 2, 'bitmex', 'XBTUSD'],
    ]) {
      const out = path.join(dir, `out-${day}`);
      const r = await runAsync(['download', '--from', day, '--exchanges', 'binance-futures', '--data-types', 'trades',
        '--symbols', 'BTCUSDT', '--output', out], { cwd: dir, env });
      assert.equal(r.code, 1, r.shown);
      assert.ok(r.stderr.includes(`${srv.url}/v1/binance-futures/trades/${urlDay}/BTCUSDT.csv.gz:${line}: a row of exchange '${ex}', ` +
        `symbol '${sym}' in a file of exchange 'binance-futures', symbol 'BTCUSDT' (the work item); a file of one ` +
        "instrument holds only that instrument's rows, so nothing of this file was written"), r.shown);
      assert.match(r.stderr, /1 failed, 0 failed \(retryable\)/, r.shown);
      assert.deepEqual(parquetFiles(out), [], `nothing stored\n${r.shown}`);
      // A data error, not a transfer error: one request, no retry.
      assert.equal(srv.stats().requests.filter((q) => q.path.includes(urlDay)).length, 1, r.shown);
    }
  });

  it('download: a grouped file (deribit options_chain OPTIONS) with a row of another exchange fails whole, nothing stored', async (t) => {
    const dir = mkTmp(ROOT_TMP, 'item-grouped');
    const data = path.join(dir, 'data');
    fs.mkdirSync(data);
    // Generated: the real chain day plus a copy of its last row under exchange binance.
    const lines = zlib.gunzipSync(fs.readFileSync(path.join(FIXTURE_DIR, 'deribit_options_chain_2020-06-08_OPTIONS.csv.gz')))
      .toString('utf8').split('\n').filter((l) => l !== '');
    lines.push(lines.at(-1).replace(/^deribit,/, 'binance,'));
    fs.writeFileSync(path.join(data, 'deribit_options_chain_2020-06-08_OPTIONS.csv.gz'), zlib.gzipSync(Buffer.from(lines.join('\n') + '\n')));
    const srv = await startServer({ dataDirs: [data] });
    t.after(() => srv.close());
    const env = { PATH: process.env.PATH, TARDIS_DATASETS_URL: srv.url, TARDIS_API_URL: srv.url, TARDIS_API_KEY: 'k', RETRY_BASE_SECONDS: '0.02' };
    const out = path.join(dir, 'out');
    const r = await runAsync(['download', '--from', '2020-06-08', '--exchanges', 'deribit', '--data-types', 'options_chain',
      '--symbols', 'OPTIONS', '--output', out], { cwd: dir, env });
    assert.equal(r.code, 1, r.shown);
    assert.match(r.stderr, /a row of exchange 'binance' \(symbol 'BTC-9JUN20-9875-P'\) in a grouped file of exchange 'deribit'/, r.shown);
    assert.deepEqual(listFiles(out), [], `nothing stored, not even a completion record\n${r.shown}`);
  });

  it('convert: a BitMEX or a Deribit file named as binance-futures BTCUSDT: exit 1 naming file:line, nothing written', () => {
    const dir = mkTmp(ROOT_TMP, 'item-convert');
    for (const [src, name, ex, sym] of [
      [BITMEX_FIXTURE, 'binance-futures_trades_2020-03-01_BTCUSDT.csv.gz', 'bitmex', 'XBTUSD'],
      [DERIBIT_L2_FIXTURE, 'binance-futures_incremental_book_L2_2020-04-01_BTCUSDT.csv.gz', 'deribit', 'BTC-PERPETUAL'],
    ]) {
      const file = path.join(dir, name);
      fs.copyFileSync(src, file);
      const out = path.join(dir, `out-${ex}`);
      const args = ['convert', file, '--output', out];
      const r = run(args, { cwd: dir });
      assert.equal(r.code, 1, describeRun(args, r));
      assert.ok(r.stderr.includes(`${name}:2: a row of exchange '${ex}', symbol '${sym}' in a file of exchange 'binance-futures', ` +
        "symbol 'BTCUSDT' (the file name); a file of one instrument holds only that instrument's rows, so nothing of " +
        'this file was written (the file is mislabelled or damaged: check its name or its source)'), describeRun(args, r));
      assert.equal(r.stdout, '', 'no object is reported');
      assert.deepEqual(listFiles(out), [], 'nothing written');
    }
  });

  it('convert: a BTCUSDT file with ETHUSDT rows from line 9001 fails (it wrote an ETH-USDT object beside), the same file with --output FILE.parquet too', () => {
    const dir = mkTmp(ROOT_TMP, 'item-convert-mixed');
    const file = path.join(dir, 'binance-futures_trades_2020-02-22_BTCUSDT.csv.gz');
    fs.writeFileSync(file, swapSymbolFrom(8999, 'ETHUSDT'));
    for (const target of ['out', 'one.parquet']) {
      const args = ['convert', file, '--output', path.join(dir, target)];
      const r = run(args, { cwd: dir });
      assert.equal(r.code, 1, describeRun(args, r));
      assert.match(r.stderr, /BTCUSDT\.csv\.gz:9001: a row of exchange 'binance-futures', symbol 'ETHUSDT' in a file of exchange 'binance-futures', symbol 'BTCUSDT'/,
        describeRun(args, r));
      assert.ok(!fs.existsSync(path.join(dir, target)) || listFiles(path.join(dir, target)).length === 0, 'nothing written');
    }
  });

  it('convert: the name spells the symbol as the official clients do (case, separators): the rows are that instrument', async () => {
    const dir = mkTmp(ROOT_TMP, 'item-convert-spelling');
    const file = path.join(dir, 'binance-futures_trades_2020-02-22_btcusdt.csv.gz');
    fs.copyFileSync(TRADES_FIXTURE, file);
    const args = ['convert', file, '--output', path.join(dir, 'out')];
    const r = run(args, { cwd: dir });
    assert.equal(r.code, 0, describeRun(args, r));
    const [one] = parseConvertStdout(r.stdout, dir);
    assert.match(one.path, /BINANCE-FUTURES:PERPETUAL:BTC-USDT\.parquet$/);
    assert.equal((await duckReadAll(one.path)).rows.length, 9999);
  });

  it('convert: a grouped file named in lower case (..._options) is the grouped item: a row of another exchange fails it, a clean one gets its completion record', async () => {
    const dir = mkTmp(ROOT_TMP, 'item-convert-grouped-case');
    const header = 'exchange,symbol,timestamp,local_timestamp,id,side,price,amount';
    const rows = [0, 1, 2].map((i) => `deribit,BTC-9JUN20-9875-P,${1591574400000000 + i},${1591574400000100 + i},${i},buy,0.0205,1`);
    const coinbase = 'coinbase,BTC-USD,1591574400000009,1591574400000109,evil,buy,1,1';
    const store = path.join(dir, 'out');
    // A store holding coinbase's BTC-USD object of that day, which the stray row must not replace.
    const cb = path.join(dir, 'coinbase_trades_2020-06-08_BTC-USD.csv');
    fs.writeFileSync(cb, [header, 'coinbase,BTC-USD,1591574400000001,1591574400000101,a,buy,9700,1', 'coinbase,BTC-USD,1591574400000002,1591574400000102,b,sell,9701,2', ''].join('\n'));
    let r = run(['convert', cb, '--output', store], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const cbObject = path.join(store, 'raw_tick_data/by_date/day-2020-06-08/data_type-trades/COINBASE:SPOT_PAIR:BTC-USD.parquet');
    const before = fs.readFileSync(cbObject);
    const mixed = path.join(dir, 'mixed', 'deribit_trades_2020-06-08_options.csv');
    fs.mkdirSync(path.dirname(mixed));
    fs.writeFileSync(mixed, [header, ...rows, coinbase, ''].join('\n'));
    let args = ['convert', mixed, '--output', store];
    r = run(args, { cwd: dir });
    assert.equal(r.code, 1, describeRun(args, r));
    assert.ok(r.stderr.includes("options.csv:5: a row of exchange 'coinbase' (symbol 'BTC-USD') in a grouped file of exchange 'deribit'"),
      describeRun(args, r));
    assert.equal(r.stdout, '', 'no object is reported');
    assert.deepEqual(fs.readFileSync(cbObject), before, "coinbase's object is as it was");
    assert.deepEqual(listFiles(store), ['raw_tick_data/by_date/day-2020-06-08/data_type-trades/COINBASE:SPOT_PAIR:BTC-USD.parquet']);
    const clean = path.join(dir, 'deribit_trades_2020-06-08_options.csv');
    fs.writeFileSync(clean, [header, ...rows, ''].join('\n'));
    args = ['convert', clean, '--output', store];
    r = run(args, { cwd: dir });
    assert.equal(r.code, 0, describeRun(args, r));
    // As the upper-case name's: validate and download know the item complete by its record.
    const rec = path.join(store, 'raw_tick_data/by_date/day-2020-06-08/data_type-trades/_items/deribit/OPTIONS.json');
    assert.ok(fs.existsSync(rec), `completion record\n${listFiles(store).join('\n')}`);
    assert.deepEqual(JSON.parse(fs.readFileSync(rec, 'utf8')).objects.map((o) => [path.basename(o.name), o.rows]),
      [['DERIBIT:OPTION:BTC-USD-200609-9875-PUT.parquet', 3]]);
  });

  it('validate --deep: a file swapped under BTC-USDT (ETHUSDT rows, BitMEX rows) is corrupt, naming what its rows are', () => {
    const dir = mkTmp(ROOT_TMP, 'item-validate');
    const store = path.join(dir, 'store');
    const object = path.join(store, 'raw_tick_data/by_date/day-2020-02-22/data_type-trades/BINANCE-FUTURES:PERPETUAL:BTC-USDT.parquet');
    let r = run(['convert', TRADES_FIXTURE, '--output', store], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    // Generated ETHUSDT rows, and the real BitMEX file, each as one Parquet file (no key in its metadata).
    const eth = path.join(dir, 'binance-futures_trades_2020-02-22_ETHUSDT.csv.gz');
    fs.writeFileSync(eth, swapSymbolFrom(0, 'ETHUSDT'));
    r = run(['convert', eth, '--output', path.join(dir, 'eth.parquet')], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    r = run(['convert', BITMEX_FIXTURE, '--output', path.join(dir, 'bitmex.parquet')], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const args = ['validate', '--from', '2020-02-22', '--exchanges', 'binance-futures', '--data-types', 'trades',
      '--symbols', 'BTCUSDT', '--deep', '--output', store, '--report', path.join(dir, 'report.html')];
    r = run(args, { cwd: dir });
    assert.equal(r.code, 0, describeRun(args, r));
    fs.copyFileSync(path.join(dir, 'eth.parquet'), object);
    r = run(args, { cwd: dir });
    assert.equal(r.code, 1, describeRun(args, r));
    const reason = "rows of symbol 'ETHUSDT' (row group 0 statistics), not this item's (binance-futures BTCUSDT): the file holds another instrument's data";
    assert.ok(r.stdout.includes(`corrupt\t2020-02-22\ttrades\tBINANCE-FUTURES:PERPETUAL:BTC-USDT\t${reason}`), describeRun(args, r));
    assert.ok(fs.readFileSync(path.join(dir, 'report.html'), 'utf8').includes(reason.replaceAll("'", '&#39;')), 'the HTML report gives the reason');
    fs.copyFileSync(path.join(dir, 'bitmex.parquet'), object);
    r = run(args, { cwd: dir });
    assert.equal(r.code, 1, describeRun(args, r));
    assert.ok(r.stdout.includes("rows of exchange 'bitmex' (row group 0 statistics), not this item's (binance-futures BTCUSDT)"), describeRun(args, r));
  });
});

describe('text from a server or a file cannot forge log lines or send terminal escapes', () => {
  const FORGED = 'access denied\n[ERROR] forged line\r\x1b[2J\x1b]0;pwned\x07\u009b31m';

  it('an HTTP error body with a line break, ESC sequences and 5000 bytes: one escaped, capped line; --log-format json lines all parse', async (t) => {
    const dir = mkTmp(ROOT_TMP, 'error-body');
    const srv = await startServer({ faults: { errorBody: { status: 400, body: FORGED + ' ' + 'x'.repeat(5000) } } });
    t.after(() => srv.close());
    const env = { PATH: process.env.PATH, TARDIS_DATASETS_URL: srv.url, TARDIS_API_URL: srv.url, TARDIS_API_KEY: 'k', RETRY_BASE_SECONDS: '0.02' };
    const base = ['download', '--from', '2020-02-22', '--exchanges', 'binance-futures', '--data-types', 'trades', '--symbols', 'BTCUSDT'];
    const r = await runAsync([...base, '--output', path.join(dir, 'out')], { cwd: dir, env });
    assert.equal(r.code, 1, r.shown);
    for (const stream of [r.stderr, r.stdout]) {
      assert.ok(!/[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f]/.test(stream), `no raw control character\n${r.shown}`);
    }
    assert.ok(!r.stderr.split('\n').some((l) => l.startsWith('[ERROR]')), `no forged line\n${r.shown}`);
    const line = r.stderr.split('\n').find((l) => l.includes('HTTP 400'));
    assert.ok(line, r.shown);
    assert.ok(line.includes(String.raw`access denied\n[ERROR] forged line\r\x1b[2J\x1b]0;pwned\x07\u009b31m xxx`), line);
    const whole = Buffer.byteLength(FORGED + ' ' + 'x'.repeat(5000));
    assert.ok(line.endsWith(`x… (${whole} bytes in all)`), `capped, with the full length (${whole})\n${line}`);
    assert.ok(line.length < 700, `${line.length} bytes`);

    const j = await runAsync([...base, '--output', path.join(dir, 'out-json'), '--log-format', 'json'], { cwd: dir, env });
    assert.equal(j.code, 1, j.shown);
    const messages = j.stderr.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l).message); // throws on a line that is not JSON
    assert.ok(!/\x1b/.test(j.stderr), j.shown);
    assert.ok(messages.some((m) => m.includes(String.raw`access denied\n[ERROR] forged line\r\x1b[2J`)), j.shown);
  });

  it('symbols with a tab or an escape in a grouped file: the UNKEYED warnings quote them escaped', () => {
    // A log line keeps the tool's own tabs: what it quotes from a row is escaped where it is quoted.
    const dir = mkTmp(ROOT_TMP, 'control-grouped');
    const file = path.join(dir, 'deribit_trades_2023-11-01_OPTIONS.csv');
    const row = (sym, i) => `deribit,${sym},${1698796800000000 + i},${1698796800000100 + i},${i},buy,0.05,1`;
    fs.writeFileSync(file, [TRADES_HEADER, row('BTC-2NOV23-20000-C', 1), row('BTC-27DEC24-50\t0-C', 2),
      row('BTC-27DEC24-5\x1b[2J0-P', 3), ''].join('\n'));
    const args = ['convert', file, '--output', path.join(dir, 'out')];
    const r = run(args, { cwd: dir });
    assert.equal(r.code, 1, describeRun(args, r));
    assert.ok(!/[\x00-\x1f\x7f\u0080-\u009f]/.test(r.stderr.replaceAll('\n', '')), describeRun(args, r));
    assert.ok(r.stderr.includes(String.raw`rows of symbol 'BTC-27DEC24-50\t0-C' kept under a fallback name ` +
      String.raw`(no instrument key: cannot derive an instrument key for symbol 'BTC-27DEC24-50\t0-C' of exchange 'deribit'`), describeRun(args, r));
    assert.ok(r.stderr.includes(String.raw`symbol 'BTC-27DEC24-5\x1b[2J0-P'`), describeRun(args, r));
  });

  it('a symbol with control characters in a file: the error, the JSON log and the HTML report quote it escaped', () => {
    const dir = mkTmp(ROOT_TMP, 'control-symbol');
    const sym = 'BTC\x1b[2J\x1b[31mUSDT\x07\u009b';
    const rows = ['binance-futures,BTCUSDT,1582329600000000,1582329600100000,1,buy,9681.5,0.1',
      `binance-futures,${sym},1582329600000001,1582329600100001,2,sell,9681.5,0.2`];
    const file = path.join(dir, 'binance-futures_trades_2020-02-22_BTCUSDT.csv');
    fs.writeFileSync(file, [TRADES_HEADER, ...rows, ''].join('\n'));
    for (const format of ['text', 'json']) {
      const args = ['convert', file, '--output', path.join(dir, `out-${format}`), '--log-format', format];
      const r = run(args, { cwd: dir });
      assert.equal(r.code, 1, describeRun(args, r));
      assert.ok(!/[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f]/.test(r.stderr), describeRun(args, r));
      const text = format === 'json' ? r.stderr.split('\n').filter((l) => l).map((l) => JSON.parse(l).message).join('\n') : r.stderr;
      assert.ok(text.includes(String.raw`BTCUSDT.csv:3: a row of exchange 'binance-futures', symbol 'BTC\x1b[2J\x1b[31mUSDT\x07\u009b' in a file`), describeRun(args, r));
    }
    // The same rows in a file that names no instrument are stored (nothing to check them against);
    // swapped under BTC-USDT, validate --deep quotes the symbol escaped in its output and the report.
    const plain = path.join(dir, 'rows.csv');
    fs.writeFileSync(plain, [TRADES_HEADER, rows[1], ''].join('\n'));
    let r = run(['convert', plain, '--data-type', 'trades', '--output', path.join(dir, 'odd.parquet')], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    const store = path.join(dir, 'store');
    r = run(['convert', TRADES_FIXTURE, '--output', store], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    fs.copyFileSync(path.join(dir, 'odd.parquet'),
      path.join(store, 'raw_tick_data/by_date/day-2020-02-22/data_type-trades/BINANCE-FUTURES:PERPETUAL:BTC-USDT.parquet'));
    const report = path.join(dir, 'report.html');
    const args = ['validate', '--from', '2020-02-22', '--exchanges', 'binance-futures', '--data-types', 'trades',
      '--symbols', 'BTCUSDT', '--deep', '--output', store, '--report', report];
    r = run(args, { cwd: dir });
    assert.equal(r.code, 1, describeRun(args, r));
    const html = fs.readFileSync(report, 'utf8');
    for (const [label, text] of [['stdout', r.stdout], ['stderr', r.stderr], ['report', html]]) {
      assert.ok(!/[\x00-\x08\x0b-\x0c\x0e-\x1f\x7f\u0080-\u009f]/.test(text), `${label}: no raw control character\n${describeRun(args, r)}`);
    }
    const quoted = String.raw`rows of symbol 'BTC\x1b[2J\x1b[31mUSDT\x07\u009b'`;
    assert.ok(r.stdout.includes(quoted), describeRun(args, r));
    assert.ok(html.includes(quoted.replaceAll("'", '&#39;')), 'the report quotes it escaped');
  });
});
