// Column statistics of our Parquet as the readers use them to skip data: a filter DuckDB pushes
// into a file must find the rows a scan finds. The files come from the CLI (convert --derive of a
// small trades CSV written here, labelled as such).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { closeDuckdb, duckdb, duckParquetMetadata, polarsReadAll, sqlStr } from './lib/readers.mjs';
import { runOk } from './lib/harness.mjs';

const ROOT_TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'market-tick-pq-stats-'));
after(async () => {
  await closeDuckdb();
  fs.rmSync(ROOT_TMP, { recursive: true, force: true });
});

test('a derived column holding a NaN has no min/max: DuckDB finds the NaN rows with a pushed-down filter', async () => {
  // Generated trades (not a Tardis file): the first minute's bar starts with a trade of amount 0,
  // so its vwap is 0/0 = NaN (tardis-dev computes the same); the second minute's is a number.
  const csv = path.join(ROOT_TMP, 'binance-futures_trades_2020-02-22_BTCUSDT.csv');
  fs.writeFileSync(csv, [
    'exchange,symbol,timestamp,local_timestamp,id,side,price,amount',
    'binance-futures,BTCUSDT,1582329600000000,1582329600001000,1,buy,9700.5,0',
    'binance-futures,BTCUSDT,1582329601000000,1582329601001000,2,sell,9701,0.5',
    'binance-futures,BTCUSDT,1582329661000000,1582329661001000,3,sell,9702,0.25',
    'binance-futures,BTCUSDT,1582329662000000,1582329662001000,4,buy,9703,1',
    '',
  ].join('\n'));
  const store = path.join(ROOT_TMP, 'store');
  runOk(['convert', csv, '--derive', 'trade_bar_1m', '--output', store]);
  const file = path.join(store, 'derived_data/by_date/day-2020-02-22/data_type-trade_bar_1m/BINANCE-FUTURES:PERPETUAL:BTC-USDT.parquet');
  const vwap = polarsReadAll(file);
  const col = vwap.columns.findIndex((c) => c.name === 'vwap');
  assert.ok(Number.isNaN(vwap.rows[0][col]), `first bar's vwap ${vwap.rows[0][col]}`);
  assert.ok(Math.abs(vwap.rows[1][col] - 9702.8) < 1e-9, `second bar's vwap ${vwap.rows[1][col]}`);

  const md = (await duckParquetMetadata(file)).find((m) => m.path_in_schema === 'vwap');
  assert.equal(md.stats_min_value, null, 'no min: the bounds would leave the NaN out');
  assert.equal(md.stats_max_value, null);
  assert.equal(md.stats_null_count, 0n);
  // Bounds stay on the columns without NaN.
  const volume = (await duckParquetMetadata(file)).find((m) => m.path_in_schema === 'volume');
  assert.deepEqual([volume.stats_min_value, volume.stats_max_value], ['0.5', '1.25']);

  const db = await duckdb();
  const count = async (where) =>
    (await db.objects(`SELECT count(*)::INTEGER AS n FROM read_parquet(${sqlStr(file)}) WHERE ${where}`))[0].n;
  // DuckDB orders NaN above every number: these filters match the NaN row, and with bounds
  // [9702.8, 9702.8] it skipped the chunk and found nothing.
  assert.equal(await count('isnan(vwap)'), 1);
  assert.equal(await count(`vwap = 'NaN'::DOUBLE`), 1);
  assert.equal(await count('vwap > 10000'), 1);
  assert.equal(await count('vwap < 10000'), 1);
});
