#!/usr/bin/env bash
# Benchmark of `market-tick convert` against the floor (ISA-L igzip -dc) and the anchor
# (DuckDB read_csv -> COPY TO Parquet ZSTD), on the same synthetic Tardis files, in one run,
# followed by a correctness check (our Parquet vs DuckDB's Parquet of the same file).
# See bench/README.md for the methodology and the last measured table.
set -euo pipefail
export LC_ALL=C

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)

usage() {
  cat <<EOF
usage: bench/convert_bench.sh [options]

Generates (once, cached) Tardis-format trades and incremental_book_L2 CSV + CSV.gz files, then
for each file measures: ISA-L igzip -dc (1 core, the floor), DuckDB read_csv -> Parquet ZSTD
(1 thread pinned, 2 threads; DuckDB decompresses the .gz) and market-tick convert on the .csv.gz
(--threads 1 pinned to core 0, --threads 2 unpinned). Prints a table with MB/s of uncompressed
CSV, rows/s, output bytes, peak RSS and the target ratios (PASS/MISS), writes OUT_DIR/results.json,
and checks that our Parquet and DuckDB's Parquet hold the same rows (fails loudly if not).

options:
  --runs N          timed runs per measurement, the median is reported (default 5; 1 with --quick)
  --quick           small files (1,000,000 trades / 2,000,000 book rows) for a CI smoke test
  --trades-rows N   trades rows to generate (default 5000000; 1000000 with --quick)
  --book-rows N     incremental_book_L2 rows to generate (default 10000000; 2000000 with --quick)
  --data-dir DIR    where generated data is cached (default bench/data)
  --out-dir DIR     where outputs, raw timings and results.json go (default bench/out)
  --bin PATH        the market-tick binary (default build/market-tick)
  --core N          the core used for single-core runs (taskset -c N; default 0)
  --strict          exit 3 when a performance target is MISSed (correctness failures always exit 1)
  --no-install      never apt-get install / npm ci missing tools; fail instead
  -h, --help        show this help

exit codes: 0 done (targets may be MISSed unless --strict), 1 correctness failure or a tool failed,
2 usage error, 3 a target MISSed with --strict.
EOF
}

RUNS=""; QUICK=0; TRADES_ROWS=""; BOOK_ROWS=""; STRICT=0; INSTALL=1; CORE=0
DATA_DIR="$BENCH_DIR/data"; OUT_DIR="$BENCH_DIR/out"; BIN="$REPO_DIR/build/market-tick"
CMDLINE="bench/convert_bench.sh${*:+ $*}"
need_arg() { [[ $# -ge 2 && -n "$2" ]] || { echo "convert_bench.sh: $1 needs a value" >&2; exit 2; }; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) need_arg "$@"; RUNS=$2; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --trades-rows) need_arg "$@"; TRADES_ROWS=$2; shift 2 ;;
    --book-rows) need_arg "$@"; BOOK_ROWS=$2; shift 2 ;;
    --data-dir) need_arg "$@"; DATA_DIR=$2; shift 2 ;;
    --out-dir) need_arg "$@"; OUT_DIR=$2; shift 2 ;;
    --bin) need_arg "$@"; BIN=$2; shift 2 ;;
    --core) need_arg "$@"; CORE=$2; shift 2 ;;
    --strict) STRICT=1; shift ;;
    --no-install) INSTALL=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "convert_bench.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if [[ $QUICK == 1 ]]; then
  : "${RUNS:=1}" "${TRADES_ROWS:=1000000}" "${BOOK_ROWS:=2000000}"
else
  : "${RUNS:=5}" "${TRADES_ROWS:=5000000}" "${BOOK_ROWS:=10000000}"
fi
for v in RUNS TRADES_ROWS BOOK_ROWS CORE; do
  [[ ${!v} =~ ^[0-9]+$ ]] || { echo "convert_bench.sh: --${v,,} must be a non-negative integer" >&2; exit 2; }
