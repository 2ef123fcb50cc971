// Tests for the fake Tardis server: real sockets on 127.0.0.1, real fixture bytes.
// Run: node --test tests/support/

import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { startServer, DEFAULT_DATA_DIR, DEFAULT_METADATA_DIR, guessSymbolType, parseDatasetFileName } from './tardis_server.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SERVER_SCRIPT = path.join(HERE, 'tardis_server.mjs');
const KEY = 'test-key-123';
const AUTH = { Authorization: `Bearer ${KEY}` };

// A free day (01) and a paid day, both real fixtures; the paid one is big enough (~137 KB) for
// range and mid-body faults to be meaningful.
const FREE_URL = '/v1/bitmex/trades/2020/03/01/XBTUSD.csv.gz';
const FREE_FILE = path.join(DEFAULT_DATA_DIR, 'bitmex_trades_2020-03-01_XBTUSD.csv.gz');
const PAID_URL = '/v1/binance-futures/trades/2020/02/22/BTCUSDT.csv.gz';
const PAID_FILE = path.join(DEFAULT_DATA_DIR, 'binance-futures_trades_2020-02-22_BTCUSDT.csv.gz');
const FREE_BYTES = fs.readFileSync(FREE_FILE);
const PAID_BYTES = fs.readFileSync(PAID_FILE);
const readJson = (name) => JSON.parse(fs.readFileSync(path.join(DEFAULT_METADATA_DIR, name), 'utf8'));

// node:http rather than fetch so a cut connection still reports the bytes that did arrive and the
// advertised Content-Length, and so nothing decodes the gzip body behind our back.
function get(url, { method = 'GET', headers = {}, timeoutMs = 5000, body } = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const chunks = [];
    let res = null;
    let settled = false;
    const finish = (error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({
        status: res?.statusCode ?? null,
        headers: res?.headers ?? {},
        body: Buffer.concat(chunks),
        complete: !!res?.complete && !error,
        error: error ?? null,
        elapsed: Date.now() - started,
      });
    };
    const req = http.request(url, { method, headers, agent: false }, (r) => {
      res = r;
      r.on('data', (c) => chunks.push(c));
      r.on('end', () => finish(r.complete ? null : new Error('incomplete')));
      r.on('error', (e) => finish(e));
      r.on('close', () => finish(r.complete ? null : new Error('closed before complete')));
    });
    // A client that gives up, as a download with an idle timeout would.
    const timer = setTimeout(() => {
      req.destroy();
      finish(new Error('client timeout'));
    }, timeoutMs);
    req.on('error', (e) => finish(e));
    req.end(body);
  });
}

let srv;
const u = (p) => srv.url + p;

before(async () => {
  srv = await startServer({ port: 0, dataDirs: [DEFAULT_DATA_DIR], apiKey: KEY });
});
after(async () => {
  await srv.close();
});
beforeEach(() => srv.reset());

// ---- datasets and auth

test('free day without a key serves the fixture bytes with download headers', async () => {
  const r = await get(u(FREE_URL));
  assert.equal(r.status, 200);
  assert.ok(r.body.equals(FREE_BYTES));
  assert.equal(r.headers['content-type'], 'application/octet-stream');
  assert.equal(Number(r.headers['content-length']), FREE_BYTES.length);
  assert.equal(r.headers['accept-ranges'], 'bytes');
  assert.match(r.headers.etag, /^"[0-9a-f]{40}"$/);
  assert.equal(r.headers['content-encoding'], undefined);
});

test('paid day: no key 401, wrong key 401, right key 200; empty Bearer counts as no key', async () => {
  for (const headers of [{}, { Authorization: 'Bearer ' }, { Authorization: 'Bearer nope' }]) {
    const r = await get(u(PAID_URL), { headers });
    assert.equal(r.status, 401);
    const body = JSON.parse(r.body);
    assert.equal(body.code, 401);
    assert.equal(typeof body.message, 'string');
  }
  const ok = await get(u(PAID_URL), { headers: AUTH });
  assert.equal(ok.status, 200);
  assert.ok(ok.body.equals(PAID_BYTES));
});

