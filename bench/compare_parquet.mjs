// Correctness check for the benchmark: do our Parquet files hold exactly the rows of DuckDB's
// Parquet of the same CSV? DuckDB (@duckdb/node-api) reads both sides and computes, over every
// row and every column, order-independent fingerprints: count, bit_xor and sum of row hashes,
// and per column count / bit_xor / sum of value hashes / min / max, plus sum(price), sum(amount)
// (as DOUBLE with a 1e-9 relative tolerance, and exactly as DECIMAL(38,9)).
// Timestamps: ours are TIMESTAMPTZ (microseconds), DuckDB's are the CSV's BIGINT microseconds,
// so every TIMESTAMP* column is compared as epoch_us(col) against the BIGINT.
// Our instrument_key column is not in the CSV (DuckDB's file has no such column): it is left out
// of the row fingerprints and checked apart, one value in every row.
//
// usage: node compare_parquet.mjs --kind KIND --rows N --ref DUCKDB.parquet [--json OUT.json] OURS.parquet...
// exit 0 all equal, 1 a difference (printed loudly, with example rows), 2 usage error.
import { DuckDBInstance } from '@duckdb/node-api';
import fs from 'node:fs';
import path from 'node:path';

const args = process.argv.slice(2);
const opt = { json: null, kind: '', rows: null, ref: null, cands: [] };
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--json') opt.json = args[++i];
  else if (a === '--kind') opt.kind = args[++i];
  else if (a === '--rows') opt.rows = Number(args[++i]);
  else if (a === '--ref') opt.ref = args[++i];
  else if (a.startsWith('--')) { console.error(`compare_parquet.mjs: unknown option ${a}`); process.exit(2); }
  else opt.cands.push(a);
}
if (!opt.ref || opt.cands.length === 0 || (opt.rows !== null && !Number.isSafeInteger(opt.rows))) {
  console.error('usage: node compare_parquet.mjs --kind KIND --rows N --ref DUCKDB.parquet [--json OUT.json] OURS.parquet...');
  process.exit(2);
}

const inst = await DuckDBInstance.create(':memory:', { autoinstall_known_extensions: 'false' });
const con = await inst.connect();
const q = async (sql) => (await con.runAndReadAll(sql)).getRowObjectsJson();
const lit = (s) => `'${s.replaceAll("'", "''")}'`;
const ident = (s) => `"${s.replaceAll('"', '""')}"`;

async function fingerprint(file) {
  const src = `read_parquet(${lit(file)})`;
  const desc = (await q(`DESCRIBE SELECT * FROM ${src}`)).filter((d) => d.column_name !== 'instrument_key');
  const [keyed] = await q(`SELECT count(*)::INTEGER AS n FROM (DESCRIBE SELECT * FROM ${src}) WHERE column_name = 'instrument_key'`);
  const instrumentKey = keyed.n ? (await q(`SELECT count(DISTINCT instrument_key)::INTEGER AS distinct_values,
      (count(*) - count(instrument_key))::INTEGER AS nulls FROM ${src}`))[0] : null;
  const cols = desc.map((d) => ({ name: d.column_name, type: d.column_type,
    expr: d.column_type.startsWith('TIMESTAMP') ? `epoch_us(${ident(d.column_name)})` : ident(d.column_name) }));
  const norm = `SELECT ${cols.map((c) => `${c.expr} AS ${ident(c.name)}`).join(', ')} FROM ${src}`;
  const normTypes = (await q(`DESCRIBE ${norm}`)).map((d) => `${d.column_name}:${d.column_type}`);
  const all = cols.map((c) => ident(c.name)).join(', ');
  const parts = [`count(*) AS n`, `bit_xor(hash(${all})) AS row_xor`, `sum(hash(${all})::HUGEINT) AS row_sum`];
  for (const [i, c] of cols.entries()) {
    const n = ident(c.name);
    parts.push(`count(${n}) AS c${i}_count`, `bit_xor(hash(${n})) AS c${i}_xor`, `sum(hash(${n})::HUGEINT) AS c${i}_sum`,
      `min(${n})::VARCHAR AS c${i}_min`, `max(${n})::VARCHAR AS c${i}_max`);
  }
  const names = cols.map((c) => c.name);
  // floating sums depend on summation order (row groups, threads): compare them with a tolerance,
  // and compare exact DECIMAL sums of the same values bit for bit.
  for (const c of ['price', 'amount']) if (names.includes(c)) {
    parts.push(`sum(${c}) AS sum_${c}`, `sum(${c}::DECIMAL(38,9))::VARCHAR AS sum_${c}_exact`);
  }
  const t0 = performance.now();
  const [agg] = await q(`SELECT ${parts.join(', ')} FROM (${norm})`);
  const [meta] = await q(`SELECT num_rows, num_row_groups, created_by FROM parquet_file_metadata(${lit(file)})`);
  const perColumn = {};
  for (const [i, c] of cols.entries()) {
    perColumn[c.name] = { type: c.type, compared_as: normTypes[i].split(':')[1], count: agg[`c${i}_count`],
      hash_xor: agg[`c${i}_xor`], hash_sum: agg[`c${i}_sum`], min: agg[`c${i}_min`], max: agg[`c${i}_max`] };
  }
  return {
    file, bytes: fs.statSync(file).size, created_by: meta.created_by, num_rows_footer: Number(meta.num_rows),
    row_groups: Number(meta.num_row_groups), rows: Number(agg.n), row_hash_xor: agg.row_xor, row_hash_sum: agg.row_sum,
    sum_price: agg.sum_price ?? null, sum_amount: agg.sum_amount ?? null,
    sum_price_exact: agg.sum_price_exact ?? null, sum_amount_exact: agg.sum_amount_exact ?? null, columns: perColumn, norm_sql: norm,
    instrument_key: instrumentKey,
    seconds: +((performance.now() - t0) / 1000).toFixed(3),
  };
}

