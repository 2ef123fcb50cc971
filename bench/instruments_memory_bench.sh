#!/usr/bin/env bash
# instruments_memory_bench.sh - peak RSS of `instruments` merging into the day files of a very large
# listing, binaries interleaved (A, B, A, B, ...).
#
#   [OPTIONS=N] [STEPS="anchor force merge force2"] \
#     bench/instruments_memory_bench.sh DAYS ROUNDS "label|/abs/path/binary" ...
#
# The listing is GENERATED here (not Tardis data): the deribit test listing of
# tests/fixtures/exchange_details plus OPTIONS (default 50,000, a multiple of 2,000) BTC and ETH
# options (OPTIONS/2,000 weekly expiries from 2024-03-01, 500 strikes, call and put), every one
# listed from 2023-12-01 to its expiry, so all of them are live on each day of
# 2024-01-01 .. 2024-01-DAYS; each has a /v1/instruments record, without `changes`. Served by tests/support/tardis_server.mjs on loopback, with a key. Per round and
# binary, into a fresh store on tmpfs when there is one:
#   anchor  instruments --exchanges deribit over the days (empty store)
#   force   instruments --exchanges deribit --force (every file read back, its rows all replaced)
#   merge   instruments --exchanges binance (every file read back, its 50,000 rows kept)
#   force2  instruments --exchanges deribit --force (the binance rows kept, the deribit ones replaced)
#   table, csv, json  instruments --exchanges deribit --format FORMAT (no store: printed, to a file here;
#                     the printed text of the binaries compared with cmp after the first round)
# STEPS: the steps to run, in that order (e.g. STEPS=anchor for the empty store only).
# SOURCE_DATE_EPOCH=1700000000: the stores of the binaries compare with `diff -r` (done here after
# the first round). Prints each run's peak RSS (/usr/bin/time -f %M) and wall time, and per label
# and step the median peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
days=$1
rounds=$2
shift 2
options=${OPTIONS:-50000}
steps=${STEPS:-anchor force merge force2}
[ $((options % 2000)) = 0 ] && [ "$options" -gt 0 ] || { echo "OPTIONS must be a positive multiple of 2000" >&2; exit 2; }
[ $# -ge 1 ] || { echo "usage: $0 DAYS ROUNDS label|binary ..." >&2; exit 2; }
if [ -d /dev/shm ] && [ -w /dev/shm ]; then work=$(mktemp -d /dev/shm/mt-imem.XXXXXX); else work=$(mktemp -d); fi
srv=
trap '[ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$work"' EXIT
export SOURCE_DATE_EPOCH=1700000000

mkdir -p "$work/details" "$work/meta"
cp tests/fixtures/exchange_details/*.json "$work/details/"
cp fixtures/tardis/json/*.json "$work/meta/"
node - "$work/details/deribit.json" "$work/meta/instrument_generated_deribit.json" "$options" <<'EOF'
const fs = require('fs');
const [file, instFile, options] = process.argv.slice(2);
const d = JSON.parse(fs.readFileSync(file, 'utf8'));
const MON = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY = 86400000;
const iso = (t) => new Date(t).toISOString();
const since = Date.UTC(2023, 11, 1);
const records = [];
for (let w = 0; w < Number(options) / 2000; w++) {
  const t = Date.UTC(2024, 2, 1) + w * 7 * DAY;
  const e = new Date(t);
  const tag = `${e.getUTCDate()}${MON[e.getUTCMonth()]}${e.getUTCFullYear() % 100}`;
  for (const [u, base, step] of [['BTC', 20000, 250], ['ETH', 1000, 10]]) {
    for (let k = 0; k < 500; k++) {
      for (const cp of ['C', 'P']) {
        const id = `${u}-${tag}-${base + k * step}-${cp}`;
        d.datasets.symbols.push({ id, type: 'option', availableSince: iso(since), availableTo: iso(t + DAY),
          dataTypes: ['book_snapshot_25', 'options_chain', 'quotes', 'trades'] });
        records.push({ id, datasetId: id, exchange: 'deribit', baseCurrency: u, quoteCurrency: u, type: 'option',
          active: true, availableSince: iso(since), availableTo: iso(t + DAY), expiry: iso(t + 8 * 3600000),
          priceIncrement: 0.0001, amountIncrement: 0.1, minTradeAmount: 0.1, makerFee: 0.0003, takerFee: 0.0003,
          inverse: true, contractType: cp === 'C' ? 'call_option' : 'put_option', contractMultiplier: 1,
          strikePrice: base + k * step, optionType: cp === 'C' ? 'call' : 'put', listing: iso(since + 3600000) });
      }
    }
  }
}
fs.writeFileSync(file, JSON.stringify(d));
fs.writeFileSync(instFile, JSON.stringify(records));
EOF

node tests/support/tardis_server.mjs --port 0 --port-file "$work/port" --exchange-details-dir "$work/details" \
  --metadata-dir "$work/meta" >"$work/server.log" 2>&1 &
srv=$!
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.05; done
TARDIS_API_URL="http://127.0.0.1:$(cat "$work/port")"
export TARDIS_API_URL
export TARDIS_API_KEY=generated-bench-key
unset TARDIS_API_KEY_FILE
to=$(printf '2024-01-%02d' "$days")

run() {  # label, binary, step, out, args...
  local lab=$1 bin=$2 step=$3 out=$4 printed=/dev/null
  shift 4
  case $step in table | csv | json) printed="$work/printed-$lab-$step" ;; esac
  /usr/bin/time -f "%M %e" -o "$work/t" "$bin" instruments --from 2024-01-01 --to "$to" --output "$out" "$@" \
    >"$printed" 2>"$work/err" || { echo "FAILED: $lab $step" >&2; cat "$work/err" >&2; exit 1; }
  read -r rss wall <"$work/t"
  echo "$lab $step $rss $wall" >>"$work/res"
  printf '%-8s %-7s %5d MB %7.2f s\n' "$lab" "$step" $((rss / 1024)) "$wall"
}
: >"$work/res"
for r in $(seq 1 "$rounds"); do
  for spec in "$@"; do
    IFS='|' read -r lab bin <<<"$spec"
    out="$work/out-$lab"
    rm -rf "$out"
    for step in $steps; do
      case $step in
        anchor) run "$lab" "$bin" anchor "$out" --exchanges deribit ;;
        force) run "$lab" "$bin" force "$out" --exchanges deribit --force ;;
        merge) run "$lab" "$bin" merge "$out" --exchanges binance ;;
        force2) run "$lab" "$bin" force2 "$out" --exchanges deribit --force ;;
        table | csv | json) run "$lab" "$bin" "$step" "$out" --exchanges deribit --format "$step" ;;
        *) echo "unknown step $step" >&2; exit 2 ;;
      esac
    done
  done
  if [ "$r" = 1 ] && [ $# -ge 2 ]; then
    IFS='|' read -r first _ <<<"$1"
    for spec in "${@:2}"; do
      IFS='|' read -r lab _ <<<"$spec"
      if [ ! -e "$work/out-$first" ] && [ ! -e "$work/out-$lab" ]; then
        :
      elif diff -r "$work/out-$first" "$work/out-$lab" >/dev/null; then
        echo "stores of $first and $lab: identical (diff -r)"
      else
        echo "stores of $first and $lab DIFFER" >&2
      fi
      for step in $steps; do
        [ -e "$work/printed-$first-$step" ] || continue
        if cmp -s "$work/printed-$first-$step" "$work/printed-$lab-$step"; then
          echo "--format $step of $first and $lab: identical (cmp, $(stat -c %s "$work/printed-$lab-$step") bytes)"
        else
          echo "--format $step of $first and $lab DIFFER" >&2
        fi
      done
    done
  fi
  for spec in "$@"; do
    IFS='|' read -r lab _ <<<"$spec"
    rm -rf "$work/out-$lab" "$work/printed-$lab-"*
  done
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for spec in "$@"; do
  IFS='|' read -r lab _ <<<"$spec"
  for step in $steps; do
    printf '%-8s %-7s median of %s: %s MB peak RSS, %s s wall\n' "$lab" "$step" "$rounds" \
      $(($(awk -v l="$lab" -v s="$step" '$1 == l && $2 == s {print $3}' "$work/res" | median) / 1024)) \
      "$(awk -v l="$lab" -v s="$step" '$1 == l && $2 == s {print $4}' "$work/res" | median)"
  done
done
