// Independent reference for Tardis.dev CSV files: reads them with node:zlib and plain string
// splitting (no code shared with market-tick) and states the Parquet schema market-tick must write.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

// ---------------------------------------------------------------------------------------------
// Expected Parquet schema per Tardis data type.
// Each column: { name: Parquet column name, csv: Tardis CSV header name, kind }
//   kind: 'string' | 'double' | 'timestamp' (Tardis integer microseconds) | 'boolean'
// ---------------------------------------------------------------------------------------------

export const DUCKDB_TYPE = {
  string: 'VARCHAR',
  double: 'DOUBLE',
  timestamp: 'TIMESTAMP WITH TIME ZONE',
  boolean: 'BOOLEAN',
};

const col = (name, kind, csv = name) => ({ name, csv, kind });

const COMMON = [
  col('exchange', 'string'),
  col('symbol', 'string'),
  col('timestamp', 'timestamp'),
  col('local_timestamp', 'timestamp'),
];

const TRADES = [col('id', 'string'), col('side', 'string'), col('price', 'double'), col('amount', 'double')];

const QUOTES = ['ask_amount', 'ask_price', 'bid_price', 'bid_amount'].map((n) => col(n, 'double'));

function bookSnapshot(levels) {
  const cols = [];
  for (let i = 1; i <= levels; i++) {
    cols.push(
      col(`ask_price_${i}`, 'double', `asks[${i - 1}].price`),
      col(`ask_volume_${i}`, 'double', `asks[${i - 1}].amount`),
      col(`bid_price_${i}`, 'double', `bids[${i - 1}].price`),
      col(`bid_volume_${i}`, 'double', `bids[${i - 1}].amount`),
    );
  }
  return cols;
}

const SPECIFIC = {
  trades: TRADES,
  liquidations: TRADES,
  incremental_book_L2: [col('is_snapshot', 'boolean'), col('side', 'string'), col('price', 'double'), col('amount', 'double')],
  book_snapshot_5: bookSnapshot(5),
  book_snapshot_25: bookSnapshot(25),
  quotes: QUOTES,
  book_ticker: QUOTES,
  derivative_ticker: [
    col('funding_timestamp', 'timestamp'),
    ...['funding_rate', 'predicted_funding_rate', 'open_interest', 'last_price', 'index_price', 'mark_price'].map((n) => col(n, 'double')),
  ],
  options_chain: [
    col('type', 'string'),
    col('strike_price', 'double'),
    col('expiration', 'timestamp'),
    ...['open_interest', 'last_price', 'bid_price', 'bid_amount', 'bid_iv', 'ask_price', 'ask_amount', 'ask_iv', 'mark_price', 'mark_iv']
      .map((n) => col(n, 'double')),
    col('underlying_index', 'string'),
    ...['underlying_price', 'delta', 'gamma', 'vega', 'theta', 'rho'].map((n) => col(n, 'double')),
  ],
};

export const DATA_TYPES = Object.keys(SPECIFIC);

// Data types stored one file per underlying, each row naming its own instrument in its
// `instrument_key` column; every other file names its one instrument there, in every row.
export const ROW_KEYED = new Set(['options_chain']);

/** Expected Parquet columns (in order) for a Tardis data type: instrument_key (no CSV source:
 *  csv is null) right after `symbol` in every data type. */
export function expectedSchema(dataType) {
  const s = SPECIFIC[dataType];
  if (!s) throw new Error(`no expected schema for data type ${dataType}`);
  const key = [{ name: 'instrument_key', csv: null, kind: 'string' }];
  return [...COMMON.slice(0, 2), ...key, ...COMMON.slice(2), ...s];
}

/** The options-chain key an option key belongs to: DERIBIT:OPTION:BTC-USD-200609-9875-PUT -> DERIBIT:OPTIONS:BTC-USD. */
export function chainKey(optionKey) {
  const [venue, , sym] = optionKey.split(':');
  return `${venue}:OPTIONS:${sym.split('-').slice(0, 2).join('-')}`;
}

// ---------------------------------------------------------------------------------------------
// File names: {exchange}_{data_type}_{YYYY-MM-DD}_{symbol}.csv[.gz]
// ---------------------------------------------------------------------------------------------

export function parseTardisName(file) {
  const base = path.basename(file);
  const m = /^([^_]+)_(.+)_(\d{4}-\d{2}-\d{2})_(.+?)\.csv(\.gz)?$/.exec(base);
  if (!m) throw new Error(`not a Tardis file name: ${base}`);
  return { exchange: m[1], dataType: m[2], date: m[3], symbol: m[4], gz: !!m[5] };
}