test('without a configured --api-key any non-empty key opens paid days', async () => {
  const open = await startServer({ port: 0 });
  try {
    assert.equal((await get(open.url + PAID_URL)).status, 401);
    assert.equal((await get(open.url + PAID_URL, { headers: { Authorization: 'Bearer anything' } })).status, 200);
    assert.equal((await get(open.url + FREE_URL)).status, 200);
  } finally {
    await open.close();
  }
});

test('unknown dataset is 404 JSON; retryAttempt query is ignored; percent-encoded symbol decodes', async () => {
  const missing = await get(u('/v1/bitmex/trades/2020/03/01/NOPE.csv.gz'));
  assert.equal(missing.status, 404);
  assert.equal(JSON.parse(missing.body).code, 404);
  const retry = await get(u(`${FREE_URL}?retryAttempt=3`));
  assert.equal(retry.status, 200);
  assert.ok(retry.body.equals(FREE_BYTES));
  const encoded = await get(u('/v1/bitmex/trades/2020/03/01/%58BTUSD.csv.gz'));
  assert.ok(encoded.body.equals(FREE_BYTES));
  // %2F must not let a symbol step out of the data dir.
  assert.equal((await get(u('/v1/bitmex/trades/2020/03/01/..%2F..%2Fx.csv.gz'))).status, 404);
});

test('HEAD gives the headers without a body', async () => {
  const r = await get(u(FREE_URL), { method: 'HEAD' });
  assert.equal(r.status, 200);
  assert.equal(Number(r.headers['content-length']), FREE_BYTES.length);
  assert.equal(r.body.length, 0);
});

// ---- Range

test('Range bytes=N-M and bytes=N- give 206 with an exact Content-Range', async () => {
  const total = PAID_BYTES.length;
  const mid = await get(u(PAID_URL), { headers: { ...AUTH, Range: 'bytes=100-199' } });
  assert.equal(mid.status, 206);
  assert.equal(mid.headers['content-range'], `bytes 100-199/${total}`);
  assert.equal(Number(mid.headers['content-length']), 100);
  assert.ok(mid.body.equals(PAID_BYTES.subarray(100, 200)));

  const tail = await get(u(PAID_URL), { headers: { ...AUTH, Range: 'bytes=1000-' } });
  assert.equal(tail.status, 206);
  assert.equal(tail.headers['content-range'], `bytes 1000-${total - 1}/${total}`);
  assert.ok(tail.body.equals(PAID_BYTES.subarray(1000)));

  const clamped = await get(u(PAID_URL), { headers: { ...AUTH, Range: `bytes=${total - 5}-${total + 100}` } });
  assert.equal(clamped.headers['content-range'], `bytes ${total - 5}-${total - 1}/${total}`);
  assert.equal(clamped.body.length, 5);
});

test('If-Range: matching ETag keeps the range, mismatch gives the full 200', async () => {
  const { headers } = await get(u(FREE_URL), { method: 'HEAD' });
  const match = await get(u(FREE_URL), { headers: { Range: 'bytes=10-', 'If-Range': headers.etag } });
  assert.equal(match.status, 206);
  assert.ok(match.body.equals(FREE_BYTES.subarray(10)));
  const stale = await get(u(FREE_URL), { headers: { Range: 'bytes=10-', 'If-Range': '"0000"' } });
  assert.equal(stale.status, 200);
  assert.equal(stale.headers['content-range'], undefined);
  assert.ok(stale.body.equals(FREE_BYTES));
});

test('unsatisfiable range is 416 with bytes */TOTAL; malformed range is ignored', async () => {
  const r = await get(u(FREE_URL), { headers: { Range: `bytes=${FREE_BYTES.length}-` } });
  assert.equal(r.status, 416);
  assert.equal(r.headers['content-range'], `bytes */${FREE_BYTES.length}`);
  const bad = await get(u(FREE_URL), { headers: { Range: 'bytes=oops' } });
  assert.equal(bad.status, 200);
  assert.ok(bad.body.equals(FREE_BYTES));
});

// ---- faults

