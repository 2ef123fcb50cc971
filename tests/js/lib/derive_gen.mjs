// Generated (synthetic) Tardis CSV for the derived-data tests: an incremental_book_L2 day with deep
// books, deletions, crossed levels, updates before the first snapshot and a snapshot reset in the
// middle, and a trades day with out-of-order exchange timestamps. Deterministic (seeded PRNG).
import fs from 'node:fs';
import zlib from 'node:zlib';

// xorshift32: the same stream for the same seed on every machine.
export function prng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}

const DAY_US = 1585785600000000; // 2020-04-02T00:00:00Z

/** Sorted price list of one side, best first. */
class SideBook {
  constructor(isBid) {
    this.isBid = isBid;
    this.prices = [];
  }
  better(a, b) {
    return this.isBid ? a > b : a < b;
  }
  indexOf(p) {
    let lo = 0, hi = this.prices.length;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (this.better(this.prices[m], p)) lo = m + 1;
      else hi = m;
    }
    return lo;
  }
  set(p, amount) {
    const i = this.indexOf(p);
    const has = i < this.prices.length && this.prices[i] === p;
    if (amount === 0) {
      if (has) this.prices.splice(i, 1);
    } else if (!has) {
      this.prices.splice(i, 0, p);
    }
  }
}

/**
 * Writes `rows` incremental_book_L2 rows (gzip) to `file`. Returns a summary of what it contains.
 * levels: levels per side in each snapshot; span_us: time the rows cover; symbol: the rows' symbol.
 */
export function writeBookDay(file, { rows, levels, seed = 7, span_us = 3600e6, tick = 0.5, symbol = 'BTC-PERPETUAL' }) {
  const rnd = prng(seed);
  const out = ['exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount'];
  const book = { bid: new SideBook(true), ask: new SideBook(false) };
  let local = DAY_US + 1000;
  let n = 0, crossed = 0, deletions = 0, snapshots = 0;
  const amount = () => Math.floor(rnd() * 50000) / 10 + 0.1;
  const push = (ts, loc, snap, side, price, amt) => {
    out.push(`deribit,${symbol},${ts},${loc},${snap},${side},${price},${amt}`);
    n++;
  };
  const snapshot = (mid, nLevels) => {
    book.bid = new SideBook(true);
    book.ask = new SideBook(false);
    snapshots++;
    // Two runs of snapshot rows with different local timestamps: one snapshot, not two.
    for (let part = 0; part < 2; part++) {
      local += 700;
      const ts = local - 300;
      for (let k = part; k < nLevels; k += 2) {
        const bp = mid - tick * (k + 1), ap = mid + tick * (k + 1);
        push(ts, local, 'true', 'ask', ap, amount());
        push(ts, local, 'true', 'bid', bp, amount());
        book.ask.set(ap, 1);
        book.bid.set(bp, 1);
      }
    }
  };
  const step = Math.max(1, Math.floor(span_us / (rows / 8)));
  // Updates before any snapshot (tardis-dev ignores them).
  for (let i = 0; i < 5; i++) push(local - 100, local, 'false', i % 2 ? 'bid' : 'ask', 9000 + i, 5);
  snapshot(10000, levels);
  let resetDone = false;
  while (n < rows) {
    if (!resetDone && n >= rows / 2) {
      resetDone = true;
      snapshot(10250, Math.floor(levels * 0.8));
      continue;
    }
    local += 1 + Math.floor(rnd() * step * 2);
    // The exchange timestamp trails arrival; now and then it is out of order by up to 300 ms.
    const ts = rnd() < 0.01 ? local - Math.floor(rnd() * 300000) : local - Math.floor(rnd() * 3000);
    const k = 1 + Math.floor(rnd() * 15);
    for (let j = 0; j < k && n < rows; j++) {
      const isBid = rnd() < 0.5;
      const side = isBid ? book.bid : book.ask;
      const other = isBid ? book.ask : book.bid;
      const u = rnd();
      let price, amt;
      if (u < 0.004 && other.prices.length > 0) {
        // Crossed: a level at or beyond the other side's best (kept, as tardis-dev keeps it).
        price = other.prices[0] + (isBid ? 1 : -1) * tick * Math.floor(rnd() * 3);
        amt = amount();
        crossed++;
      } else if (u < 0.01) {
        // Deleting a level that is not there.
        price = (side.prices[0] ?? 10000) + (isBid ? 1 : -1) * tick * 10000;
        amt = 0;
      } else {
        // Mostly near the top, sometimes anywhere in the deep book.
        const depth = rnd() < 0.05 ? Math.floor(rnd() * side.prices.length) : Math.floor(-Math.log(1 - rnd()) * 12);
        const v = rnd();
        if (side.prices.length === 0 || v < 0.12) {
          // A new level: just inside or beyond the best, or next to an existing one.
          const best = side.prices[0] ?? (isBid ? 9999.5 : 10000.5);
          price = v < 0.06 ? best + (isBid ? 1 : -1) * tick * (1 + Math.floor(rnd() * 2)) : best - (isBid ? 1 : -1) * tick * depth;
          amt = amount();
        } else {
          price = side.prices[Math.min(depth, side.prices.length - 1)];
          amt = v < 0.45 ? 0 : amount();
        }
      }
      if (amt === 0) deletions++;
      side.set(price, amt);
      push(ts, local, 'false', isBid ? 'bid' : 'ask', price, amt);
    }
  }
  fs.writeFileSync(file, zlib.gzipSync(out.join('\n') + '\n', { level: 1 }));
  return { rows: n, crossed, deletions, snapshots };
}

/** Writes `rows` trades (gzip): buy, sell and unknown sides, some out of exchange-time order. */
export function writeTradesDay(file, { rows, seed = 11, span_us = 3600e6 }) {
  const rnd = prng(seed);
  const out = ['exchange,symbol,timestamp,local_timestamp,id,side,price,amount'];
  let local = DAY_US + 500;
  let price = 6500;
  let outOfOrder = 0;
  const step = Math.max(1, Math.floor(span_us / rows));
  for (let i = 0; i < rows; i++) {
    if (rnd() < 0.7) local += Math.floor(rnd() * step * 2);
    let ts = local - Math.floor(rnd() * 2000);
    if (rnd() < 0.02) {
      ts -= Math.floor(rnd() * 2000000);
      outOfOrder++;
    }
    price = Math.round((price + (rnd() - 0.5) * 2) * 100) / 100;
    const amt = Math.floor(rnd() * 20000) / 1000 + 0.001;
    const u = rnd();
    const side = u < 0.48 ? 'buy' : u < 0.96 ? 'sell' : 'unknown';
    out.push(`binance-futures,BTCUSDT,${ts},${local},${i + 1},${side},${price},${amt}`);
  }
  fs.writeFileSync(file, zlib.gzipSync(out.join('\n') + '\n', { level: 1 }));
  return { rows, outOfOrder };
}
