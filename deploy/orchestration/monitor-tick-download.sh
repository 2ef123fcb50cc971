#!/usr/bin/env bash
# Shows how a fleet job is doing: task states from the engine (Cloud Batch, or the Kubernetes
# Job controller) and how many Parquet objects of the job's date range are in the bucket (raw
# objects for a download job, derived objects for a derive job: label job=tick-derive).
set -euo pipefail
PROG=monitor-tick-download.sh
# shellcheck source=deploy/common.sh
. "$(dirname "$0")/../common.sh"

usage() {
  cat <<USAGE
usage: deploy/orchestration/monitor-tick-download.sh --job NAME [--engine batch|k8s]
         [--watch SECONDS] [--no-objects] [--logs [--task N] [--lines N]] [--dry-run] [--help]

  --job NAME        the job orchestrate-tick-download.sh submitted (for a derive job the
                    objects counted are the derived ones)
  --engine E        batch (default) or k8s
  --watch SECONDS   repeat every SECONDS until the job has finished
  --no-objects      skip the bucket listing (it reads every object name of the range)
  --logs            print the job's log lines instead (Cloud Logging for Batch, the newest
                    --lines of them, oldest first; kubectl logs for Kubernetes)
  --task N          with --logs: only task N (Batch task index = Kubernetes completion index)
  --lines N         with --logs: how many lines (default 200)
  --since D         with --logs on Batch: how far back to look, e.g. 6h, 7d (default 30d)
  --dry-run         print the gcloud/kubectl commands, run nothing
  -h, --help        this help
environment: GCP_PROJECT_ID (required), GCP_REGION, GCS_BUCKET or OUTPUT_URI (for the object
count), K8S_NAMESPACE (k8s)
exit status: 0 succeeded, 1 failed, 4 still running (without --watch), 5 cancelled or being
  deleted (Batch CANCELLATION_IN_PROGRESS, CANCELLED, DELETION_IN_PROGRESS; a suspended
  Kubernetes Job): no task of it runs again; submit the range again to finish it
USAGE
}

job="" engine=batch watch=0 objects=1 logs=0 task="" lines=200 since=30d
while [ $# -gt 0 ]; do
  case "$1" in --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}"; continue ;; esac
  case "$1" in
    --job) need_value "$1" $#; job=$2; shift 2 ;;
    --engine) need_value "$1" $#; engine=$2; shift 2 ;;
    --watch) need_value "$1" $#; check_int "$1" "$2" 5 86400; watch=$2; shift 2 ;;
    --no-objects) objects=0; shift ;;
    --logs) logs=1; shift ;;
    --task) need_value "$1" $#; check_int "$1" "$2" 0 99999; task=$2; shift 2 ;;
    --lines) need_value "$1" $#; check_int "$1" "$2" 1 100000; lines=$2; shift 2 ;;
    --since)
      need_value "$1" $#
      [[ "$2" =~ ^[0-9]{1,5}[smhd]$ ]] || usage_die "--since must be like 90m, 6h or 7d, got '$2'"
      since=$2; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage_die "unknown argument '$1'" ;;
  esac
done
[ -n "$job" ] || usage_die "--job is required"
check_name --job "$job"
case "$engine" in batch|k8s) ;; *) usage_die "--engine takes batch or k8s, got '$engine'" ;; esac
if [ "$logs" = 0 ] && [ -n "$task" ]; then usage_die "--task goes with --logs"; fi
if [ "$logs" = 1 ]; then objects=0; fi
cloud_defaults
need_var GCP_PROJECT_ID "the Google Cloud project of the job"
need_tool jq "it reads the engine's JSON; apt-get install jq"
output=""
if [ "$objects" = 1 ]; then output=$(cloud_output_uri); fi
if [ "$DRY_RUN" != 1 ]; then
  if [ "$engine" = batch ] || [ "$objects" = 1 ]; then need_tool gcloud "install the Google Cloud CLI, or use --dry-run"; fi
  if [ "$engine" = k8s ]; then need_tool kubectl "install kubectl, or use --dry-run"; fi
fi

