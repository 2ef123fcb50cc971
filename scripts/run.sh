#!/usr/bin/env bash
# The main job on the embedded default: installs, builds, then converts the
# real Tardis sample files bundled in fixtures/ into ./data and prints what
# it wrote (one line per Parquet file: path, rows, bytes).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --build-only
scripts/build.sh >/dev/null
echo "== converting the bundled Tardis samples into ./data" >&2
build/market-tick convert fixtures/tardis/csv/*.csv.gz --output ./data
