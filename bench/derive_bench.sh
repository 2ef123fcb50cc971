#!/usr/bin/env bash
# Benchmark of `market-tick convert --derive` (issue: derived data). On one generated 1M-row
# incremental_book_L2 day (tests/js/lib/derive_gen.mjs: deep books, deletions, crossed levels, a
# mid-day reset) it measures, medians of RUNS runs, wall time:
#   A  convert (no --derive)
#   B  convert --derive with three snapshot series
#   C  tardis-dev compute() of ONE of those series from book_change messages already in memory
#      (bench/derive_bench.mjs: one node process per run, the messages built before the clock
#      starts, only the compute() loop timed, cold like every convert run)
#   Z  gzip -dc of the same file to /dev/null (inflate only, zlib), and I the same with igzip
#      (ISA-L, the inflate the converter uses; skipped when igzip is not installed)
# all interleaved, each convert run into a fresh store (all removed at the end), and prints
# B/A - 1 (target: at most 30%), C/B (target: at least 10x), the floors that bound C/B (Z, I and A
# against C/10: no convert is faster than its inflate, no convert --derive than plain convert),
# CPU seconds (user + sys) of Z, A and B, plus peak RSS of B, of a run with two depth-1000
# series and of four book files with a depth-100 series at --threads 4 (target: under 256 MB).
# Env: RUNS (5), THREADS (2), BOOK (another incremental_book_L2 file), BIN, DEEP=0 skips the
# two memory runs. Needs tests/js/node_modules (cd tests/js && npm ci).
set -euo pipefail
export LC_ALL=C
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
BIN=${BIN:-$REPO_DIR/build/market-tick}
RUNS=${RUNS:-5}
THREADS=${THREADS:-2}
DATA_DIR=${DATA_DIR:-$BENCH_DIR/data}
# Outputs go to tmpfs when there is one: the local store ends with syncfs, which also waits for
# every other writer's dirty pages on that file system (on a shared machine that doubled A's and
# B's times alike and hid the derived series' share).
if [[ -z ${OUT_DIR:-} && -d /dev/shm && -w /dev/shm ]]; then
  OUT_DIR=/dev/shm/market-tick-derive-bench-$$
  trap 'rm -rf "$OUT_DIR"' EXIT
fi
OUT_DIR=${OUT_DIR:-$BENCH_DIR/out/derive}
SERIES=book_snapshot_10_0ms,book_snapshot_25_1s,book_snapshot_5_grouped5_100ms
ORACLE_SERIES=book_snapshot_10_0ms   # the one tardis-dev computes (the dearest of the three)
MODULES=$REPO_DIR/tests/js/node_modules
[[ -x $BIN ]] || { echo "derive_bench.sh: no binary at $BIN (scripts/build.sh)" >&2; exit 1; }
[[ -d $MODULES/tardis-dev ]] || { echo "derive_bench.sh: run 'cd tests/js && npm ci' first" >&2; exit 1; }
mkdir -p "$DATA_DIR" "$OUT_DIR"
# BOOK=FILE.csv.gz measures another (incremental_book_L2) file instead.
BOOK=${BOOK:-$DATA_DIR/deribit_incremental_book_L2_2020-04-02_BTC-PERPETUAL.csv.gz}   # generated, not Tardis data
if [[ ! -s $BOOK ]]; then
  (cd "$REPO_DIR/tests/js" && node -e "import('./lib/derive_gen.mjs').then((m) => m.writeBookDay('$BOOK', { rows: 1000000, levels: 1500 }))")
