// Store layouts (docs/STORAGE.md "Layouts") end to end, on both layouts: instruments, download,
// convert, validate --deep, download --from-report name every object in the store's layout, which
// is recorded at the root (market-tick-store.json) and kept by every later command; a write in the
// other layout is refused before anything is written. Then the views `market-tick sql` prints are
// run in DuckDB: partition columns data_type, date, exchange in both layouts, the same answers, and
// on the hive layout a filter on a partition column reads fewer files (EXPLAIN ANALYZE).
// The Tardis-compatible test server runs in process; the binary runs asynchronously beside it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

import { startServer } from '../support/tardis_server.mjs';
import { BIN, FIXTURE_DIR, ROOT, listFiles } from './lib/harness.mjs';

const DETAILS_DIR = path.join(ROOT, 'tests', 'fixtures', 'exchange_details');
const ROOT_TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'mt-layout-'));
const fixture = (name) => path.join(FIXTURE_DIR, name);
let srv;

before(async () => {
  srv = await startServer({ exchangeDetailsDir: DETAILS_DIR });
});
after(async () => {
  await srv?.close();
  fs.rmSync(ROOT_TMP, { recursive: true, force: true });
});

function mt(args, env = {}) {
  const e = {
    PATH: process.env.PATH ?? '/usr/bin:/bin', TARDIS_API_URL: srv.url, TARDIS_DATASETS_URL: srv.url, TARDIS_API_KEY: 'k',
    SOURCE_DATE_EPOCH: '1700000000', RETRY_BASE_SECONDS: '0.02', ...env,
  };
  const child = spawn(BIN, args, { cwd: ROOT_TMP, env: e, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d; });
  child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ args, code, stdout, stderr }); });
  });
}
const show = (r) => `market-tick ${r.args.join(' ')}\n exit ${r.code}\n stdout: ${r.stdout.slice(0, 3000)}\n stderr: ${r.stderr.slice(0, 3000)}`;
async function mtOk(args, env) {
  const r = await mt(args, env);
  assert.equal(r.code, 0, show(r));
  return r;
}

// The names each layout gives (docs/STORAGE.md).
const NAMES = {
  by_date: {
    tick: (day, dt, ex, key) => `raw_tick_data/by_date/day-${day}/data_type-${dt}/${key}.parquet`,
    instruments: (day) => `instrument_availability/by_date/day-${day}/instruments.parquet`,
    report: (day) => `missing_data_reports/by_date/day-${day}/missing_data.parquet`,
  },
  hive: {
    tick: (day, dt, ex, key) => `raw_tick_data/data_type=${dt}/date=${day}/exchange_id=${ex}/${key.replaceAll(':', '.')}.parquet`,
    instruments: (day) => `instrument_availability/date=${day}/instruments.parquet`,
    report: (day) => `missing_data_reports/date=${day}/missing_data.parquet`,
  },
};
const SEL = ['--from', '2020-02-22', '--exchanges', 'binance-futures', '--data-types', 'trades,quotes', '--symbols', 'BTCUSDT'];
const CONVERTED = ['bitmex_trades_2020-03-01_XBTUSD.csv.gz', 'deribit_options_chain_2020-06-08_OPTIONS.csv.gz',
  'binance-futures_book_snapshot_5_2020-09-01_BTCUSDT.csv.gz'];

/** Runs every writing command on one store of `layout`; returns the store's directory. */
async function buildStore(layout) {
  const out = path.join(ROOT_TMP, `store-${layout}`);
  const n = NAMES[layout];
  // instruments picks the layout (the first write records it) ...
  await mtOk(['instruments', '--from', '2020-02-22', '--exchanges', 'binance-futures', '--output', out, '--layout', layout]);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, 'market-tick-store.json'), 'utf8')),
    { format_version: layout === 'hive' ? 2 : 1, layout });
  assert.ok(fs.existsSync(path.join(out, n.instruments('2020-02-22'))), listFiles(out).join('\n'));
  // ... and the later commands take it from the store, without --layout.
  await mtOk(['download', ...SEL, '--output', out]);
  await mtOk(['convert', ...CONVERTED.map(fixture), '--output', out]);
  for (const [day, dt, ex, key] of [
    ['2020-02-22', 'trades', 'binance-futures', 'BINANCE-FUTURES:PERPETUAL:BTC-USDT'],
    ['2020-02-22', 'quotes', 'binance-futures', 'BINANCE-FUTURES:PERPETUAL:BTC-USDT'],
    ['2020-03-01', 'trades', 'bitmex', 'BITMEX:PERPETUAL:BTC-USD'],
    ['2020-06-08', 'options_chain', 'deribit', 'DERIBIT:OPTIONS:BTC-USD'],
    ['2020-09-01', 'book_snapshot_5', 'binance-futures', 'BINANCE-FUTURES:PERPETUAL:BTC-USDT'],
  ]) {
    assert.ok(fs.existsSync(path.join(out, n.tick(day, dt, ex, key))), `${n.tick(day, dt, ex, key)} in\n${listFiles(out).join('\n')}`);
  }
  return out;
}