test('status429 answers 429 with Retry-After for `count` requests, then normally', async () => {
  srv.setFaults({ status429: { retryAfter: 7, count: 1 } });
  const first = await get(u(FREE_URL));
  assert.equal(first.status, 429);
  assert.equal(first.headers['retry-after'], '7');
  assert.equal((await get(u(FREE_URL))).status, 200);
});

test('status5xx burst: 500 twice then 200; 503 carries Retry-After when asked', async () => {
  srv.setFaults({ status5xx: { code: 500, count: 2 } });
  assert.equal((await get(u(FREE_URL))).status, 500);
  assert.equal((await get(u(FREE_URL))).status, 500);
  assert.equal((await get(u(FREE_URL))).status, 200);
  srv.setFaults({ status5xx: { code: 503, retryAfter: 2, count: 1 } });
  const r = await get(u(FREE_URL));
  assert.equal(r.status, 503);
  assert.equal(r.headers['retry-after'], '2');
});

test('faults are scoped by path substring', async () => {
  srv.setFaults({ status5xx: { code: 500, path: 'binance-futures' } });
  assert.equal((await get(u(FREE_URL))).status, 200);
  assert.equal((await get(u(PAID_URL), { headers: AUTH })).status, 500);
});

test('dropMidBody: full Content-Length advertised, afterBytes delivered, then the connection dies', async () => {
  srv.setFaults({ dropMidBody: { afterBytes: 5000, count: 1 } });
  const r = await get(u(PAID_URL), { headers: AUTH });
  assert.equal(r.status, 200);
  assert.equal(Number(r.headers['content-length']), PAID_BYTES.length);
  assert.ok(r.error, 'client must see an error');
  assert.equal(r.complete, false);
  assert.equal(r.body.length, 5000);
  assert.ok(r.body.equals(PAID_BYTES.subarray(0, 5000)));
  const again = await get(u(PAID_URL), { headers: AUTH });
  assert.ok(again.complete && again.body.equals(PAID_BYTES));
});

test('dropMidBody is also seen as an error by fetch', async () => {
  srv.setFaults({ dropMidBody: { afterBytes: 100 } });
  const res = await fetch(u(PAID_URL), { headers: AUTH });
  await assert.rejects(res.arrayBuffer());
});

test('stall pauses after afterBytes for ms, then completes', async () => {
  srv.setFaults({ stall: { afterBytes: 1000, ms: 400 } });
  const r = await get(u(PAID_URL), { headers: AUTH });
  assert.ok(r.complete);
  assert.ok(r.body.equals(PAID_BYTES));
  assert.ok(r.elapsed >= 380, `elapsed ${r.elapsed}`);
});

test('stall with ms 0 hangs until the client gives up', async () => {
  srv.setFaults({ stall: { afterBytes: 1000, ms: 0 } });
  const r = await get(u(PAID_URL), { headers: AUTH, timeoutMs: 300 });
  assert.equal(r.status, 200);
  assert.equal(r.error.message, 'client timeout');
  assert.equal(r.body.length, 1000);
});

test('holdRequests holds a found dataset until release(), then serves it whole; other paths and 404s are not held', async () => {
  srv.setFaults({ holdRequests: { path: 'BTCUSDT' } });
  let answered = false;
  const held = get(u(PAID_URL), { headers: AUTH }).then((r) => { answered = true; return r; });
  await srv.waitHeld(1);
  assert.equal(srv.held(), 1);
  const free = await get(u(FREE_URL));
  assert.ok(free.body.equals(FREE_BYTES), 'another file is not held');
  const missing = await get(u('/v1/binance-futures/trades/2020/02/23/BTCUSDT.csv.gz'), { headers: AUTH });
  assert.equal(missing.status, 404, 'a 404 is answered at once');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(answered, false, 'still held');
  assert.equal(srv.release(), 1);
  const r = await held;
  assert.equal(r.status, 200);
  assert.ok(r.body.equals(PAID_BYTES));
  assert.equal(srv.held(), 0);
});

