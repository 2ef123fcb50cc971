#!/bin/bash
# validate_gcs_bench.sh - `validate` of one day of N present objects in the firebase storage emulator
# (tests/gcs/serve-storage.cjs, run offline; needs tests/gcs/node_modules): peak RSS and wall time.
#
#   bench/validate_gcs_bench.sh [BINARY] [OBJECTS...]     (default: build/market-tick, 20000)
#
# The day is a generated grouped Deribit OPTIONS trades file of N options, one row each (data generated
# here, not Tardis data), converted by `market-tick convert --output gs://bkt/vN`: N objects and the
# completion record listing them. `validate --symbols OPTIONS --read-only` then lists the day (in pages of
# PAGE objects, GCS_LIST_PAGE_SIZE, default 1000) and finds every object (existence only). With
# AB_BIN=OTHER_BINARY it runs RUNS times (default 3) with each binary, interleaved (OTHER first), and
# prints the median and range of wall seconds and MB of each. The emulator sorts every object of the
# bucket for each page it answers and takes each upload as one request, so N of a million is out of reach.
# With COMMAND=sql, `sql --output gs://bkt/vN` runs instead of validate (the data types from a listing of the
# store's N objects).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
BIN="$(realpath "${1:-$ROOT/build/market-tick}")"
shift $(($# > 0 ? 1 : 0))
COUNTS=("$@")
[[ ${#COUNTS[@]} -gt 0 ]] || COUNTS=(20000)
[[ -x /usr/bin/time ]] || { echo "needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
[[ -d "$ROOT/tests/gcs/node_modules" ]] || { echo "needs tests/gcs/node_modules (npm ci in tests/gcs)" >&2; exit 2; }
AB_BIN=${AB_BIN:+$(realpath "$AB_BIN")}
RUNS=${RUNS:-3}
PAGE=${PAGE:-1000}
W=$(mktemp -d)
EMU=""
trap '[[ -n "$EMU" ]] && kill "$EMU" 2>/dev/null; rm -rf "$W"' EXIT
PORT=$(node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })')
mkdir -p "$W/emu"
TMPDIR="$W/emu" GCS_EMU_PORT=$PORT GCS_EMU_HOST=127.0.0.1 node "$ROOT/tests/gcs/serve-storage.cjs" >"$W/emu.log" 2>&1 &
EMU=$!
export STORAGE_EMULATOR_HOST="http://127.0.0.1:$PORT"
for _ in $(seq 200); do curl -fs "$STORAGE_EMULATOR_HOST/b" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fs "$STORAGE_EMULATOR_HOST/b" >/dev/null || { echo "the emulator did not start:" >&2; cat "$W/emu.log" >&2; exit 1; }

validate() {  # BINARY N: "seconds KB"; exits 0: every object is there
  local args=(validate --from 2023-11-01 --to 2023-11-01 --exchanges deribit --data-types trades --symbols OPTIONS
    --read-only)
  [[ "${COMMAND:-}" == sql ]] && args=(sql)
  GCS_LIST_PAGE_SIZE=$PAGE /usr/bin/time -f '%e %M' -o "$W/t" "$1" "${args[@]}" --output "gs://bkt/v$2" >"$W/out" 2>&1 ||
    { echo "${args[0]} failed:" >&2; tail -5 "$W/out" >&2; exit 1; }
  tail -1 "$W/t"
}
# "median (min-max)" of numbers, one a line.
summary() { sort -g | awk '{v[NR] = $1} END {printf "%s (%s-%s)", v[int((NR + 1) / 2)], v[1], v[NR]}'; }
if [[ -n "$AB_BIN" ]]; then
  printf '%-9s %30s %30s\n' objects "$(basename "$(dirname "$AB_BIN")"): s, MB" "$(basename "$(dirname "$BIN")"): s, MB"
else
  printf '%-9s %16s\n' objects "validate s, MB"
fi
for n in "${COUNTS[@]}"; do
  csv="$W/deribit_trades_2023-11-01_OPTIONS.csv"
  awk -v n="$n" 'BEGIN {
    print "exchange,symbol,timestamp,local_timestamp,id,side,price,amount"
    for (i = 0; i < n; i++) { t = 1698796800000000 + i * 1000; printf "deribit,BTC-2NOV23-%d-C,%.0f,%.0f,%d,buy,0.01,1\n", 10000 + i, t, t, i }
  }' >"$csv"
  # The record of many objects in one request: the emulator takes no chunked upload.
  GCS_CHUNK_SIZE=256M "$BIN" convert "$csv" --output "gs://bkt/v$n" --threads 2 >"$W/convert.log" 2>&1 ||
    { echo "convert failed:" >&2; tail -5 "$W/convert.log" >&2; exit 1; }
  if [[ -n "$AB_BIN" ]]; then
    : >"$W/a"
    : >"$W/b"
    for _ in $(seq "$RUNS"); do
      validate "$AB_BIN" "$n" >>"$W/a"
      validate "$BIN" "$n" >>"$W/b"
    done
    cols=()
    for f in "$W/a" "$W/b"; do
      cols+=("$(cut -d' ' -f1 "$f" | summary) s, $(awk '{print int($2 / 1024)}' "$f" | summary) MB")
    done
    printf '%-9s %30s %30s\n' "$n" "${cols[0]}" "${cols[1]}"
  else
    read -r s m < <(validate "$BIN" "$n")
    printf '%-9s %16s\n' "$n" "$s, $((m / 1024))"
  fi
done