/** Names outside [A-Za-z0-9._=-] and '/' (the hive layout has none). */
const oddNames = (dir) => listFiles(dir).filter((f) => !/^[A-Za-z0-9._=\-/]+$/.test(f.split(path.sep).join('/')));

async function duckOpen() {
  const inst = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false', autoload_known_extensions: 'false', threads: '1' });
  const con = await inst.connect();
  return {
    run: (sql) => con.run(sql),
    rows: async (sql) => (await con.runAndReadAll(sql)).getRowObjectsJS(),
    close: () => { con.closeSync(); inst.closeSync(); },
  };
}

const stores = {};
for (const layout of ['by_date', 'hive']) {
  describe(`${layout} layout`, () => {
    it('every command names objects in the layout recorded at the store root', async () => {
      stores[layout] = await buildStore(layout);
      if (layout === 'hive') assert.deepEqual(oddNames(stores[layout]), []);
      else assert.ok(oddNames(stores[layout]).length > 0, 'by_date keeps the colons of today');
    });

    it('validate --deep, then --from-report repairs a missing and a corrupt object', async () => {
      const out = stores[layout];
      const n = NAMES[layout];
      const v0 = await mt(['validate', ...SEL, '--output', out, '--deep']);
      assert.equal(v0.code, 0, show(v0));
      assert.ok(fs.existsSync(path.join(out, n.report('2020-02-22'))));
      const trades = path.join(out, n.tick('2020-02-22', 'trades', 'binance-futures', 'BINANCE-FUTURES:PERPETUAL:BTC-USDT'));
      const quotes = path.join(out, n.tick('2020-02-22', 'quotes', 'binance-futures', 'BINANCE-FUTURES:PERPETUAL:BTC-USDT'));
      fs.rmSync(trades);
      fs.truncateSync(quotes, Math.floor(fs.statSync(quotes).size / 2));
      const v1 = await mt(['validate', ...SEL, '--output', out, '--deep']);
      assert.equal(v1.code, 1, show(v1));
      assert.match(v1.stdout, /missing\t2020-02-22\ttrades/);
      assert.match(v1.stdout, /corrupt\t2020-02-22\tquotes/);
      await mtOk(['download', '--from', '2020-02-22', '--output', out, '--from-report']);
      assert.ok(fs.existsSync(trades));
      const v2 = await mt(['validate', ...SEL, '--output', out, '--deep']);
      assert.equal(v2.code, 0, show(v2));
    });

    it('derive names its objects in the store\'s layout, the same bytes as convert --derive; the other layout is refused', async () => {
      const out = stores[layout];
      const derivedName = layout === 'hive'
        ? 'derived_data/data_type=trade_bar_1m/date=2020-03-01/exchange_id=bitmex/BITMEX.PERPETUAL.BTC-USD.parquet'
        : 'derived_data/by_date/day-2020-03-01/data_type-trade_bar_1m/BITMEX:PERPETUAL:BTC-USD.parquet';
      const other = layout === 'hive' ? 'by_date' : 'hive';
      const refused = await mt(['derive', '--from', '2020-03-01', '--exchanges', 'bitmex', '--derive', 'trade_bar_1m',
        '--output', out, '--layout', other]);
      assert.equal(refused.code, 2, show(refused));
      assert.ok(!fs.existsSync(path.join(out, derivedName)));
      await mtOk(['derive', '--from', '2020-03-01', '--exchanges', 'bitmex', '--derive', 'trade_bar_1m', '--output', out]);
      assert.ok(fs.existsSync(path.join(out, derivedName)), listFiles(out).join('\n'));
      // The same series computed while converting, into a fresh store of this layout.
      const ref = path.join(ROOT_TMP, `derive-ref-${layout}`);
      await mtOk(['convert', fixture('bitmex_trades_2020-03-01_XBTUSD.csv.gz'), '--derive', 'trade_bar_1m', '--output', ref,
        '--layout', layout]);
      const body = (b) => b.subarray(0, b.length - 8 - b.readUInt32LE(b.length - 8));
      assert.ok(body(fs.readFileSync(path.join(out, derivedName))).equals(body(fs.readFileSync(path.join(ref, derivedName)))));
      if (layout === 'hive') assert.deepEqual(oddNames(out), []);
    });

    it('a write in the other layout is refused (exit 2) before anything is written', async () => {
      const out = stores[layout];
      const other = layout === 'hive' ? 'by_date' : 'hive';
      const before = listFiles(out);
      const record = fs.readFileSync(path.join(out, 'market-tick-store.json'), 'utf8');
      for (const [args, env] of [
        [['download', ...SEL, '--output', out, '--force', '--layout', other], {}],
        [['convert', fixture('bitmex_trades_2020-03-01_XBTUSD.csv.gz'), '--output', out], { OUTPUT_LAYOUT: other }],
        [['instruments', '--from', '2020-02-23', '--exchanges', 'binance-futures', '--output', out, '--layout', other], {}],
        [['validate', ...SEL, '--output', out, '--layout', other], {}],
      ]) {
        const r = await mt(args, env);
        assert.equal(r.code, 2, show(r));
        assert.match(r.stderr, new RegExp(`is a ${layout} store`), show(r));
      }
      assert.deepEqual(listFiles(out), before);
      assert.equal(fs.readFileSync(path.join(out, 'market-tick-store.json'), 'utf8'), record);
      // The store's own layout, said explicitly, is fine.
      await mtOk(['plan', ...SEL, '--output', out, '--layout', layout]);
    });
  });
}

