#!/usr/bin/env bash
# Download + convert over loopback vs convert alone, on the same generated files.
#
# Generates K trades files (gen_tardis.c, distinct seeds) named as Tardis files
# for K consecutive days, serves them with the project's Tardis-compatible test
# server on 127.0.0.1, and measures `market-tick download` with 1, 2, 4 and 8
# files in flight against `market-tick convert` of the same .csv.gz files from
# local disk. Prints MB/s of uncompressed CSV, peak RSS and the ratio to
# convert-only (target >= 0.8; peak RSS < 512 MB with 8 in flight).
set -euo pipefail
cd "$(dirname "$0")/.."

files=8 rows=1000000 runs=3 data_dir=bench/data/download out_dir=bench/out/download bin=build/market-tick
usage() {
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
  echo
  echo "usage: bench/download_bench.sh [--files K] [--rows N] [--runs R] [--quick] [--bin PATH]"
}
while [ $# -gt 0 ]; do
  case "$1" in
    --files) files=$2; shift 2 ;;
    --rows) rows=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --quick) files=4 rows=200000 runs=1; shift ;;
    --bin) bin=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
[ -x "$bin" ] || { echo "no binary at $bin (run scripts/build.sh)" >&2; exit 2; }

data="$data_dir/k${files}_r${rows}"
mkdir -p "$data" "$out_dir"
if [ ! -x "$data_dir/gen_tardis" ]; then cc -O2 -o "$data_dir/gen_tardis" bench/gen_tardis.c -lm; fi
csv_bytes=0
for i in $(seq 1 "$files"); do
  day=$(date -u -d "2023-11-01 + $((i - 1)) days" +%F)
  f="$data/binance-futures_trades_${day}_BTCUSDT.csv"
  if [ ! -f "$f.gz" ]; then
    "$data_dir/gen_tardis" trades "$rows" "$f" "$((20231101 + i))"
    gzip -6 -n -f "$f"
  fi
  csv_bytes=$((csv_bytes + $(gzip -l "$f.gz" | awk 'NR==2 {print $2}')))
done
last_day=$(date -u -d "2023-11-01 + $((files - 1)) days" +%F)

port_file=$(mktemp)
node tests/support/tardis_server.mjs --port 0 --port-file "$port_file" --data-dir "$data" >/dev/null &
server=$!
trap 'kill $server 2>/dev/null || true; rm -f "$port_file"' EXIT
for _ in $(seq 100); do [ -s "$port_file" ] && break; sleep 0.05; done
TARDIS_DATASETS_URL="http://127.0.0.1:$(cat "$port_file")"
export TARDIS_DATASETS_URL TARDIS_API_KEY=bench-key

median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'; }
measure() {  # name, command...: prints "name seconds rss_mb" (medians)
  local name=$1; shift
  local ts=() rs=()
  for _ in $(seq 1 "$runs"); do
    rm -rf "$out_dir/o"
    /usr/bin/time -f '%e %M' -o "$out_dir/time" "$@" >/dev/null 2>"$out_dir/stderr" || { cat "$out_dir/stderr" >&2; exit 1; }
    read -r t r <"$out_dir/time"
    ts+=("$t"); rs+=("$r")
  done
  echo "$name $(printf '%s\n' "${ts[@]}" | median) $(printf '%s\n' "${rs[@]}" | median)"
}

results=()
results+=("$(measure convert "$bin" convert "$data"/*.csv.gz --output "$out_dir/o")")
for c in 1 2 4 8; do
  results+=("$(measure "download-c$c" "$bin" download --from 2023-11-01 --to "$last_day" --exchanges binance-futures \
    --data-types trades --symbols BTCUSDT --output "$out_dir/o" --concurrency "$c")")
done
# The downloaded objects must equal the converted ones (same rows in, same Parquet out).
rm -rf "$out_dir/a" "$out_dir/b"
# (DOWNLOAD_BUFFER_MB=256 and 4 in flight: each file gets the full 64 MiB parse buffer, as convert
# does, so row groups match.)
SOURCE_DATE_EPOCH=0 DOWNLOAD_BUFFER_MB=256 "$bin" download --from 2023-11-01 --to "$last_day" --exchanges binance-futures --data-types trades \
  --symbols BTCUSDT --output "$out_dir/a" --concurrency 4 >/dev/null 2>&1
SOURCE_DATE_EPOCH=0 "$bin" convert "$data"/*.csv.gz --output "$out_dir/b" >/dev/null 2>&1
# Only the footer's `source` metadata differs (path vs URL): the data pages must be byte-identical.
n_same=$(node -e '
  const fs = require("fs"), path = require("path");
  const [a, b] = process.argv.slice(1);
  const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]);
  const body = (f) => { const x = fs.readFileSync(f); return x.subarray(0, x.length - 8 - x.readUInt32LE(x.length - 8)); };
  let n = 0;
  for (const f of walk(b)) {
    const g = path.join(a, path.relative(b, f));
    if (!fs.existsSync(g) || !body(f).equals(body(g))) { console.error("differs: " + g); process.exit(1); }
    n++;
  }
  if (walk(a).length !== n) { console.error("extra downloaded objects"); process.exit(1); }
  console.log(n);' "$out_dir/a" "$out_dir/b")

printf '%s files x %s rows, %.1f MB of CSV, %s runs, %s cores\n' "$files" "$rows" "$(echo "$csv_bytes / 1000000" | bc -l)" "$runs" "$(nproc)"
printf '%-14s %9s %9s %9s %8s\n' mode seconds "MB/s" "vs conv" "RSS MB"
base=$(echo "${results[0]}" | awk '{print $2}')
for r in "${results[@]}"; do
  read -r name t rss <<<"$r"
  printf '%-14s %9.2f %9.0f %9.2f %8.0f\n' "$name" "$t" "$(echo "$csv_bytes / 1000000 / $t" | bc -l)" \
    "$(echo "$base / $t" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
done
echo "checked: $n_same downloaded objects have data pages byte-identical to convert-only output"