fi

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# Wall seconds, peak RSS (KB) and CPU seconds (user + sys) of one convert run, each into a fresh
# store. On ext4, removing the previous run's objects right before a timed run charges it for the
# scan of the freed inodes and their writeback (it doubled A's sys time), so stores stay until the
# end (as in bench/grouped_bench.sh); on tmpfs a store is removed right after its run, which
# frees its memory for the next run (kept, every run faulted in fresh memory for its output).
RUN_NO=0
timed() {
  RUN_NO=$((RUN_NO + 1))
  # The local store ends with syncfs, which writes back every dirty page of the file system: the
  # previous run's outputs too. Written back here, untimed, each run pays for its own writes only.
  sync
  /usr/bin/time -f '%e %M %U %S' -o "$OUT_DIR/time.txt" "$BIN" convert "$BOOK" --output "$OUT_DIR/store-$RUN_NO" --threads "$THREADS" "$@" \
    >/dev/null 2>"$OUT_DIR/stderr.txt" || { cat "$OUT_DIR/stderr.txt" >&2; exit 1; }
  awk '{print $1, $2, $3 + $4}' "$OUT_DIR/time.txt"
  [[ $OUT_DIR != /dev/shm/* ]] || rm -rf "$OUT_DIR/store-$RUN_NO"
}
# The inflate floor: `$1 -dc` of the same file to /dev/null (wall, RSS, CPU as above). gzip is
# zlib's inflate; igzip (package isal) is ISA-L's, the one the converter links.
inflate() {
  /usr/bin/time -f '%e %M %U %S' -o "$OUT_DIR/time.txt" "$1" -dc "$BOOK" >/dev/null
  awk '{print $1, $2, $3 + $4}' "$OUT_DIR/time.txt"
}
IGZIP=$(command -v igzip || true)
rm -rf "$OUT_DIR"/store-*
: >"$OUT_DIR/a.txt"; : >"$OUT_DIR/b.txt"; : >"$OUT_DIR/c.txt"; : >"$OUT_DIR/z.txt"; : >"$OUT_DIR/i.txt"
for ((i = 0; i < RUNS; i++)); do   # interleaved, so load changes hit all alike
  inflate gzip >>"$OUT_DIR/z.txt"
  [[ -z $IGZIP ]] || inflate "$IGZIP" >>"$OUT_DIR/i.txt"
  # An untimed convert first: the run right after the node process (C) or the inflate runs paid
  # for faulting in memory they had just freed (A's median was twice A's own cost). A and B
  # then start alike, each after a convert.
  timed >/dev/null
  timed >>"$OUT_DIR/a.txt"
  timed --derive "$SERIES" >>"$OUT_DIR/b.txt"
  C_JSON=$(node "$BENCH_DIR/derive_bench.mjs" "$BOOK" "$ORACLE_SERIES" "$MODULES")
  node -e "console.log(JSON.parse(process.argv[1]).s)" "$C_JSON" >>"$OUT_DIR/c.txt"
done
A=$(cut -d' ' -f1 "$OUT_DIR/a.txt" | median)
B=$(cut -d' ' -f1 "$OUT_DIR/b.txt" | median)
C=$(median <"$OUT_DIR/c.txt")
Z=$(cut -d' ' -f1 "$OUT_DIR/z.txt" | median)
A_CPU=$(cut -d' ' -f3 "$OUT_DIR/a.txt" | median)
B_CPU=$(cut -d' ' -f3 "$OUT_DIR/b.txt" | median)
Z_CPU=$(cut -d' ' -f3 "$OUT_DIR/z.txt" | median)
I=$(cut -d' ' -f1 "$OUT_DIR/i.txt" | median); I=${I:-0}
I_CPU=$(cut -d' ' -f3 "$OUT_DIR/i.txt" | median); I_CPU=${I_CPU:-0}
B_RSS=$(cut -d' ' -f2 "$OUT_DIR/b.txt" | sort -n | tail -1)
DEEP_RSS=0 FILES_RSS=0
if [[ ${DEEP:-1} != 0 ]]; then
  read -r _ DEEP_RSS _ < <(timed --derive book_snapshot_1000_0ms,book_snapshot_1000_100ms)
  # Several files with a deep series at --threads 4: convert --derive takes them one at a time, so
  # memory is one file's however many there are. The book under four days' names (the rows keep
  # their own day: convert warns about that, which does not matter here). The names keep the book's
  # exchange and symbol (a file's rows must be those its name gives), only the day differs.
  FOUR=$OUT_DIR/four
  mkdir -p "$FOUR"
  [[ $(basename "$BOOK") =~ ^(.*_)[0-9]{4}-[0-9]{2}-[0-9]{2}(_.*)$ ]] ||
    { echo "derive_bench.sh: BOOK must have a Tardis file name (EXCHANGE_incremental_book_L2_DAY_SYMBOL.csv.gz): $BOOK" >&2; exit 1; }
  for d in 02 03 04 05; do ln -sf "$(readlink -f "$BOOK")" "$FOUR/${BASH_REMATCH[1]}2020-04-${d}${BASH_REMATCH[2]}"; done
  RUN_NO=$((RUN_NO + 1))
  /usr/bin/time -f '%e %M %U %S' -o "$OUT_DIR/time.txt" "$BIN" convert "$FOUR"/*.csv.gz --output "$OUT_DIR/store-$RUN_NO" \
    --threads 4 --derive book_snapshot_100_0ms >/dev/null 2>"$OUT_DIR/stderr.txt" || { cat "$OUT_DIR/stderr.txt" >&2; exit 1; }
  read -r _ FILES_RSS _ <"$OUT_DIR/time.txt"
  rm -rf "$FOUR"
fi
rm -rf "$OUT_DIR"/store-*
echo "binary: $BIN, --threads $THREADS, medians of $RUNS interleaved rounds, input: $BOOK"
awk -v a="$A" -v b="$B" -v c="$C" -v z="$Z" -v ig="$I" -v igc="$I_CPU" -v ac="$A_CPU" -v bc="$B_CPU" -v zc="$Z_CPU" -v rss="$B_RSS" -v deep="$DEEP_RSS" -v files="$FILES_RSS" -v cj="$C_JSON" 'BEGIN {
  printf "Z gzip -dc (inflate only)              %.3f s  (CPU %.2f s)\n", z, zc
  if (ig > 0) printf "I igzip -dc (ISA-L inflate only)        %.3f s  (CPU %.2f s)\n", ig, igc
  printf "A convert                              %.3f s  (CPU %.2f s)\n", a, ac
  printf "B convert --derive (3 series)          %.3f s  (CPU %.2f s)  peak RSS %d MB\n", b, bc, rss / 1024
  printf "C tardis-dev compute() (1 series)      %.3f s  last run: %s\n", c, cj
  printf "derive overhead B/A-1                  %+.0f%% wall, %+.0f%% CPU  (target <= 30%% wall) %s\n", (b / a - 1) * 100, (bc / ac - 1) * 100, (b / a - 1 <= 0.30 ? "PASS" : "MISS")
  printf "speed-up C/B                           %.1fx  (target >= 10x, i.e. B <= C/10 = %.3f s) %s\n", c / b, c / 10, (c / b >= 10 ? "PASS" : "MISS")
  printf "floors against C/10 = %.3f s: gzip -dc %.3f s (C/Z %.1fx)", c / 10, z, c / z
  if (ig > 0) printf ", igzip -dc %.3f s (C/I %.1fx)", ig, c / ig
  printf ", plain convert A %.3f s (C/A %.1fx)\n", a, c / a
  if (deep > 0) printf "peak RSS, two depth-1000 series        %d MB  (target < 256 MB) %s\n", deep / 1024, (deep < 256 * 1024 ? "PASS" : "MISS")
  if (files > 0) printf "peak RSS, 4 files, depth 100, 4 threads %d MB  (target < 256 MB) %s\n", files / 1024, (files < 256 * 1024 ? "PASS" : "MISS")
}'
