#!/usr/bin/env bash
# One dev VM that runs the tardis-download container once over a date range, writes to GCS and
# powers itself off when done (deploy/orchestration/vm-startup-script.sh). For a few days of
# data or for trying a configuration; a backfill belongs on the Cloud Batch fleet
# (deploy/orchestration/orchestrate-tick-download.sh).
set -euo pipefail
PROG=deploy-tardis-download.sh
# shellcheck source=deploy/common.sh
. "$(dirname "$0")/../common.sh"

usage() {
  cat <<USAGE
usage: deploy/vm/deploy-tardis-download.sh --start-date D [--end-date D] --exchanges a,b
         [--data-types t1,t2] --symbols s1,s2 [--name NAME] [--machine-type T] [--spot]
         [--disk-size GB] [--keep] [--concurrency N] [--image REF] [--dry-run] [--help]

Creates a Container-Optimized OS VM that runs market-tick download once and powers off.
  --start-date D, --end-date D   UTC days, inclusive (end defaults to start)
  --exchanges, --data-types, --symbols   as market-tick download (exchange:SYMBOL pins one)
  --name NAME        VM name (default market-tick-dev-download)
  --machine-type T   default \$MACHINE_TYPE or e2-standard-4
  --spot             spot VM (cheaper; may be preempted: start it again, finished files are kept)
  --disk-size GB     boot disk (default 50)
  --keep             do not power off when done
  --concurrency N    files in flight (market-tick --concurrency)
  --image REF        image (default \$IMAGE_REPO/tardis-download:\$IMAGE_TAG)
  --dry-run          print the gcloud command, run nothing
  -h, --help         this help

environment (required): GCP_PROJECT_ID, IMAGE_REPO (unless --image), GCS_BUCKET or
  OUTPUT_URI=gs://bucket/prefix
environment (optional): GCP_REGION (us-central1), GCP_ZONE (\$GCP_REGION-a), IMAGE_TAG (latest),
  TARDIS_SECRET (Secret Manager secret with the Tardis key, default tardis-api-key),
  SERVICE_ACCOUNT (default market-tick-runner@\$GCP_PROJECT_ID.iam.gserviceaccount.com), LOG_LEVEL,
  OUTPUT_LAYOUT (by_date or hive, market-tick's --layout; unset, a new store is by_date and an
  existing one keeps the layout it records)
Then: deploy/vm/vm-manager.sh status|logs|stop|delete NAME
USAGE
}

start="" end="" exchanges="" data_types="" symbols="" name=market-tick-dev-download concurrency=""
IMAGE=""
while [ $# -gt 0 ]; do
  case "$1" in --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}"; continue ;; esac
  case "$1" in
    --start-date|--end-date|--exchanges|--data-types|--symbols|--name|--machine-type|--disk-size|--concurrency|--image)
      need_value "$1" $# ;;
  esac
  case "$1" in
    --start-date) start=$2; shift 2 ;;
    --end-date) end=$2; shift 2 ;;
    --exchanges) exchanges=$2; shift 2 ;;
    --data-types) data_types=$2; shift 2 ;;
    --symbols) symbols=$2; shift 2 ;;
    --name) name=$2; shift 2 ;;
    --machine-type) MACHINE_TYPE=$2; shift 2 ;;
    --disk-size) check_int "$1" "$2" 10 65536; DISK_SIZE_GB=$2; shift 2 ;;
    --concurrency) check_int "$1" "$2" 1 256; concurrency=$2; shift 2 ;;
    --image) IMAGE=$2; shift 2 ;;
    --spot) VM_SPOT=1; shift ;;
    --keep) VM_KEEP=1; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage_die "unknown argument '$1'" ;;
  esac
done
[ -n "$start" ] || usage_die "--start-date is required"
end=${end:-$start}
check_date --start-date "$start"
check_date --end-date "$end"
check_range "$start" "$end"
[ -n "$exchanges" ] || usage_die "--exchanges is required"
[ -n "$symbols" ] || usage_die "--symbols is required"
check_list --exchanges "$exchanges"
check_list --symbols "$symbols"
[ -z "$data_types" ] || check_list --data-types "$data_types"
check_name --name "$name"
cloud_defaults
[ "$DRY_RUN" = 1 ] || need_tool gcloud "install the Google Cloud CLI, or use --dry-run"

args=(--from "$start" --to "$end" --exchanges "$exchanges" --symbols "$symbols")
[ -z "$data_types" ] || args+=(--data-types "$data_types")
[ -z "$concurrency" ] || args+=(--concurrency "$concurrency")
create_dev_vm tardis-download "$name" "${args[@]}"
