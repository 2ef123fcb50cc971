#!/usr/bin/env bash
# The fleet on one machine: what a Cloud Batch job does, with the real binary and the
# Tardis-compatible test server (tests/support/tardis_server.mjs, the bundled real samples).
#  1. Three worker processes with BATCH_TASK_INDEX=i BATCH_TASK_COUNT=3 run at once into one
#     output folder; together they write exactly the files of a single-process run, byte for
#     byte (SOURCE_DATE_EPOCH pins created_at), each plan item in exactly one shard.
#  2. One worker is killed with -9 while it writes a file (the server trickles bytes so there is
#     a "while"), then rerun as the engine would retry the task: nothing partial (*.tmp-*) and
#     nothing twice is left, and the result again equals the single run.
#  3. SIGTERM mid-write: exit 130 within GKE's spot grace period, nothing partial left.
#  4. The definition-driven fleet: `instruments` for the range, then N workers that plan from the
#     stored definitions with filters, one killed with -9 and rerun: the same tree as one process.
#  5. The derive job (orchestrate-tick-download.sh --command derive) over a store of raw data: the
#     container command of its Batch and Kubernetes specs, run as 2 tasks with each engine's index
#     variables, writes exactly what one `market-tick derive` writes; a retried task writes nothing;
#     SIGTERM mid-derive: exit 130 within 10 s, nothing partial, and the retry writes the series.
# The plans cover every fixture file (fixtures/tardis/csv); the other days of the ranges are
# "not available" at the source, as they would be at Tardis for a symbol that did not trade.
set -euo pipefail
# shellcheck source=tests/deploy/lib.sh
. "$(dirname "$0")/lib.sh"

BIN=${MARKET_TICK_BIN:-$ROOT/build/market-tick}
[ -x "$BIN" ] || { printf 'FAIL: no market-tick binary at %s (build it, or set MARKET_TICK_BIN)\n' "$BIN" >&2; exit 1; }
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
N=3

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"  # no stray ./.env is read by the binary

# Only the variables of this test reach the workers.
for v in SHARD_INDEX SHARD_COUNT BATCH_TASK_INDEX BATCH_TASK_COUNT JOB_COMPLETION_INDEX OUTPUT_URI \
  GCS_BUCKET GCP_PROJECT_ID TARDIS_API_KEY_FILE MAX_CONCURRENT_REQUESTS STORAGE_EMULATOR_HOST LOG_LEVEL; do
  unset "$v"
done
node "$ROOT/tests/support/tardis_server.mjs" --port 0 --port-file "$work/port" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 200); do [ -s "$work/port" ] && break; sleep 0.05; done
[ -s "$work/port" ] || { printf 'FAIL: the test server did not start:\n%s\n' "$(cat "$work/server.log")" >&2; exit 1; }
PORT=$(cat "$work/port")
export TARDIS_DATASETS_URL="http://127.0.0.1:$PORT" TARDIS_API_URL="http://127.0.0.1:$PORT" TARDIS_API_KEY=fleet-test-key \
  SOURCE_DATE_EPOCH=1700000000 BATCH_SIZE=1000  # small row groups: files are written while they download

faults() {  # faults JSON: replace the server's fault set
  node -e 'fetch(process.argv[1], {method: "POST", body: process.argv[2]}).then(r => { if (!r.ok) process.exit(1); })' \
    "http://127.0.0.1:$PORT/__control/faults" "$1"
}

# Three plans ("jobs"), together covering every fixture file.
declare -A JOB
JOB[ticks]="--from 2020-02-22 --to 2020-09-01 --exchanges binance-futures,bitmex,deribit,huobi-dm-swap
  --data-types trades,quotes,book_snapshot_5,book_snapshot_25,incremental_book_L2
  --symbols binance-futures:BTCUSDT,bitmex:XBTUSD,deribit:BTC-PERPETUAL,huobi-dm-swap:BTC-USD"
