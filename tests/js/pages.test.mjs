// Data pages of at most 1 MiB before compression (BigQuery's Parquet loader asks for pages of about
// 1 MiB in files of more than 100 columns; Arrow and parquet-mr write pages of that size): a trades
// day of 1,050,000 rows, whose row group of 1,000,000 rows holds 8 MB of BYTE_STREAM_SPLIT amounts
// and DELTA_BINARY_PACKED timestamps, is cut into pages of at most 1 MiB each (read from the page
// headers), and DuckDB, hyparquet and Polars read every value back as the CSV has it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

import { asyncBufferFromFile, parquetRead } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { POLARS_PLATFORM, closeDuckdb, duckdb, hypMetadata, polars, sqlStr } from './lib/readers.mjs';
import { listFiles, mkTmp, runOk } from './lib/harness.mjs';
import { prng } from './lib/derive_gen.mjs';

const ROOT_TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'market-tick-pages-'));
after(async () => {
  await closeDuckdb();
  fs.rmSync(ROOT_TMP, { recursive: true, force: true });
});

const ROWS = 1_050_000;
const PAGE_BYTES = 1 << 20;
const DAY_US = 1585699200000000; // 2020-04-01

// A trades day whose amounts are all distinct (BYTE_STREAM_SPLIT, not a dictionary), with sequential
// ids (DELTA_BYTE_ARRAY) and timestamps (DELTA_BINARY_PACKED). Returns the columns as written.
function writeDay(file) {
  const rnd = prng(5);
  const cols = { timestamp: [], local_timestamp: [], id: [], side: [], price: [], amount: [] };
  const lines = ['exchange,symbol,timestamp,local_timestamp,id,side,price,amount'];
  let local = DAY_US;
  for (let i = 0; i < ROWS; i++) {
    local += Math.floor(rnd() * 5000);
    const ts = local - Math.floor(rnd() * 1000);
    const side = rnd() < 0.5 ? 'buy' : 'sell';
    const price = (6000 + Math.floor(rnd() * 400000) / 100).toString();
    const amount = (rnd() * 1000).toFixed(9);
    const id = String(7000000000 + i * 3);
    lines.push(`binance-futures,BTCUSDT,${ts},${local},${id},${side},${price},${amount}`);
    cols.timestamp.push(BigInt(ts));
    cols.local_timestamp.push(BigInt(local));
    cols.id.push(id);
    cols.side.push(side);
    cols.price.push(Number(price));
    cols.amount.push(Number(amount));
  }
  fs.writeFileSync(file, zlib.gzipSync(lines.join('\n') + '\n', { level: 1 }));
  return cols;
}

// Thrift compact: the fields of a PageHeader this test needs (1 type, 2 uncompressed size,
// 3 compressed size, 5 data page header { 1 num_values, 2 encoding }).
function readPageHeader(buf, pos) {
  const p = { i: pos };
  const varint = () => {
    let r = 0n, s = 0n;
    for (;;) {
      const b = buf[p.i++];
      r |= BigInt(b & 0x7f) << s;
      s += 7n;
      if (!(b & 0x80)) return r;
    }
  };
  const zigzag = (v) => Number((v >> 1n) ^ -(v & 1n));
  const struct = () => {
    const out = {};
    let last = 0;
    for (;;) {
      const h = buf[p.i++];
      if (h === 0) return out;
      const type = h & 0x0f;
      const id = h >> 4 ? last + (h >> 4) : zigzag(varint());
      last = id;
      if (type === 5 || type === 6 || type === 4 || type === 3) out[id] = zigzag(varint());
      else if (type === 12) out[id] = struct();
      else if (type === 1 || type === 2) out[id] = type === 1;
      else if (type === 8) { const n = Number(varint()); out[id] = buf.subarray(p.i, p.i + n); p.i += n; }
      else throw new Error(`thrift type ${type} at ${p.i}`);
    }
  };
  const h = struct();
  return { type: h[1], uncompressed: h[2], compressed: h[3], numValues: h[5]?.[1], encoding: h[5]?.[2], end: p.i + h[3] };
}

