// Independent-reader tests for `market-tick convert`: every real Tardis fixture is converted and the
// Parquet is read back with DuckDB and with hyparquet and compared value by value with the CSV,
// read here by lib/tardis.mjs (node:zlib + string splitting, nothing shared with market-tick).
//
// Binary: $MARKET_TICK_BIN or ../../build/market-tick.   Run: cd tests/js && npm ci && npm test
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';

import { DUCKDB_TYPE, ROW_KEYED, chainKey, expectedSchema, expectedTable as referenceTable, isoMicros, parseTardisName, readTardisCsv } from './lib/tardis.mjs';
import {
  closeDuckdb, duckdb, duckDescribe, duckFileMetadata, duckKvMetadata, duckParquetMetadata, duckParquetSchema, duckReadAll, hypReadAll, sqlStr,
} from './lib/readers.mjs';
import { FIXTURES, assertRowsEqual, describeRun, fmtValue, listFiles, mkTmp, parseConvertStdout, run, runOk } from './lib/harness.mjs';

// Instrument keys the directory mode must use, by (Tardis exchange, Tardis symbol).
const INSTRUMENT_KEYS = {
  'binance-futures|BTCUSDT': 'BINANCE-FUTURES:PERPETUAL:BTC-USDT',
  'bitmex|XBTUSD': 'BITMEX:PERPETUAL:BTC-USD',
  'deribit|BTC-PERPETUAL': 'DERIBIT:PERPETUAL:BTC-USD',
  'huobi-dm-swap|BTC-USD': 'HUOBI-DM-SWAP:PERPETUAL:BTC-USD',
  'okex-swap|BTC-USDC-SWAP': 'OKX-SWAP:PERPETUAL:BTC-USDC',
  'okex-futures|BTC-USD_UM_XPERP-310404': 'OKX-FUTURES:FUTURE:BTC-USD-310404-XPERP',
  'deribit|BTC-9JUN20-9875-P': 'DERIBIT:OPTION:BTC-USD-200609-9875-PUT',
  'deribit|BTC-9JUN20-10000-C': 'DERIBIT:OPTION:BTC-USD-200609-10000-CALL',
  'deribit|BTC-10JUN20-10000-C': 'DERIBIT:OPTION:BTC-USD-200610-10000-CALL',
  'deribit|ETH-9JUN20-250-P': 'DERIBIT:OPTION:ETH-USD-200609-250-PUT',
  'deribit|ETH-9JUN20-300-C': 'DERIBIT:OPTION:ETH-USD-200609-300-CALL',
};

// The reference table of a fixture, instrument_key column (options_chain) from INSTRUMENT_KEYS.
const rowKeyOf = (r, h) => INSTRUMENT_KEYS[`${r[h.indexOf('exchange')]}|${r[h.indexOf('symbol')]}`] ?? null;
const expectedTable = (file, opts = {}) => referenceTable(file, { rowKey: rowKeyOf, ...opts });

const KV_KEYS = ['source', 'source_bytes', 'row_count', 'first_timestamp', 'last_timestamp', 'tool_version', 'created_at'];
const ISO_MICROS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const localTs = (exp) => exp.schema.findIndex((c) => c.name === 'local_timestamp');
const CODEC_NAME = { zstd: 'ZSTD', snappy: 'SNAPPY', none: 'UNCOMPRESSED' };
// Chunks up to this size (pages before compression, kRawChoiceBytes, plus page headers) are stored
// UNCOMPRESSED when the codec does not make their pages smaller.
const SMALL_CHUNK_BYTES = (256 << 10) + 1024;

const ROOT_TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'market-tick-js-'));
after(async () => {
  await closeDuckdb();
  fs.rmSync(ROOT_TMP, { recursive: true, force: true });
});

const base = (f) => path.basename(f);
const caseName = (...parts) => parts.join('__').replace(/[^A-Za-z0-9._-]+/g, '_');

/** Expected directory-mode outputs of one input: [{ rel, key, table }] with table = expectedTable subset. */
function expectedDirOutputs(file) {
  const { dataType, date, exchange } = parseTardisName(file);
  const { rows, header } = readTardisCsv(file);
  const si = header.indexOf('symbol'), ei = header.indexOf('exchange');
  const symbols = [...new Set(rows.map((r) => `${r[ei]}|${r[si]}`))];
  // One output per instrument; options_chain: one per underlying (chain key), rows in file order.
  const outKey = (es) => {
    const key = INSTRUMENT_KEYS[es];
    if (!key) throw new Error(`test table lacks an instrument key for ${es} (${base(file)}, exchange ${exchange})`);
    return ROW_KEYED.has(dataType) ? chainKey(key) : key;
  };
  const keys = [...new Set(symbols.map(outKey))];
  return keys.map((key) => {
    const table = expectedTable(file, { filter: (r) => outKey(`${r[ei]}|${r[si]}`) === key });
    return { rel: path.join('raw_tick_data', 'by_date', `day-${date}`, `data_type-${dataType}`, `${key}.parquet`), key, table };
  });
}

// ---------------------------------------------------------------------------------------------
// reusable checks
// ---------------------------------------------------------------------------------------------

async function checkDescribe(file, exp, label) {
  const desc = await duckDescribe(file);
  assert.deepEqual(
    desc.map((d) => `${d.name} ${d.type}`),
    exp.schema.map((c) => `${c.name} ${DUCKDB_TYPE[c.kind]}`),
    `${label}: DuckDB DESCRIBE (name type) in order`,
  );
}

