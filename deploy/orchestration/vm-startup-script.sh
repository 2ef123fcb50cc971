#!/usr/bin/env bash
# Startup script of a market-tick dev VM (Container-Optimized OS), installed by
# deploy/vm/deploy-*.sh as the `startup-script` metadata. At every boot it:
#   1. reads its job from instance metadata (mt-image, mt-args, mt-output-uri, mt-secret, ...),
#   2. reads the Tardis key from Secret Manager with the VM's service account into a file on
#      tmpfs (/run), mounted read-only into the container (TARDIS_API_KEY_FILE),
#   3. runs the container once (again up to mt-retries times while it exits 3 = only retryable
#      failures left), writing to GCS (mt-output-uri),
#   4. powers the VM off when mt-shutdown is true (the default), so an idle dev VM costs only
#      its disk. This happens on every way out of the script, errors included (an EXIT trap):
#      a VM whose key cannot be read or whose metadata is wrong would otherwise keep billing;
#      the reason is logged first. `deploy/vm/vm-manager.sh start NAME` runs the job again; finished objects are
#      skipped, so a rerun only does what is missing.
# Its output goes to the serial console and Cloud Logging (`vm-manager.sh logs NAME`).
#
# Outside a VM (tests, review), every metadata value can be given as an environment variable
# (MT_IMAGE, MT_ARGS, MT_OUTPUT_URI, MT_OUTPUT_LAYOUT, MT_SECRET, MT_LOG_LEVEL, MT_SHUTDOWN, MT_RETRIES,
# MT_PROJECT) and --dry-run prints the commands instead of running them.
set -euo pipefail
PROG=vm-startup-script.sh

usage() {
  cat <<USAGE
usage: vm-startup-script.sh [--dry-run] [--help]
Runs on a dev VM at boot (see deploy/vm/deploy-tardis-download.sh). Instance metadata:
  mt-image       container image to run (required)
  mt-args        base64 of the container arguments, one a line (required)
  mt-output-uri  gs://bucket/prefix the job writes to (required)
  mt-output-layout  by_date or hive: the store's layout (OUTPUT_LAYOUT, market-tick's
                 --layout); empty or absent: a new store is by_date, an existing one keeps its own
  mt-secret      Secret Manager version of the Tardis key, projects/P/secrets/S/versions/V
                 (optional: without it only the first day of each month is free)
  mt-log-level   market-tick log level (default info)
  mt-retries     extra runs while market-tick exits 3 (default 2)
  mt-shutdown    power the VM off when done: true (default) or false
USAGE
}

DRY_RUN=0
for a in "$@"; do
  case "$a" in
    --dry-run) DRY_RUN=1 ;;
    -h|--help) usage; exit 0 ;;
    *) printf '%s: error: unknown argument %s\n' "$PROG" "$a" >&2; exit 2 ;;
  esac
done

log() { printf '%s %s: %s\n' "$(date -u +%FT%TZ)" "$PROG" "$*" >&2; }
show_cmd() {
  local line="+" a
  for a in "$@"; do
    if [[ "$a" =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then line+=" $a"
    elif [[ "$a" != *"'"* ]]; then line+=" '$a'"
    else line+=" $(printf '%q' "$a")"
    fi
  done
  printf '%s\n' "$line"
}
run() { if [ "$DRY_RUN" = 1 ]; then show_cmd "$@"; else show_cmd "$@" >&2; "$@"; fi; }
need_tool() {
  command -v "$1" >/dev/null 2>&1 || { printf '%s: error: %s is required but was not found on PATH\n' "$PROG" "$1" >&2; exit 2; }
}

METADATA=http://metadata.google.internal/computeMetadata/v1
metadata() { curl -fsS --retry 5 --retry-connrefused -H 'Metadata-Flavor: Google' "$METADATA/$1"; }
# setting ENV_NAME ATTRIBUTE [DEFAULT]: the environment override, else the metadata attribute.
setting() {
  if [ -n "${!1:-}" ]; then printf '%s' "${!1}"; return; fi
  metadata "instance/attributes/$2" 2>/dev/null || printf '%s' "${3:-}"
}

# Until mt-shutdown has been read the VM powers off on exit: a VM that cannot even read its
# job must not stay up and bill.
shutdown=true secret="" secrets=""
# shellcheck disable=SC2317  # run by the EXIT trap
finish() {
  local rc=$?
  trap - EXIT
  if [ -n "$secret" ] && [ -n "$secrets" ] && [ "$DRY_RUN" != 1 ]; then rm -f "$secrets/tardis_api_key"; fi
  if [ "$rc" -ne 0 ]; then log "exiting with status $rc"; fi
  if [ "$shutdown" = true ]; then
    log "powering off (vm-manager.sh start NAME runs the job again)"
    run poweroff || log "error: poweroff failed"
  fi
  exit "$rc"
}
trap finish EXIT
# A command that fails under set -e is named in the log before the script ends.
trap 'log "error: line $LINENO: \"$BASH_COMMAND\" failed with status $?"' ERR

need_tool curl
need_tool base64
[ "$DRY_RUN" = 1 ] || need_tool docker

image=$(setting MT_IMAGE mt-image)
args_b64=$(setting MT_ARGS mt-args)
output_uri=$(setting MT_OUTPUT_URI mt-output-uri)
secret=$(setting MT_SECRET mt-secret)
log_level=$(setting MT_LOG_LEVEL mt-log-level info)
layout=$(setting MT_OUTPUT_LAYOUT mt-output-layout)
retries=$(setting MT_RETRIES mt-retries 2)
shutdown=$(setting MT_SHUTDOWN mt-shutdown true)
[ -n "$image" ] || { log "error: no mt-image metadata"; exit 2; }
[ -n "$args_b64" ] || { log "error: no mt-args metadata"; exit 2; }
case "$output_uri" in gs://?*) ;; *) log "error: mt-output-uri must be gs://bucket[/prefix], got '$output_uri'"; exit 2 ;; esac
case "$layout" in ''|by_date|hive) ;; *) log "error: mt-output-layout must be by_date or hive, got '$layout'"; exit 2 ;; esac
[[ "$retries" =~ ^[0-9]$ ]] || { log "error: mt-retries must be 0-9, got '$retries'"; exit 2; }
project=${MT_PROJECT:-$(metadata project/project-id 2>/dev/null || true)}
mapfile -t args < <(printf '%s' "$args_b64" | base64 -d)
log "job: $image ${args[*]} -> $output_uri"

