#!/usr/bin/env node
// Fake Tardis.dev server for tests: serves the datasets API (gzip CSV files by URL) and the
// metadata API (exchanges, exchange details, instruments, api-key-info) on 127.0.0.1, with
// switchable faults so clients can be tested against the failures the real service shows.
// Node 20, node: built-ins only, so the C++ tests can start it without installing anything.
//
// CLI:  node tests/support/tardis_server.mjs --port 0 --data-dir DIR [--data-dir DIR ...]
//         [--metadata-dir DIR ...] [--exchange-details-dir DIR] [--api-key KEY]
//         [--port-file FILE] [--faults JSON] [--verbose]
// In process:  const srv = await startServer({dataDirs: [...], apiKey: 'k'});
//
// Authentication: `Authorization: Bearer KEY`; "Bearer " with nothing after it
// (what the Node client sends when it has no key) counts as no key.
//  - Datasets: day 01 of any month is free, with or without a key (even a wrong one). Other days
//    need a valid key, else 401. A valid key is the configured --api-key; when no --api-key is
//    configured any non-empty key is valid, so tests that only care about the "has a key" path
//    need no shared secret.
//  - /v1/instruments: needs a valid key only when --api-key is configured (the docs say a key is
//    required, yet both official clients' live tests call it without one).
//  - /v1/api-key-info: needs a valid key (same "valid" rule as datasets).
//  - /v1/exchanges[/{id}]: open.
//  Auth is checked before existence, so a paid day without a key is 401 even if no file exists.
//
// Faults (schema at FAULT_SPECS) are set by --faults JSON, setFaults(obj) or
// POST /__control/faults; each call replaces the whole set. Order of evaluation per request:
//   0. noHead (a HEAD answered 405).
//   1. status429, then echoHeaders, errorBody, then status5xx: answered before routing and auth, like a
//      front end would.
//   2. route, auth, 404/401/416 (error responses never get body faults).
//   3. 2xx bodies: emptyBody, emptyGzip, truncatedGzip, corruptGzip replace the body (first that applies wins;
//      they answer 200 and ignore Range); then, for datasets, endlessBody and overlongBody;
//      ignoreRange only fires when a Range would have been honoured; then dropMidBody, stall and
//      trickle shape the byte stream and compose. pairRequests and holdRequests hold a found
//      dataset before all of these.
// A fault's `count` is only used up when it actually changes a response. Body faults apply to
// metadata JSON too; scope them with `path` when that is not wanted.
// /__control/* requests are never faulted and never counted in stats.

import http from 'node:http';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import zlib from 'node:zlib';
import { once } from 'node:events';
import { setTimeout as sleepTimer } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const FIXTURES = path.resolve(HERE, '../../fixtures/tardis');
export const DEFAULT_DATA_DIR = path.join(FIXTURES, 'csv');
export const DEFAULT_METADATA_DIR = path.join(FIXTURES, 'json');

const HOST = '127.0.0.1';
const DAY_MS = 86_400_000;
const MAX_LOGGED_REQUESTS = 1000; // keeps a long-running bench server from growing without bound
const EMPTY_GZIP = zlib.gzipSync(Buffer.alloc(0)); // what Tardis returns for a day with no data

// ------------------------------------------------------------------------------------------------
// Faults

// Each fault: an object of its own parameters plus the common scope keys
//   path  : substring that the raw request URL (path + query) or its percent-decoded form must
//           contain; default "" = every request
//   count : apply to the first N matching requests, then behave normally; default unlimited
// `true` is shorthand for `{}`; `false`/null disables the fault.
const FAULT_SPECS = {
  status429: { retryAfter: 1 }, // Retry-After: integer seconds or a string (e.g. an HTTP date)
  status5xx: { code: 500, retryAfter: undefined }, // code 500..599; Retry-After only if given
  dropMidBody: { afterBytes: undefined }, // default afterBytes: half of the body
  stall: { afterBytes: undefined, ms: 0 }, // default afterBytes: half; ms 0 = until the client leaves
  truncatedGzip: {}, // first floor(size/2) bytes, Content-Length matching them
  // The whole body with the byte at offset `at` inverted (a negative `at` counts from the end;
  // default -8, the gzip trailer's CRC32, so the decoder finds it only at the end of the file),
  // moved `step` bytes further at each request it damages (0: the same damaged bytes every
  // time, a damaged source file; else a copy damaged on the way, differently each time).
  // The request log's `damagedAt` says where.
  corruptGzip: { at: -8, step: 0 },
  trickle: { bytesPerChunk: 1024, intervalMs: 50 },
  ignoreRange: {},
  emptyBody: {},
  emptyGzip: {},
  // A broken or hostile server (issue 16 §7). echoHeaders answers `status` with every request
  // header, Authorization included, in its JSON body, as some proxies do (before routing and
  // auth, like the status faults). overlongBody sends `extraBytes` more than the Content-Length
  // it announced on a dataset. endlessBody sends a dataset as a chunked body that never ends: the
  // file's CSV header, then its rows again and again, gzip-compressed as they go.
  echoHeaders: { status: 400 },
  // errorBody answers `status` with `body` as it is (text/plain): a server's or proxy's own error
  // text, which may hold line breaks and terminal escapes (issue 22 §7). Before routing and auth.
  // A status of 200 serves `body` as a whole answer of the wrong content (valid JSON of another shape).
  errorBody: { status: 400, body: '' },
  overlongBody: { extraBytes: 65536 },
  endlessBody: {},
  // Concurrent clients, made deterministic: a dataset request is held until a second request for
  // the same file arrives (then both go on together), or `waitMs` passes (a lone request is
  // answered late, never held forever). Two processes downloading the same items thus both
  // download every file at once, whatever the scheduler does.
  pairRequests: { waitMs: 10000 },
  // One client held at a chosen point: a found dataset request waits (before its status line)
  // until the test calls release() (or POST /__control/release), so another client can be run
  // while this one has asked but not yet read its file. held() counts the requests waiting;
  // waitHeld(n) resolves once n are. close() and reset() release them.
  holdRequests: {},
  // A server without HEAD support (some CDNs and proxies): HEAD is answered 405 with
  // `Allow: GET`, before everything else; GET is unaffected.
  noHead: {},
};

