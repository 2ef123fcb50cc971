#!/usr/bin/env bash
# Submits a backfill as ONE Google Cloud Batch job: N shard tasks of the same container, P of
# them at a time on spot VMs. Task i runs `market-tick download` over the whole plan; the binary
# reads BATCH_TASK_INDEX/BATCH_TASK_COUNT, which Batch sets in every task, and takes its stable
# hash slice of the plan (docs/DEPLOYMENT.md, "How the fleet splits the work"). Many small shards beat a few big ones: the engine balances
# them over the VMs and retries a preempted or retryable (exit 3) task alone; a retried task
# skips every object that already exists, so it only redoes what was missing.
# --engine k8s renders the Kubernetes Indexed Job (k8s/tick-download-indexed-job.yaml) instead.
set -euo pipefail
PROG=orchestrate-tick-download.sh
# shellcheck source=deploy/common.sh
. "$(dirname "$0")/../common.sh"

# Task exit codes Batch retries (RETRY_TASK; any other non-zero code fails the task at once):
#   3      market-tick: only retryable failures remain (rate limits, 5xx, timeouts)
#   130    market-tick: interrupted (SIGTERM when the VM is reclaimed); nothing partial is left
#   50001  Batch: the spot VM was preempted          50002  Batch: VM reporting timeout
#   50003  Batch: VM rebooted during the task        50004  Batch: VM and task unresponsive
#   50005  Batch: task ran past maxRunDuration (a retry resumes; finished objects are skipped)
#   50006  Batch: VM recreated during the task
# 1 (some items failed permanently) and 2 (usage) are not retried: a retry cannot fix them.
RETRY_EXIT_CODES='[3,130,50001,50002,50003,50004,50005,50006]'

usage() {
  cat <<USAGE
usage: deploy/orchestration/orchestrate-tick-download.sh --start-date D --end-date D
         --exchanges a,b --symbols s1,s2 [--data-types t1,t2] [--instances 60] [--tasks N]
         [--job-name NAME] [--machine-type T] [--max-retries 10] [--max-run-duration 6h]
         [--concurrency N] [--image REF] [--no-spot] [--engine batch|k8s] [--spec-file F]
         [--dry-run] [--help]

Submits one Cloud Batch job of N shard tasks (the "fleet" mode of docs/DEPLOYMENT.md).
  --start-date D, --end-date D  UTC days, inclusive
  --exchanges, --data-types, --symbols   as market-tick download (exchange:SYMBOL pins one)
  --instances P       VMs at a time = task parallelism (default 60)
  --tasks N           shard tasks (default 10 x instances); N >= P
  --job-name NAME     default tick-download-STARTDATE-ENDDATE-HHMMSS
  --machine-type T    default \$MACHINE_TYPE or e2-standard-4 (one task per VM)
  --max-retries R     retries per task, 0-10 (default 10, the most Batch allows): spot
                      preemptions and exit 3/130 share this one budget, and a retry only
                      redoes the objects that are missing; the back-off between requests is
                      inside market-tick (RETRY_* settings), Batch retries at once
  --max-run-duration  per task attempt: 90m, 6h or seconds (default 6h)
  --concurrency N     files in flight per task (MAX_CONCURRENT_REQUESTS)
  --image REF         default \$IMAGE_REPO/tardis-download:\$IMAGE_TAG
  --no-spot           standard VMs instead of spot (about 3x the price, never preempted)
  --engine E          batch (default) or k8s: render and apply the Indexed Job with kubectl
  --spec-file F       where to write the job spec (default: a temporary file)
  --dry-run           print the job spec and the gcloud/kubectl command, run nothing
  -h, --help          this help

environment (required): GCP_PROJECT_ID, IMAGE_REPO (unless --image), GCS_BUCKET or
  OUTPUT_URI=gs://bucket/prefix
environment (optional): GCP_REGION (us-central1), IMAGE_TAG (latest), TARDIS_SECRET (Secret
  Manager secret holding the Tardis key, default tardis-api-key), SERVICE_ACCOUNT (default
  market-tick-runner@\$GCP_PROJECT_ID.iam.gserviceaccount.com), LOG_LEVEL (info),
  K8S_SERVICE_ACCOUNT (market-tick), K8S_SECRET (tardis-api-key), K8S_NAMESPACE (default)
Then: deploy/orchestration/monitor-tick-download.sh --job NAME
USAGE
}