# Writable places on Container-Optimized OS: /var, /home, /mnt/stateful_partition; /run is tmpfs.
state=${MT_STATE_DIR:-/mnt/stateful_partition/market-tick}
secrets=${MT_SECRET_DIR:-/run/market-tick}
export HOME=${MT_HOME:-/var/lib/market-tick} DOCKER_CONFIG=${MT_HOME:-/var/lib/market-tick}/.docker
run mkdir -p "$state/data" "$state/logs" "$state/temp" "$state/downloads" "$HOME"
run chown 10001:10001 "$state/data" "$state/logs" "$state/temp" "$state/downloads"

# Pull access for the image's registry with the VM's service account.
if command -v docker-credential-gcr >/dev/null 2>&1; then
  run docker-credential-gcr configure-docker --registries="${image%%/*}"
fi

layout_env=()
if [ -n "$layout" ]; then layout_env=(-e "OUTPUT_LAYOUT=$layout"); fi

key_mount=()
if [ -n "$secret" ]; then
  # The key never touches the disk or a command line: REST call with the metadata token,
  # base64 payload decoded into a 0400 file on tmpfs owned by the container's user.
  if [ "$DRY_RUN" = 1 ]; then
    printf '# read %s into %s/tardis_api_key (Secret Manager REST, VM service account)\n' "$secret" "$secrets"
  else
    install -d -m 0700 "$secrets"
    token=$(metadata instance/service-accounts/default/token | sed -n 's/.*"access_token" *: *"\([^"]*\)".*/\1/p') || token=""
    [ -n "$token" ] || { log "error: no access token from the metadata server (does the VM have a service account?)"; exit 1; }
    umask 077
    # The token goes in on stdin (-H @-), so it is not on a command line either. A failed read
    # is reported here, not by set -e, so the log says what to fix.
    if ! printf 'Authorization: Bearer %s\n' "$token" |
      curl -fsS --retry 5 -H @- "https://secretmanager.googleapis.com/v1/$secret:access" |
      sed -n 's/.*"data" *: *"\([^"]*\)".*/\1/p' | base64 -d >"$secrets/tardis_api_key" ||
      [ ! -s "$secrets/tardis_api_key" ]; then
      log "error: could not read the Tardis key from $secret: check that the secret exists and that the VM's service account has roles/secretmanager.secretAccessor on it"
      exit 1
    fi
    chown 10001:10001 "$secrets/tardis_api_key"
    chmod 0400 "$secrets/tardis_api_key"
  fi
  key_mount=(-v "$secrets/tardis_api_key:/run/secrets/tardis_api_key:ro" -e TARDIS_API_KEY_FILE=/run/secrets/tardis_api_key)
else
  log "warning: no mt-secret: only the first day of each month can be downloaded"
fi

attempt=0 rc=0
while :; do
  rc=0
  run docker run --rm --name market-tick --user 10001:10001 --read-only --tmpfs /tmp \
    --security-opt no-new-privileges:true --cap-drop ALL \
    -v "$state/data:/data" -v "$state/logs:/logs" -v "$state/temp:/temp" -v "$state/downloads:/downloads" \
    "${key_mount[@]}" -e "OUTPUT_URI=$output_uri" -e "GCP_PROJECT_ID=$project" -e "LOG_LEVEL=$log_level" \
    "${layout_env[@]}" "$image" --log-format json "${args[@]}" || rc=$?
  log "market-tick exited with $rc (attempt $((attempt + 1)))"
  # 3 = only retryable failures remain (market-tick's exit codes, README.md): try again after a pause.
  if [ "$rc" -ne 3 ] || [ "$attempt" -ge "$retries" ] || [ "$DRY_RUN" = 1 ]; then break; fi
  attempt=$((attempt + 1))
  sleep "${MT_RETRY_PAUSE:-60}"
done

log "done"
exit "$rc"  # the EXIT trap removes the key file and powers off
