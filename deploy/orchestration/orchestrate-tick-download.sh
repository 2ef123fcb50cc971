#!/usr/bin/env bash
# Submits a backfill as ONE Google Cloud Batch job: N shard tasks of the same container, P of
# them at a time on spot VMs. Task i runs `market-tick download` over the whole plan; the binary
# reads BATCH_TASK_INDEX/BATCH_TASK_COUNT, which Batch sets in every task, and takes its stable
# hash slice of the plan (docs/DEPLOYMENT.md, "How the fleet splits the work"). Many small shards beat a few big ones: the engine balances
# them over the VMs and retries a preempted or retryable (exit 3) task alone; a retried task
# skips every object that already exists, so it only redoes what was missing.
# Without --symbols the fleet is definition-driven: a one-task instruments job writes the
# instrument definitions of the range first, the script waits for it, and then the download
# tasks plan from those stored definitions with the same filters as `market-tick download`.
# --engine k8s renders the Kubernetes Indexed Job (k8s/tick-download-indexed-job.yaml) instead.
# --command derive submits the same shard tasks running `market-tick derive` instead: derived
# series computed from the raw Parquet already in the bucket (no Tardis request, no key, no
# instruments job), with the container's entrypoint set to the binary and the `derive` command.
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
# The binary in the tardis-download image (docker/tardis-download/Dockerfile); a derive job names
# it as the entrypoint, since the image's own is `market-tick download`.
MT_BINARY=/usr/local/bin/market-tick
# The derived names market-tick accepts (docs/DERIVED.md), checked here so that a typo stops the
# submission (exit 2) instead of failing every task.
DERIVED_RE='^(book_snapshot_[1-9][0-9]*(_grouped[0-9][0-9.]*)?_[0-9]+(ms|s|m)|trade_bar_[0-9][0-9.]*(ms|s|m|ticks|vol))$'
DERIVED_FORMS='book_snapshot_{depth}_{interval}, book_snapshot_{depth}_grouped{step}_{interval}, trade_bar_{interval}, trade_bar_{n}ticks or trade_bar_{volume}vol'

usage() {
  cat <<USAGE
usage: deploy/orchestration/orchestrate-tick-download.sh --start-date D --end-date D
         --exchanges a,b [--symbols s1,s2 | FILTERS] [--data-types t1,t2] [--derive LIST] [--instances 60]
         [--command download|derive [--force]]
         [--tasks N] [--job-name NAME] [--machine-type T] [--max-retries 10]
         [--max-run-duration 6h] [--concurrency N] [--image REF] [--no-spot]
         [--network N] [--subnetwork S] [--no-external-ip] [--allow-overlap] [--no-pin]
         [--engine batch|k8s] [--spec-file F] [--dry-run] [--help]

Submits one Cloud Batch job of N shard tasks (the "fleet" mode of docs/DEPLOYMENT.md).
  --start-date D, --end-date D  UTC days, inclusive
  --exchanges, --data-types, --symbols   as market-tick download (exchange:SYMBOL pins one)
  --derive LIST         derived series each task computes in the same pass, as market-tick
                        download --derive (book_snapshot_10_1s,trade_bar_1m; docs/DERIVED.md)
  --command C           what every task runs: download (default), or derive: market-tick
                        derive over the raw Parquet already in the bucket, computing the
                        --derive names (or derived names in --data-types) of the range without
                        downloading anything. --exchanges is then optional (default: every
                        exchange stored), FILTERS select among the stored raw objects, no
                        instruments job runs, the tasks get no Tardis key, and --concurrency
                        is derive's items at once. The job is labelled tick-derive and is
                        refused while a download, instruments or derive job that is not
                        finished covers some of the same days (--allow-overlap)
  --force               with --command derive: recompute and replace the derived objects that
                        exist (after an upgrade that changes a series); a retried task then
                        redoes its whole shard

A download without --symbols takes its instruments from the stored instrument definitions of
each day (docs/INSTRUMENTS.md). A one-task job (image instrument-generation) writes them for the
range first; the script waits for it to succeed, then submits the download job. FILTERS, as
market-tick download:
  --instrument-types T  spot, perpetual, future, option (comma-separated)
  --base A, --quote A   base / quote assets, e.g. BTC,ETH / USDT,USDC
  --max-days-to-expiry N  futures and options expiring within N days of the day
  --max-instruments N   at most N instruments per day, in key order
  --skip-instruments    the definitions exist already: submit the download job only
  --instruments-image REF  default \$IMAGE_REPO/instrument-generation:\$IMAGE_TAG
  --poll SECONDS        how often to check the instruments job (default 30)

  --instances P       VMs at a time = task parallelism (default 60)
  --tasks N           shard tasks (default 10 x instances); N >= P
  --job-name NAME     default tick-download-STARTDATE-ENDDATE-HHMMSS (tick-derive-... with
                      --command derive; the instruments job is NAME-inst)
  --machine-type T    default \$MACHINE_TYPE or e2-standard-4 (one task per VM)
  --max-retries R     retries per task, 0-10 (default 10, the most Batch allows): spot
                      preemptions and exit 3/130 share this one budget, and a retry only
                      redoes the objects that are missing; the back-off between requests is
                      inside market-tick (RETRY_* settings), Batch retries at once
  --max-run-duration  per task attempt: 90m, 6h or seconds (default 6h); on Kubernetes the
                      pod's activeDeadlineSeconds
  --concurrency N     files in flight per task (MAX_CONCURRENT_REQUESTS); with --command
                      derive, items at once (derive --concurrency, default 2)
  --image REF         default \$IMAGE_REPO/tardis-download:\$IMAGE_TAG
  --no-pin            keep image tags as they are; by default each image is resolved to its
                      digest (gcloud artifacts docker images describe) at submission, so every
                      task and retry runs the same build even if the tag moves, and an image
                      that was never pushed stops the submission (REF@sha256:... is kept)
  --no-spot           standard VMs instead of spot (about 3x the price, never preempted)
  --network N         VPC network of the VMs (a name or projects/P/global/networks/N);
                      needed in projects without a "default" network
  --subnetwork S      its subnetwork (a name in GCP_REGION or projects/P/regions/R/subnetworks/S)
  --no-external-ip    VMs without external IP addresses: no IN_USE_ADDRESSES quota per VM; the
                      subnetwork then needs Cloud NAT (Tardis) and Private Google Access
  --allow-overlap     submit even when a queued or running market-tick job covers some of
                      the same days (refused by default: it would download the same objects)
  --engine E          batch (default) or k8s: render and apply the Indexed Job with kubectl
  --spec-file F       where to write the job spec (default: a temporary file); the
                      instruments job's spec goes next to it (F with .instruments before
                      the extension)
  --dry-run           print the job specs and the gcloud/kubectl commands, run nothing; with
                      a market-tick binary (MARKET_TICK_BIN, PATH or build/) also the plan
                      size, the shard sizes and the expected object count
  -h, --help          this help