# count_objects FROM TO [ROOT]: Parquet objects under ROOT (raw_tick_data, the default, or
# derived_data for a derive job) whose day is in [FROM, TO]. The whole ROOT/ is listed: the store's
# layout (docs/STORAGE.md) names the day by_date/day-YYYY-MM-DD/ or, in a hive store, date=YYYY-MM-DD/.
# `gcloud storage ls` exits non-zero when the prefix holds no object yet, which is the state of
# every backfill's first minutes: that is a count of 0, not a failure of the monitor. Any other
# listing error is reported and the job's state still decides the exit status.
count_objects() {
  local listing err rc=0 root=${3:-raw_tick_data} what=objects
  [ "$root" = raw_tick_data ] || what="derived objects"
  err=$(mktemp)
  listing=$(run gcloud storage ls "${output%/}/$root/**" 2>"$err") || rc=$?
  if [ "$DRY_RUN" = 1 ]; then rm -f "$err"; printf '%s\n' "$listing"; return; fi
  if [ "$rc" -ne 0 ]; then
    if grep -qi 'matched no objects' "$err"; then
      listing=""
    else
      say "$PROG: warning: could not list ${output%/}/$root/ (exit $rc): $(grep -v '^+ ' "$err" | tail -n 3 | tr '\n' ' ')"
      rm -f "$err"
      printf '%s in %s..%s: unknown (the listing failed)\n' "$what" "$1" "$2"
      return
    fi
  fi
  grep '^+ ' "$err" >&2 || true  # the command echo of run()
  rm -f "$err"
  # (no {n} repetition in the regex: Debian's default awk, mawk, does not have it)
  awk -v from="$1" -v to="$2" -v what="$what" '
    /\.parquet$/ { if (match($0, /\/(day-|date=)[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]\//)) { d = substr($0, RSTART + RLENGTH - 11, 10); if (d >= from && d <= to) n++ } }
    END { printf "%s in %s..%s: %d Parquet files\n", what, from, to, n }' <<<"$listing"
}

# report_batch: prints the job state and task counts; sets state.
report_batch() {
  local json
  json=$(run gcloud batch jobs describe "$job" --project "$GCP_PROJECT_ID" --location "$GCP_REGION" --format json)
  if [ "$DRY_RUN" = 1 ]; then
    printf '%s\n' "$json"
    run gcloud batch tasks list --job "$job" --project "$GCP_PROJECT_ID" --location "$GCP_REGION" \
      --filter "status.state=FAILED" --format "value(name.basename(),status.statusEvents[-1].description)"
    if [ "$objects" = 1 ]; then count_objects FROM TO; fi
    state=DRY_RUN
    return
  fi
  state=$(jq -r '.status.state // "UNKNOWN"' <<<"$json")
  jq -r '
    "job \(.name | split("/") | last): \(.status.state // "UNKNOWN")" +
    (if .status.runDuration then ", running for \(.status.runDuration)" else "" end),
    "tasks: " + ([.status.taskGroups // {} | .[] | .counts // {} | to_entries[] | "\(.key) \(.value)"] | join(", ")),
    "of \(.taskGroups[0].taskCount) tasks, \(.taskGroups[0].parallelism) at a time"' <<<"$json"
  if jq -e '[.status.taskGroups // {} | .[] | .counts.FAILED // "0" | tonumber] | add > 0' <<<"$json" >/dev/null; then
    printf 'failed tasks (last event):\n'
    run gcloud batch tasks list --job "$job" --project "$GCP_PROJECT_ID" --location "$GCP_REGION" \
      --filter "status.state=FAILED" --format "value(name.basename(),status.statusEvents[-1].description)"
  fi
  # An instruments job writes definitions, not tick objects: nothing to count.
  # A derive job writes derived objects: those are counted.
  local kind
  kind=$(jq -r '.labels.job // ""' <<<"$json")
  if [ "$objects" = 1 ] && [ "$kind" != instrument-generation ]; then
    local from to
    from=$(jq -r '.labels["start-date"] // empty | "\(.[0:4])-\(.[4:6])-\(.[6:8])"' <<<"$json")
    to=$(jq -r '.labels["end-date"] // empty | "\(.[0:4])-\(.[4:6])-\(.[6:8])"' <<<"$json")
    if [ -n "$from" ] && [ -n "$to" ]; then count_objects "$from" "$to" "$([ "$kind" = tick-derive ] && echo derived_data || echo raw_tick_data)"; fi
  fi
}

report_k8s() {
  local json
  json=$(run kubectl get job "$job" --namespace "${K8S_NAMESPACE:-default}" -o json)
  if [ "$DRY_RUN" = 1 ]; then
    printf '%s\n' "$json"
    if [ "$objects" = 1 ]; then count_objects FROM TO; fi
    state=DRY_RUN
    return
  fi
  jq -r '
    "job \(.metadata.name): \(.status.succeeded // 0) of \(.spec.completions) indexes succeeded, \(.status.active // 0) running, \(.status.failed // 0) failed pods",
    (if .status.failedIndexes then "failed indexes: \(.status.failedIndexes)" else empty end)' <<<"$json"
  state=$(jq -r '
    if any(.status.conditions[]?; .type == "Complete" and .status == "True") then "SUCCEEDED"
    elif any(.status.conditions[]?; .type == "Failed" and .status == "True") then "FAILED"
    elif any(.status.conditions[]?; .type == "Suspended" and .status == "True") then "SUSPENDED"
    else "RUNNING" end' <<<"$json")
  if [ "$objects" = 1 ]; then
    local from to
    from=$(jq -r '.spec.template.spec.containers[0].args as $a | ($a | index("--from")) as $i | if $i then $a[$i + 1] else empty end' <<<"$json")
    to=$(jq -r '.spec.template.spec.containers[0].args as $a | ($a | index("--to")) as $i | if $i then $a[$i + 1] else empty end' <<<"$json")
    if [ -n "$from" ] && [ -n "$to" ]; then
      count_objects "$from" "$to" "$(jq -r 'if .metadata.labels.job == "tick-derive" then "derived_data" else "raw_tick_data" end' <<<"$json")"
    fi
  fi
}

# show_logs: the job's (or one task's) log lines, oldest first.
show_logs() {
  if [ "$engine" = k8s ]; then
    local selector="batch.kubernetes.io/job-name=$job"
    if [ -n "$task" ]; then selector+=",batch.kubernetes.io/job-completion-index=$task"; fi
    run kubectl logs --namespace "${K8S_NAMESPACE:-default}" -l "$selector" --tail "$lines" --prefix --max-log-requests 20
    return
  fi
  # Batch writes each task's output to the log batch_task_logs, labelled with the job's uid and
  # the task id (".../group0-INDEX/..."), which the describe call gives.
  local uid
  if [ "$DRY_RUN" = 1 ]; then
    show_cmd gcloud batch jobs describe "$job" --project "$GCP_PROJECT_ID" --location "$GCP_REGION" --format "value(uid)"
    uid=JOB_UID
  else
    uid=$(run gcloud batch jobs describe "$job" --project "$GCP_PROJECT_ID" --location "$GCP_REGION" --format "value(uid)")
    [ -n "$uid" ] || die "no uid for job $job (is the name right? gcloud batch jobs list)"
  fi
  local filter="logName=\"projects/$GCP_PROJECT_ID/logs/batch_task_logs\" AND labels.job_uid=\"$uid\""
  if [ -n "$task" ]; then filter+=" AND labels.task_id:\"-group0-$task/\""; fi
  local out
  out=$(run gcloud logging read "$filter" --project "$GCP_PROJECT_ID" --freshness "$since" --limit "$lines" \
    --order desc --format "value(timestamp,severity,jsonPayload.message,textPayload)")
  if [ "$DRY_RUN" = 1 ]; then printf '%s\n' "$out"; return; fi
  if [ -z "$out" ]; then
    say "$PROG: no log lines for $job${task:+ task $task} in the last $since (a task logs once it runs; Batch keeps them in Cloud Logging)"
    return
  fi
  tac <<<"$out"
}
if [ "$logs" = 1 ]; then
  show_logs
  exit 0
fi

state=""
while :; do
  if [ "$engine" = batch ]; then report_batch; else report_k8s; fi
  case "$state" in
    DRY_RUN) exit 0 ;;
    SUCCEEDED) exit 0 ;;
    FAILED) exit 1 ;;
    # Ending or ended without finishing: no task of this job runs again, so waiting is pointless.
    # A new submission over the same range only does what is missing (objects are create-only).
    CANCELLATION_IN_PROGRESS|CANCELLED|DELETION_IN_PROGRESS|SUSPENDED)
      say "$PROG: $job is $state: its unfinished tasks will not run; submit the range again to finish it"
      exit 5 ;;
  esac
  [ "$watch" -gt 0 ] || exit 4
  sleep "$watch"
  printf -- '---- %s\n' "$(date -u +%FT%TZ)"
done
