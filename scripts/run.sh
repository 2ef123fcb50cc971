#!/usr/bin/env bash
# The main job on the embedded default: installs, builds, then downloads the
# bundled real Tardis sample days through the whole pipeline (HTTP -> gunzip
# -> CSV -> Parquet -> ./data) and prints what it wrote, one line per object.
# Offline it serves the samples from a local Tardis-compatible server on
# 127.0.0.1 (tests/support/tardis_server.mjs); set TARDIS_DATASETS_URL (and
# TARDIS_API_KEY) to use another server instead.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh >/dev/null
out="${OUTPUT_URI:-./data}"

server_pid=""
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT
if [ -z "${TARDIS_DATASETS_URL:-}" ]; then
  port_file=$(mktemp)
  node tests/support/tardis_server.mjs --port 0 --port-file "$port_file" >/dev/null &
  server_pid=$!
  for _ in $(seq 100); do [ -s "$port_file" ] && break; sleep 0.05; done
  TARDIS_DATASETS_URL="http://127.0.0.1:$(cat "$port_file")"
  export TARDIS_DATASETS_URL
  rm -f "$port_file"
  # The local server takes any key for paid days (the real service wants yours).
  export TARDIS_API_KEY="${TARDIS_API_KEY:-local-demo-key}"
  echo "== serving the bundled Tardis samples at $TARDIS_DATASETS_URL" >&2
fi

status=0
for f in fixtures/tardis/csv/*.csv.gz; do
  # {exchange}_{data_type}_{YYYY-MM-DD}_{SYMBOL}.csv.gz
  name=$(basename "$f" .csv.gz)
  exchange=${name%%_*}
  rest=${name#*_}
  day=$(grep -oE '[0-9]{4}-[0-9]{2}-[0-9]{2}' <<<"$rest" | head -n1)
  data_type=${rest%%_"$day"*}
  symbol=${rest#*"$day"_}
  build/market-tick download --from "$day" --exchanges "$exchange" --data-types "$data_type" \
    --symbols "$symbol" --output "$out" --log-level warning || status=$?
done
echo "== done: Parquet files are under $out/raw_tick_data (rerun: existing files are skipped)" >&2
exit "$status"
