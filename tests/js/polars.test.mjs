// Polars (nodejs-polars, its own Rust Parquet reader) opens every file market-tick writes as is:
// each file, read whole, gives the same column names, types and values as DuckDB reads, for every
// data type of the real fixtures, derived series, every codec and encoding setting, files of many row
// groups, and the multi-file scans a researcher writes (a data type over days and venues, the hive
// layout's partitions as columns).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { POLARS_PLATFORM, closeDuckdb, duckdb, duckReadAll, polars, polarsReadAll, sqlStr } from './lib/readers.mjs';
import { FIXTURES, assertRowsEqual, listFiles, mkTmp, runOk } from './lib/harness.mjs';
import { writeBookDay, writeTradesDay } from './lib/derive_gen.mjs';

const ROOT_TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'market-tick-polars-'));
after(async () => {
  await closeDuckdb();
  fs.rmSync(ROOT_TMP, { recursive: true, force: true });
});

// The Polars type each DuckDB type of our files must come back as.
const POLARS_TYPE = {
  VARCHAR: 'String',
  DOUBLE: 'Float64',
  BOOLEAN: 'Bool',
  BIGINT: 'Int64',
  INTEGER: 'Int32',
  'TIMESTAMP WITH TIME ZONE': 'Datetime(us,UTC)',
};

const parquetFiles = (dir) => listFiles(dir).filter((f) => f.endsWith('.parquet')).map((f) => path.join(dir, f));

/** Reads `file` with Polars and DuckDB and asserts the two agree on names, types and every value. */
async function assertPolarsReadsAsDuckdb(file) {
  const duck = await duckReadAll(file, { fileColumnsOnly: true });
  const pol = polarsReadAll(file);
  const label = path.basename(file);
  assert.deepEqual(pol.columns.map((c) => c.name), duck.columns.map((c) => c.name), `${label}: column names`);
  for (const [i, c] of duck.columns.entries()) {
    assert.equal(pol.columns[i].type, POLARS_TYPE[c.type] ?? `no Polars type listed for ${c.type}`, `${label}: type of ${c.name}`);
  }
  assertRowsEqual(pol.rows, duck.rows, duck.columns.map((c) => c.name), `${label} (Polars against DuckDB)`);
  return duck.rows.length;
}

