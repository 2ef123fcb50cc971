# shellcheck shell=bash
# Small assertion helpers for the deploy tests (plain bash, no framework).
# capture CMD... runs a command and keeps OUT, ERR and RC; expect_* check them; every failed
# check prints one FAIL line and the test file exits non-zero at `finish`.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck disable=SC2034  # used by the test files
DOUBLES="$ROOT/tests/deploy/doubles"
CHECKS=0
FAILS=0
OUT="" ERR="" RC=0

pass() { CHECKS=$((CHECKS + 1)); }
fail() {
  CHECKS=$((CHECKS + 1))
  FAILS=$((FAILS + 1))
  printf 'FAIL: %s\n' "$*" >&2
}
# check DESCRIPTION CMD...: the command succeeds.
check() {
  local what=$1
  shift
  if "$@"; then pass; else fail "$what"; fi
}

# no_match ERE TEXT: no line of TEXT matches ERE (no_match_i: ignoring case).
no_match() { ! grep -qE -- "$1" <<<"$2"; }
no_match_i() { ! grep -qiE -- "$1" <<<"$2"; }

capture() {
  local o e
  o=$(mktemp)
  e=$(mktemp)
  set +e
  "$@" >"$o" 2>"$e"
  RC=$?
  set -e
  OUT=$(<"$o")
  ERR=$(<"$e")
  if [ -n "${CAPTURE_LOG:-}" ]; then cat "$o" "$e" >>"$CAPTURE_LOG"; fi
  rm -f "$o" "$e"
}

expect_rc() {  # RC WHAT
  if [ "$RC" = "$1" ]; then pass; else fail "$2: exit $RC, expected $1; stderr: ${ERR:0:600}"; fi
}
expect_out() {  # TEXT WHAT: stdout contains TEXT
  if grep -qF -- "$1" <<<"$OUT"; then pass; else fail "$2: stdout lacks '$1'"; fi
}
expect_no_out() {
  if grep -qF -- "$1" <<<"$OUT"; then fail "$2: stdout has '$1'"; else pass; fi
}
expect_err() {
  if grep -qF -- "$1" <<<"$ERR"; then pass; else fail "$2: stderr lacks '$1'; stderr: ${ERR:0:600}"; fi
}
expect_eq() {  # ACTUAL EXPECTED WHAT
  if [ "$1" = "$2" ]; then pass; else fail "$3: got '$1', expected '$2'"; fi
}
# expect_jq JSON FILTER EXPECTED WHAT: jq -c FILTER of JSON equals EXPECTED.
expect_jq() {
  local got
  got=$(jq -c "$2" <<<"$1" 2>&1) || true
  if [ "$got" = "$3" ]; then pass; else fail "$4: jq '$2' gave $got, expected $3"; fi
}

finish() {
  printf '%s: %d checks, %d failed\n' "$1" "$CHECKS" "$FAILS" >&2
  [ "$FAILS" = 0 ]
}