start="" end="" exchanges="" data_types="" symbols="" instances=60 tasks="" job="" retries=10
duration=6h concurrency="" IMAGE="" provisioning=SPOT engine=batch spec_file=""
while [ $# -gt 0 ]; do
  case "$1" in --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}"; continue ;; esac
  case "$1" in
    --start-date|--end-date|--exchanges|--data-types|--symbols|--instances|--tasks|--job-name|\
    --machine-type|--max-retries|--max-run-duration|--concurrency|--image|--engine|--spec-file)
      need_value "$1" $# ;;
  esac
  case "$1" in
    --start-date) start=$2; shift 2 ;;
    --end-date) end=$2; shift 2 ;;
    --exchanges) exchanges=$2; shift 2 ;;
    --data-types) data_types=$2; shift 2 ;;
    --symbols) symbols=$2; shift 2 ;;
    --instances) check_int "$1" "$2" 1 5000; instances=$2; shift 2 ;;
    --tasks) check_int "$1" "$2" 1 100000; tasks=$2; shift 2 ;;
    --job-name) job=$2; shift 2 ;;
    --machine-type) MACHINE_TYPE=$2; shift 2 ;;
    --max-retries) check_int "$1" "$2" 0 10; retries=$2; shift 2 ;;
    --max-run-duration) duration=$2; shift 2 ;;
    --concurrency) check_int "$1" "$2" 1 256; concurrency=$2; shift 2 ;;
    --image) IMAGE=$2; shift 2 ;;
    --no-spot) provisioning=STANDARD; shift ;;
    --engine) engine=$2; shift 2 ;;
    --spec-file) spec_file=$2; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage_die "unknown argument '$1'" ;;
  esac