done
[[ $RUNS -ge 1 && $TRADES_ROWS -ge 1 && $BOOK_ROWS -ge 1 ]] || { echo "convert_bench.sh: runs and rows must be >= 1" >&2; exit 2; }
mkdir -p "$DATA_DIR" "$OUT_DIR"
DATA_DIR=$(cd "$DATA_DIR" && pwd); OUT_DIR=$(cd "$OUT_DIR" && pwd)
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '\n!!! BENCHMARK FAILED: %s\n\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------- tools
apt_install() {
  [[ $INSTALL == 1 ]] || die "missing tool(s) for apt packages: $* (run without --no-install or install them)"
  local sudo=""; [[ $(id -u) == 0 ]] || sudo="sudo"
  log "installing $* (apt-get)"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null 2>&1 ||
    { $sudo apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null; } ||
    die "apt-get install $* failed"
}
missing=()
command -v igzip >/dev/null || missing+=(isal)
[[ -x /usr/bin/time ]] || missing+=(time)
command -v taskset >/dev/null || missing+=(util-linux)
command -v gzip >/dev/null || missing+=(gzip)
command -v cc >/dev/null || missing+=(gcc)
[[ ${#missing[@]} == 0 ]] || apt_install "${missing[@]}"
command -v node >/dev/null || die "node (>= 20) is needed for the DuckDB anchor"
if [[ ! -d "$BENCH_DIR/node_modules/@duckdb/node-api" ]]; then
  [[ $INSTALL == 1 ]] || die "bench/node_modules missing: run 'npm ci' in bench/"
  log "npm ci in bench/"
  (cd "$BENCH_DIR" && npm ci --silent --no-audit --no-fund) || die "npm ci in bench/ failed"
fi
[[ -x "$BIN" ]] || die "binary $BIN not found: build it first (cmake --build build -j2)"
NPROC=$(nproc)
[[ $CORE -lt $NPROC ]] || die "--core $CORE but only $NPROC cores"
[[ $NPROC -ge 2 ]] || log "WARNING: only $NPROC core(s): the 2-thread rows share one core"

# ---------------------------------------------------------------- data (cached)
GEN_SRC="$BENCH_DIR/gen_tardis.c"
GEN_BIN="$DATA_DIR/gen_tardis"
if [[ ! -x "$GEN_BIN" || "$GEN_SRC" -nt "$GEN_BIN" ]]; then
  log "building the generator"
  cc -O2 -o "$GEN_BIN" "$GEN_SRC" -lm
fi
DATA="$DATA_DIR/t${TRADES_ROWS}_b${BOOK_ROWS}"
mkdir -p "$DATA"
GEN_SHA=$(sha256sum "$GEN_SRC" | cut -c1-16)
declare -A ROWS=([trades]=$TRADES_ROWS [incremental_book_L2]=$BOOK_ROWS)
declare -A GEN_KIND=([trades]=trades [incremental_book_L2]=book)
KINDS=(trades incremental_book_L2)
csv_of() { echo "$DATA/binance-futures_$1_2023-11-01_BTCUSDT.csv"; }
for kind in "${KINDS[@]}"; do
  csv=$(csv_of "$kind"); stamp="$csv.stamp"; want="gen=$GEN_SHA rows=${ROWS[$kind]} gzip=-6 -n"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" && -f "$csv" && -f "$csv.gz" ]]; then
    log "cached: $(basename "$csv")(.gz)"; continue
  fi
  rm -f "$stamp" "$csv" "$csv.gz"
  log "generating ${ROWS[$kind]} $kind rows"
  t0=$EPOCHREALTIME; "$GEN_BIN" "${GEN_KIND[$kind]}" "${ROWS[$kind]}" "$csv"; t1=$EPOCHREALTIME
  log "  $(awk "BEGIN{printf \"%.1f\", $t1-$t0}") s; gzip -6 -n -k"
  t0=$EPOCHREALTIME; gzip -6 -n -k "$csv"; t1=$EPOCHREALTIME
  log "  $(awk "BEGIN{printf \"%.1f\", $t1-$t0}") s"
  echo "$want" > "$stamp"
done

# ---------------------------------------------------------------- measurements
RAW="$OUT_DIR/raw"; OURS="$OUT_DIR/ours"; DUCK="$OUT_DIR/duckdb"
rm -rf "$RAW" "$OURS" "$DUCK" "$OUT_DIR"/results.json "$OUT_DIR"/correctness.*.json
mkdir -p "$RAW" "$OURS" "$DUCK"
RUNS_TSV="$RAW/runs.tsv"
printf 'tool\tkind\tthreads\trun\twall_s\tmaxrss_kb\tuser_s\tsys_s\trows\tout_bytes\n' > "$RUNS_TSV"

echo "start $(cat /proc/loadavg)" > "$RAW/loadavg.txt"
# warm the page cache: every run reads the files from memory
for kind in "${KINDS[@]}"; do cat "$(csv_of "$kind")" "$(csv_of "$kind").gz" > /dev/null; done

# timed TOOL KIND THREADS RUN STDOUT STDERR -- CMD...: runs CMD under /usr/bin/time (peak RSS, CPU)
# with a microsecond wall clock around it; sets TIMED_RC, TIMED_NOTE and TIMED_LINE (a runs.tsv row prefix).
TIMED_RC=0; TIMED_NOTE=""; TIMED_LINE=""
timed() {
  local tool=$1 kind=$2 threads=$3 run=$4 so=$5 se=$6; shift 7
  local tf="$RAW/time.$$" t0 t1
  TIMED_RC=0
  t0=$EPOCHREALTIME
  /usr/bin/time -f '%M %U %S' -o "$tf" "$@" > "$so" 2> "$se" || TIMED_RC=$?
  t1=$EPOCHREALTIME
  TIMED_NOTE=""
  if [[ $TIMED_RC != 0 ]]; then  # e.g. "Command terminated by signal 11"
    TIMED_NOTE=$(grep -v '^[0-9]' "$tf" | paste -sd';' -)
    return 0
  fi
  read -r rss usr sys < <(tail -n 1 "$tf")
  TIMED_LINE=$(printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s' "$tool" "$kind" "$threads" "$run" \
    "$(awk "BEGIN{printf \"%.6f\", $t1-$t0}")" "$rss" "$usr" "$sys")
}

# measure a private copy of the binary, so a rebuild of build/ during the run cannot mix two builds
BIN_RUN="$RAW/market-tick"
cp "$BIN" "$BIN_RUN"
"$BIN_RUN" --version > /dev/null 2>&1 || die "$BIN does not run (being rebuilt?): $BIN_RUN --version failed"
BIN_SHA=$(sha256sum "$BIN_RUN" | cut -c1-16)
GIT_REV=$(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)
GIT_DIRTY=$(git -C "$REPO_DIR" status --porcelain --untracked-files=no -- . ':!bench' 2>/dev/null | awk '{print $2}' | paste -sd, -)
log "measuring $BIN (copied; sha256 ${BIN_SHA}, git $GIT_REV${GIT_DIRTY:+, uncommitted: $GIT_DIRTY})"
# Rounds: each round runs every measurement once (igzip, ours 1t, ours 2t per file, then DuckDB 1t
# and 2t over both files), so noise from other work on the machine spreads over all tools alike.
run_igzip() { # KIND RUN
  local gz; gz="$(csv_of "$1").gz"
  timed igzip "$1" 1 "$2" /dev/null "$RAW/igzip.err" -- taskset -c "$CORE" igzip -dc "$gz"
  [[ $TIMED_RC == 0 ]] || { cat "$RAW/igzip.err" >&2; die "igzip -dc $gz exited $TIMED_RC"; }
  printf '%s\t%s\t%s\n' "$TIMED_LINE" "${ROWS[$1]}" "" >> "$RUNS_TSV"
}
run_ours() { # KIND THREADS RUN
  local kind=$1 threads=$2 r=$3 gz out so se pin=() opath orows obytes
  gz="$(csv_of "$kind").gz"; out="$OURS/$kind.t$threads.parquet"
  so="$RAW/ours.$kind.t$threads.r$r.out"; se="$RAW/ours.$kind.t$threads.r$r.err"
  [[ $threads == 1 ]] && pin=(taskset -c "$CORE")
  rm -f "$out"
  timed market-tick "$kind" "$threads" "$r" "$so" "$se" -- "${pin[@]}" "$BIN_RUN" convert "$gz" \
    --output "$out" --threads "$threads" --compression zstd
  if [[ $TIMED_RC != 0 ]]; then
    echo "--- stdout:" >&2; cat "$so" >&2; echo "--- stderr:" >&2; cat "$se" >&2
    die "market-tick convert $gz --output $out --threads $threads exited $TIMED_RC${TIMED_NOTE:+ ($TIMED_NOTE)} (run $r; logs in $RAW)"
  fi
  # stdout: PATH<TAB>ROWS<TAB>BYTES
  IFS=$'\t' read -r opath orows obytes < "$so" || die "market-tick printed no result line (run $r, $so)"
  [[ "$orows" == "${ROWS[$kind]}" ]] ||
    die "market-tick reported $orows rows for $gz, the file has ${ROWS[$kind]} (run $r, threads $threads)"
  [[ -f "$out" && "$(stat -c %s "$out")" == "$obytes" ]] ||
    die "market-tick reported $obytes bytes for $opath but the file has $(stat -c %s "$out" 2>/dev/null || echo none)"
  printf '%s\t%s\t%s\n' "$TIMED_LINE" "$orows" "$obytes" >> "$RUNS_TSV"
  printf '    %-20s market-tick --threads %s%s: %s\n' "$kind" "$threads" "${pin:+ (pinned)}" "$(tail -n 1 "$se")" >&2
}
run_duckdb() { # THREADS RUN: one run of bench_duckdb.mjs (both files, DuckDB reads the .gz)
  local threads=$1 r=$2 pin=()
  [[ $threads == 1 ]] && pin=(taskset -c "$CORE")
  timed duckdb-process all "$threads" "$r" "$RAW/duckdb.t$threads.r$r.out" "$RAW/duckdb.t$threads.r$r.err" -- \
    "${pin[@]}" node "$BENCH_DIR/bench_duckdb.mjs" "$DATA" "$DUCK" "$threads" 1 gz
  sed "s/^/    DuckDB /" "$RAW/duckdb.t$threads.r$r.err" >&2
  [[ $TIMED_RC == 0 ]] || die "bench_duckdb.mjs (threads=$threads, run $r) exited $TIMED_RC"
  mv "$DUCK/duckdb_t${threads}_gz.json" "$DUCK/duckdb_t${threads}_gz.r$r.json"
  printf '%s\t\t\n' "$TIMED_LINE" >> "$RUNS_TSV"
}
for ((r = 1; r <= RUNS; r++)); do
  log "round $r of $RUNS"
  for kind in "${KINDS[@]}"; do
    run_igzip "$kind" "$r"
    run_ours "$kind" 1 "$r"
    run_ours "$kind" 2 "$r"
  done
  run_duckdb 1 "$r"
  run_duckdb 2 "$r"
done

echo "end $(cat /proc/loadavg)" >> "$RAW/loadavg.txt"

# ---------------------------------------------------------------- correctness
log "correctness: our Parquet (1 and 2 threads) vs DuckDB's Parquet of the same .csv.gz"
CORRECT_RC=0
for kind in "${KINDS[@]}"; do
  node "$BENCH_DIR/compare_parquet.mjs" --json "$OUT_DIR/correctness.$kind.json" --kind "$kind" \
    --rows "${ROWS[$kind]}" --ref "$DUCK/$kind.gz.t1.parquet" "$OURS/$kind.t1.parquet" "$OURS/$kind.t2.parquet" \
    || CORRECT_RC=$?
done

# ---------------------------------------------------------------- table + results.json
SUMMARY_RC=0
node "$BENCH_DIR/summarize.mjs" --out-dir "$OUT_DIR" --data "$DATA" --runs "$RUNS" --core "$CORE" \
  --bin "$BIN_RUN" --bin-sha "$BIN_SHA" --git-rev "$GIT_REV" --git-dirty "${GIT_DIRTY:-}" --command "$CMDLINE" --quick "$QUICK" || SUMMARY_RC=$?
[[ $CORRECT_RC == 0 ]] || die "our Parquet and DuckDB's Parquet DISAGREE (exit $CORRECT_RC); details above and in $OUT_DIR/correctness.*.json"
[[ $SUMMARY_RC == 0 || $SUMMARY_RC == 3 ]] || die "summarize.mjs exited $SUMMARY_RC"
log "wrote $OUT_DIR/results.json"
if [[ $SUMMARY_RC == 3 ]]; then
  log "some performance targets were MISSed (see the table)"
  [[ $STRICT == 0 ]] || exit 3
fi
exit 0
