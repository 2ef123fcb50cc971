#!/usr/bin/env bash
# Planning speed: `market-tick plan` over a plan of about a million work items
# (112 days x 9 data types x 1000 symbols = 1,008,000), selecting shard 0 of 64
# and computing all 64 shard sizes. Prints the median wall time of R runs.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
bin=${BIN:-build/market-tick}
symbols=$(printf 'S%dUSDT,' $(seq 0 999))
types=trades,incremental_book_L2,book_snapshot_5,book_snapshot_25,quotes,book_ticker,derivative_ticker,liquidations,options_chain
times=()
for _ in $(seq 1 "$runs"); do
  t=$( { /usr/bin/time -f '%e' "$bin" plan --from 2020-01-01 --to 2020-04-21 --exchanges binance-futures \
        --data-types "$types" --symbols "${symbols%,}" --shard 0/64 --shards 64 >/tmp/plan_bench.out; } 2>&1 | tail -n 1)
  times+=("$t")
done
tail -n 2 /tmp/plan_bench.out
printf 'median of %s runs: %s s\n' "$runs" "$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