done
[ -n "$start" ] || usage_die "--start-date is required"
[ -n "$end" ] || usage_die "--end-date is required"
check_date --start-date "$start"
check_date --end-date "$end"
check_range "$start" "$end"
[ -n "$exchanges" ] || usage_die "--exchanges is required"
[ -n "$symbols" ] || usage_die "--symbols is required"
check_list --exchanges "$exchanges"
check_list --symbols "$symbols"
[ -z "$data_types" ] || check_list --data-types "$data_types"
tasks=${tasks:-$((instances * 10))}
[ "$tasks" -ge "$instances" ] || usage_die "--tasks ($tasks) must be at least --instances ($instances): a VM without a task idles"
if [[ "$duration" =~ ^([0-9]{1,6})([hms]?)$ ]]; then
  case "${BASH_REMATCH[2]}" in
    h) seconds=$((10#${BASH_REMATCH[1]} * 3600)) ;;
    m) seconds=$((10#${BASH_REMATCH[1]} * 60)) ;;
    *) seconds=$((10#${BASH_REMATCH[1]})) ;;
  esac
else
  usage_die "--max-run-duration must be like 90m, 6h or 3600, got '$duration'"
fi
if [ "$seconds" -lt 60 ]; then usage_die "--max-run-duration must be at least 60 s, got '$duration'"; fi
case "$engine" in batch|k8s) ;; *) usage_die "--engine takes batch or k8s, got '$engine'" ;; esac
job=${job:-tick-download-${start//-/}-${end//-/}-$(date -u +%H%M%S)}
check_name --job-name "$job"

cloud_defaults
need_var GCP_PROJECT_ID "the Google Cloud project the job runs in"
need_tool jq "it writes the job spec; apt-get install jq"
output=$(cloud_output_uri)
if [ -z "$IMAGE" ]; then IMAGE=$(image_ref tardis-download); fi
if [ "$DRY_RUN" != 1 ]; then
  if [ "$engine" = batch ]; then need_tool gcloud "install the Google Cloud CLI, or use --dry-run"; fi
  if [ "$engine" = k8s ]; then need_tool kubectl "install kubectl, or use --dry-run"; fi
fi

# The container arguments: the same for every task (the shard comes from the engine).
args=(--from "$start" --to "$end" --exchanges "$exchanges" --symbols "$symbols")
[ -z "$data_types" ] || args+=(--data-types "$data_types")
args+=(--log-format json)
args_json=$(printf '%s\n' "${args[@]}" | jq -R . | jq -sc .)

if [ -z "$spec_file" ]; then
  spec_file=$(mktemp --suffix "$([ "$engine" = k8s ] && echo .yaml || echo .json)" "${TMPDIR:-/tmp}/$job.XXXXXX")
  if [ "$DRY_RUN" != 1 ]; then trap 'rm -f "$spec_file"' EXIT; fi
fi

if [ "$engine" = batch ]; then
  # Cloud Batch job (REST v1 Job resource). BATCH_TASK_INDEX and BATCH_TASK_COUNT are not set
  # here on purpose: Batch sets them in every task and market-tick reads them.
  jq -n \
    --arg image "$IMAGE" --argjson args "$args_json" \
    --argjson tasks "$tasks" --argjson parallelism "$instances" --argjson retries "$retries" \
    --argjson retry_codes "$RETRY_EXIT_CODES" --arg duration "${seconds}s" \
    --arg output "$output" --arg project "$GCP_PROJECT_ID" --arg bucket "${GCS_BUCKET:-}" \
    --arg log_level "$LOG_LEVEL" --arg concurrency "$concurrency" --arg datasets_url "${TARDIS_DATASETS_URL:-}" \
    --arg secret "$(tardis_secret_ref)" --arg region "$GCP_REGION" --arg machine "$MACHINE_TYPE" \
    --arg provisioning "$provisioning" --arg sa "$(service_account)" \
    --arg start_date "$start" --arg end_date "$end" '
    {
      taskGroups: [{
        taskCount: $tasks,
        parallelism: $parallelism,
        taskCountPerNode: 1,
        taskSpec: {
          runnables: [{ container: { imageUri: $image, commands: $args } }],
          maxRunDuration: $duration,
          maxRetryCount: $retries,
          lifecyclePolicies: [{ action: "RETRY_TASK", actionCondition: { exitCodes: $retry_codes } }],
          environment: {
            variables: ({ OUTPUT_URI: $output, GCP_PROJECT_ID: $project, LOG_LEVEL: $log_level }
              + (if $bucket != "" then { GCS_BUCKET: $bucket } else {} end)
              + (if $concurrency != "" then { MAX_CONCURRENT_REQUESTS: $concurrency } else {} end)
              + (if $datasets_url != "" then { TARDIS_DATASETS_URL: $datasets_url } else {} end)),
            secretVariables: { TARDIS_API_KEY: $secret }
          }
        }
      }],
      allocationPolicy: {
        location: { allowedLocations: ["regions/" + $region] },
        instances: [{ policy: { machineType: $machine, provisioningModel: $provisioning } }],
        serviceAccount: { email: $sa },
        labels: { app: "market-tick", job: "tick-download" }
      },
      labels: { app: "market-tick", job: "tick-download",
                "start-date": ($start_date | gsub("-"; "")), "end-date": ($end_date | gsub("-"; "")) },
      logsPolicy: { destination: "CLOUD_LOGGING" }
    }' >"$spec_file"
  if [ "$DRY_RUN" = 1 ]; then
    printf '# Cloud Batch job spec (%s):\n' "$spec_file"
    cat "$spec_file"
  fi
  run gcloud batch jobs submit "$job" --project "$GCP_PROJECT_ID" --location "$GCP_REGION" --config "$spec_file"
else
  # Kubernetes Indexed Job: JOB_COMPLETION_INDEX comes from the Job controller, the count from
  # --shards, which must equal completions.
  template="$MT_ROOT/deploy/orchestration/k8s/tick-download-indexed-job.yaml"
  [ -r "$template" ] || die "missing $template"
  k8s_args=$(jq -c --argjson n "$tasks" '. + ["--shards", ($n | tostring)]' <<<"$args_json")
  yaml=$(<"$template")
  q() { jq -Rn --arg v "$1" '$v'; }  # a JSON string is a valid YAML scalar
  yaml=${yaml//__JOB_NAME__/"$job"}
  yaml=${yaml//__NAMESPACE__/"$(q "${K8S_NAMESPACE:-default}")"}
  yaml=${yaml//__IMAGE__/"$(q "$IMAGE")"}
  yaml=${yaml//__TASKS__/"$tasks"}
  yaml=${yaml//__PARALLELISM__/"$instances"}
  yaml=${yaml//__MAX_RETRIES__/"$retries"}
  yaml=${yaml//__ARGS__/"$k8s_args"}
  yaml=${yaml//__OUTPUT_URI__/"$(q "$output")"}
  yaml=${yaml//__PROJECT__/"$(q "$GCP_PROJECT_ID")"}
  yaml=${yaml//__LOG_LEVEL__/"$(q "$LOG_LEVEL")"}
  yaml=${yaml//__K8S_SERVICE_ACCOUNT__/"$(q "${K8S_SERVICE_ACCOUNT:-market-tick}")"}
  yaml=${yaml//__K8S_SECRET__/"$(q "${K8S_SECRET:-tardis-api-key}")"}
  # Drop the template's own header comments (they describe the tokens just replaced).
  printf '%s\n' "$yaml" | sed '/^# TEMPLATE/d' >"$spec_file"
  if [ "$DRY_RUN" = 1 ]; then
    printf '# Kubernetes Indexed Job (%s):\n' "$spec_file"
    cat "$spec_file"
  fi
  run kubectl apply -f "$spec_file"
fi

if [ "$DRY_RUN" = 1 ]; then
  printf '# dry run: nothing submitted; the spec is kept in %s\n' "$spec_file"
else
  say "$PROG: submitted $job: $tasks tasks, $instances at a time ($provisioning)"
  say "  follow it: deploy/orchestration/monitor-tick-download.sh --job $job$([ "$engine" = k8s ] && printf ' --engine k8s')"
fi
