// Timing half of bench/derive_bench.sh: tardis-dev computing one book-snapshot series with compute()
// from book_change messages already in memory (built from the CSV by the rule of docs/DERIVED.md).
//
// One timed compute() per process, as a user runs it once: the CSV is read and the messages built
// first (not timed), then ONLY the compute() loop is timed, from the first message handed in to the
// last snapshot out, on a cold JIT. The shell script starts this once per run, interleaved with the
// convert runs, and takes the median, so neither side gets a warm-up the other lacks (every convert
// run is a fresh process too). Prints {"s": seconds, "messages": n, "snapshots": n} as JSON.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { createRequire } from 'node:module';

const [file, name, modulesDir] = process.argv.slice(2);
const require = createRequire(path.join(modulesDir, 'x.js'));
const { compute, computeBookSnapshots } = require('tardis-dev');

const m = /^book_snapshot_(\d+)_(\d+)ms$/.exec(name);
if (!m) throw new Error(`derive_bench.mjs: ${name}: only book_snapshot_{depth}_{n}ms`);
const lines = zlib.gunzipSync(fs.readFileSync(file)).toString('utf8').split('\n');
const messages = [];
let cur = null;
const lastSnap = new Map();
for (let i = 1; i < lines.length; i++) {
  if (!lines[i]) continue;
  const [exchange, symbol, ts, local, isSnap, side, price, amount] = lines[i].split(',');
  const snap = isSnap === 'true';
  if (!cur || cur.symbol !== symbol || cur.local !== local || cur.snap !== snap) {
    const reset = snap && !lastSnap.get(symbol);
    lastSnap.set(symbol, snap);
    cur = { symbol, local, snap, msg: { type: 'book_change', symbol, exchange, isSnapshot: reset, bids: [], asks: [],
      timestamp: new Date(Math.floor(Number(ts) / 1000)), localTimestamp: new Date(Math.floor(Number(local) / 1000)) } };
    messages.push(cur.msg);
  }
  (side === 'bid' ? cur.msg.bids : cur.msg.asks).push({ price: Number(price), amount: Number(amount) });
}
lines.length = 0;
async function* source() {
  for (const msg of messages) yield msg;
}
let snapshots = 0;
const t0 = process.hrtime.bigint();
for await (const out of compute(source(), computeBookSnapshots({ depth: Number(m[1]), interval: Number(m[2]) }))) {
  if (out.type === 'book_snapshot') snapshots++;
}
const s = Number(process.hrtime.bigint() - t0) / 1e9;
console.log(JSON.stringify({ s, messages: messages.length, snapshots }));
