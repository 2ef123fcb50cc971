#!/bin/bash
# report_merge_bench.sh - `validate` merging its missing-data report into a day's large one: peak RSS and
# wall time, and the rows of the report it leaves.
#
#   bench/report_merge_bench.sh [OBJECTS] "label|/abs/path/binary" ...   (default 2000000 build/market-tick)
#
# The store is bench/record_bench.sh's (COMPACT=1): a generated grouped file of three options (data
# generated here, not Tardis data) converted, its completion record then replaced by one listing
# OBJECTS objects that are not written. Per binary, in a fresh copy of that store:
#   first   validate --data-types trades --symbols OPTIONS: every object missing, a report of OBJECTS rows
#   merge   validate --data-types quotes --symbols OPTIONS: one item missing (no record); the trades rows
#           are another run's, kept after this run's row
#   plan    download --from-report --dry-run of the day (the items of the report planned, nothing fetched)
# and after first and merge the day's report is counted by data type (DuckDB, bench/node_modules): a
# report merged whole holds OBJECTS trades rows and 1 quotes row. Prints per step wall seconds and peak
# RSS (MB of /usr/bin/time %M), the counts, and the items the plan step planned.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
N=${1:-2000000}
shift $(($# > 0 ? 1 : 0))
BINS=("$@")
[[ ${#BINS[@]} -gt 0 ]] || BINS=("head|$ROOT/build/market-tick")
[[ -x /usr/bin/time ]] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/data"
F="$W/data/deribit_trades_2023-11-01_OPTIONS.csv"
{
  echo "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"
  for i in $(seq 0 29); do
    t=$((1698796800000000 + i * 1000))
    echo "deribit,BTC-2NOV23-$((20000 + 500 * (i % 3)))-C,$t,$t,$i,buy,0.01,1"
  done
} >"$F"
first_bin=${BINS[0]#*|}
"$first_bin" convert "$F" --output "$W/base" >/dev/null 2>&1
REC="$W/base/raw_tick_data/by_date/day-2023-11-01/data_type-trades/_items/deribit/OPTIONS.json"
[[ -s "$REC" ]] || { echo "no completion record at $REC" >&2; exit 1; }
awk -v n="$N" 'BEGIN {
  printf "{\n \"item\": \"2023-11-01/trades/deribit/OPTIONS\",\n \"outcome\": \"done\",\n \"rows\": %d,\n", n * 10
  printf " \"first_timestamp\": \"2023-11-01T00:00:00.000000Z\",\n \"last_timestamp\": \"2023-11-01T23:00:00.000000Z\",\n"
  printf " \"source\": \"generated\",\n \"reason\": \"\",\n \"objects\": [\n"
  for (i = 0; i < n; i++) {
    k = sprintf("DERIBIT:OPTION:BTC-USD-231102-%d-CALL", 100000 + i)
    printf "{\"name\":\"raw_tick_data/by_date/day-2023-11-01/data_type-trades/%s.parquet\",\"instrument_key\":\"%s\"}%s\n", k, k, (i + 1 < n ? "," : "")
  }
  printf " ],\n \"tool_version\": \"0.1.0\",\n \"created_at\": \"2023-11-14T22:13:20Z\"\n}\n"
}' >"$REC"
count() {
  node --input-type=module - "$1" <<'EOF'
import { DuckDBInstance } from '@duckdb/node-api';
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const r = await c.runAndReadAll(`SELECT data_type, count(*)::INTEGER AS n FROM read_parquet('${process.argv[2]}') GROUP BY 1 ORDER BY 1`);
console.log(r.getRowObjects().map((o) => `${o.data_type} ${o.n}`).join(', '));
EOF
}
printf '%-10s %-6s %18s   %s\n' binary step "s, MB" "report rows"
for spec in "${BINS[@]}"; do
  label=${spec%%|*}
  bin=${spec#*|}
  rm -rf "$W/store"
  cp -r "$W/base" "$W/store"
  for step in first merge; do
    type=trades
    [[ $step == merge ]] && type=quotes
    /usr/bin/time -f '%e %M' -o "$W/t" "$bin" validate --from 2023-11-01 --to 2023-11-01 --exchanges deribit \
      --data-types "$type" --symbols OPTIONS --output "$W/store" >/dev/null 2>"$W/err" || true
    read -r s m < <(tail -1 "$W/t")
    rows=$(cd "$HERE" && count "$W/store/missing_data_reports/by_date/day-2023-11-01/missing_data.parquet")
    printf '%-10s %-6s %18s   %s\n' "$label" "$step" "$s, $((m / 1024))" "$rows"
    grep -E '^W ' "$W/err" | head -2 || true
  done
  /usr/bin/time -f '%e %M' -o "$W/t" "$bin" download --from 2023-11-01 --to 2023-11-01 --from-report --dry-run \
    --output "$W/store" >/dev/null 2>"$W/err" || true
  read -r s m < <(tail -1 "$W/t")
  printf '%-10s %-6s %18s   %s\n' "$label" plan "$s, $((m / 1024))" "$(grep -E 'items.*dry run' "$W/err" | tail -1)"
done