function checkNumber(name, key, v, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}) {
  if (v === undefined) return;
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new TypeError(`fault ${name}.${key} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}`);
  }
}

// Validates eagerly so a typo in a test's fault JSON fails loudly instead of silently not firing.
export function normalizeFaults(input) {
  if (input == null) return {};
  if (typeof input !== 'object' || Array.isArray(input)) {
    throw new TypeError('faults must be a JSON object keyed by fault name');
  }
  const out = {};
  for (const [name, raw] of Object.entries(input)) {
    const defaults = FAULT_SPECS[name];
    if (!defaults) throw new TypeError(`unknown fault "${name}" (known: ${Object.keys(FAULT_SPECS).join(', ')})`);
    if (raw === false || raw == null) continue;
    if (raw !== true && (typeof raw !== 'object' || Array.isArray(raw))) {
      throw new TypeError(`fault ${name} must be an object or true`);
    }
    const spec = { ...defaults, ...(raw === true ? {} : raw) };
    for (const key of Object.keys(spec)) {
      if (!(key in defaults) && key !== 'path' && key !== 'count') {
        throw new TypeError(`fault ${name} has unknown key "${key}"`);
      }
    }
    if (spec.path !== undefined && typeof spec.path !== 'string') throw new TypeError(`fault ${name}.path must be a string`);
    checkNumber(name, 'count', spec.count);
    checkNumber(name, 'afterBytes', spec.afterBytes);
    checkNumber(name, 'ms', spec.ms);
    checkNumber(name, 'bytesPerChunk', spec.bytesPerChunk, { min: 1 });
    checkNumber(name, 'intervalMs', spec.intervalMs);
    if (name === 'status5xx') checkNumber(name, 'code', spec.code, { min: 500, max: 599 });
    if (name === 'echoHeaders') checkNumber(name, 'status', spec.status, { min: 400, max: 599 });
    if (name === 'errorBody') checkNumber(name, 'status', spec.status, { min: 200, max: 599 });
    if (name === 'errorBody' && typeof spec.body !== 'string') throw new TypeError('fault errorBody.body must be a string');
    checkNumber(name, 'extraBytes', spec.extraBytes, { min: 1 });
    checkNumber(name, 'waitMs', spec.waitMs);
    if (name === 'corruptGzip') {
      checkNumber(name, 'at', spec.at, { min: -Number.MAX_SAFE_INTEGER });
      checkNumber(name, 'step', spec.step, { min: -Number.MAX_SAFE_INTEGER });
    }
    const ra = spec.retryAfter;
    if (ra !== undefined && typeof ra !== 'string' && !(Number.isInteger(ra) && ra >= 0)) {
      throw new TypeError(`fault ${name}.retryAfter must be a non-negative integer or a string`);
    }
    out[name] = { ...spec, path: spec.path ?? '', remaining: spec.count ?? Infinity };
    if (name === 'corruptGzip') out[name].damaged = 0; // requests damaged so far: the next is moved by step * damaged
  }
  return out;
}

function faultsForDisplay(faults) {
  const out = {};
  for (const [name, spec] of Object.entries(faults)) {
    out[name] = { ...spec, remaining: Number.isFinite(spec.remaining) ? spec.remaining : null };
  }
  return out;
}

// ------------------------------------------------------------------------------------------------
// Small helpers

