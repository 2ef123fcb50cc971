#!/usr/bin/env bash
# Manages the dev VMs made by deploy-tardis-download.sh / deploy-instrument-generation.sh.
set -euo pipefail
PROG=vm-manager.sh
# shellcheck source=deploy/common.sh
. "$(dirname "$0")/../common.sh"

usage() {
  cat <<USAGE
usage: deploy/vm/vm-manager.sh COMMAND [NAME] [--zone Z] [--dry-run] [--help]

commands:
  list          the market-tick VMs of the project (label app=market-tick), with their state
  status NAME   RUNNING while the job runs, TERMINATED once it has powered itself off
  start NAME    boot it again: the job reruns and skips every object already written
  stop NAME     stop it now (the job is interrupted; nothing partial is kept)
  delete NAME   delete the VM and its boot disk
  logs NAME     the serial console: startup-script and market-tick output
                (also in Cloud Logging: resource.type="gce_instance")
options:
  --zone Z      default \$GCP_ZONE or \$GCP_REGION-a
  --dry-run     print the gcloud command, run nothing
  -h, --help    this help
environment: GCP_PROJECT_ID (required), GCP_REGION, GCP_ZONE
USAGE
}

action="" name=""
while [ $# -gt 0 ]; do
  case "$1" in --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}"; continue ;; esac
  case "$1" in
    --zone) need_value "$1" $#; GCP_ZONE=$2; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) usage_die "unknown option '$1'" ;;
    *)
      if [ -z "$action" ]; then action=$1
      elif [ -z "$name" ]; then name=$1
      else usage_die "unexpected argument '$1'"
      fi
      shift ;;
  esac
done
[ -n "$action" ] || usage_die "a command is required: list, status, start, stop, delete or logs"
case "$action" in
  list) [ -z "$name" ] || usage_die "list takes no NAME" ;;
  status|start|stop|delete|logs) [ -n "$name" ] || usage_die "$action needs a VM NAME"; check_name NAME "$name" ;;
  *) usage_die "unknown command '$action' (list, status, start, stop, delete, logs)" ;;
esac
cloud_defaults
need_var GCP_PROJECT_ID "the Google Cloud project of the VMs"
[ "$DRY_RUN" = 1 ] || need_tool gcloud "install the Google Cloud CLI, or use --dry-run"

where=(--project "$GCP_PROJECT_ID" --zone "$GCP_ZONE")
case "$action" in
  list)
    run gcloud compute instances list --project "$GCP_PROJECT_ID" --filter "labels.app=market-tick" \
      --format "table(name,zone.basename(),status,labels.job,machineType.basename(),scheduling.provisioningModel)" ;;
  status) run gcloud compute instances describe "$name" "${where[@]}" --format "value(status)" ;;
  start) run gcloud compute instances start "$name" "${where[@]}" ;;
  stop) run gcloud compute instances stop "$name" "${where[@]}" ;;
  delete) run gcloud compute instances delete "$name" "${where[@]}" --delete-disks all --quiet ;;
  logs) run gcloud compute instances get-serial-port-output "$name" "${where[@]}" ;;
esac
