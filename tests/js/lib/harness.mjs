// Running the market-tick binary and comparing what the readers return with the reference.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(HERE, '../../..');
export const BIN = process.env.MARKET_TICK_BIN ? path.resolve(process.env.MARKET_TICK_BIN) : path.join(ROOT, 'build', 'market-tick');
export const FIXTURE_DIR = path.join(ROOT, 'fixtures', 'tardis', 'csv');
export const FIXTURES = fs.readdirSync(FIXTURE_DIR).filter((f) => f.endsWith('.csv.gz')).sort().map((f) => path.join(FIXTURE_DIR, f));

/** Runs the binary synchronously. Returns { code, signal, stdout, stderr, t0, t1 } (t0/t1: wall-clock ms). */
export function run(args, { cwd = os.tmpdir(), timeout = 120_000, env = process.env } = {}) {
  if (!fs.existsSync(BIN)) throw new Error(`market-tick binary not found at ${BIN} (build it or set MARKET_TICK_BIN)`);
  const t0 = Date.now();
  const r = spawnSync(BIN, args, { cwd, env, encoding: 'utf8', timeout, maxBuffer: 64 << 20 });
  const t1 = Date.now();
  if (r.error) throw r.error;
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, t0, t1 };
}

/**
 * run() without blocking the event loop: for a run whose server (the Tardis test server) answers
 * from this process. Resolves with { code, signal, stdout, stderr }.
 */
export function runAsync(args, { cwd = os.tmpdir(), env = process.env } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { cwd, env });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** A human-readable summary of a run for assertion messages. */
export function describeRun(args, r) {
  const cut = (s) => (s.length > 2000 ? s.slice(0, 2000) + '…' : s);
  return `market-tick ${args.map((a) => JSON.stringify(a)).join(' ')}\n  exit=${r.code} signal=${r.signal}\n  stdout: ${cut(r.stdout)}\n  stderr: ${cut(r.stderr)}`;
}

export function runOk(args, opts) {
  const r = run(args, opts);
  assert.equal(r.code, 0, `expected exit 0:\n${describeRun(args, r)}`);
  return r;
}

/** Fresh temp dir under a root temp dir. */
export function mkTmp(root, name) {
  const d = path.join(root, name);
  fs.rmSync(d, { recursive: true, force: true });
  fs.mkdirSync(d, { recursive: true });
  return d;
}

/**
 * All regular files (and other non-directories) under dir, as paths relative to dir, sorted; without
 * the store's layout record at dir's root (market-tick-store.json, docs/STORAGE.md "Layouts"), which
 * tests/js/layout.test.mjs and the GCS emulator tests check by name.
 */
export function listFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (!(d === dir && e.name === 'market-tick-store.json')) out.push(path.relative(dir, p));
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out.sort();
}

/**
 * Parses convert's stdout: one `PATH\tROWS\tBYTES` line per written file. PATH is resolved against cwd.
 * Returns [{ path, rows, bytes, line }].
 */
export function parseConvertStdout(stdout, cwd) {
  const lines = stdout.split('\n').filter((l) => l !== '');
  return lines.map((line) => {
    const parts = line.split('\t');
    assert.equal(parts.length, 3, `stdout line is not PATH\\tROWS\\tBYTES: ${JSON.stringify(line)}`);
    assert.match(parts[1], /^\d+$/, `ROWS not an integer in ${JSON.stringify(line)}`);
    assert.match(parts[2], /^\d+$/, `BYTES not an integer in ${JSON.stringify(line)}`);
    return { path: path.resolve(cwd, parts[0]), rows: Number(parts[1]), bytes: Number(parts[2]), line };
  });
}

// ---------------------------------------------------------------------------------------------
// value comparison
// ---------------------------------------------------------------------------------------------

export function fmtValue(v) {
  if (v === null) return 'NULL';
  if (v === undefined) return 'undefined';
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : `${v}`;
  if (typeof v === 'string') return JSON.stringify(v);
  if (v instanceof Date) return `Date(${v.toISOString()})`;
  try {
    return `${v?.constructor?.name ?? typeof v}(${JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? `${x}n` : x))})`;
  } catch {
    return String(v);
  }
}

export function sameValue(a, b) {
  if (a === null || b === null) return a === b;
  if (typeof a !== typeof b) return false;
  if (typeof a === 'number') return Object.is(a, b); // exact double equality (NaN == NaN, -0 != 0)
  return a === b;
}

/**
 * Asserts got rows equal expected rows cell by cell; reports the first mismatches with
 * row number, column name, expected and got.
 */
export function assertRowsEqual(got, exp, columnNames, label, { rowLabel = (i) => `row ${i + 1}` } = {}) {
  assert.equal(got.length, exp.length, `${label}: row count: expected ${exp.length}, got ${got.length}`);
  const bad = [];
  outer: for (let r = 0; r < exp.length; r++) {
    const g = got[r], e = exp[r];
    if (!g || g.length !== e.length) {
      bad.push(`${rowLabel(r)}: expected ${e.length} values, got ${g ? g.length : g}`);
      if (bad.length >= 8) break;
      continue;
    }
    for (let c = 0; c < e.length; c++) {
      if (!sameValue(g[c], e[c])) {
        bad.push(`${rowLabel(r)}, column ${columnNames[c]}: expected ${fmtValue(e[c])}, got ${fmtValue(g[c])}`);
        if (bad.length >= 8) break outer;
      }
    }
  }
  assert.ok(bad.length === 0, `${label}: values differ from the CSV:\n  ${bad.join('\n  ')}`);
}