JOB[options]="--from 2020-06-01 --to 2020-06-10 --exchanges deribit --data-types options_chain --symbols deribit:OPTIONS"
JOB[tickers]="--from 2023-04-01 --to 2026-08-10 --exchanges okex-swap,deribit,okex-futures --data-types derivative_ticker
  --symbols okex-swap:BTC-USDC-SWAP,deribit:BTC-PERPETUAL,okex-futures:BTC-USD_UM_XPERP-310404"
JOBS=(ticks options tickers)

# files DIR: every file under DIR, relative, sorted.
files() { (cd "$1" && find . -type f | LC_ALL=C sort); }
# same_tree A B WHAT: same file names, every file byte-identical.
same_tree() {
  local fa fb
  fa=$(files "$1")
  fb=$(files "$2")
  expect_eq "$fb" "$fa" "$3: the same files"
  local f bad=0
  while IFS= read -r f; do
    [ -n "$f" ] || continue
    cmp -s "$1/$f" "$2/$f" || { bad=$((bad + 1)); printf '  differs: %s\n' "$f" >&2; }
  done <<<"$fa"
  expect_eq "$bad" 0 "$3: files byte-identical"
}
# ids OUTCOME_FILTER SUMMARY...: the item ids of the given outcomes, one a line.
ids() {
  local f=$1
  shift
  jq -r ".results[] | select($f) | .id" "$@" | LC_ALL=C sort
}

# shard_of ID ARGS...: the index of the shard (of N) whose plan holds item ID.
shard_of() {
  local id=$1 i
  shift
  for ((i = 0; i < N; i++)); do
    if "$BIN" plan "$@" --shard "$i/$N" --json | jq -e --arg id "$id" \
      'any(.items[]; "\(.day)/\(.data_type)/\(.exchange)/\(.symbol)" == $id)' >/dev/null; then echo "$i"; fi
  done
}

# Sends SIGTERM to process $1 and waits for it to end (SIGKILL after 10 s): its exit code in term_rc,
# the milliseconds it took in term_ms.
term_and_wait() {
  local pid=$1 t0
  t0=$(date +%s%N)
  kill -TERM "$pid"
  term_rc=0
  for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; fi
  wait "$pid" || term_rc=$?
  term_ms=$((($(date +%s%N) - t0) / 1000000))
}

# kill_mid_write NAME VICTIM TARGET ARGS...: N workers download ARGS into $work/NAME (summaries
# $work/NAME-I.json) under a trickle; worker VICTIM is killed with -9 once a partial TARGET.tmp-*
# exists (up to 15 s). Sets pids (the workers) and partial (the file seen, or "").
kill_mid_write() {
  local name=$1 victim=$2 target=$3 i f
  shift 3
  faults '{"trickle":{"bytesPerChunk":2048,"intervalMs":20}}'
  pids=()
  for ((i = 0; i < N; i++)); do
    BATCH_TASK_INDEX=$i BATCH_TASK_COUNT=$N "$BIN" download "$@" --output "$work/$name" \
      --summary-json "$work/$name-$i.json" >"$work/$name-$i.log" 2>&1 &
    pids+=($!)
  done
  partial=""
  for _ in $(seq 300); do
    for f in "$target".tmp-*; do
      if [ -s "$f" ]; then partial=$f; break 2; fi
    done
    sleep 0.05
  done
  kill -9 "${pids[$victim]}" 2>/dev/null || true
  { wait "${pids[$victim]}" || true; } 2>/dev/null  # (and no "Killed" notice from the shell)
  faults '{}'
}

# ---- 1. a single process, the reference ---------------------------------------------------------
for j in "${JOBS[@]}"; do
  read -r -a args <<<"${JOB[$j]//$'\n'/ }"
  capture "$BIN" download "${args[@]}" --output "$work/single/$j" --summary-json "$work/single-$j.json"
  expect_rc 0 "single run of $j"
