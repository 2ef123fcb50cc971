#!/usr/bin/env bash
# Runs `market-tick instruments` in the instrument-generation container on this machine, with the seed's
# volume mounts: data/ (instrument definitions), logs/, temp/, downloads/.
set -euo pipefail
PROG=run-instrument-generation.sh
# shellcheck source=deploy/common.sh
. "$(dirname "$0")/../common.sh"

usage() {
  cat <<USAGE
usage: deploy/local/run-instrument-generation.sh [OPTIONS] [--] INSTRUMENTS_FLAGS...

Runs market-tick instruments in Docker. Every flag this script does not know goes to market-tick
(after --, all of them do, e.g. -- --dry-run for market-tick's own dry run).
  deploy/local/run-instrument-generation.sh --from 2024-01-01 --to 2024-01-31 \\
    --exchanges binance-futures,deribit

options:
  --image REF          image (default market-tick/instrument-generation:\$IMAGE_TAG, from build-all.sh)
  --data-dir DIR       output folder mounted at /data (default ./data of the repository)
  --logs-dir DIR       mounted at /logs (default ./logs)
  --temp-dir DIR       mounted at /temp (default ./temp)
  --downloads-dir DIR  mounted at /downloads (default ./downloads)
  --network MODE       docker network (default: host when a Tardis/GCS URL points at loopback)
  --dry-run            print the docker commands, run nothing
  -h, --help           this help

environment: TARDIS_API_KEY or TARDIS_API_KEY_FILE (a file mounted read-only into the
container), MT_OUTPUT_URI (default /data; gs://bucket/prefix writes to GCS and then needs
GOOGLE_APPLICATION_CREDENTIALS, a key file mounted read-only), TARDIS_DATASETS_URL,
TARDIS_API_URL, LOG_LEVEL, OUTPUT_LAYOUT (by_date or hive, market-tick's --layout), SOURCE_DATE_EPOCH.
exit status: market-tick's (0 done, 1 failed items, 2 usage, 3 retryable, 130 interrupted).
USAGE
}

IMAGE="" DATA_DIR="$MT_ROOT/data" LOGS_DIR="$MT_ROOT/logs" TEMP_DIR="$MT_ROOT/temp"
DOWNLOADS_DIR="$MT_ROOT/downloads" DOCKER_NETWORK=$(default_docker_network)
pass=()
while [ $# -gt 0 ]; do
  case "$1" in  # --flag=value for this script's own flags
    --image=*|--data-dir=*|--logs-dir=*|--temp-dir=*|--downloads-dir=*|--network=*)
      set -- "${1%%=*}" "${1#*=}" "${@:2}" ;;
  esac
  case "$1" in
    --image|--data-dir|--logs-dir|--temp-dir|--downloads-dir|--network) need_value "$1" $# ;;
  esac
  case "$1" in
    --image) IMAGE=$2; shift 2 ;;
    --data-dir) DATA_DIR=$(abspath "$2"); shift 2 ;;
    --logs-dir) LOGS_DIR=$(abspath "$2"); shift 2 ;;
    --temp-dir) TEMP_DIR=$(abspath "$2"); shift 2 ;;
    --downloads-dir) DOWNLOADS_DIR=$(abspath "$2"); shift 2 ;;
    --network) DOCKER_NETWORK=$2; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; pass+=("$@"); break ;;
    *) pass+=("$1"); shift ;;
  esac
done
IMAGE=${IMAGE:-market-tick/instrument-generation:${IMAGE_TAG:-latest}}
[ "$DRY_RUN" = 1 ] || need_tool docker "install Docker, or use --dry-run to see the commands"

local_docker_run "$IMAGE" "${pass[@]}"
