// `market-tick derive`: derived series computed from raw Parquet already in a store, never
// downloading. The raw objects come from `convert` of the real fixtures (and of generated files,
// labelled as such); each derived object is compared with what `convert --derive` writes for the
// same file: the same column chunks byte for byte, the same key-value metadata but `source`, the
// same rows read back by DuckDB.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { closeDuckdb, duckKvMetadata, duckReadAll } from './lib/readers.mjs';
import { BIN, FIXTURE_DIR, describeRun, listFiles, mkTmp, run, runAsync, runOk } from './lib/harness.mjs';

const ROOT_TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'market-tick-derive-cmd-'));
after(async () => {
  await closeDuckdb();
  fs.rmSync(ROOT_TMP, { recursive: true, force: true });
});

const ENV = { ...process.env, SOURCE_DATE_EPOCH: '1700000000' }; // created_at pinned: bytes comparable
const FILES = [
  'deribit_incremental_book_L2_2020-04-01_BTC-PERPETUAL.csv.gz',
  'bitmex_trades_2020-03-01_XBTUSD.csv.gz',
  'binance-futures_trades_2020-02-22_BTCUSDT.csv.gz',
].map((f) => path.join(FIXTURE_DIR, f));
const NAMES = ['book_snapshot_5_1s', 'book_snapshot_3_0ms', 'trade_bar_1m', 'trade_bar_10ticks'];
const EXPECTED = [
  'day-2020-02-22/data_type-trade_bar_10ticks/BINANCE-FUTURES:PERPETUAL:BTC-USDT.parquet',
  'day-2020-02-22/data_type-trade_bar_1m/BINANCE-FUTURES:PERPETUAL:BTC-USDT.parquet',
  'day-2020-03-01/data_type-trade_bar_10ticks/BITMEX:PERPETUAL:BTC-USD.parquet',
  'day-2020-03-01/data_type-trade_bar_1m/BITMEX:PERPETUAL:BTC-USD.parquet',
  'day-2020-04-01/data_type-book_snapshot_3_0ms/DERIBIT:PERPETUAL:BTC-USD.parquet',
  'day-2020-04-01/data_type-book_snapshot_5_1s/DERIBIT:PERPETUAL:BTC-USD.parquet',
].map((f) => `derived_data/by_date/${f}`);

const derive = (store, extra = [], env = ENV) =>
  run(['derive', '--from', '2020-02-22', '--to', '2020-04-01', '--output', store, ...extra], { env, cwd: ROOT_TMP });

// The bytes before the footer (the column chunks).
function parquetBody(file) {
  const b = fs.readFileSync(file);
  return b.subarray(0, b.length - 8 - b.readUInt32LE(b.length - 8));
}

// stdout lines OUTCOME<TAB>ITEM<TAB>OBJECT as [outcome, item, object relative to store].
const lines = (stdout, store) => stdout.trim().split('\n').filter(Boolean).map((l) => {
  const [o, item, obj] = l.split('\t');
  return [o, item, obj === '-' ? '-' : path.relative(store, path.resolve(ROOT_TMP, obj))];
});

/** A store with the raw objects of `files` (convert, no --derive). */
function rawStore(name, files = FILES) {
  const store = path.join(mkTmp(ROOT_TMP, name), 'store');
  runOk(['convert', ...files, '--output', store], { env: ENV });
  return store;
}

// convert --derive of the fixtures, made once: what derive must write.
let referenceStore;
function reference() {
  if (!referenceStore) {
    referenceStore = path.join(mkTmp(ROOT_TMP, 'reference'), 'store');
    runOk(['convert', ...FILES, '--output', referenceStore, '--derive', [...NAMES].join(',')], { env: ENV });
  }
  return referenceStore;
}