environment (required): GCP_PROJECT_ID, IMAGE_REPO (unless --image), GCS_BUCKET or
  OUTPUT_URI=gs://bucket/prefix
environment (optional): GCP_REGION (us-central1), IMAGE_TAG (latest), TARDIS_SECRET (Secret
  Manager secret holding the Tardis key, default tardis-api-key), SERVICE_ACCOUNT (default
  market-tick-runner@\$GCP_PROJECT_ID.iam.gserviceaccount.com), LOG_LEVEL (info),
  OUTPUT_LAYOUT (by_date or hive, market-tick's --layout, passed to every task; unset, a new
  store is by_date and an existing one keeps the layout it records),
  K8S_SERVICE_ACCOUNT (market-tick), K8S_SECRET (tardis-api-key), K8S_NAMESPACE (default)
exit status: 0 submitted (or dry run), 1 the instruments job did not succeed (nothing else
  submitted) or a gcloud/kubectl call failed, 2 usage or configuration error, or a job that
  is not finished covers some of the same days
Then: deploy/orchestration/monitor-tick-download.sh --job NAME
USAGE
}

start="" end="" exchanges="" data_types="" derive="" symbols="" instances=60 tasks="" job="" retries=10
duration=6h concurrency="" IMAGE="" provisioning=SPOT engine=batch spec_file=""
itypes="" base="" quote="" max_dte="" max_inst="" skip_inst=0 INST_IMAGE="" poll=30
network="" subnetwork="" no_external_ip=0 allow_overlap=0 pin=1 command=download force=0
while [ $# -gt 0 ]; do
  case "$1" in --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}"; continue ;; esac
  case "$1" in
    --start-date|--end-date|--exchanges|--data-types|--derive|--symbols|--instances|--tasks|--job-name|\
    --machine-type|--max-retries|--max-run-duration|--concurrency|--image|--engine|--spec-file|\
    --instrument-types|--base|--quote|--max-days-to-expiry|--max-instruments|--instruments-image|\
    --poll|--network|--subnetwork|--command)
      need_value "$1" $# ;;
  esac
  case "$1" in
    --start-date) start=$2; shift 2 ;;
    --end-date) end=$2; shift 2 ;;
    --exchanges) exchanges=$2; shift 2 ;;
    --data-types) data_types=$2; shift 2 ;;
    --derive) derive=$2; shift 2 ;;
    --symbols) symbols=$2; shift 2 ;;
    --instrument-types) itypes=$2; shift 2 ;;
    --base) base=$2; shift 2 ;;
    --quote) quote=$2; shift 2 ;;
    --max-days-to-expiry) check_int "$1" "$2" 0 100000; max_dte=$2; shift 2 ;;
    --max-instruments) check_int "$1" "$2" 1 100000000; max_inst=$2; shift 2 ;;
    --skip-instruments) skip_inst=1; shift ;;
    --instruments-image) INST_IMAGE=$2; shift 2 ;;
    --poll) check_int "$1" "$2" 1 3600; poll=$2; shift 2 ;;
    --instances) check_int "$1" "$2" 1 5000; instances=$2; shift 2 ;;
    --tasks) check_int "$1" "$2" 1 100000; tasks=$2; shift 2 ;;
    --job-name) job=$2; shift 2 ;;
    --machine-type) MACHINE_TYPE=$2; shift 2 ;;
    --max-retries) check_int "$1" "$2" 0 10; retries=$2; shift 2 ;;
    --max-run-duration) duration=$2; shift 2 ;;
    --concurrency) check_int "$1" "$2" 1 256; concurrency=$2; shift 2 ;;
    --image) IMAGE=$2; shift 2 ;;
    --no-spot) provisioning=STANDARD; shift ;;
    --network) network=$2; shift 2 ;;
    --subnetwork) subnetwork=$2; shift 2 ;;
    --no-external-ip) no_external_ip=1; shift ;;
    --allow-overlap) allow_overlap=1; shift ;;
    --force) force=1; shift ;;
    --no-pin) pin=0; shift ;;
    --engine) engine=$2; shift 2 ;;
    --command) command=$2; shift 2 ;;
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
case "$command" in download|derive) ;; *) usage_die "--command takes download or derive, got '$command'" ;; esac
if [ "$force" = 1 ] && [ "$command" != derive ]; then
  usage_die "--force goes with --command derive (a download job skips the objects that exist, so that a retry only redoes what is missing)"
