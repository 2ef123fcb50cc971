#!/usr/bin/env bash
# Benchmark of `market-tick validate --deep` on many present files on local disk.
#
# Builds (once, cached) a storage tree of DAYS x SYMBOLS trades objects: for each day one grouped
# Tardis-format CSV (binance-futures, SYMBOLS perpetuals "S<i>USDT", 2 rows each) converted by
# `market-tick convert`, which splits it into one small Parquet file per instrument, each with the
# right instrument_key and day. Then times `validate --deep` over the whole tree (footer of every
# file read and checked) with the same symbols, warm page cache, and, when run as root, once more
# after dropping the page cache. Every item must come out done.
set -euo pipefail
export LC_ALL=C

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
BIN="$REPO_DIR/build/market-tick"
DIR="$BENCH_DIR/data/validate-tree"
DAYS=20
SYMBOLS=5000
CONCURRENCY=16

usage() {
  cat <<EOF
usage: bench/validate_bench.sh [--bin PATH] [--dir DIR] [--days N] [--symbols N] [--concurrency N]
  defaults: --bin build/market-tick --dir bench/data/validate-tree --days 20 --symbols 5000
            (100,000 files) --concurrency 16
EOF
}
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN=$(realpath "$2"); shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    --days) DAYS=$2; shift 2 ;;
    --symbols) SYMBOLS=$2; shift 2 ;;
    --concurrency) CONCURRENCY=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
[ -x "$BIN" ] || { echo "no binary at $BIN (build first or pass --bin)" >&2; exit 2; }

data="$DIR/data-${DAYS}x${SYMBOLS}"
if [ ! -f "$data/.complete" ]; then
  rm -rf "$data" "$DIR/csv"
  mkdir -p "$data" "$DIR/csv"
  echo "generating $DAYS days x $SYMBOLS instruments ..." >&2
  t0=$(date +%s)
  for d in $(seq 1 "$DAYS"); do
    day=$(date -u -d "2020-03-01 + $((d - 1)) days" +%F)
    csv="$DIR/csv/binance-futures_trades_${day}_PERPETUALS.csv.gz"
    # shellcheck disable=SC2016  # JavaScript template literals, not shell expansions
    node -e '
      const zlib = require("zlib"), fs = require("fs");
      const [day, n, out] = [process.argv[1], +process.argv[2], process.argv[3]];
      const t0 = Date.parse(day + "T00:00:00Z") * 1000;
      const lines = ["exchange,symbol,timestamp,local_timestamp,id,side,price,amount"];
      for (let r = 0; r < 2; r++) for (let i = 0; i < n; i++) {
        const t = t0 + (r * n + i) * 1000;
        lines.push(`binance-futures,S${i}USDT,${t - 100},${t},${r * n + i},buy,${100 + i},1.5`);
      }
      fs.writeFileSync(out, zlib.gzipSync(lines.join("\n") + "\n"));
    ' "$day" "$SYMBOLS" "$csv"
    "$BIN" convert "$csv" --output "$data" --threads 2 >/dev/null 2>&1
  done
  touch "$data/.complete"
  echo "generated $(find "$data/raw_tick_data" -name '*.parquet' | wc -l) files in $(( $(date +%s) - t0 )) s" >&2
fi

# shellcheck disable=SC2016  # a JavaScript template literal
symbols=$(node -e 'console.log(Array.from({length: +process.argv[1]}, (_, i) => `S${i}USDT`).join(","))' "$SYMBOLS")
to=$(date -u -d "2020-03-01 + $((DAYS - 1)) days" +%F)
cmd=("$BIN" validate --from 2020-03-01 --to "$to" --exchanges binance-futures --data-types trades
     --symbols "$symbols" --output "$data" --deep --read-only --concurrency "$CONCURRENCY"
     --report "$DIR/report.html")
echo "command: ${cmd[*]:0:10} --symbols S0USDT,...,S$((SYMBOLS - 1))USDT ${cmd[*]:12}" >&2

run() {
  local label=$1 out
  out=$(/usr/bin/time -f "%e s wall, %U s user, %S s sys, %M KB max RSS" "${cmd[@]}" 2>"$DIR/stderr.txt") || true
  echo "$label: $(tail -n 1 "$DIR/stderr.txt")"
  echo "$out" | grep -E '^(total|result)'
  echo "$out" | grep -qE "^total +$((DAYS * SYMBOLS)) +$((DAYS * SYMBOLS)) +0 +0 +0 " ||
    { echo "not every item is done:" >&2; echo "$out" | head -n 20 >&2; exit 1; }
}
if [ "$(id -u)" = 0 ] && sync && echo 3 >/proc/sys/vm/drop_caches 2>/dev/null; then
  run "cold page cache"
fi
run "warm page cache"
run "warm page cache"