test('truncatedGzip: a complete-looking transfer of half the file that fails to gunzip', async () => {
  srv.setFaults({ truncatedGzip: true });
  const r = await get(u(PAID_URL), { headers: AUTH });
  const half = Math.floor(PAID_BYTES.length / 2);
  assert.equal(r.status, 200);
  assert.ok(r.complete);
  assert.equal(Number(r.headers['content-length']), half);
  assert.ok(r.body.equals(PAID_BYTES.subarray(0, half)));
  assert.throws(() => zlib.gunzipSync(r.body));
  assert.ok(zlib.gunzipSync(PAID_BYTES).length > 0, 'the intact fixture does gunzip');
});

test('echoHeaders answers 400 with the request headers, Authorization included, in its body', async () => {
  srv.setFaults({ echoHeaders: { path: '/binance-futures/' } });
  const r = await get(u(PAID_URL), { headers: { ...AUTH, 'X-Extra': 'seen' } });
  assert.equal(r.status, 400);
  const body = JSON.parse(r.body.toString());
  assert.equal(body.request.headers.authorization, `Bearer ${KEY}`);
  assert.equal(body.request.headers['x-extra'], 'seen');
  assert.equal((await get(u(FREE_URL))).status, 200, 'scoped by path');
});

test('errorBody answers its status with its body byte for byte, control characters included', async () => {
  const text = 'bad\n[ERROR] forged\x1b[2J\u009b';
  srv.setFaults({ errorBody: { status: 403, body: text, path: '/binance-futures/', count: 1 } });
  const r = await get(u(PAID_URL), { headers: AUTH });
  assert.equal(r.status, 403);
  assert.equal(r.body.toString('utf8'), text);
  assert.equal((await get(u(PAID_URL), { headers: AUTH })).status, 200, 'count 1');
  assert.throws(() => srv.setFaults({ errorBody: { body: 7 } }), /errorBody.body must be a string/);
});

test('overlongBody sends more bytes than the Content-Length it announces', async () => {
  srv.setFaults({ overlongBody: { extraBytes: 5000 } });
  // A raw socket: an HTTP client would stop at the Content-Length.
  const { port } = new URL(srv.url);
  const net = await import('node:net');
  const sock = net.connect(Number(port), '127.0.0.1');
  sock.write(`GET ${PAID_URL} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${KEY}\r\n\r\n`);
  const chunks = [];
  sock.on('data', (c) => chunks.push(c));
  await once(sock, 'close');
  const all = Buffer.concat(chunks);
  const split = all.indexOf('\r\n\r\n');
  const head = all.subarray(0, split).toString();
  assert.match(head, new RegExp(`content-length: ${PAID_BYTES.length}`, 'i'));
  const body = all.subarray(split + 4);
  assert.equal(body.length, PAID_BYTES.length + 5000);
  assert.ok(body.subarray(0, PAID_BYTES.length).equals(PAID_BYTES));
});

