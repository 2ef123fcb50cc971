#!/bin/bash
# record_bench.sh - a grouped item's completion record of many objects, read back: peak RSS and wall
# time of a `download` rerun that skips the item on its record, and of `validate` of the item.
#
#   bench/record_bench.sh [BINARY] [OBJECTS...]     (default: build/market-tick, 150000 400000)
#
# With VALIDATE_ONLY=1 the download rerun is left out (no test server); with AB_BIN=OTHER_BINARY
# `validate` runs RUNS times (default 3) with each binary, interleaved (OTHER first), and the
# median and range of wall seconds and MB of each are printed. With COMPACT=1 each object of the record
# is one line of its name and key only (the rest is optional), so that a record of 5,000,000 objects
# stays under the 1 GiB its reader accepts (a larger record is read as unusable: one missing item).
# With PRESENT=1 every object the record lists is also written, as an empty file (existence only, so
# each is corrupt: too short for Parquet), so the day's listing holds them all; READ_ONLY=1 adds
# --read-only to validate (no missing-data report written).
#
# The store is made by converting a generated grouped file of three options (data generated here, not
# Tardis data); its record is then replaced by a generated one listing OBJECTS objects named as the
# options of such a day are (the objects themselves are not written: validate calls them missing,
# which is the same work as finding them). The download runs against the Tardis-compatible test
# server (tests/support/tardis_server.mjs), which it never asks: the record says the item is done.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
BIN="$(realpath "${1:-$ROOT/build/market-tick}")"
shift $(($# > 0 ? 1 : 0))
COUNTS=("$@")
[[ ${#COUNTS[@]} -gt 0 ]] || COUNTS=(150000 400000)
[[ -x /usr/bin/time ]] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
W=$(mktemp -d)
SERVER=""
trap '[[ -n "$SERVER" ]] && kill "$SERVER" 2>/dev/null; rm -rf "$W"' EXIT
mkdir -p "$W/data"
F="$W/data/deribit_trades_2023-11-01_OPTIONS.csv"
{
  echo "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"
  for i in $(seq 0 29); do
    t=$((1698796800000000 + i * 1000))
    echo "deribit,BTC-2NOV23-$((20000 + 500 * (i % 3)))-C,$t,$t,$i,buy,0.01,1"
  done
} >"$F"
"$BIN" convert "$F" --output "$W/store" >/dev/null 2>&1
REC="$W/store/raw_tick_data/by_date/day-2023-11-01/data_type-trades/_items/deribit/OPTIONS.json"
[[ -s "$REC" ]] || { echo "no completion record at $REC" >&2; exit 1; }
VALIDATE_ONLY=${VALIDATE_ONLY:-}
AB_BIN=${AB_BIN:+$(realpath "$AB_BIN")}
RUNS=${RUNS:-3}
if [[ -z "$VALIDATE_ONLY" ]]; then
  node "$ROOT/tests/support/tardis_server.mjs" --port 0 --port-file "$W/port" --data-dir "$W/data" >/dev/null 2>&1 &
  SERVER=$!
  for _ in $(seq 100); do [[ -s "$W/port" ]] && break; sleep 0.05; done
  export TARDIS_DATASETS_URL="http://127.0.0.1:$(cat "$W/port")" TARDIS_API_KEY=bench-key
fi
# validate as every run here makes it; exits 1: the listed objects are not there.
validate() {
  /usr/bin/time -f '%e %M' -o "$W/t2" "$1" validate --from 2023-11-01 --to 2023-11-01 --exchanges deribit \
    --data-types trades --symbols OPTIONS --output "$W/store" ${READ_ONLY:+--read-only} >/dev/null 2>&1 || true
  tail -1 "$W/t2"
}
# "median (min-max)" of numbers, one a line.
summary() { sort -g | awk '{v[NR] = $1} END {printf "%s (%s-%s)", v[int((NR + 1) / 2)], v[1], v[NR]}'; }
if [[ -n "$AB_BIN" ]]; then
  printf '%-9s %10s %30s %30s\n' objects "record MB" "$(basename "$(dirname "$AB_BIN")"): s, MB" \
    "$(basename "$(dirname "$BIN")"): s, MB"
elif [[ -z "$VALIDATE_ONLY" ]]; then
  printf '%-9s %10s %14s %14s %16s\n' objects "record MB" "rerun s" "rerun MB" "validate s, MB"
else
  printf '%-9s %10s %16s\n' objects "record MB" "validate s, MB"
fi
for n in "${COUNTS[@]}"; do
  awk -v n="$n" -v compact="${COMPACT:-}" 'BEGIN {
    printf "{\n \"item\": \"2023-11-01/trades/deribit/OPTIONS\",\n \"outcome\": \"done\",\n \"rows\": %d,\n", n * 10
    printf " \"first_timestamp\": \"2023-11-01T00:00:00.000000Z\",\n \"last_timestamp\": \"2023-11-01T23:00:00.000000Z\",\n"
    printf " \"source\": \"generated\",\n \"reason\": \"\",\n \"objects\": [\n"
    for (i = 0; i < n; i++) {
      k = sprintf("DERIBIT:OPTION:BTC-USD-231102-%d-CALL", 100000 + i)
      if (compact) {
        printf "{\"name\":\"raw_tick_data/by_date/day-2023-11-01/data_type-trades/%s.parquet\",\"instrument_key\":\"%s\"}%s\n", k, k, (i + 1 < n ? "," : "")
        continue
      }
      printf "  {\n   \"name\": \"raw_tick_data/by_date/day-2023-11-01/data_type-trades/%s.parquet\",\n", k
      printf "   \"instrument_key\": \"%s\",\n   \"rows\": 10,\n   \"bytes\": 1762,\n", k
      printf "   \"first_timestamp\": \"2023-11-01T00:00:00.000000Z\",\n   \"last_timestamp\": \"2023-11-01T00:00:00.027000Z\"\n"
      printf "  }%s\n", (i + 1 < n ? "," : "")
    }
    printf " ],\n \"tool_version\": \"0.1.0\",\n \"created_at\": \"2023-11-14T22:13:20Z\"\n}\n"
  }' >"$REC"
  if [[ -n "${PRESENT:-}" ]]; then
    # Many names a touch; those of a smaller count before are there already (touched again).
    awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "DERIBIT:OPTION:BTC-USD-231102-%d-CALL.parquet\n", 100000 + i }' |
      (cd "$(dirname "$(dirname "$(dirname "$REC")")")" && xargs touch)
  fi
  [[ $(stat -c %s "$REC") -le $((1 << 30)) ]] ||
    echo "warning: the record of $n objects is over 1 GiB: validate reads it as unusable (try COMPACT=1)" >&2
  if [[ -n "$AB_BIN" ]]; then
    : >"$W/a"
    : >"$W/b"
    for _ in $(seq "$RUNS"); do
      validate "$AB_BIN" >>"$W/a"
      validate "$BIN" >>"$W/b"
    done
    cols=()
    for f in "$W/a" "$W/b"; do
      cols+=("$(cut -d' ' -f1 "$f" | summary) s, $(awk '{print int($2 / 1024)}' "$f" | summary) MB")
    done
    printf '%-9s %10s %30s %30s\n' "$n" "$(($(stat -c %s "$REC") / 1000000))" "${cols[0]}" "${cols[1]}"
    continue
  fi
  if [[ -n "$VALIDATE_ONLY" ]]; then
    read -r s2 m2 < <(validate "$BIN")
    printf '%-9s %10s %16s\n' "$n" "$(($(stat -c %s "$REC") / 1000000))" "$s2, $((m2 / 1024))"
    continue
  fi
  /usr/bin/time -f '%e %M' -o "$W/t1" "$BIN" download --from 2023-11-01 --to 2023-11-01 --exchanges deribit \
    --data-types trades --symbols OPTIONS --output "$W/store" --threads 2 >/dev/null 2>"$W/err" ||
    { echo "FAILED: download rerun" >&2; tail -3 "$W/err" >&2; exit 1; }
  grep -q "1 skipped" "$W/err" || { echo "the rerun did not skip the item:" >&2; tail -3 "$W/err" >&2; exit 1; }
  read -r s2 m2 < <(validate "$BIN")
  read -r s1 m1 < <(tail -1 "$W/t1")
  printf '%-9s %10s %14s %14s %16s\n' "$n" "$(($(stat -c %s "$REC") / 1000000))" "$s1" "$((m1 / 1024))" "$s2, $((m2 / 1024))"
done