// ---------------------------------------------------------------------------------------------
// CSV reading
// ---------------------------------------------------------------------------------------------

/** Bytes of a file, gunzipped when it starts with the gzip magic (1f 8b). */
export function readMaybeGzip(file) {
  const raw = fs.readFileSync(file);
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) return zlib.gunzipSync(raw);
  return raw;
}

/**
 * Reads a Tardis CSV(.gz). Returns { header: string[], rows: string[][] } with raw cell texts.
 * Tardis CSV has no quoting; a quote character is reported so a test never silently mis-splits.
 */
export function readTardisCsv(file) {
  const text = readMaybeGzip(file).toString('utf8');
  if (text.length === 0) return { header: [], rows: [] };
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const strip = (l) => (l.endsWith('\r') ? l.slice(0, -1) : l);
  const header = strip(lines[0]).split(',');
  const rows = new Array(lines.length - 1);
  for (let i = 1; i < lines.length; i++) {
    const l = strip(lines[i]);
    if (l.includes('"')) throw new Error(`${file}:${i + 1}: quoted CSV not expected in Tardis data`);
    const cells = l.split(',');
    if (cells.length !== header.length) throw new Error(`${file}:${i + 1}: ${cells.length} cells, header has ${header.length}`);
    rows[i - 1] = cells;
  }
  return { header, rows };
}

/** Guess the data type from a header alone (quotes/book_ticker and trades/liquidations share headers). */
export function dataTypeFromHeader(header) {
  for (const dt of DATA_TYPES) {
    const exp = expectedSchema(dt).filter((c) => c.csv !== null).map((c) => c.csv);
    if (exp.length === header.length && exp.every((h, i) => h === header[i])) return dt;
  }
  return null;
}

/** Converts one CSV cell to the value a Parquet reader must return for a column kind. */
export function cellValue(text, kind) {
  if (text === '') return null;
  switch (kind) {
    case 'string':
      return text;
    case 'double': {
      const v = Number(text);
      if (Number.isNaN(v) && !/^[+-]?nan$/i.test(text)) throw new Error(`reference: not a number: ${JSON.stringify(text)}`);
      return v;
    }
    case 'timestamp':
      if (!/^-?\d+$/.test(text)) throw new Error(`reference: not an integer timestamp: ${JSON.stringify(text)}`);
      return BigInt(text);
    case 'boolean':
      if (text === 'true') return true;
      if (text === 'false') return false;
      throw new Error(`reference: not a boolean: ${JSON.stringify(text)}`);
    default:
      throw new Error(`unknown kind ${kind}`);
  }
}

/**
 * The expected table for a Tardis CSV: { dataType, schema, rows } where rows are arrays of typed
 * values in schema order (timestamps as BigInt microseconds, empty cells null).
 * `filter(rawCells, header)` may select a subset of rows (e.g. one symbol of a grouped file).
 * instrument_key: `key` (the file's key, every row) or `rowKey(rawCells, header)`, else null.
 */
export function expectedTable(file, { dataType, filter, rowKey, key } = {}) {
  if (key !== undefined) rowKey = () => key;
  const { header, rows } = readTardisCsv(file);
  const dt = dataType ?? parseTardisName(file).dataType;
  const schema = expectedSchema(dt);
  const idx = schema.map((c) => {
    if (c.csv === null) return -1;  // instrument_key: rowKey(row, header), the caller's reference
    const i = header.indexOf(c.csv);
    if (i < 0) throw new Error(`${file}: CSV header lacks ${c.csv}`);
    return i;
  });
  const out = [];
  for (const r of rows) {
    if (filter && !filter(r, header)) continue;
    out.push(schema.map((c, k) => (idx[k] < 0 ? (rowKey ? rowKey(r, header) : null) : cellValue(r[idx[k]], c.kind))));
  }
  return { dataType: dt, schema, header, rows: out };
}

// ---------------------------------------------------------------------------------------------
// Time formatting
// ---------------------------------------------------------------------------------------------

/** ISO-8601 UTC with exactly six fractional digits, e.g. 2020-02-22T00:00:02.418379Z. */
export function isoMicros(us) {
  const v = BigInt(us);
  let sec = v / 1000000n;
  let frac = v % 1000000n;
  if (frac < 0n) { frac += 1000000n; sec -= 1n; }
  const base = new Date(Number(sec) * 1000).toISOString().slice(0, 19); // YYYY-MM-DDTHH:MM:SS
  return `${base}.${frac.toString().padStart(6, '0')}Z`;
}