test('endlessBody streams a valid gzip of the file\'s rows again and again, until the client leaves', async () => {
  srv.setFaults({ endlessBody: true });
  const r = await get(u(PAID_URL), { headers: AUTH, timeoutMs: 500 });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-length'], undefined);
  assert.equal(r.error.message, 'client timeout');
  const text = zlib.gunzipSync(r.body, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString();
  const lines = zlib.gunzipSync(PAID_BYTES).toString().split('\n');
  assert.ok(text.startsWith(`${lines[0]}\n${lines[1]}\n`), 'header, then the first row');
  assert.ok(text.length > PAID_BYTES.length * 2, `more than the file: ${text.length} bytes of CSV in 500 ms`);
});

test('trickle sends the body slowly in small chunks', async () => {
  srv.setFaults({ trickle: { bytesPerChunk: 100, intervalMs: 30 } });
  const r = await get(u(FREE_URL)); // 378 bytes -> 4 chunks, 3 waits
  assert.ok(r.body.equals(FREE_BYTES));
  assert.ok(r.elapsed >= 85, `elapsed ${r.elapsed}`);
});

test('ignoreRange answers 200 with the full body', async () => {
  srv.setFaults({ ignoreRange: { count: 1 } });
  const r = await get(u(FREE_URL), { headers: { Range: 'bytes=10-' } });
  assert.equal(r.status, 200);
  assert.ok(r.body.equals(FREE_BYTES));
  assert.equal((await get(u(FREE_URL), { headers: { Range: 'bytes=10-' } })).status, 206);
});

test('emptyBody gives 0 bytes; emptyGzip gives a valid gzip of nothing', async () => {
  srv.setFaults({ emptyBody: { count: 1 } });
  const empty = await get(u(FREE_URL));
  assert.equal(empty.status, 200);
  assert.equal(empty.headers['content-length'], '0');
  assert.equal(empty.body.length, 0);

  srv.setFaults({ emptyGzip: true });
  const gz = await get(u(FREE_URL));
  assert.equal(gz.status, 200);
  assert.ok(gz.body.length > 0);
  assert.equal(zlib.gunzipSync(gz.body).length, 0);
});

test('corruptGzip: the whole body with one byte inverted, moved by step at each request', async () => {
  const differs = (body) => [...body.keys()].filter((i) => body[i] !== FREE_BYTES[i]);
  srv.setFaults({ corruptGzip: { step: 1 } });
  for (const at of [FREE_BYTES.length - 8, FREE_BYTES.length - 7]) {
    const r = await get(u(FREE_URL));
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-length'], String(FREE_BYTES.length));
    assert.deepEqual(differs(r.body), [at]);
    assert.equal(r.body[at], FREE_BYTES[at] ^ 0xff);
    assert.throws(() => zlib.gunzipSync(r.body));
  }
  srv.setFaults({ corruptGzip: { at: 100 } });
  for (let i = 0; i < 2; i++) assert.deepEqual(differs((await get(u(FREE_URL))).body), [100]);
});

test('invalid fault specs are rejected', () => {
  assert.throws(() => srv.setFaults({ status42: {} }), /unknown fault/);
  assert.throws(() => srv.setFaults({ stall: { afterbytes: 1 } }), /unknown key/);
  assert.throws(() => srv.setFaults({ status5xx: { code: 404 } }), /code/);
});

// ---- metadata

test('GET /v1/exchanges returns the exchanges list fixture', async () => {
  const r = await get(u('/v1/exchanges'));
  assert.equal(r.status, 200);
  assert.deepEqual(JSON.parse(r.body), readJson('exchanges_list_2025-09-17.json'));
});

test('GET /v1/exchanges/{id} is built from the list entry and the CSV files present', async () => {
  const r = await get(u('/v1/exchanges/deribit'));
  assert.equal(r.status, 200);
  const d = JSON.parse(r.body);
  assert.equal(d.id, 'deribit');
  assert.equal(d.name, 'Deribit');
  assert.equal(d.enabled, true);
  assert.equal(d.availableSince, '2019-03-30T00:00:00.000Z');
  assert.ok(d.availableChannels.includes('book'));
  assert.deepEqual(d.availableSymbols, []);
  assert.deepEqual(d.incidentReports, []);
  assert.deepEqual(d.datasets.formats, ['csv']);
  assert.equal(d.datasets.exportedFrom, '2020-04-01T00:00:00.000Z');
  assert.equal(d.datasets.exportedUntil, '2026-08-11T00:00:00.000Z');
  assert.deepEqual(d.datasets.symbols, [
    { id: 'BTC-PERPETUAL', type: 'perpetual', availableSince: '2020-04-01T00:00:00.000Z',
      availableTo: '2026-08-11T00:00:00.000Z', dataTypes: ['derivative_ticker', 'incremental_book_L2'] },
    { id: 'OPTIONS', type: 'option', availableSince: '2020-06-08T00:00:00.000Z',
      availableTo: '2020-06-09T00:00:00.000Z', dataTypes: ['options_chain'] },
  ]);

  const okx = JSON.parse((await get(u('/v1/exchanges/okex-futures'))).body);
  // Type from the real instrument record, not the PERP-in-the-name guess.
  assert.deepEqual(okx.datasets.symbols.map((s) => [s.id, s.type]), [['BTC-USD_UM_XPERP-310404', 'future']]);
  const bf = JSON.parse((await get(u('/v1/exchanges/binance-futures'))).body);
  assert.deepEqual(bf.datasets.symbols[0].dataTypes, ['book_snapshot_25', 'book_snapshot_5', 'quotes', 'trades']);
  assert.equal(bf.datasets.symbols[0].type, 'perpetual');

  // Listed but no files: empty export window.
  const kraken = JSON.parse((await get(u('/v1/exchanges/kraken'))).body);
  assert.deepEqual(kraken.datasets.symbols, []);
  assert.equal((await get(u('/v1/exchanges/no-such-venue'))).status, 404);
});

test('symbol type guesses and file-name parsing', () => {
  assert.equal(guessSymbolType('bitmex', 'XBTUSD'), 'perpetual');
  assert.equal(guessSymbolType('bitmex', 'XBTZ20'), 'future');
  assert.equal(guessSymbolType('deribit', 'BTC-9JUN20-9875-P'), 'option');
  assert.equal(guessSymbolType('deribit', 'BTC-25SEP20'), 'future');
  assert.equal(guessSymbolType('okex-swap', 'BTC-USDC-SWAP'), 'perpetual');
  assert.equal(guessSymbolType('huobi-dm-swap', 'BTC-USD'), 'perpetual');
  assert.equal(guessSymbolType('binance', 'BTCUSDT'), 'spot');
  assert.equal(guessSymbolType('deribit', 'SPOT'), 'spot');
  assert.deepEqual(parseDatasetFileName('okex-futures_derivative_ticker_2026-08-10_BTC-USD_UM_XPERP-310404.csv.gz'),
    { exchange: 'okex-futures', dataType: 'derivative_ticker', date: '2026-08-10', symbol: 'BTC-USD_UM_XPERP-310404' });
});

test('--exchange-details-dir overrides details completely; extra data dirs are searched', async () => {
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'tardis-server-'));
  const override = { id: 'deribit', custom: true };
  await fsp.writeFile(path.join(tmp, 'deribit.json'), JSON.stringify(override));
  const extraDir = path.join(tmp, 'data');
  await fsp.mkdir(extraDir);
  const extra = zlib.gzipSync('exchange,symbol,timestamp,local_timestamp\n');
  await fsp.writeFile(path.join(extraDir, 'kraken_trades_2024-01-02_XBT-USD.csv.gz'), extra);
  const s = await startServer({ port: 0, dataDirs: [DEFAULT_DATA_DIR, extraDir], exchangeDetailsDir: tmp });
  try {
    assert.deepEqual(JSON.parse((await get(s.url + '/v1/exchanges/deribit')).body), override);
    const kraken = JSON.parse((await get(s.url + '/v1/exchanges/kraken')).body);
    assert.deepEqual(kraken.datasets.symbols.map((x) => [x.id, x.type, x.dataTypes]), [['XBT-USD', 'spot', ['trades']]]);
    const file = await get(s.url + '/v1/kraken/trades/2024/01/02/XBT-USD.csv.gz', { headers: { Authorization: 'Bearer x' } });
    assert.ok(file.body.equals(extra));
    assert.ok((await get(s.url + FREE_URL)).body.equals(FREE_BYTES));
  } finally {
    await s.close();
    await fsp.rm(tmp, { recursive: true, force: true });
  }
});

