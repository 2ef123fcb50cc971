// market-tick against the real firebase storage emulator (GCS JSON API, run offline in-process by
// serve-storage.cjs), cross-checked with Google's official Node client @google-cloud/storage:
// every object the C++ client writes is read back by the Node client and compared byte for byte
// and by crc32c, and objects the Node client writes are read by market-tick. What the emulator
// cannot do (412, chunked resumable uploads, faults, auth) is in double.test.mjs.
// Run: MARKET_TICK_BIN=build/market-tick node --test tests/gcs/

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Storage, CRC32C } from '@google-cloud/storage';
import { startServer } from '../support/tardis_server.mjs';
import { runBin, describe, startEmulator, tmpDir, bytes, ODD_NAMES, FIXTURE_DIR, ROOT } from './lib.mjs';

const BUCKET = 'bkt';
const SDE = '1700000000';
let emu;
let storage;
let work;

const crcOf = (buf) => {
  const c = new CRC32C();
  c.update(buf);
  return c.toString();
};
const env = (extra = {}) => ({ STORAGE_EMULATOR_HOST: emu.url, SOURCE_DATE_EPOCH: SDE, ...extra });

async function run(args, extra, opts = {}) {
  const r = await runBin(args, { env: env(extra), cwd: work, ...opts });
  return r;
}
async function runOk(args, extra, opts) {
  const r = await run(args, extra, opts);
  assert.equal(r.code, 0, describe(args, r));
  return r;
}

/** Downloads with the official client (which checks crc32c itself) and fetches its metadata. */
async function nodeRead(name) {
  const file = storage.bucket(BUCKET).file(name);
  const [data] = await file.download({ validation: 'crc32c' });
  const [meta] = await file.getMetadata();
  return { data, meta };
}

// A store's objects without its layout record (market-tick-store.json, docs/STORAGE.md "Layouts"),
// which every store written gets once, before its first object.
const dataOnly = (files) => files.filter((f) => !(f.name ?? f).endsWith('market-tick-store.json'));

function walk(dir, base = dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p, base) : [path.relative(base, p)];
  });
}

before(async () => {
  emu = await startEmulator();
  process.env.STORAGE_EMULATOR_HOST = emu.url; // the Node client reads it at construction
  storage = new Storage({ projectId: 'demo-test' });
  work = tmpDir('emu-work');
});