fi
# A derive job without --exchanges reads the stored raw objects of every exchange.
[ -n "$exchanges" ] || [ "$command" = derive ] || usage_die "--exchanges is required"
[ -z "$exchanges" ] || check_list --exchanges "$exchanges"
[ -z "$data_types" ] || check_list --data-types "$data_types"
names=()  # the derived names a task computes
if [ -n "$derive" ]; then
  check_list --derive "$derive"
  for d in ${derive//,/ }; do
    [[ "$d" =~ $DERIVED_RE ]] || usage_die "--derive: '$d' is not $DERIVED_FORMS"
    names+=("$d")
  done
fi
# source_of NAME: the raw data type a derived name is computed from.
source_of() { case "$1" in book_snapshot_*) printf 'incremental_book_L2' ;; *) printf 'trades' ;; esac; }
if [ "$command" = download ]; then
  for t in ${data_types//,/ }; do
    if [[ "$t" =~ $DERIVED_RE ]]; then
      usage_die "--data-types: '$t' is a derived name: give it in --derive (computed in the same pass), or submit --command derive to compute it from the raw data already stored"
    fi
  done
else
  # As market-tick derive: derived names in --data-types too; a Tardis data type there must be
  # the source of one of the names (derive reads nothing else).
  raw_types=()
  for t in ${data_types//,/ }; do
    if [[ "$t" =~ $DERIVED_RE ]]; then names+=("$t")
    else
      case "$t" in incremental_book_L2|trades) raw_types+=("$t") ;;
        *) usage_die "--data-types: '$t' is neither a derived name ($DERIVED_FORMS) nor the source of one (incremental_book_L2, trades)" ;;
      esac
    fi
  done
  [ "${#names[@]}" -gt 0 ] ||
    usage_die "--command derive needs the derived names to compute: --derive LIST or derived names in --data-types ($DERIVED_FORMS)"
  sources=""
  for d in "${names[@]}"; do
    s=$(source_of "$d")
    [[ ",$sources," == *",$s,"* ]] || sources+="${sources:+,}$s"
  done
  for t in "${raw_types[@]}"; do
    [[ ",$sources," == *",$t,"* ]] ||
      usage_die "--data-types: no derived name given is computed from $t (book snapshots come from incremental_book_L2, trade bars from trades)"
  done
fi
filters=()
if [ -n "$itypes" ]; then
  check_list --instrument-types "$itypes"
  for t in ${itypes//,/ }; do
    case "$t" in spot|perpetual|future|option) ;; *) usage_die "--instrument-types takes spot, perpetual, future, option; got '$t'" ;; esac
  done
  filters+=(--instrument-types "$itypes")
