// Bytes from a file or a server are untrusted (issue 22): text cells that are not UTF-8 or hold a
// NUL, a metadata answer nested 100,000 levels deep, and a process under an address-space limit.
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
    const exp = expectedTable(TRADES_FIXTURE);
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
    const exp = expectedTable(TRADES_FIXTURE);
    const d = await duckReadAll(path.join(out, files[0]));
    assert.equal(d.rows.length, exp.rows.length, 'rows read back');
  });
});
