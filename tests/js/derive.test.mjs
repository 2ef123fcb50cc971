// Oracle tests for derived data (`convert --derive`): tardis-dev's own compute() with
// computeBookSnapshots / computeTradeBars runs on messages built here from the same CSV, and every
// row and column of market-tick's Parquet (read with DuckDB) must equal its output, timestamps at
// millisecond precision (tardis-dev holds Dates). Real fixtures and generated days (lib/derive_gen.mjs).
//
// Message building (docs/DERIVED.md): a book change is a maximal run of consecutive
// incremental_book_L2 rows with the same symbol, local_timestamp and is_snapshot, timestamped with
// its first row's exchange timestamp; it is a snapshot (isSnapshot: the book restarts) when its rows
// are snapshot rows and the previous change of that symbol was not. Each trades row is a trade.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import zlib from 'node:zlib';

import { compute, computeBookSnapshots, computeTradeBars } from 'tardis-dev';

import { closeDuckdb, duckKvMetadata, duckParquetMetadata, duckReadAll } from './lib/readers.mjs';
import { startServer } from '../support/tardis_server.mjs';
import { BIN, FIXTURE_DIR, describeRun, listFiles, mkTmp, parseConvertStdout, run, runOk } from './lib/harness.mjs';
import { writeBookDay, writeTradesDay } from './lib/derive_gen.mjs';

const ROOT_TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'market-tick-derive-'));
after(async () => {
  await closeDuckdb();
  fs.rmSync(ROOT_TMP, { recursive: true, force: true });
});

const msDate = (us) => new Date(Math.floor(us / 1000));

async function* csvRows(file) {
  const rl = readline.createInterface({ input: fs.createReadStream(file).pipe(zlib.createGunzip()), crlfDelay: Infinity });
  let header = null;
  for await (const line of rl) {
    if (line === '') continue;
    const f = line.split(',');
    if (!header) {
      header = f;
      continue;
    }
    const row = {};
    header.forEach((h, i) => (row[h] = f[i]));
    yield row;
  }
}

async function* bookChanges(file) {
  yield* bookChangesOf(csvRows(file));
}

async function* bookChangesOf(rows) {
  let cur = null;
  const lastWasSnapshot = new Map();
  for await (const r of rows) {
    const snap = r.is_snapshot === 'true';
    if (!cur || cur.symbol !== r.symbol || cur.local !== r.local_timestamp || cur.snap !== snap) {
      if (cur) yield cur.msg;
      const reset = snap && !lastWasSnapshot.get(r.symbol);
      lastWasSnapshot.set(r.symbol, snap);
      cur = {
        symbol: r.symbol,
        local: r.local_timestamp,
        snap,
        msg: {
          type: 'book_change', symbol: r.symbol, exchange: r.exchange, isSnapshot: reset, bids: [], asks: [],
          timestamp: msDate(Number(r.timestamp)), localTimestamp: msDate(Number(r.local_timestamp)),
        },
      };
    }
    (r.side === 'bid' ? cur.msg.bids : cur.msg.asks).push({ price: Number(r.price), amount: Number(r.amount) });
  }
  if (cur) yield cur.msg;
}

async function* trades(file, remember) {
  for await (const r of csvRows(file)) {
    const t = {
      type: 'trade', symbol: r.symbol, exchange: r.exchange, id: r.id, side: r.side, price: Number(r.price),
      amount: Number(r.amount), timestamp: msDate(Number(r.timestamp)), localTimestamp: msDate(Number(r.local_timestamp)),
      us: Number(r.timestamp), localUs: Number(r.local_timestamp),
    };
    remember?.(t);
    yield t;
  }
}

/** Our name -> the computable tardis-dev runs, and the name it gives its messages. */
function oracleFor(name) {
  let m = /^book_snapshot_(\d+)(?:_grouped([\d.]+))?_(\d+)(ms|s|m)$/.exec(name);
  const ms = (n, u) => Number(n) * (u === 'm' ? 60000 : u === 's' ? 1000 : 1);
  if (m) {
    const opts = { depth: Number(m[1]), interval: ms(m[3], m[4]) };
    if (m[2]) opts.grouping = Number(m[2]);
    return { kind: 'book', depth: opts.depth, factory: computeBookSnapshots(opts),
      tardisName: `book_snapshot_${opts.depth}${m[2] ? `_grouped${opts.grouping}` : ''}_${opts.interval}ms` };
  }
  m = /^trade_bar_([\d.]+)(ticks|vol|ms|s|m)$/.exec(name);
  assert.ok(m, name);
  const kind = m[2] === 'ticks' ? 'tick' : m[2] === 'vol' ? 'volume' : 'time';
  const interval = kind === 'time' ? ms(m[1], m[2]) : Number(m[1]);
  const suffix = { tick: 'ticks', volume: 'vol', time: 'ms' }[kind];
  return { kind: 'bar', barKind: kind, interval, factory: computeTradeBars({ kind, interval }), tardisName: `trade_bar_${interval}${suffix}` };
}

const cellMs = (v) => Number(BigInt(v) / 1000n);

function snapshotRow(s, depth) {
  const row = [s.exchange, s.symbol, s.timestamp.valueOf(), s.localTimestamp.valueOf()];
  for (let i = 0; i < depth; i++) {
    row.push(s.asks[i].price ?? null, s.asks[i].amount ?? null, s.bids[i].price ?? null, s.bids[i].amount ?? null);
  }
  return row;
}
const BAR_FIELDS = ['open', 'high', 'low', 'close', 'volume', 'buyVolume', 'sellVolume', 'trades', 'vwap'];
function barRow(b) {
  return [b.exchange, b.symbol, b.timestamp.valueOf(), b.localTimestamp.valueOf(), ...BAR_FIELDS.map((f) => b[f]),
    b.openTimestamp.valueOf(), b.closeTimestamp.valueOf()];
}
// Our row with timestamps cut to milliseconds (columns 2, 3 and a bar's last two).
function ourRow(r, kind) {
  const out = [...r];
  const tsCols = kind === 'bar' ? [2, 3, 13, 14] : [2, 3];
  for (const c of tsCols) out[c] = cellMs(out[c]);
  return out;
}

