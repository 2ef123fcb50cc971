#!/usr/bin/env bash
# Configures and builds build/market-tick (Release) and the unit tests.
# Arguments are CMake cache settings (-DMT_WERROR=ON); they apply to an
# existing build/ too.
set -euo pipefail
cd "$(dirname "$0")/.."
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
if [ ! -f build/CMakeCache.txt ]; then
  cmake -S . -B build "${gen[@]}" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
elif [ $# -gt 0 ]; then
  cmake -S . -B build "$@" >/dev/null
fi
cmake --build build -j"$(nproc)"
