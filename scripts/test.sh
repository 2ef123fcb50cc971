#!/usr/bin/env bash
# The whole test suite: installs everything it needs, builds, then runs
#  1. the C++ unit tests (ctest),
#  2. the independent-reader tests (DuckDB and hyparquet read every output),
#  3. the Node tests of the test servers,
#  4. the fuzz targets (CSV parser, Parquet footer, JSON answers, the whole converter) and the unit tests under
#     ASan/UBSan (clang),
#  5. a quick smoke run of the convert benchmark (correctness only).
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
step() { echo "== $* ($(( $(date +%s) - t0 )) s)" >&2; }

step "installing dependencies"
scripts/install-deps.sh --test

# A failed build (a warning is an error here) shows the compiler's output.
quiet_build() {  # LOG COMMAND...
  mkdir -p "$(dirname "$1")"
  "${@:2}" >"$1" 2>&1 || { grep -E -A12 'error|FAILED' "$1" | head -n 80 >&2; echo "build failed: $1" >&2; exit 1; }
}

step "building (warnings are errors)"
quiet_build build/test-build.log scripts/build.sh -DMT_BUILD_TESTS=ON -DMT_WERROR=ON

step "C++ unit tests"
ctest --test-dir build --output-on-failure -j"$(nproc)" 2>&1 | tail -n 3

step "docs/SCHEMAS.md matches the schema tables"
diff -u docs/SCHEMAS.md <(build/market-tick schemas) >&2 || { echo "docs/SCHEMAS.md is stale: build/market-tick schemas > docs/SCHEMAS.md" >&2; exit 1; }

step "independent Parquet readers (DuckDB, hyparquet, Polars) on every converted fixture"
(cd tests/js && MARKET_TICK_BIN="$PWD/../../build/market-tick" npm test --silent 2>&1 | tail -n 12)

if ls tests/support/*.test.mjs >/dev/null 2>&1; then
  step "Node tests of the test servers"
  node --test tests/support/ 2>&1 | tail -n 8
fi

step "GCS: test double and emulator (market-tick vs the firebase storage emulator and @google-cloud/storage)"
(cd tests/gcs && MARKET_TICK_BIN="$PWD/../../build/market-tick" node --test --test-concurrency=1 \
  double.test.mjs emulator.test.mjs tool.test.mjs 2>&1 | tail -n 10)

step "deploy scripts and local fleet"
tests/deploy/run.sh

step "sanitizer build (clang, ASan+UBSan): unit tests and fuzzing (CSV, footer, JSON, converter)"
if [ ! -f build-asan/CMakeCache.txt ]; then
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMT_SANITIZE=ON -DMT_FUZZ=ON \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DMT_WERROR=ON >/dev/null
else
  cmake -S . -B build-asan -DMT_WERROR=ON >/dev/null
fi
quiet_build build-asan/test-build.log cmake --build build-asan -j"$(nproc)"
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 build-asan/tests/mt_tests --gtest_brief=1 2>&1 | tail -n 3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# One fuzz target for FUZZ_SECONDS (default 30) over its committed seeds. New
# inputs go to a temporary first directory; the seed folder stays as committed.
fuzz() {  # NAME TARGET SEEDS
  mkdir -p "$work/$1"
  if ! UBSAN_OPTIONS=halt_on_error=1 "build-asan/fuzz/$2" -max_total_time="${FUZZ_SECONDS:-30}" \
      -rss_limit_mb=2048 -artifact_prefix="$work/" "$work/$1" "$3" >"$work/$1.log" 2>&1; then
    tail -n 40 "$work/$1.log" >&2
    echo "$1 fuzzing found a failure; the input is in $work (kept)" >&2
    trap - EXIT
    exit 1
  fi
  grep -E "^Done" "$work/$1.log" >&2
}
fuzz csv csv_parser_fuzz fuzz/corpus        # decompressor + CSV parser
fuzz footer footer_fuzz fuzz/corpus_footer  # the Parquet footer/page reader on arbitrary bytes
fuzz json json_fuzz fuzz/corpus_json        # Tardis and GCS JSON answers through the code that reads them
fuzz convert convert_fuzz fuzz/corpus_convert  # dataset bodies through the whole converter, objects read back

step "convert benchmark smoke run (small files; checks our output equals DuckDB's)"
bench/convert_bench.sh --quick --out-dir "$work/bench" 2>&1 | tail -n 16

step "all tests passed"