describe('Polars reads what market-tick writes', { skip: !POLARS_PLATFORM && 'Polars is installed on x86-64 Linux only (tests/polars)' }, () => {
  const stores = {};
  before(() => {
    const derive = 'book_snapshot_5_1s,book_snapshot_3_grouped5_100ms,trade_bar_1m,trade_bar_3ticks';
    const settings = {
      // The defaults: zstd, delta and byte-stream-split encodings, by_date names with colons.
      defaults: [],
      // Dictionary and PLAIN only, snappy, a row group every 1,000 rows: pages and row groups end
      // inside the fixtures' files.
      plain: ['--encodings', 'plain', '--compression', 'snappy', '--batch-size', '1000'],
      // No compression, the hive layout, a row group every 777 rows.
      hive: ['--compression', 'none', '--batch-size', '777', '--layout', 'hive'],
    };
    for (const [name, extra] of Object.entries(settings)) {
      stores[name] = mkTmp(ROOT_TMP, name);
      runOk(['convert', ...FIXTURES, '--output', stores[name], '--derive', derive, ...extra]);
    }
  });

  for (const name of ['defaults', 'plain', 'hive']) {
    it(`every file of the fixtures and their derived series (${name}): same names, types and values as DuckDB`, async () => {
      const files = parquetFiles(stores[name]);
      // Every data type of the fixtures, each derived series, the options chain's two underlyings.
      assert.ok(files.length >= 18, `${files.length} files:\n${files.join('\n')}`);
      assert.ok(files.some((f) => /options_chain/.test(f)) && files.some((f) => /trade_bar_3ticks/.test(f)) &&
        files.some((f) => /book_snapshot_3_grouped5_100ms/.test(f)), files.join('\n'));
      let rows = 0;
      for (const f of files) rows += await assertPolarsReadsAsDuckdb(f);
      assert.ok(rows > 20_000, `${rows} rows`);
    });
  }

  it('generated days at size, many row groups: a 150,000-row book and a 200,000-row trades day', async () => {
    const dir = mkTmp(ROOT_TMP, 'gen');
    const book = path.join(dir, 'deribit_incremental_book_L2_2020-04-02_BTC-PERPETUAL.csv.gz');
    writeBookDay(book, { rows: 150_000, levels: 1500 });
    const trades = path.join(dir, 'binance-futures_trades_2020-04-02_BTCUSDT.csv.gz');
    writeTradesDay(trades, { rows: 200_000 });
    const out = mkTmp(ROOT_TMP, 'gen-out');
    runOk(['convert', book, trades, '--output', out, '--batch-size', '32768']);
    const files = parquetFiles(out);
    assert.equal(files.length, 2, files.join('\n'));
    const db = await duckdb();
    for (const f of files) {
      const [{ groups }] = await db.objects(`SELECT count(DISTINCT row_group_id) AS groups FROM parquet_metadata(${sqlStr(f)})`);
      assert.ok(Number(groups) >= 5, `${path.basename(f)}: ${groups} row groups`);
    }
    const counts = [];
    for (const f of files) counts.push(await assertPolarsReadsAsDuckdb(f));
    assert.ok(counts.includes(200_000) && counts.some((n) => n >= 150_000 && n !== 200_000), JSON.stringify(counts));
  });

  it('one data type over days and venues in one scan (by_date): every row, each file\'s own exchange', async () => {
    const pl = polars();
    const glob = path.join(stores.defaults, 'raw_tick_data', 'by_date', '*', 'data_type-trades', '*.parquet');
    const df = pl.scanParquet(glob).collectSync();
    const byExchange = Object.fromEntries(
      df.getColumn('exchange').valueCounts().rows().map(([exchange, n]) => [exchange, Number(n)]));
    const db = await duckdb();
    const expected = Object.fromEntries((await db.objects(
      `SELECT exchange, count(*) AS n FROM read_parquet(${sqlStr(glob)}) GROUP BY exchange`)).map((r) => [r.exchange, Number(r.n)]));
    assert.deepEqual(byExchange, expected);
    assert.deepEqual(Object.keys(expected).sort(), ['binance-futures', 'bitmex']);
  });

  it('the hive layout: Polars\' hive partitioning gives data_type and date, and the partition\'s exchange is the file\'s', async () => {
    const pl = polars();
    const glob = path.join(stores.hive, 'raw_tick_data', 'data_type=*', 'date=*', 'exchange_id=*', '*.parquet');
    for (const type of ['trades', 'quotes', 'derivative_ticker']) {
      const typeGlob = glob.replace('data_type=*', `data_type=${type}`);
      const df = pl.scanParquet(typeGlob, { hivePartitioning: true }).collectSync();
      assert.ok(df.columns.includes('date') && df.columns.includes('data_type'), df.columns.join(','));
      assert.equal(String(df.schema.date), 'DataType(Date)');
      const got = df.groupBy(['exchange', 'data_type', 'date']).len().sort('exchange').rows()
        .map(([exchange, dataType, date, n]) => `${exchange} ${dataType} ${date.toISOString().slice(0, 10)} ${n}`);
      // DuckDB's own hive reading, with the partition's exchange taken from the path.
      const db = await duckdb();
      const exp = (await db.objects(`SELECT regexp_extract(filename, 'exchange_id=([^/]+)/', 1) AS exchange,
          count(*) AS n, any_value(data_type) AS data_type, any_value(date)::VARCHAR AS date,
          count(*) FILTER (WHERE exchange <> regexp_extract(filename, 'exchange_id=([^/]+)/', 1)) AS mismatched
        FROM read_parquet(${sqlStr(typeGlob)}, hive_partitioning = true, filename = true)
        GROUP BY ALL ORDER BY 1`));
      assert.ok(exp.length >= 2, `${type}: ${exp.length} partitions`);
      assert.deepEqual(exp.map((r) => Number(r.mismatched)), exp.map(() => 0), `${type}: the file's exchange is its partition's`);
      assert.deepEqual(got, exp.map((r) => `${r.exchange} ${r.data_type} ${r.date} ${Number(r.n)}`), type);
    }
  });
});
