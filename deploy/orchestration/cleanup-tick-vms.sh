#!/usr/bin/env bash
# Deletes what a backfill leaves behind: the Batch job (its VMs go with it), finished
# market-tick jobs, and, only when asked (--dev-vms), the stopped dev VMs of deploy/vm/
# (label app=market-tick, role=dev). Objects in the bucket are never touched.
set -euo pipefail
PROG=cleanup-tick-vms.sh
# shellcheck source=deploy/common.sh
. "$(dirname "$0")/../common.sh"

usage() {
  cat <<USAGE
usage: deploy/orchestration/cleanup-tick-vms.sh [--job NAME] [--finished-jobs] [--dev-vms [--force]]
         [--engine batch|k8s] [--dry-run] [--help]

  --job NAME        delete this job (Cloud Batch: its VMs are deleted with it; a running job
                    is cancelled)
  --finished-jobs   delete every SUCCEEDED, FAILED or CANCELLED market-tick Batch job in the
                    region
  --dev-vms         also delete the dev VMs (label app=market-tick,role=dev in the project)
                    that are stopped (TERMINATED or SUSPENDED), with their boot disks; a VM
                    still running (its job may not be done) is skipped and named
  --force           with --dev-vms: delete running dev VMs too
  --engine E        batch (default) or k8s (--job deletes the Kubernetes Job and its pods)
  --dry-run         print the gcloud/kubectl commands, run nothing (the VM deletions are
                    shown for each VM the listing would return)
  -h, --help        this help
environment: GCP_PROJECT_ID (required), GCP_REGION, K8S_NAMESPACE
USAGE
}

job="" finished=0 vms=0 force=0 engine=batch
while [ $# -gt 0 ]; do
  case "$1" in --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}"; continue ;; esac
  case "$1" in
    --job) need_value "$1" $#; job=$2; shift 2 ;;
    --finished-jobs) finished=1; shift ;;
    --dev-vms) vms=1; shift ;;
    --force) force=1; shift ;;
    --keep-vms) shift ;;  # the default now; accepted so older command lines keep working
    --engine) need_value "$1" $#; engine=$2; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage_die "unknown argument '$1'" ;;
  esac
done
[ -z "$job" ] || check_name --job "$job"
case "$engine" in batch|k8s) ;; *) usage_die "--engine takes batch or k8s, got '$engine'" ;; esac
if [ -z "$job" ] && [ "$finished" = 0 ] && [ "$vms" = 0 ]; then
  usage_die "nothing to do: give --job NAME, --finished-jobs or --dev-vms"
fi
if [ "$force" = 1 ] && [ "$vms" = 0 ]; then usage_die "--force only applies to --dev-vms"; fi
cloud_defaults
need_var GCP_PROJECT_ID "the Google Cloud project to clean up"
if [ "$DRY_RUN" != 1 ]; then
  need_tool gcloud "install the Google Cloud CLI, or use --dry-run"
  if [ "$engine" = k8s ] && [ -n "$job" ]; then need_tool kubectl "install kubectl, or use --dry-run"; fi
fi

# list_then_delete LIST_CMD... -- DELETE_CMD...: runs the listing (one item a line, fields
# separated by tabs), then DELETE_CMD for each line with {1}, {2} replaced by its fields.
# In a dry run the listing is printed, not run, and the deletion is shown with placeholders.
list_then_delete() {
  local list=() del=()
  while [ "$1" != -- ]; do list+=("$1"); shift; done
  shift
  del=("$@")
  if [ "$DRY_RUN" = 1 ]; then
    show_cmd "${list[@]}"
    printf '# then, for each line of that listing:\n'
    local shown=("${del[@]//\{1\}/NAME}")
    show_cmd "${shown[@]//\{2\}/ZONE}"
    return
  fi
  local lines line f1 f2 n=0
  lines=$(run "${list[@]}")
  while IFS=$'\t' read -r f1 f2; do
    [ -n "$f1" ] || continue
    local cmd=("${del[@]//\{1\}/$f1}")
    run "${cmd[@]//\{2\}/$f2}"
    n=$((n + 1))
  done <<<"$lines"
  say "$PROG: $n deleted"
}

if [ -n "$job" ]; then
  if [ "$engine" = batch ]; then
    run gcloud batch jobs delete "$job" --project "$GCP_PROJECT_ID" --location "$GCP_REGION" --quiet
  else
    run kubectl delete job "$job" --namespace "${K8S_NAMESPACE:-default}" --cascade=foreground
  fi
fi
if [ "$finished" = 1 ]; then
  list_then_delete gcloud batch jobs list --project "$GCP_PROJECT_ID" --location "$GCP_REGION" \
    --filter "labels.app=market-tick AND (status.state=SUCCEEDED OR status.state=FAILED OR status.state=CANCELLED)" \
    --format "value(name.basename())" -- \
    gcloud batch jobs delete '{1}' --project "$GCP_PROJECT_ID" --location "$GCP_REGION" --quiet
fi
if [ "$vms" = 1 ]; then
  # A dev VM powers itself off when its job is done; one still running may be mid-job (or kept
  # up on purpose with --keep), so it is deleted only with --force.
  vm_list=(gcloud compute instances list --project "$GCP_PROJECT_ID"
    --filter "labels.app=market-tick AND labels.role=dev" --format "value(name,zone.basename(),status)")
  vm_delete() { run gcloud compute instances delete "$1" --project "$GCP_PROJECT_ID" --zone "$2" --delete-disks all --quiet </dev/null; }
  if [ "$DRY_RUN" = 1 ]; then
    show_cmd "${vm_list[@]}"
    if [ "$force" = 1 ]; then printf '# then, for each VM of that listing (--force: running ones too):\n'
    else printf '# then, for each VM of that listing whose status is TERMINATED or SUSPENDED:\n'; fi
    DRY_RUN=1 vm_delete NAME ZONE
  else
    lines=$(run "${vm_list[@]}")
    n=0 skipped=()
    while IFS=$'\t' read -r name zone status; do
      [ -n "$name" ] || continue
      case "$status" in
        TERMINATED|SUSPENDED) ;;
        *) if [ "$force" != 1 ]; then skipped+=("$name ($status)"); continue; fi ;;
      esac
      vm_delete "$name" "$zone"
      n=$((n + 1))
    done <<<"$lines"
    say "$PROG: $n dev VMs deleted"
    if [ "${#skipped[@]}" -gt 0 ]; then
      say "$PROG: kept ${#skipped[@]} dev VMs that are not stopped (add --force to delete them): ${skipped[*]}"
    fi
  fi
fi
