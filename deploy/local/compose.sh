#!/usr/bin/env bash
# Runs `docker compose` on one of the two compose files (docker/NAME/docker-compose.yml) as the
# caller: the compose files take the container's uid/gid from MT_UID/MT_GID and refuse to start
# without them, because the image's own user (10001) cannot write to a ./data folder owned by
# you. This script sets them to your uid/gid (10001 when run as root, with the folders handed to
# 10001, as deploy/local/run-*.sh do) and creates the four mounted folders first: Docker would
# create a missing one owned by root, and the container could not write to it either.
set -euo pipefail
PROG=compose.sh
# shellcheck source=deploy/common.sh
. "$(dirname "$0")/../common.sh"

usage() {
  cat <<USAGE
usage: deploy/local/compose.sh [--dry-run] tardis-download|instrument-generation COMPOSE_ARGS...

Runs docker compose -f docker/NAME/docker-compose.yml COMPOSE_ARGS as your uid/gid, e.g.
  deploy/local/compose.sh tardis-download build
  deploy/local/compose.sh tardis-download run --rm tardis-download \\
    --from 2024-01-01 --to 2024-01-03 --exchanges binance-futures --data-types trades --symbols BTCUSDT
  --dry-run   print the commands, run nothing
  -h, --help  this help
environment: as the compose file (TARDIS_API_KEY or TARDIS_API_KEY_FILE, MT_OUTPUT_URI,
MT_DATA_DIR, MT_LOGS_DIR, MT_TEMP_DIR, MT_DOWNLOADS_DIR, ...); MT_UID/MT_GID when set win.
USAGE
}

while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) usage_die "unknown argument '$1' (compose's own flags go after the image name)" ;;
    *) break ;;
  esac
done
[ $# -ge 1 ] || usage_die "name the image: tardis-download or instrument-generation"
name=$1
shift
case "$name" in tardis-download|instrument-generation) ;; *) usage_die "the image is tardis-download or instrument-generation, got '$name'" ;; esac
[ "$DRY_RUN" = 1 ] || need_tool docker "install Docker with the compose plugin, or use --dry-run"

dir="$MT_ROOT/docker/$name"
# The folders as the compose file resolves them (relative paths are relative to its folder).
folders=()
for spec in "${MT_DATA_DIR:-../../data}" "${MT_LOGS_DIR:-../../logs}" "${MT_TEMP_DIR:-../../temp}" "${MT_DOWNLOADS_DIR:-../../downloads}"; do
  case "$spec" in /*) folders+=("$spec") ;; *) folders+=("$dir/$spec") ;; esac
done
uid=${MT_UID:-} gid=${MT_GID:-}
if [ -z "$uid" ]; then
  if [ "$(id -u)" -eq 0 ]; then uid=10001 gid=${gid:-10001}; else uid=$(id -u) gid=${gid:-$(id -g)}; fi
fi
gid=${gid:-$uid}
run mkdir -p "${folders[@]}"
if [ "$(id -u)" -eq 0 ] && [ "$uid" != 0 ]; then run chown "$uid:$gid" "${folders[@]}"; fi
run env "MT_UID=$uid" "MT_GID=$gid" docker compose -f "$dir/docker-compose.yml" "$@"