/** The bar tardis-dev leaves open at the end, computed from the trades after its last bar. */
function lastBar(rest, o) {
  if (rest.length === 0) return null;
  const b = { open: rest[0].price, high: Number.MIN_SAFE_INTEGER, low: Number.MAX_SAFE_INTEGER, close: 0, volume: 0, buyVolume: 0,
    sellVolume: 0, trades: 0, vwap: 0, openTimestamp: rest[0].timestamp, closeTimestamp: null, timestamp: new Date(-1) };
  for (const t of rest) {
    b.high = Math.max(b.high, t.price);
    b.low = Math.min(b.low, t.price);
    if (t.timestamp.valueOf() >= b.timestamp.valueOf()) {
      b.close = t.price;
      b.closeTimestamp = t.timestamp;
      b.timestamp = t.timestamp;
    }
    b.buyVolume += t.side === 'buy' ? t.amount : 0;
    b.sellVolume += t.side === 'sell' ? t.amount : 0;
    b.trades += 1;
    b.vwap = (b.vwap * b.volume + t.price * t.amount) / (b.volume + t.amount);
    b.volume += t.amount;
  }
  if (o.barKind === 'time') b.timestamp = new Date((Math.floor(b.openTimestamp.valueOf() / o.interval) + 1) * o.interval);
  const last = rest[rest.length - 1];
  return { ...b, exchange: last.exchange, symbol: last.symbol, localTimestamp: last.localTimestamp };
}

function compareRows(label, got, exp) {
  const bad = [];
  for (let i = 0; i < Math.max(got.length, exp.length) && bad.length < 5; i++) {
    const g = got[i], e = exp[i];
    if (!g || !e) {
      bad.push(`row ${i + 1}: ${g ? 'extra row in ours' : 'missing in ours'}`);
      continue;
    }
    for (let c = 0; c < e.length; c++) {
      if (!Object.is(g[c], e[c])) {
        bad.push(`row ${i + 1} column ${c + 1}: tardis-dev ${e[c]}, ours ${g[c]}`);
        break;
      }
    }
  }
  assert.deepEqual(bad, [], `${label}: ${got.length} rows ours, ${exp.length} tardis-dev:\n${bad.join('\n')}`);
}

/**
 * Converts `file` with --derive `names` into a fresh store, runs tardis-dev on the same CSV and
 * compares every derived object with its output. Returns { outputs, counts }.
 */
async function checkAgainstTardis(label, file, names, { instrumentKey, day }) {
  const out = mkTmp(ROOT_TMP, label);
  const args = ['convert', file, '--output', out, '--derive', names.join(','), '--threads', '2'];
  const r = runOk(args);
  const written = parseConvertStdout(r.stdout, os.tmpdir());
  const oracles = names.map(oracleFor);
  const isBook = oracles[0].kind === 'book';
  const expected = new Map(oracles.map((o) => [o.tardisName, []]));
  const sinceLastBar = new Map(oracles.map((o) => [o.tardisName, []]));
  const source = isBook ? bookChanges(file) : trades(file, (t) => {
    for (const list of sinceLastBar.values()) list.push(t);
  });
  for await (const m of compute(source, ...oracles.map((o) => o.factory))) {
    if (m.type === 'book_snapshot') expected.get(m.name).push(snapshotRow(m, m.depth));
    if (m.type === 'trade_bar') {
      expected.get(m.name).push(barRow(m));
      // The trade that closed this bar already went into the list: it belongs to the next bar
      // when the bar closed before it (time bars), to this one otherwise.
      const list = sinceLastBar.get(m.name);
      const keep = m.kind === 'time' ? list.slice(-1) : [];
      sinceLastBar.set(m.name, keep);
    }
  }
  const counts = {};
  for (let i = 0; i < names.length; i++) {
    const o = oracles[i];
    const exp = expected.get(o.tardisName);
    if (o.kind === 'bar') {
      const last = lastBar(sinceLastBar.get(o.tardisName), o);
      if (last) exp.push(barRow(last));
    }
    const object = path.join(out, 'derived_data', 'by_date', `day-${day}`, `data_type-${names[i]}`, `${instrumentKey}.parquet`);
    assert.ok(written.some((w) => w.path === object), `${object} listed on stdout:\n${describeRun(args, r)}`);
    const { columns, rows } = await duckReadAll(object);
    assert.equal(columns.length, 4 + (o.kind === 'book' ? 4 * o.depth : 11), `${names[i]}: column count`);
    compareRows(`${label} ${names[i]}`, rows.map((x) => ourRow(x, o.kind)), exp);
    const kv = await duckKvMetadata(object);
    assert.equal(kv.data_type, names[i]);
    assert.equal(kv.derived_from, isBook ? 'incremental_book_L2' : 'trades');
    assert.equal(kv.source_object, `raw_tick_data/by_date/day-${day}/data_type-${isBook ? 'incremental_book_L2' : 'trades'}/${instrumentKey}.parquet`);
    assert.equal(kv.row_count, String(rows.length));
    counts[names[i]] = rows.length;
  }
  return counts;
}

