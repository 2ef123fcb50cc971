#!/usr/bin/env bash
# Instrument files that add up: the cost of adding an exchange to a year of
# existing day files, against writing that year in the first place.
# The listing is GENERATED here (not Tardis data): the deribit test listing
# of tests/fixtures/exchange_details plus weekly BTC and ETH options of one
# year (52 expiries x 2 underlyings x 280 strikes x call/put = 58,240 options,
# each listed 60 days before its expiry: about 9,000 live on a day).
# Per round, into a fresh local store, no API key (so no /v1/instruments):
#   anchor: instruments --exchanges deribit for the year (empty store)
#   merge:  instruments --exchanges binance for the same year (read, merge, write 367 files)
#   rerun:  instruments --exchanges deribit,binance (footers only: nothing to do)
# Prints the median wall and user CPU time and peak RSS of each, and merge/anchor.
# Usage: bench/instruments_bench.sh [ROUNDS]   (BIN=build/market-tick)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
bin=${BIN:-build/market-tick}
work=$(mktemp -d)
srv=
trap '[ -n "$srv" ] && kill "$srv" 2>/dev/null; rm -rf "$work"' EXIT

mkdir -p "$work/details"
cp tests/fixtures/exchange_details/*.json "$work/details/"
node - "$work/details/deribit.json" <<'EOF'
const fs = require('fs');
const file = process.argv[2];
const d = JSON.parse(fs.readFileSync(file, 'utf8'));
const MON = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const iso = (t) => new Date(t).toISOString().slice(0, 10) + 'T00:00:00.000Z';
const DAY = 86400000;
for (let t = Date.UTC(2024, 0, 5); new Date(t).getUTCFullYear() === 2024; t += 7 * DAY) {
  const e = new Date(t);
  const tag = `${e.getUTCDate()}${MON[e.getUTCMonth()]}${e.getUTCFullYear() % 100}`;
  for (const [u, base, step] of [['BTC', 20000, 500], ['ETH', 1000, 25]]) {
    for (let k = 0; k < 280; k++) {
      for (const cp of ['C', 'P']) {
        d.datasets.symbols.push({ id: `${u}-${tag}-${base + k * step}-${cp}`, type: 'option',
          availableSince: iso(t - 60 * DAY), availableTo: iso(t + DAY),
          dataTypes: ['book_snapshot_25', 'options_chain', 'quotes', 'trades'] });
      }
    }
  }
}
fs.writeFileSync(file, JSON.stringify(d));
EOF

node tests/support/tardis_server.mjs --port 0 --port-file "$work/port" --exchange-details-dir "$work/details" \
  >"$work/server.log" 2>&1 &
srv=$!
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.05; done
TARDIS_API_URL="http://127.0.0.1:$(cat "$work/port")"
export TARDIS_API_URL
unset TARDIS_API_KEY TARDIS_API_KEY_FILE

measure() {  # name, args...: appends "wall user rss" to $work/$name
  local name=$1
  shift
  /usr/bin/time -f '%e %U %M' -o "$work/t" "$bin" instruments --from 2024-01-01 --to 2024-12-31 "$@" \
    >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  cat "$work/t" >>"$work/$name"
}
for r in $(seq 1 "$rounds"); do
  out="$work/out-$r"
  measure anchor --exchanges deribit --output "$out"
  measure merge --exchanges binance --output "$out"
  measure rerun --exchanges deribit,binance --output "$out"
  grep -q 'nothing to do' "$work/err" || { echo "the rerun did work" >&2; exit 1; }
  rm -rf "$out"
done
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for name in anchor merge rerun; do
  printf '%-7s median of %s: %s s wall, %s s user, %s MB peak RSS\n' "$name" "$rounds" \
    "$(cut -d' ' -f1 "$work/$name" | median)" "$(cut -d' ' -f2 "$work/$name" | median)" \
    "$(( $(cut -d' ' -f3 "$work/$name" | median) / 1024 ))"
done
printf 'merge/anchor user CPU: %s\n' "$(awk 'NR==FNR {a=$0; next} {printf "%.2f", $0 / a}' \
  <(cut -d' ' -f2 "$work/anchor" | median) <(cut -d' ' -f2 "$work/merge" | median))"