fi
if [ -n "$base" ]; then check_list --base "$base"; filters+=(--base "$base"); fi
if [ -n "$quote" ]; then check_list --quote "$quote"; filters+=(--quote "$quote"); fi
if [ -n "$max_dte" ]; then filters+=(--max-days-to-expiry "$max_dte"); fi
if [ -n "$max_inst" ]; then filters+=(--max-instruments "$max_inst"); fi
if [ -n "$symbols" ]; then
  check_list --symbols "$symbols"
  [ "${#filters[@]}" = 0 ] || usage_die "--instrument-types, --base, --quote, --max-days-to-expiry and --max-instruments select from the stored definitions: drop --symbols to use them"
  if [ "$skip_inst" = 1 ] || [ -n "$INST_IMAGE" ]; then usage_die "--skip-instruments and --instruments-image are for runs without --symbols"; fi
  mode=symbols
  if [ "$command" = derive ] && [ -z "$exchanges" ]; then
    # Without --exchanges a bare symbol has no exchange to pair it with: refused here, not by every task.
    for s in ${symbols//,/ }; do
      [[ "$s" == *:* ]] || usage_die "--symbols: '$s' names no exchange: pin it (exchange:$s) or give --exchanges"
    done
  fi
else
  mode=definitions
fi
if [ "$command" = derive ] && { [ "$skip_inst" = 1 ] || [ -n "$INST_IMAGE" ]; }; then
  usage_die "--skip-instruments and --instruments-image are for download jobs: a derive job reads the raw objects already stored and runs no instruments job"
fi
if [ -n "$subnetwork" ] && [[ "$subnetwork" != projects/* ]]; then check_name --subnetwork "$subnetwork"; fi
if [ -n "$network" ] && [[ "$network" != projects/* ]]; then check_name --network "$network"; fi
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
if [ "$engine" = k8s ] && { [ -n "$network$subnetwork" ] || [ "$no_external_ip" = 1 ]; }; then
  usage_die "--network, --subnetwork and --no-external-ip are Batch settings; a GKE cluster has its own network"
fi
job=${job:-tick-$command-${start//-/}-${end//-/}-$(date -u +%H%M%S)}
check_name --job-name "$job"
inst_job="$job-inst"
if [ "$command" = download ] && [ "$mode" = definitions ] && [ "$skip_inst" = 0 ]; then
  [ "${#inst_job}" -le 63 ] || usage_die "--job-name must be at most 58 characters without --symbols (the instruments job is NAME-inst)"
fi

cloud_defaults
need_var GCP_PROJECT_ID "the Google Cloud project the job runs in"
need_tool jq "it writes the job spec; apt-get install jq"
output=$(cloud_output_uri)
if [ -z "$IMAGE" ]; then IMAGE=$(image_ref tardis-download); fi
with_inst=0
if [ "$command" = download ] && [ "$mode" = definitions ] && [ "$skip_inst" = 0 ]; then
  with_inst=1
  if [ -z "$INST_IMAGE" ]; then INST_IMAGE=$(image_ref instrument-generation); fi
fi
if [ "$DRY_RUN" != 1 ]; then
  if [ "$engine" = batch ] || [ "$pin" = 1 ]; then need_tool gcloud "install the Google Cloud CLI (or --no-pin on Kubernetes), or use --dry-run"; fi
  if [ "$engine" = k8s ]; then need_tool kubectl "install kubectl, or use --dry-run"; fi
fi

# pin_image REF: sets PINNED to REF@sha256:... of the image the tag points at now. A tag such as latest can move
# while a fleet runs; a digest makes every task and every retry run the same build.
pin_image() {
  local ref=$1 digest
  PINNED=$ref
  case "$ref" in *@sha256:*) return ;; esac
  if [ "$pin" = 0 ]; then return; fi
  if [ "$DRY_RUN" = 1 ]; then
    printf '# the tag is resolved to its digest at submission (--no-pin keeps it):\n'
    show_cmd gcloud artifacts docker images describe "$ref" --format "value(image_summary.digest)"
    return
  fi
  digest=$(run gcloud artifacts docker images describe "$ref" --format "value(image_summary.digest)") || digest=""
  if ! [[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]]; then
    printf '%s: error: could not resolve the image %s to a digest: is it pushed (deploy/local/build-all.sh --push or --cloud-build)? Give --image REF@sha256:..., or --no-pin for a registry other than Artifact Registry\n' "$PROG" "$ref" >&2
    exit 2
  fi
  local name=${ref%@*}
  # The tag goes (REPO/NAME:TAG -> REPO/NAME); a ":" before the last "/" is a registry port.
  if [[ "${name##*/}" == *:* ]]; then name=${name%:*}; fi
  PINNED="$name@$digest"
}
pin_image "$IMAGE"
IMAGE=$PINNED
if [ "$with_inst" = 1 ]; then pin_image "$INST_IMAGE"; INST_IMAGE=$PINNED; fi

# The container arguments: the same for every task (the shard comes from the engine).
args=(--from "$start" --to "$end")
[ -z "$exchanges" ] || args+=(--exchanges "$exchanges")
if [ "$mode" = symbols ]; then args+=(--symbols "$symbols"); else args+=("${filters[@]}"); fi
[ -z "$data_types" ] || args+=(--data-types "$data_types")
[ -z "$derive" ] || args+=(--derive "$derive")
# derive has no MAX_CONCURRENT_REQUESTS (it requests nothing): its items at once are a flag.
if [ "$command" = derive ] && [ -n "$concurrency" ]; then args+=(--concurrency "$concurrency"); fi
if [ "$force" = 1 ]; then args+=(--force); fi
args+=(--log-format json)
args_json=$(printf '%s\n' "${args[@]}" | jq -R . | jq -sc .)
# The instruments job: every definition of the range (the filters apply when planning).
inst_args_json=$(printf '%s\n' --from "$start" --to "$end" --exchanges "$exchanges" --log-format json | jq -R . | jq -sc .)

ext=$([ "$engine" = k8s ] && echo yaml || echo json)
if [ -z "$spec_file" ]; then
  spec_file=$(mktemp --suffix ".$ext" "${TMPDIR:-/tmp}/$job.XXXXXX")
  inst_spec=$(mktemp --suffix ".instruments.$ext" "${TMPDIR:-/tmp}/$job.XXXXXX")
  if [ "$DRY_RUN" != 1 ]; then trap 'rm -f "$spec_file" "$inst_spec"' EXIT; fi
else
  case "$spec_file" in
    *.*) inst_spec="${spec_file%.*}.instruments.${spec_file##*.}" ;;
    *) inst_spec="$spec_file.instruments" ;;
  esac
fi

