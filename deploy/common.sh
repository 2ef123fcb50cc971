# shellcheck shell=bash
# Shared helpers for the deploy scripts (sourced, never run). One place for:
#  - dry-run: `run CMD...` prints the exact command ("+ cmd args", shell-quoted so it can be
#    pasted) and, unless DRY_RUN=1, then runs it. Dry-run output goes to stdout; in a real run
#    the echo goes to stderr and the command's own output to stdout.
#  - errors: usage/configuration problems (missing tool, variable or flag) exit 2, runtime
#    failures exit 1, the same convention as market-tick itself.
#  - the cloud settings every script shares (environment variables; see docs/DEPLOYMENT.md).
# Secrets never pass through here: the Tardis key reaches containers by name (-e TARDIS_API_KEY),
# as a mounted file or as a Secret Manager reference, never as a value on a command line.

# shellcheck disable=SC2034  # used by the scripts that source this file
MT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PROG=${PROG:-$(basename "$0")}
DRY_RUN=${DRY_RUN:-0}

say() { printf '%s\n' "$*" >&2; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }
usage_die() {
  printf '%s: error: %s\n' "$PROG" "$*" >&2
  printf "run '%s --help' for usage\n" "$PROG" >&2
  exit 2
}

# need_tool NAME [HINT]: the command must be on PATH.
need_tool() {
  command -v "$1" >/dev/null 2>&1 && return 0
  printf '%s: error: %s is required but was not found on PATH%s\n' "$PROG" "$1" "${2:+ ($2)}" >&2
  exit 2
}

# need_var NAME [HINT]: the environment variable must be set and non-empty.
need_var() {
  [ -n "${!1:-}" ] && return 0
  printf '%s: error: %s is not set%s\n' "$PROG" "$1" "${2:+ ($2)}" >&2
  exit 2
}

# need_value FLAG ARGC: a flag that takes a value got one.
need_value() { [ "$2" -ge 2 ] || usage_die "$1 needs a value"; }