describe('convert --derive: identical to tardis-dev compute() on the real fixtures', () => {
  it('book snapshots of deribit incremental_book_L2 (depths, intervals, grouping)', async () => {
    const counts = await checkAgainstTardis('fixture-book', path.join(FIXTURE_DIR, 'deribit_incremental_book_L2_2020-04-01_BTC-PERPETUAL.csv.gz'),
      ['book_snapshot_1_0ms', 'book_snapshot_3_0ms', 'book_snapshot_10_100ms', 'book_snapshot_25_1s', 'book_snapshot_5_1m',
        'book_snapshot_2_grouped5_0ms', 'book_snapshot_3_grouped0.5_100ms'],
      { instrumentKey: 'DERIBIT:PERPETUAL:BTC-USD', day: '2020-04-01' });
    assert.ok(counts.book_snapshot_1_0ms >= 1, JSON.stringify(counts));
  });
  for (const [file, key, day] of [
    ['binance-futures_trades_2020-02-22_BTCUSDT.csv.gz', 'BINANCE-FUTURES:PERPETUAL:BTC-USDT', '2020-02-22'],
    ['bitmex_trades_2020-03-01_XBTUSD.csv.gz', 'BITMEX:PERPETUAL:BTC-USD', '2020-03-01'],
  ]) {
    it(`trade bars of ${file}`, async () => {
      const counts = await checkAgainstTardis(`fixture-${key}`, path.join(FIXTURE_DIR, file),
        ['trade_bar_100ms', 'trade_bar_1s', 'trade_bar_1m', 'trade_bar_3ticks', 'trade_bar_0.5vol'], { instrumentKey: key, day });
      assert.ok(counts.trade_bar_1m >= 1, JSON.stringify(counts));
    });
  }
});