done
tmp_left=$(find "$work/single" -name '*.tmp-*')
expect_eq "$tmp_left" "" "single run leaves no temporary file"
done_ids=$(ids '.outcome == "done"' "$work"/single-*.json)
expect_eq "$(ids '.outcome != "done" and .outcome != "not_available"' "$work"/single-*.json)" "" "single run: every item done or not available"
# Every fixture file is one "done" item: {exchange}_{data_type}_{day}_{SYMBOL}.csv.gz
want=$(for f in "$ROOT"/fixtures/tardis/csv/*.csv.gz; do
  n=$(basename "$f" .csv.gz)
  ex=${n%%_*}
  rest=${n#*_}
  day=$(grep -oE '[0-9]{4}-[0-9]{2}-[0-9]{2}' <<<"$rest" | head -n1)
  printf '%s/%s/%s/%s\n' "$day" "${rest%%_"$day"*}" "$ex" "${rest#*"$day"_}"
done | LC_ALL=C sort)
expect_eq "$done_ids" "$want" "the plans cover every fixture file, and only those have data"
check "the single run wrote Parquet files" test "$(files "$work/single" | wc -l)" -ge 15

# ---- 2. N workers at once, one output folder per job --------------------------------------------
for j in "${JOBS[@]}"; do
  read -r -a args <<<"${JOB[$j]//$'\n'/ }"
  pids=()
  for ((i = 0; i < N; i++)); do
    BATCH_TASK_INDEX=$i BATCH_TASK_COUNT=$N "$BIN" download "${args[@]}" --output "$work/fleet/$j" \
      --summary-json "$work/fleet-$j-$i.json" >"$work/fleet-$j-$i.log" 2>&1 &
    pids+=($!)
  done
  for ((i = 0; i < N; i++)); do
    rc=0
    wait "${pids[$i]}" || rc=$?
    expect_eq "$rc" 0 "fleet worker $i of $j exits 0"
  done
  same_tree "$work/single/$j" "$work/fleet/$j" "fleet of $N vs single run ($j)"
  all=$(ids 'true' "$work"/fleet-"$j"-*.json)
  expect_eq "$(uniq -d <<<"$all")" "" "$j: no item in two shards"
  expect_eq "$all" "$(ids 'true' "$work/single-$j.json")" "$j: the shards together are the plan"
  for ((i = 0; i < N; i++)); do
    read -r -a pargs <<<"${JOB[$j]//$'\n'/ }"
    size=$(BATCH_TASK_INDEX=$i BATCH_TASK_COUNT=$N "$BIN" plan "${pargs[@]}" --json | jq .count)
    expect_eq "$(jq .items "$work/fleet-$j-$i.json")" "$size" "$j: worker $i ran its shard of the plan"
  done
done
workers_with_data=$(for f in "$work"/fleet-*-*.json; do jq -r '[.results[] | select(.outcome == "done")] | length' "$f"; done | awk '$1 > 0' | wc -l)
check "the files were spread over several workers ($workers_with_data summaries with data)" test "$workers_with_data" -ge 2

# ---- a hive store from the rendered job: OUTPUT_LAYOUT reaches every task -----------------------
# The tasks run with the environment variables of the Batch spec orchestrate renders with
# OUTPUT_LAYOUT=hive: the store they create together records hive and holds the same objects as
# a single run with --layout hive.
read -r -a args <<<"${JOB[ticks]//$'\n'/ }"
capture "$BIN" download "${args[@]}" --layout hive --output "$work/single-hive"
expect_rc 0 "single run of ticks, --layout hive"
capture env GCP_PROJECT_ID=fleet-test GCS_BUCKET=fleet-test IMAGE_REPO=registry.test/fleet OUTPUT_LAYOUT=hive \
  "$ROOT/deploy/orchestration/orchestrate-tick-download.sh" --start-date 2020-02-22 --end-date 2020-02-23 \
  --exchanges binance-futures --symbols BTCUSDT --instances 2 --tasks "$N" --job-name fleet-hive \
  --dry-run --spec-file "$work/hive-batch.json"
expect_rc 0 "the hive job's Batch spec renders"
mapfile -t henv < <(jq -r '.taskGroups[0].taskSpec.environment.variables | to_entries[]
  | select(.key | test("^(OUTPUT_LAYOUT|LOG_LEVEL)$")) | "\(.key)=\(.value)"' "$work/hive-batch.json")
expect_eq "${henv[*]}" "LOG_LEVEL=info OUTPUT_LAYOUT=hive" "the hive job's tasks get OUTPUT_LAYOUT=hive"
for ((i = 0; i < N; i++)); do
  rc=0
  env "${henv[@]}" BATCH_TASK_INDEX=$i BATCH_TASK_COUNT=$N "$BIN" download "${args[@]}" --output "$work/fleet-hive" \
    >"$work/fleet-hive-$i.log" 2>&1 || rc=$?
  expect_eq "$rc" 0 "hive task $i exits 0"
done
expect_eq "$(jq -r .layout "$work/fleet-hive/market-tick-store.json")" hive "the tasks' store records the hive layout"
same_tree "$work/single-hive" "$work/fleet-hive" "hive: $N tasks vs single run"

# ---- 3. kill -9 mid-write, then the engine's retry ----------------------------------------------
j=ticks
read -r -a args <<<"${JOB[$j]//$'\n'/ }"
target_id=2020-02-22/trades/binance-futures/BTCUSDT  # the largest fixture: slowest under trickle
victim=$(shard_of "$target_id" "${args[@]}")
check "one shard holds $target_id" test -n "$victim"
target="$work/kill/raw_tick_data/by_date/day-2020-02-22/data_type-trades/BINANCE-FUTURES:PERPETUAL:BTC-USDT.parquet"
kill_mid_write kill "$victim" "$target" "${args[@]}"
check "worker $victim was killed while writing (a partial $(basename "$target").tmp-* existed)" test -n "$partial"
check "the kill left the partial file behind (as a preemption would)" test -e "$partial"
check "the killed item has no final object" test ! -e "$target"
check "the killed worker wrote no summary" test ! -e "$work/kill-$victim.json"
for ((i = 0; i < N; i++)); do
  [ "$i" = "$victim" ] && continue
  rc=0
  wait "${pids[$i]}" || rc=$?
  expect_eq "$rc" 0 "surviving worker $i exits 0"
done
# The engine's retry: the same task again.
capture env BATCH_TASK_INDEX="$victim" BATCH_TASK_COUNT=$N "$BIN" download "${args[@]}" --output "$work/kill" \
  --summary-json "$work/kill-$victim.json"
expect_rc 0 "the rerun of worker $victim"
expect_eq "$(find "$work/kill" -name '*.tmp-*')" "" "after the rerun no *.tmp-* file is left"
same_tree "$work/single/$j" "$work/kill" "kill -9 + rerun vs single run"
all=$(ids 'true' "$work"/kill-*.json)
expect_eq "$(uniq -d <<<"$all")" "" "kill + rerun: every item in one summary only"
expect_eq "$all" "$(ids 'true' "$work/single-$j.json")" "kill + rerun: the summaries cover the plan"
expect_eq "$(ids '.outcome == "done" or .outcome == "skipped"' "$work"/kill-*.json)" \
  "$(ids '.outcome == "done"' "$work/single-$j.json")" "kill + rerun: each file written once (done) or found (skipped)"
check "the rerun wrote the killed item again" \
  test "$(ids '.outcome == "done"' "$work/kill-$victim.json" | grep -cxF "$target_id")" = 1

# ---- SIGTERM mid-write: exit 130 well inside GKE's 15 s spot grace period ------------------------
# A reclaimed spot node gives a pod 15 s (the Kubernetes template's terminationGracePeriodSeconds)
# and Batch's retry policy keys on exit 130: the worker must stop in time, say 130, and leave no
# partial file. The bound is 10 s, a third of it slack for a busy CI machine.
faults '{"trickle":{"bytesPerChunk":2048,"intervalMs":20}}'
rm -rf "$work/term"
"$BIN" download "${args[@]}" --output "$work/term" >"$work/term.log" 2>&1 &
term_pid=$!
term_target="$work/term/raw_tick_data/by_date/day-2020-02-22/data_type-trades/BINANCE-FUTURES:PERPETUAL:BTC-USDT.parquet"
partial=""
for _ in $(seq 300); do
  for f in "$term_target".tmp-*; do
    if [ -s "$f" ]; then partial=$f; break 2; fi
  done
  sleep 0.05
done
check "the worker was writing when SIGTERM came (a partial file existed)" test -n "$partial"
term_and_wait "$term_pid"
faults '{}'
expect_eq "$term_rc" 130 "SIGTERM mid-write: exit 130 (Batch and Kubernetes retry it)"
check "SIGTERM mid-write: stopped within 10 s (took $term_ms ms)" test "$term_ms" -lt 10000
expect_eq "$(find "$work/term" -name '*.tmp-*')" "" "SIGTERM mid-write: no partial file left"

# ---- the definition-driven fleet: instruments, then N workers planning from the stored definitions --
# What orchestrate-tick-download.sh without --symbols runs: `market-tick instruments` for the range
# first, then N download tasks whose plans come from the stored definitions, with the same
# filters. One worker is killed with -9 mid-write and rerun; together they write exactly what a
# single process writes.
# shellcheck disable=SC2054  # the commas are inside flag values
dargs=(--from 2020-02-22 --to 2020-04-01 --exchanges deribit,binance-futures --data-types trades,quotes,incremental_book_L2
  --instrument-types perpetual --quote USDT,USD)
for store in dsingle dfleet; do
  capture "$BIN" instruments --from 2020-02-22 --to 2020-04-01 --exchanges deribit,binance-futures --output "$work/$store"
  expect_rc 0 "instruments for the range ($store)"
done
capture "$BIN" download "${dargs[@]}" --output "$work/dsingle" --summary-json "$work/dsingle.json"
expect_rc 0 "definition-driven single run"
dplan=$("$BIN" plan "${dargs[@]}" --output "$work/dsingle" --json | jq .count)
check "the definitions give a plan of several days and instruments ($dplan items)" test "${dplan:-0}" -ge 40
expect_eq "$(ids '.outcome == "done"' "$work/dsingle.json")" "2020-02-22/quotes/binance-futures/BTCUSDT
2020-02-22/trades/binance-futures/BTCUSDT
2020-04-01/incremental_book_L2/deribit/BTC-PERPETUAL" "definition-driven plan: the fixture files of the selected perpetuals are its data"
dtarget_id=2020-02-22/trades/binance-futures/BTCUSDT
dvictim=$(shard_of "$dtarget_id" "${dargs[@]}" --output "$work/dfleet")
check "one definition-driven shard holds $dtarget_id" test -n "$dvictim"
dtarget="$work/dfleet/raw_tick_data/by_date/day-2020-02-22/data_type-trades/BINANCE-FUTURES:PERPETUAL:BTC-USDT.parquet"
kill_mid_write dfleet "$dvictim" "$dtarget" "${dargs[@]}"
check "definition-driven worker $dvictim was killed mid-write" test -n "$partial"
for ((i = 0; i < N; i++)); do
  [ "$i" = "$dvictim" ] && continue
  rc=0
  wait "${pids[$i]}" || rc=$?
  expect_eq "$rc" 0 "definition-driven worker $i exits 0"
done
capture env BATCH_TASK_INDEX="$dvictim" BATCH_TASK_COUNT=$N "$BIN" download "${dargs[@]}" --output "$work/dfleet" \
  --summary-json "$work/dfleet-$dvictim.json"
expect_rc 0 "the rerun of definition-driven worker $dvictim"
same_tree "$work/dsingle" "$work/dfleet" "definition-driven fleet + kill -9 + rerun vs single run"
all=$(ids 'true' "$work"/dfleet-*.json)
expect_eq "$(uniq -d <<<"$all")" "" "definition-driven: no item in two shards"
expect_eq "$all" "$(ids 'true' "$work/dsingle.json")" "definition-driven: the shards together are the plan"

# ---- a rerun over a grouped symbol ----------------------------------------------------------------
# An engine retry of a task whose grouped item (deribit OPTIONS) was already written must succeed:
# the instruments that exist are kept (create-only) and the task exits 0, or Batch would not
# retry it and the task would fail.
read -r -a args <<<"${JOB[options]//$'\n'/ }"
for ((i = 0; i < N; i++)); do
  rc=0
  BATCH_TASK_INDEX=$i BATCH_TASK_COUNT=$N "$BIN" download "${args[@]}" --output "$work/fleet/options" \
    >"$work/rerun-options-$i.log" 2>&1 || rc=$?
  check "rerun of shard $i over a finished grouped item exits 0 (got $rc)" test "$rc" = 0
done

# ---- derive on the fleet: the rendered job's own container command, sharded 2 ways -------------
# A bucket of raw data already stored (here: every fixture converted), and the derive job
# orchestrate-tick-download.sh --command derive renders for it, on both engines: each task runs
# the spec's entrypoint/command (the image's binary, here the local one) and arguments with the
# index variables its engine sets (Batch: BATCH_TASK_INDEX/BATCH_TASK_COUNT; Kubernetes:
# JOB_COMPLETION_INDEX, the count from the --shards the arguments end with). Together the tasks
# write exactly the objects, byte for byte, of one `market-tick derive` over the same store.
# (The derived files name their source by the store's path, so every run uses the same path.)
dnames=book_snapshot_5_1s,book_snapshot_3_0ms,trade_bar_1m,trade_bar_100ticks
capture "$BIN" convert "$ROOT"/fixtures/tardis/csv/*.csv.gz --output "$work/derive-raw"
expect_rc 0 "convert of the fixtures into a store of raw data"
orch=(env GCP_PROJECT_ID=fleet-test GCS_BUCKET=fleet-test IMAGE_REPO=registry.test/fleet
  "$ROOT/deploy/orchestration/orchestrate-tick-download.sh" --command derive --start-date 2020-02-22 --end-date 2020-04-01
  --derive "$dnames" --instances 2 --tasks 2 --job-name fleet-derive --dry-run)
capture "${orch[@]}" --spec-file "$work/derive-batch.json"
expect_rc 0 "the derive job's Batch spec renders"
bspec="$work/derive-batch.json"
expect_eq "$(jq -r '.taskGroups[0].taskSpec.runnables[0].container.entrypoint' "$bspec")" /usr/local/bin/market-tick \
  "Batch: the derive task's entrypoint is the image's binary"
mapfile -t bcmd < <(jq -r '.taskGroups[0].taskSpec.runnables[0].container.commands[]' "$bspec")
expect_eq "${bcmd[0]}" derive "Batch: the task runs market-tick derive"
btasks=$(jq -r '.taskGroups[0].taskCount' "$bspec")
expect_eq "$btasks" 2 "Batch: two shard tasks"
capture "${orch[@]}" --engine k8s --spec-file "$work/derive-k8s.yaml"
expect_rc 0 "the derive job's Kubernetes spec renders"
kspec="$work/derive-k8s.yaml"
mapfile -t kcmd < <(sed -n -E 's/^          command: (\[.*\])$/\1/p' "$kspec" | jq -r '.[]')
mapfile -t kargs < <(sed -n -E 's/^          args: (\[.*\])$/\1/p' "$kspec" | jq -r '.[]')
expect_eq "${kcmd[*]}" "/usr/local/bin/market-tick derive" "Kubernetes: the derive pod's command is the image's binary and derive"
kcompletions=$(sed -n -E 's/^  completions: ([0-9]+)$/\1/p' "$kspec")
expect_eq "$kcompletions" 2 "Kubernetes: two completions"
expect_eq "${kargs[*]: -2}" "--shards 2" "Kubernetes: the arguments end with --shards = completions"

dstore="$work/derive/store"
fresh_store() { rm -rf "$dstore"; mkdir -p "$work/derive"; cp -a "$work/derive-raw" "$dstore"; }
# items FILE...: the items of derive's stdout lines (OUTCOME<TAB>ITEM<TAB>OBJECT), one a line.
items() { cut -f2 "$@" | LC_ALL=C sort -u; }
fresh_store
capture "$BIN" derive --from 2020-02-22 --to 2020-04-01 --derive "$dnames" --output "$dstore"
expect_rc 0 "derive, one process: the reference"
printf '%s\n' "$OUT" >"$work/derive-single.out"
mv "$dstore" "$work/derive-ref"
expect_eq "$(items "$work/derive-single.out" | tr '\n' ' ')" \
  "2020-02-22/trades/binance-futures/BINANCE-FUTURES:PERPETUAL:BTC-USDT 2020-03-01/trades/bitmex/BITMEX:PERPETUAL:BTC-USD 2020-04-01/incremental_book_L2/deribit/DERIBIT:PERPETUAL:BTC-USD " \
  "the reference derives every stored raw object of the names' source types (trades, incremental_book_L2)"
expect_eq "$(find "$work/derive-ref/derived_data" -name '*.parquet' | wc -l)" 6 "the reference wrote 2 series per item"
# run_shards ENGINE: the tasks of ENGINE's rendered spec over a fresh copy of the raw store.
run_shards() {
  local engine=$1 i rc
  fresh_store
  for ((i = 0; i < 2; i++)); do
    rc=0
    if [ "$engine" = batch ]; then
      BATCH_TASK_INDEX=$i BATCH_TASK_COUNT=$btasks OUTPUT_URI=$dstore "$BIN" "${bcmd[@]}" \
        >"$work/derive-$engine-$i.out" 2>"$work/derive-$engine-$i.log" || rc=$?
    else
      JOB_COMPLETION_INDEX=$i OUTPUT_URI=$dstore "$BIN" "${kcmd[@]:1}" "${kargs[@]}" \
        >"$work/derive-$engine-$i.out" 2>"$work/derive-$engine-$i.log" || rc=$?
    fi
    expect_eq "$rc" 0 "$engine derive task $i exits 0"
    check "$engine derive task $i derived some items" test -s "$work/derive-$engine-$i.out"
    check "$engine derive task $i logged its shard ($i/2)" grep -qF "shard $i/2" "$work/derive-$engine-$i.log"
  done
  same_tree "$work/derive-ref" "$dstore" "$engine: 2 derive tasks vs one derive"
  local all
  all=$(for ((i = 0; i < 2; i++)); do items "$work/derive-$engine-$i.out"; done)
  expect_eq "$(LC_ALL=C sort <<<"$all" | uniq -d)" "" "$engine: no item in two derive tasks"
  expect_eq "$(LC_ALL=C sort <<<"$all")" "$(items "$work/derive-single.out")" "$engine: the derive tasks together are the single run's items"
}
run_shards batch
# The engine's retry of a finished task: every derived object exists, nothing is written, exit 0.
capture env BATCH_TASK_INDEX=0 BATCH_TASK_COUNT="$btasks" OUTPUT_URI="$dstore" "$BIN" "${bcmd[@]}"
expect_rc 0 "a retried derive task exits 0"
check "a retried derive task writes nothing (every item skipped)" no_match '^done' "$OUT"
same_tree "$work/derive-ref" "$dstore" "a retried derive task changes nothing"
run_shards k8s
# A bucket without the raw data: a configuration error (exit 2) that neither engine retries.
capture env BATCH_TASK_INDEX=0 BATCH_TASK_COUNT="$btasks" OUTPUT_URI="$work/derive-empty" "$BIN" "${bcmd[@]}"
expect_rc 2 "a derive task over a store without raw objects exits 2"
expect_jq "$(cat "$bspec")" '.taskGroups[0].taskSpec.lifecyclePolicies[0].actionCondition.exitCodes | (index(2) == null) and (index(3) != null)' true \
  "Batch retries a derive task's exit 3, not its exit 2"
check "exit 2 fails the Kubernetes index" grep -qF "values: [1, 2]" "$kspec"

# SIGTERM mid-derive (a reclaimed spot VM or node): the task exits 130, which Batch retries and
# Kubernetes retries (DisruptionTarget), well inside GKE's 15 s, and leaves no partial object; the
# retry writes the series. The input is a GENERATED book (tests/js/lib/derive_gen.mjs, 400,000 rows,
# 1000 levels) so that the deep series take long enough to be stopped mid-write.
mkdir -p "$work/gen"
node --input-type=module -e "import { writeBookDay } from '$ROOT/tests/js/lib/derive_gen.mjs';
  writeBookDay(process.argv[1], { rows: 400000, levels: 1000 });" "$work/gen/deribit_incremental_book_L2_2020-04-02_BTC-PERPETUAL.csv.gz"
capture "$BIN" convert "$work/gen/deribit_incremental_book_L2_2020-04-02_BTC-PERPETUAL.csv.gz" --output "$work/derive-term"
expect_rc 0 "convert of the generated book"
capture env GCP_PROJECT_ID=fleet-test GCS_BUCKET=fleet-test IMAGE_REPO=registry.test/fleet \
  "$ROOT/deploy/orchestration/orchestrate-tick-download.sh" --command derive --start-date 2020-04-02 --end-date 2020-04-02 \
  --exchanges deribit --derive book_snapshot_1000_0ms,book_snapshot_500_0ms --instances 1 --tasks 1 --job-name deep \
  --dry-run --spec-file "$work/derive-deep.json"
mapfile -t tcmd < <(jq -r '.taskGroups[0].taskSpec.runnables[0].container.commands[]' "$work/derive-deep.json")
BATCH_TASK_INDEX=0 BATCH_TASK_COUNT=1 OUTPUT_URI="$work/derive-term" "$BIN" "${tcmd[@]}" >"$work/derive-term.log" 2>&1 &
term_pid=$!
partial=""
for _ in $(seq 300); do
  partial=$(find "$work/derive-term/derived_data" -name '*.tmp-*' -size +0 2>/dev/null | head -n1) || true
  [ -n "$partial" ] && break
  sleep 0.05
done
check "the derive task was writing a series when SIGTERM came (a partial file existed)" test -n "$partial"
term_and_wait "$term_pid"
expect_eq "$term_rc" 130 "SIGTERM mid-derive: exit 130 (Batch and Kubernetes retry it)"
check "SIGTERM mid-derive: stopped within 10 s (took $term_ms ms)" test "$term_ms" -lt 10000
expect_eq "$(find "$work/derive-term/derived_data" -type f 2>/dev/null || true)" "" "SIGTERM mid-derive: no partial or half-written derived object"
capture env BATCH_TASK_INDEX=0 BATCH_TASK_COUNT=1 OUTPUT_URI="$work/derive-term" "$BIN" "${tcmd[@]}"
expect_rc 0 "the retried derive task"
expect_eq "$(cd "$work/derive-term/derived_data" && find . -type f | LC_ALL=C sort | tr '\n' ' ')" \
  "./by_date/day-2020-04-02/data_type-book_snapshot_1000_0ms/DERIBIT:PERPETUAL:BTC-USD.parquet ./by_date/day-2020-04-02/data_type-book_snapshot_500_0ms/DERIBIT:PERPETUAL:BTC-USD.parquet " \
  "the retried derive task wrote both series, nothing else"
rm -rf "$work/derive-term" "$work/gen"

finish fleet_test
