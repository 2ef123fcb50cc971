#!/usr/bin/env bash
# One dev VM that runs the instrument-generation container (market-tick instruments) once over a
# date range, writes the instrument definitions to GCS and powers itself off when done
# (deploy/orchestration/vm-startup-script.sh).
set -euo pipefail
PROG=deploy-instrument-generation.sh
# shellcheck source=deploy/common.sh
. "$(dirname "$0")/../common.sh"

usage() {
  cat <<USAGE
usage: deploy/vm/deploy-instrument-generation.sh --start-date D [--end-date D] [--exchanges a,b]
         [--name NAME] [--machine-type T] [--spot] [--disk-size GB] [--keep] [--image REF]
         [--dry-run] [--help]

Creates a Container-Optimized OS VM that runs market-tick instruments once and powers off.
  --start-date D, --end-date D   UTC days, inclusive (end defaults to start)
  --exchanges a,b    Tardis exchange ids (default: market-tick's default set)
  --name NAME        VM name (default market-tick-dev-instruments)
  --machine-type T   default \$MACHINE_TYPE or e2-standard-4
  --spot             spot VM (cheaper; may be preempted: start it again)
  --disk-size GB     boot disk (default 50)
  --keep             do not power off when done
  --image REF        image (default \$IMAGE_REPO/instrument-generation:\$IMAGE_TAG)
  --dry-run          print the gcloud command, run nothing
  -h, --help         this help

environment (required): GCP_PROJECT_ID, IMAGE_REPO (unless --image), GCS_BUCKET or
  OUTPUT_URI=gs://bucket/prefix
environment (optional): GCP_REGION, GCP_ZONE, IMAGE_TAG, TARDIS_SECRET, SERVICE_ACCOUNT, LOG_LEVEL,
  OUTPUT_LAYOUT
  (see deploy/vm/deploy-tardis-download.sh --help)
Then: deploy/vm/vm-manager.sh status|logs|stop|delete NAME
USAGE
}

start="" end="" exchanges="" name=market-tick-dev-instruments
IMAGE=""
while [ $# -gt 0 ]; do
  case "$1" in --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}"; continue ;; esac
  case "$1" in
    --start-date|--end-date|--exchanges|--name|--machine-type|--disk-size|--image) need_value "$1" $# ;;
  esac
  case "$1" in
    --start-date) start=$2; shift 2 ;;
    --end-date) end=$2; shift 2 ;;
    --exchanges) exchanges=$2; shift 2 ;;
    --name) name=$2; shift 2 ;;
    --machine-type) MACHINE_TYPE=$2; shift 2 ;;
    --disk-size) check_int "$1" "$2" 10 65536; DISK_SIZE_GB=$2; shift 2 ;;
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
[ -z "$exchanges" ] || check_list --exchanges "$exchanges"
check_name --name "$name"
cloud_defaults
[ "$DRY_RUN" = 1 ] || need_tool gcloud "install the Google Cloud CLI, or use --dry-run"

args=(--from "$start" --to "$end")
[ -z "$exchanges" ] || args+=(--exchanges "$exchanges")
create_dev_vm instrument-generation "$name" "${args[@]}"