describe('stores without a record', () => {
  it('by_date objects without a record are a by_date store (written before layouts existed)', async () => {
    const out = path.join(ROOT_TMP, 'legacy');
    fs.cpSync(stores.by_date, out, { recursive: true });
    fs.rmSync(path.join(out, 'market-tick-store.json'));
    const before = listFiles(out);
    const r = await mt(['convert', fixture('bitmex_trades_2020-03-01_XBTUSD.csv.gz'), '--output', out, '--layout', 'hive']);
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /holds by_date objects/);
    assert.deepEqual(listFiles(out), before);
    assert.ok(!fs.existsSync(path.join(out, 'market-tick-store.json')));
    await mtOk(['convert', fixture('bitmex_trades_2020-03-01_XBTUSD.csv.gz'), '--output', out]);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, 'market-tick-store.json'), 'utf8')),
      { format_version: 1, layout: 'by_date' });
  });

  it('a run that fails before writing leaves no record', async () => {
    const out = path.join(ROOT_TMP, 'nothing');
    const r = await mt(['download', '--from', '2020-02-22', '--exchanges', 'binance-futures', '--data-types', 'trades',
      '--output', out, '--layout', 'hive']);
    assert.notEqual(r.code, 0, show(r));  // no definitions and no --symbols
    assert.ok(!fs.existsSync(out) || fs.readdirSync(out).length === 0, fs.existsSync(out) ? fs.readdirSync(out).join() : '');
  });

  it('a bad --layout is a usage error', async () => {
    const r = await mt(['plan', ...SEL, '--layout', 'flat', '--output', path.join(ROOT_TMP, 'x')]);
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /--layout\/OUTPUT_LAYOUT must be by_date or hive/);
  });
});