function differences(ref, c) {
  const d = [];
  const eq = (what, a, b) => { if (a !== b) d.push(`${what}: ours ${b} vs duckdb ${a}`); };
  const close = (what, a, b) => {
    if (a === null && b === null) return;
    if (a === null || b === null || Math.abs(a - b) > 1e-9 * Math.max(1, Math.abs(a))) d.push(`${what}: ours ${b} vs duckdb ${a}`);
  };
  eq('rows', ref.rows, c.rows);
  eq('footer num_rows', ref.num_rows_footer, c.num_rows_footer);
  if (c.instrument_key) {
    eq('instrument_key distinct values (ours: the file\'s key)', 1, c.rows ? c.instrument_key.distinct_values : 1);
    eq('instrument_key nulls', 0, c.instrument_key.nulls);
  }
  const rc = Object.keys(ref.columns), cc = Object.keys(c.columns);
  eq('columns', rc.join(','), cc.join(','));
  for (const name of rc.filter((n) => cc.includes(n))) {
    const a = ref.columns[name], b = c.columns[name];
    for (const k of ['compared_as', 'count', 'hash_xor', 'hash_sum', 'min', 'max']) eq(`${name}.${k}`, a[k], b[k]);
  }
  eq('row hash bit_xor', ref.row_hash_xor, c.row_hash_xor);
  eq('row hash sum', ref.row_hash_sum, c.row_hash_sum);
  close('sum(price)', ref.sum_price, c.sum_price);
  close('sum(amount)', ref.sum_amount, c.sum_amount);
  eq('sum(price::DECIMAL(38,9))', ref.sum_price_exact, c.sum_price_exact);
  eq('sum(amount::DECIMAL(38,9))', ref.sum_amount_exact, c.sum_amount_exact);
  return d;
}

// Only on a mismatch: a multiset difference (EXCEPT ALL) to show example rows on each side.
async function examples(ref, c) {
  const a = `(${ref.norm_sql})`, b = `(${c.norm_sql})`;
  const out = {};
  try {
    out.only_in_duckdb_count = Number((await q(`SELECT count(*) n FROM (${a} EXCEPT ALL ${b})`))[0].n);
    out.only_in_ours_count = Number((await q(`SELECT count(*) n FROM (${b} EXCEPT ALL ${a})`))[0].n);
    out.only_in_duckdb = await q(`SELECT * FROM (${a} EXCEPT ALL ${b}) LIMIT 5`);
    out.only_in_ours = await q(`SELECT * FROM (${b} EXCEPT ALL ${a}) LIMIT 5`);
  } catch (e) { out.error = String(e?.message ?? e); }
  return out;
}

const ref = await fingerprint(opt.ref);
const report = { kind: opt.kind, rows_expected: opt.rows, ref, candidates: [], ok: true };
if (opt.rows !== null && ref.rows !== opt.rows) {
  console.error(`!!! ${opt.kind}: DuckDB's reference ${path.basename(opt.ref)} has ${ref.rows} rows, the CSV has ${opt.rows}`);
  report.ok = false;
}
for (const file of opt.cands) {
  let c, diffs;
  try {
    c = await fingerprint(file);
    diffs = differences(ref, c);
    if (opt.rows !== null && c.rows !== opt.rows) diffs.unshift(`rows: ours ${c.rows} vs CSV ${opt.rows}`);
  } catch (e) {
    c = { file, error: String(e?.message ?? e) };
    diffs = [`could not read ${file} with DuckDB: ${c.error}`];
  }
  const entry = { file, ok: diffs.length === 0, differences: diffs, fingerprint: c };
  if (!entry.ok) {
    report.ok = false;
    if (!c.error) entry.examples = await examples(ref, c);
    console.error(`\n!!! MISMATCH ${opt.kind}: ${path.basename(file)} vs DuckDB ${path.basename(opt.ref)}`);
    for (const x of diffs) console.error(`!!!   ${x}`);
    if (entry.examples) console.error(`!!!   example rows: ${JSON.stringify(entry.examples, null, 1)}`);
  } else {
    console.error(`  OK ${opt.kind}: ${path.basename(file)} == DuckDB ${path.basename(opt.ref)}: ${c.rows} rows, ` +
      `row-hash xor ${c.row_hash_xor}, sum ${c.row_hash_sum}, sum(amount) ${c.sum_amount_exact}, ` +
      `${Object.keys(c.columns).length} columns equal (${Object.entries(c.columns).map(([n, v]) =>
        v.type === v.compared_as ? n : `${n} ${v.type}->${v.compared_as}`).join(', ')})`);
  }
  report.candidates.push(entry);
}
con.closeSync(); inst.closeSync();
if (opt.json) fs.writeFileSync(opt.json, JSON.stringify(report, null, 2));
process.exitCode = report.ok ? 0 : 1;