async function checkDuckValues(file, exp, label) {
  const d = await duckReadAll(file);
  assert.deepEqual(d.columns.map((c) => c.name), exp.schema.map((c) => c.name), `${label}: DuckDB column names`);
  assertRowsEqual(d.rows, exp.rows, exp.schema.map((c) => c.name), `${label} [DuckDB]`);
}

async function checkHypValues(file, exp, label) {
  const h = await hypReadAll(file);
  assert.deepEqual(h.columns.map((c) => c.name), exp.schema.map((c) => c.name), `${label}: hyparquet column names`);
  assert.equal(Number(h.metadata.num_rows), exp.rows.length, `${label}: hyparquet num_rows`);
  assertRowsEqual(h.rows, exp.rows, exp.schema.map((c) => c.name), `${label} [hyparquet]`);
  return h;
}

/** Physical + logical types as seen by hyparquet and by DuckDB's parquet_schema(). */
async function checkParquetTypes(file, exp, label) {
  const h = await hypReadAll(file);
  for (const [i, c] of exp.schema.entries()) {
    const s = h.columns[i];
    const where = `${label}: column ${c.name}`;
    switch (c.kind) {
      case 'timestamp':
        assert.equal(s.type, 'INT64', `${where}: physical type`);
        assert.deepEqual(s.logical_type, { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' }, `${where}: logical type (hyparquet)`);
        break;
      case 'double':
        assert.equal(s.type, 'DOUBLE', `${where}: physical type`);
        break;
      case 'string':
        assert.equal(s.type, 'BYTE_ARRAY', `${where}: physical type`);
        assert.ok(s.logical_type?.type === 'STRING' || s.converted_type === 'UTF8',
          `${where}: needs STRING logical type or UTF8 converted type, got ${fmtValue(s.logical_type)} / ${s.converted_type}`);
        break;
      case 'boolean':
        assert.equal(s.type, 'BOOLEAN', `${where}: physical type`);
        break;
    }
  }
  const ps = await duckParquetSchema(file);
  const leaves = ps.filter((r) => r.num_children === null || r.num_children === 0n);
  assert.deepEqual(leaves.map((r) => r.name), exp.schema.map((c) => c.name), `${label}: parquet_schema() leaf names`);
  for (const [i, c] of exp.schema.entries()) {
    const r = leaves[i];
    assert.equal(r.duckdb_type, DUCKDB_TYPE[c.kind], `${label}: parquet_schema() duckdb_type of ${c.name}`);
    if (c.kind === 'timestamp') {
      const lt = String(r.logical_type);
      // DuckDB prints e.g. TimestampType(isAdjustedToUTC=1, unit=TimeUnit(MILLIS=<null>, MICROS=MicroSeconds(), NANOS=<null>))
      assert.match(lt, /^TimestampType\(/, `${label}: ${c.name} logical_type ${lt}`);
      assert.match(lt, /isAdjustedToUTC=(1|true)\b/, `${label}: ${c.name} isAdjustedToUTC in ${lt}`);
      assert.match(lt, /MICROS=MicroSeconds\(\)/, `${label}: ${c.name} unit MICROS in ${lt}`);
      assert.match(lt, /MILLIS=<null>/, `${label}: ${c.name} not MILLIS in ${lt}`);
      assert.match(lt, /NANOS=<null>/, `${label}: ${c.name} not NANOS in ${lt}`);
    }
  }
}

function minMax(vals) {
  let mn = vals[0], mx = vals[0];
  for (const v of vals) {
    if (v < mn) mn = v;
    if (v > mx) mx = v;
  }
  return [mn, mx];
}

/**
 * Compression of every column chunk, and per row group statistics: required and exact for
 * timestamp columns (DuckDB and hyparquet), exact when present for the others; null counts exact when present.
 */
async function checkMetadata(file, exp, label, codec) {
  const fm = await duckFileMetadata(file);
  assert.equal(Number(fm.num_rows), exp.rows.length, `${label}: parquet_file_metadata num_rows`);
  const md = await duckParquetMetadata(file);
  const h = await hypReadAll(file);
  const ncol = exp.schema.length;
  if (exp.rows.length > 0) assert.ok(md.length > 0, `${label}: no column chunks in a file with rows`);
  for (const m of md) {
    const where = `${label}: row group ${m.row_group_id} column ${m.path_in_schema}`;
    if (m.compression === codec) continue;
    // A small chunk the codec did not shrink is stored as its uncompressed pages (codec per column chunk).
    assert.equal(m.compression, 'UNCOMPRESSED', `${where} compression`);
    assert.equal(Number(m.total_compressed_size), Number(m.total_uncompressed_size), `${where}: an UNCOMPRESSED chunk's sizes`);
    assert.ok(Number(m.total_uncompressed_size) <= SMALL_CHUNK_BYTES, `${where}: UNCOMPRESSED instead of ${codec}, but ${m.total_uncompressed_size} bytes is not a small chunk`);
  }
  const rgIds = [...new Set(md.map((m) => m.row_group_id))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  assert.equal(rgIds.length, h.metadata.row_groups.length, `${label}: row group count DuckDB vs hyparquet`);
  let start = 0;
  for (const [g, rg] of rgIds.entries()) {
    const chunks = md.filter((m) => m.row_group_id === rg);
    assert.equal(chunks.length, ncol, `${label}: row group ${rg} column chunk count`);
    const n = Number(chunks[0].row_group_num_rows);
    const slice = exp.rows.slice(start, start + n);
    assert.equal(slice.length, n, `${label}: row group ${rg} claims ${n} rows beyond the end`);
    const hrg = h.metadata.row_groups[g];
    assert.equal(Number(hrg.num_rows), n, `${label}: row group ${g} num_rows (hyparquet)`);
    for (const [ci, c] of exp.schema.entries()) {
      const m = chunks.find((x) => x.path_in_schema === c.name);
      assert.ok(m, `${label}: row group ${rg} has no chunk for ${c.name}`);
      const where = `${label}: row group ${rg} column ${c.name}`;
      const values = slice.map((r) => r[ci]);
      const nonNull = values.filter((v) => v !== null);
      const nulls = values.length - nonNull.length;
      assert.equal(hrg.columns[ci].meta_data.codec, m.compression, `${where}: codec (hyparquet vs DuckDB)`);
      const hs = hrg.columns[ci].meta_data.statistics;
      if (m.stats_null_count !== null && m.stats_null_count !== undefined) {
        assert.equal(Number(m.stats_null_count), nulls, `${where}: stats null_count`);
      }
      if (hs?.null_count !== undefined) assert.equal(Number(hs.null_count), nulls, `${where}: stats null_count (hyparquet)`);
      if (nonNull.length === 0) continue;
      const [mn, mx] = c.kind === 'boolean' ? [nonNull.includes(false) ? false : true, nonNull.includes(true)] : minMax(nonNull);
      const hmin = hs?.min_value ?? hs?.min, hmax = hs?.max_value ?? hs?.max;
      if (c.kind === 'timestamp') {
        const dmin = m.stats_min_value_us ?? m.stats_min_us, dmax = m.stats_max_value_us ?? m.stats_max_us;
        assert.ok(dmin !== null && dmax !== null,
          `${where}: timestamp statistics missing (stats_min_value=${m.stats_min_value}, stats_max_value=${m.stats_max_value}, stats_min=${m.stats_min}, stats_max=${m.stats_max})`);
        assert.equal(dmin, mn, `${where}: stats min (DuckDB ${m.stats_min_value ?? m.stats_min}) vs true min ${isoMicros(mn)}`);
        assert.equal(dmax, mx, `${where}: stats max (DuckDB ${m.stats_max_value ?? m.stats_max}) vs true max ${isoMicros(mx)}`);
        assert.equal(hmin, mn, `${where}: stats min (hyparquet)`);
        assert.equal(hmax, mx, `${where}: stats max (hyparquet)`);
      } else {
        if (hmin !== undefined) assert.ok(Object.is(hmin, mn), `${where}: stats min ${fmtValue(hmin)} but true min ${fmtValue(mn)}`);
        if (hmax !== undefined) assert.ok(Object.is(hmax, mx), `${where}: stats max ${fmtValue(hmax)} but true max ${fmtValue(mx)}`);
      }
    }
    start += n;
  }
  assert.equal(start, exp.rows.length, `${label}: row groups cover ${start} rows of ${exp.rows.length}`);
}

let VERSION_OUT = null;
function versionOutput() {
  if (VERSION_OUT === null) VERSION_OUT = runOk(['--version']).stdout;
  return VERSION_OUT;
}

async function checkKv(file, exp, label, { source, sourceBytes, t0, t1 }) {
  const kv = await duckKvMetadata(file);
  for (const k of KV_KEYS) assert.ok(Object.hasOwn(kv, k), `${label}: key-value metadata lacks ${k}; has ${Object.keys(kv).join(', ')}`);
  assert.equal(kv.source, source, `${label}: kv source`);
  assert.equal(kv.source_bytes, String(sourceBytes), `${label}: kv source_bytes (size of the input file)`);
  assert.equal(kv.row_count, String(exp.rows.length), `${label}: kv row_count`);
  if (exp.rows.length > 0) {
    assert.match(kv.first_timestamp, ISO_MICROS, `${label}: kv first_timestamp format`);
    assert.match(kv.last_timestamp, ISO_MICROS, `${label}: kv last_timestamp format`);
    assert.equal(kv.first_timestamp, isoMicros(exp.rows[0][localTs(exp)]), `${label}: kv first_timestamp (first row's local_timestamp)`);
    assert.equal(kv.last_timestamp, isoMicros(exp.rows.at(-1)[localTs(exp)]), `${label}: kv last_timestamp (last row's local_timestamp)`);
  }
  assert.ok(kv.tool_version.length > 0, `${label}: kv tool_version empty`);
  assert.ok(versionOutput().includes(kv.tool_version), `${label}: kv tool_version ${JSON.stringify(kv.tool_version)} not in --version output ${JSON.stringify(versionOutput())}`);
  assert.match(kv.created_at, ISO_UTC, `${label}: kv created_at format`);
  const created = Date.parse(kv.created_at);
  assert.ok(created >= t0 - 2000 && created <= t1 + 2000,
    `${label}: kv created_at ${kv.created_at} not within the run (${new Date(t0).toISOString()} .. ${new Date(t1).toISOString()})`);
  // the second reader sees the same key-value metadata
  const h = await hypReadAll(file);
  const hkv = Object.fromEntries((h.metadata.key_value_metadata ?? []).map((e) => [e.key, e.value]));
  for (const k of KV_KEYS) assert.equal(hkv[k], kv[k], `${label}: kv ${k} hyparquet vs DuckDB`);
}

function checkStdoutLines(r, args, cwd, expected, label) {
  const lines = parseConvertStdout(r.stdout, cwd);
  const got = lines.map((l) => `${l.path}\t${l.rows}`).sort();
  const want = expected.map((e) => `${e.path}\t${e.rows}`).sort();
  assert.deepEqual(got, want, `${label}: stdout PATH\\tROWS lines\n${describeRun(args, r)}`);
  for (const l of lines) {
    assert.equal(l.bytes, fs.statSync(l.path).size, `${label}: stdout BYTES for ${l.path}`);
  }
}

// ---------------------------------------------------------------------------------------------
// a. + b. + c. single-file mode
// ---------------------------------------------------------------------------------------------

describe('single-file mode', () => {
  for (const F of FIXTURES) {
    describe(base(F), () => {
      let exp, out, dir, r, args;
      before(() => {
        exp = expectedTable(F);
        dir = mkTmp(ROOT_TMP, caseName('single', base(F)));
        out = path.join(dir, 'x.parquet');
        args = ['convert', F, '--output', out];
        r = run(args, { cwd: dir });
      });

      it('exits 0, prints PATH\\tROWS\\tBYTES, writes only the output file', () => {
        assert.equal(r.code, 0, describeRun(args, r));
        checkStdoutLines(r, args, dir, [{ path: out, rows: exp.rows.length }], base(F));
        assert.deepEqual(listFiles(dir), ['x.parquet'], 'files in the output directory');
      });
      it('DuckDB DESCRIBE: names and types in order', async () => { await checkDescribe(out, exp, base(F)); });
      it('DuckDB reads every value equal to the CSV', async () => { await checkDuckValues(out, exp, base(F)); });
      it('hyparquet reads every value equal to the CSV', async () => { await checkHypValues(out, exp, base(F)); });
      it('Parquet physical/logical types (TIMESTAMP isAdjustedToUTC MICROS)', async () => { await checkParquetTypes(out, exp, base(F)); });
      it('ZSTD by default; statistics exact', async () => { await checkMetadata(out, exp, base(F), 'ZSTD'); });
      it('key-value metadata', async () => {
        await checkKv(out, exp, base(F), { source: F, sourceBytes: fs.statSync(F).size, t0: r.t0, t1: r.t1 });
      });
    });
  }
});

describe('--compression', () => {
  for (const F of FIXTURES) {
    for (const codec of ['snappy', 'none', 'zstd']) {
      it(`${base(F)} --compression ${codec}`, async () => {
        const exp = expectedTable(F);
        const dir = mkTmp(ROOT_TMP, caseName('codec', codec, base(F)));
        const out = path.join(dir, `${codec}.parquet`);
        runOk(['convert', F, '--output', out, '--compression', codec], { cwd: dir });
        assert.deepEqual(listFiles(dir), [`${codec}.parquet`]);
        const label = `${base(F)} (${codec})`;
        await checkMetadata(out, exp, label, CODEC_NAME[codec]);
        await checkDuckValues(out, exp, label);
        await checkHypValues(out, exp, label);
      });
    }
  }
});

describe('column chunks the codec cannot shrink', () => {
  it('one file holds ZSTD and UNCOMPRESSED chunks; DuckDB and hyparquet read every value', async () => {
    const F = FIXTURES.find((f) => base(f).startsWith('bitmex_trades_'));
    assert.ok(F, 'the bitmex trades fixture');
    const exp = expectedTable(F);
    const dir = mkTmp(ROOT_TMP, caseName('raw-chunks', base(F)));
    const out = path.join(dir, 'x.parquet');
    runOk(['convert', F, '--output', out], { cwd: dir });
    const md = await duckParquetMetadata(out);
    const codecOf = Object.fromEntries(md.map((m) => [m.path_in_schema, m.compression]));
    // One dictionary value (exchange, symbol, instrument_key): a few dozen bytes ZSTD only adds to.
    for (const c of ['exchange', 'symbol', 'instrument_key']) assert.equal(codecOf[c], 'UNCOMPRESSED', `${c} codec`);
    // Timestamps and trade ids shrink under ZSTD and keep it.
    for (const c of ['timestamp', 'local_timestamp', 'id']) assert.equal(codecOf[c], 'ZSTD', `${c} codec`);
    const label = `${base(F)} (mixed codecs)`;
    await checkMetadata(out, exp, label, 'ZSTD');
    await checkDuckValues(out, exp, label);
    await checkHypValues(out, exp, label);
  });
});

// Several row groups (per row group statistics), PLAIN/dictionary-only encodings, both gzip engines,
// one encoding thread: the values must not change.
describe('writer options keep the values', () => {
  for (const F of FIXTURES) {
    const exp = expectedTable(F);
    const batch = Math.max(2, Math.ceil(exp.rows.length / 4));
    const variants = [
      ['--batch-size', String(batch)],
      ['--batch-size', String(batch), '--encodings', 'plain'],
      ['--encodings', 'plain', '--compression', 'snappy'],
      ['--gzip-engine', 'zlib', '--threads', '1'],
    ];
    for (const v of variants) {
      it(`${base(F)} ${v.join(' ')}`, async () => {
        const dir = mkTmp(ROOT_TMP, caseName('opt', base(F), ...v));
        const out = path.join(dir, 'x.parquet');
        const args = ['convert', F, '--output', out, ...v];
        const r = runOk(args, { cwd: dir });
        checkStdoutLines(r, args, dir, [{ path: out, rows: exp.rows.length }], base(F));
        assert.deepEqual(listFiles(dir), ['x.parquet']);
        const label = `${base(F)} (${v.join(' ')})`;
        if (v.includes('--batch-size')) {
          const fm = await duckFileMetadata(out);
          assert.equal(Number(fm.num_row_groups), Math.ceil(exp.rows.length / batch), `${label}: row groups of ${batch} rows`);
        }
        await checkDescribe(out, exp, label);
        await checkDuckValues(out, exp, label);
        await checkHypValues(out, exp, label);
        await checkMetadata(out, exp, label, v.includes('snappy') ? 'SNAPPY' : 'ZSTD');
      });
    }
  }
});

// ---------------------------------------------------------------------------------------------
// d. directory mode
// ---------------------------------------------------------------------------------------------

// A grouped file converted into a store also gets its item's completion record (docs/VALIDATE.md).
const GROUPED_SYMBOLS = new Set(['OPTIONS', 'PERPETUALS', 'FUTURES', 'SPOT', 'COMBOS']);
function recordRels(file) {
  const { exchange, dataType, date, symbol } = parseTardisName(file);
  return GROUPED_SYMBOLS.has(symbol) ? [`raw_tick_data/by_date/day-${date}/data_type-${dataType}/_items/${exchange}/${symbol}.json`] : [];
}

describe('directory mode', () => {
  for (const F of FIXTURES) {
    describe(base(F), () => {
      let outs, dir, outDir, r, args;
      before(() => {
        outs = expectedDirOutputs(F);
        dir = mkTmp(ROOT_TMP, caseName('dir', base(F)));
        outDir = path.join(dir, 'out');
        args = ['convert', F, '--output', outDir];
        r = run(args, { cwd: dir });
      });

      it('exits 0 and writes exactly the expected files', () => {
        assert.equal(r.code, 0, describeRun(args, r));
        assert.deepEqual(listFiles(outDir), [...outs.map((o) => o.rel), ...recordRels(F)].sort(), `files under ${outDir}`);
        checkStdoutLines(r, args, dir, outs.map((o) => ({ path: path.join(outDir, o.rel), rows: o.table.rows.length })), base(F));
      });
      it('each file holds its instrument\'s rows in CSV order (DuckDB, hyparquet)', async () => {
        for (const o of outs) {
          const p = path.join(outDir, o.rel);
          const label = `${base(F)} -> ${o.rel}`;
          assert.ok(fs.existsSync(p), `${label}: missing`);
          await checkDescribe(p, o.table, label);
          await checkDuckValues(p, o.table, label);
          await checkHypValues(p, o.table, label);
        }
      });
      it('each file: types, ZSTD, statistics, key-value metadata', async () => {
        for (const o of outs) {
          const p = path.join(outDir, o.rel);
          const label = `${base(F)} -> ${o.rel}`;
          assert.ok(fs.existsSync(p), `${label}: missing`);
          await checkParquetTypes(p, o.table, label);
          await checkMetadata(p, o.table, label, 'ZSTD');
          await checkKv(p, o.table, label, { source: F, sourceBytes: fs.statSync(F).size, t0: r.t0, t1: r.t1 });
        }
      });
    });
  }

  it('all fixtures in one run into one directory', async () => {
    const dir = mkTmp(ROOT_TMP, 'dir-all');
    const outDir = path.join(dir, 'out');
    const args = ['convert', ...FIXTURES, '--output', outDir];
    const r = runOk(args, { cwd: dir });
    const outs = FIXTURES.flatMap((F) => expectedDirOutputs(F));
    assert.deepEqual(listFiles(outDir), [...outs.map((o) => o.rel), ...FIXTURES.flatMap(recordRels)].sort(), 'files written');
    checkStdoutLines(r, args, dir, outs.map((o) => ({ path: path.join(outDir, o.rel), rows: o.table.rows.length })), 'all fixtures');
    for (const o of outs) await checkDuckValues(path.join(outDir, o.rel), o.table, `all fixtures -> ${o.rel}`);
    // instrument_key: each file's key in every row (an options chain: each option's), one dictionary
    // value per column chunk, so a glob over the files groups rows by instrument.
    const db = await duckdb();
    const glob = path.join(outDir, 'raw_tick_data', 'by_date', '*', 'data_type-trades', '*.parquet');
    const byKey = await db.objects(`SELECT instrument_key, count(*)::INTEGER AS n FROM read_parquet(${sqlStr(glob)}) GROUP BY 1 ORDER BY 1`);
    const trades = outs.filter((o) => o.table.dataType === 'trades');
    assert.deepEqual(byKey, trades.map((o) => ({ instrument_key: o.key, n: o.table.rows.length })).sort((a, b) => a.instrument_key.localeCompare(b.instrument_key)), 'trades by instrument_key over a glob');
    for (const o of outs.filter((x) => !ROW_KEYED.has(x.table.dataType))) {
      const md = (await duckParquetMetadata(path.join(outDir, o.rel))).filter((c) => c.path_in_schema === 'instrument_key');
      assert.ok(md.length > 0, `${o.rel}: an instrument_key column chunk`);
      for (const c of md) {
        assert.match(c.encodings, /RLE_DICTIONARY/, `${o.rel}: instrument_key dictionary-encoded`);
        assert.equal(c.stats_min_value, o.key, `${o.rel}: instrument_key min`);
        assert.equal(c.stats_max_value, o.key, `${o.rel}: instrument_key max`);
      }
    }
  });

  // With several files of similar size and more than one thread, files convert side by side (a file per
  // worker); the output must be what one file after another gives, byte for byte, reported in input order,
  // and a bad file among them must fail alone.
  it('several files side by side (--threads 2) write what one at a time (--threads 1) writes', () => {
    const dir = mkTmp(ROOT_TMP, 'dir-side-by-side');
    const small = FIXTURES.filter((F) => fs.statSync(F).size < 4096);
    assert.ok(small.length >= 4, 'small fixtures to convert side by side');
    const bad = path.join(dir, 'bitmex_trades_2020-03-02_XBTUSD.csv.gz');
    fs.writeFileSync(bad, zlib.gzipSync('exchange,symbol,timestamp,local_timestamp,id,side,price,amount\n' +
      'bitmex,XBTUSD,1583020800000000,1583020800100000,a1,buy,not-a-price,1\n'));
    const inputs = [...small.slice(0, 3), bad, ...small.slice(3)];
    const env = { ...process.env, SOURCE_DATE_EPOCH: '0' };
    const runs = {};
    for (const t of ['1', '2']) {
      const outDir = path.join(dir, `t${t}`);
      const args = ['convert', ...inputs, '--output', outDir, '--threads', t];
      const r = run(args, { cwd: dir, env });
      assert.equal(r.code, 1, `one bad input: exit 1\n${describeRun(args, r)}`);
      assert.match(r.stderr, /bitmex_trades_2020-03-02_XBTUSD\.csv\.gz:2:.*not-a-price/, describeRun(args, r));
      assert.match(r.stderr, new RegExp(`converted ${inputs.length - 1} of ${inputs.length} input files`), describeRun(args, r));
      runs[t] = { outDir, lines: r.stdout.trim().split('\n').map((l) => path.relative(outDir, l.split('\t')[0]) + '\t' + l.split('\t').slice(1).join('\t')) };
    }
    const outs = small.flatMap((F) => expectedDirOutputs(F));
    assert.deepEqual(listFiles(runs['2'].outDir), [...outs.map((o) => o.rel), ...small.flatMap(recordRels)].sort(),
      'files written side by side');
    assert.deepEqual(runs['2'].lines, runs['1'].lines, 'stdout lines, in input order');
    for (const o of outs) {
      const a = fs.readFileSync(path.join(runs['1'].outDir, o.rel));
      const b = fs.readFileSync(path.join(runs['2'].outDir, o.rel));
      assert.ok(a.equals(b), `${o.rel}: the same bytes one at a time and side by side`);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// e. zero-row inputs
// ---------------------------------------------------------------------------------------------

async function checkZeroRowFile(out, dataType, label) {
  const exp = { schema: expectedSchema(dataType), rows: [] };
  await checkDescribe(out, exp, label);
  await checkDuckValues(out, exp, label);
  await checkHypValues(out, exp, label);
  await checkParquetTypes(out, exp, label);
  const kv = await duckKvMetadata(out);
  assert.equal(kv.row_count, '0', `${label}: kv row_count`);
}

describe('zero-row inputs', () => {
  for (const F of FIXTURES) {
    it(`header-only gzip like ${base(F)}`, async () => {
      const dir = mkTmp(ROOT_TMP, caseName('hdr', base(F)));
      const { header } = readTardisCsv(F);
      const input = path.join(dir, 'in', base(F));
      fs.mkdirSync(path.dirname(input));
      fs.writeFileSync(input, zlib.gzipSync(Buffer.from(header.join(',') + '\n')));
      const out = path.join(dir, 'out', 'x.parquet');
      fs.mkdirSync(path.dirname(out));
      const args = ['convert', input, '--output', out];
      const r = runOk(args, { cwd: dir });
      checkStdoutLines(r, args, dir, [{ path: out, rows: 0 }], base(F));
      assert.deepEqual(listFiles(path.dirname(out)), ['x.parquet']);
      await checkZeroRowFile(out, parseTardisName(F).dataType, `header-only ${base(F)}`);
    });
  }

  it('empty gzip stream with --data-type trades', async () => {
    const dir = mkTmp(ROOT_TMP, 'empty-gzip');
    const input = path.join(dir, 'in', 'empty.csv.gz');
    fs.mkdirSync(path.dirname(input));
    fs.writeFileSync(input, zlib.gzipSync(Buffer.alloc(0)));
    const out = path.join(dir, 'out', 'x.parquet');
    fs.mkdirSync(path.dirname(out));
    const args = ['convert', input, '--output', out, '--data-type', 'trades'];
    const r = runOk(args, { cwd: dir });
    checkStdoutLines(r, args, dir, [{ path: out, rows: 0 }], 'empty gzip');
    assert.deepEqual(listFiles(path.dirname(out)), ['x.parquet']);
    await checkZeroRowFile(out, 'trades', 'empty gzip --data-type trades');
  });
});

// ---------------------------------------------------------------------------------------------
// f. bad input
// ---------------------------------------------------------------------------------------------

const TRADES_HEADER = 'exchange,symbol,timestamp,local_timestamp,id,side,price,amount';
const T1 = 'binance-futures,BTCUSDT,1582329602111000,1582329602418379,42377944,buy,9682,0.132';
const T2 = 'binance-futures,BTCUSDT,1582329602116000,1582329602418420,42377945,buy,9682,0.412';
const T3 = 'binance-futures,BTCUSDT,1582329602120000,1582329602418500,42377946,sell,9681.5,1';
const csv = (...lines) => Buffer.from(lines.join('\n') + '\n');
const TRADES_FIXTURE = FIXTURES.find((f) => base(f) === 'binance-futures_trades_2020-02-22_BTCUSDT.csv.gz');

/** Deterministic pseudo-random bytes (not gzip: first byte forced away from 0x1f). */
function pseudoRandomBytes(n, seed = 12345) {
  const b = Buffer.alloc(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    b[i] = x >>> 24;
  }
  if (b[0] === 0x1f) b[0] = 0x00;
  return b;
}

const BAD_CASES = [
  { name: 'unknown header', file: 'bad.csv', data: () => csv('foo,bar,baz', '1,2,3'), raw: 'foo' },
  { name: 'wrong column count on line 3', file: 'bad.csv', data: () => csv(TRADES_HEADER, T1, T2.split(',').slice(0, 7).join(','), T3),
    line: /bad\.csv:3:/, raw: T2.split(',').slice(0, 7).join(','), extra: ['--data-type', 'trades'] },
  { name: 'unparsable price on line 4', file: 'bad.csv', data: () => csv(TRADES_HEADER, T1, T2, T3.replace('9681.5', '12x.5')),
    line: /bad\.csv:4:/, raw: '12x.5', extra: ['--data-type', 'trades'] },
  { name: 'unparsable price on line 4 (gzip)', file: 'bad.csv.gz', data: () => zlib.gzipSync(csv(TRADES_HEADER, T1, T2, T3.replace('9681.5', '12x.5'))),
    line: /bad\.csv\.gz:4:/, raw: '12x.5', extra: ['--data-type', 'trades'] },
  { name: 'unparsable timestamp on line 2', file: 'bad.csv', data: () => csv(TRADES_HEADER, T1.replace('1582329602111000', '15823296O2111000'), T2),
    line: /bad\.csv:2:/, raw: '15823296O2111000', extra: ['--data-type', 'trades'] },
  { name: 'truncated gzip', file: 'trunc.csv.gz', data: () => { const b = fs.readFileSync(TRADES_FIXTURE); return b.subarray(0, b.length >> 1); } },
  { name: 'corrupt gzip', file: 'corrupt.csv.gz', data: () => {
    const b = Buffer.from(fs.readFileSync(TRADES_FIXTURE));
    const mid = b.length >> 1;
    for (let i = mid; i < mid + 16; i++) b[i] ^= 0xff;
    return b;
  } },
  { name: 'neither gzip nor CSV (random bytes)', file: 'random.csv', data: () => pseudoRandomBytes(4096) },
  { name: 'empty file without --data-type', file: 'empty.csv', data: () => Buffer.alloc(0) },
  { name: 'header does not match --data-type', file: 'bad.csv', data: () => csv(TRADES_HEADER, T1, T2), extra: ['--data-type', 'quotes'],
    line: /bad\.csv:1:/, raw: `got "${TRADES_HEADER}", expected "exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount"` },
  // liquidations share the trades header: without a data type in the name, the header cannot choose.
  { name: 'header fits two data types and the name gives none', file: 'bad.csv', data: () => csv(TRADES_HEADER, T1, T2),
    line: /bad\.csv:1:/, raw: "fits data types 'trades' and 'liquidations'" },
  // A name of the official shape with a day that does not exist: said, before the header's question.
  { name: 'official name with a date that is no day', file: 'binance-futures_trades_2020-02-30_BTCUSDT.csv', data: () => csv(TRADES_HEADER, T1, T2),
    raw: '2020-02-30 in the file name is not a date' },
  { name: 'header is not the one of the data type in the file name', file: 'binance-futures_book_ticker_2020-02-22_BTCUSDT.csv',
    data: () => csv(TRADES_HEADER, T1, T2), line: /book_ticker_2020-02-22_BTCUSDT\.csv:1:/, raw: "data type 'book_ticker' (from the file name)" },
];

describe('bad input (single-file mode)', () => {
  for (const c of BAD_CASES) {
    it(`${c.name} -> exit 1, message, no output`, () => {
      const dir = mkTmp(ROOT_TMP, caseName('bad', c.name));
      const input = path.join(dir, 'in', c.file);
      fs.mkdirSync(path.dirname(input));
      fs.writeFileSync(input, c.data());
      const outDir = path.join(dir, 'out');
      fs.mkdirSync(outDir);
      const args = ['convert', input, '--output', path.join(outDir, 'x.parquet'), ...(c.extra ?? [])];
      const r = run(args, { cwd: dir });
      const info = describeRun(args, r);
      assert.equal(r.code, 1, `exit code\n${info}`);
      assert.ok(r.stderr.includes(c.file), `stderr must name the file ${c.file}\n${info}`);
      if (c.line) assert.match(r.stderr, c.line, `stderr must give file:line\n${info}`);
      if (c.raw) assert.ok(r.stderr.includes(c.raw), `stderr must quote the offending text ${JSON.stringify(c.raw)}\n${info}`);
      assert.deepEqual(listFiles(outDir), [], `nothing may be left in the output dir\n${info}`);
      assert.equal(r.stdout.trim(), '', `no file written, so no stdout line\n${info}`);
    });
  }

  it('an existing output survives a failed run onto the same path', async () => {
    const dir = mkTmp(ROOT_TMP, 'bad-keeps-existing');
    const outDir = path.join(dir, 'out');
    fs.mkdirSync(outDir);
    const out = path.join(outDir, 'x.parquet');
    runOk(['convert', TRADES_FIXTURE, '--output', out], { cwd: dir });
    const before_ = fs.readFileSync(out);
    const bad = path.join(dir, 'bad.csv');
    fs.writeFileSync(bad, csv(TRADES_HEADER, T1, T2, T3.replace('9681.5', '12x.5')));
    const args = ['convert', bad, '--output', out, '--data-type', 'trades'];
    const r = run(args, { cwd: dir });
    assert.equal(r.code, 1, describeRun(args, r));
    assert.match(r.stderr, /bad\.csv:4:/, describeRun(args, r));
    assert.deepEqual(listFiles(outDir), ['x.parquet'], 'files in output dir');
    assert.ok(fs.readFileSync(out).equals(before_), 'the earlier output was changed');
    await checkDuckValues(out, expectedTable(TRADES_FIXTURE), 'earlier output');
  });
});

describe('bad input (directory mode)', () => {
  it('first file bad, second good -> exit 1, good written, bad not', async () => {
    const dir = mkTmp(ROOT_TMP, 'bad-then-good');
    const badName = 'bitmex_trades_2020-03-01_XBTUSD.csv';
    const bad = path.join(dir, 'in', badName);
    fs.mkdirSync(path.dirname(bad));
    fs.writeFileSync(bad, csv(TRADES_HEADER,
      'bitmex,XBTUSD,1583020803145000,1583020803307160,ccc3c1fa-212c-e8b0-1706-9b9c4f3d5ecf,sell,8531.5,2152',
      'bitmex,XBTUSD,1583020803276000,1583020803336743,b46c84da-6942-b404-ab94-18a9ad497fdd,sell,85x31.5,1'));
    const outDir = path.join(dir, 'out');
    const args = ['convert', bad, TRADES_FIXTURE, '--output', outDir];
    const r = run(args, { cwd: dir });
    const info = describeRun(args, r);
    assert.equal(r.code, 1, `exit code\n${info}`);
    assert.match(r.stderr, /bitmex_trades_2020-03-01_XBTUSD\.csv:3:/, `stderr file:line\n${info}`);
    assert.ok(r.stderr.includes('85x31.5'), `stderr raw text\n${info}`);
    const outs = expectedDirOutputs(TRADES_FIXTURE);
    assert.deepEqual(listFiles(outDir), outs.map((o) => o.rel).sort(), `only the good file's output\n${info}`);
    checkStdoutLines(r, args, dir, outs.map((o) => ({ path: path.join(outDir, o.rel), rows: o.table.rows.length })), 'bad then good');
    for (const o of outs) await checkDuckValues(path.join(outDir, o.rel), o.table, `good file -> ${o.rel}`);
  });

  for (const c of BAD_CASES.filter((x) => ['unparsable price on line 4', 'truncated gzip', 'corrupt gzip'].includes(x.name))) {
    it(`${c.name} with a Tardis file name -> exit 1, no file under the output dir`, () => {
      const dir = mkTmp(ROOT_TMP, caseName('baddir', c.name));
      const fname = 'binance-futures_trades_2020-02-22_BTCUSDT' + (c.file.endsWith('.gz') ? '.csv.gz' : '.csv');
      const input = path.join(dir, 'in', fname);
      fs.mkdirSync(path.dirname(input));
      fs.writeFileSync(input, c.data());
      const outDir = path.join(dir, 'out');
      const args = ['convert', input, '--output', outDir];
      const r = run(args, { cwd: dir });
      const info = describeRun(args, r);
      assert.equal(r.code, 1, `exit code\n${info}`);
      assert.ok(r.stderr.includes(fname), `stderr must name ${fname}\n${info}`);
      assert.deepEqual(listFiles(outDir), [], `no file may be left\n${info}`);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// g. command line
// ---------------------------------------------------------------------------------------------

describe('command line', () => {
  it('--help exits 0 and lists the commands', () => {
    const r = run(['--help']);
    assert.equal(r.code, 0, describeRun(['--help'], r));
    assert.match(r.stdout, /\bconvert\b/, describeRun(['--help'], r));
  });
  it('--version prints a version', () => {
    const r = run(['--version']);
    assert.equal(r.code, 0, describeRun(['--version'], r));
    assert.match(r.stdout, /\d+\.\d+/, describeRun(['--version'], r));
  });
  it('libcurl is loaded only by the commands that use the network', () => {
    // A broken libcurl.so.4 first on the library path: convert never loads it and
    // works; a network command stops at once with the library and package named.
    const libDir = mkTmp(ROOT_TMP, 'broken-libcurl');
    fs.writeFileSync(path.join(libDir, 'libcurl.so.4'), '');
    const env = { ...process.env, LD_LIBRARY_PATH: libDir };
    const out = path.join(ROOT_TMP, 'no-libcurl.parquet');
    const conv = ['convert', FIXTURES[0], '--output', out];
    const c = run(conv, { env });
    assert.equal(c.code, 0, describeRun(conv, c));
    assert.ok(fs.existsSync(out), 'convert wrote its file without libcurl');
    const instr = ['instruments', '--from', '2024-01-01', '--exchanges', 'deribit', '--format', 'table'];
    const i = run(instr, { env, timeout: 30_000 });
    assert.equal(i.code, 1, describeRun(instr, i));
    assert.match(i.stderr, /cannot load libcurl\.so\.4 .*install the libcurl4 package/, describeRun(instr, i));
    assert.ok(i.t1 - i.t0 < 10_000, `stopped at once, not after retries (${i.t1 - i.t0} ms)`);
  });
  it('unknown command exits 2', () => {
    const r = run(['frobnicate']);
    assert.equal(r.code, 2, describeRun(['frobnicate'], r));
    assert.ok(r.stderr.length > 0, 'a usage message on stderr');
  });
  it('a global flag before the command exits 2 saying flags go after the command', () => {
    const args = ['--env-file', 'x.env', 'plan'];
    const r = run(args);
    assert.equal(r.code, 2, describeRun(args, r));
    assert.match(r.stderr, /'--env-file' before the command: flags, the global ones too, go after it \(market-tick COMMAND --env-file \.\.\./, describeRun(args, r));
  });
  // usage errors (exit 2) — inferred from "2 usage error"
  const usage = [
    ['convert with no input', () => ['convert']],
    ['convert with an unknown option', () => ['convert', FIXTURES[0], '--output', path.join(ROOT_TMP, 'usage-unused.parquet'), '--no-such-option']],
    ['convert --compression bogus', () => ['convert', FIXTURES[0], '--output', path.join(ROOT_TMP, 'usage-unused.parquet'), '--compression', 'bogus']],
  ];
  for (const [name, mk] of usage) {
    it(`${name} exits 2 and writes nothing`, () => {
      const args = mk();
      const r = run(args);
      assert.equal(r.code, 2, describeRun(args, r));
      assert.ok(!fs.existsSync(path.join(ROOT_TMP, 'usage-unused.parquet')), 'no output for a usage error');
    });
  }
});