describe('derive: from stored raw Parquet, as convert --derive computes it', () => {
  let store, reference_;
  before(() => {
    store = rawStore('main');
    reference_ = reference();
  });

  it('lists the stored raw objects and writes every derived object, equal to convert --derive\'s', async () => {
    const args = ['--derive', NAMES.join(',')];
    const r = derive(store, args);
    assert.equal(r.code, 0, describeRun(args, r));
    const out = lines(r.stdout, store);
    assert.deepEqual(out.map((l) => l[2]).sort(), EXPECTED, r.stdout);
    for (const l of out) assert.equal(l[0], 'done');
    // Items listed from the store are named by their instrument key.
    assert.ok(out.some((l) => l[1] === '2020-04-01/incremental_book_L2/deribit/DERIBIT:PERPETUAL:BTC-USD'), r.stdout);
    assert.match(r.stderr, /summary: 3 items: 3 done, 0 skipped/);
    assert.deepEqual(listFiles(path.join(store, 'derived_data')), EXPECTED.map((f) => f.slice('derived_data/'.length)));
    for (const rel of EXPECTED) {
      const a = path.join(store, rel), b = path.join(reference_, rel);
      assert.ok(parquetBody(a).equals(parquetBody(b)), `${rel}: column chunks differ`);
      const ka = await duckKvMetadata(a), kb = await duckKvMetadata(b);
      // `source`: the raw object read (derive), the CSV (convert).
      assert.equal(ka.source, path.join(store, ka.source_object));
      assert.deepEqual({ ...ka, source: '' }, { ...kb, source: '' }, rel);
      const ra = await duckReadAll(a), rb = await duckReadAll(b);
      assert.ok(ra.rows.length > 0, rel);
      assert.deepEqual(ra.rows, rb.rows, rel);
    }
  });

  it('a rerun writes nothing; --force recomputes the same objects', () => {
    const stat = (rel) => fs.statSync(path.join(store, rel));
    const before = Object.fromEntries(EXPECTED.map((rel) => [rel, stat(rel)]));
    const bodies = Object.fromEntries(EXPECTED.map((rel) => [rel, parquetBody(path.join(store, rel))]));
    const again = derive(store, ['--derive', NAMES.join(',')]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, '');
    assert.match(again.stderr, /summary: 3 items: 0 done, 3 skipped/);
    for (const rel of EXPECTED) {
      assert.equal(stat(rel).ino, before[rel].ino, rel);
      assert.equal(stat(rel).mtimeMs, before[rel].mtimeMs, rel);
    }
    // One name removed: only it is computed again, the others are kept.
    fs.rmSync(path.join(store, EXPECTED[0]));
    const one = derive(store, ['--derive', NAMES.join(',')]);
    assert.equal(one.code, 0, one.stderr);
    assert.deepEqual(lines(one.stdout, store).map((l) => l[2]), [EXPECTED[0]]);
    assert.ok(parquetBody(path.join(store, EXPECTED[0])).equals(bodies[EXPECTED[0]]));
    assert.equal(stat(EXPECTED[1]).ino, before[EXPECTED[1]].ino);

    const forced = derive(store, ['--derive', NAMES.join(','), '--force']);
    assert.equal(forced.code, 0, forced.stderr);
    assert.deepEqual(lines(forced.stdout, store).map((l) => l[2]).sort(), EXPECTED);
    assert.match(forced.stderr, /summary: 3 items: 3 done, 0 skipped/);
    for (const rel of EXPECTED) {
      assert.notEqual(stat(rel).ino, before[rel].ino, `${rel}: replaced`);
      assert.ok(parquetBody(path.join(store, rel)).equals(bodies[rel]), rel);
    }
  });

  it('selects by exchange, by symbols (the plan of download) and by derived names in --data-types', () => {
    const sel = rawStore('select');
    let r = derive(sel, ['--exchanges', 'bitmex', '--derive', 'trade_bar_1m,book_snapshot_5_1s']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(lines(r.stdout, sel), [['done', '2020-03-01/trades/bitmex/BITMEX:PERPETUAL:BTC-USD',
      'derived_data/by_date/day-2020-03-01/data_type-trade_bar_1m/BITMEX:PERPETUAL:BTC-USD.parquet']]);
    // --symbols: download's items; one not stored is `missing` (exit 1), the others are computed.
    r = run(['derive', '--from', '2020-04-01', '--symbols', 'deribit:BTC-PERPETUAL,deribit:ETH-PERPETUAL',
      '--data-types', 'book_snapshot_5_1s', '--output', sel], { env: ENV, cwd: ROOT_TMP });
    assert.equal(r.code, 1, r.stderr);
    assert.deepEqual(lines(r.stdout, sel).sort(), [
      ['done', '2020-04-01/incremental_book_L2/deribit/BTC-PERPETUAL', EXPECTED[5]],
      ['missing', '2020-04-01/incremental_book_L2/deribit/ETH-PERPETUAL', '-'],
    ]);
    assert.match(r.stderr, /missing 2020-04-01\/incremental_book_L2\/deribit\/ETH-PERPETUAL: no raw object .*data_type-incremental_book_L2\/DERIBIT:PERPETUAL:ETH-USD\.parquet to compute from \(download it first\)/);
    assert.match(r.stderr, /1 done, .* 0 cancelled, 1 missing;/);
    assert.ok(parquetBody(path.join(sel, EXPECTED[5])).equals(parquetBody(path.join(reference_, EXPECTED[5]))));
    // Without --symbols, a selection with no raw object at all (a mistyped --output): exit 2, naming the store.
    const typo = path.join(ROOT_TMP, 'no-such-store');
    r = derive(typo, ['--derive', 'trade_bar_1m']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /no raw objects of trades from 2020-02-22 to 2020-04-01 in .*no-such-store.* check --output/);
    assert.ok(!fs.existsSync(typo));
  });

  it('a raw object that cannot be read fails its item, naming it; the other items are computed', () => {
    const bad = rawStore('corrupt');
    const raw = path.join(bad, 'raw_tick_data/by_date/day-2020-03-01/data_type-trades/BITMEX:PERPETUAL:BTC-USD.parquet');
    const b = fs.readFileSync(raw);
    b.write('XXXX', b.length - 4); // no trailing PAR1
    fs.writeFileSync(raw, b);
    const summary = path.join(ROOT_TMP, 'corrupt-summary.json');
    const r = derive(bad, ['--derive', 'trade_bar_1m', '--summary-json', summary]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /failed 2020-03-01\/trades\/bitmex\/BITMEX:PERPETUAL:BTC-USD: computing derived data from .*BITMEX:PERPETUAL:BTC-USD\.parquet: /);
    assert.deepEqual(lines(r.stdout, bad).map((l) => l[2]), [EXPECTED[1]]);
    assert.ok(!fs.existsSync(path.join(bad, EXPECTED[3])));
    assert.ok(fs.readFileSync(raw).equals(b), 'the raw object is left as it is');
    const s = JSON.parse(fs.readFileSync(summary, 'utf8'));
    assert.equal(s.items, 2);
    assert.equal(s.counts.done, 1);
    assert.equal(s.counts.failed, 1);
    assert.equal(s.counts.missing, 0);
    assert.match(s.results.find((x) => x.outcome === 'failed').reason, /BITMEX:PERPETUAL:BTC-USD\.parquet/);
  });

  it('shards: every item exactly once across the shards, by --shard or an indexed job\'s variables', () => {
    // Generated: the fixtures' raw objects copied under more days, so the plan has 15 items.
    const sh = rawStore('shards');
    for (const day of ['2020-04-02', '2020-04-03', '2020-04-04', '2020-04-05']) {
      for (const rel of listFiles(path.join(sh, 'raw_tick_data'))) {
        if (!rel.startsWith('by_date/day-2020-0')) continue;
        const to = path.join(sh, 'raw_tick_data', rel.replace(/day-2020-0\d-\d\d/, `day-${day}`));
        if (fs.existsSync(to)) continue;
        fs.mkdirSync(path.dirname(to), { recursive: true });
        fs.copyFileSync(path.join(sh, 'raw_tick_data', rel), to);
      }
    }
    const all = (extra, env = ENV) => {
      const r = run(['derive', '--from', '2020-02-22', '--to', '2020-04-05', '--output', sh, '--derive', 'trade_bar_1m,book_snapshot_5_1s',
        ...extra], { env, cwd: ROOT_TMP });
      assert.equal(r.code, 0, r.stderr);
      return [...new Set(lines(r.stdout, sh).map((l) => l[1]))];
    };
    const seen = [];
    for (let i = 0; i < 3; i++) {
      const got = all(['--shard', `${i}/3`]);
      assert.ok(got.length > 0, `shard ${i}/3 has items`);
      seen.push(...got);
    }
    assert.equal(seen.length, 15, seen.join('\n'));
    assert.equal(new Set(seen).size, 15, 'no item in two shards');
    // Every item's objects exist now: an unsharded run has nothing left.
    const rest = run(['derive', '--from', '2020-02-22', '--to', '2020-04-05', '--output', sh, '--derive', 'trade_bar_1m,book_snapshot_5_1s'],
      { env: ENV, cwd: ROOT_TMP });
    assert.match(rest.stderr, /summary: 15 items: 0 done, 15 skipped/);
    // A Kubernetes indexed job (JOB_COMPLETION_INDEX with --shards) takes the same slice as --shard.
    const again = (extra, env) => {
      const r = run(['derive', '--from', '2020-02-22', '--to', '2020-04-05', '--output', sh, '--derive', 'trade_bar_1m,book_snapshot_5_1s',
        '--force', ...extra], { env, cwd: ROOT_TMP });
      assert.equal(r.code, 0, r.stderr);
      return [...new Set(lines(r.stdout, sh).map((l) => l[1]))].sort();
    };
    assert.deepEqual(again(['--shards', '3'], { ...ENV, JOB_COMPLETION_INDEX: '1' }), again(['--shard', '1/3'], ENV));
    assert.deepEqual(again([], { ...ENV, BATCH_TASK_INDEX: '2', BATCH_TASK_COUNT: '3' }), again(['--shard', '2/3'], ENV));
  });
});

describe('derived items in missing-data reports: validate lists them, --from-report recomputes them', () => {
  const KEY = 'DERIBIT:PERPETUAL:BTC-USD';
  const rel = (name) => `derived_data/by_date/day-2020-04-01/data_type-${name}/${KEY}.parquet`;
  const rawRel = `raw_tick_data/by_date/day-2020-04-01/data_type-incremental_book_L2/${KEY}.parquet`;
  const sel = ['--from', '2020-04-01', '--symbols', 'deribit:BTC-PERPETUAL'];
  const validate = (store) => run(['validate', ...sel, '--data-types', 'incremental_book_L2', '--derive',
    'book_snapshot_5_1s,book_snapshot_3_0ms', '--output', store], { env: ENV, cwd: ROOT_TMP });
  let srv;
  after(async () => { await srv?.close(); });

  it('derive --from-report computes the missing derived item, and validate then finds it complete', () => {
    const store = path.join(mkTmp(ROOT_TMP, 'report'), 'store');
    runOk(['convert', FILES[0], '--output', store, '--derive', 'book_snapshot_5_1s'], { env: ENV });
    let v = validate(store);
    assert.equal(v.code, 1, v.stdout + v.stderr);
    assert.match(v.stdout, /^missing\t2020-04-01\tbook_snapshot_3_0ms\tDERIBIT:PERPETUAL:BTC-USD$/m);
    const r = run(['derive', '--from', '2020-04-01', '--from-report', '--output', store], { env: ENV, cwd: ROOT_TMP });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(lines(r.stdout, store), [['done', '2020-04-01/incremental_book_L2/deribit/BTC-PERPETUAL', rel('book_snapshot_3_0ms')]]);
    assert.ok(parquetBody(path.join(store, rel('book_snapshot_3_0ms'))).equals(parquetBody(path.join(reference(), rel('book_snapshot_3_0ms')))));
    v = validate(store);
    assert.equal(v.code, 0, v.stdout + v.stderr);
  });

  it('download --from-report computes a missing derived item from the stored raw object, without a request', async () => {
    const { startServer } = await import('../support/tardis_server.mjs');
    srv = await startServer();
    const store = path.join(mkTmp(ROOT_TMP, 'report-dl'), 'store');
    runOk(['convert', FILES[0], '--output', store, '--derive', 'book_snapshot_5_1s'], { env: ENV });
    fs.rmSync(path.join(store, rel('book_snapshot_5_1s')));
    assert.equal(validate(store).code, 1);
    const rawStat = fs.statSync(path.join(store, rawRel));
    const args = ['download', '--from', '2020-04-01', '--from-report', '--output', store];
    const r = await runAsync(args, { cwd: ROOT_TMP, env: { ...ENV, TARDIS_DATASETS_URL: srv.url, TARDIS_API_KEY: 'k' } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(srv.stats().requests.filter((q) => q.path.endsWith('.csv.gz')).length, 0, 'no download');
    assert.deepEqual(lines(r.stdout, store).map((l) => l[2]).sort(), [rel('book_snapshot_3_0ms'), rel('book_snapshot_5_1s')]);
    assert.equal(fs.statSync(path.join(store, rawRel)).ino, rawStat.ino, 'the raw object is kept');
    assert.equal(validate(store).code, 0);
  });
});

describe('derived series of a grouped file', () => {
  // Generated: a Deribit OPTIONS trades day of three options (made-up values, real row shape), and
  // each option's rows as its own file.
  const HEADER = 'exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n';
  const SYMS = [['BTC-1JAN24-40000-C', 'DERIBIT:OPTION:BTC-USD-240101-40000-CALL'],
    ['BTC-1JAN24-40000-P', 'DERIBIT:OPTION:BTC-USD-240101-40000-PUT'], ['ETH-1JAN24-2000-C', 'DERIBIT:OPTION:ETH-USD-240101-2000-CALL']];
  const rel = (name, key) => `derived_data/by_date/day-2024-01-01/data_type-${name}/${key}.parquet`;
  let dir, grouped;
  const own = [];
  before(() => {
    dir = mkTmp(ROOT_TMP, 'grouped');
    let all = HEADER;
    const per = SYMS.map(() => HEADER);
    for (let i = 0; i < 600; i++) {
      const ts = 1704067200000000 + i * 7_000_000;
      const row = `deribit,${SYMS[i % 3][0]},${ts},${ts + 7},${i},${i % 2 ? 'sell' : 'buy'},0.${(i % 97) + 1},${(i % 50) + 1}\n`;
      all += row;
      per[i % 3] += row;
    }
    grouped = path.join(dir, 'deribit_trades_2024-01-01_OPTIONS.csv');
    fs.writeFileSync(grouped, all);
    SYMS.forEach(([sym], i) => {
      own.push(path.join(dir, `deribit_trades_2024-01-01_${sym}.csv`));
      fs.writeFileSync(own[i], per[i]);
    });
  });

  it('convert --derive computes each instrument\'s series, as from the instrument\'s own file', () => {
    const store = path.join(dir, 'grouped-store'), ref = path.join(dir, 'own-store');
    const r = runOk(['convert', grouped, '--output', store, '--derive', 'trade_bar_1m,book_snapshot_5_1s'], { env: ENV });
    assert.equal(r.stderr.split('book_snapshot_5_1s: skipped').length - 1, 1, r.stderr);
    runOk(['convert', ...own, '--output', ref, '--derive', 'trade_bar_1m'], { env: ENV });
    assert.deepEqual(listFiles(path.join(store, 'derived_data')), listFiles(path.join(ref, 'derived_data')));
    for (const [, key] of SYMS) {
      const f = rel('trade_bar_1m', key);
      assert.ok(fs.existsSync(path.join(store, f)), f);
      assert.ok(parquetBody(path.join(store, f)).equals(parquetBody(path.join(ref, f))), `${f}: column chunks differ`);
    }
  });

  // One series of a grouped item damaged: validate reports it corrupt, and derive --from-report computes that
  // series again, alone (every series of the item's instruments was rewritten, all listed done).
  it('derive --from-report recomputes the one corrupt series of a grouped item, not the item\'s others', () => {
    const store = path.join(dir, 'report-store');
    runOk(['convert', grouped, '--output', store, '--derive', 'trade_bar_1m'], { env: ENV });
    const [bad, ...good] = SYMS.map(([, key]) => path.join(store, rel('trade_bar_1m', key)));
    const wanted = fs.readFileSync(bad);
    fs.truncateSync(bad, 100);
    const inodes = good.map((f) => fs.statSync(f).ino);
    const v = run(['validate', '--from', '2024-01-01', '--symbols', 'deribit:OPTIONS', '--data-types', 'trades', '--derive',
      'trade_bar_1m', '--deep', '--output', store], { env: ENV, cwd: ROOT_TMP });
    assert.equal(v.code, 1, v.stdout + v.stderr);
    assert.match(v.stdout, /^corrupt\t2024-01-01\ttrade_bar_1m\tDERIBIT:OPTION:BTC-USD-240101-40000-CALL\t/m, v.stdout);
    const r = runOk(['derive', '--from', '2024-01-01', '--from-report', '--output', store], { env: ENV });
    assert.equal(r.stdout, `done\t2024-01-01/trades/deribit/OPTIONS\t${bad}\n`);
    assert.ok(fs.readFileSync(bad).equals(wanted), 'the series as it was written first');
    assert.deepEqual(good.map((f) => fs.statSync(f).ino), inodes, 'the other series are kept as they are');
  });

  // A grouped item one of whose recorded objects is gone: the others' series are computed and listed, and the item
  // ends missing (exit 1) naming the object (it stopped at the gone one, and listed nothing it had written).
  it('derive of a grouped item with a recorded object gone computes the others\' series, then says missing', () => {
    const store = path.join(dir, 'gone-store');
    runOk(['convert', grouped, '--output', store], { env: ENV });
    const gone = `raw_tick_data/by_date/day-2024-01-01/data_type-trades/${SYMS[0][1]}.parquet`;
    fs.rmSync(path.join(store, gone));
    const r = run(['derive', '--from', '2024-01-01', '--symbols', 'deribit:OPTIONS', '--derive', 'trade_bar_1m',
      '--output', store], { env: ENV, cwd: ROOT_TMP });
    assert.equal(r.code, 1, r.stderr);
    const item = '2024-01-01/trades/deribit/OPTIONS';
    assert.deepEqual(r.stdout.trim().split('\n'), [
      ...SYMS.slice(1).map(([, key]) => `done\t${item}\t${path.join(store, rel('trade_bar_1m', key))}`),
      `missing\t${item}\t-`]);
    assert.match(r.stderr, new RegExp(`missing ${item}: 1 of the objects its completion record lists is gone \\(${path.join(store, gone).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\): no series of it computed, those of the others are`), r.stderr);
    assert.equal(fs.existsSync(path.join(store, rel('trade_bar_1m', SYMS[0][1]))), false);
  });

  // convert --no-force --derive of a grouped file whose objects are stored: the objects are kept as they are and
  // their missing series computed from them, as for a file of one instrument (none was, without a word).
  it('convert --no-force --derive of a grouped file computes the kept objects\' missing series', () => {
    const store = path.join(dir, 'no-force-store'), ref = path.join(dir, 'own-store');
    runOk(['convert', grouped, '--output', store], { env: ENV });
    const raws = listFiles(path.join(store, 'raw_tick_data')).map((f) => [f, fs.statSync(path.join(store, 'raw_tick_data', f)).ino]);
    fs.mkdirSync(path.dirname(path.join(store, rel('trade_bar_1m', SYMS[2][1]))), { recursive: true });
    runOk(['convert', own[2], '--output', path.join(dir, 'one-store'), '--derive', 'trade_bar_1m'], { env: ENV });
    fs.copyFileSync(path.join(dir, 'one-store', rel('trade_bar_1m', SYMS[2][1])), path.join(store, rel('trade_bar_1m', SYMS[2][1])));
    const before = fs.statSync(path.join(store, rel('trade_bar_1m', SYMS[2][1]))).ino;
    const r = runOk(['convert', grouped, '--output', store, '--no-force', '--derive', 'trade_bar_1m'], { env: ENV });
    assert.deepEqual(r.stdout.trim().split('\n').map((l) => l.split('\t')[0]).sort(),
      SYMS.slice(0, 2).map(([, key]) => path.join(store, rel('trade_bar_1m', key))).sort(), r.stdout);
    for (const [, key] of SYMS) {
      const f = rel('trade_bar_1m', key);
      assert.ok(parquetBody(path.join(store, f)).equals(parquetBody(path.join(ref, f))), `${f}: column chunks differ`);
    }
    assert.equal(fs.statSync(path.join(store, rel('trade_bar_1m', SYMS[2][1]))).ino, before, 'the series there is kept');
    assert.deepEqual(listFiles(path.join(store, 'raw_tick_data')).map((f) => [f, fs.statSync(path.join(store, 'raw_tick_data', f)).ino]), raws,
      'the raw objects are kept as they were');
  });

  // A Tardis test server serving the grouped day (as deribit's OPTIONS file), and `download` of that
  // item into `store` with `extra` flags, run asynchronously (the server answers in this process).
  async function groupedServer(name) {
    const { startServer } = await import('../support/tardis_server.mjs');
    const zlib = await import('node:zlib');
    const data = mkTmp(ROOT_TMP, name);
    fs.writeFileSync(path.join(data, 'deribit_trades_2024-01-01_OPTIONS.csv.gz'), zlib.gzipSync(fs.readFileSync(grouped)));
    return startServer({ dataDirs: [data] });
  }
  function downloadGrouped(srv, store, extra) {
    const args = ['download', '--from', '2024-01-01', '--symbols', 'deribit:OPTIONS', '--data-types', 'trades',
      '--output', store, ...extra];
    return runAsync(args, { cwd: ROOT_TMP, env: { ...ENV, TARDIS_DATASETS_URL: srv.url, TARDIS_API_KEY: 'k' } });
  }

  it('download --derive of a grouped item computes each instrument\'s series', async () => {
    const srv = await groupedServer('grouped-data');
    try {
      const store = path.join(dir, 'download-store'), ref = path.join(dir, 'own-store');
      const r = await downloadGrouped(srv, store, ['--derive', 'trade_bar_1m']);
      assert.equal(r.code, 0, r.stderr);
      for (const [, key] of SYMS) {
        const f = rel('trade_bar_1m', key);
        assert.ok(r.stdout.includes(f), `${f} listed:\n${r.stdout}`);
        assert.ok(parquetBody(path.join(store, f)).equals(parquetBody(path.join(ref, f))), `${f}: column chunks differ`);
      }
    } finally {
      await srv.close();
    }
  });

  // A grouped item downloaded without --derive was skipped on its completion record by a rerun with
  // --derive, and got no series (an item of one instrument gets its missing series from its stored
  // object): the series are computed from the objects the record lists, without a request.
  it('download --derive of a grouped item already downloaded without it computes the series from its objects', async () => {
    const srv = await groupedServer('grouped-data-later');
    const download = (extra) => downloadGrouped(srv, store, extra);
    const store = path.join(dir, 'download-later-store'), ref = path.join(dir, 'own-store');
    try {
      const first = await download([]);
      assert.equal(first.code, 0, first.stderr);
      assert.equal(listFiles(path.join(store, 'derived_data')).length, 0);
      const r = await download(['--derive', 'trade_bar_1m']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /summary: 1 items: 1 done/);
      assert.equal(r.stdout.trim().split('\n').length, SYMS.length, `the series alone listed:\n${r.stdout}`);
      for (const [, key] of SYMS) {
        const f = rel('trade_bar_1m', key);
        assert.ok(r.stdout.includes(`done\t2024-01-01/trades/deribit/OPTIONS\t${path.join(store, f)}`), `${f} listed:\n${r.stdout}`);
        assert.ok(parquetBody(path.join(store, f)).equals(parquetBody(path.join(ref, f))), `${f}: column chunks differ`);
      }
      const requests = srv.stats().requests.filter((q) => q.path.endsWith('.csv.gz'));
      assert.equal(requests.length, 1, 'the file was downloaded once, by the first run');
      // Everything there now: skipped, nothing written, no request.
      const again = await download(['--derive', 'trade_bar_1m']);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stderr, /summary: 1 items: 0 done, 1 skipped/);
      assert.equal(again.stdout, '');
      assert.equal(srv.stats().requests.filter((q) => q.path.endsWith('.csv.gz')).length, 1);
    } finally {
      await srv.close();
    }
  });

  it('a file of many instruments whose name does not say so: series after the split, within ulimit -n 64', async () => {
    // The grouped day's rows plus 60 more options (generated), in a file named nothing Tardis-like.
    let body = fs.readFileSync(grouped, 'utf8');
    for (let i = 0; i < 600; i++) {
      const ts = 1704067200000000 + i * 7_000_000 + 3;
      body += `deribit,BTC-1JAN24-${50000 + (i % 60) * 100}-C,${ts},${ts + 7},x${i},buy,0.0${(i % 9) + 1},1\n`;
    }
    const file = path.join(dir, 'many.csv');
    fs.writeFileSync(file, body);
    const store = path.join(dir, 'many-store'), ref = path.join(dir, 'own-store');
    const args = ['convert', file, '--data-type', 'trades', '--output', store, '--derive', 'trade_bar_1m'];
    const r = spawnSync('/bin/sh', ['-c', 'ulimit -n 64 && exec "$0" "$@"', BIN, ...args],
      { cwd: ROOT_TMP, env: ENV, encoding: 'utf8' });
    assert.equal(r.status, 0, describeRun(args, { ...r, code: r.status }));
    const raw = listFiles(path.join(store, 'raw_tick_data'));
    const derived = listFiles(path.join(store, 'derived_data'));
    assert.equal(raw.length, 63);
    assert.equal(derived.length, 63);
    for (const [, key] of SYMS) {
      const f = rel('trade_bar_1m', key);
      assert.ok(parquetBody(path.join(store, f)).equals(parquetBody(path.join(ref, f))), `${f}: column chunks differ`);
    }
  });

  it('derive under ulimit -n 64 with --concurrency 64: fewer items at once, said once, every item done', () => {
    // 200 options (generated names of the real shape), 3 rows each, stored by convert. Each item at
    // once holds its raw object and its derived object's files: 64 of them passed 64 descriptors, and
    // items failed with "Too many open files" (exit 1 or 3).
    const n = 200;
    const sym = (i) => `BTC-1JAN24-${10000 + 100 * (i >> 1)}-${i % 2 ? 'P' : 'C'}`;
    let body = HEADER;
    for (let k = 0; k < 3; k++) {
      for (let i = 0; i < n; i++) {
        const ts = 1704067200000000 + (k * n + i) * 1_000_000;
        body += `deribit,${sym(i)},${ts},${ts + 7},${k * n + i},buy,0.0${(i % 9) + 1},1\n`;
      }
    }
    const file = path.join(dir, 'limited', 'deribit_trades_2024-01-01_OPTIONS.csv');
    fs.mkdirSync(path.dirname(file));
    fs.writeFileSync(file, body);
    const store = path.join(dir, 'limited', 'store');
    runOk(['convert', file, '--output', store], { env: ENV });
    assert.equal(listFiles(path.join(store, 'raw_tick_data')).filter((f) => f.endsWith('.parquet')).length, n);
    const args = ['derive', '--from', '2024-01-01', '--derive', 'trade_bar_1m', '--output', store, '--concurrency', '64'];
    const r = spawnSync('/bin/sh', ['-c', 'ulimit -n 64 && exec "$0" "$@"', BIN, ...args],
      { cwd: ROOT_TMP, env: ENV, encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, describeRun(args, { ...r, code: r.status }));
    assert.match(r.stderr, new RegExp(`summary: ${n} items: ${n} done, 0 skipped, 0 no data, 0 not available, 0 failed, 0 failed \\(retryable\\)`), r.stderr.slice(-2000));
    assert.match(r.stderr, /--concurrency 64: the open-file limit \(ulimit -n\) of 64 leaves room for \d+ items at once; running that many/, r.stderr.slice(0, 2000));
    assert.equal(r.stderr.match(/open-file limit/g).length, 1, 'said once');
    assert.equal(listFiles(path.join(store, 'derived_data')).length, n);
  });

  // A grouped file's rows without an instrument key (a combo in a Deribit OPTIONS file) are kept under
  // DERIBIT:UNKEYED:{symbol} and get no series in convert, download and derive without --symbols;
  // derive --symbols deribit:OPTIONS, which takes the objects from the completion record, wrote one.
  it('derive --symbols of a grouped item computes no series of its rows without a key', () => {
    const store = path.join(mkTmp(ROOT_TMP, 'unkeyed'), 'store');
    const file = path.join(path.dirname(store), 'deribit_trades_2024-01-01_OPTIONS.csv');
    const body = fs.readFileSync(grouped, 'utf8').trimEnd().split('\n');
    for (let i = 0; i < 20; i++) {
      const ts = 1704067200000000 + i * 60_000_000 + 11;
      body.push(`deribit,BTC-FS-5JAN24_PERP,${ts},${ts + 7},c${i},buy,10,1`);
    }
    const header = body.shift();
    body.sort((a, b) => Number(a.split(',')[3]) - Number(b.split(',')[3]));
    fs.writeFileSync(file, [header, ...body].join('\n') + '\n');
    const c = run(['convert', file, '--output', store], { env: ENV, cwd: ROOT_TMP });
    assert.equal(c.code, 1, c.stderr);  // rows kept under no key: exit 1, as documented
    assert.ok(fs.existsSync(path.join(store, 'raw_tick_data/by_date/day-2024-01-01/data_type-trades/DERIBIT:UNKEYED:BTC-FS-5JAN24_PERP.parquet')));
    const r = run(['derive', '--from', '2024-01-01', '--symbols', 'deribit:OPTIONS', '--derive', 'trade_bar_1m', '--output', store],
      { env: ENV, cwd: ROOT_TMP });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(listFiles(path.join(store, 'derived_data')),
      SYMS.map(([, key]) => rel('trade_bar_1m', key).slice('derived_data/'.length)).sort());
  });

  it('derive over the per-instrument objects written from a grouped file', () => {
    const store = path.join(dir, 'derive-store'), ref = path.join(dir, 'own-store');
    runOk(['convert', grouped, '--output', store], { env: ENV });
    const r = run(['derive', '--from', '2024-01-01', '--exchanges', 'deribit', '--derive', 'trade_bar_1m', '--output', store],
      { env: ENV, cwd: ROOT_TMP });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /summary: 3 items: 3 done/);
    for (const [, key] of SYMS) {
      const f = rel('trade_bar_1m', key);
      assert.ok(parquetBody(path.join(store, f)).equals(parquetBody(path.join(ref, f))), `${f}: column chunks differ`);
    }
  });
});

// A raw object that holds another instrument's file (copied over it by hand, or a sync gone wrong):
// its footer says whose it is, and derive refuses it instead of filing bitmex's bars under binance.
describe('derive: a raw object holding another instrument\'s rows', () => {
  it('fails its item naming both, exit 1, nothing written; the other items are computed', () => {
    const store = rawStore('swapped', FILES.slice(1));
    const raw = (day, key) => path.join(store, 'raw_tick_data', 'by_date', `day-${day}`, 'data_type-trades', `${key}.parquet`);
    fs.copyFileSync(raw('2020-03-01', 'BITMEX:PERPETUAL:BTC-USD'), raw('2020-02-22', 'BINANCE-FUTURES:PERPETUAL:BTC-USDT'));
    const r = derive(store, ['--derive', 'trade_bar_1m']);
    assert.equal(r.code, 1, describeRun(['derive'], r));
    assert.match(r.stderr, /BINANCE-FUTURES:PERPETUAL:BTC-USDT\.parquet: its metadata says instrument_key BITMEX:PERPETUAL:BTC-USD, not BINANCE-FUTURES:PERPETUAL:BTC-USDT: the object holds other data than its name says; download or convert it again with --force/);
    const written = listFiles(path.join(store, 'derived_data'));
    assert.deepEqual(written, ['by_date/day-2020-03-01/data_type-trade_bar_1m/BITMEX:PERPETUAL:BTC-USD.parquet']);
  });
});
