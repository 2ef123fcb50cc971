#!/usr/bin/env bash
# Installs what building, running and testing need: Debian 12 packages only
# (apt-get), then the npm packages of the JavaScript test and bench helpers
# (npm ci, from the committed lock files). Safe to run again: installed
# packages are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  echo "usage: scripts/install-deps.sh [--build-only] [--test]"
  echo "  --build-only  only what building and running the binary needs"
  echo "  --test        also the test tools (GoogleTest, clang for fuzzing, npm packages)"
}

mode="run"
for a in "$@"; do
  case "$a" in
    --build-only) mode="build" ;;
    --test) mode="test" ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done

pkgs=(build-essential cmake ninja-build pkg-config zlib1g-dev libzstd-dev libsnappy-dev
      libisal-dev libcurl4-openssl-dev libssl-dev nlohmann-json3-dev)
if [ "$mode" != build ]; then
  pkgs+=(nodejs npm)
fi
if [ "$mode" = test ]; then
  pkgs+=(libgtest-dev libgmock-dev clang libclang-rt-14-dev isal time chromium jq shellcheck)
fi

missing=()
for p in "${pkgs[@]}"; do
  # nodejs/npm may come from elsewhere on the machine; a working command is enough.
  if [ "$p" = nodejs ] && command -v node >/dev/null; then continue; fi
  if [ "$p" = npm ] && command -v npm >/dev/null; then continue; fi
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "error: need root or sudo to install ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; then
    $sudo apt-get update -q >/dev/null
    $sudo apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

if [ "$mode" = test ]; then
  dirs=(tests/js tests/gcs)
  # Polars' native build is locked for x86-64 Linux only (tests/polars/package.json).
  if [ "$(uname -s)-$(uname -m)" = Linux-x86_64 ]; then dirs+=(tests/polars); fi
  for dir in "${dirs[@]}"; do
    if [ -f "$dir/package-lock.json" ]; then
      # tests/gcs: the storage emulator needs none of firebase-tools' install scripts (they
      # compile re2, ~65 s).
      npm_flags=(--no-audit --no-fund --loglevel=error)
      if [ "$dir" = tests/gcs ]; then npm_flags+=(--ignore-scripts); fi
      (cd "$dir" && npm ci "${npm_flags[@]}" >/dev/null)
    fi
  done
fi
