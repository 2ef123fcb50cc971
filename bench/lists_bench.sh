#!/bin/bash
# lists_bench.sh - what commands that list a day folder hold of it: peak RSS and wall time of `download
# --derive` rerunning a grouped item skipped on its completion record (its series looked up in the day's
# folder of each series), `derive` without --symbols (the day's raw objects become its items) and `sql`
# (the data types, from a listing of the store), over a day folder of many present objects.
#
#   bench/lists_bench.sh [BINARY] [OBJECTS...]     (default: build/market-tick, 1000000)
#
# The store is record_bench.sh's (a converted grouped file of three options, data generated here, not
# Tardis data), its record replaced by a compact generated one listing RECORD of the day's OBJECTS
# options (default: all of them), and every one of the OBJECTS written as an empty file, with an empty
# file of its trade_bar_1m series beside it (existence only: nothing is computed, every item is skipped).
# STEPS (default "download derive sql") says what runs. With AB_BIN=OTHER_BINARY each step runs RUNS
# times (default 3) with each binary, interleaved (OTHER first), and the median and range of wall seconds
# and MB of each are printed. The download runs against the Tardis-compatible test server
# (tests/support/tardis_server.mjs), which it never asks: the record says the item is done.
# KEEP_W=DIR keeps the store in DIR (made there when missing) from one invocation to the next, so
# that runs at the same OBJECTS skip writing a million empty files again (minutes); the record is
# written again each time.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
BIN="$(realpath "${1:-$ROOT/build/market-tick}")"
shift $(($# > 0 ? 1 : 0))
COUNTS=("$@")
[[ ${#COUNTS[@]} -gt 0 ]] || COUNTS=(1000000)
[[ -x /usr/bin/time ]] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
AB_BIN=${AB_BIN:+$(realpath "$AB_BIN")}
RUNS=${RUNS:-3}
STEPS=${STEPS:-download derive sql}
W=${KEEP_W:-$(mktemp -d)}
SERVER=""
if [[ -n "${KEEP_W:-}" ]]; then
  trap '[[ -n "$SERVER" ]] && kill "$SERVER" 2>/dev/null' EXIT
else
  trap '[[ -n "$SERVER" ]] && kill "$SERVER" 2>/dev/null; rm -rf "$W"' EXIT
fi
mkdir -p "$W/data"
rm -f "$W/port"
F="$W/data/deribit_trades_2023-11-01_OPTIONS.csv"
{
  echo "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"
  for i in $(seq 0 29); do
    t=$((1698796800000000 + i * 1000))
    echo "deribit,BTC-2NOV23-$((20000 + 500 * (i % 3)))-C,$t,$t,$i,buy,0.01,1"
  done
} >"$F"
[[ -d "$W/store" ]] || "$BIN" convert "$F" --output "$W/store" >/dev/null 2>&1
DAY="$W/store/raw_tick_data/by_date/day-2023-11-01/data_type-trades"
SERIES="$W/store/derived_data/by_date/day-2023-11-01/data_type-trade_bar_1m"
REC="$DAY/_items/deribit/OPTIONS.json"
[[ -s "$REC" ]] || { echo "no completion record at $REC" >&2; exit 1; }
node "$ROOT/tests/support/tardis_server.mjs" --port 0 --port-file "$W/port" --data-dir "$W/data" >/dev/null 2>&1 &
SERVER=$!
for _ in $(seq 100); do [[ -s "$W/port" ]] && break; sleep 0.05; done
export TARDIS_DATASETS_URL="http://127.0.0.1:$(cat "$W/port")" TARDIS_API_KEY=bench-key
D=(--from 2023-11-01 --to 2023-11-01 --exchanges deribit --data-types trades)
run() {  # STEP BINARY: "seconds KB"
  local args
  case "$1" in
    download) args=(download "${D[@]}" --symbols OPTIONS --derive trade_bar_1m --threads 2) ;;
    derive) args=(derive "${D[@]}" --derive trade_bar_1m --threads 2) ;;
    sql) args=(sql) ;;
  esac
  /usr/bin/time -f '%e %M' -o "$W/t" "$2" "${args[@]}" --output "$W/store" >"$W/out" 2>"$W/err" ||
    { echo "FAILED: $1" >&2; tail -3 "$W/err" >&2; exit 1; }
  if [[ "$1" != sql ]] && ! grep -q " 0 done" "$W/err"; then
    echo "$1 computed something:" >&2
    tail -3 "$W/err" >&2
    exit 1
  fi
  tail -1 "$W/t"
}
# "median (min-max)" of numbers, one a line.
summary() { sort -g | awk '{v[NR] = $1} END {printf "%s (%s-%s)", v[int((NR + 1) / 2)], v[1], v[NR]}'; }
if [[ -n "$AB_BIN" ]]; then
  printf '%-9s %-9s %-9s %30s %30s\n' objects record step "$(basename "$(dirname "$AB_BIN")"): s, MB" \
    "$(basename "$(dirname "$BIN")"): s, MB"
else
  printf '%-9s %-9s %-9s %16s\n' objects record step "s, MB"
fi
for n in "${COUNTS[@]}"; do
  r=${RECORD:-$n}
  awk -v n="$r" 'BEGIN {
    printf "{\n \"item\": \"2023-11-01/trades/deribit/OPTIONS\",\n \"outcome\": \"done\",\n \"rows\": %d,\n", n * 10
    printf " \"first_timestamp\": \"2023-11-01T00:00:00.000000Z\",\n \"last_timestamp\": \"2023-11-01T23:00:00.000000Z\",\n"
    printf " \"source\": \"generated\",\n \"reason\": \"\",\n \"objects\": [\n"
    for (i = 0; i < n; i++) {
      k = sprintf("DERIBIT:OPTION:BTC-USD-231102-%d-CALL", 100000 + i)
      printf "{\"name\":\"raw_tick_data/by_date/day-2023-11-01/data_type-trades/%s.parquet\",\"instrument_key\":\"%s\"}%s\n", k, k, (i + 1 < n ? "," : "")
    }
    printf " ],\n \"tool_version\": \"0.1.0\",\n \"created_at\": \"2023-11-14T22:13:20Z\"\n}\n"
  }' >"$REC"
  # The day's objects and their series (the converted ones removed: they have rows to compute from),
  # unless the kept store has them for this count.
  if [[ "$(cat "$W/objects" 2>/dev/null)" != "$n" ]]; then
    rm -f "$W/objects"
    find "$DAY" "$SERIES" -maxdepth 1 -name '*.parquet' -delete 2>/dev/null || true
    mkdir -p "$SERIES"
    for dir in "$DAY" "$SERIES"; do
      awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "DERIBIT:OPTION:BTC-USD-231102-%d-CALL.parquet\n", 100000 + i }' |
        (cd "$dir" && xargs touch)
    done
    echo "$n" >"$W/objects"
  fi
  for step in $STEPS; do
    if [[ -n "$AB_BIN" ]]; then
      : >"$W/a"
      : >"$W/b"
      for _ in $(seq "$RUNS"); do
        run "$step" "$AB_BIN" >>"$W/a"
        run "$step" "$BIN" >>"$W/b"
      done
      cols=()
      for f in "$W/a" "$W/b"; do
        cols+=("$(cut -d' ' -f1 "$f" | summary) s, $(awk '{print int($2 / 1024)}' "$f" | summary) MB")
      done
      printf '%-9s %-9s %-9s %30s %30s\n' "$n" "$r" "$step" "${cols[0]}" "${cols[1]}"
    else
      read -r s m < <(run "$step" "$BIN")
      printf '%-9s %-9s %-9s %16s\n' "$n" "$r" "$step" "$s, $((m / 1024))"
    fi
  done
done