test('instruments need the key when one is configured; list and single record', async () => {
  assert.equal((await get(u('/v1/instruments/deribit'))).status, 401);
  const list = JSON.parse((await get(u('/v1/instruments/deribit'), { headers: AUTH })).body);
  const expected = ['instrument_combo.json', 'instrument_future.json', 'instrument_option.json', 'instrument_spot.json']
    .map(readJson);
  const byId = (a, b) => a.id.localeCompare(b.id);
  assert.deepEqual([...list].sort(byId), [...expected].sort(byId));

  const one = await get(u('/v1/instruments/bitmex/XBTUSD'), { headers: AUTH });
  assert.deepEqual(JSON.parse(one.body), readJson('instrument_perpetual.json'));
  assert.equal((await get(u('/v1/instruments/bitmex/NOPE'), { headers: AUTH })).status, 404);

  const filter = encodeURIComponent(JSON.stringify({ type: ['option', 'future'] }));
  const filtered = JSON.parse((await get(u(`/v1/instruments/deribit?filter=${filter}`), { headers: AUTH })).body);
  assert.deepEqual(filtered.map((r) => r.id).sort(), ['BTC-14FEB25', 'BTC-25APR25-200000-P']);
  assert.equal((await get(u('/v1/instruments/deribit?filter=%7Bbad'), { headers: AUTH })).status, 400);
});

