// Turns the raw timings of convert_bench.sh into the table (markdown, stdout) and OUT_DIR/results.json.
// usage: node summarize.mjs --out-dir OUT --data DATA_DIR [--runs N] [--core N] [--bin PATH] [--command STR] [--quick 0|1]
// exit 0: all targets PASS, 3: some target MISSed, 1: missing inputs.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

const args = process.argv.slice(2);
const opt = {};
for (let i = 0; i < args.length; i += 2) opt[args[i].replace(/^--/, '')] = args[i + 1];
const outDir = opt['out-dir'], dataDir = opt.data;
if (!outDir || !dataDir) { console.error('usage: node summarize.mjs --out-dir OUT --data DATA_DIR ...'); process.exit(1); }

const TARGETS = {
  speed_vs_duckdb_1t: { min: 4, what: 'ours 1t / DuckDB 1t throughput' },
  speed_vs_igzip: { min: 0.4, what: 'ours 2t / igzip -dc throughput' },
  size_vs_duckdb: { max: 0.8, what: 'ours output bytes / DuckDB output bytes' },
  peak_rss_mb: { below: 256, what: 'ours peak RSS (MB = 1e6 bytes, max over all runs, 1t and 2t)' },
};
const KINDS = ['trades', 'incremental_book_L2'];
const median = (a) => { const b = [...a].sort((x, y) => x - y); const m = b.length >> 1; return b.length % 2 ? b[m] : (b[m - 1] + b[m]) / 2; };
const sh = (cmd, a) => { try { return execFileSync(cmd, a, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim(); } catch { return null; } };
const readJson = (p) => JSON.parse(fs.readFileSync(p, 'utf8'));

// ---- raw runs
const lines = fs.readFileSync(path.join(outDir, 'raw', 'runs.tsv'), 'utf8').trim().split('\n');
const hdr = lines.shift().split('\t');
const runs = lines.map((l) => Object.fromEntries(l.split('\t').map((v, i) => [hdr[i], v])));
// DuckDB: one bench_duckdb.mjs process per round and thread count (RUNS=1 each): duckdb_t{T}_gz.r{R}.json
const duck = {};
for (const t of [1, 2]) {
  const re = new RegExp(`^duckdb_t${t}_gz\\.r(\\d+)\\.json$`);
  duck[t] = fs.readdirSync(path.join(outDir, 'duckdb')).filter((f) => re.test(f))
    .sort((a, b) => Number(a.match(re)[1]) - Number(b.match(re)[1])).map((f) => readJson(path.join(outDir, 'duckdb', f)));
  if (!duck[t].length) { console.error(`summarize.mjs: no DuckDB results for threads=${t}`); process.exit(1); }
}
const duckVersion = duck[1][0].duckdb_version;
const duckRss = (t) => Math.max(...runs.filter((r) => r.tool === 'duckdb-process' && Number(r.threads) === t).map((r) => Number(r.maxrss_kb) * 1024 / 1e6));

const files = {};
for (const kind of KINDS) {
  const csv = path.join(dataDir, `binance-futures_${kind}_2023-11-01_BTCUSDT.csv`);
  files[kind] = { csv, csv_bytes: fs.statSync(csv).size, gz_bytes: fs.statSync(csv + '.gz').size };
}

const rowsOut = [];
for (const kind of KINDS) {
  const { csv_bytes: csvBytes } = files[kind];
  const add = (r) => {
    r.csv_MB_per_s = csvBytes / 1e6 / r.median_s;
    r.rows_per_s = r.rows / r.median_s;
    rowsOut.push({ kind, ...r });
  };
  for (const [tool, threads, label, pinned] of [['igzip', 1, 'igzip -dc (floor)', true],
    ['market-tick', 1, 'market-tick convert', true], ['market-tick', 2, 'market-tick convert', false]]) {
    const rs = runs.filter((r) => r.tool === tool && r.kind === kind && Number(r.threads) === threads);
    if (!rs.length) continue;
    const w = rs.map((r) => Number(r.wall_s));
    add({
      tool, label, threads, pinned, runs: rs.length, median_s: median(w), min_s: Math.min(...w), max_s: Math.max(...w),
      median_cpu_s: median(rs.map((r) => Number(r.user_s) + Number(r.sys_s))),
      rows: Number(rs[0].rows), out_bytes: rs[0].out_bytes ? Number(rs[0].out_bytes) : null,
      out_bytes_all_runs: [...new Set(rs.map((r) => r.out_bytes).filter(Boolean).map(Number))],
      peak_rss_MB: Math.max(...rs.map((r) => Number(r.maxrss_kb) * 1024 / 1e6)), rss_scope: 'max over runs',
      wall_s_runs: w,
    });
  }
  for (const t of [1, 2]) {
    const ds = duck[t].map((j) => j.results.find((r) => r.kind === kind && r.input === 'gz')).filter(Boolean);
    if (!ds.length) continue;
    const w = ds.map((d) => d.median_s), last = ds.at(-1);
    add({
      tool: 'duckdb', label: `DuckDB ${duckVersion} read_csv(.gz) -> Parquet ZSTD`, threads: t, pinned: t === 1,
      runs: ds.length, median_s: median(w), min_s: Math.min(...w), max_s: Math.max(...w),
      median_cpu_s: median(ds.map((d) => d.median_cpu_s)), rows: last.rows, out_bytes: last.parquet_bytes,
      out_bytes_all_runs: [...new Set(ds.map((d) => d.parquet_bytes))], peak_rss_MB: duckRss(t),
      rss_scope: 'node process running both files (max over runs)', sql: last.sql, wall_s_runs: w,
    });
  }
}
const ORDER = { igzip: 0, duckdb: 1, 'market-tick': 2 };
rowsOut.sort((a, b) => KINDS.indexOf(a.kind) - KINDS.indexOf(b.kind) || ORDER[a.tool] - ORDER[b.tool] || a.threads - b.threads);
const get = (kind, tool, threads) => rowsOut.find((r) => r.kind === kind && r.tool === tool && r.threads === threads);

// ---- ratios and targets
const checks = [];
for (const kind of KINDS) {
  const o1 = get(kind, 'market-tick', 1), o2 = get(kind, 'market-tick', 2), d1 = get(kind, 'duckdb', 1), ig = get(kind, 'igzip', 1);
  const push = (id, value, detail) => {
    const t = TARGETS[id];
    const pass = value != null && (t.min != null ? value >= t.min : t.max != null ? value <= t.max : value < t.below);
    const target = t.min != null ? `>= ${t.min}` : t.max != null ? `<= ${t.max}` : `< ${t.below}`;
    checks.push({ kind, id, what: t.what, value, target, result: pass ? 'PASS' : 'MISS', detail });
  };
  push('speed_vs_duckdb_1t', o1 && d1 ? o1.csv_MB_per_s / d1.csv_MB_per_s : null,
    o1 && d1 ? `${o1.csv_MB_per_s.toFixed(0)} / ${d1.csv_MB_per_s.toFixed(0)} MB/s` : 'missing');
  push('speed_vs_igzip', o2 && ig ? o2.csv_MB_per_s / ig.csv_MB_per_s : null,
    o2 && ig ? `${o2.csv_MB_per_s.toFixed(0)} / ${ig.csv_MB_per_s.toFixed(0)} MB/s` : 'missing');
  push('size_vs_duckdb', o1 && d1 ? o1.out_bytes / d1.out_bytes : null,
    o1 && d1 ? `${o1.out_bytes.toLocaleString('en-US')} / ${d1.out_bytes.toLocaleString('en-US')} bytes` +
      (o2 && o2.out_bytes !== o1.out_bytes ? ` (2t output: ${o2.out_bytes.toLocaleString('en-US')})` : '') : 'missing');
  const rss = [o1, o2].filter(Boolean).map((r) => r.peak_rss_MB);
  push('peak_rss_mb', rss.length ? Math.max(...rss) : null,
    `1t ${o1 ? o1.peak_rss_MB.toFixed(1) : '-'} MB, 2t ${o2 ? o2.peak_rss_MB.toFixed(1) : '-'} MB`);
}

// ---- correctness
const correctness = {};
for (const kind of KINDS) {
  const p = path.join(outDir, `correctness.${kind}.json`);
  correctness[kind] = fs.existsSync(p) ? readJson(p) : { ok: false, error: 'not run' };
}
const correct = KINDS.every((k) => correctness[k].ok);

// ---- machine
const cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
const ci = (k) => (cpuinfo.match(new RegExp(`^${k}\\s*:\\s*(.*)$`, 'm')) ?? [])[1] ?? null;
const bin = opt.bin ?? null;
const machine = {
  nproc: os.availableParallelism ? os.availableParallelism() : os.cpus().length,
  cpu_model: ci('model name'), cpu_family: ci('cpu family'), cpu_model_number: ci('model'), cpu_mhz: ci('cpu MHz'),
  mem_total_GiB: +(os.totalmem() / 2 ** 30).toFixed(1), kernel: os.release(), node: process.version,
  duckdb: duckVersion, igzip: sh('igzip', ['--version'])?.split('\n')[0] ?? null,
  market_tick: bin ? sh(bin, ['--version']) : null, market_tick_sha256_16: opt['bin-sha'] ?? null, git_rev: opt['git-rev'] ?? null, uncommitted_outside_bench: opt['git-dirty'] ? opt['git-dirty'].split(',') : [],
};

const loadPath = path.join(outDir, 'raw', 'loadavg.txt');
machine.loadavg = fs.existsSync(loadPath) ? Object.fromEntries(fs.readFileSync(loadPath, 'utf8').trim().split('\n')
  .map((l) => l.split(' ')).map(([k, a, b, c]) => [k, [a, b, c].map(Number)])) : null;

// ---- print
const f0 = (x) => (x == null ? '-' : Math.round(x).toLocaleString('en-US'));
const fM = (x) => (x == null ? '-' : (x / 1e6).toFixed(2) + 'M');
const out = [];
out.push(`## market-tick convert benchmark (${opt.quick === '1' ? 'QUICK, ' : ''}median of ${opt.runs ?? '?'} runs)`);
out.push('');
out.push(`machine: ${machine.nproc} cores, ${machine.cpu_model} (family ${machine.cpu_family} model ${machine.cpu_model_number}), ` +
  `${machine.mem_total_GiB} GiB, kernel ${machine.kernel}, node ${machine.node}, DuckDB ${machine.duckdb}, ${machine.igzip}, ` +
  `${machine.market_tick} (binary sha256 ${machine.market_tick_sha256_16}, git ${machine.git_rev}${machine.uncommitted_outside_bench.length ? ` + uncommitted ${machine.uncommitted_outside_bench.join(', ')}` : ''})`);
out.push(`command: ${opt.command ?? '?'}`);
if (machine.loadavg) out.push(`load average (1/5/15 min) before the measurements: ${machine.loadavg.start?.join(' ')}, after: ${machine.loadavg.end?.join(' ')}` +
  ` (other work on the machine shares the ${machine.nproc} cores and adds noise)`);
out.push('');
out.push('| file | tool | threads | median s (min-max) | CPU s | MB/s of CSV | rows/s | output bytes | peak RSS MB |');
out.push('|---|---|---|---|---|---|---|---|---|');
for (const r of rowsOut) {
  const f = files[r.kind];
  out.push(`| ${r.kind} (${(f.csv_bytes / 1e6).toFixed(0)} MB csv, ${(f.gz_bytes / 1e6).toFixed(1)} MB gz) | ${r.label} | ` +
    `${r.threads}${r.pinned ? ` (taskset -c ${opt.core ?? 0})` : ''} | ${r.median_s.toFixed(3)} (${r.min_s.toFixed(2)}-${r.max_s.toFixed(2)}) | ` +
    `${r.median_cpu_s == null ? '-' : r.median_cpu_s.toFixed(2)} | ` +
    `${f0(r.csv_MB_per_s)} | ${fM(r.rows_per_s)} | ${r.out_bytes == null ? '-' : r.out_bytes.toLocaleString('en-US')} | ` +
    `${r.peak_rss_MB == null ? '-' : r.peak_rss_MB.toFixed(0)}${r.tool === 'duckdb' ? '*' : ''} |`);
}
out.push('');
out.push('| file | ratio | value | target | result | detail |');
out.push('|---|---|---|---|---|---|');
for (const c of checks) {
  out.push(`| ${c.kind} | ${c.what} | ${c.value == null ? '-' : c.id === 'peak_rss_mb' ? c.value.toFixed(1) : c.value.toFixed(2)} | ` +
    `${c.target} | ${c.result} | ${c.detail} |`);
}
out.push('');
for (const kind of KINDS) {
  const c = correctness[kind];
  out.push(`correctness ${kind}: ${c.ok ? 'OK' : 'FAIL'}` + (c.candidates ? ' - ' + c.candidates.map((x) =>
    `${path.basename(x.file)}: ${x.ok ? `${x.fingerprint.rows} rows, all column hashes equal to DuckDB's` : x.differences.join('; ')}`).join(' | ') : ` (${c.error})`));
}
out.push('');
out.push('MB = 10^6 bytes of the uncompressed CSV; rows/s = CSV data rows / median wall time. igzip and market-tick: wall time of the ' +
  'process (bash EPOCHREALTIME around /usr/bin/time), CPU s = median user+sys, peak RSS from /usr/bin/time %M (max over runs). ' +
  'DuckDB: time and CPU of the COPY statement inside node (fresh instance per run, excludes node start-up); ' +
  '*peak RSS of the node process that converts both files (max over runs). ' +
  'Runs are interleaved: each round runs every tool once.');
console.log(out.join('\n'));

const missed = checks.filter((c) => c.result !== 'PASS');
const results = {
  generated_at: new Date().toISOString(), command: opt.command ?? null, quick: opt.quick === '1', runs: Number(opt.runs ?? 0),
  machine, files, targets: TARGETS, rows: rowsOut, checks, all_targets_pass: missed.length === 0,
  correctness_ok: correct, correctness, duckdb_raw: duck, raw_runs: runs,
};
fs.writeFileSync(path.join(outDir, 'results.json'), JSON.stringify(results, null, 2));
process.exitCode = missed.length ? 3 : 0;