describe('data pages within 1 MiB', () => {
  let file;
  let want;
  before(() => {
    const dir = mkTmp(ROOT_TMP, 'in');
    const csv = path.join(dir, 'binance-futures_trades_2020-04-01_BTCUSDT.csv.gz');
    want = writeDay(csv);
    const out = mkTmp(ROOT_TMP, 'out');
    runOk(['convert', csv, '--output', out], { timeout: 300_000 });
    const files = listFiles(out).filter((f) => f.endsWith('.parquet'));
    assert.equal(files.length, 1, files.join('\n'));
    file = path.join(out, files[0]);
  });

  it('every data page of every column holds at most 1 MiB before compression; the 8-byte columns are cut', async () => {
    const buf = fs.readFileSync(file);
    const md = await hypMetadata(file);
    assert.equal(md.row_groups.length, 2);
    const pagesOf = {};
    for (const rg of md.row_groups) {
      for (const cc of rg.columns) {
        const m = cc.meta_data;
        const name = m.path_in_schema.join('.');
        let pos = Number(m.dictionary_page_offset ?? m.data_page_offset);
        if (Number(m.data_page_offset) < pos) pos = Number(m.data_page_offset);
        const end = pos + Number(m.total_compressed_size);
        let values = 0;
        while (pos < end) {
          const h = readPageHeader(buf, pos);
          if (h.type === 0) { // DATA_PAGE
            assert.ok(h.uncompressed <= PAGE_BYTES, `${name}: a page of ${h.uncompressed} bytes`);
            values += h.numValues;
            if (Number(rg.num_rows) === 1_000_000) (pagesOf[name] ??= []).push(h);
          }
          pos = h.end;
        }
        assert.equal(pos, end, name);
        assert.equal(values, Number(rg.num_rows), `${name}: num_values of the pages`);
      }
    }
    // 1,000,000 eight-byte amounts are 8 MB: eight pages at least.
    assert.ok(pagesOf.amount.length >= 8, `amount: ${pagesOf.amount.length} pages`);
    assert.equal(pagesOf.amount[0].encoding, 9); // BYTE_STREAM_SPLIT
    assert.equal(pagesOf.timestamp[0].encoding, 5); // DELTA_BINARY_PACKED
    assert.equal(pagesOf.id[0].encoding, 7); // DELTA_BYTE_ARRAY
  });

  it('DuckDB reads every value, and its statistics bounds are the columns\' bounds', async () => {
    const db = await duckdb();
    const { rows } = await db.arrays(`SELECT epoch_us(timestamp), epoch_us(local_timestamp), id, side, price, amount
      FROM read_parquet(${sqlStr(file)}, file_row_number = true) ORDER BY file_row_number`);
    assert.equal(rows.length, ROWS);
    const names = ['timestamp', 'local_timestamp', 'id', 'side', 'price', 'amount'];
    for (let i = 0; i < ROWS; i++) {
      for (const [c, name] of names.entries()) {
        if (rows[i][c] !== want[name][i]) assert.fail(`row ${i + 1} ${name}: ${rows[i][c]} != ${want[name][i]}`);
      }
    }
    // DELTA_BINARY_PACKED timestamps: the chunk's bounds are taken across its pages.
    const stats = await db.arrays(`SELECT epoch_us(stats_min_value::TIMESTAMPTZ), epoch_us(stats_max_value::TIMESTAMPTZ)
      FROM parquet_metadata(${sqlStr(file)}) WHERE path_in_schema = 'local_timestamp' ORDER BY row_group_id`);
    assert.deepEqual(stats.rows, [[want.local_timestamp[0], want.local_timestamp[999_999]],
      [want.local_timestamp[1_000_000], want.local_timestamp[ROWS - 1]]]);
  });

  it('hyparquet reads every value', async () => {
    const buf = await asyncBufferFromFile(file);
    const metadata = await hypMetadata(file);
    for (const name of ['timestamp', 'id', 'amount']) {
      let got = [];
      await parquetRead({
        file: buf, metadata, compressors, columns: [name], rowFormat: 'array',
        parsers: { timestampFromMicroseconds: (us) => BigInt(us) }, // exact microseconds
        onComplete(r) { got = r; },
      });
      assert.equal(got.length, ROWS, name);
      for (let i = 0; i < ROWS; i++) {
        if (got[i][0] !== want[name][i]) assert.fail(`row ${i + 1} ${name}: ${got[i][0]} != ${want[name][i]}`);
      }
    }
  });

  it('Polars reads every value', { skip: !POLARS_PLATFORM && 'Polars is installed on x86-64 Linux only (tests/polars)' }, () => {
    const pl = polars();
    const df = pl.readParquet(file);
    assert.equal(df.height, ROWS);
    for (const name of ['timestamp', 'local_timestamp', 'id', 'side', 'price', 'amount']) {
      let s = df.getColumn(name);
      if (name.endsWith('timestamp')) s = s.cast(pl.Int64);
      const got = s.toArray();
      for (let i = 0; i < ROWS; i++) {
        const v = name.endsWith('timestamp') ? BigInt(got[i]) : got[i];
        if (v !== want[name][i]) assert.fail(`row ${i + 1} ${name}: ${v} != ${want[name][i]}`);
      }
    }
  });
});