function safeDecode(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

function isoDay(ymd) {
  return `${ymd}T00:00:00.000Z`;
}

function nextIsoDay(ymd) {
  return new Date(Date.parse(isoDay(ymd)) + DAY_MS).toISOString();
}

// Waits ms, or until the client goes away; ms 0 means "until the client goes away".
function pause(ms, signal) {
  if (ms > 0) return sleepTimer(ms, undefined, { signal });
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

async function readJsonFile(file) {
  return JSON.parse(await fsp.readFile(file, 'utf8'));
}

async function listDir(dir) {
  try {
    return (await fsp.readdir(dir)).sort();
  } catch {
    return [];
  }
}

// Dataset file names as the official clients write them. The date is the only
// fixed anchor: data types (book_snapshot_25) and symbols (BTC-USD_UM_XPERP-310404) both may
// contain underscores, exchange ids never do.
const DATASET_NAME = /^([a-z0-9-]+)_(.+?)_(\d{4}-\d{2}-\d{2})_(.+)\.csv\.gz$/;

export function parseDatasetFileName(name) {
  const m = DATASET_NAME.exec(name);
  return m ? { exchange: m[1], dataType: m[2], date: m[3], symbol: m[4] } : null;
}

// Grouped symbols (OPTIONS, FUTURES, ...) carry their kind in the name.
const GROUPED_TYPES = { SPOT: 'spot', FUTURES: 'future', PERPETUALS: 'perpetual', OPTIONS: 'option', COMBOS: 'combo' };
const PERPETUAL_EXCHANGES = new Set([
  'bitmex', 'binance-futures', 'huobi-dm-swap', 'huobi-dm-linear-swap', 'okex-swap', 'bybit',
  'bitfinex-derivatives', 'phemex', 'kucoin-futures', 'gate-io-futures', 'bitget-futures',
  'hyperliquid', 'dydx', 'dydx-v4', 'coinbase-international', 'woo-x',
]);
const FUTURE_EXCHANGES = new Set(['okex-futures', 'huobi-dm', 'binance-delivery', 'cryptofacilities']);

// Best-effort guess for listings built from file names; real metadata wins when present.
export function guessSymbolType(exchange, symbol, instrumentType) {
  if (GROUPED_TYPES[symbol]) return GROUPED_TYPES[symbol];
  if (instrumentType) return instrumentType;
  const s = symbol.toUpperCase();
  if (/-\d+(\.\d+)?-[CP]$/.test(s) || exchange.endsWith('-options')) return 'option';
  // Expiry suffixes: 200925 (OKX, Binance delivery, also OKX XPERP), 25SEP20 (Deribit), Z20 (BitMEX)
  if (/[-_]\d{6}$/.test(s) || /-\d{1,2}[A-Z]{3}\d{2}$/.test(s)) return 'future';
  if (exchange === 'bitmex' && /^[A-Z]{3,6}[FGHJKMNQUVXZ]\d{2}$/.test(s)) return 'future';
  if (/PERP|SWAP/.test(s) || PERPETUAL_EXCHANGES.has(exchange)) return 'perpetual';
  if (FUTURE_EXCHANGES.has(exchange)) return 'future';
  return 'spot';
}

// ------------------------------------------------------------------------------------------------
// Server

export async function startServer(opts = {}) {
  const cfg = {
    port: opts.port ?? 0,
    dataDirs: (opts.dataDirs?.length ? opts.dataDirs : [DEFAULT_DATA_DIR]).map((d) => path.resolve(d)),
    metadataDirs: (opts.metadataDirs?.length ? opts.metadataDirs : [DEFAULT_METADATA_DIR]).map((d) => path.resolve(d)),
    exchangeDetailsDir: opts.exchangeDetailsDir ? path.resolve(opts.exchangeDetailsDir) : null,
    apiKey: opts.apiKey || null,
    verbose: !!opts.verbose,
    portFile: opts.portFile || null,
  };
  let faults = normalizeFaults(opts.faults);
  let stats = emptyStats();
  const etagCache = new Map(); // "path|size|mtime" -> etag; big bench files are hashed once

  function emptyStats() {
    return { total: 0, byPath: {}, byStatus: {}, byFault: {}, requests: [] };
  }

  // ---- auth

  function readAuth(req) {
    const h = req.headers.authorization;
    if (h === undefined) return { state: 'none' };
    const m = /^Bearer(?:\s+(.*))?$/i.exec(h.trim());
    if (!m) return { state: 'invalid' };
    const key = (m[1] ?? '').trim();
    if (!key) return { state: 'none' };
    const valid = cfg.apiKey ? key === cfg.apiKey : true;
    return { state: valid ? 'valid' : 'invalid' };
  }

  // ---- fault selection

  function takeFault(ctx, name) {
    const spec = faults[name];
    if (!spec || spec.remaining <= 0) return null;
    if (spec.path && !ctx.req.url.includes(spec.path) && !(ctx.decodedUrl ?? '').includes(spec.path)) return null;
    spec.remaining -= 1;
    ctx.entry.faults.push(name);
    stats.byFault[name] = (stats.byFault[name] ?? 0) + 1;
    return spec;
  }

  // ---- response writing

  function writeHead(ctx, status, headers) {
    ctx.entry.status = status;
    stats.byStatus[status] = (stats.byStatus[status] ?? 0) + 1;
    ctx.res.writeHead(status, headers);
  }

  // `complete` means every advertised byte was written. It is set synchronously with the last
  // write, because a client holding Content-Length bytes may move on (and read stats) before the
  // file stream ends or the socket reports 'finish'.
  function endResponse(ctx, body) {
    ctx.entry.complete = true;
    ctx.res.end(body);
  }

  function sendJsonError(ctx, status, message, extraHeaders = {}) {
    const body = Buffer.from(JSON.stringify({ code: status, message }));
    writeHead(ctx, status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': body.length,
      ...extraHeaders,
    });
    endResponse(ctx, ctx.req.method === 'HEAD' ? undefined : body);
  }

  // Sends a 2xx body from `source` (async iterable of Buffers) of exactly `length` bytes,
  // applying the streaming faults, which compose: trickle paces every chunk, stall pauses once,
  // dropMidBody cuts the connection.
  async function sendBody(ctx, status, headers, source, length) {
    const { req, res } = ctx;
    writeHead(ctx, status, { ...headers, 'Content-Length': length });
    if (req.method === 'HEAD') {
      source.destroy?.(); // a file stream opens its fd at creation; close it unread
      return endResponse(ctx);
    }
    const plan = {};
    const half = Math.floor(length / 2);
    const drop = takeFault(ctx, 'dropMidBody');
    if (drop) plan.dropAt = Math.min(drop.afterBytes ?? half, length);
    const stall = takeFault(ctx, 'stall');
    if (stall) plan.stall = { at: Math.min(stall.afterBytes ?? half, length), ms: stall.ms, done: false };
    const trickle = takeFault(ctx, 'trickle');
    if (trickle) plan.trickle = trickle;
    // Headers must reach the client even when a fault fires before the first body byte.
    res.flushHeaders();
    const signal = ctx.abort.signal;
    let sent = 0;
    const stallIfDue = async () => {
      if (plan.stall && !plan.stall.done && sent >= plan.stall.at) {
        plan.stall.done = true;
        await pause(plan.stall.ms, signal);
      }
    };
    try {
      for await (const chunk of source) {
        let off = 0;
        while (off < chunk.length) {
          if (plan.dropAt !== undefined && sent >= plan.dropAt) return dropConnection(res);
          await stallIfDue();
          let n = chunk.length - off;
          if (plan.trickle) n = Math.min(n, plan.trickle.bytesPerChunk);
          if (plan.dropAt !== undefined) n = Math.min(n, plan.dropAt - sent);
          if (plan.stall && !plan.stall.done) n = Math.min(n, plan.stall.at - sent);
          if (plan.trickle && sent > 0) await sleepTimer(plan.trickle.intervalMs, undefined, { signal });
          if (res.destroyed) return;
          const piece = chunk.subarray(off, off + n);
          off += n;
          sent += n;
          ctx.entry.bytesSent = sent;
          if (sent === length) ctx.entry.complete = true;
          if (!res.write(piece)) await once(res, 'drain', { signal });
        }
      }
      if (plan.dropAt !== undefined) return dropConnection(res);
      await stallIfDue();
      endResponse(ctx);
    } catch (err) {
      // Client went away (abort) or the file vanished mid-read: nothing useful left to send.
      if (!signal.aborted && cfg.verbose) process.stderr.write(`tardis_server: body error: ${err.message}\n`);
      res.destroy();
    }
  }

  // end() before destroy() so the bytes already written are flushed, not discarded with the
  // socket: the client must see exactly afterBytes and then a connection that closed early.
  function dropConnection(res) {
    const socket = res.socket;
    if (!socket) return;
    socket.end(() => socket.destroy());
  }

  function sendJson(ctx, value) {
    const body = Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value));
    return sendPayload(ctx, { 'Content-Type': 'application/json; charset=utf-8' }, body);
  }

  // Body-replacing faults. `prefix(n)` yields the first n bytes of the real body, so files are
  // not read into memory. Returns null when none applies.
  function sendReplacedBody(ctx, headers, length, prefix) {
    if (takeFault(ctx, 'emptyBody')) return sendBody(ctx, 200, headers, [], 0);
    if (takeFault(ctx, 'emptyGzip')) return sendBody(ctx, 200, headers, [EMPTY_GZIP], EMPTY_GZIP.length);
    if (takeFault(ctx, 'truncatedGzip')) {
      const cut = Math.floor(length / 2);
      return sendBody(ctx, 200, headers, prefix(cut), cut);
    }
    const corrupt = length > 0 ? takeFault(ctx, 'corruptGzip') : null;
    if (corrupt) {
      const first = corrupt.at < 0 ? length + corrupt.at : corrupt.at;
      const at = Math.min(Math.max(first + corrupt.step * corrupt.damaged++, 0), length - 1);
      ctx.entry.damagedAt = at;
      const whole = prefix(length);
      const body = invertByte(whole, at);
      body.destroy = () => whole.destroy?.(); // a HEAD closes the file unread
      return sendBody(ctx, 200, headers, body, length);
    }
    return null;
  }

  // The chunks of `source` with the byte at offset `at` inverted (copies: a chunk may be shared).
  async function* invertByte(source, at) {
    let pos = 0;
    for await (const chunk of source) {
      if (at >= pos && at < pos + chunk.length) {
        const copy = Buffer.from(chunk);
        copy[at - pos] ^= 0xff;
        yield copy;
      } else {
        yield chunk;
      }
      pos += chunk.length;
    }
  }

  function sendPayload(ctx, headers, body) {
    return sendReplacedBody(ctx, headers, body.length, (n) => [body.subarray(0, n)])
      ?? sendBody(ctx, 200, headers, [body], body.length);
  }

  // ---- datasets

  async function etagFor(file, st) {
    const key = `${file}|${st.size}|${st.mtimeMs}`;
    let etag = etagCache.get(key);
    if (!etag) {
      const hash = crypto.createHash('sha1');
      for await (const chunk of fs.createReadStream(file)) hash.update(chunk);
      etag = `"${hash.digest('hex')}"`;
      etagCache.set(key, etag);
    }
    return etag;
  }

  async function findDataset(name) {
    // Names come from the URL: refuse anything that could step out of the data dirs.
    if (/[/\\\0]/.test(name)) return null;
    for (const dir of cfg.dataDirs) {
      const file = path.join(dir, name);
      try {
        const st = await fsp.stat(file);
        if (st.isFile()) return { file, st };
      } catch {
        // not in this dir; try the next
      }
    }
    return null;
  }

  // RFC 9110 §14.2: a syntactically invalid or multi-range header is ignored (full 200); a valid
  // single range that starts past the end is unsatisfiable (416).
  function parseRange(header, size) {
    const m = /^bytes=(\d*)-(\d*)$/.exec((header ?? '').trim());
    if (!m || (m[1] === '' && m[2] === '')) return null;
    if (m[1] === '') {
      const suffix = Number(m[2]);
      if (suffix === 0 || size === 0) return { unsatisfiable: true };
      return { start: Math.max(0, size - suffix), end: size - 1 };
    }
    const start = Number(m[1]);
    const end = m[2] === '' ? Infinity : Number(m[2]);
    if (end < start) return null;
    if (start >= size) return { unsatisfiable: true };
    return { start, end: Math.min(end, size - 1) };
  }

  // pairRequests: the first request for `file` waits for the second (or the timeout); the second
  // releases it and goes on at once.
  const pairing = new Map(); // file -> release function of the waiting request
  function pairWith(file, waitMs) {
    const waiting = pairing.get(file);
    if (waiting) {
      pairing.delete(file);
      waiting();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (pairing.get(file) === release) pairing.delete(file);
        resolve();
      }, waitMs);
      const release = () => { clearTimeout(timer); resolve(); };
      pairing.set(file, release);
    });
  }

  // holdRequests: waiting requests, released together by release().
  let heldReleases = [];
  let heldWaiters = [];
  function holdUntilReleased() {
    const p = new Promise((resolve) => heldReleases.push(resolve));
    for (const w of heldWaiters.filter((x) => heldReleases.length >= x.n)) w.resolve();
    heldWaiters = heldWaiters.filter((x) => heldReleases.length < x.n);
    return p;
  }
  function releaseHeld() {
    const n = heldReleases.length;
    for (const r of heldReleases) r();
    heldReleases = [];
    return n;
  }

  async function serveDataset(ctx, { exchange, dataType, year, month, day, symbol }) {
    if (day !== '01' && ctx.auth.state !== 'valid') {
      return sendJsonError(ctx, 401, ctx.auth.state === 'none'
        ? 'API key required: only the first day of each month is available without an API key'
        : 'Invalid API key or no access to this data');
    }
    const name = `${exchange}_${dataType}_${year}-${month}-${day}_${symbol}.csv.gz`;
    const found = await findDataset(name);
    if (!found) return sendJsonError(ctx, 404, `no dataset ${exchange}/${dataType}/${year}/${month}/${day}/${symbol}`);
    const { file, st } = found;
    const size = st.size;
    const etag = await etagFor(file, st);
    const lastModified = st.mtime.toUTCString();
    const headers = {
      'Content-Type': 'application/octet-stream',
      ETag: etag,
      'Last-Modified': lastModified,
      'Accept-Ranges': 'bytes',
    };
    const { req } = ctx;
    const pair = takeFault(ctx, 'pairRequests');
    if (pair) await pairWith(name, pair.waitMs);
    if (takeFault(ctx, 'holdRequests')) await holdUntilReleased();

    const replaced = sendReplacedBody(ctx, headers, size,
      (n) => (n ? fs.createReadStream(file, { start: 0, end: n - 1 }) : []));
    if (replaced) return replaced;
    if (takeFault(ctx, 'endlessBody')) return sendEndless(ctx, headers, file);
    const overlong = takeFault(ctx, 'overlongBody');
    if (overlong) return sendOverlong(ctx, headers, file, size, overlong.extraBytes);

    let range = parseRange(req.headers.range, size);
    const ifRange = req.headers['if-range'];
    // If-Range (RFC 9110 §13.1.5): only a still-current validator keeps the range; otherwise the
    // client gets the whole new representation.
    if (range && ifRange !== undefined && ifRange !== etag && ifRange !== lastModified) range = null;
    if (range && takeFault(ctx, 'ignoreRange')) range = null;

    if (range?.unsatisfiable) {
      return sendJsonError(ctx, 416, `range not satisfiable for ${size} bytes`, { 'Content-Range': `bytes */${size}` });
    }
    if (range) {
      const { start, end } = range;
      return sendBody(ctx, 206, { ...headers, 'Content-Range': `bytes ${start}-${end}/${size}` },
        fs.createReadStream(file, { start, end }), end - start + 1);
    }
    return sendBody(ctx, 200, headers, size ? fs.createReadStream(file) : [], size);
  }

  // Hostile bodies (faults endlessBody, overlongBody): written straight to the socket, since
  // Node's own framing would refuse both.
  async function sendEndless(ctx, headers, file) {
    const { res } = ctx;
    const lines = zlib.gunzipSync(await fsp.readFile(file)).toString('utf8').split('\n').filter((l) => l);
    const rows = Buffer.from(lines.slice(1).join('\n') + '\n');
    writeHead(ctx, 200, { ...headers, 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const gz = zlib.createGzip();
    gz.on('data', (chunk) => {
      if (res.destroyed) return;
      ctx.entry.bytesSent += chunk.length;
      if (!res.write(chunk)) gz.pause();
    });
    res.on('drain', () => gz.resume());
    const signal = ctx.abort.signal;
    try {
      gz.write(Buffer.from(lines[0] + '\n'));
      while (!signal.aborted && !res.destroyed) {
        if (!gz.write(rows)) await once(gz, 'drain', { signal });
        await new Promise((resolve) => setImmediate(resolve));
      }
    } catch {
      // the client went away: that is how this body ends
    }
    gz.destroy();
  }

  async function sendOverlong(ctx, headers, file, size, extra) {
    const { res } = ctx;
    writeHead(ctx, 200, { ...headers, 'Content-Length': size });
    res.flushHeaders();
    const socket = res.socket;
    const body = Buffer.concat([await fsp.readFile(file), crypto.randomBytes(extra)]);
    ctx.entry.bytesSent = body.length;
    ctx.entry.complete = true;
    socket.write(body, () => socket.end());
  }

  // ---- metadata

  // First metadata dir holding a file whose name starts with `prefix` wins; within a dir the
  // last name in sort order wins, so a newer dated capture shadows an older one.
  async function findMetadataFile(prefix) {
    for (const dir of cfg.metadataDirs) {
      const names = (await listDir(dir)).filter((n) => n.startsWith(prefix) && n.endsWith('.json'));
      if (names.length) return path.join(dir, names[names.length - 1]);
    }
    return null;
  }

  async function loadInstruments() {
    const records = [];
    for (const dir of cfg.metadataDirs) {
      for (const name of await listDir(dir)) {
        if (!name.startsWith('instrument_') || !name.endsWith('.json')) continue;
        const value = await readJsonFile(path.join(dir, name));
        // One at a time: spreading a file of 200,000 records overflows the call stack.
        for (const r of Array.isArray(value) ? value : [value]) records.push(r);
      }
    }
    return records;
  }

  async function loadExchangeList() {
    const file = await findMetadataFile('exchanges_list');
    return file ? { file, list: await readJsonFile(file) } : { file: null, list: [] };
  }

  async function buildExchangeDetails(exchange) {
    const { list } = await loadExchangeList();
    const entry = list.find((e) => e.id === exchange);
    const instruments = (await loadInstruments()).filter((r) => r.exchange === exchange);

    const bySymbol = new Map();
    for (const dir of cfg.dataDirs) {
      for (const name of await listDir(dir)) {
        const p = parseDatasetFileName(name);
        if (!p || p.exchange !== exchange) continue;
        const s = bySymbol.get(p.symbol) ?? { dataTypes: new Set(), first: p.date, last: p.date };
        s.dataTypes.add(p.dataType);
        if (p.date < s.first) s.first = p.date;
        if (p.date > s.last) s.last = p.date;
        bySymbol.set(p.symbol, s);
      }
    }
    if (!entry && bySymbol.size === 0) return null;

    const symbols = [...bySymbol.keys()].sort().map((id) => {
      const s = bySymbol.get(id);
      const inst = instruments.find((r) => (r.datasetId ?? r.id) === id);
      return {
        id,
        type: guessSymbolType(exchange, id, inst?.type),
        availableSince: isoDay(s.first),
        // Exclusive end, like exportedUntil: the day after the last file present.
        availableTo: nextIsoDay(s.last),
        dataTypes: [...s.dataTypes].sort(),
      };
    });
    const firstDay = symbols.map((s) => s.availableSince).sort()[0];
    const lastDay = symbols.map((s) => s.availableTo).sort().at(-1);
    const availableSince = entry?.availableSince ?? firstDay;
    const details = {
      id: exchange,
      name: entry?.name ?? exchange,
      enabled: entry?.enabled ?? true,
      ...(entry?.delisted ? { delisted: true } : {}),
      availableSince,
      ...(entry?.availableTo ? { availableTo: entry.availableTo } : {}),
      availableChannels: entry?.availableChannels ?? [],
      availableSymbols: [],
      datasets: {
        formats: ['csv'],
        // With no files the export window is empty rather than invented.
        exportedFrom: firstDay ?? availableSince,
        exportedUntil: lastDay ?? availableSince,
        symbols,
      },
      incidentReports: [],
    };
    return details;
  }

  // Tardis' documented filter keys; date keys are accepted and ignored.
  function filterInstruments(records, filterParam) {
    if (filterParam == null) return records;
    const filter = JSON.parse(filterParam);
    if (!filter || typeof filter !== 'object' || Array.isArray(filter)) throw new TypeError('filter must be a JSON object');
    return records.filter((r) => {
      for (const key of ['baseCurrency', 'quoteCurrency', 'type', 'contractType', 'underlyingType']) {
        if (filter[key] === undefined) continue;
        const wanted = Array.isArray(filter[key]) ? filter[key] : [filter[key]];
        if (!wanted.includes(r[key])) return false;
      }
      if (typeof filter.active === 'boolean' && r.active !== filter.active) return false;
      return true;
    });
  }

  async function serveMetadata(ctx, parts, url) {
    const [, kind, a, b] = parts; // parts[0] === 'v1'
    if (kind === 'exchanges' && parts.length === 2) {
      const { file } = await loadExchangeList();
      if (!file) return sendJsonError(ctx, 404, 'no exchanges list fixture');
      return sendJson(ctx, await fsp.readFile(file));
    }
    if (kind === 'exchanges' && parts.length === 3) {
      if (!/^[a-z0-9-]+$/.test(a)) return sendJsonError(ctx, 404, `unknown exchange ${a}`);
      if (cfg.exchangeDetailsDir) {
        try {
          return sendJson(ctx, await fsp.readFile(path.join(cfg.exchangeDetailsDir, `${a}.json`)));
        } catch {
          // no override: build one
        }
      }
      const details = await buildExchangeDetails(a);
      if (!details) return sendJsonError(ctx, 404, `unknown exchange ${a}`);
      return sendJson(ctx, details);
    }
    if (kind === 'instruments' && (parts.length === 3 || parts.length === 4)) {
      if (cfg.apiKey && ctx.auth.state !== 'valid') return sendJsonError(ctx, 401, 'Invalid or missing API key');
      const records = (await loadInstruments()).filter((r) => r.exchange === a);
      if (parts.length === 4) {
        const one = records.find((r) => r.id === b);
        return one ? sendJson(ctx, one) : sendJsonError(ctx, 404, `unknown instrument ${a}/${b}`);
      }
      let filtered;
      try {
        filtered = filterInstruments(records, url.searchParams.get('filter'));
      } catch (err) {
        return sendJsonError(ctx, 400, `invalid filter: ${err.message}`);
      }
      return sendJson(ctx, filtered);
    }
    if (kind === 'api-key-info' && parts.length === 2) {
      if (ctx.auth.state !== 'valid') return sendJsonError(ctx, 401, 'Invalid or missing API key');
      const file = await findMetadataFile('api-key-info');
      if (!file) return sendJsonError(ctx, 404, 'no api-key-info fixture');
      return sendJson(ctx, await fsp.readFile(file));
    }
    return null;
  }

  // ---- control endpoints (never counted, never faulted)

  async function readBody(req) {
    const chunks = [];
    let size = 0;
    for await (const chunk of req) {
      size += chunk.length;
      if (size > 1 << 20) throw new Error('control body too large');
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  function controlReply(res, status, value) {
    const body = Buffer.from(JSON.stringify(value));
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length });
    res.end(body);
  }

  async function handleControl(req, res, pathname) {
    try {
      if (req.method === 'POST' && pathname === '/__control/faults') {
        const text = await readBody(req);
        faults = normalizeFaults(text.trim() ? JSON.parse(text) : {});
        return controlReply(res, 200, faultsForDisplay(faults));
      }
      if (req.method === 'GET' && pathname === '/__control/faults') return controlReply(res, 200, faultsForDisplay(faults));
      if (req.method === 'GET' && pathname === '/__control/stats') return controlReply(res, 200, api.stats());
      if (req.method === 'POST' && pathname === '/__control/release') return controlReply(res, 200, { released: releaseHeld() });
      if (req.method === 'POST' && pathname === '/__control/reset') {
        api.reset();
        return controlReply(res, 200, { ok: true });
      }
      return controlReply(res, 404, { code: 404, message: `unknown control endpoint ${req.method} ${pathname}` });
    } catch (err) {
      return controlReply(res, 400, { code: 400, message: err.message });
    }
  }

  // ---- dispatch

  async function handle(req, res) {
    const url = new URL(req.url, `http://${HOST}`);
    if (url.pathname.startsWith('/__control/')) return handleControl(req, res, url.pathname);

    const started = Date.now();
    const auth = readAuth(req);
    const entry = {
      method: req.method,
      path: url.pathname,
      query: url.search,
      status: null,
      range: req.headers.range ?? null,
      ifRange: req.headers['if-range'] ?? null,
      auth: auth.state,
      acceptEncoding: req.headers['accept-encoding'] ?? null,
      faults: [],
      bytesSent: 0,
      complete: false,
    };
    stats.total += 1;
    stats.byPath[url.pathname] = (stats.byPath[url.pathname] ?? 0) + 1;
    stats.requests.push(entry);
    if (stats.requests.length > MAX_LOGGED_REQUESTS) stats.requests.shift();

    const ctx = { req, res, auth, entry, abort: new AbortController(), decodedUrl: safeDecode(req.url) };
    res.on('error', () => {}); // a client that vanished mid-write is an expected outcome here
    res.on('close', () => {
      ctx.abort.abort();
      if (cfg.verbose) {
        process.stderr.write(`${new Date().toISOString()} ${req.method} ${req.url} -> ${entry.status}` +
          `${entry.complete ? '' : ' (incomplete)'} ${Date.now() - started}ms` +
          `${entry.faults.length ? ` faults=${entry.faults.join(',')}` : ''}\n`);
      }
    });

    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return sendJsonError(ctx, 405, `method ${req.method} not allowed`, { Allow: 'GET, HEAD' });
    }
    if (req.method === 'HEAD' && takeFault(ctx, 'noHead')) {
      return sendJsonError(ctx, 405, 'method HEAD not allowed', { Allow: 'GET' });
    }
    // Status faults come first, as a rate limiter or a failing front end would answer before auth.
    const tooMany = takeFault(ctx, 'status429');
    if (tooMany) return sendJsonError(ctx, 429, 'Too Many Requests', { 'Retry-After': String(tooMany.retryAfter) });
    const echo = takeFault(ctx, 'echoHeaders');
    if (echo) {
      const body = Buffer.from(JSON.stringify({ code: echo.status, message: 'Bad Request', request: { method: req.method, url: req.url, headers: req.headers } }));
      writeHead(ctx, echo.status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length });
      return endResponse(ctx, body);
    }
    const errorBody = takeFault(ctx, 'errorBody');
    if (errorBody) {
      const body = Buffer.from(errorBody.body, 'utf8');
      writeHead(ctx, errorBody.status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': body.length });
      return endResponse(ctx, body);
    }
    const failure = takeFault(ctx, 'status5xx');
    if (failure) {
      return sendJsonError(ctx, failure.code, http.STATUS_CODES[failure.code] ?? 'Server Error',
        failure.retryAfter !== undefined ? { 'Retry-After': String(failure.retryAfter) } : {});
    }

    const rawParts = url.pathname.split('/').slice(1);
    const parts = rawParts.map(safeDecode);
    if (parts.includes(null) || parts[0] !== 'v1') return sendJsonError(ctx, 404, `not found: ${url.pathname}`);

    // /v1/{exchange}/{data_type}/{YYYY}/{MM}/{DD}/{symbol}.csv.gz; any query (?retryAttempt=N) is ignored.
    if (parts.length === 7 && parts[6].endsWith('.csv.gz')) {
      const [, exchange, dataType, year, month, day, file] = parts;
      if (/^\d{4}$/.test(year) && /^\d{2}$/.test(month) && /^\d{2}$/.test(day)) {
        const symbol = file.slice(0, -'.csv.gz'.length);
        return serveDataset(ctx, { exchange, dataType, year, month, day, symbol });
      }
    }
    const handled = await serveMetadata(ctx, parts, url);
    if (handled === null) return sendJsonError(ctx, 404, `not found: ${url.pathname}`);
    return handled;
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      process.stderr.write(`tardis_server: ${req.method} ${req.url}: ${err.stack ?? err}\n`);
      if (!res.headersSent) {
        res.writeHead(500, { 'Content-Type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify({ code: 500, message: `fake server bug: ${err.message}` }));
      } else {
        res.destroy();
      }
    });
  });

  server.listen(cfg.port, HOST);
  await once(server, 'listening');
  const port = server.address().port;
  if (cfg.portFile) {
    // Rename so a poller never reads a half-written file.
    const tmp = `${cfg.portFile}.${process.pid}.tmp`;
    await fsp.writeFile(tmp, `${port}\n`);
    await fsp.rename(tmp, cfg.portFile);
  }

  const api = {
    url: `http://${HOST}:${port}`,
    port,
    // Replaces the whole fault set (not a merge), so every test states exactly what it wants.
    setFaults(obj) {
      faults = normalizeFaults(obj);
    },
    getFaults() {
      return faultsForDisplay(faults);
    },
    stats() {
      return structuredClone(stats);
    },
    // holdRequests: lets every held request go on; returns how many there were.
    release() {
      return releaseHeld();
    },
    held() {
      return heldReleases.length;
    },
    // Resolves once n requests are held.
    waitHeld(n = 1) {
      if (heldReleases.length >= n) return Promise.resolve();
      return new Promise((resolve) => heldWaiters.push({ n, resolve }));
    },
    // Clears stats and faults (held requests go on).
    reset() {
      releaseHeld();
      stats = emptyStats();
      faults = {};
    },
    close() {
      releaseHeld();
      // Stalled and trickling responses would keep server.close() waiting forever.
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  return api;
}

// ------------------------------------------------------------------------------------------------
// CLI

const USAGE = `usage: node tardis_server.mjs [--port N] [--data-dir DIR]... [--metadata-dir DIR]...
       [--exchange-details-dir DIR] [--api-key KEY] [--port-file FILE] [--faults JSON] [--verbose]
Serves Tardis datasets and metadata on 127.0.0.1; prints "listening http://127.0.0.1:PORT".
Defaults: --port 0, --data-dir and --metadata-dir = the bundled fixtures.
Control: POST /__control/faults (JSON), GET /__control/faults, GET /__control/stats, POST /__control/reset,
POST /__control/release (held requests go on).`;

async function main(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string', default: '0' },
        'data-dir': { type: 'string', multiple: true },
        'metadata-dir': { type: 'string', multiple: true },
        'exchange-details-dir': { type: 'string' },
        'api-key': { type: 'string' },
        'port-file': { type: 'string' },
        faults: { type: 'string' },
        verbose: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (err) {
    process.stderr.write(`${err.message}\n${USAGE}\n`);
    process.exit(2);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`invalid --port ${values.port}\n`);
    process.exit(2);
  }
  let srv;
  try {
    srv = await startServer({
      port,
      dataDirs: values['data-dir'],
      metadataDirs: values['metadata-dir'],
      exchangeDetailsDir: values['exchange-details-dir'],
      apiKey: values['api-key'],
      portFile: values['port-file'],
      faults: values.faults ? JSON.parse(values.faults) : undefined,
      verbose: values.verbose,
    });
  } catch (err) {
    process.stderr.write(`tardis_server: ${err.message}\n`);
    process.exit(2);
  }
  process.stdout.write(`listening ${srv.url}\n`);
  const stop = () => srv.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2));
}
