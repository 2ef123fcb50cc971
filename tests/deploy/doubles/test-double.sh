#!/usr/bin/env bash
# TEST DOUBLE, not the real tool. tests/deploy puts this directory first on PATH so that the
# deploy scripts' non-dry-run paths can run without a cloud account or a Docker engine:
# gcloud, docker, kubectl, curl, poweroff, docker-credential-gcr and chown are links to this file.
# Each call appends one line to $DOUBLE_LOG: the tool name, then every argument, quoted the
# way the scripts' --dry-run prints commands.
# Canned answers live in $DOUBLE_DIR:
#   TOOL.KEY      printed on stdout, where KEY is the leading non-option words joined by "_"
#                 (longest first: `gcloud batch jobs describe J --format json` tries
#                 gcloud.batch_jobs_describe_J, gcloud.batch_jobs_describe, gcloud.batch_jobs,
#                 gcloud.batch); for curl, KEY is the URL path with "/" turned into "_"
#   TOOL.KEY.rc   exit codes, one a line, used up one per call (the last one stays)
#   TOOL.KEY.err  printed on stderr (a tool's error message)
# Without a canned answer the double prints nothing and exits 0 (curl: 22, like curl -f on 404).
set -euo pipefail
tool=$(basename "$0")
: "${DOUBLE_LOG:?the test double needs DOUBLE_LOG}"
# Quoted like deploy/common.sh quote_words, so a log line equals the "+ " line of a dry run.
line=$tool
for a in "$@"; do
  if [[ "$a" =~ ^[A-Za-z0-9_./:=,@%+-]+$ ]]; then line+=" $a"
  elif [[ "$a" != *"'"* ]]; then line+=" '$a'"
  else line+=" $(printf '%q' "$a")"
  fi
done
printf '%s\n' "$line" >>"$DOUBLE_LOG"

dir=${DOUBLE_DIR:-/nonexistent}
keys=()
if [ "$tool" = curl ]; then
  for a in "$@"; do
    case "$a" in
      http://*|https://*) path=${a#*://}; path=${path#*/}; keys+=("${path//\//_}") ;;
    esac
  done
  default_rc=22
else
  words=()
  for a in "$@"; do
    case "$a" in -*) break ;; esac
    words+=("$a")
  done
  for ((n = ${#words[@]}; n > 0; n--)); do
    key=$(IFS=_; printf '%s' "${words[*]:0:n}")
    keys+=("$key")
  done
  default_rc=0
fi

# next_rc FILE: the first exit code of FILE, used up unless it is the last one.
next_rc() {
  head -n1 "$1"
  if [ "$(wc -l <"$1")" -gt 1 ]; then sed -i 1d "$1"; fi
}
for key in "${keys[@]}"; do
  f="$dir/$tool.$key"
  if [ -f "$f" ] || [ -f "$f.rc" ] || [ -f "$f.err" ]; then
    if [ -f "$f" ]; then cat "$f"; fi
    if [ -f "$f.err" ]; then cat "$f.err" >&2; fi
    rc=0
    if [ -f "$f.rc" ]; then rc=$(next_rc "$f.rc"); fi
    exit "$rc"
  fi
done
exit "$default_rc"