# quote_words ARGS...: the arguments on one line, shell-quoted where they need quoting.
quote_words() {
  local line="" a
  for a in "$@"; do
    if [[ "$a" =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then line+=" $a"
    elif [[ "$a" != *"'"* ]]; then line+=" '$a'"
    else line+=" $(printf '%q' "$a")"
    fi
  done
  printf '%s' "${line# }"
}

# show_cmd ARGS...: "+ " and the command, pasteable into a shell.
show_cmd() { printf '+ %s\n' "$(quote_words "$@")"; }

# run ARGS...: print the command; run it unless this is a dry run.
run() {
  if [ "$DRY_RUN" = 1 ]; then
    show_cmd "$@"
  else
    show_cmd "$@" >&2
    "$@"
  fi
}

# Validation of flag values, so typos fail here and not half-way through a cloud job.
check_date() {
  if ! [[ "$2" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] || [ "$(date -u -d "$2" +%F 2>/dev/null)" != "$2" ]; then
    usage_die "$1 must be a UTC day YYYY-MM-DD, got '$2'"
  fi
}
check_range() {  # FROM TO: TO is not before FROM
  [ "$(date -u -d "$1" +%s)" -le "$(date -u -d "$2" +%s)" ] || usage_die "the end date $2 is before the start date $1"
}
check_int() {  # FLAG VALUE MIN MAX
  if ! [[ "$2" =~ ^[0-9]{1,9}$ ]] || [ "$2" -lt "$3" ] || [ "$2" -gt "$4" ]; then
    usage_die "$1 must be an integer in [$3, $4], got '$2'"
  fi
}
check_list() {  # FLAG VALUE: comma-separated ids (Tardis exchanges, data types, symbols, exchange:SYMBOL pins)
  [[ "$2" =~ ^[A-Za-z0-9_.:/?-]+(,[A-Za-z0-9_.:/?-]+)*$ ]] || usage_die "$1 must be a comma-separated list, got '$2'"
}
check_name() {  # FLAG VALUE: a Compute Engine / Batch resource name
  [[ "$2" =~ ^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$ ]] ||
    usage_die "$1 must be lower-case letters, digits and hyphens (max 63, starting with a letter), got '$2'"
}

# Cloud settings shared by the VM, Batch and Kubernetes paths. Defaults are applied here;
# required ones are checked by the script that needs them.
cloud_defaults() {
  GCP_REGION=${GCP_REGION:-us-central1}
  GCP_ZONE=${GCP_ZONE:-${GCP_REGION}-a}
  IMAGE_TAG=${IMAGE_TAG:-latest}
  TARDIS_SECRET=${TARDIS_SECRET:-tardis-api-key}
  MACHINE_TYPE=${MACHINE_TYPE:-e2-standard-4}
  LOG_LEVEL=${LOG_LEVEL:-info}
  check_layout
}

# OUTPUT_LAYOUT (market-tick's --layout: by_date or hive) is passed to every task when set, and
# only then: unset, a task writes a new store by_date and an existing store in the layout it
# records, so a fleet that resumes a store never has to repeat the choice. A misspelt value
# would fail every task of a fleet; it is refused here, before anything is created.
check_layout() {
  case "${OUTPUT_LAYOUT:-}" in
    ''|by_date|hive) ;;
    *) usage_die "OUTPUT_LAYOUT must be by_date or hive, got '$OUTPUT_LAYOUT'" ;;
  esac
}

# The Secret Manager version that holds the Tardis key (secret id or a full resource name).
tardis_secret_ref() {
  case "$TARDIS_SECRET" in
    projects/*/secrets/*/versions/*) printf '%s' "$TARDIS_SECRET" ;;
    projects/*/secrets/*) printf '%s/versions/latest' "$TARDIS_SECRET" ;;
    *) printf 'projects/%s/secrets/%s/versions/latest' "$GCP_PROJECT_ID" "$TARDIS_SECRET" ;;
  esac
}

# The service account the VMs run as (GCS writes, Secret Manager reads, logging).
service_account() {
  printf '%s' "${SERVICE_ACCOUNT:-market-tick-runner@${GCP_PROJECT_ID}.iam.gserviceaccount.com}"
}

# image_ref NAME: IMAGE_REPO/NAME:IMAGE_TAG. IMAGE_REPO is the registry path images are pushed
# to (for Artifact Registry: what `gcloud artifacts repositories describe REPO --location REGION
# --format='value(registryUri)'` prints).
image_ref() {
  need_var IMAGE_REPO "the container registry path the images are pushed to, see docs/DEPLOYMENT.md"
  printf '%s/%s:%s' "${IMAGE_REPO%/}" "$1" "$IMAGE_TAG"
}

# Where cloud runs write: OUTPUT_URI if set, else gs://GCS_BUCKET. A fleet must write to GCS:
# a VM's local disk disappears with the VM.
cloud_output_uri() {
  local uri=${OUTPUT_URI:-}
  if [ -z "$uri" ]; then
    need_var GCS_BUCKET "or set OUTPUT_URI=gs://bucket/prefix"
    uri="gs://${GCS_BUCKET#gs://}"
  fi
  case "$uri" in
    gs://?*) printf '%s' "$uri" ;;
    *) usage_die "cloud runs must write to GCS: OUTPUT_URI must be gs://bucket[/prefix], got '$uri'" ;;
  esac
}

# Without a key only the first day of each month can be downloaded: say so, do not fail.
warn_no_key() {
  say "$PROG: warning: neither TARDIS_API_KEY nor TARDIS_API_KEY_FILE is set: only the first day of each month is free"
}

# abspath PATH: PATH made absolute against the current directory (docker -v needs it).
abspath() {
  case "$1" in
    /*) printf '%s' "$1" ;;
    *) printf '%s/%s' "$PWD" "${1#./}" ;;
  esac
}

# local_docker_run IMAGE ARGS...: `docker run` of a market-tick image with the seed's four
# mounts (data, logs, temp, downloads), as a non-root user, with a read-only root filesystem.
# Reads DATA_DIR LOGS_DIR TEMP_DIR DOWNLOADS_DIR DOCKER_NETWORK (set by the caller).
# The key goes in by name (-e TARDIS_API_KEY: docker copies the value from this environment,
# so it never appears on the command line) or as a read-only file mount.
local_docker_run() {
  local image=$1
  shift
  local user
  check_layout
  if [ "$(id -u)" -eq 0 ]; then
    user=10001:10001  # never run the container as root; the mounts are handed to the image's user
    run mkdir -p "$DATA_DIR" "$LOGS_DIR" "$TEMP_DIR" "$DOWNLOADS_DIR"
    run chown 10001:10001 "$DATA_DIR" "$LOGS_DIR" "$TEMP_DIR" "$DOWNLOADS_DIR"
  else
    user="$(id -u):$(id -g)"
    run mkdir -p "$DATA_DIR" "$LOGS_DIR" "$TEMP_DIR" "$DOWNLOADS_DIR"
  fi
  local args=(docker run --rm --user "$user" --read-only --tmpfs /tmp
    --security-opt no-new-privileges:true --cap-drop ALL
    -v "$DATA_DIR:/data" -v "$LOGS_DIR:/logs" -v "$TEMP_DIR:/temp" -v "$DOWNLOADS_DIR:/downloads"
    -e "OUTPUT_URI=${MT_OUTPUT_URI:-/data}")
  if [ -n "$DOCKER_NETWORK" ]; then args+=(--network "$DOCKER_NETWORK"); fi
  if [ -n "${TARDIS_API_KEY:-}" ]; then
    args+=(-e TARDIS_API_KEY)
  fi
  if [ -n "${TARDIS_API_KEY_FILE:-}" ]; then
    [ -r "$TARDIS_API_KEY_FILE" ] || usage_die "TARDIS_API_KEY_FILE=$TARDIS_API_KEY_FILE is not a readable file"
    args+=(-v "$(abspath "$TARDIS_API_KEY_FILE"):/run/secrets/tardis_api_key:ro"
      -e TARDIS_API_KEY_FILE=/run/secrets/tardis_api_key)
  fi
  if [ -z "${TARDIS_API_KEY:-}${TARDIS_API_KEY_FILE:-}" ]; then warn_no_key; fi
  if [ -n "${GOOGLE_APPLICATION_CREDENTIALS:-}" ]; then
    args+=(-v "$(abspath "$GOOGLE_APPLICATION_CREDENTIALS"):/run/secrets/gcp_credentials.json:ro"
      -e GOOGLE_APPLICATION_CREDENTIALS=/run/secrets/gcp_credentials.json)
  fi
  # Plain settings pass through by name when set here.
  local v
  for v in TARDIS_DATASETS_URL TARDIS_API_URL GCS_BUCKET GCP_PROJECT_ID STORAGE_EMULATOR_HOST \
    MAX_CONCURRENT_REQUESTS BATCH_SIZE LOG_LEVEL OUTPUT_LAYOUT SOURCE_DATE_EPOCH SHARD_INDEX SHARD_COUNT; do
    if [ -n "${!v:-}" ]; then args+=(-e "$v"); fi
  done
  run "${args[@]}" "$image" "$@"
}

# The network a local container needs: a Tardis or GCS stand-in on this machine's loopback is
# only reachable from the host network.
default_docker_network() {
  case "${TARDIS_DATASETS_URL:-}${TARDIS_API_URL:-}${STORAGE_EMULATOR_HOST:-}" in
    *127.0.0.1*|*localhost*) printf host ;;
  esac
}

# create_dev_vm JOB NAME ARGS...: one Container-Optimized OS VM that runs the JOB image once
# with ARGS (vm-startup-script.sh) and powers itself off. Reads MACHINE_TYPE, DISK_SIZE_GB,
# VM_SPOT (1 = spot), VM_KEEP (1 = stay up when done), IMAGE (overrides IMAGE_REPO/JOB:TAG).
create_dev_vm() {
  local job=$1 name=$2
  shift 2
  need_var GCP_PROJECT_ID "the Google Cloud project the VM runs in"
  local image=${IMAGE:-}
  if [ -z "$image" ]; then image=$(image_ref "$job"); fi
  local output secret args_b64 shutdown=true
  output=$(cloud_output_uri)
  secret=$(tardis_secret_ref)
  if [ "${VM_KEEP:-0}" = 1 ]; then shutdown=false; fi
  # Arguments travel base64-encoded, one a line: no metadata escaping rules to get wrong.
  args_b64=$(printf '%s\n' "$@" | base64 -w0)
  local cmd=(gcloud compute instances create "$name" --project "$GCP_PROJECT_ID" --zone "$GCP_ZONE"
    --machine-type "$MACHINE_TYPE" --image-family cos-stable --image-project cos-cloud
    --boot-disk-size "${DISK_SIZE_GB:-50}GB" --service-account "$(service_account)" --scopes cloud-platform
    --labels "app=market-tick,role=dev,job=$job"
    --metadata-from-file "startup-script=$MT_ROOT/deploy/orchestration/vm-startup-script.sh"
    --metadata "mt-image=$image,mt-args=$args_b64,mt-output-uri=$output,mt-secret=$secret,mt-log-level=$LOG_LEVEL${OUTPUT_LAYOUT:+,mt-output-layout=$OUTPUT_LAYOUT},mt-shutdown=$shutdown")
  if [ "${VM_SPOT:-0}" = 1 ]; then
    cmd+=(--provisioning-model SPOT --instance-termination-action STOP)
  fi
  if [ "$DRY_RUN" = 1 ]; then
    printf '# container arguments (mt-args, base64 of one argument a line): %s\n' "$(quote_words "$@")"
  fi
  run "${cmd[@]}"
  if [ "$DRY_RUN" != 1 ]; then
    say "$PROG: $name is starting; it powers off when the job is done."
    say "  follow it: deploy/vm/vm-manager.sh logs $name    state: deploy/vm/vm-manager.sh status $name"
  fi
}