test('api-key-info returns the fixture with the right key, else 401', async () => {
  const ok = await get(u('/v1/api-key-info'), { headers: AUTH });
  assert.equal(ok.status, 200);
  assert.deepEqual(JSON.parse(ok.body), readJson('api-key-info_2026-01-09.json'));
  assert.equal((await get(u('/v1/api-key-info'))).status, 401);
  assert.equal((await get(u('/v1/api-key-info'), { headers: { Authorization: 'Bearer wrong' } })).status, 401);
});

// ---- control endpoints

test('/__control: set faults, read stats, reset', async () => {
  const set = await get(u('/__control/faults'), {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ status429: { retryAfter: 3, count: 1, path: 'XBTUSD' } }),
  });
  assert.equal(set.status, 200);
  assert.deepEqual(JSON.parse(set.body).status429, { retryAfter: 3, count: 1, path: 'XBTUSD', remaining: 1 });

  assert.equal((await get(u(FREE_URL))).status, 429);
  assert.equal((await get(u(`${FREE_URL}?retryAttempt=1`))).status, 200);
  assert.equal((await get(u(PAID_URL))).status, 401);

  const stats = JSON.parse((await get(u('/__control/stats'))).body);
  assert.equal(stats.total, 3);
  assert.deepEqual(stats.byPath, { [FREE_URL]: 2, [PAID_URL]: 1 });
  assert.deepEqual(stats.byStatus, { 200: 1, 401: 1, 429: 1 });
  assert.deepEqual(stats.byFault, { status429: 1 });
  assert.equal(stats.requests[1].query, '?retryAttempt=1');
  assert.equal(stats.requests[1].complete, true);
  assert.deepEqual(stats.requests[0].faults, ['status429']);

  const bad = await get(u('/__control/faults'), { method: 'POST', body: '{"nope":{}}' });
  assert.equal(bad.status, 400);

  assert.equal((await get(u('/__control/reset'), { method: 'POST' })).status, 200);
  const cleared = JSON.parse((await get(u('/__control/stats'))).body);
  assert.equal(cleared.total, 0);
  assert.deepEqual(JSON.parse((await get(u('/__control/faults'))).body), {});
});

// ---- CLI

test('CLI prints the listening line, writes --port-file and applies --faults', async () => {
  const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'tardis-cli-'));
  const portFile = path.join(tmp, 'port');
  const child = spawn(process.execPath, [SERVER_SCRIPT, '--port', '0', '--data-dir', DEFAULT_DATA_DIR,
    '--api-key', KEY, '--port-file', portFile, '--faults', JSON.stringify({ status5xx: { code: 503, count: 1 } })],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let out = '';
    child.stdout.setEncoding('utf8');
    while (!out.includes('\n')) {
      const [chunk] = await once(child.stdout, 'data');
      out += chunk;
    }
    const m = /^listening http:\/\/127\.0\.0\.1:(\d+)\n$/.exec(out);
    assert.ok(m, `stdout was ${JSON.stringify(out)}`);
    assert.equal((await fsp.readFile(portFile, 'utf8')).trim(), m[1]);
    const base = `http://127.0.0.1:${m[1]}`;
    assert.equal((await get(base + PAID_URL, { headers: AUTH })).status, 503);
    assert.ok((await get(base + PAID_URL, { headers: AUTH })).body.equals(PAID_BYTES));
  } finally {
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    assert.equal(code, 0);
    await fsp.rm(tmp, { recursive: true, force: true });
  }
});
