#!/usr/bin/env bash
# Peak RSS and wall time of `market-tick convert --derive` against the number of deep series
# computed at once (target: peak RSS under 256 MB for any number). On a generated 400,000-row
# incremental_book_L2 day with 800 levels (tests/js/lib/derive_gen.mjs, writeBookDay) it runs, for
# each N of NS and each thread count of THREADS, `convert F --output DIR --threads T --derive
# book_snapshot_1000_0ms,book_snapshot_999_0ms,...` (N names of depth 1000 down to 1001-N, all 0ms)
# with every binary given, interleaved (A, B, A, B, ...), RUNS rounds, each run into a fresh store on
# tmpfs removed right after it. Prints per binary, N and thread count: median wall, largest peak RSS,
# and the size of the derived objects of the last run (a change of row groups shows there); with
# more than one binary, whether each one's objects of the first round are byte-identical to the
# first binary's (diff -r).
#
#   bench/derive_series_bench.sh [LABEL=BINARY ...]     (default: build/market-tick)
#
# Env: NS ("1 4 6 10 16"), THREADS ("1 2"), RUNS (1), BOOK (another file; default generated into
# bench/data), SOURCE_DATE_EPOCH is set so outputs compare with cmp. Needs tests/js/node_modules
# to generate the book (cd tests/js && npm ci).
set -euo pipefail
export LC_ALL=C SOURCE_DATE_EPOCH=1700000000
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
NS=${NS:-1 4 6 10 16}
THREADS=${THREADS:-1 2}
RUNS=${RUNS:-1}
DATA_DIR=${DATA_DIR:-$BENCH_DIR/data}
BOOK=${BOOK:-$DATA_DIR/deribit_incremental_book_L2_2020-04-02_BTC-PERPETUAL_400k_800.csv.gz}
SPECS=("$@")
[[ ${#SPECS[@]} -gt 0 ]] || SPECS=("new=$REPO_DIR/build/market-tick")
for spec in "${SPECS[@]}"; do
  [[ -x ${spec#*=} ]] || { echo "derive_series_bench.sh: no binary at ${spec#*=}" >&2; exit 1; }
done
mkdir -p "$DATA_DIR"
if [[ ! -s $BOOK ]]; then
  # A Tardis file name: convert takes the exchange, data type, day and symbol from it.
  GEN=$DATA_DIR/deribit_incremental_book_L2_2020-04-02_BTC-PERPETUAL.csv.gz.tmp$$
  (cd "$REPO_DIR/tests/js" && node -e "import('./lib/derive_gen.mjs').then((m) => m.writeBookDay('$GEN', { rows: 400000, levels: 800 }))")
  mv "$GEN" "$BOOK"
fi
# convert wants the Tardis name; the generated file keeps its size in its own name.
IN_DIR=$(mktemp -d /dev/shm/mt-series-bench-in.XXXXXX 2>/dev/null || mktemp -d)
OUT=$(mktemp -d /dev/shm/mt-series-bench.XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$IN_DIR" "$OUT"' EXIT
F=$IN_DIR/deribit_incremental_book_L2_2020-04-02_BTC-PERPETUAL.csv.gz
ln -s "$(readlink -f "$BOOK")" "$F"

names() {
  local s="" i
  for ((i = 0; i < $1; i++)); do s="$s${s:+,}book_snapshot_$((1000 - i))_0ms"; done
  echo "$s"
}
RES=$OUT/times.txt
: >"$RES"
for ((r = 1; r <= RUNS; r++)); do
  for n in $NS; do
    for t in $THREADS; do
      for spec in "${SPECS[@]}"; do
        lab=${spec%%=*} bin=${spec#*=}
        store=$OUT/store
        /usr/bin/time -f '%e %M' -o "$OUT/time.txt" "$bin" convert "$F" --output "$store" --threads "$t" \
          --derive "$(names "$n")" >/dev/null 2>"$OUT/err.txt" || { cat "$OUT/err.txt" >&2; exit 1; }
        bytes=$(du -sb "$store/derived_data" | cut -f1)
        same=-
        # First round: every binary's objects against the first binary's (byte for byte).
        if [[ $r == 1 && ${#SPECS[@]} -gt 1 ]]; then
          if [[ $spec == "${SPECS[0]}" ]]; then
            mv "$store" "$OUT/first"
          elif diff -r "$OUT/first" "$store" >/dev/null; then
            same=identical
          else
            same=DIFFERENT
          fi
        fi
        echo "$lab $n $t $(cat "$OUT/time.txt") $bytes $same" >>"$RES"
        rm -rf "$store"
      done
      rm -rf "$OUT/first"
    done
  done
done
echo "input: $BOOK, medians of $RUNS interleaved rounds"
awk '
  function median(s,   n, a, i, j, x) { n = split(s, a, " "); for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { x = a[i]; a[i] = a[j]; a[j] = x } return a[int((n + 1) / 2)] }
  { k = $1 " " $2 " " $3; if (!(k in wall)) order[++m] = k; wall[k] = wall[k] " " $4; if ($5 > rss[k]) rss[k] = $5; bytes[k] = $6; if ($7 != "-") same[k] = $7 }
  END { for (i = 1; i <= m; i++) { k = order[i]; split(k, p, " ")
          printf "%-8s N=%-3s --threads %s  wall %6.2f s  peak RSS %4d MB  derived %5.0f MB %s %s\n", p[1], p[2], p[3], median(wall[k]), rss[k] / 1024, bytes[k] / 1e6, (k in same ? same[k] : ""), (rss[k] < 256 * 1024 ? "" : "OVER 256 MB") } }' "$RES"