describe('market-tick sql', () => {
  const views = {};
  const answers = {};
  for (const layout of ['by_date', 'hive']) {
    it(`prints DuckDB views that run over the ${layout} store`, async () => {
      const r = await mtOk(['sql', '--output', stores[layout]]);
      views[layout] = r.stdout;
      assert.match(r.stdout, /^SET TimeZone = 'UTC';\n/);
      for (const v of ['trades', 'quotes', 'options_chain', 'book_snapshot_5', 'instruments']) {
        assert.match(r.stdout, new RegExp(`CREATE OR REPLACE VIEW "${v}" AS`), r.stdout);
      }
      const db = await duckOpen();
      try {
        await db.run(r.stdout);
        const tz = await db.rows(`SELECT current_setting('TimeZone') AS tz`);
        assert.equal(tz[0].tz, 'UTC');
        // The view's columns: the files' own, plus the partitions (nothing taken from a file name; the
        // hive store's exchange_id partition stands in for the files' exchange, the same value).
        const file = path.join(stores[layout], NAMES[layout].tick('2020-03-01', 'trades', 'bitmex', 'BITMEX:PERPETUAL:BTC-USD'));
        const fileCols = (await db.rows(`DESCRIBE SELECT * FROM read_parquet('${file}', hive_partitioning = false)`))
          .map((c) => c.column_name);
        const viewCols = (await db.rows('DESCRIBE trades')).map((c) => c.column_name);
        assert.deepEqual([...viewCols].sort(), [...new Set([...fileCols, 'data_type', 'date'])].sort());
        const types = Object.fromEntries((await db.rows('DESCRIBE trades')).map((c) => [c.column_name, c.column_type]));
        assert.equal(types.date, 'DATE');
        assert.equal(types.exchange, 'VARCHAR');
        answers[layout] = await db.rows(`
          SELECT data_type, CAST(date AS VARCHAR) AS day, exchange, symbol, count(*)::INTEGER AS n, sum(amount) AS amount,
                 CAST(min(timestamp) AS VARCHAR) AS first
          FROM trades GROUP BY ALL ORDER BY ALL`);
        const one = await db.rows(`SELECT count(*)::INTEGER AS n FROM read_parquet('${file}')`);
        const bitmex = answers[layout].find((a) => a.exchange === 'bitmex');
        assert.equal(bitmex.n, one[0].n);
        assert.equal(bitmex.day, '2020-03-01');
        assert.equal(bitmex.data_type, 'trades');
        assert.match(bitmex.first, /^2020-03-01 00:00:\d\d\.\d+\+00$/);  // shown in UTC
        assert.deepEqual(answers[layout].map((a) => `${a.day} ${a.exchange}`), ['2020-02-22 binance-futures', '2020-03-01 bitmex']);
        const defs = await db.rows(`SELECT count(*)::INTEGER AS n, min(date) AS d FROM instruments`);
        assert.ok(defs[0].n > 0);
      } finally {
        db.close();
      }
    });
  }

  it('both layouts answer the same query the same', () => {
    assert.ok(answers.by_date && answers.hive);
    assert.deepEqual(answers.hive, answers.by_date);
  });

  // A by_date store kept under a folder named like a day (a backup by date): the view's `date` is the day folder of
  // the store's own path (it was the first day-... folder, the backup's, for every row).
  // And a folder named like a Hive partition above it (src=old) adds no column: by_date views read none.
  it('a by_date store under a day-named folder keeps its own dates', async () => {
    const store = path.join(ROOT_TMP, 'backups', 'day-1999-12-31', 'src=old', 'store');
    await mtOk(['convert', fixture('bitmex_trades_2020-03-01_XBTUSD.csv.gz'), '--output', store]);
    const r = await mtOk(['sql', '--output', store]);
    const db = await duckOpen();
    try {
      await db.run(r.stdout);
      const days = await db.rows(`SELECT CAST(date AS VARCHAR) AS day, count(*)::INTEGER AS n FROM trades GROUP BY ALL`);
      assert.deepEqual(days.map((d) => d.day), ['2020-03-01']);
      const cols = (await db.rows('DESCRIBE trades')).map((c) => c.column_name);
      assert.equal(cols.includes('src'), false, cols.join());
    } finally {
      db.close();
    }
  });

  // Paths the engines would read as something else: glob characters (a store under data[1] read its sibling data1)
  // and, in a hive store, a folder above it named like a partition. A usage error naming the path, nothing printed.
  it('a store path the engines would misread is refused', async () => {
    const cases = [
      [path.join(ROOT_TMP, 'glob', 'data[1]'), [], /data\[1\]: its path holds '\[', which DuckDB and BigQuery read as a wildcard/],
      [path.join(ROOT_TMP, 'star*', 'st'), [], /its path holds '\*'/],
      [path.join(ROOT_TMP, 'hv', 'date=1999-12-31', 'st'), ['--layout', 'hive'],
        /a folder of its path is named like its date partition, which DuckDB would read as that partition of every row; move or link the store/],
    ];
    for (const [store, layout, message] of cases) {
      await mtOk(['convert', fixture('bitmex_trades_2020-03-01_XBTUSD.csv.gz'), '--output', store, ...layout]);
      const r = await mt(['sql', '--output', store]);
      assert.equal(r.code, 2, show(r));
      assert.equal(r.stdout, '');
      assert.match(r.stderr, message, show(r));
    }
  });

  it('the README\'s query runs over both layouts: one row per instrument and minute', async () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const block = /```sql\n(-- DuckDB: one row per instrument[\s\S]*?)```/.exec(readme);
    assert.ok(block, 'the README has the query');
    // The README's day has no data here; the fixture's day does.
    const sql = block[1].replace("DATE '2024-01-01'", "DATE '2020-03-01'");
    for (const layout of ['by_date', 'hive']) {
      const db = await duckOpen();
      try {
        await db.run(views[layout]);
        const statements = sql.split(';').map((x) => x.trim()).filter((x) => x && !/^(--[^\n]*\n)*SET /.test(x));
        const rows = await db.rows(statements.at(-1));
        assert.ok(rows.length >= 1, layout);
        assert.deepEqual([...new Set(rows.map((r) => r.instrument_key))], ['BITMEX:PERPETUAL:BTC-USD'], layout);
        const one = await db.rows(`SELECT count(*)::INTEGER AS n FROM trades WHERE exchange = 'bitmex'`);
        assert.equal(rows.reduce((a, r) => a + Number(r.trades), 0), one[0].n, layout);
      } finally {
        db.close();
      }
    }
  });

  it('on the hive layout a partition filter reads fewer files', async () => {
    const db = await duckOpen();
    try {
      await db.run(views.hive);
      const filesRead = async (sql) => {
        const plan = (await db.rows(`EXPLAIN ANALYZE ${sql}`)).map((r) => Object.values(r).join('\n')).join('\n');
        const m = /Total Files Read:\s*(\d+)/.exec(plan);
        assert.ok(m, plan);
        return Number(m[1]);
      };
      assert.equal(await filesRead(`SELECT sum(amount) FROM trades`), 2);
      assert.equal(await filesRead(`SELECT sum(amount) FROM trades WHERE exchange = 'bitmex'`), 1);
      assert.equal(await filesRead(`SELECT sum(amount) FROM trades WHERE date = DATE '2020-02-22'`), 1);
      assert.equal(await filesRead(`SELECT sum(amount) FROM trades WHERE date > DATE '2021-01-01'`), 0);
    } finally {
      db.close();
    }
  });

  it('--data-types picks the views; BigQuery needs a hive store in gs://', async () => {
    const r = await mtOk(['sql', '--output', stores.hive, '--data-types', 'trades,trade_bar_1m']);
    assert.deepEqual([...r.stdout.matchAll(/CREATE OR REPLACE VIEW "(\w+)"/g)].map((m) => m[1]), ['trade_bar_1m', 'trades']);
    const bad = await mt(['sql', '--output', stores.hive, '--data-types', 'tardes']);
    assert.equal(bad.code, 2, show(bad));
    const local = await mt(['sql', '--engine', 'bigquery', '--output', stores.hive]);
    assert.equal(local.code, 2, show(local));
    assert.match(local.stderr, /gs:\/\//);
    const byDate = await mt(['sql', '--engine', 'bigquery', '--output', stores.by_date]);
    assert.equal(byDate.code, 2, show(byDate));
    assert.match(byDate.stderr, /by_date store/);
  });
});