# ---- refuse a second fleet over days a queued or running one already covers ----------------------
# Two jobs over the same objects pay twice for the same downloads (create-only storage keeps
# the data right, not the bill). The check is by date range; --allow-overlap when the other
# job covers other exchanges or symbols. A running instruments job counts too: its download
# job is about to follow.
# A derive job is checked against download, instruments and derive jobs: a download that is
# not finished is still writing the raw objects each derive task lists when it starts (the
# derived series of those written later would be silently left out), and two derive jobs
# compute the same derived objects twice. A download job is not checked against derive jobs:
# it downloads nothing they download, and its derived objects are create-only.
check_overlap() {
  local listing clash jobs="labels.job=tick-download OR labels.job=instrument-generation" k8s_jobs="tick-download,instrument-generation"
  # (The listing's own label filter decides; the same rule is applied to its answer.)
  if [ "$command" = derive ]; then jobs+=" OR labels.job=tick-derive"; k8s_jobs+=",tick-derive"; fi
  if [ "$engine" = batch ]; then
    listing=$(run gcloud batch jobs list --project "$GCP_PROJECT_ID" --location "$GCP_REGION" \
      --filter "labels.app=market-tick AND ($jobs) AND (status.state=QUEUED OR status.state=SCHEDULED OR status.state=RUNNING)" \
      --format json)
    [ "$DRY_RUN" = 1 ] && { printf '%s\n' "$listing"; return 0; }
    clash=$(jq -r --arg from "${start//-/}" --arg to "${end//-/}" --arg command "$command" '
      .[]? | select($command == "derive" or .labels.job != "tick-derive")
      | select((.labels["start-date"] // "") <= $to and (.labels["end-date"] // "99999999") >= $from)
      | "\(.name | split("/") | last) (\(.status.state // "?"), \(.labels["start-date"] // "?")..\(.labels["end-date"] // "?")\(if .labels.job == "tick-derive" then ", a derive job" else "" end))"' <<<"${listing:-[]}") ||
      die "could not read the list of running jobs (gcloud batch jobs list); --allow-overlap skips this check"
  else
    listing=$(run kubectl get jobs --namespace "${K8S_NAMESPACE:-default}" -l "app=market-tick,job in ($k8s_jobs)" -o json)
    [ "$DRY_RUN" = 1 ] && { printf '%s\n' "$listing"; return 0; }
    clash=$(jq -r --arg from "$start" --arg to "$end" --arg command "$command" '
      .items[]? | select($command == "derive" or .metadata.labels.job != "tick-derive")
      | select(all(.status.conditions[]?; (.type != "Complete" and .type != "Failed") or .status != "True"))
      | (.spec.template.spec.containers[0].args // []) as $a
      | ($a | index("--from")) as $i | ($a | index("--to")) as $j
      | select($i != null and $j != null and $a[$i + 1] <= $to and $a[$j + 1] >= $from)
      | "\(.metadata.name) (active, \($a[$i + 1])..\($a[$j + 1])\(if .metadata.labels.job == "tick-derive" then ", a derive job" else "" end))"' <<<"${listing:-{\}}") ||
      die "could not read the list of running jobs (kubectl get jobs); --allow-overlap skips this check"
  fi
  if [ -n "$clash" ]; then
    printf '%s: error: a market-tick job that is not finished covers days of %s..%s:\n%s\n' "$PROG" "$start" "$end" "$clash" >&2
    if [ "$command" = derive ]; then
      printf '  its tasks would miss raw objects still being downloaded, or compute the same derived objects\n  twice; wait for it (monitor-tick-download.sh --job NAME), cancel it, or pass --allow-overlap\n  when it covers other exchanges or symbols\n' >&2
    else
      printf '  it would download the same objects again; wait for it (monitor-tick-download.sh --job NAME),\n  cancel it, or pass --allow-overlap when it covers other exchanges or symbols\n' >&2
    fi
    exit 2
  fi
}
if [ "$allow_overlap" = 0 ]; then check_overlap; fi

# ---- job specs -------------------------------------------------------------------------------------
# write_batch_spec FILE IMAGE ARGS_JSON TASKS PARALLELISM LABEL_JOB COMMAND_JSON: the Cloud Batch
# job (REST v1 Job resource). BATCH_TASK_INDEX and BATCH_TASK_COUNT are not set here on purpose:
# Batch sets them in every task and market-tick reads them. COMMAND_JSON, when not empty, replaces
# the image's entrypoint: [BINARY, SUBCOMMAND] becomes the container's entrypoint BINARY and
# commands [SUBCOMMAND, ARGS...]; such a task (derive) talks to no Tardis server, so it gets
# neither the key nor the download settings.
write_batch_spec() {
  local fetches=true
  [ -z "$7" ] || fetches=false
  jq -n \
    --arg image "$2" --argjson args "$3" --argjson command "${7:-null}" --argjson fetches "$fetches" \
    --argjson tasks "$4" --argjson parallelism "$5" --arg label_job "$6" --argjson retries "$retries" \
    --argjson retry_codes "$RETRY_EXIT_CODES" --arg duration "${seconds}s" \
    --arg output "$output" --arg project "$GCP_PROJECT_ID" --arg bucket "${GCS_BUCKET:-}" \
    --arg log_level "$LOG_LEVEL" --arg layout "${OUTPUT_LAYOUT:-}" --arg concurrency "$concurrency" --arg datasets_url "${TARDIS_DATASETS_URL:-}" \
    --arg secret "$(tardis_secret_ref)" --arg region "$GCP_REGION" --arg machine "$MACHINE_TYPE" \
    --arg provisioning "$provisioning" --arg sa "$(service_account)" \
    --arg network "$network" --arg subnetwork "$subnetwork" --argjson no_external_ip "$([ "$no_external_ip" = 1 ] && echo true || echo false)" \
    --arg start_date "$start" --arg end_date "$end" '
    {
      taskGroups: [{
        taskCount: $tasks,
        parallelism: $parallelism,
        taskCountPerNode: 1,
        taskSpec: {
          runnables: [{ container: ({ imageUri: $image }
            + (if $command != null then { entrypoint: $command[0], commands: ($command[1:] + $args) }
               else { commands: $args } end)) }],
          maxRunDuration: $duration,
          maxRetryCount: $retries,
          lifecyclePolicies: [{ action: "RETRY_TASK", actionCondition: { exitCodes: $retry_codes } }],
          environment: ({
            variables: ({ OUTPUT_URI: $output, GCP_PROJECT_ID: $project, LOG_LEVEL: $log_level }
              + (if $bucket != "" then { GCS_BUCKET: $bucket } else {} end)
              + (if $layout != "" then { OUTPUT_LAYOUT: $layout } else {} end)
              + (if $fetches and $concurrency != "" then { MAX_CONCURRENT_REQUESTS: $concurrency } else {} end)
              + (if $fetches and $datasets_url != "" then { TARDIS_DATASETS_URL: $datasets_url } else {} end))
          } + (if $fetches then { secretVariables: { TARDIS_API_KEY: $secret } } else {} end))
        }
      }],
      allocationPolicy: ({
        location: { allowedLocations: ["regions/" + $region] },
        instances: [{ policy: { machineType: $machine, provisioningModel: $provisioning } }],
        serviceAccount: { email: $sa },
        labels: { app: "market-tick", job: $label_job }
      } + (if $network != "" or $subnetwork != "" or $no_external_ip then
        { network: { networkInterfaces: [
          (if $network != "" then { network: (if ($network | startswith("projects/")) then $network
                                              else "projects/\($project)/global/networks/\($network)" end) } else {} end)
          + (if $subnetwork != "" then { subnetwork: (if ($subnetwork | startswith("projects/")) then $subnetwork
                                              else "projects/\($project)/regions/\($region)/subnetworks/\($subnetwork)" end) } else {} end)
          + (if $no_external_ip then { noExternalIpAddress: true } else {} end) ] } }
        else {} end)),
      labels: { app: "market-tick", job: $label_job,
                "start-date": ($start_date | gsub("-"; "")), "end-date": ($end_date | gsub("-"; "")) },
      logsPolicy: { destination: "CLOUD_LOGGING" }
    }' >"$1"
}

# write_k8s_spec FILE NAME IMAGE ARGS_JSON COMPLETIONS PARALLELISM LABEL_JOB WHAT COMMAND_JSON: the
# Indexed Job. JOB_COMPLETION_INDEX comes from the Job controller; a task's count comes from
# --shards, which must equal completions. COMMAND_JSON, when not empty, is the container's
# `command` (it replaces the image's entrypoint; `args` follow it); such a task (derive) talks to
# no Tardis server, so the lines that mount the key's Secret (marked KEY) are dropped and the
# Job does not need that Secret.
write_k8s_spec() {
  local template="$MT_ROOT/deploy/orchestration/k8s/tick-download-indexed-job.yaml" yaml
  [ -r "$template" ] || die "missing $template"
  yaml=$(<"$template")
  q() { jq -Rn --arg v "$1" '$v'; }  # a JSON string is a valid YAML scalar
  yaml=${yaml//__JOB_NAME__/"$2"}
  yaml=${yaml//__LABEL_JOB__/"$7"}
  yaml=${yaml//__NAMESPACE__/"$(q "${K8S_NAMESPACE:-default}")"}
  yaml=${yaml//__IMAGE__/"$(q "$3")"}
  yaml=${yaml//__TASKS__/"$5"}
  yaml=${yaml//__PARALLELISM__/"$6"}
  yaml=${yaml//__MAX_RETRIES__/"$retries"}
  yaml=${yaml//__DEADLINE__/"$seconds"}
  yaml=${yaml//__ARGS__/"$4"}
  yaml=${yaml//__COMMAND__/"${9:-[]}"}
  yaml=${yaml//__OUTPUT_URI__/"$(q "$output")"}
  yaml=${yaml//__PROJECT__/"$(q "$GCP_PROJECT_ID")"}
  yaml=${yaml//__LOG_LEVEL__/"$(q "$LOG_LEVEL")"}
  yaml=${yaml//__OUTPUT_LAYOUT__/"$(q "${OUTPUT_LAYOUT:-}")"}
  yaml=${yaml//__K8S_SERVICE_ACCOUNT__/"$(q "${K8S_SERVICE_ACCOUNT:-market-tick}")"}
  yaml=${yaml//__K8S_SECRET__/"$(q "${K8S_SECRET:-tardis-api-key}")"}
  # Drop the template's own header comments (they describe the tokens just replaced); on
  # standard nodes (--no-spot) drop the spot node selector and toleration; without a command
  # the image's entrypoint runs (drop the COMMAND line); a command's task needs no key (drop
  # the KEY lines); without OUTPUT_LAYOUT the store's own layout applies (drop the LAYOUT
  # lines). The markers of the lines kept go.
  local drop='/^# TEMPLATE/d'
  if [ -z "${OUTPUT_LAYOUT:-}" ]; then drop+='; /# LAYOUT$/d'; fi
  if [ "$provisioning" != SPOT ]; then drop+='; /# SPOT$/d'; fi
  if [ -z "${9:-}" ]; then drop+='; /# COMMAND$/d'; else drop+='; /# KEY$/d'; fi
  printf '%s\n' "$yaml" | sed -E "$drop; s/ *# (SPOT|COMMAND|KEY|LAYOUT)\$//" >"$1"
}

# write_spec FILE NAME IMAGE ARGS_JSON TASKS PARALLELISM LABEL_JOB WHAT [COMMAND_JSON], printed
# in a dry run.
write_spec() {
  if [ "$engine" = batch ]; then write_batch_spec "$1" "$3" "$4" "$5" "$6" "$7" "${9:-}"
  else write_k8s_spec "$@"; fi
  if [ "$DRY_RUN" = 1 ]; then
    printf '# %s (%s):\n' "$8" "$1"
    cat "$1"
  fi
}
submit() {  # submit FILE NAME
  if [ "$engine" = batch ]; then
    run gcloud batch jobs submit "$2" --project "$GCP_PROJECT_ID" --location "$GCP_REGION" --config "$1"
  else
    run kubectl apply -f "$1"
  fi
}

# wait_for_job NAME: polls the engine until the job has ended; returns when it succeeded, exits 1
# (nothing more submitted) when it did not.
wait_for_job() {
  local state json
  if [ "$DRY_RUN" = 1 ]; then
    if [ "$engine" = batch ]; then
      printf '# then, every %s s until it is SUCCEEDED (any other final state stops here, exit 1):\n' "$poll"
      show_cmd gcloud batch jobs describe "$1" --project "$GCP_PROJECT_ID" --location "$GCP_REGION" --format "value(status.state)"
    else
      printf '# then, every %s s until its Complete condition is True (Failed stops here, exit 1):\n' "$poll"
      show_cmd kubectl get job "$1" --namespace "${K8S_NAMESPACE:-default}" -o json
    fi
    return 0
  fi
  say "$PROG: waiting for $1 (the instrument definitions of $start..$end), checking every $poll s"
  while :; do
    if [ "$engine" = batch ]; then
      state=$(gcloud batch jobs describe "$1" --project "$GCP_PROJECT_ID" --location "$GCP_REGION" --format "value(status.state)") ||
        die "could not read the state of $1"
    else
      json=$(kubectl get job "$1" --namespace "${K8S_NAMESPACE:-default}" -o json) || die "could not read the state of $1"
      state=$(jq -r 'if any(.status.conditions[]?; .type == "Complete" and .status == "True") then "SUCCEEDED"
        elif any(.status.conditions[]?; .type == "Failed" and .status == "True") then "FAILED" else "RUNNING" end' <<<"$json")
    fi
    case "$state" in
      SUCCEEDED) say "$PROG: $1 succeeded"; return 0 ;;
      FAILED|CANCELLED|CANCELLATION_IN_PROGRESS|DELETION_IN_PROGRESS)
        say "$PROG: error: $1 ended $state: the download job was not submitted"
        say "  its log: deploy/orchestration/monitor-tick-download.sh --job $1$([ "$engine" = k8s ] && printf ' --engine k8s') --logs"
        exit 1 ;;
    esac
    sleep "$poll"
  done
}

# ---- dry run: what the fleet will do -------------------------------------------------------------
# The plan as market-tick computes it (the same binary logic the tasks run), when a binary is at
# hand; with stored definitions it needs them to exist already.
plan_summary() {
  local bin=${MARKET_TICK_BIN:-}
  if [ -z "$bin" ]; then
    if command -v market-tick >/dev/null 2>&1; then bin=market-tick
    elif [ -x "$MT_ROOT/build/market-tick" ]; then bin="$MT_ROOT/build/market-tick"; fi
  fi
  local plan_cmd=(plan --from "$start" --to "$end" --exchanges "$exchanges")
  if [ "$mode" = symbols ]; then plan_cmd+=(--symbols "$symbols"); else plan_cmd+=("${filters[@]}" --output "$output"); fi
  [ -z "$data_types" ] || plan_cmd+=(--data-types "$data_types")
  [ -z "$derive" ] || plan_cmd+=(--derive "$derive")
  plan_cmd+=(--shards "$tasks")
  if [ -z "$bin" ]; then
    printf '# plan: not computed (no market-tick binary: set MARKET_TICK_BIN); see it with:\n'
    show_cmd market-tick "${plan_cmd[@]}"
    return
  fi
  local out err rc=0
  err=$(mktemp)
  out=$("$bin" "${plan_cmd[@]}" 2>"$err") || rc=$?
  if [ "$rc" != 0 ]; then
    printf '# plan: not computed yet (market-tick plan exited %s: %s)\n' "$rc" "$(grep -v '^[DIW] ' "$err" | head -n1 | cut -c1-300)"
    if [ "$with_inst" = 1 ]; then printf '#   the instruments job writes the definitions it needs; after it, see the plan with:\n'; fi
    show_cmd market-tick "${plan_cmd[@]}"
    rm -f "$err"
    return
  fi
  rm -f "$err"
  local items sizes derived
  items=$(sed -n -E 's/^([0-9]+) items( and [0-9]+ derived items)?$/\1/p' <<<"$out" | tail -n1)
  derived=$(sed -n -E 's/^[0-9]+ items and ([0-9]+) derived items$/\1/p' <<<"$out" | tail -n1)
  sizes=$(sed -n -E 's/^([0-9]+ shards: .*)$/\1/p' <<<"$out" | tail -n1)
  printf '# plan: %s items (day x data type x instrument), %s shard tasks\n' "${items:-?}" "$tasks"
  [ -z "$sizes" ] || printf '# shard sizes: %s\n' "${sizes#* shards: }"
  printf '# expected objects: %s Parquet files under %s/raw_tick_data/ (one per item)\n' "${items:-?}" "${output%/}"
  if [ -n "$derive" ]; then
    printf '# expected derived objects: %s Parquet files under %s/derived_data/ (one per item and derived name of\n#   its data type; those of grouped items, one per instrument, are not counted)\n' \
      "${derived:-0}" "${output%/}"
  fi
  if [ -n "$items" ] && [ "$items" -lt "$tasks" ]; then
    printf '# note: fewer items than tasks: %s tasks will have nothing to do (lower --tasks)\n' "$((tasks - items))"
  fi
  # The cost: a sample of the Tardis file sizes (HEAD requests, nothing downloaded; docs/ESTIMATES.md).
  local est
  err=$(mktemp)
  rc=0
  est=$("$bin" "${plan_cmd[@]}" --estimate 2>"$err") || rc=$?
  if [ "$rc" = 0 ]; then
    grep '^estimate: ' <<<"$est" | sed 's/^/# /'
    # Machine-hours spread over the instances that run at once (shards balance to within a few %).
    sed -n -E 's/^estimate: ([0-9.]+) machine-hours .*/\1/p' <<<"$est" | head -n1 |
      awk -v n="$instances" '{ printf "# estimate: about %.2f hours of wall time on %d instances\n", $1 / n, n }'
  else
    printf '# estimate: not computed (market-tick plan --estimate exited %s: %s)\n' "$rc" \
      "$(grep -v '^[DIW] ' "$err" | head -n1 | cut -c1-300)"
  fi
  rm -f "$err"
}

# derive_summary: what the derive tasks will read and write. With --symbols their items are those
# download plans for the names' source data types (sized here by market-tick plan); without, each
# task lists the raw objects stored in the bucket, which only the tasks themselves read.
derive_summary() {
  local bin=${MARKET_TICK_BIN:-} names_csv
  names_csv=$(IFS=,; printf '%s' "${names[*]}")
  if [ "$mode" != symbols ]; then
    printf '# plan: each task lists the raw objects of %s stored under %s/raw_tick_data/ for %s..%s%s\n' \
      "$sources" "${output%/}" "$start" "$end" "${exchanges:+ ($exchanges)}"
    printf '#   and computes %s for the items of its shard (the plan is the bucket'"'"'s listing: not sized here)\n' "$names_csv"
    printf '# expected derived objects: one per raw object and name of its data type, under %s/derived_data/\n' "${output%/}"
    return
  fi
  if [ -z "$bin" ]; then
    if command -v market-tick >/dev/null 2>&1; then bin=market-tick
    elif [ -x "$MT_ROOT/build/market-tick" ]; then bin="$MT_ROOT/build/market-tick"; fi
  fi
  local plan_cmd=(plan --from "$start" --to "$end")
  [ -z "$exchanges" ] || plan_cmd+=(--exchanges "$exchanges")
  plan_cmd+=(--symbols "$symbols" --data-types "$sources" --derive "$names_csv" --shards "$tasks")
  if [ -z "$bin" ]; then
    printf '# plan: not computed (no market-tick binary: set MARKET_TICK_BIN); see it with:\n'
    show_cmd market-tick "${plan_cmd[@]}"
    return
  fi
  local out err rc=0 items derived sizes
  err=$(mktemp)
  out=$("$bin" "${plan_cmd[@]}" 2>"$err") || rc=$?
  if [ "$rc" != 0 ]; then
    printf '# plan: not computed (market-tick plan exited %s: %s)\n' "$rc" "$(grep -v '^[DIW] ' "$err" | head -n1 | cut -c1-300)"
    show_cmd market-tick "${plan_cmd[@]}"
    rm -f "$err"
    return
  fi
  rm -f "$err"
  items=$(sed -n -E 's/^([0-9]+) items( and [0-9]+ derived items)?$/\1/p' <<<"$out" | tail -n1)
  derived=$(sed -n -E 's/^[0-9]+ items and ([0-9]+) derived items$/\1/p' <<<"$out" | tail -n1)
  sizes=$(sed -n -E 's/^([0-9]+ shards: .*)$/\1/p' <<<"$out" | tail -n1)
  printf '# plan: %s items (day x source data type x instrument, each one raw object read from %s/raw_tick_data/), %s shard tasks\n' \
    "${items:-?}" "${output%/}" "$tasks"
  [ -z "$sizes" ] || printf '# shard sizes: %s\n' "${sizes#* shards: }"
  printf '# expected derived objects: %s Parquet files under %s/derived_data/ (those of grouped items, one per\n#   instrument, are not counted); an item whose raw object is not stored ends missing (exit 1)\n' \
    "${derived:-0}" "${output%/}"
  if [ -n "$items" ] && [ "$items" -lt "$tasks" ]; then
    printf '# note: fewer items than tasks: %s tasks will have nothing to do (lower --tasks)\n' "$((tasks - items))"
  fi
}

if [ "$with_inst" = 1 ]; then
  inst_k8s_args=$inst_args_json
  write_spec "$inst_spec" "$inst_job" "$INST_IMAGE" "$inst_k8s_args" 1 1 instrument-generation "instruments job, runs first"
  submit "$inst_spec" "$inst_job"
  wait_for_job "$inst_job"
fi
if [ "$engine" = k8s ]; then
  dl_args=$(jq -c --argjson n "$tasks" '. + ["--shards", ($n | tostring)]' <<<"$args_json")
else
  dl_args=$args_json
fi
if [ "$command" = derive ]; then
  # The image's entrypoint is `market-tick download`: a derive task names the binary and its command.
  write_spec "$spec_file" "$job" "$IMAGE" "$dl_args" "$tasks" "$instances" tick-derive \
    "$([ "$engine" = k8s ] && echo "Kubernetes Indexed Job, market-tick derive" || echo "Cloud Batch job spec, market-tick derive")" \
    "$(jq -cn --arg bin "$MT_BINARY" '[$bin, "derive"]')"
else
  write_spec "$spec_file" "$job" "$IMAGE" "$dl_args" "$tasks" "$instances" tick-download "$([ "$engine" = k8s ] && echo "Kubernetes Indexed Job" || echo "Cloud Batch job spec")"
fi
if [ "$DRY_RUN" = 1 ]; then
  if [ "$command" = derive ]; then derive_summary; else plan_summary; fi
fi
submit "$spec_file" "$job"

if [ "$DRY_RUN" = 1 ]; then
  printf '# dry run: nothing submitted; the spec is kept in %s\n' "$spec_file"
else
  say "$PROG: submitted $job: $tasks tasks$([ "$command" = derive ] && printf ' of market-tick derive'), $instances at a time ($provisioning)"
  say "  follow it: deploy/orchestration/monitor-tick-download.sh --job $job$([ "$engine" = k8s ] && printf ' --engine k8s')"
fi