describe('convert --derive: identical to tardis-dev compute() on generated days', () => {
  let bookFile, deepFile, tradesFile, bookInfo, deepInfo, tradesInfo;
  before(() => {
    const dir = mkTmp(ROOT_TMP, 'gen');
    bookFile = path.join(dir, 'deribit_incremental_book_L2_2020-04-02_BTC-PERPETUAL.csv.gz');
    bookInfo = writeBookDay(bookFile, { rows: 1_000_000, levels: 1500 });
    deepFile = path.join(dir, 'deep', 'deribit_incremental_book_L2_2020-04-02_BTC-PERPETUAL.csv.gz');
    fs.mkdirSync(path.dirname(deepFile));
    deepInfo = writeBookDay(deepFile, { rows: 60_000, levels: 1400, seed: 3, span_us: 600e6 });
    tradesFile = path.join(dir, 'binance-futures_trades_2020-04-02_BTCUSDT.csv.gz');
    tradesInfo = writeTradesDay(tradesFile, { rows: 200_000 });
  });

  it('1M-row book: 0ms, 100ms, 1s and 1m snapshots, grouped, with deletions, crossed levels and a mid-day reset', async () => {
    assert.ok(bookInfo.rows >= 1_000_000 && bookInfo.crossed > 100 && bookInfo.deletions > 100_000 && bookInfo.snapshots === 2,
      JSON.stringify(bookInfo));
    const counts = await checkAgainstTardis('gen-book', bookFile,
      ['book_snapshot_10_0ms', 'book_snapshot_25_100ms', 'book_snapshot_50_1s', 'book_snapshot_20_1m', 'book_snapshot_5_grouped5_1s',
        'book_snapshot_3_grouped2.5_0ms'],
      { instrumentKey: 'DERIBIT:PERPETUAL:BTC-USD', day: '2020-04-02' });
    assert.ok(counts.book_snapshot_10_0ms > 50_000 && counts.book_snapshot_20_1m >= 60, JSON.stringify(counts));
  });

  it('deep books: 1000 levels', async () => {
    assert.ok(deepInfo.snapshots === 2, JSON.stringify(deepInfo));
    const counts = await checkAgainstTardis('gen-deep', deepFile, ['book_snapshot_1000_1s', 'book_snapshot_1000_0ms'],
      { instrumentKey: 'DERIBIT:PERPETUAL:BTC-USD', day: '2020-04-02' });
    assert.ok(counts.book_snapshot_1000_1s > 300, JSON.stringify(counts));
  });

  it('deep books, more series than four at once: the deep ones replay the book log, rows as tardis-dev', async () => {
    // Past four open series those deeper than 25 levels count their rows and write them by replaying
    // the book's steps at each row group (docs/DERIVED.md): several row groups of each here.
    const counts = await checkAgainstTardis('gen-deep-many', deepFile,
      ['book_snapshot_1000_0ms', 'book_snapshot_400_grouped1_0ms', 'book_snapshot_500_100ms', 'book_snapshot_30_0ms',
        'book_snapshot_5_0ms'],
      { instrumentKey: 'DERIBIT:PERPETUAL:BTC-USD', day: '2020-04-02' });
    assert.ok(counts.book_snapshot_1000_0ms > 2000 && counts.book_snapshot_400_grouped1_0ms > 2000, JSON.stringify(counts));
  });

  for (const sig of ['SIGINT', 'SIGTERM']) {
    it(`${sig} during a deep derivation: exit 130 promptly, nothing written`, async () => {
      // Two depth-1000 series of the 1M-row book take seconds; the signal comes well before the end.
      const out = mkTmp(ROOT_TMP, `sig-${sig}`);
      const args = ['convert', bookFile, '--output', out, '--derive', 'book_snapshot_1000_0ms,book_snapshot_1000_100ms'];
      const child = spawn(BIN, args, { cwd: ROOT_TMP, stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
      const closed = new Promise((resolve) => child.on('close', (code) => resolve(code)));
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const tSig = Date.now();
      child.kill(sig);
      const code = await closed;
      const took = Date.now() - tSig;
      assert.equal(code, 130, `${args.join(' ')}\n${stderr}`);
      assert.ok(took < 3000, `exited ${took} ms after ${sig}`);
      assert.deepEqual(listFiles(out), [], `nothing partial visible after ${sig}`);
    });
  }

  it('SIGINT during download --derive: exit 130, the item cancelled (not failed), nothing written', async () => {
    // Once counted as a failed item with an error line, though nothing had failed.
    const srv = await startServer({ dataDirs: [path.dirname(bookFile)] });
    try {
      const out = mkTmp(ROOT_TMP, 'sig-download');
      const args = ['download', '--from', '2020-04-02', '--symbols', 'deribit:BTC-PERPETUAL', '--data-types', 'incremental_book_L2',
        '--derive', 'book_snapshot_1000_0ms,book_snapshot_1000_100ms', '--output', out];
      const child = spawn(BIN, args, { cwd: ROOT_TMP, stdio: ['ignore', 'pipe', 'pipe'],
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TARDIS_DATASETS_URL: srv.url, TARDIS_API_KEY: 'test-key' } });
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
      const closed = new Promise((resolve) => child.on('close', (code) => resolve(code)));
      await new Promise((resolve) => setTimeout(resolve, 1500));
      child.kill('SIGINT');
      const code = await closed;
      assert.equal(code, 130, stderr);
      assert.equal(srv.stats().requests.filter((q) => q.path.endsWith('.csv.gz')).length, 1, 'the file was being read');
      assert.match(stderr, /1 items: 0 done, 0 skipped, 0 no data, 0 not available, 0 failed, 0 failed \(retryable\), 1 cancelled/);
      assert.doesNotMatch(stderr, /^E /m);
      assert.deepEqual(listFiles(out), [], 'nothing written');
    } finally {
      await srv.close();
    }
  });

  it('trade bars: time, tick and volume, with out-of-order trades', async () => {
    assert.ok(tradesInfo.outOfOrder > 1000, JSON.stringify(tradesInfo));
    const counts = await checkAgainstTardis('gen-trades', tradesFile,
      ['trade_bar_100ms', 'trade_bar_1s', 'trade_bar_1m', 'trade_bar_100ticks', 'trade_bar_7ticks', 'trade_bar_50.5vol'],
      { instrumentKey: 'BINANCE-FUTURES:PERPETUAL:BTC-USDT', day: '2020-04-02' });
    assert.ok(counts.trade_bar_1m >= 40 && counts.trade_bar_100ticks === 2000 && counts['trade_bar_50.5vol'] > 1000, JSON.stringify(counts));
  });
});

describe('convert --derive: a grouped book file, each instrument its own series', () => {
  // docs/DERIVED.md: in a grouped file the book changes are the runs of each instrument's own rows,
  // as in the instrument's own file; tardis-dev runs here on the messages built from those rows.
  it('two instruments whose rows alternate within one local_timestamp, as tardis-dev computes each from its rows', async () => {
    const dir = mkTmp(ROOT_TMP, 'gen-grouped-book');
    const btc = path.join(dir, 'BTC-PERPETUAL.csv.gz');
    writeBookDay(btc, { rows: 100_000, levels: 300, seed: 5, span_us: 600e6 });
    const btcLines = zlib.gunzipSync(fs.readFileSync(btc)).toString('utf8').trimEnd().split('\n');
    // The second instrument's rows are the first's with a quarter of the price (exact in binary):
    // the same arrival times, so the two instruments' changes coincide.
    const ethLines = btcLines.map((l, k) => {
      if (k === 0) return l;
      const f = l.split(',');
      f[1] = 'ETH-PERPETUAL';
      f[6] = String(Number(f[6]) / 4);
      return f.join(',');
    });
    const parts = [{ symbol: 'BTC-PERPETUAL', key: 'DERIBIT:PERPETUAL:BTC-USD', lines: btcLines },
      { symbol: 'ETH-PERPETUAL', key: 'DERIBIT:PERPETUAL:ETH-USD', lines: ethLines }];
    const header = parts[0].lines[0];
    const [a, b] = parts.map((p) => p.lines.slice(1));
    const loc = (l) => Number(l.split(',')[3]);
    // Merged by local_timestamp, one row of each in turn where they tie: A, B, A, B, ...
    const merged = [];
    let i = 0, j = 0, turn = 0;
    while (i < a.length || j < b.length) {
      const la = i < a.length ? loc(a[i]) : Infinity, lb = j < b.length ? loc(b[j]) : Infinity;
      merged.push(la < lb || (la === lb && turn++ % 2 === 0) ? a[i++] : b[j++]);
    }
    let split = 0;
    for (let k = 2; k < merged.length; k++) {
      const [x, y, z] = [merged[k - 2], merged[k - 1], merged[k]].map((l) => l.split(','));
      if (x[1] === z[1] && x[1] !== y[1] && x[3] === y[3] && y[3] === z[3]) split++;
    }
    assert.ok(split > 50_000, `rows of one change split by the other instrument's: ${split}`);
    const names = ['book_snapshot_5_0ms', 'book_snapshot_20_100ms', 'book_snapshot_3_grouped5_0ms'];
    const cols = header.split(',');
    const rowsOf = (symbol) => merged.filter((l) => l.split(',', 2)[1] === symbol)
      .map((l) => Object.fromEntries(l.split(',').map((v, k) => [cols[k], v])));
    const oracles = names.map(oracleFor);
    const expected = new Map();
    for (const { symbol } of parts) {
      const bySeries = new Map(oracles.map((o) => [o.tardisName, []]));
      for await (const m of compute(bookChangesOf(rowsOf(symbol)), ...oracles.map((o) => o.factory))) {
        if (m.type === 'book_snapshot') bySeries.get(m.name).push(snapshotRow(m, m.depth));
      }
      expected.set(symbol, bySeries);
    }
    // Named as Tardis names a grouped file, and under a name that does not say it is one (a file of a few
    // instruments is then derived in the same pass as its split: the one-pass engine ended a change at
    // every row of the other instrument, writing half-applied books).
    const gz = zlib.gzipSync([header, ...merged].join('\n') + '\n', { level: 1 });
    for (const [base, extra] of [['deribit_incremental_book_L2_2020-04-02_PERPETUALS.csv.gz', []],
      ['book.csv.gz', ['--data-type', 'incremental_book_L2']]]) {
      const file = path.join(dir, base);
      fs.writeFileSync(file, gz);
      const out = mkTmp(ROOT_TMP, 'gen-grouped-book-out');
      runOk(['convert', file, '--output', out, '--derive', names.join(','), '--threads', '2', ...extra]);
      for (const { symbol, key } of parts) {
        for (let n = 0; n < names.length; n++) {
          const object = path.join(out, `derived_data/by_date/day-2020-04-02/data_type-${names[n]}/${key}.parquet`);
          const { rows } = await duckReadAll(object);
          const exp = expected.get(symbol).get(oracles[n].tardisName);
          assert.ok(exp.length > 1000, `${symbol} ${names[n]}: ${exp.length} snapshots`);
          compareRows(`${base} ${symbol} ${names[n]}`, rows.map((x) => ourRow(x, 'book')), exp);
        }
      }
    }
  });
});

describe('convert --derive: book rows whose side is neither bid nor ask', () => {
  // docs/DERIVED.md: such rows change no level. The side was judged by its first letter: `buy` became a bid
  // and `anything` an ask (`sell` was left out only because of its letter).
  it('change no level: the snapshots are those of the bid and ask rows alone', async () => {
    const dir = mkTmp(ROOT_TMP, 'book-sides');
    const t0 = 1585785600000000;
    const rows = [['true', 'bid', 100, 1], ['true', 'ask', 101, 1], ['false', 'buy', 100.5, 7],
      ['false', 'anything', 100.8, 3], ['false', 'sell', 99, 9], ['false', 'ask', 102, 2]];
    const lines = ['exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount',
      ...rows.map(([snap, side, p, a], i) => {
        const t = t0 + 1000 * (i < 2 ? 1 : i);
        return `deribit,BTC-PERPETUAL,${t},${t + 100},${snap},${side},${p},${a}`;
      })];
    const file = path.join(dir, 'deribit_incremental_book_L2_2020-04-02_BTC-PERPETUAL.csv.gz');
    fs.writeFileSync(file, zlib.gzipSync(lines.join('\n') + '\n'));
    const out = mkTmp(ROOT_TMP, 'book-sides-out');
    runOk(['convert', file, '--output', out, '--derive', 'book_snapshot_2_0ms']);
    const object = path.join(out, 'derived_data/by_date/day-2020-04-02/data_type-book_snapshot_2_0ms/DERIBIT:PERPETUAL:BTC-USD.parquet');
    const { columns, rows: got } = await duckReadAll(object);
    const at = (r, c) => { const v = r[columns.findIndex((x) => x.name === c)]; return v === null ? null : Number(v); };
    const levels = got.map((r) => ['bid_price_1', 'bid_volume_1', 'ask_price_1', 'ask_volume_1', 'ask_price_2']
      .map((c) => at(r, c)));
    // The snapshot, then the ask at 102 (a second ask level); nothing from buy, anything or sell.
    assert.deepEqual(levels, [[100, 1, 101, 1, null], [100, 1, 101, 1, 102]]);
  });
});

describe('convert --derive: usage', () => {
  const file = path.join(FIXTURE_DIR, 'deribit_incremental_book_L2_2020-04-01_BTC-PERPETUAL.csv.gz');
  for (const [bad, why] of [
    ['book_snapshot_10', /accepted forms/],
    ['book_snapshot_1001_1s', /over the maximum 1000/],
    ['trade_bar_5h', /accepted forms/],
    ['quotes_1s', /unknown derived data type/],
    // Once an int64 overflow: a garbage name, then an abort (exit 134) when the skip was reported.
    ['trade_bar_999999999999m', /at most 10\^15 ms/],
    ['book_snapshot_2_grouped0.0000000000000000000000001_1s', /at most 24 characters/],
  ]) {
    it(`--derive ${bad} is a usage error naming the accepted forms`, () => {
      const out = mkTmp(ROOT_TMP, `usage-${bad}`);
      const args = ['convert', file, '--output', out, '--derive', bad];
      const r = run(args);
      assert.equal(r.code, 2, describeRun(args, r));
      assert.match(r.stderr, why);
      assert.match(r.stderr, /book_snapshot_\{depth\}_\{interval\}/);
      assert.ok(!fs.existsSync(path.join(out, 'raw_tick_data')), 'nothing written');
    });
  }
  it('a file that fails half way leaves no derived object behind (nor a raw one)', () => {
    const dir = mkTmp(ROOT_TMP, 'bad-input');
    const csv = zlib.gunzipSync(fs.readFileSync(file)).toString('utf8').trimEnd().split('\n');
    csv.splice(8, 0, 'deribit,BTC-PERPETUAL,1585699201000000,1585699201100000,false,bid,not-a-number,5');
    const bad = path.join(dir, 'deribit_incremental_book_L2_2020-04-01_BTC-PERPETUAL.csv.gz');
    fs.writeFileSync(bad, zlib.gzipSync(csv.join('\n') + '\n'));
    const out = path.join(dir, 'store');
    const args = ['convert', bad, '--output', out, '--derive', 'book_snapshot_5_0ms,book_snapshot_5_1s'];
    const r = run(args);
    assert.equal(r.code, 1, describeRun(args, r));
    assert.match(r.stderr, /line 9/);
    const left = fs.existsSync(out) ? fs.readdirSync(out, { recursive: true }).filter((f) => f.endsWith('.parquet') || f.includes('.tmp')) : [];
    assert.deepEqual(left, [], 'no object (or temporary) left');
  });
  it('a raw object that cannot be written leaves no derived object behind', () => {
    const out = mkTmp(ROOT_TMP, 'raw-fails');
    // A directory where the raw object goes: its commit fails after the derived series are computed.
    fs.mkdirSync(path.join(out, 'raw_tick_data/by_date/day-2020-04-01/data_type-incremental_book_L2/DERIBIT:PERPETUAL:BTC-USD.parquet'),
      { recursive: true });
    const args = ['convert', file, '--output', out, '--derive', 'book_snapshot_5_1s'];
    const r = run(args);
    assert.notEqual(r.code, 0, describeRun(args, r));
    const derived = path.join(out, 'derived_data');
    const left = fs.existsSync(derived) ? fs.readdirSync(derived, { recursive: true }).filter((f) => /\.parquet|\.tmp/.test(f)) : [];
    assert.deepEqual(left, [], describeRun(args, r));
  });
  it('a file whose name gives no day is keyed (and derived) by its rows\' day', () => {
    const dir = mkTmp(ROOT_TMP, 'no-day');
    const renamed = path.join(dir, 'btc-perp-book.csv.gz');
    fs.copyFileSync(file, renamed);
    const out = path.join(dir, 'store');
    const args = ['convert', renamed, '--data-type', 'incremental_book_L2', '--output', out, '--derive', 'book_snapshot_5_1s'];
    runOk(args);
    assert.ok(fs.existsSync(path.join(out, 'derived_data/by_date/day-2020-04-01/data_type-book_snapshot_5_1s/DERIBIT:PERPETUAL:BTC-USD.parquet')));
  });
  it('a grouped file of another data type gets no derived series (said once), its raw split is unchanged', () => {
    // Grouped files of the source data types: derive_command.test.mjs.
    const out = mkTmp(ROOT_TMP, 'grouped');
    const chain = path.join(FIXTURE_DIR, 'deribit_options_chain_2020-06-08_OPTIONS.csv.gz');
    const args = ['convert', chain, '--output', out, '--derive', 'trade_bar_1m'];
    const r = runOk(args);
    assert.equal(r.stderr.split('--derive trade_bar_1m: skipped for').length - 1, 1, r.stderr);
    assert.ok(!fs.existsSync(path.join(out, 'derived_data')));
    assert.ok(fs.existsSync(path.join(out, 'raw_tick_data/by_date/day-2020-06-08/data_type-options_chain/DERIBIT:OPTIONS:BTC-USD.parquet')));
  });
  it('a name for another data type is skipped and said once', () => {
    const out = mkTmp(ROOT_TMP, 'skip');
    const args = ['convert', file, path.join(FIXTURE_DIR, 'bitmex_trades_2020-03-01_XBTUSD.csv.gz'), file, '--output', out,
      '--derive', 'trade_bar_1m', '--threads', '1'];
    const r = runOk(args);
    assert.equal(r.stderr.split('trade_bar_1m: skipped').length - 1, 1, describeRun(args, r));
    assert.ok(fs.existsSync(path.join(out, 'derived_data/by_date/day-2020-03-01/data_type-trade_bar_1m/BITMEX:PERPETUAL:BTC-USD.parquet')));
    assert.ok(!fs.existsSync(path.join(out, 'derived_data/by_date/day-2020-04-01')));
  });
});

// ---------------------------------------------------------------------------------------------
// download --derive, plan --derive, validate of derived items (the Tardis-compatible test server,
// tests/support/tardis_server.mjs, serves the fixtures; runs are asynchronous so it can answer).
// ---------------------------------------------------------------------------------------------

const SDE = '1700000000'; // SOURCE_DATE_EPOCH: created_at pinned, bytes comparable

function runAsync(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { cwd: ROOT_TMP, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', (e) => { clearTimeout(timer); reject(e); });
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

// The bytes before the footer (the column chunks) of a file or of its bytes.
function parquetBody(file) {
  const b = Buffer.isBuffer(file) ? file : fs.readFileSync(file);
  const footerLen = b.readUInt32LE(b.length - 8);
  return b.subarray(0, b.length - 8 - footerLen);
}

describe('download --derive: per item, in the same pass, idempotent', () => {
  const BOOK = 'deribit_incremental_book_L2_2020-04-01_BTC-PERPETUAL.csv.gz';
  const KEY = 'DERIBIT:PERPETUAL:BTC-USD';
  const NAMES = ['book_snapshot_5_1s', 'book_snapshot_3_0ms'];
  const derivedRel = (name) => `derived_data/by_date/day-2020-04-01/data_type-${name}/${KEY}.parquet`;
  const rawRel = `raw_tick_data/by_date/day-2020-04-01/data_type-incremental_book_L2/${KEY}.parquet`;
  let srv, dir, out, env;
  const dl = (extra = []) => runAsync(['download', '--from', '2020-04-01', '--exchanges', 'deribit', '--symbols', 'BTC-PERPETUAL',
    '--data-types', 'incremental_book_L2', '--derive', [...NAMES, 'trade_bar_1m'].join(','), '--output', out, ...extra], env);
  const requests = () => srv.stats().requests.filter((r) => r.path.endsWith('.csv.gz')).length;
  before(async () => {
    dir = mkTmp(ROOT_TMP, 'download');
    out = path.join(dir, 'store');
    srv = await startServer();
    env = { PATH: process.env.PATH ?? '/usr/bin:/bin', TARDIS_DATASETS_URL: srv.url, TARDIS_API_KEY: 'test-key',
      RETRY_BASE_SECONDS: '0.05', SOURCE_DATE_EPOCH: SDE };
  });
  after(async () => { await srv?.close(); });

  it('writes the derived objects beside the raw one, equal to convert --derive of the same file', async () => {
    const r = await dl();
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => l.split('\t'));
    assert.deepEqual(lines.map((l) => path.relative(out, path.resolve(ROOT_TMP, l[2]))).sort(),
      [rawRel, ...NAMES.map(derivedRel)].sort(), r.stdout);
    for (const l of lines) assert.deepEqual(l.slice(0, 2), ['done', '2020-04-01/incremental_book_L2/deribit/BTC-PERPETUAL']);
    // trade_bar_1m is computed from trades: skipped for this item, said once.
    assert.equal(r.stderr.split('--derive trade_bar_1m: skipped for 1 items that are not trades').length - 1, 1, r.stderr);
    assert.ok(!fs.existsSync(path.join(out, 'derived_data/by_date/day-2020-04-01/data_type-trade_bar_1m')));

    const conv = path.join(dir, 'convert');
    runOk(['convert', path.join(FIXTURE_DIR, BOOK), '--output', conv, '--derive', NAMES.join(',')],
      { env: { ...process.env, SOURCE_DATE_EPOCH: SDE } });
    for (const name of NAMES) {
      const a = path.join(out, derivedRel(name)), b = path.join(conv, derivedRel(name));
      // Same column chunks byte for byte; the footer differs only in `source` (a URL, a path).
      assert.ok(parquetBody(a).equals(parquetBody(b)), `${name}: column chunks differ`);
      const ka = await duckKvMetadata(a), kb = await duckKvMetadata(b);
      assert.match(ka.source, /^http:\/\/127\.0\.0\.1:\d+\/v1\/deribit\/incremental_book_L2\/2020\/04\/01\/BTC-PERPETUAL\.csv\.gz$/);
      assert.equal(kb.source, path.join(FIXTURE_DIR, BOOK));
      delete ka.source;
      delete kb.source;
      assert.deepEqual(ka, kb, name);
      assert.equal(ka.source_object, rawRel);
      const ra = await duckReadAll(a), rb = await duckReadAll(b);
      assert.ok(ra.rows.length > 0);
      assert.deepEqual(ra.rows, rb.rows, name);
    }
  });

  it('a rerun skips the item without a request', async () => {
    const before = requests();
    const r = await dl();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /1 items: 0 done, 1 skipped/);
    assert.equal(r.stdout, '');
    assert.equal(requests(), before);
  });

  it('a missing derived object is computed from the stored raw object, without a request', async () => {
    const gone = path.join(out, derivedRel(NAMES[0]));
    const kept = path.join(out, derivedRel(NAMES[1]));
    const first = fs.readFileSync(gone);
    const firstKv = await duckKvMetadata(gone);
    fs.rmSync(gone);
    const raw = fs.statSync(path.join(out, rawRel)), keptStat = fs.statSync(kept);
    const before = requests();
    const r = await dl();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(requests(), before, 'no request: computed from the stored raw object');
    // Only the derived object written now is listed.
    assert.deepEqual(r.stdout.trim().split('\n').map((l) => path.relative(out, path.resolve(ROOT_TMP, l.split('\t')[2]))),
      [derivedRel(NAMES[0])]);
    // The same column chunks as computed from the download; the source is now the raw object.
    assert.ok(parquetBody(gone).equals(parquetBody(first)), 'column chunks differ');
    const kv = await duckKvMetadata(gone);
    assert.equal(kv.source, path.join(out, rawRel));
    assert.deepEqual({ ...kv, source: '' }, { ...firstKv, source: '' });
    const rawAfter = fs.statSync(path.join(out, rawRel)), keptAfter = fs.statSync(kept);
    assert.equal(rawAfter.ino, raw.ino, 'raw object not replaced');
    assert.equal(rawAfter.mtimeMs, raw.mtimeMs, 'raw object not rewritten');
    assert.equal(keptAfter.ino, keptStat.ino, 'existing derived object not replaced');
  });

  it('a stored raw object that cannot be read is downloaded again for the derived object, and left as it is', async () => {
    const rawPath = path.join(out, rawRel);
    const saved = fs.readFileSync(rawPath);
    const gone = path.join(out, derivedRel(NAMES[1]));
    const first = fs.readFileSync(gone);
    // The middle of the largest column chunk: a page body, whose CRC-32 fails (kDataLoss).
    const chunks = await duckParquetMetadata(rawPath);
    const big = chunks.reduce((a, c) => (Number(c.total_compressed_size) > Number(a.total_compressed_size) ? c : a));
    const inPage = Number(big.data_page_offset) + Math.floor(Number(big.total_compressed_size) / 2);
    for (const [what, damage] of [['no trailing PAR1', (b) => b.write('XXXX', b.length - 4)], ['a page body', (b) => { b[inPage] ^= 0x20; }]]) {
      fs.rmSync(gone, { force: true });
      const bad = Buffer.from(saved);
      damage(bad);
      fs.writeFileSync(rawPath, bad);
      try {
        const before = requests();
        const r = await dl();
        assert.equal(r.code, 0, `${what}: ${r.stderr}`);
        assert.match(r.stderr, /downloading the file again to compute 1 derived objects \(the raw object is kept\)/, what);
        assert.equal(requests(), before + 1, what);
        assert.ok(fs.readFileSync(gone).equals(first), `${what}: the derived object as computed from the download`);
        assert.ok(fs.readFileSync(rawPath).equals(bad), `${what}: the raw object is left as it is`);
      } finally {
        fs.writeFileSync(rawPath, saved);
      }
    }
  });

  it('an item without rows gets zero-row derived objects, so a rerun skips it', async () => {
    // Generated: a header-only file for a day the fixtures do not have.
    const data = mkTmp(ROOT_TMP, 'no-rows-data');
    fs.writeFileSync(path.join(data, 'deribit_incremental_book_L2_2020-04-03_BTC-PERPETUAL.csv.gz'),
      zlib.gzipSync('exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n'));
    const empty = await startServer({ dataDirs: [data] });
    try {
      const store = path.join(mkTmp(ROOT_TMP, 'no-rows'), 'store');
      const args = ['download', '--from', '2020-04-03', '--symbols', 'deribit:BTC-PERPETUAL', '--data-types', 'incremental_book_L2',
        '--derive', 'book_snapshot_5_1s', '--output', store];
      const e = { ...env, TARDIS_DATASETS_URL: empty.url };
      const r = await runAsync(args, e);
      assert.equal(r.code, 0, r.stderr);
      const lines = r.stdout.trim().split('\n').map((l) => l.split('\t'));
      assert.deepEqual(lines.map((l) => l[0]), ['no_data', 'no_data'], r.stdout);
      const obj = path.join(store, `derived_data/by_date/day-2020-04-03/data_type-book_snapshot_5_1s/${KEY}.parquet`);
      const { columns, rows } = await duckReadAll(obj);
      assert.equal(rows.length, 0);
      assert.equal(columns.length, 4 + 4 * 5);
      assert.equal((await duckKvMetadata(obj)).row_count, '0');
      const again = await runAsync(args, e);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stderr, /1 items: 0 done, 1 skipped/);
      assert.equal(empty.stats().requests.filter((q) => q.path.endsWith('.csv.gz')).length, 1);
      // The derived object gone: computed from the stored raw object, without a request, and no_data
      // as its download was (once counted done).
      fs.rmSync(obj);
      const third = await runAsync(args, e);
      assert.equal(third.code, 0, third.stderr);
      assert.deepEqual(third.stdout.trim().split('\n').map((l) => l.split('\t')[0]), ['no_data'], third.stdout);
      assert.match(third.stderr, /1 items: 0 done, 0 skipped, 1 no data/);
      assert.equal(empty.stats().requests.filter((q) => q.path.endsWith('.csv.gz')).length, 1);
      assert.equal((await duckReadAll(obj)).rows.length, 0);
    } finally {
      await empty.close();
    }
  });

  it('plan --derive and download --dry-run list the derived items', async () => {
    const planArgs = ['plan', '--from', '2020-04-01', '--symbols', 'deribit:BTC-PERPETUAL,bitmex:XBTUSD',
      '--data-types', 'incremental_book_L2,trades', '--derive', 'book_snapshot_5_1s,trade_bar_1m', '--json', '--output', out];
    const p = await runAsync(planArgs, env);
    assert.equal(p.code, 0, p.stderr);
    const plan = JSON.parse(p.stdout);
    assert.equal(plan.count, 4);
    assert.equal(plan.derived_count, 4);
    assert.deepEqual(plan.derived.map((d) => `${d.data_type}/${d.source_data_type}/${d.exchange}/${d.symbol}`).sort(), [
      'book_snapshot_5_1s/incremental_book_L2/bitmex/XBTUSD', 'book_snapshot_5_1s/incremental_book_L2/deribit/BTC-PERPETUAL',
      'trade_bar_1m/trades/bitmex/XBTUSD', 'trade_bar_1m/trades/deribit/BTC-PERPETUAL']);
    const t = await runAsync(planArgs.filter((a) => a !== '--json'), env);
    assert.match(t.stdout, /4 items and 4 derived items/);
    assert.match(t.stdout, /2020-04-01 +trade_bar_1m +trades +bitmex +XBTUSD/);
    // A name longer than the derived table's column widens it: every row's columns start under their heading.
    const wide = await runAsync(['plan', '--from', '2020-04-01', '--symbols', 'deribit:BTC-PERPETUAL', '--data-types',
      'incremental_book_L2', '--derive', 'book_snapshot_25_grouped0.5_100ms,book_snapshot_5_1s', '--output', out], env);
    const rows = wide.stdout.split('\n\n')[1].split('\n').filter((l) => /^(day|2020)/.test(l));
    assert.equal(rows.length, 3, wide.stdout);
    const starts = (l) => [...l.matchAll(/\S+/g)].map((m) => m.index);
    for (const l of rows.slice(1)) assert.deepEqual(starts(l), starts(rows[0]), wide.stdout);
    const before = requests();
    const d = await dl(['--dry-run']);
    assert.equal(d.code, 0, d.stderr);
    assert.deepEqual(d.stdout.trim().split('\n').slice(1).sort(), NAMES.map((n) =>
      `derived\t2020-04-01/${n}/deribit/BTC-PERPETUAL\t2020-04-01/incremental_book_L2/deribit/BTC-PERPETUAL`).sort());
    assert.match(d.stderr, /1 items and 2 derived items \(dry run/);
    assert.equal(requests(), before);
  });

  it('validate expects derived items where their source is, checks their footers, reports them missing', async () => {
    const v = (types, extra = []) => runAsync(['validate', '--from', '2020-04-01', '--symbols', 'deribit:BTC-PERPETUAL',
      '--data-types', types, '--output', out, '--read-only', '--deep', ...extra], env);
    let r = await v('incremental_book_L2', ['--derive', NAMES.join(',')]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    for (const n of [...NAMES, 'incremental_book_L2']) assert.match(r.stdout, new RegExp(`^${n} +1 +1 `, 'm'), r.stdout);
    // A derived name in --data-types: its source's files are not expected themselves.
    r = await v('book_snapshot_5_1s,book_snapshot_10_0ms');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    // Names longer than the table's first column (grouped snapshots) widen it: every count stays
    // under its heading.
    const wide = await v('book_snapshot_25_grouped0.5_100ms,book_snapshot_5_1s');
    const table = wide.stdout.split('\n').filter((l) => /^(data_type|book_snapshot\S*|total) /.test(l));
    assert.equal(table.length, 4, wide.stdout);
    const ends = (l) => [...l.matchAll(/\S+/g)].map((m) => m.index + m[0].length).slice(1);
    for (const l of table.slice(1)) assert.deepEqual(ends(l), ends(table[0]), wide.stdout);
    assert.match(r.stdout, /^book_snapshot_5_1s +1 +1 /m);
    assert.match(r.stdout, /^book_snapshot_10_0ms +1 +0 /m);
    assert.doesNotMatch(r.stdout, /^incremental_book_L2 /m);
    assert.match(r.stdout, /^missing\t2020-04-01\tbook_snapshot_10_0ms\tDERIBIT:PERPETUAL:BTC-USD$/m);
    // A derived object replaced by the raw file: corrupt under --deep, naming the schema.
    fs.copyFileSync(path.join(out, rawRel), path.join(out, derivedRel(NAMES[0])));
    r = await v('book_snapshot_5_1s');
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stdout, /corrupt\t2020-04-01\tbook_snapshot_5_1s\t.*schema does not match book_snapshot_5_1s/);
  });
});
