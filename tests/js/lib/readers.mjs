// Independent Parquet readers: DuckDB (@duckdb/node-api, C++), hyparquet (pure JS) and Polars
// (nodejs-polars, Rust). All hand back rows as arrays in file order with timestamps as exact BigInt
// microseconds, DOUBLE as Number, strings, booleans and null for missing values.
import { createRequire } from 'node:module';

import { DuckDBInstance } from '@duckdb/node-api';
import { asyncBufferFromFile, parquetMetadataAsync, parquetRead } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';

export const sqlStr = (s) => `'${String(s).replaceAll("'", "''")}'`;
export const sqlIdent = (s) => `"${String(s).replaceAll('"', '""')}"`;

// ---------------------------------------------------------------------------------------------
// DuckDB
// ---------------------------------------------------------------------------------------------

let duck = null;

/** One shared in-process DuckDB connection (UTC, one thread, no extension downloads). */
export async function duckdb() {
  if (duck) return duck;
  const inst = await DuckDBInstance.create(':memory:', {
    autoinstall_known_extensions: 'false',
    autoload_known_extensions: 'false',
    threads: '1',
  });
  const con = await inst.connect();
  await con.run(`SET TimeZone = 'UTC'`);
  duck = {
    /** rows as objects with DuckDB JS values (BIGINT -> bigint, DOUBLE -> number, ...) */
    async objects(sql) {
      return (await con.runAndReadAll(sql)).getRowObjects();
    },
    /** rows as arrays plus column names */
    async arrays(sql) {
      const r = await con.runAndReadAll(sql);
      return { columns: r.columnNames(), rows: r.getRows() };
    },
    close() {
      con.closeSync();
      inst.closeSync();
      duck = null;
    },
  };
  return duck;
}

export async function closeDuckdb() {
  if (duck) duck.close();
}

const isTimestampType = (t) => /^TIMESTAMP/.test(t);

/** DESCRIBE of a Parquet file: [{ name, type }] in file column order. */
export async function duckDescribe(file) {
  const db = await duckdb();
  const rows = await db.objects(`DESCRIBE SELECT * FROM read_parquet(${sqlStr(file)})`);
  return rows.map((r) => ({ name: r.column_name, type: r.column_type }));
}

/**
 * Every row and column of a Parquet file, in file order (ordered by DuckDB's file_row_number).
 * Timestamp columns are read via epoch_us() so they come back as exact BigInt microseconds.
 */
export async function duckReadAll(file, { fileColumnsOnly = false } = {}) {
  const db = await duckdb();
  // fileColumnsOnly: not the columns DuckDB adds from a hive path's `name=value` folders.
  const from = `read_parquet(${sqlStr(file)}, file_row_number = true${fileColumnsOnly ? ', hive_partitioning = false' : ''})`;
  const cols = (await db.objects(`DESCRIBE SELECT * EXCLUDE (file_row_number) FROM ${from}`))
    .map((r) => ({ name: r.column_name, type: r.column_type }));
  const sel = cols.map((c) => (isTimestampType(c.type) ? `epoch_us(${sqlIdent(c.name)})` : sqlIdent(c.name)));
  const sql = `SELECT ${sel.join(', ')} FROM ${from} ORDER BY file_row_number`;
  const { rows } = await db.arrays(sql);
  return { columns: cols, rows };
}

/** parquet_schema(): one object per schema element (first is the root). */
export async function duckParquetSchema(file) {
  const db = await duckdb();
  return db.objects(`SELECT * FROM parquet_schema(${sqlStr(file)})`);
}

/** parquet_metadata(): one object per column chunk, plus exact µs for timestamp stats. */
export async function duckParquetMetadata(file) {
  const db = await duckdb();
  return db.objects(`SELECT *,
      epoch_us(TRY_CAST(stats_min_value AS TIMESTAMPTZ)) AS stats_min_value_us,
      epoch_us(TRY_CAST(stats_max_value AS TIMESTAMPTZ)) AS stats_max_value_us,
      epoch_us(TRY_CAST(stats_min AS TIMESTAMPTZ)) AS stats_min_us,
      epoch_us(TRY_CAST(stats_max AS TIMESTAMPTZ)) AS stats_max_us
    FROM parquet_metadata(${sqlStr(file)}) ORDER BY row_group_id, column_id`);
}