describe('names with digits after "_" and upper case', () => {
  // book_snapshot_25 and trade_bar_100ticks have '_' before two hex digits (the file-name rule
  // would escape it); incremental_book_L2 has upper case. Each is its own view, and its data_type
  // column is the name itself, on both layouts.
  for (const layout of ['by_date', 'hive']) {
    it(`${layout}: the views and their data_type column carry the names as they are`, async () => {
      const out = path.join(ROOT_TMP, `names-${layout}`);
      await mtOk(['convert', fixture('binance-futures_book_snapshot_25_2020-09-01_BTCUSDT.csv.gz'),
        fixture('deribit_incremental_book_L2_2020-04-01_BTC-PERPETUAL.csv.gz'), '--output', out, '--layout', layout]);
      // trade_bar_0.5vol and a grouped snapshot hold a '.': views too (they were left out once).
      await mtOk(['convert', fixture('bitmex_trades_2020-03-01_XBTUSD.csv.gz'), '--derive', 'trade_bar_100ticks,trade_bar_0.5vol',
        '--output', out]);
      await mtOk(['convert', fixture('deribit_incremental_book_L2_2020-04-01_BTC-PERPETUAL.csv.gz'), '--derive',
        'book_snapshot_2_grouped0.5_1s', '--output', out]);
      if (layout === 'hive') {
        for (const dir of ['raw_tick_data/data_type=book_snapshot_25', 'raw_tick_data/data_type=incremental_book_L2',
          'derived_data/data_type=trade_bar_100ticks']) {
          assert.ok(fs.existsSync(path.join(out, dir)), `${dir} in\n${listFiles(out).join('\n')}`);
        }
        assert.deepEqual(oddNames(out), []);
      }
      const r = await mtOk(['sql', '--output', out]);
      assert.deepEqual([...r.stdout.matchAll(/CREATE OR REPLACE VIEW "([^"]+)"/g)].map((m) => m[1]),
        ['book_snapshot_25', 'book_snapshot_2_grouped0.5_1s', 'incremental_book_L2', 'trade_bar_0.5vol', 'trade_bar_100ticks',
          'trades'], r.stdout);
      // A derived name in --data-types is taken in any spelling of its interval, as the store names it.
      const asked = await mtOk(['sql', '--output', out, '--data-types', 'trade_bar_0.50vol,book_snapshot_2_grouped0.5_1000ms']);
      assert.deepEqual([...asked.stdout.matchAll(/CREATE OR REPLACE VIEW "([^"]+)"/g)].map((m) => m[1]),
        ['book_snapshot_2_grouped0.5_1s', 'trade_bar_0.5vol'], asked.stdout);
      const only = await mtOk(['sql', '--output', out, '--data-types', 'incremental_book_L2']);
      assert.deepEqual([...only.stdout.matchAll(/CREATE OR REPLACE VIEW "(\w+)"/g)].map((m) => m[1]), ['incremental_book_L2']);
      const db = await duckOpen();
      try {
        await db.run(r.stdout);
        for (const [view, file] of [
          ['book_snapshot_25', ['2020-09-01', 'book_snapshot_25', 'binance-futures', 'BINANCE-FUTURES:PERPETUAL:BTC-USDT']],
          ['incremental_book_L2', ['2020-04-01', 'incremental_book_L2', 'deribit', 'DERIBIT:PERPETUAL:BTC-USD']],
        ]) {
          const rows = await db.rows(`SELECT data_type, CAST(date AS VARCHAR) AS day, exchange, count(*)::INTEGER AS n
            FROM "${view}" GROUP BY ALL`);
          const one = await db.rows(`SELECT count(*)::INTEGER AS n FROM read_parquet('${path.join(out, NAMES[layout].tick(...file))}')`);
          assert.ok(one[0].n > 0);
          assert.deepEqual(rows, [{ data_type: view, day: file[0], exchange: file[2], n: one[0].n }], view);
        }
        const bars = await db.rows(`SELECT DISTINCT data_type, exchange FROM trade_bar_100ticks`);
        assert.deepEqual(bars, [{ data_type: 'trade_bar_100ticks', exchange: 'bitmex' }]);
        for (const [view, day, dt, ex, key] of [
          ['trade_bar_0.5vol', '2020-03-01', 'trades', 'bitmex', 'BITMEX:PERPETUAL:BTC-USD'],
          ['book_snapshot_2_grouped0.5_1s', '2020-04-01', 'incremental_book_L2', 'deribit', 'DERIBIT:PERPETUAL:BTC-USD'],
        ]) {
          const got = await db.rows(`SELECT data_type, CAST(date AS VARCHAR) AS day, exchange, count(*)::INTEGER AS n FROM "${view}" GROUP BY ALL`);
          const derivedFile = path.join(out, NAMES[layout].tick(day, dt, ex, key).replace('raw_tick_data', 'derived_data')
            .replace(`data_type${layout === 'hive' ? '=' : '-'}${dt}`, `data_type${layout === 'hive' ? '=' : '-'}${view}`));
          const one = await db.rows(`SELECT count(*)::INTEGER AS n FROM read_parquet('${derivedFile}')`);
          assert.ok(one[0].n > 0, derivedFile);
          assert.deepEqual(got, [{ data_type: view, day, exchange: ex, n: one[0].n }], view);
        }
      } finally {
        db.close();
      }
    });
  }
});