after(async () => {
  await emu?.stop();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

test('emulator starts offline in about a second', () => {
  assert.ok(emu.startupMs < 15_000, `startup took ${emu.startupMs} ms`);
});

test('convert --output gs://: every object equals the local conversion, by bytes and crc32c (Node client)', async () => {
  const inputs = fs.readdirSync(FIXTURE_DIR).filter((f) => f.endsWith('.csv.gz')).map((f) => path.join(FIXTURE_DIR, f));
  const local = path.join(work, 'local');
  await runOk(['convert', ...inputs, '--output', local, '--threads', '2']);
  const r = await runOk(['convert', ...inputs, '--output', `gs://${BUCKET}/conv/`, '--threads', '2']);
  // The store's layout record (docs/STORAGE.md) is not a conversion output: it is checked on its own,
  // as is the completion record of the grouped file (docs/VALIDATE.md).
  const isRecord = (n) => n.includes('/_items/');
  const expected = walk(local).filter((n) => n !== 'market-tick-store.json' && !isRecord(n)).sort();
  const records = walk(local).filter(isRecord).sort();
  assert.deepEqual(records, ['raw_tick_data/by_date/day-2020-06-08/data_type-options_chain/_items/deribit/OPTIONS.json']);
  assert.ok(expected.length >= 11, `only ${expected.length} local outputs`);
  assert.ok(expected.some((n) => n.includes(':')), 'instrument keys with ":" are among the names');
  // The binary prints one line per object: gs://bkt/conv/NAME <tab> rows <tab> bytes.
  const printed = r.stdout.trim().split('\n').map((l) => l.split('\t')[0]).sort();
  assert.deepEqual(printed, expected.map((n) => `gs://${BUCKET}/conv/${n}`));
  const [files] = await storage.bucket(BUCKET).getFiles({ prefix: 'conv/' });
  assert.deepEqual(files.map((f) => f.name).sort(),
    [...expected.map((n) => `conv/${n}`), ...records.map((n) => `conv/${n}`), 'conv/market-tick-store.json'].sort());
  const rec = JSON.parse((await nodeRead(`conv/${records[0]}`)).data.toString());
  assert.deepEqual(rec.objects.map((o) => o.name).sort(), expected.filter((n) => n.includes('options_chain')));
  assert.equal((await nodeRead('conv/market-tick-store.json')).data.toString(), '{"format_version":1,"layout":"by_date"}\n');
  for (const n of expected) {
    const want = fs.readFileSync(path.join(local, n));
    const { data, meta } = await nodeRead(`conv/${n}`);
    assert.ok(data.equals(want), `bytes of ${n}`);
    assert.equal(meta.crc32c, crcOf(want), `crc32c of ${n}`);
    assert.equal(Number(meta.size), want.length);
    assert.equal(meta.contentType, 'application/vnd.apache.parquet');
  }
  // A rerun with --overwrite false is a no-op on every object (create-only; the emulator ignores
  // ifGenerationMatch, so this checks the flag path, not the 412: see double.test.mjs).
  await runOk(['convert', inputs[0], '--output', `gs://${BUCKET}/conv/`, '--overwrite', 'false']);
});

test('gcs put (small: media upload; large: resumable session) with odd names, read back by the Node client', async () => {
  const small = bytes(10_000, 11);
  const large = bytes(20 * 1024 * 1024 + 17, 12); // above GCS_RESUMABLE_THRESHOLD below
  fs.writeFileSync(path.join(work, 'small.bin'), small);
  fs.writeFileSync(path.join(work, 'large.bin'), large);
  // The emulator finishes a resumable object at its first chunk (unlike GCS), so the
  // session here carries the whole object in one PUT; multi-chunk sessions are tested on the double.
  const knobs = { GCS_RESUMABLE_THRESHOLD: '1048576', GCS_CHUNK_SIZE: '64M' };
  for (const [i, name] of ODD_NAMES.entries()) {
    const src = i % 2 ? 'large.bin' : 'small.bin';
    const want = i % 2 ? large : small;
    const r = await runOk(['gcs', 'put', src, `gs://${BUCKET}/put/${name}`], knobs);
    const [uri, size, crc] = r.stdout.trim().split('\t');
    assert.equal(uri, `gs://${BUCKET}/put/${name}`);
    assert.equal(Number(size), want.length);
    const { data, meta } = await nodeRead(`put/${name}`);
    assert.ok(data.equals(want), `bytes of ${name}`);
    assert.equal(meta.crc32c, crc, `crc32c the C++ client computed while streaming, ${name}`);
    assert.equal(crcOf(data), crc);
  }
  // Zero bytes.
  fs.writeFileSync(path.join(work, 'empty.bin'), '');
  await runOk(['gcs', 'put', 'empty.bin', `gs://${BUCKET}/put/empty`]);
  assert.equal((await nodeRead('put/empty')).data.length, 0);
});

test('objects written by the Node client are read by market-tick: ls, cat, ranged cat, stat', async () => {
  const bucket = storage.bucket(BUCKET);
  const written = new Map();
  for (const [i, name] of ODD_NAMES.entries()) {
    const data = bytes(i % 2 ? 3 * 1024 * 1024 + 5 : 777 + i, 100 + i);
    await bucket.file(`node/${name}`).save(data, { resumable: i % 2 === 1, validation: 'crc32c' });
    written.set(`node/${name}`, data);
  }
  const ls = await runOk(['gcs', 'ls', '-l', `gs://${BUCKET}/node/**`]);
  const rows = ls.stdout.trim().split('\n').slice(0, -1).map((l) => /^ *(\d+)  \S+  gs:\/\/bkt\/(.*)$/.exec(l));
  assert.deepEqual(rows.map((r) => r[2]).sort(), [...written.keys()].sort());
  for (const [, size, name] of rows) assert.equal(Number(size), written.get(name).length);
  for (const [name, data] of written) {
    const cat = await runOk(['gcs', 'cat', `gs://${BUCKET}/${name}`]);
    assert.ok(cat.stdoutBytes.equals(data), `cat ${name}`);
    const part = await runOk(['gcs', 'cat', `gs://${BUCKET}/${name}`, '--offset', '100', '--length', '300']);
    assert.ok(part.stdoutBytes.equals(data.subarray(100, 400)), `ranged cat ${name}`);
    const stat = await runOk(['gcs', 'stat', `gs://${BUCKET}/${name}`]);
    assert.equal(stat.stdout.split('\t')[2], crcOf(data));
  }
  const missing = await run(['gcs', 'cat', `gs://${BUCKET}/node/nope`]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /HTTP 404/);
});

test('list with several pages, then delete', async () => {
  const bucket = storage.bucket(BUCKET);
  const names = Array.from({ length: 7 }, (_, i) => `pages/obj-${i}`);
  for (const n of names) await bucket.file(n).save(Buffer.from(n), { resumable: false });
  const ls = await runOk(['gcs', 'ls', `gs://${BUCKET}/pages/`], { GCS_LIST_PAGE_SIZE: '2' });
  assert.deepEqual(ls.stdout.trim().split('\n'), names.map((n) => `gs://${BUCKET}/${n}`));
  await runOk(['gcs', 'rm', `gs://${BUCKET}/pages/obj-3`]);
  const [exists] = await bucket.file('pages/obj-3').exists();
  assert.equal(exists, false);
  const again = await run(['gcs', 'rm', `gs://${BUCKET}/pages/obj-3`]);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /404/);
  const ls2 = await runOk(['gcs', 'ls', `gs://${BUCKET}/pages/`], { GCS_LIST_PAGE_SIZE: '3' });
  assert.equal(ls2.stdout.trim().split('\n').length, 6);
});

test('a chunked upload the emulator cannot take fails clearly and leaves no object', async () => {
  fs.writeFileSync(path.join(work, 'chunky.bin'), bytes(3 * 256 * 1024, 9));
  const r = await run(['gcs', 'put', 'chunky.bin', `gs://${BUCKET}/chunky`], { GCS_CHUNK_SIZE: '256K' });
  assert.equal(r.code, 2, describe([], r)); // a configuration problem: raise GCS_CHUNK_SIZE
  assert.match(r.stderr, /finished the object after 262144 bytes.*raise GCS_CHUNK_SIZE.*deleted it/);
  const [exists] = await storage.bucket(BUCKET).file('chunky').exists();
  assert.equal(exists, false);
});

test('download --output gs:// writes to the emulator; a rerun skips what exists', async () => {
  const srv = await startServer();
  try {
    const args = ['download', '--from', '2020-03-01', '--exchanges', 'bitmex', '--data-types', 'trades', '--symbols', 'XBTUSD',
      '--output', `gs://${BUCKET}/dl`];
    const extra = { TARDIS_DATASETS_URL: srv.url };
    const r = await runOk(args, extra);
    // done <tab> item <tab> gs://bkt/dl/raw_tick_data/by_date/day-2020-03-01/data_type-trades/KEY.parquet
    const m = /^done\t[^\t]+\tgs:\/\/bkt\/(dl\/raw_tick_data\/by_date\/day-2020-03-01\/data_type-trades\/[^\t\n]*:[^\t\n]*\.parquet)$/m.exec(r.stdout);
    assert.ok(m, describe(args, r));
    const object = m[1];
    const { data } = await nodeRead(object);
    assert.equal(data.subarray(0, 4).toString(), 'PAR1');
    assert.equal(data.subarray(-4).toString(), 'PAR1');
    const again = await runOk(args, extra);
    assert.match(again.stderr, /1 items: 0 done, 1 skipped/);
    const [files] = await storage.bucket(BUCKET).getFiles({ prefix: 'dl/' });
    assert.deepEqual(files.map((f) => f.name).sort(), ['dl/market-tick-store.json', object].sort());
  } finally {
    await srv.close();
  }
});

test('grouped item to the emulator: its completion record lists the objects; a rerun makes no request and rewrites nothing', async () => {
  const srv = await startServer();
  try {
    const args = ['download', '--from', '2020-06-08', '--to', '2020-06-09', '--exchanges', 'deribit', '--data-types', 'options_chain',
      '--symbols', 'OPTIONS', '--output', `gs://${BUCKET}/grp`];
    const extra = { TARDIS_DATASETS_URL: srv.url, TARDIS_API_KEY: 'k' };
    const r = await runOk(args, extra);
    assert.match(r.stderr, /2 items: 1 done, 0 skipped, 0 no data, 1 not available/, describe(args, r));
    const recName = 'grp/raw_tick_data/by_date/day-2020-06-08/data_type-options_chain/_items/deribit/OPTIONS.json';
    const { data, meta } = await nodeRead(recName);
    const rec = JSON.parse(data.toString());
    assert.equal(rec.outcome, 'done');
    assert.equal(rec.rows, 7);
    assert.ok(rec.objects.length > 0);
    for (const o of rec.objects) {
      assert.doesNotMatch(o.name, /^gs:/, 'names relative to the output prefix');
      const [exists] = await storage.bucket(BUCKET).file(`grp/${o.name}`).exists();
      assert.ok(exists, o.name);
    }
    // The 404 day is recorded too.
    const na = JSON.parse((await nodeRead('grp/raw_tick_data/by_date/day-2020-06-09/data_type-options_chain/_items/deribit/OPTIONS.json')).data);
    assert.equal(na.outcome, 'not_available');
    srv.reset();
    const again = await runOk(args, extra);
    assert.match(again.stderr, /2 items: 0 done, 1 skipped, 0 no data, 1 not available/, describe(args, again));
    assert.deepEqual(srv.stats().requests.map((q) => q.path), ['/v1/deribit/options_chain/2020/06/09/OPTIONS.csv.gz'],
      'only the 404 day is asked again');
    const [meta2] = await storage.bucket(BUCKET).file(recName).getMetadata();
    assert.equal(meta2.generation, meta.generation, 'record not rewritten');
  } finally {
    await srv.close();
  }
});

test('a completion record of two pieces in the emulator: its ranges read from one generation match its crc32c; a rerun skips on it', async () => {
  const srv = await startServer();
  try {
    const summary = path.join(work, 'big-record.json');
    const args = ['download', '--from', '2020-06-08', '--exchanges', 'deribit', '--data-types', 'options_chain', '--symbols', 'OPTIONS',
      '--output', `gs://${BUCKET}/bigrec`, '--summary-json', summary];
    const extra = { TARDIS_DATASETS_URL: srv.url, TARDIS_API_KEY: 'k', LOG_LEVEL: 'debug' };
    await runOk(args, extra);
    const recName = 'bigrec/raw_tick_data/by_date/day-2020-06-08/data_type-options_chain/_items/deribit/OPTIONS.json';
    const rec = JSON.parse((await nodeRead(recName)).data.toString());
    // Generated: the record padded past one 4 MiB piece with made-up entries of the real shape,
    // written by the Node client (which sends its own crc32c).
    for (let i = 0; i < 16000; i++) {
      const key = `DERIBIT:OPTION:BTC-USD-200608-${10000 + i}-CALL`;
      rec.objects.push({ name: `raw_tick_data/by_date/day-2020-06-08/data_type-options_chain/${key}.parquet`, instrument_key: key,
        rows: 1, bytes: 4000 + i, first_timestamp: rec.first_timestamp, last_timestamp: rec.last_timestamp });
    }
    const text = Buffer.from(JSON.stringify(rec, null, 1) + '\n');
    assert.ok(text.length > (4 << 20) + 4096 && text.length < 8 << 20, `${text.length} bytes: two pieces`);
    await storage.bucket(BUCKET).file(recName).save(text, { resumable: false, validation: 'crc32c' });
    srv.reset();
    const again = await runOk(args, extra);
    assert.match(again.stderr, /1 items: 0 done, 1 skipped/, describe(args, again));
    assert.doesNotMatch(again.stderr, /CRC32C|downloading the item again|read it again/, describe(args, again));
    assert.deepEqual(srv.stats().requests, [], 'no request to Tardis');
    const [item] = JSON.parse(fs.readFileSync(summary, 'utf8')).results;
    assert.equal(item.outcome, 'skipped');
    assert.deepEqual(item.objects, rec.objects.map((o) => `gs://${BUCKET}/bigrec/${o.name}`), 'every entry of both pieces, once');
  } finally {
    await srv.close();
  }
});

test('download to the emulator: kill -9 mid-run, rerun; objects equal an uninterrupted run, none partial or twice', async () => {
  const srv = await startServer();
  try {
    const sel = ['--from', '2020-02-22', '--to', '2020-02-22', '--exchanges', 'binance-futures', '--data-types', 'trades,quotes',
      '--symbols', 'BTCUSDT', '--concurrency', '1'];
    const extra = { TARDIS_DATASETS_URL: srv.url, TARDIS_API_KEY: 'k' };
    // Uninterrupted reference run.
    await runOk(['download', ...sel, '--output', `gs://${BUCKET}/ref`], extra);
    const refFiles = dataOnly((await storage.bucket(BUCKET).getFiles({ prefix: 'ref/' }))[0]);
    assert.equal(refFiles.length, 2);
    // Slow transfers, then SIGKILL while the first item is in flight or just done.
    srv.setFaults({ trickle: { bytesPerChunk: 1024, intervalMs: 20 } });
    const args = ['download', ...sel, '--output', `gs://${BUCKET}/kill`];
    await run(args, extra, {
      onSpawn: (child) => setTimeout(() => child.kill('SIGKILL'), 3000),
    });
    srv.setFaults({});
    const partial = dataOnly((await storage.bucket(BUCKET).getFiles({ prefix: 'kill/' }))[0]);
    assert.ok(partial.length < 2, `the kill came too late: ${partial.map((f) => f.name)}`);
    for (const f of partial) {
      const [d] = await f.download();
      assert.equal(d.subarray(-4).toString(), 'PAR1', `${f.name} is partial`);
    }
    await runOk(args, extra);
    const after = dataOnly((await storage.bucket(BUCKET).getFiles({ prefix: 'kill/' }))[0]);
    assert.deepEqual(after.map((f) => f.name.slice('kill/'.length)).sort(), refFiles.map((f) => f.name.slice('ref/'.length)).sort());
    for (const f of after) {
      const [a] = await f.download({ validation: 'crc32c' });
      const [b] = await storage.bucket(BUCKET).file('ref/' + f.name.slice('kill/'.length)).download();
      // Same rows and pages; only the footer's `source` metadata could differ (same server here, so none).
      assert.ok(a.equals(b), `${f.name} differs from the uninterrupted run`);
    }
  } finally {
    await srv.close();
  }
});

// DuckDB from the independent-reader tests' install (tests/js; scripts/test.sh installs both).
async function duckdbFromJsTests() {
  const { createRequire } = await import('node:module');
  const req = createRequire(path.join(ROOT, 'tests', 'js', 'package.json'));
  const { DuckDBInstance } = await import(req.resolve('@duckdb/node-api'));
  return (await DuckDBInstance.create(':memory:')).connect();
}

test('instruments to the emulator: deribit then binance add up in each object; --force deribit keeps binance', async () => {
  const srv = await startServer({ exchangeDetailsDir: path.join(ROOT, 'tests', 'fixtures', 'exchange_details') });
  const db = await duckdbFromJsTests();
  try {
    const sel = ['--from', '2025-02-13', '--to', '2025-02-14', '--output', `gs://${BUCKET}/instr`];
    const extra = { TARDIS_API_URL: srv.url, TARDIS_API_KEY: 'k' };
    await runOk(['instruments', ...sel, '--exchanges', 'deribit'], extra);
    const second = await runOk(['instruments', ...sel, '--exchanges', 'binance'], extra);
    assert.doesNotMatch(second.stderr, /nothing to do/);
    const names = ['instr/instrument_availability/by_date/day-2025-02-13/instruments.parquet',
      'instr/instrument_availability/by_date/day-2025-02-14/instruments.parquet',
      'instr/instrument_availability/aggregate/instruments_20250213_20250214.parquet'];
    const exchangesOf = async (tag) => {
      const out = {};
      for (const name of names) {
        const { data, meta } = await nodeRead(name);
        assert.equal(meta.contentType, 'application/vnd.apache.parquet');
        const local = path.join(work, `${tag}-${path.basename(path.dirname(name))}-${path.basename(name)}`);
        fs.writeFileSync(local, data);
        const r = await db.runAndReadAll(
          `SELECT tardis_exchange, count(*)::INTEGER FROM read_parquet('${local}') GROUP BY 1 ORDER BY 1`);
        out[name] = Object.fromEntries(r.getRows());
      }
      return out;
    };
    const both = await exchangesOf('both');
    for (const name of names) assert.deepEqual(Object.keys(both[name]), ['binance', 'deribit'], name);
    assert.ok(both[names[0]].binance >= 5 && both[names[0]].deribit >= 5, JSON.stringify(both[names[0]]));

    const forced = await runOk(['instruments', ...sel, '--exchanges', 'deribit', '--force'], extra);
    assert.equal(forced.stdout.split('\n').filter((l) => l.startsWith('done\t')).length, 3);
    assert.deepEqual(await exchangesOf('forced'), both, 'the same rows of both exchanges after --force deribit');
    const again = await runOk(['instruments', ...sel, '--exchanges', 'binance,deribit'], extra);
    assert.match(again.stderr, /nothing to do/);
  } finally {
    db.closeSync?.();
    await srv.close();
  }
});

// A generated Deribit OPTIONS trades day (made-up values, real row shape) of `n` options.
function writeOptionsDay(file, n, perInstrument) {
  const months = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT'];
  const sym = (i) => `${i % 2 ? 'ETH' : 'BTC'}-${1 + ((i >> 1) % 10)}${months[(i >> 1) % 10]}24-${1000 + 500 * (i >> 5)}-${(i >> 4) % 2 ? 'P' : 'C'}`;
  let s = 'exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n';
  let id = 0;
  for (let k = 0; k < perInstrument; k++) {
    for (let i = 0; i < n; i++, id++) {
      const ts = 1704067200000000 + id * 1000;
      s += `deribit,${sym(i)},${ts},${ts + 5},${id},buy,0.${(id % 90) + 10},${(id % 40) + 1}\n`;
    }
  }
  fs.writeFileSync(file, s);
}

test('a grouped file of 2,000 instruments to gs:// under ulimit -n 256: one object each, equal to the local conversion', async () => {
  const dir = path.join(work, 'grouped');
  fs.mkdirSync(dir, { recursive: true });
  const input = path.join(dir, 'deribit_trades_2024-01-01_OPTIONS.csv');
  const N = 2000;
  writeOptionsDay(input, N, 2);
  const limited = (args) => run(args, { TMPDIR: dir }, { timeoutMs: 300_000, maxOpenFiles: 256 });
  const local = path.join(dir, 'local');
  const a1 = ['convert', input, '--output', local, '--threads', '2'];
  const r1 = await limited(a1);
  assert.equal(r1.code, 0, describe(a1, r1));
  const a2 = ['convert', input, '--output', `gs://${BUCKET}/grouped/`, '--threads', '2'];
  const r2 = await limited(a2);
  assert.equal(r2.code, 0, describe(a2, r2));
  // The objects, then the completion record of the file, written last.
  const record = 'raw_tick_data/by_date/day-2024-01-01/data_type-trades/_items/deribit/OPTIONS.json';
  const expected = dataOnly(walk(local)).filter((n) => n !== record).sort();
  assert.equal(expected.length, N);
  const listed = dataOnly((await storage.bucket(BUCKET).getFiles({ prefix: 'grouped/' }))[0]);
  assert.ok(listed.some((f) => f.name === `grouped/${record}`), 'the completion record');
  const files = listed.filter((f) => f.name !== `grouped/${record}`);
  assert.deepEqual(files.map((f) => f.name.slice('grouped/'.length)).sort(), expected);
  // Same bytes as the local conversion (a sample of objects, read by the official client).
  for (const name of expected.filter((_, i) => i % 97 === 0)) {
    const { data } = await nodeRead(`grouped/${name}`);
    assert.ok(data.equals(fs.readFileSync(path.join(local, name))), name);
  }
  assert.deepEqual(fs.readdirSync(dir).sort(), ['deribit_trades_2024-01-01_OPTIONS.csv', 'local'], 'no spill file left in TMPDIR');
});

test('validate of a gs:// day of more objects than a list page: pages read in name order give the report of one page and of a local store', async () => {
  const dir = path.join(work, 'vpages');
  fs.mkdirSync(dir, { recursive: true });
  const input = path.join(dir, 'deribit_trades_2024-01-01_OPTIONS.csv');
  writeOptionsDay(input, 60, 1);
  const local = path.join(dir, 'local');
  const out = `gs://${BUCKET}/vpages`;
  await runOk(['convert', input, '--output', local, '--threads', '1']);
  await runOk(['convert', input, '--output', out, '--threads', '1']);
  // The same changes to both: two objects gone, one cut short, one unexpected object beside them.
  const day = 'raw_tick_data/by_date/day-2024-01-01/data_type-trades';
  const objects = walk(path.join(local, day)).filter((n) => n.endsWith('.parquet')).sort();
  assert.equal(objects.length, 60);
  for (const n of [objects[3], objects[41]]) {
    fs.rmSync(path.join(local, day, n));
    await storage.bucket(BUCKET).file(`vpages/${day}/${n}`).delete();
  }
  const cut = fs.readFileSync(path.join(local, day, objects[17])).subarray(0, 100);
  fs.writeFileSync(path.join(local, day, objects[17]), cut);
  await storage.bucket(BUCKET).file(`vpages/${day}/${objects[17]}`).save(cut, { resumable: false });
  const extra = fs.readFileSync(path.join(local, day, objects[0]));
  fs.writeFileSync(path.join(local, day, 'DERIBIT:OPTION:ZZZ-1JAN24-1-C.parquet'), extra);
  await storage.bucket(BUCKET).file(`vpages/${day}/DERIBIT:OPTION:ZZZ-1JAN24-1-C.parquet`).save(extra, { resumable: false });
  const validate = async (output, pageSize, tag) => {
    const summary = path.join(dir, `summary-${tag}.json`);
    const report = path.join(dir, `report-${tag}.html`);
    const args = ['validate', '--from', '2024-01-01', '--exchanges', 'deribit', '--data-types', 'trades', '--symbols', 'OPTIONS',
      '--output', output, '--deep', '--read-only', '--summary-json', summary, '--report', report];
    const r = await run(args, pageSize ? { GCS_LIST_PAGE_SIZE: String(pageSize) } : {});
    assert.equal(r.code, 1, describe(args, r));
    return {
      stdout: r.stdout.replace(/\([0-9.]+ s\)/, '(s)'),
      summary: fs.readFileSync(summary, 'utf8'),
      report: fs.readFileSync(report, 'utf8').replaceAll(output, 'STORE').replace(/generated \S+Z/, 'generated (time)'),
    };
  };
  const one = await validate(out, 0, 'one');
  assert.match(one.stdout, /result: INCOMPLETE: 2 missing, 1 corrupt/);
  assert.match(one.stdout, /unexpected objects \(present, not expected\): 1/);
  assert.equal(JSON.parse(one.summary).counts.done, 57);
  for (const size of [1, 7]) {
    const paged = await validate(out, size, `p${size}`);
    assert.equal(paged.stdout, one.stdout, `pages of ${size}`);
    assert.equal(paged.summary, one.summary, `pages of ${size}`);
    assert.equal(paged.report, one.report, `pages of ${size}`);
  }
  const loc = await validate(local, 0, 'local');
  assert.equal(loc.stdout, one.stdout);
  assert.equal(loc.summary, one.summary);
});

test('derive against gs://: the derived objects of raw Parquet in the bucket, equal to a local convert --derive; a rerun writes nothing', async () => {
  const files = ['deribit_incremental_book_L2_2020-04-01_BTC-PERPETUAL.csv.gz', 'bitmex_trades_2020-03-01_XBTUSD.csv.gz']
    .map((f) => path.join(FIXTURE_DIR, f));
  const names = 'book_snapshot_5_1s,trade_bar_1m';
  const local = path.join(work, 'derive-local');
  await runOk(['convert', ...files, '--output', local, '--derive', names, '--threads', '1']);
  await runOk(['convert', ...files, '--output', `gs://${BUCKET}/derive`, '--threads', '1']);
  const sel = ['derive', '--from', '2020-03-01', '--to', '2020-04-01', '--derive', names, '--output', `gs://${BUCKET}/derive`];
  const r = await runOk(sel);
  const expected = walk(path.join(local, 'derived_data')).map((f) => `derived_data/${f}`).sort();
  assert.equal(expected.length, 2);
  assert.deepEqual(r.stdout.trim().split('\n').map((l) => l.split('\t')[2]).sort(),
    expected.map((f) => `gs://${BUCKET}/derive/${f}`));
  const [listed] = await storage.bucket(BUCKET).getFiles({ prefix: 'derive/derived_data/' });
  assert.deepEqual(listed.map((f) => f.name.slice('derive/'.length)).sort(), expected);
  for (const name of expected) {
    const { data } = await nodeRead(`derive/${name}`);
    const ref = fs.readFileSync(path.join(local, name));
    // The column chunks are the same bytes; the footer's `source` names the raw object in the bucket.
    const body = (b) => b.subarray(0, b.length - 8 - b.readUInt32LE(b.length - 8));
    assert.ok(body(data).equals(body(ref)), name);
    assert.ok(data.includes(Buffer.from(`gs://${BUCKET}/derive/raw_tick_data/`)), `${name}: source is the raw object`);
  }
  const again = await runOk(sel);
  assert.equal(again.stdout, '');
  assert.match(again.stderr, /summary: 2 items: 0 done, 2 skipped/);
});

test('hive layout in gs://: every command round-trips in the recorded layout; the other layout is refused', async () => {
  const srv = await startServer({ exchangeDetailsDir: path.join(ROOT, 'tests', 'fixtures', 'exchange_details') });
  try {
    const out = `gs://${BUCKET}/hive`;
    const extra = { TARDIS_DATASETS_URL: srv.url, TARDIS_API_URL: srv.url, TARDIS_API_KEY: 'k' };
    const sel = ['--from', '2020-02-22', '--exchanges', 'binance-futures', '--data-types', 'trades,quotes', '--symbols', 'BTCUSDT'];
    await runOk(['instruments', '--from', '2020-02-22', '--exchanges', 'binance-futures', '--output', out, '--layout', 'hive'], extra);
    assert.equal((await nodeRead('hive/market-tick-store.json')).data.toString(), '{"format_version":2,"layout":"hive"}\n');
    await runOk(['download', ...sel, '--output', out], extra);
    await runOk(['convert', path.join(FIXTURE_DIR, 'bitmex_trades_2020-03-01_XBTUSD.csv.gz'), '--output', out], extra);
    const names = async () => (await storage.bucket(BUCKET).getFiles({ prefix: 'hive/' }))[0].map((f) => f.name).sort();
    const trades = 'hive/raw_tick_data/data_type=trades/date=2020-02-22/exchange_id=binance-futures/BINANCE-FUTURES.PERPETUAL.BTC-USDT.parquet';
    const quotes = 'hive/raw_tick_data/data_type=quotes/date=2020-02-22/exchange_id=binance-futures/BINANCE-FUTURES.PERPETUAL.BTC-USDT.parquet';
    await runOk(['derive', '--from', '2020-03-01', '--exchanges', 'bitmex', '--derive', 'trade_bar_1m', '--output', out], extra);
    const all = await names();
    for (const n of [trades, quotes, 'hive/raw_tick_data/data_type=trades/date=2020-03-01/exchange_id=bitmex/BITMEX.PERPETUAL.BTC-USD.parquet',
      'hive/derived_data/data_type=trade_bar_1m/date=2020-03-01/exchange_id=bitmex/BITMEX.PERPETUAL.BTC-USD.parquet',
      'hive/instrument_availability/date=2020-02-22/instruments.parquet']) {
      assert.ok(all.includes(n), `${n} in\n${all.join('\n')}`);
    }
    assert.deepEqual(all.filter((n) => !/^[A-Za-z0-9._=\-/]+$/.test(n)), []);
    const v0 = await run(['validate', ...sel, '--output', out, '--deep'], extra);
    assert.equal(v0.code, 0, describe(['validate'], v0));
    assert.ok((await names()).includes('hive/missing_data_reports/date=2020-02-22/missing_data.parquet'));
    // One missing, one corrupt: validate reports them, --from-report fetches exactly them.
    await storage.bucket(BUCKET).file(trades).delete();
    const half = (await nodeRead(quotes)).data;
    await storage.bucket(BUCKET).file(quotes).save(half.subarray(0, half.length >> 1));
    const v1 = await run(['validate', ...sel, '--output', out, '--deep'], extra);
    assert.equal(v1.code, 1, describe(['validate'], v1));
    await runOk(['download', '--from', '2020-02-22', '--output', out, '--from-report'], extra);
    const v2 = await run(['validate', ...sel, '--output', out, '--deep'], extra);
    assert.equal(v2.code, 0, describe(['validate'], v2));
    // A write in the other layout: exit 2, nothing written.
    const before = await names();
    const mixed = await run(['convert', path.join(FIXTURE_DIR, 'bitmex_trades_2020-03-01_XBTUSD.csv.gz'), '--output', out,
      '--layout', 'by_date'], extra);
    assert.equal(mixed.code, 2, describe(['convert'], mixed));
    assert.match(mixed.stderr, /is a hive store/);
    assert.deepEqual(await names(), before);
    // BigQuery's external tables over it.
    const bq = await runOk(['sql', '--engine', 'bigquery', '--output', out, '--data-types', 'trades'], extra);
    assert.equal(bq.stdout, 'CREATE OR REPLACE EXTERNAL TABLE `market_tick.trades`\n'
      + 'WITH PARTITION COLUMNS (\n  data_type STRING,\n  date DATE,\n  exchange_id STRING\n)\nOPTIONS (\n'
      + "  format = 'PARQUET',\n  hive_partition_uri_prefix = 'gs://bkt/hive/raw_tick_data',\n"
      + "  uris = ['gs://bkt/hive/raw_tick_data/data_type=trades/*.parquet']\n);\n");
  } finally {
    await srv.close();
  }
});