/** parquet_file_metadata(): one object. */
export async function duckFileMetadata(file) {
  const db = await duckdb();
  const [r] = await db.objects(`SELECT * FROM parquet_file_metadata(${sqlStr(file)})`);
  return r;
}

/** parquet_kv_metadata() as a plain { key: value } object of UTF-8 strings. */
export async function duckKvMetadata(file) {
  const db = await duckdb();
  const rows = await db.objects(`SELECT decode(key) AS k, decode(value) AS v FROM parquet_kv_metadata(${sqlStr(file)})`);
  const out = {};
  for (const r of rows) {
    if (Object.hasOwn(out, r.k)) throw new Error(`${file}: duplicate key-value metadata key ${r.k}`);
    out[r.k] = r.v;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// hyparquet
// ---------------------------------------------------------------------------------------------

// Keep timestamps as exact BigInt microseconds instead of millisecond Date objects.
const PARSERS = {
  timestampFromMicroseconds: (us) => BigInt(us),
  timestampFromMilliseconds: (ms) => BigInt(ms) * 1000n,
  timestampFromNanoseconds: (ns) => ({ nanos: BigInt(ns) }), // never equal to a µs BigInt: shows up in comparisons
};

/** Exact microseconds from what a reader gives for a timestamp (BigInt, Date, or DuckDB value). */
export function toMicros(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return v;
  if (v instanceof Date) return BigInt(v.getTime()) * 1000n; // ms precision only; a mismatch shows up in comparisons
  if (typeof v === 'object' && typeof v.micros === 'bigint') return v.micros;
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  return v;
}

export async function hypMetadata(file) {
  const buf = await asyncBufferFromFile(file);
  return parquetMetadataAsync(buf, { parsers: PARSERS });
}

/**
 * Every row and column of a Parquet file with hyparquet.
 * Returns { metadata, columns: [{ name, type, logical_type, converted_type }], rows: any[][] }.
 */
export async function hypReadAll(file) {
  const buf = await asyncBufferFromFile(file);
  const metadata = await parquetMetadataAsync(buf, { parsers: PARSERS });
  const leaves = metadata.schema.slice(1);
  const columns = leaves.map((s) => ({
    name: s.name, type: s.type, logical_type: s.logical_type, converted_type: s.converted_type, repetition_type: s.repetition_type,
  }));
  const isTs = leaves.map((s) => s.logical_type?.type === 'TIMESTAMP' || /^TIMESTAMP/.test(s.converted_type ?? ''));
  let rows = [];
  if (Number(metadata.num_rows) > 0) {
    await parquetRead({
      file: buf, metadata, compressors, parsers: PARSERS, rowFormat: 'array',
      onComplete(r) { rows = r; },
    });
  }
  rows = rows.map((r) => Array.from(r, (v, i) => {
    if (v === undefined) return null;
    return isTs[i] ? toMicros(v) : v;
  }));
  return { metadata, columns, rows };
}

// ---------------------------------------------------------------------------------------------
// Polars
// ---------------------------------------------------------------------------------------------

/**
 * nodejs-polars, loaded on first use from tests/polars (a package of its own, installed on x86-64
 * Linux, the one platform its lock holds a build for).
 */
export function polars() {
  return createRequire(new URL('../../polars/package.json', import.meta.url))('nodejs-polars');
}

/** Where Polars runs: elsewhere its tests are skipped, here a missing install fails them. */
export const POLARS_PLATFORM = process.platform === 'linux' && process.arch === 'x64';

/**
 * Every row and column of a Parquet file with Polars' own reader (pl.readParquet).
 * Returns { columns: [{ name, type }] with Polars' type names (`Datetime(us,UTC)`), rows: any[][] }.
 * Timestamps are read through a cast of the Series to Int64: exact microseconds, as BigInt.
 */
export function polarsReadAll(file) {
  const pl = polars();
  const df = pl.readParquet(file);
  const schema = df.schema; // built anew by every access
  const columns = df.columns.map((name) => ({ name, type: String(schema[name]).replace(/^DataType\((.*)\)$/, '$1') }));
  const values = columns.map(({ name, type }) => {
    const series = df.getColumn(name);
    if (!type.startsWith('Datetime')) return series.toArray();
    return series.cast(pl.Int64).toArray().map((v) => (v === null ? null : BigInt(v)));
  });
  const rows = [];
  for (let r = 0; r < df.height; r++) rows.push(values.map((col) => (col[r] === undefined ? null : col[r])));
  return { columns, rows };
}
