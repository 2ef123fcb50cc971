#!/usr/bin/env bash
# The deploy tests (scripts/test.sh runs this step):
#  1. shellcheck over the shell scripts: deploy/, tests/deploy/ and the docker helpers at the
#     default severity; the repository's other scripts at severity "error";
#  2. dockerfile_test.sh: the Dockerfiles, compose and ignore files, read (Docker cannot run on
#     the CI machines);
#  3. scripts_test.sh: every deploy script's --help, --dry-run, job JSON and real path against
#     the recording test doubles of gcloud/docker/kubectl;
#  4. fleet_test.sh: N workers of the real binary against the Tardis test server, kill -9, rerun;
#     the derive job's rendered container command as 2 tasks per engine, SIGTERM mid-derive.
# MARKET_TICK_BIN picks the binary (default build/market-tick). Needs shellcheck, jq and node.
set -euo pipefail
cd "$(dirname "$0")/../.."
t0=$(date +%s)
for tool in shellcheck jq node; do
  command -v "$tool" >/dev/null || { echo "tests/deploy/run.sh: $tool is required (scripts/install-deps.sh --test)" >&2; exit 2; }
done

failed=()
part() {  # part NAME CMD...
  local name=$1
  shift
  if "$@"; then :; else failed+=("$name"); fi
}

ours=$(find deploy tests/deploy -type f \( -name '*.sh' -o -path 'tests/deploy/doubles/test-double.sh' \) | LC_ALL=C sort)
others=$(find . \( -path ./.git -o -path './build*' -o -name node_modules -o -path ./deploy -o -path ./tests/deploy \) -prune -o \
  -type f -name '*.sh' -print | LC_ALL=C sort)
# shellcheck disable=SC2086  # word splitting of the file lists is intended (no spaces in names)
part "shellcheck (deploy scripts)" shellcheck -x $ours
if [ -n "$others" ]; then
  # shellcheck disable=SC2086
  part "shellcheck --severity=error (other scripts)" shellcheck -x --severity=error $others
fi
part "dockerfile_test.sh" tests/deploy/dockerfile_test.sh
part "scripts_test.sh" tests/deploy/scripts_test.sh
part "fleet_test.sh" tests/deploy/fleet_test.sh

if [ "${#failed[@]}" -gt 0 ]; then
  printf 'deploy tests FAILED: %s (%d s)\n' "${failed[*]}" "$(($(date +%s) - t0))" >&2
  exit 1
fi
printf 'deploy tests passed (%d s)\n' "$(($(date +%s) - t0))" >&2
