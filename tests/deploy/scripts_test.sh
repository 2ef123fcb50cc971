#!/usr/bin/env bash
# Tests of the deploy scripts without a cloud account or a Docker engine:
#  - every script: --help, strict mode, unknown flags, missing variables and tools (exit 2);
#  - --dry-run prints the exact commands and runs nothing (the test doubles record no call);
#  - the real path, with the recording test doubles of gcloud/docker/kubectl on PATH, runs
#    exactly the commands its dry run printed;
#  - the Cloud Batch job JSON (task count, parallelism, spot, retry policy, env, secret
#    reference, image) and the Kubernetes Indexed Job;
#  - the dev-VM startup script (metadata, Secret Manager, retries on exit 3, power-off on every
#    way out), monitor (empty prefix, cancelled jobs, --logs) and cleanup (dev VMs only when
#    asked, running ones kept) against canned engine answers;
#  - the definition-driven fleet (instruments job, wait, download job), the overlap refusal,
#    network options, images pinned by digest, the idempotent project setup;
#  - the derive job (--command derive) on both engines: the container's entrypoint/command and
#    arguments, no key, the retry policy, its overlap rule and its monitor;
#  - the Tardis key never appears in any output or recorded command line.
set -euo pipefail
# shellcheck source=tests/deploy/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export DOUBLE_LOG="$tmp/calls.log" DOUBLE_DIR="$tmp/canned" TMPDIR="$tmp"  # dry-run job specs land in $tmp
mkdir -p "$DOUBLE_DIR"
: >"$DOUBLE_LOG"
REAL_PATH=$PATH
export PATH="$DOUBLES:$REAL_PATH"

# A clean, known cloud configuration; the key is a canary that must never be printed.
for v in OUTPUT_URI OUTPUT_LAYOUT GCP_ZONE IMAGE_TAG TARDIS_SECRET SERVICE_ACCOUNT MACHINE_TYPE LOG_LEVEL \
  TARDIS_API_KEY_FILE GOOGLE_APPLICATION_CREDENTIALS TARDIS_DATASETS_URL TARDIS_API_URL \
  STORAGE_EMULATOR_HOST K8S_NAMESPACE K8S_SECRET K8S_SERVICE_ACCOUNT DRY_RUN MT_OUTPUT_URI \
  SHARD_INDEX SHARD_COUNT BATCH_TASK_INDEX BATCH_TASK_COUNT JOB_COMPLETION_INDEX; do
  unset "$v"
done
CANARY=tk-canary-7f3a91
export GCP_PROJECT_ID=test-project GCP_REGION=europe-west4 GCS_BUCKET=test-bucket \
  IMAGE_REPO=registry.test/test-project/market-tick TARDIS_API_KEY=$CANARY
# Everything printed and every recorded call, for the check at the end that the key never shows.
export CAPTURE_LOG="$tmp/all-output.txt"
ALL_CALLS="$tmp/all-calls.log"
reset_log() { cat "$DOUBLE_LOG" >>"$ALL_CALLS"; : >"$DOUBLE_LOG"; }
# The registry's answer for every pushed image: the digest orchestrate pins the tags to.
DIGEST=sha256:$(printf 'market-tick' | sha256sum | cut -d' ' -f1)
printf '%s\n' "$DIGEST" >"$DOUBLE_DIR/gcloud.artifacts_docker_images_describe"

SCRIPTS=(deploy/local/build-all.sh deploy/local/run-tardis-download.sh deploy/local/run-instrument-generation.sh
  deploy/vm/deploy-tardis-download.sh deploy/vm/deploy-instrument-generation.sh deploy/vm/vm-manager.sh
  deploy/orchestration/orchestrate-tick-download.sh deploy/orchestration/monitor-tick-download.sh
  deploy/orchestration/cleanup-tick-vms.sh deploy/orchestration/vm-startup-script.sh deploy/local/compose.sh
  deploy/orchestration/setup-project.sh)

# ---- every script: strict mode, --help, unknown flags -----------------------------------------
for s in "${SCRIPTS[@]}"; do
  check "$s is executable" test -x "$s"
  check "$s has set -euo pipefail" grep -q '^set -euo pipefail$' "$s"
  capture "$s" --help
  expect_rc 0 "$s --help"
  expect_out "usage:" "$s --help"
  case "$s" in
    */run-*) ;;  # unknown flags go to market-tick in the container
    *)
      capture "$s" --no-such-flag
      expect_rc 2 "$s --no-such-flag" ;;
  esac
done
check "the test doubles were never called by --help" test ! -s "$DOUBLE_LOG"

# ---- dry run == real run ------------------------------------------------------------------------
# The commands a dry run prints for the tools that have test doubles.
dry_commands() {
  sed -n -E 's/^\+ (env DOCKER_BUILDKIT=1 )?((gcloud|docker|kubectl|chown|poweroff|docker-credential-gcr) .*)$/\2/p' <<<"$OUT"
}
# dry_equals_real WHAT CMD...: CMD --dry-run calls no tool and prints commands; CMD without
# --dry-run (test doubles on PATH) calls exactly those, in order, and exits 0.
dry_equals_real() {
  local what=$1
  shift
  reset_log
  capture "$@" --dry-run
  expect_rc 0 "$what --dry-run"
  check "$what --dry-run calls no tool" test ! -s "$DOUBLE_LOG"
  local expected
  expected=$(dry_commands)
  check "$what --dry-run prints commands" test -n "$expected"
  local dry_out=$OUT dry_err=$ERR
  capture "$@"
  expect_rc 0 "$what (test doubles)"
  expect_eq "$(cat "$DOUBLE_LOG")" "$expected" "$what runs exactly what --dry-run printed"
  OUT=$dry_out ERR=$dry_err  # the checks that follow read the dry run's output
}

dirs=(--data-dir "$tmp/d/data" --logs-dir "$tmp/d/logs" --temp-dir "$tmp/d/temp" --downloads-dir "$tmp/d/downloads")
dry_equals_real "build-all.sh" deploy/local/build-all.sh
expect_out "docker build -f docker/tardis-download/Dockerfile -t market-tick/tardis-download:latest" "build-all.sh"
expect_out "docker build -f docker/instrument-generation/Dockerfile -t market-tick/instrument-generation:latest" "build-all.sh"
dry_equals_real "build-all.sh --push" deploy/local/build-all.sh --push --tag v7 --only tardis-download
expect_out "docker push registry.test/test-project/market-tick/tardis-download:v7" "build-all.sh --push"
expect_no_out "instrument-generation" "build-all.sh --only"
dry_equals_real "build-all.sh --cloud-build" deploy/local/build-all.sh --cloud-build --tag v7
expect_out "gcloud builds submit . --project test-project --region europe-west4 --config deploy/orchestration/cloudbuild.yaml --ignore-file docker/shared/gcloudignore --substitutions _IMAGE_REPO=registry.test/test-project/market-tick,_TAG=v7" "build-all.sh --cloud-build"

dry_equals_real "run-tardis-download.sh" deploy/local/run-tardis-download.sh "${dirs[@]}" \
  --from 2024-01-01 --to 2024-01-02 --exchanges binance-futures --symbols BTCUSDT --summary-json /logs/s.json
for want in "-v $tmp/d/data:/data" "-v $tmp/d/logs:/logs" "-v $tmp/d/temp:/temp" "-v $tmp/d/downloads:/downloads" \
  "--read-only" "--cap-drop ALL" "-e TARDIS_API_KEY " "market-tick/tardis-download:latest --from 2024-01-01 --to 2024-01-02 --exchanges binance-futures --symbols BTCUSDT --summary-json /logs/s.json"; do
  expect_out "$want" "run-tardis-download.sh"
done
if [ "$(id -u)" -eq 0 ]; then expect_out "--user 10001:10001" "run-tardis-download.sh as root runs the container as 10001"
else expect_out "--user $(id -u):$(id -g)" "run-tardis-download.sh runs the container as the caller"; fi
capture deploy/local/run-tardis-download.sh "${dirs[@]}" --dry-run --from 2024-01-01
expect_out "market-tick/tardis-download:latest --summary-json /logs/download-summary-" "a run summary lands in logs/ by default"
printf 'file-key' >"$tmp/key.txt"
TARDIS_API_KEY="" TARDIS_API_KEY_FILE="$tmp/key.txt" capture deploy/local/run-tardis-download.sh "${dirs[@]}" --dry-run --from 2024-01-01
expect_out "-v $tmp/key.txt:/run/secrets/tardis_api_key:ro -e TARDIS_API_KEY_FILE=/run/secrets/tardis_api_key" "key file mounted read-only"
expect_no_out "file-key" "the key file's content is not printed"
TARDIS_DATASETS_URL=http://127.0.0.1:9999 capture deploy/local/run-tardis-download.sh "${dirs[@]}" --dry-run --from 2024-01-01
expect_out "--network host" "a loopback Tardis URL needs the host network"
TARDIS_API_KEY="" capture deploy/local/run-tardis-download.sh "${dirs[@]}" --dry-run --from 2024-01-01
expect_err "only the first day of each month is free" "no key: a warning"
dry_equals_real "run-instrument-generation.sh" deploy/local/run-instrument-generation.sh "${dirs[@]}" --from 2024-01-01 --to 2024-01-31
expect_out "market-tick/instrument-generation:latest --from 2024-01-01 --to 2024-01-31" "run-instrument-generation.sh"

# Compose as the caller (issue 19 #7): the compose files have no default uid; compose.sh passes
# the caller's (10001 for root, with the folders handed over) and creates the mounted folders
# before Docker would create them owned by root.
if [ "$(id -u)" -eq 0 ]; then want_ids="10001 10001"; else want_ids="$(id -u) $(id -g)"; fi
read -r want_uid want_gid <<<"$want_ids"
reset_log
MT_DATA_DIR="$tmp/c/data" MT_LOGS_DIR="$tmp/c/logs" MT_TEMP_DIR="$tmp/c/temp" MT_DOWNLOADS_DIR=rel-downloads \
  capture deploy/local/compose.sh --dry-run tardis-download run --rm tardis-download --from 2024-01-01 --symbols BTCUSDT
expect_rc 0 "compose.sh --dry-run"
check "compose.sh --dry-run runs nothing" test ! -s "$DOUBLE_LOG"
expect_out "+ env MT_UID=$want_uid MT_GID=$want_gid docker compose -f $ROOT/docker/tardis-download/docker-compose.yml run --rm tardis-download --from 2024-01-01 --symbols BTCUSDT" \
  "compose.sh runs compose as the caller"
expect_out "+ mkdir -p $tmp/c/data $tmp/c/logs $tmp/c/temp $ROOT/docker/tardis-download/rel-downloads" \
  "compose.sh creates the mounted folders (relative ones beside the compose file)"
MT_DATA_DIR="$tmp/c/data" MT_LOGS_DIR="$tmp/c/logs" MT_TEMP_DIR="$tmp/c/temp" MT_DOWNLOADS_DIR="$tmp/c/downloads" \
  capture deploy/local/compose.sh instrument-generation run --rm instrument-generation --from 2024-01-01
expect_rc 0 "compose.sh (test doubles)"
expect_eq "$(grep '^docker' "$DOUBLE_LOG")" "docker compose -f $ROOT/docker/instrument-generation/docker-compose.yml run --rm instrument-generation --from 2024-01-01" \
  "compose.sh runs docker compose on the image's compose file"
check "compose.sh created the folders" test -d "$tmp/c/data" -a -d "$tmp/c/downloads"
MT_UID=4242 MT_GID=4343 capture deploy/local/compose.sh --dry-run tardis-download config
expect_out "+ env MT_UID=4242 MT_GID=4343 docker compose" "compose.sh: MT_UID/MT_GID when set win"
capture deploy/local/compose.sh --dry-run nope build
expect_rc 2 "compose.sh with an unknown image"

dry_equals_real "deploy-tardis-download.sh" deploy/vm/deploy-tardis-download.sh --start-date 2024-01-01 \
  --end-date 2024-01-03 --exchanges binance-futures --data-types trades --symbols BTCUSDT --spot
for want in "gcloud compute instances create market-tick-dev-download --project test-project --zone europe-west4-a" \
  "--image-family cos-stable --image-project cos-cloud" "--service-account market-tick-runner@test-project.iam.gserviceaccount.com" \
  "--metadata-from-file startup-script=$ROOT/deploy/orchestration/vm-startup-script.sh" \
  "mt-image=registry.test/test-project/market-tick/tardis-download:latest" "mt-output-uri=gs://test-bucket" \
  "mt-secret=projects/test-project/secrets/tardis-api-key/versions/latest" "mt-shutdown=true" \
  "--provisioning-model SPOT --instance-termination-action STOP" "--labels app=market-tick,role=dev,job=tardis-download"; do
  expect_out "$want" "deploy-tardis-download.sh"
done
args_b64=$(sed -n -E 's/.*mt-args=([A-Za-z0-9+\/=]+).*/\1/p' <<<"$OUT" | head -n1)
expect_eq "$(printf '%s' "$args_b64" | base64 -d | tr '\n' ' ')" \
  "--from 2024-01-01 --to 2024-01-03 --exchanges binance-futures --symbols BTCUSDT --data-types trades " \
  "deploy-tardis-download.sh passes the download flags in mt-args"
dry_equals_real "deploy-instrument-generation.sh" deploy/vm/deploy-instrument-generation.sh --start-date 2024-01-01 --keep --name inst-dev
expect_out "gcloud compute instances create inst-dev" "deploy-instrument-generation.sh --name"
expect_out "mt-shutdown=false" "deploy-instrument-generation.sh --keep"
expect_no_out "--provisioning-model" "no --spot: standard VM"

for c in list "status vm-1" "start vm-1" "stop vm-1" "delete vm-1" "logs vm-1"; do
  read -r -a words <<<"$c"
  dry_equals_real "vm-manager.sh $c" deploy/vm/vm-manager.sh "${words[@]}" --zone europe-west4-b
done
expect_out "gcloud compute instances get-serial-port-output vm-1 --project test-project --zone europe-west4-b" "vm-manager.sh logs"
capture deploy/vm/vm-manager.sh start
expect_rc 2 "vm-manager.sh start without a NAME"

# ---- Cloud Batch job JSON -----------------------------------------------------------------------
spec="$tmp/job.json"
dry_equals_real "orchestrate-tick-download.sh" deploy/orchestration/orchestrate-tick-download.sh \
  --start-date 2024-01-01 --end-date 2024-01-31 --exchanges binance-futures,deribit \
  --symbols BTCUSDT,deribit:BTC-PERPETUAL --data-types trades,quotes --instances 6 --job-name tick-jan \
  --concurrency 16 --spec-file "$spec"
expect_out "gcloud batch jobs submit tick-jan --project test-project --location europe-west4 --config $spec" "orchestrate submit"
job_json=$(sed -n '/^{/,/^}/p' <<<"$OUT")
check "the dry run prints the job JSON" jq -e . <<<"$job_json" >/dev/null
# The submitted file is the printed JSON, with the image tag resolved to its digest.
img='.taskGroups[0].taskSpec.runnables[0].container.imageUri'
expect_eq "$(jq -cS "del($img)" <<<"$job_json")" "$(jq -cS "del($img)" "$spec")" "the printed JSON is the submitted file"
expect_jq "$(cat "$spec")" "$img" "\"registry.test/test-project/market-tick/tardis-download@$DIGEST\"" "the submitted file names the image by digest"
tg='.taskGroups[0]'
expect_jq "$job_json" "$tg.taskCount" 60 "taskCount defaults to 10 x --instances"
expect_jq "$job_json" "$tg.parallelism" 6 "parallelism = --instances"
expect_jq "$job_json" "$tg.taskCountPerNode" 1 "one task per VM"
expect_jq "$job_json" '.allocationPolicy.instances[0].policy.provisioningModel' '"SPOT"' "spot VMs"
expect_jq "$job_json" '.allocationPolicy.instances[0].policy.machineType' '"e2-standard-4"' "machine type"
expect_jq "$job_json" '.allocationPolicy.location.allowedLocations' '["regions/europe-west4"]' "region"
expect_jq "$job_json" '.allocationPolicy.serviceAccount.email' '"market-tick-runner@test-project.iam.gserviceaccount.com"' "service account"
# Spot preemptions and exit-3 retries share this one budget: the most Batch allows (issue 19 #6).
expect_jq "$job_json" "$tg.taskSpec.maxRetryCount" 10 "maxRetryCount defaults to Batch's maximum, 10"
expect_jq "$job_json" "$tg.taskSpec.lifecyclePolicies | length" 1 "one lifecycle policy"
expect_jq "$job_json" "$tg.taskSpec.lifecyclePolicies[0].action" '"RETRY_TASK"' "retry action"
expect_jq "$job_json" "$tg.taskSpec.lifecyclePolicies[0].actionCondition.exitCodes | (index(3) != null) and (index(50001) != null) and (index(1) == null) and (index(2) == null)" true \
  "retries exit 3 and preemption (50001), never 1 or 2"
expect_jq "$job_json" "$tg.taskSpec.maxRunDuration" '"21600s"' "maxRunDuration"
expect_jq "$job_json" "$tg.taskSpec.runnables[0].container.imageUri" '"registry.test/test-project/market-tick/tardis-download:latest"' "image"
expect_jq "$job_json" "$tg.taskSpec.runnables[0].container.commands" \
  '["--from","2024-01-01","--to","2024-01-31","--exchanges","binance-futures,deribit","--symbols","BTCUSDT,deribit:BTC-PERPETUAL","--data-types","trades,quotes","--log-format","json"]' \
  "container arguments: the whole plan, no --shard (the engine's BATCH_TASK_INDEX selects it)"
expect_jq "$job_json" "$tg.taskSpec.environment.variables" \
  '{"OUTPUT_URI":"gs://test-bucket","GCP_PROJECT_ID":"test-project","LOG_LEVEL":"info","GCS_BUCKET":"test-bucket","MAX_CONCURRENT_REQUESTS":"16"}' "env"
expect_jq "$job_json" "[$tg.taskSpec.environment.variables | keys[] | select(test(\"BATCH_TASK|SHARD|JOB_COMPLETION|TARDIS_API_KEY\"))]" '[]' \
  "env leaves BATCH_TASK_INDEX/COUNT to the engine and holds no key"
expect_jq "$job_json" "$tg.taskSpec.environment.secretVariables" \
  '{"TARDIS_API_KEY":"projects/test-project/secrets/tardis-api-key/versions/latest"}' "the key is a Secret Manager reference"
expect_jq "$job_json" '.logsPolicy.destination' '"CLOUD_LOGGING"' "logs to Cloud Logging"
expect_jq "$job_json" '.labels' '{"app":"market-tick","job":"tick-download","start-date":"20240101","end-date":"20240131"}' "labels"

capture deploy/orchestration/orchestrate-tick-download.sh --start-date 2024-01-01 --end-date 2024-01-31 \
  --exchanges binance --symbols BTCUSDT --job-name j2 --dry-run
job_json=$(sed -n '/^{/,/^}/p' <<<"$OUT")
expect_jq "$job_json" "[$tg.taskCount, $tg.parallelism]" '[600,60]' "default: 60 instances, 600 tasks"
TARDIS_SECRET=projects/other/secrets/tk/versions/3 SERVICE_ACCOUNT=sa@x.iam.gserviceaccount.com MACHINE_TYPE=n2d-standard-2 \
  capture deploy/orchestration/orchestrate-tick-download.sh --start-date 2024-01-01 --end-date 2024-01-31 \
  --exchanges binance --symbols BTCUSDT --job-name j3 --instances 60 --tasks 100 --no-spot --max-retries 0 \
  --max-run-duration 90m --image img.test/x:1 --dry-run
job_json=$(sed -n '/^{/,/^}/p' <<<"$OUT")
expect_jq "$job_json" "[$tg.taskCount, $tg.parallelism, $tg.taskSpec.maxRetryCount, $tg.taskSpec.maxRunDuration]" '[100,60,0,"5400s"]' "--tasks, --max-retries, --max-run-duration"
expect_jq "$job_json" '.allocationPolicy.instances[0].policy' '{"machineType":"n2d-standard-2","provisioningModel":"STANDARD"}' "--no-spot, MACHINE_TYPE"
expect_jq "$job_json" "$tg.taskSpec.environment.secretVariables.TARDIS_API_KEY" '"projects/other/secrets/tk/versions/3"' "TARDIS_SECRET as a full name"
expect_jq "$job_json" '.allocationPolicy.serviceAccount.email' '"sa@x.iam.gserviceaccount.com"' "SERVICE_ACCOUNT"
expect_jq "$job_json" "$tg.taskSpec.runnables[0].container.imageUri" '"img.test/x:1"' "--image"

orch=(deploy/orchestration/orchestrate-tick-download.sh --start-date 2024-01-01 --end-date 2024-01-31 --exchanges binance --symbols BTCUSDT --dry-run)
for bad in "--tasks 5 --instances 6" "--max-retries 11" "--instances 0" "--engine nomad" "--job-name Bad_Name" "--max-run-duration 1.5h" "--max-run-duration 30s"; do
  read -r -a words <<<"$bad"
  capture "${orch[@]}" "${words[@]}"
  expect_rc 2 "orchestrate $bad"
done
capture deploy/orchestration/orchestrate-tick-download.sh --start-date 2024-02-30 --end-date 2024-03-01 --exchanges b --symbols S --dry-run
expect_rc 2 "an impossible date"
expect_err "must be a UTC day" "an impossible date is named"
capture deploy/orchestration/orchestrate-tick-download.sh --start-date 2024-03-02 --end-date 2024-03-01 --exchanges b --symbols S --dry-run
expect_rc 2 "end before start"
capture deploy/orchestration/orchestrate-tick-download.sh --start-date 2024-03-01 --end-date 2024-03-01 --symbols S --dry-run
expect_rc 2 "no --exchanges"

# ---- Kubernetes Indexed Job ---------------------------------------------------------------------
k8s="$tmp/job.yaml"
dry_equals_real "orchestrate --engine k8s" deploy/orchestration/orchestrate-tick-download.sh \
  --start-date 2024-01-01 --end-date 2024-01-31 --exchanges binance-futures --symbols BTCUSDT \
  --instances 4 --tasks 40 --job-name tick-k8s --engine k8s --spec-file "$k8s"
expect_out "kubectl apply -f $k8s" "k8s apply"
check "no template token is left" bash -c "! grep -q '__[A-Z_]*__' '$k8s'"
for want in "kind: Job" "completionMode: Indexed" "completions: 40" "parallelism: 4" "backoffLimitPerIndex: 10" \
  "restartPolicy: Never" "runAsNonRoot: true" "image: \"registry.test/test-project/market-tick/tardis-download@$DIGEST\"" \
  "action: FailIndex" "type: DisruptionTarget" "value: \"gs://test-bucket\"" "secretName: \"tardis-api-key\"" \
  "value: /run/secrets/tardis/api-key" "cloud.google.com/gke-spot: \"true\""; do
  check "k8s manifest has: $want" grep -qF -- "$want" "$k8s"
done
k8s_args=$(sed -n -E 's/^ *args: (\[.*\])$/\1/p' "$k8s")
expect_jq "$k8s_args" '.[-2:]' '["--shards","40"]' "k8s: --shards equals completions (JOB_COMPLETION_INDEX needs the count)"
check "the template itself still has its tokens" grep -q '__TASKS__' deploy/orchestration/k8s/tick-download-indexed-job.yaml
# The Job controller applies the first matching podFailurePolicy rule: a pod on a reclaimed spot
# node that exits 1 must meet the Ignore rule before FailIndex, or its index fails for good.
ignore_line=$(grep -n 'action: Ignore' "$k8s" | head -n1 | cut -d: -f1)
failindex_line=$(grep -n 'action: FailIndex' "$k8s" | head -n1 | cut -d: -f1)
check "k8s: Ignore on DisruptionTarget comes before FailIndex (lines $ignore_line, $failindex_line)" \
  test "${ignore_line:-999}" -lt "${failindex_line:-0}"
check "k8s: the rule right after Ignore is its DisruptionTarget condition" \
  test "$(sed -n "$((ignore_line + 1)),$((ignore_line + 2))p" "$k8s" | tr -d ' \n')" = "onPodConditions:-type:DisruptionTarget"
grace=$(sed -n -E 's/^ *terminationGracePeriodSeconds: *([0-9]+).*/\1/p' "$k8s")
check "k8s: the grace period fits GKE's 15 s for spot pods (got '$grace')" test -n "$grace" -a "${grace:-99}" -le 15

# ---- definition-driven fleet (issue 19) ---------------------------------------------------------
# Without --symbols: a one-task instruments job first, the script waits for it, then the download
# tasks plan from the stored definitions with market-tick download's filters.
dspec="$tmp/defs.json"
# shellcheck disable=SC2054  # the commas are inside flag values
defs=(deploy/orchestration/orchestrate-tick-download.sh --start-date 2024-01-01 --end-date 2024-12-31
  --exchanges deribit,binance-futures --instrument-types option,perpetual --base BTC,ETH --quote USD,USDT
  --max-days-to-expiry 30 --max-instruments 500 --data-types trades --instances 6 --job-name fleet-2024
  --spec-file "$dspec" --poll 1)
printf 'SUCCEEDED\n' >"$DOUBLE_DIR/gcloud.batch_jobs_describe_fleet-2024-inst"
dry_equals_real "orchestrate without --symbols" "${defs[@]}"
ispec="$tmp/defs.instruments.json"
check "the instruments job spec is written next to --spec-file" test -s "$ispec"
expect_out '"imageUri": "registry.test/test-project/market-tick/instrument-generation:latest"' "instruments job: its image"
expect_jq "$(cat "$ispec")" "$tg.taskSpec.runnables[0].container.commands" '["--from","2024-01-01","--to","2024-12-31","--exchanges","deribit,binance-futures","--log-format","json"]' \
  "instruments job: every definition of the range (the filters apply when planning)"
expect_jq "$(cat "$ispec")" "[$tg.taskCount, $tg.parallelism, .labels.job]" '[1,1,"instrument-generation"]' "instruments job: one task, its own label"
expect_jq "$(cat "$dspec")" "$tg.taskSpec.runnables[0].container.commands" \
  '["--from","2024-01-01","--to","2024-12-31","--exchanges","deribit,binance-futures","--instrument-types","option,perpetual","--base","BTC,ETH","--quote","USD,USDT","--max-days-to-expiry","30","--max-instruments","500","--data-types","trades","--log-format","json"]' \
  "download job: the filters, no --symbols (the tasks plan from the stored definitions)"
expect_jq "$(cat "$dspec")" "[$tg.taskCount, .labels.job]" '[60,"tick-download"]' "download job: the shard tasks"
expect_eq "$(grep -oE '^gcloud batch jobs (list|submit|describe) [^ ]*' "$DOUBLE_LOG" | tr '\n' ';')" \
  "gcloud batch jobs list --project;gcloud batch jobs submit fleet-2024-inst;gcloud batch jobs describe fleet-2024-inst;gcloud batch jobs submit fleet-2024;" \
  "order: overlap check, instruments job, wait for it, download job"
expect_out "every 1 s until it is SUCCEEDED" "the dry run says that it waits for the instruments job"
expect_out "# plan: not computed" "without definitions yet the dry run cannot size the plan"
expect_out "market-tick plan --from 2024-01-01 --to 2024-12-31 --exchanges deribit,binance-futures --instrument-types option,perpetual" \
  "the dry run shows the plan command to run once the definitions exist"
# The instruments job fails: nothing else is submitted.
printf 'RUNNING\n' >"$DOUBLE_DIR/gcloud.batch_jobs_describe_fleet-2024-inst"
( sleep 1.5; printf 'FAILED\n' >"$DOUBLE_DIR/gcloud.batch_jobs_describe_fleet-2024-inst" ) &
reset_log
capture timeout 60 "${defs[@]}"
wait
expect_rc 1 "orchestrate: the instruments job failed"
expect_err "fleet-2024-inst ended FAILED: the download job was not submitted" "orchestrate names the failed instruments job"
check "orchestrate polled the instruments job until it ended" test "$(grep -c 'describe fleet-2024-inst' "$DOUBLE_LOG")" -ge 2
check "orchestrate did not submit the download job" bash -c "! grep -q 'jobs submit fleet-2024 ' '$DOUBLE_LOG'"
rm "$DOUBLE_DIR/gcloud.batch_jobs_describe_fleet-2024-inst"
# --skip-instruments: definitions exist already.
reset_log
capture "${defs[@]}" --skip-instruments
expect_rc 0 "orchestrate --skip-instruments"
expect_eq "$(grep -c 'jobs submit' "$DOUBLE_LOG")" 1 "--skip-instruments submits the download job only"
for bad in "--symbols BTCUSDT" "--instrument-types swap" "--max-days-to-expiry x"; do
  read -r -a words <<<"$bad"
  capture "${defs[@]}" "${words[@]}" --dry-run
  expect_rc 2 "orchestrate filters + $bad"
done
capture deploy/orchestration/orchestrate-tick-download.sh --start-date 2024-01-01 --end-date 2024-01-02 --exchanges b \
  --symbols S --skip-instruments --dry-run
expect_rc 2 "--skip-instruments with --symbols"
# The dry run sizes the plan with the real binary (issue 19: plan size, shard count, objects).
BIN=${MARKET_TICK_BIN:-$ROOT/build/market-tick}
if [ -x "$BIN" ]; then
  MARKET_TICK_BIN=$BIN capture deploy/orchestration/orchestrate-tick-download.sh --start-date 2024-01-01 --end-date 2024-01-02 \
    --exchanges binance-futures --symbols BTCUSDT,ETHUSDT --data-types trades,quotes --instances 2 --tasks 3 --job-name sized --dry-run
  expect_rc 0 "orchestrate --dry-run with a binary"
  expect_out "# plan: 8 items (day x data type x instrument), 3 shard tasks" "the dry run prints the plan size and shard count"
  expect_out "# shard sizes: min " "the dry run prints the shard sizes"
  expect_out "# expected objects: 8 Parquet files under gs://test-bucket/raw_tick_data/" "the dry run prints the expected object count"
  # --derive: passed to every task's download, and the derived objects counted (one per item of the name's data type).
  MARKET_TICK_BIN=$BIN capture deploy/orchestration/orchestrate-tick-download.sh --start-date 2024-01-01 --end-date 2024-01-02 \
    --exchanges binance-futures --symbols BTCUSDT,ETHUSDT --data-types trades,quotes --derive trade_bar_1m,book_snapshot_5_1s \
    --instances 2 --tasks 3 --job-name derived --dry-run
  expect_rc 0 "orchestrate --derive --dry-run"
  job_json=$(sed -n '/^{/,/^}/p' <<<"$OUT")
  expect_jq "$job_json" "$tg.taskSpec.runnables[0].container.commands" \
    '["--from","2024-01-01","--to","2024-01-02","--exchanges","binance-futures","--symbols","BTCUSDT,ETHUSDT","--data-types","trades,quotes","--derive","trade_bar_1m,book_snapshot_5_1s","--log-format","json"]' \
    "--derive reaches every task's download"
  expect_out "# plan: 8 items (day x data type x instrument), 3 shard tasks" "the plan size with --derive"
  expect_out "# expected derived objects: 4 Parquet files under gs://test-bucket/derived_data/" "the dry run counts the derived objects"
  capture "${orch[@]}" --derive book_snapshot_5
  expect_rc 2 "orchestrate --derive with a name market-tick refuses"
  # The estimate: sizes sampled from the project's Tardis-compatible test server (GENERATED files of 1,000
  # bytes each, so 8 items are 8,000 bytes), or "not computed" when the datasets server does not answer.
  if command -v node >/dev/null 2>&1; then
    ddir="$tmp/datasets"; mkdir -p "$ddir"
    for day in 2024-01-01 2024-01-02; do for t in trades quotes; do for s in BTCUSDT ETHUSDT; do
      head -c 1000 /dev/zero >"$ddir/binance-futures_${t}_${day}_${s}.csv.gz"
    done; done; done
    node tests/support/tardis_server.mjs --port 0 --data-dir "$ddir" --port-file "$tmp/tardis.port" >/dev/null 2>&1 &
    srv_pid=$!
    for _ in $(seq 100); do [ -s "$tmp/tardis.port" ] && break; sleep 0.1; done
    TARDIS_DATASETS_URL="http://127.0.0.1:$(cat "$tmp/tardis.port")" TARDIS_API_KEY=k MARKET_TICK_BIN=$BIN capture \
      deploy/orchestration/orchestrate-tick-download.sh --start-date 2024-01-01 --end-date 2024-01-02 \
      --exchanges binance-futures --symbols BTCUSDT,ETHUSDT --data-types trades,quotes --instances 2 --tasks 3 --job-name sized --dry-run
    kill "$srv_pid" 2>/dev/null || true
    expect_rc 0 "orchestrate --dry-run with an estimate"
    expect_out "# estimate: 8.00 KB to download (8 items, 8 sampled by 8 requests" "the dry run prints the estimated download size"
    expect_out "# estimate: about 0.00 hours of wall time on 2 instances" "the dry run spreads the machine-hours over the instances"
  fi
  TARDIS_DATASETS_URL=http://127.0.0.1:9 MARKET_TICK_BIN=$BIN capture deploy/orchestration/orchestrate-tick-download.sh \
    --start-date 2024-01-01 --end-date 2024-01-01 --exchanges binance-futures --symbols BTCUSDT --instances 2 --tasks 2 \
    --job-name sized --dry-run
  expect_rc 0 "orchestrate --dry-run without a datasets server"
  expect_out "# estimate: not computed (market-tick plan --estimate exited 3" "an estimate that cannot be made is said, not fatal"
  MARKET_TICK_BIN=$BIN capture deploy/orchestration/orchestrate-tick-download.sh --start-date 2024-01-01 --end-date 2024-01-01 \
    --exchanges binance-futures --symbols BTCUSDT --instances 2 --tasks 4 --job-name sized --dry-run
  expect_out "# note: fewer items than tasks: 3 tasks will have nothing to do" "the dry run warns about empty shards"
else
  fail "no market-tick binary at $BIN for the plan-size checks (build it, or set MARKET_TICK_BIN)"
fi

# ---- images by digest (issue 19) -------------------------------------------------------------------
# The spec a real submission writes names each image by the digest its tag points at now.
expect_jq "$(cat "$dspec")" "$tg.taskSpec.runnables[0].container.imageUri" "\"registry.test/test-project/market-tick/tardis-download@$DIGEST\"" \
  "the submitted download job names its image by digest"
expect_jq "$(cat "$ispec")" "$tg.taskSpec.runnables[0].container.imageUri" "\"registry.test/test-project/market-tick/instrument-generation@$DIGEST\"" \
  "the submitted instruments job names its image by digest"
pin=(deploy/orchestration/orchestrate-tick-download.sh --start-date 2024-01-01 --end-date 2024-01-02 --exchanges b --symbols S
  --job-name pinned --instances 1 --tasks 1 --spec-file "$tmp/pin.json")
capture "${pin[@]}" --image "registry.test:5000/p/tardis-download:v3"
expect_jq "$(cat "$tmp/pin.json")" "$tg.taskSpec.runnables[0].container.imageUri" "\"registry.test:5000/p/tardis-download@$DIGEST\"" \
  "a registry port is not taken for a tag"
reset_log
capture "${pin[@]}" --image "registry.test/p/tardis-download@$DIGEST"
expect_jq "$(cat "$tmp/pin.json")" "$tg.taskSpec.runnables[0].container.imageUri" "\"registry.test/p/tardis-download@$DIGEST\"" "a digest given is kept"
check "a digest given is not looked up" bash -c "! grep -q 'artifacts docker' '$DOUBLE_LOG'"
capture "${pin[@]}" --no-pin
expect_jq "$(cat "$tmp/pin.json")" "$tg.taskSpec.runnables[0].container.imageUri" '"registry.test/test-project/market-tick/tardis-download:latest"' "--no-pin keeps the tag"
mv "$DOUBLE_DIR/gcloud.artifacts_docker_images_describe" "$tmp/digest.saved"
printf '1\n' >"$DOUBLE_DIR/gcloud.artifacts_docker_images_describe.rc"
reset_log
capture "${pin[@]}"
expect_rc 2 "an image that is not in the registry stops the submission"
expect_err "could not resolve the image registry.test/test-project/market-tick/tardis-download:latest to a digest" "the missing image is named"
check "nothing is submitted without the image" bash -c "! grep -q 'jobs submit' '$DOUBLE_LOG'"
rm "$DOUBLE_DIR/gcloud.artifacts_docker_images_describe.rc"
mv "$tmp/digest.saved" "$DOUBLE_DIR/gcloud.artifacts_docker_images_describe"

# ---- a second fleet over running days is refused (issue 19) --------------------------------------
cat >"$DOUBLE_DIR/gcloud.batch_jobs_list" <<'JSON'
[{"name": "projects/test-project/locations/europe-west4/jobs/tick-h1", "status": {"state": "RUNNING"},
  "labels": {"app": "market-tick", "job": "tick-download", "start-date": "20240101", "end-date": "20240630"}},
 {"name": "projects/test-project/locations/europe-west4/jobs/tick-h0", "status": {"state": "QUEUED"},
  "labels": {"app": "market-tick", "job": "tick-download", "start-date": "20231001", "end-date": "20231231"}}]
JSON
reset_log
capture deploy/orchestration/orchestrate-tick-download.sh --start-date 2024-06-01 --end-date 2024-07-31 --exchanges binance --symbols BTCUSDT --job-name again
expect_rc 2 "an overlapping submission is refused"
expect_err "tick-h1 (RUNNING, 20240101..20240630)" "the refusal names the overlapping job"
check "the refusal does not name a job of other days" no_match tick-h0 "$ERR"
check "nothing is submitted over running days" bash -c "! grep -q 'jobs submit' '$DOUBLE_LOG'"
check "the running jobs are listed by label and state" grep -qF "labels.app=market-tick AND (labels.job=tick-download OR labels.job=instrument-generation) AND (status.state=QUEUED OR status.state=SCHEDULED OR status.state=RUNNING)" "$DOUBLE_LOG"
capture deploy/orchestration/orchestrate-tick-download.sh --start-date 2024-07-01 --end-date 2024-07-31 --exchanges binance --symbols BTCUSDT --job-name later
expect_rc 0 "a submission over other days goes ahead"
reset_log
capture deploy/orchestration/orchestrate-tick-download.sh --start-date 2024-06-01 --end-date 2024-07-31 --exchanges binance --symbols BTCUSDT --job-name again --allow-overlap
expect_rc 0 "--allow-overlap submits anyway"
check "--allow-overlap does not list the jobs" bash -c "! grep -q 'jobs list' '$DOUBLE_LOG'"
rm "$DOUBLE_DIR/gcloud.batch_jobs_list"
cat >"$DOUBLE_DIR/kubectl.get_jobs" <<'JSON'
{"items": [{"metadata": {"name": "k-running"}, "status": {"active": 3},
  "spec": {"template": {"spec": {"containers": [{"args": ["--from", "2024-03-01", "--to", "2024-03-31", "--shards", "10"]}]}}}},
 {"metadata": {"name": "k-done"}, "status": {"conditions": [{"type": "Complete", "status": "True"}]},
  "spec": {"template": {"spec": {"containers": [{"args": ["--from", "2024-03-01", "--to", "2024-03-31"]}]}}}}]}
JSON
capture deploy/orchestration/orchestrate-tick-download.sh --engine k8s --start-date 2024-03-15 --end-date 2024-04-15 --exchanges b --symbols S --job-name k2 --instances 1 --tasks 2
expect_rc 2 "k8s: an overlapping submission is refused"
expect_err "k-running (active, 2024-03-01..2024-03-31)" "k8s: the refusal names the running Job"
check "k8s: a finished Job does not count" no_match k-done "$ERR"
rm "$DOUBLE_DIR/kubectl.get_jobs"

# ---- network options (issue 19) ------------------------------------------------------------------
capture "${orch[@]}" --network my-vpc --subnetwork fleet-sub --no-external-ip
job_json=$(sed -n '/^{/,/^}/p' <<<"$OUT")
expect_jq "$job_json" '.allocationPolicy.network' \
  '{"networkInterfaces":[{"network":"projects/test-project/global/networks/my-vpc","subnetwork":"projects/test-project/regions/europe-west4/subnetworks/fleet-sub","noExternalIpAddress":true}]}' \
  "--network, --subnetwork, --no-external-ip"
capture "${orch[@]}" --subnetwork projects/host/regions/europe-west4/subnetworks/shared
job_json=$(sed -n '/^{/,/^}/p' <<<"$OUT")
expect_jq "$job_json" '.allocationPolicy.network.networkInterfaces' '[{"subnetwork":"projects/host/regions/europe-west4/subnetworks/shared"}]' "a full subnetwork name (Shared VPC) is kept"
capture "${orch[@]}"
job_json=$(sed -n '/^{/,/^}/p' <<<"$OUT")
expect_jq "$job_json" '.allocationPolicy | has("network")' false "no network settings by default"
capture "${orch[@]}" --engine k8s --no-external-ip
expect_rc 2 "network options are refused for k8s"
capture "${orch[@]}" --network Bad_Net
expect_rc 2 "a bad network name"

# ---- Kubernetes: time limit, tolerations, --no-spot, definitions ---------------------------------
capture "${orch[@]}" --engine k8s --max-run-duration 2h --instances 2 --tasks 4
expect_out "activeDeadlineSeconds: 7200" "k8s: --max-run-duration is the pod's activeDeadlineSeconds"
for want in "tolerations:" "- key: cloud.google.com/gke-spot" "operator: Equal" 'value: "true"' "effect: NoSchedule"; do
  expect_out "$want" "k8s: tolerates tainted spot pools: $want"
done
expect_no_out "# SPOT" "k8s: no template marker is left"
capture "${orch[@]}" --engine k8s --no-spot --instances 2 --tasks 4
check "k8s --no-spot: no spot node selector or toleration" no_match '^ +[^#]*gke-spot' "$OUT"
expect_out "activeDeadlineSeconds: 21600" "k8s --no-spot: the rest is kept"
capture deploy/orchestration/orchestrate-tick-download.sh --engine k8s --start-date 2024-01-01 --end-date 2024-01-31 \
  --exchanges deribit --instrument-types option --instances 2 --tasks 4 --job-name kdefs --dry-run
expect_rc 0 "k8s without --symbols"
expect_out "name: kdefs-inst" "k8s: the instruments Job"
expect_out 'args: ["--from","2024-01-01","--to","2024-01-31","--exchanges","deribit","--log-format","json"]' "k8s: the instruments Job's arguments (no --shards)"
expect_out 'args: ["--from","2024-01-01","--to","2024-01-31","--exchanges","deribit","--instrument-types","option","--log-format","json","--shards","4"]' "k8s: the download Job plans from definitions"
expect_out "+ kubectl get job kdefs-inst --namespace default -o json" "k8s: waits for the instruments Job"

# ---- derive jobs: market-tick derive over raw data already stored (issue 17) ---------------------
# --command derive: the same shard job, the container running `market-tick derive` (the image's
# entrypoint is `market-tick download`, so the spec names the binary and the command), no key, no
# instruments job, the retry policy of a download.
img_entry=$(sed -n -E 's/^ENTRYPOINT \["([^"]+)", "([^"]+)"\]$/\1 \2/p' docker/tardis-download/Dockerfile)
expect_eq "$img_entry" "/usr/local/bin/market-tick download" "the tardis-download image's entrypoint is the binary's download command"
dvspec="$tmp/derive.json"
dry_equals_real "orchestrate --command derive" deploy/orchestration/orchestrate-tick-download.sh --command derive \
  --start-date 2024-01-01 --end-date 2024-12-31 --exchanges deribit,binance-futures --derive book_snapshot_10_1s,trade_bar_1m \
  --instances 5 --tasks 40 --concurrency 3 --job-name derive-2024 --spec-file "$dvspec"
job_json=$(sed -n '/^{/,/^}/p' <<<"$OUT")
check "derive: the dry run prints the job JSON" jq -e . <<<"$job_json" >/dev/null
expect_out "# Cloud Batch job spec, market-tick derive ($dvspec):" "derive: the dry run names the derive job spec"
expect_eq "$(jq -cS "del($img)" <<<"$job_json")" "$(jq -cS "del($img)" "$dvspec")" "derive: the printed JSON is the submitted file"
expect_jq "$(cat "$dvspec")" "$img" "\"registry.test/test-project/market-tick/tardis-download@$DIGEST\"" "derive: the tardis-download image, by digest"
ctr="$tg.taskSpec.runnables[0].container"
expect_jq "$job_json" "$ctr.entrypoint" "\"${img_entry% *}\"" "derive: the entrypoint is the image's binary"
expect_jq "$job_json" "$ctr.commands" \
  '["derive","--from","2024-01-01","--to","2024-12-31","--exchanges","deribit,binance-futures","--derive","book_snapshot_10_1s,trade_bar_1m","--concurrency","3","--log-format","json"]' \
  "derive: the container runs market-tick derive over the whole range, no --shard (BATCH_TASK_INDEX selects it)"
expect_jq "$job_json" "[$tg.taskCount, $tg.parallelism, $tg.taskCountPerNode]" '[40,5,1]' "derive: --tasks shard tasks, --instances at a time"
expect_jq "$job_json" "$tg.taskSpec.lifecyclePolicies" \
  '[{"action":"RETRY_TASK","actionCondition":{"exitCodes":[3,130,50001,50002,50003,50004,50005,50006]}}]' \
  "derive: exit 3, 130 and Batch's VM codes are retried, 1 and 2 are not (as a download)"
expect_jq "$job_json" "[$tg.taskSpec.maxRetryCount, $tg.taskSpec.maxRunDuration]" '[10,"21600s"]' "derive: retries and run duration"
expect_jq "$job_json" "$tg.taskSpec.environment" \
  '{"variables":{"OUTPUT_URI":"gs://test-bucket","GCP_PROJECT_ID":"test-project","LOG_LEVEL":"info","GCS_BUCKET":"test-bucket"}}' \
  "derive: the store and log level only: no Tardis key, no MAX_CONCURRENT_REQUESTS, no shard variables"
expect_jq "$job_json" '[.labels, .allocationPolicy.labels]' \
  '[{"app":"market-tick","job":"tick-derive","start-date":"20240101","end-date":"20241231"},{"app":"market-tick","job":"tick-derive"}]' "derive: labels"
expect_jq "$job_json" '.allocationPolicy.instances[0].policy.provisioningModel' '"SPOT"' "derive: spot VMs"
expect_eq "$(grep -oE '^gcloud batch jobs (list|submit) [^ ]*' "$DOUBLE_LOG" | tr '\n' ';')" \
  "gcloud batch jobs list --project;gcloud batch jobs submit derive-2024;" "derive: overlap check, then the one derive job (no instruments job)"
check "derive: no instruments job spec is written" test ! -e "$tmp/derive.instruments.json"
check "derive: the overlap check lists download, instruments and derive jobs" grep -qF \
  "labels.app=market-tick AND (labels.job=tick-download OR labels.job=instrument-generation OR labels.job=tick-derive) AND (status.state=QUEUED" "$DOUBLE_LOG"
expect_out "# plan: each task lists the raw objects of incremental_book_L2,trades stored under gs://test-bucket/raw_tick_data/ for 2024-01-01..2024-12-31 (deribit,binance-futures)" \
  "derive --dry-run: what the tasks read"
# Derived names in --data-types (as market-tick derive takes them), no --exchanges (every exchange stored), filters.
capture deploy/orchestration/orchestrate-tick-download.sh --command derive --start-date 2024-01-01 --end-date 2024-01-31 \
  --data-types book_snapshot_5_0ms,incremental_book_L2 --instrument-types perpetual --instances 1 --tasks 2 --dry-run
expect_rc 0 "derive with derived names in --data-types, without --exchanges"
job_json=$(sed -n '/^{/,/^}/p' <<<"$OUT")
expect_jq "$job_json" "$ctr.commands" \
  '["derive","--from","2024-01-01","--to","2024-01-31","--instrument-types","perpetual","--data-types","book_snapshot_5_0ms,incremental_book_L2","--log-format","json"]' \
  "derive: --data-types and the filters go to every task as given"
expect_out "+ gcloud batch jobs submit tick-derive-20240101-20240131-" "derive: the default job name says derive"
# The dry run sizes a --symbols plan with the real binary: one item per day, source type and instrument.
if [ -x "$BIN" ]; then
  MARKET_TICK_BIN=$BIN capture deploy/orchestration/orchestrate-tick-download.sh --command derive --start-date 2024-01-01 \
    --end-date 2024-01-02 --exchanges binance-futures --symbols BTCUSDT,ETHUSDT --derive trade_bar_1m,trade_bar_100ticks,book_snapshot_5_1s \
    --instances 2 --tasks 3 --job-name dsized --dry-run
  expect_rc 0 "derive --dry-run with --symbols and a binary"
  expect_out "# plan: 8 items (day x source data type x instrument, each one raw object read from gs://test-bucket/raw_tick_data/), 3 shard tasks" \
    "derive --dry-run: the plan of the names' source types"
  expect_out "# expected derived objects: 12 Parquet files under gs://test-bucket/derived_data/" "derive --dry-run: the derived objects counted"
fi
# Usage errors stop the submission (exit 2), not every task.
dv=(deploy/orchestration/orchestrate-tick-download.sh --command derive --start-date 2024-01-01 --end-date 2024-01-31 --exchanges deribit --dry-run)
for bad in "" "--derive book_snapshot_5" "--derive trade_bar_1m --data-types quotes" "--derive book_snapshot_5_1s --data-types trades" \
  "--derive trade_bar_1m --skip-instruments" "--derive trade_bar_1m --instruments-image x/y:1"; do
  read -r -a words <<<"$bad"
  capture "${dv[@]}" "${words[@]}"
  expect_rc 2 "derive $bad"
done
capture "${dv[@]}" --derive book_snapshot_5_1s --data-types trades
expect_err "no derived name given is computed from trades" "derive: a source type without its name is named"
capture "${dv[@]}"
expect_err "--command derive needs the derived names to compute" "derive without names says what to give"
capture deploy/orchestration/orchestrate-tick-download.sh --command derive --start-date 2024-01-01 --end-date 2024-01-31 \
  --symbols BTCUSDT --derive trade_bar_1m --dry-run
expect_rc 2 "derive: a bare symbol without --exchanges"
expect_err "pin it (exchange:BTCUSDT) or give --exchanges" "derive: the bare symbol is named"
capture "${orch[@]}" --command upload
expect_rc 2 "--command takes download or derive"
capture "${orch[@]}" --force
expect_rc 2 "--force is for derive jobs"
capture "${dv[@]}" --derive trade_bar_1m --force
expect_rc 0 "derive --force"
job_json=$(sed -n '/^{/,/^}/p' <<<"$OUT")
expect_jq "$job_json" "$ctr.commands[-3:]" '["--force","--log-format","json"]' "derive --force: every task recomputes what exists"
capture "${orch[@]}" --data-types trades,trade_bar_1m
expect_rc 2 "download: a derived name in --data-types"
expect_err "give it in --derive (computed in the same pass), or submit --command derive" "download: says where a derived name goes"

# Kubernetes: command + args, JOB_COMPLETION_INDEX with --shards, no Secret.
dvk="$tmp/derive.yaml"
dry_equals_real "orchestrate --engine k8s --command derive" deploy/orchestration/orchestrate-tick-download.sh --engine k8s \
  --command derive --start-date 2024-01-01 --end-date 2024-03-31 --exchanges deribit --symbols deribit:BTC-PERPETUAL \
  --derive book_snapshot_25_100ms --instances 3 --tasks 12 --job-name derive-k8s --spec-file "$dvk"
expect_out "kubectl apply -f $dvk" "k8s derive: apply"
expect_out "# Kubernetes Indexed Job, market-tick derive ($dvk):" "k8s derive: the dry run names the derive Job"
check "k8s derive: no template token is left" bash -c "! grep -q '__[A-Z_]*__' '$dvk'"
check "k8s derive: no template marker is left" no_match '# (SPOT|KEY|COMMAND)$' "$(cat "$dvk")"
expect_eq "$(sed -n -E 's/^          command: (\[.*\])$/\1/p' "$dvk")" "[\"${img_entry% *}\",\"derive\"]" \
  "k8s derive: the container's command is the image's binary and derive"
expect_jq "$(sed -n -E 's/^          args: (\[.*\])$/\1/p' "$dvk")" . \
  '["--from","2024-01-01","--to","2024-03-31","--exchanges","deribit","--symbols","deribit:BTC-PERPETUAL","--derive","book_snapshot_25_100ms","--log-format","json","--shards","12"]' \
  "k8s derive: args end with --shards = completions (JOB_COMPLETION_INDEX gives the index)"
for want in "completionMode: Indexed" "completions: 12" "parallelism: 3" "backoffLimitPerIndex: 10" "job: tick-derive" \
  "image: \"registry.test/test-project/market-tick/tardis-download@$DIGEST\"" "values: [1, 2]" "value: \"gs://test-bucket\"" \
  "terminationGracePeriodSeconds: 15" "readOnlyRootFilesystem: true" "mountPath: /temp"; do
  check "k8s derive manifest has: $want" grep -qF -- "$want" "$dvk"
done
expect_eq "$(grep -c 'job: tick-derive' "$dvk")" 2 "k8s derive: the Job and its pods are labelled tick-derive"
check "k8s derive: Ignore on DisruptionTarget before FailIndex" \
  test "$(grep -n 'action: Ignore' "$dvk" | cut -d: -f1)" -lt "$(grep -n 'action: FailIndex' "$dvk" | cut -d: -f1)"
check "k8s derive: no Tardis key Secret is mounted, named or asked for" no_match 'tardis-key|tardis-api-key|TARDIS_API_KEY|secretName|/run/secrets' "$(cat "$dvk")"
check "k8s derive: the volumes left are the temporary ones" \
  test "$(sed -n '/^      volumes:/,$p' "$dvk" | grep -oE 'name: [a-z-]+' | tr '\n' ';')" = "name: temp;name: tmp;"
check "k8s derive: the overlap check lists derive Jobs too" grep -qF \
  "kubectl get jobs --namespace default -l 'app=market-tick,job in (tick-download,instrument-generation,tick-derive)' -o json" "$DOUBLE_LOG"
# The download Job's manifest keeps the key and has no command (the image's entrypoint runs).
check "k8s download: no command line" no_match '^ +command:' "$(cat "$k8s")"

# The overlap guard: a derive job is refused over days of an unfinished download (its raw objects
# are still arriving) or derive job; a download job is not refused by a derive job.
cat >"$DOUBLE_DIR/gcloud.batch_jobs_list" <<'JSON'
[{"name": "projects/test-project/locations/europe-west4/jobs/tick-dl", "status": {"state": "RUNNING"},
  "labels": {"app": "market-tick", "job": "tick-download", "start-date": "20240101", "end-date": "20240331"}},
 {"name": "projects/test-project/locations/europe-west4/jobs/tick-dv", "status": {"state": "QUEUED"},
  "labels": {"app": "market-tick", "job": "tick-derive", "start-date": "20240501", "end-date": "20240630"}}]
JSON
ov=(deploy/orchestration/orchestrate-tick-download.sh --exchanges deribit --symbols deribit:BTC-PERPETUAL --job-name ov --instances 1 --tasks 1)
reset_log
capture "${ov[@]}" --command derive --derive trade_bar_1m --start-date 2024-03-01 --end-date 2024-03-31
expect_rc 2 "derive over the days of a running download is refused"
expect_err "tick-dl (RUNNING, 20240101..20240331)" "the refusal names the running download"
expect_err "its tasks would miss raw objects still being downloaded" "the refusal says why for a derive job"
check "nothing is submitted over a running download" bash -c "! grep -q 'jobs submit' '$DOUBLE_LOG'"
capture "${ov[@]}" --command derive --derive trade_bar_1m --start-date 2024-06-01 --end-date 2024-06-30
expect_rc 2 "derive over the days of a queued derive job is refused"
expect_err "tick-dv (QUEUED, 20240501..20240630, a derive job)" "the refusal names the derive job"
check "the refusal leaves out the download of other days" no_match tick-dl "$ERR"
capture "${ov[@]}" --command derive --derive trade_bar_1m --start-date 2024-04-01 --end-date 2024-04-30
expect_rc 0 "derive over other days goes ahead"
capture "${ov[@]}" --start-date 2024-06-01 --end-date 2024-06-30
expect_rc 0 "a download over the days of a derive job goes ahead (it downloads nothing the derive job does)"
capture "${ov[@]}" --command derive --derive trade_bar_1m --start-date 2024-03-01 --end-date 2024-03-31 --allow-overlap
expect_rc 0 "derive --allow-overlap submits anyway"
rm "$DOUBLE_DIR/gcloud.batch_jobs_list"
cat >"$DOUBLE_DIR/kubectl.get_jobs" <<'JSON'
{"items": [{"metadata": {"name": "k-derive", "labels": {"app": "market-tick", "job": "tick-derive"}}, "status": {"active": 2},
  "spec": {"template": {"spec": {"containers": [{"command": ["/usr/local/bin/market-tick", "derive"],
    "args": ["--from", "2024-03-01", "--to", "2024-03-31", "--shards", "10"]}]}}}}]}
JSON
capture "${ov[@]}" --engine k8s --command derive --derive trade_bar_1m --start-date 2024-03-15 --end-date 2024-04-15
expect_rc 2 "k8s: derive over the days of an active derive Job is refused"
expect_err "k-derive (active, 2024-03-01..2024-03-31, a derive job)" "k8s: the refusal names the derive Job"
capture "${ov[@]}" --engine k8s --start-date 2024-03-15 --end-date 2024-04-15
expect_rc 0 "k8s: a download is not refused by a derive Job"
rm "$DOUBLE_DIR/kubectl.get_jobs"

# ---- missing variables, missing tools -----------------------------------------------------------
o=(deploy/orchestration/orchestrate-tick-download.sh --start-date 2024-01-01 --end-date 2024-01-02 --exchanges b --symbols S --job-name j --dry-run)
for v in GCP_PROJECT_ID IMAGE_REPO GCS_BUCKET; do
  capture env -u "$v" "${o[@]}"
  expect_rc 2 "orchestrate without $v"
  expect_err "$v is not set" "orchestrate names the missing $v"
done
OUTPUT_URI=/tmp/local capture "${o[@]}"
expect_rc 2 "a fleet writing to a local path"
expect_err "must write to GCS" "a fleet writing to a local path is refused"
OUTPUT_URI=gs://other/prefix capture "${o[@]}"
expect_out '"OUTPUT_URI": "gs://other/prefix"' "OUTPUT_URI wins over GCS_BUCKET"
capture env -u GCP_PROJECT_ID deploy/vm/vm-manager.sh list --dry-run
expect_rc 2 "vm-manager without GCP_PROJECT_ID"
capture env -u IMAGE_REPO deploy/local/build-all.sh --push --dry-run
expect_rc 2 "build-all --push without IMAGE_REPO"

# A PATH with the basic tools only: no gcloud, docker, kubectl (and a second one without jq).
sandbox() {
  local dir=$1
  shift
  mkdir -p "$dir"
  local t
  for t in bash env dirname basename date mktemp rm cat sed awk id git head tail wc tr sort cut grep mkdir sleep base64 chmod install "$@"; do
    if command -v "$t" >/dev/null 2>&1; then ln -sf "$(PATH=$REAL_PATH command -v "$t")" "$dir/$t"; fi
  done
}
sandbox "$tmp/bin-nojq"
sandbox "$tmp/bin" jq
PATH="$tmp/bin" capture deploy/vm/vm-manager.sh list
expect_rc 2 "vm-manager without gcloud"
expect_err "gcloud is required" "the missing gcloud is named"
PATH="$tmp/bin" capture deploy/vm/vm-manager.sh list --dry-run
expect_rc 0 "a dry run needs no gcloud"
PATH="$tmp/bin" capture deploy/local/build-all.sh
expect_rc 2 "build-all without docker"
expect_err "docker is required" "the missing docker is named"
PATH="$tmp/bin" capture "${o[@]::${#o[@]}-1}"
expect_rc 2 "orchestrate without gcloud"
expect_err "gcloud is required" "orchestrate names the missing gcloud"
PATH="$tmp/bin" capture "${o[@]::${#o[@]}-1}" --engine k8s --no-pin
expect_err "kubectl is required" "orchestrate --engine k8s names the missing kubectl"
PATH="$tmp/bin-nojq" capture "${o[@]}"
expect_rc 2 "orchestrate without jq"
expect_err "jq is required" "orchestrate names the missing jq"
PATH="$tmp/bin" capture deploy/orchestration/monitor-tick-download.sh --job j
expect_rc 2 "monitor without gcloud"

# ---- monitor ------------------------------------------------------------------------------------
cat >"$DOUBLE_DIR/gcloud.batch_jobs_describe_tick-jan" <<'JSON'
{"name": "projects/test-project/locations/europe-west4/jobs/tick-jan",
 "labels": {"app": "market-tick", "start-date": "20240101", "end-date": "20240131"},
 "taskGroups": [{"taskCount": "60", "parallelism": "6"}],
 "status": {"state": "RUNNING", "runDuration": "720s",
            "taskGroups": {"group0": {"counts": {"RUNNING": "6", "SUCCEEDED": "50", "PENDING": "4"}}}}}
JSON
cat >"$DOUBLE_DIR/gcloud.storage_ls" <<'TXT'
gs://test-bucket/raw_tick_data/by_date/day-2023-12-31/data_type-trades/BINANCE:SPOT_PAIR:BTC-USDT.parquet
gs://test-bucket/raw_tick_data/by_date/day-2024-01-01/data_type-trades/BINANCE:SPOT_PAIR:BTC-USDT.parquet
gs://test-bucket/raw_tick_data/by_date/day-2024-01-31/data_type-quotes/BINANCE:SPOT_PAIR:BTC-USDT.parquet
gs://test-bucket/raw_tick_data/by_date/day-2024-02-01/data_type-trades/BINANCE:SPOT_PAIR:BTC-USDT.parquet
TXT
reset_log
capture deploy/orchestration/monitor-tick-download.sh --job tick-jan --dry-run
expect_rc 0 "monitor --dry-run"
check "monitor --dry-run calls no tool" test ! -s "$DOUBLE_LOG"
expect_out "gcloud batch jobs describe tick-jan --project test-project --location europe-west4 --format json" "monitor --dry-run"
expect_out "gcloud storage ls 'gs://test-bucket/raw_tick_data/**'" "monitor --dry-run lists the bucket"
capture deploy/orchestration/monitor-tick-download.sh --job tick-jan
expect_rc 4 "monitor: a running job exits 4"
expect_out "job tick-jan: RUNNING, running for 720s" "monitor: state"
expect_out "tasks: RUNNING 6, SUCCEEDED 50, PENDING 4" "monitor: task counts"
expect_out "of 60 tasks, 6 at a time" "monitor: size"
expect_out "objects in 2024-01-01..2024-01-31: 2 Parquet files" "monitor: objects of the job's range only"
jq '.labels.job = "instrument-generation" | .name = "projects/test-project/locations/europe-west4/jobs/tick-jan-inst"' \
  "$DOUBLE_DIR/gcloud.batch_jobs_describe_tick-jan" >"$DOUBLE_DIR/gcloud.batch_jobs_describe_tick-jan-inst"
reset_log
capture deploy/orchestration/monitor-tick-download.sh --job tick-jan-inst
expect_out "job tick-jan-inst: RUNNING" "monitor of an instruments job: its state"
check "monitor of an instruments job counts no tick objects" bash -c "! grep -q 'storage ls' '$DOUBLE_LOG'"
jq '.status.state = "FAILED" | .status.taskGroups.group0.counts = {"FAILED": "2", "SUCCEEDED": "58"}' \
  "$DOUBLE_DIR/gcloud.batch_jobs_describe_tick-jan" >"$DOUBLE_DIR/gcloud.batch_jobs_describe_tick-feb"
printf 'task-17\tTask state is updated from RUNNING to FAILED with exit code 1\n' >"$DOUBLE_DIR/gcloud.batch_tasks_list"
reset_log
capture deploy/orchestration/monitor-tick-download.sh --job tick-feb --no-objects
expect_rc 1 "monitor: a failed job exits 1"
expect_out "task-17" "monitor lists the failed tasks"
check "monitor --no-objects does not list the bucket" bash -c "! grep -q 'storage ls' '$DOUBLE_LOG'"
cat >"$DOUBLE_DIR/kubectl.get_job_tick-k8s" <<'JSON'
{"metadata": {"name": "tick-k8s"}, "spec": {"completions": 40,
 "template": {"spec": {"containers": [{"args": ["--from", "2024-01-01", "--to", "2024-01-31", "--shards", "40"]}]}}},
 "status": {"succeeded": 40, "conditions": [{"type": "Complete", "status": "True"}]}}
JSON
capture deploy/orchestration/monitor-tick-download.sh --job tick-k8s --engine k8s
expect_rc 0 "monitor k8s: complete exits 0"
expect_out "job tick-k8s: 40 of 40 indexes succeeded" "monitor k8s"
expect_out "objects in 2024-01-01..2024-01-31: 2 Parquet files" "monitor k8s: objects"
# A bucket whose layout record says hive (docs/STORAGE.md, "Layouts": every task of the fleet
# writes in the store's layout) has no by_date/ folder: its objects are counted by the date=
# partition of their names.
cp "$DOUBLE_DIR/gcloud.storage_ls" "$tmp/storage_ls.by_date"
cat >"$DOUBLE_DIR/gcloud.storage_ls" <<'TXT'
gs://test-bucket/raw_tick_data/data_type=trades/date=2023-12-31/exchange_id=binance/BINANCE.SPOT_PAIR.BTC-USDT.parquet
gs://test-bucket/raw_tick_data/data_type=trades/date=2024-01-01/exchange_id=binance/BINANCE.SPOT_PAIR.BTC-USDT.parquet
gs://test-bucket/raw_tick_data/data_type=trades/date=2024-01-01/exchange_id=deribit/_items/OPTIONS.json
gs://test-bucket/raw_tick_data/data_type=quotes/date=2024-01-31/exchange_id=binance/BINANCE.SPOT_PAIR.BTC-USDT.parquet
gs://test-bucket/raw_tick_data/data_type=trades/date=2024-02-01/exchange_id=binance/BINANCE.SPOT_PAIR.BTC-USDT.parquet
TXT
reset_log
capture deploy/orchestration/monitor-tick-download.sh --job tick-jan
expect_rc 4 "monitor of a hive store: a running job exits 4"
expect_out "objects in 2024-01-01..2024-01-31: 2 Parquet files" "monitor of a hive store: objects of the job's range only"
check "monitor of a hive store lists the whole raw_tick_data/ prefix" grep -qF "gcloud storage ls 'gs://test-bucket/raw_tick_data/**'" "$DOUBLE_LOG"
mv "$tmp/storage_ls.by_date" "$DOUBLE_DIR/gcloud.storage_ls"

# At the start of every backfill the prefix is empty and `gcloud storage ls` exits 1: that is
# 0 objects of a running job, not a failed job (issue 19 #1).
mv "$DOUBLE_DIR/gcloud.storage_ls" "$tmp/storage_ls.saved"
printf '1\n' >"$DOUBLE_DIR/gcloud.storage_ls.rc"
printf 'ERROR: (gcloud.storage.ls) One or more URLs matched no objects.\n' >"$DOUBLE_DIR/gcloud.storage_ls.err"
capture deploy/orchestration/monitor-tick-download.sh --job tick-jan
expect_rc 4 "monitor: an empty bucket prefix while the job runs is still 'running'"
expect_out "objects in 2024-01-01..2024-01-31: 0 Parquet files" "monitor: an empty prefix counts 0 objects"
capture timeout 30 deploy/orchestration/monitor-tick-download.sh --job tick-k8s --engine k8s
expect_rc 0 "monitor k8s: a complete job with an empty prefix exits 0"
# Any other listing error is reported, and the job's state still decides the exit status.
printf 'ERROR: (gcloud.storage.ls) HTTPError 403: caller does not have storage.objects.list access.\n' >"$DOUBLE_DIR/gcloud.storage_ls.err"
capture deploy/orchestration/monitor-tick-download.sh --job tick-jan
expect_rc 4 "monitor: a failed listing does not make a running job 'failed'"
expect_out "objects in 2024-01-01..2024-01-31: unknown" "monitor: a failed listing says so"
expect_err "storage.objects.list" "monitor: the listing's error is shown"
rm "$DOUBLE_DIR/gcloud.storage_ls.rc" "$DOUBLE_DIR/gcloud.storage_ls.err"
mv "$tmp/storage_ls.saved" "$DOUBLE_DIR/gcloud.storage_ls"

# A cancelled job is final: the monitor ends, also under --watch (issue 19 #2).
for st in CANCELLED CANCELLATION_IN_PROGRESS DELETION_IN_PROGRESS; do
  jq --arg s "$st" '.status.state = $s | .name = "projects/test-project/locations/europe-west4/jobs/tick-can"' "$DOUBLE_DIR/gcloud.batch_jobs_describe_tick-jan" >"$DOUBLE_DIR/gcloud.batch_jobs_describe_tick-can"
  capture timeout 30 deploy/orchestration/monitor-tick-download.sh --job tick-can --watch 5 --no-objects
  expect_rc 5 "monitor --watch ends on a $st job with exit 5"
  expect_out "job tick-can: $st" "monitor: the $st state is shown"
  expect_err "submit the range again" "monitor: a $st job says how to finish the range"
done
jq '.status = {"active": 0, "conditions": [{"type": "Suspended", "status": "True"}]}' \
  "$DOUBLE_DIR/kubectl.get_job_tick-k8s" >"$DOUBLE_DIR/kubectl.get_job_tick-k8s-sus"
capture timeout 30 deploy/orchestration/monitor-tick-download.sh --job tick-k8s-sus --engine k8s --watch 5 --no-objects
expect_rc 5 "monitor --watch ends on a suspended Kubernetes Job"

# --logs [--task N]: a task's log lines (issue 19).
printf 'a1b2c3-uid\n' >"$DOUBLE_DIR/gcloud.batch_jobs_describe_tick-logs"
printf '2024-01-02T00:00:09Z\tERROR\tfailed: 2024-01-01/trades/binance/BTCUSDT\t\n2024-01-02T00:00:01Z\tINFO\tdownloading 10 items (shard 7/60)\t\n' \
  >"$DOUBLE_DIR/gcloud.logging_read"
reset_log
capture deploy/orchestration/monitor-tick-download.sh --job tick-logs --logs --task 7 --lines 50 --dry-run
expect_rc 0 "monitor --logs --dry-run"
check "monitor --logs --dry-run calls no tool" test ! -s "$DOUBLE_LOG"
expect_out "+ gcloud batch jobs describe tick-logs --project test-project --location europe-west4 --format 'value(uid)'" "monitor --logs --dry-run: the uid"
expect_out "labels.job_uid=\"JOB_UID\" AND labels.task_id:\"-group0-7/\"' --project test-project --freshness 30d --limit 50 --order desc" "monitor --logs --dry-run: the query"
capture deploy/orchestration/monitor-tick-download.sh --job tick-logs --logs --task 7 --lines 50
expect_rc 0 "monitor --logs"
expect_eq "$(cut -f2,3 <<<"$OUT")" "INFO	downloading 10 items (shard 7/60)
ERROR	failed: 2024-01-01/trades/binance/BTCUSDT" "monitor --logs prints the task's lines oldest first"
check "monitor --logs reads the task log of this job's uid and task 7" grep -qF \
  "gcloud logging read 'logName=\"projects/test-project/logs/batch_task_logs\" AND labels.job_uid=\"a1b2c3-uid\" AND labels.task_id:\"-group0-7/\"' --project test-project --freshness 30d --limit 50" "$DOUBLE_LOG"
check "monitor --logs lists no objects" bash -c "! grep -q 'storage ls' '$DOUBLE_LOG'"
reset_log
capture deploy/orchestration/monitor-tick-download.sh --job tick-k8s --engine k8s --logs --task 3
expect_eq "$(cat "$DOUBLE_LOG")" "kubectl logs --namespace default -l batch.kubernetes.io/job-name=tick-k8s,batch.kubernetes.io/job-completion-index=3 --tail 200 --prefix --max-log-requests 20" \
  "monitor --logs on Kubernetes: the pods of index 3"
capture deploy/orchestration/monitor-tick-download.sh --job tick-jan --task 3
expect_rc 2 "--task without --logs"

# ---- monitor of a derive job (issue 17) ----------------------------------------------------------
jq '.labels.job = "tick-derive" | .name = "projects/test-project/locations/europe-west4/jobs/tick-der"' \
  "$DOUBLE_DIR/gcloud.batch_jobs_describe_tick-jan" >"$DOUBLE_DIR/gcloud.batch_jobs_describe_tick-der"
mv "$DOUBLE_DIR/gcloud.storage_ls" "$tmp/storage_ls.raw"
cat >"$DOUBLE_DIR/gcloud.storage_ls" <<'TXT'
gs://test-bucket/derived_data/by_date/day-2024-01-02/data_type-trade_bar_1m/BINANCE:SPOT_PAIR:BTC-USDT.parquet
gs://test-bucket/derived_data/by_date/day-2024-01-02/data_type-book_snapshot_10_1s/BINANCE:SPOT_PAIR:BTC-USDT.parquet
gs://test-bucket/derived_data/by_date/day-2024-01-03/data_type-trade_bar_1m/BINANCE:SPOT_PAIR:BTC-USDT.parquet
gs://test-bucket/derived_data/by_date/day-2024-02-01/data_type-trade_bar_1m/BINANCE:SPOT_PAIR:BTC-USDT.parquet
TXT
reset_log
capture deploy/orchestration/monitor-tick-download.sh --job tick-der
expect_rc 4 "monitor of a running derive job"
expect_out "derived objects in 2024-01-01..2024-01-31: 3 Parquet files" "monitor: a derive job counts its derived objects of the range"
check "monitor: a derive job lists derived_data/" grep -qF "gcloud storage ls 'gs://test-bucket/derived_data/**'" "$DOUBLE_LOG"
jq '.metadata.labels = {"app": "market-tick", "job": "tick-derive"} | .metadata.name = "tick-k8s-der"' \
  "$DOUBLE_DIR/kubectl.get_job_tick-k8s" >"$DOUBLE_DIR/kubectl.get_job_tick-k8s-der"
reset_log
capture deploy/orchestration/monitor-tick-download.sh --job tick-k8s-der --engine k8s
expect_rc 0 "monitor k8s of a complete derive Job"
expect_out "derived objects in 2024-01-01..2024-01-31: 3 Parquet files" "monitor k8s: a derive Job counts its derived objects"
rm "$DOUBLE_DIR/gcloud.storage_ls"
mv "$tmp/storage_ls.raw" "$DOUBLE_DIR/gcloud.storage_ls"

# ---- cleanup ------------------------------------------------------------------------------------
printf 'market-tick-dev-download\teurope-west4-a\ninst-dev\teurope-west4-c\n' >"$DOUBLE_DIR/gcloud.compute_instances_list"
printf 'tick-old-1\n' >"$DOUBLE_DIR/gcloud.batch_jobs_list"
reset_log
capture deploy/orchestration/cleanup-tick-vms.sh --job tick-jan --finished-jobs --dry-run
expect_rc 0 "cleanup --dry-run"
check "cleanup --dry-run calls no tool" test ! -s "$DOUBLE_LOG"
expect_out "gcloud batch jobs delete tick-jan --project test-project --location europe-west4 --quiet" "cleanup --dry-run: the job"
expect_no_out "compute instances" "cleanup --dry-run: no dev VM is touched unless asked"
capture deploy/orchestration/cleanup-tick-vms.sh --job tick-jan --finished-jobs
expect_rc 0 "cleanup"
expect_eq "$(grep -E 'delete' "$DOUBLE_LOG")" "gcloud batch jobs delete tick-jan --project test-project --location europe-west4 --quiet
gcloud batch jobs delete tick-old-1 --project test-project --location europe-west4 --quiet" \
  "cleanup deletes the job and the finished jobs"
# Deleting a job never lists or deletes dev VMs (issue 19 #4).
check "cleanup --job does not touch dev VMs" bash -c "! grep -q 'compute instances' '$DOUBLE_LOG'"
check "cleanup --finished-jobs includes cancelled jobs" grep -qF "status.state=CANCELLED" "$DOUBLE_LOG"
# --dev-vms: only stopped dev VMs, each in its zone; running ones are kept and named.
printf 'market-tick-dev-download\teurope-west4-a\tTERMINATED\ninst-dev\teurope-west4-c\tRUNNING\nold-dev\teurope-west4-b\tSUSPENDED\n' \
  >"$DOUBLE_DIR/gcloud.compute_instances_list"
reset_log
capture deploy/orchestration/cleanup-tick-vms.sh --dev-vms --dry-run
expect_out "gcloud compute instances delete NAME --project test-project --zone ZONE --delete-disks all --quiet" "cleanup --dev-vms --dry-run: VM template"
expect_out "whose status is TERMINATED or SUSPENDED" "cleanup --dev-vms --dry-run says which VMs"
capture deploy/orchestration/cleanup-tick-vms.sh --dev-vms
expect_rc 0 "cleanup --dev-vms"
expect_eq "$(grep -E 'delete' "$DOUBLE_LOG")" "gcloud compute instances delete market-tick-dev-download --project test-project --zone europe-west4-a --delete-disks all --quiet
gcloud compute instances delete old-dev --project test-project --zone europe-west4-b --delete-disks all --quiet" \
  "cleanup --dev-vms deletes the stopped dev VMs only, each in its zone"
expect_err "inst-dev (RUNNING)" "cleanup --dev-vms names the running VM it kept"
check "cleanup lists only dev VMs" grep -qF "labels.app=market-tick AND labels.role=dev" "$DOUBLE_LOG"
reset_log
capture deploy/orchestration/cleanup-tick-vms.sh --dev-vms --force
expect_eq "$(grep -c 'compute instances delete' "$DOUBLE_LOG")" 3 "cleanup --dev-vms --force deletes running dev VMs too"
capture deploy/orchestration/cleanup-tick-vms.sh --force --job tick-jan
expect_rc 2 "cleanup --force without --dev-vms"
capture deploy/orchestration/cleanup-tick-vms.sh --keep-vms
expect_rc 2 "cleanup with nothing to do"
reset_log
capture deploy/orchestration/cleanup-tick-vms.sh --job tick-k8s --engine k8s --keep-vms
expect_eq "$(cat "$DOUBLE_LOG")" "kubectl delete job tick-k8s --namespace default --cascade=foreground" "cleanup k8s job"

# ---- one-time project setup: idempotent (issue 19) ------------------------------------------------
setup=(deploy/orchestration/setup-project.sh --bucket test-bucket --submitter user:ops@example.test --gke-namespace fleet)
printf '%s\n' "$CANARY" >"$tmp/tardis-key.txt"
printf '123456789\n' >"$DOUBLE_DIR/gcloud.projects_describe"
missing=(gcloud.artifacts_repositories_describe gcloud.storage_buckets_describe gcloud.iam_service-accounts_describe
  gcloud.secrets_describe kubectl.get_serviceaccount)
reset_log
capture "${setup[@]}" --key-file "$tmp/tardis-key.txt" --dry-run
expect_rc 0 "setup-project.sh --dry-run"
check "setup-project.sh --dry-run calls no tool" test ! -s "$DOUBLE_LOG"
expect_out "+ gcloud artifacts repositories create market-tick --repository-format docker --location europe-west4 --project test-project" "setup --dry-run shows the repository creation"
expect_out "+ gcloud storage buckets add-iam-policy-binding gs://test-bucket --member serviceAccount:market-tick-runner@test-project.iam.gserviceaccount.com --role roles/storage.objectUser" \
  "setup --dry-run shows the bindings"
# A new project: every look-up fails, so everything is created.
for m in "${missing[@]}"; do printf '1\n' >"$DOUBLE_DIR/$m.rc"; done
capture "${setup[@]}" --key-file "$tmp/tardis-key.txt"
expect_rc 0 "setup-project.sh on a new project"
expect_eq "$(grep -oE '^(gcloud|kubectl) [a-z -]*create [^ ]*' "$DOUBLE_LOG" | tr '\n' ';')" \
  "gcloud artifacts repositories create market-tick;gcloud storage buckets create gs://test-bucket;gcloud iam service-accounts create market-tick-runner;gcloud secrets create tardis-api-key;kubectl create serviceaccount;" \
  "setup creates the repository, bucket, runner, secret and Kubernetes account"
for want in "gcloud projects add-iam-policy-binding test-project --member serviceAccount:market-tick-runner@test-project.iam.gserviceaccount.com --role roles/batch.agentReporter" \
  "gcloud secrets add-iam-policy-binding tardis-api-key --member serviceAccount:market-tick-runner@test-project.iam.gserviceaccount.com --role roles/secretmanager.secretAccessor" \
  "gcloud artifacts repositories add-iam-policy-binding market-tick --location europe-west4 --project test-project --member serviceAccount:123456789@cloudbuild.gserviceaccount.com --role roles/artifactregistry.writer" \
  "gcloud projects add-iam-policy-binding test-project --member user:ops@example.test --role roles/batch.jobsEditor" \
  "gcloud iam service-accounts add-iam-policy-binding market-tick-runner@test-project.iam.gserviceaccount.com --member user:ops@example.test --role roles/iam.serviceAccountUser" \
  "--member 'serviceAccount:test-project.svc.id.goog[fleet/market-tick]' --role roles/iam.workloadIdentityUser" \
  "kubectl create serviceaccount market-tick --namespace fleet" \
  "kubectl annotate serviceaccount market-tick --namespace fleet --overwrite iam.gke.io/gcp-service-account=market-tick-runner@test-project.iam.gserviceaccount.com"; do
  check "setup: $want" grep -qF -- "$want" "$DOUBLE_LOG"
done
check "setup: the secret is created from stdin, the key on no command line" grep -qF -- "gcloud secrets create tardis-api-key --replication-policy automatic --data-file=- --project test-project" "$DOUBLE_LOG"
# Run again on the set-up project: nothing is created, the bindings are confirmed.
for m in "${missing[@]}"; do rm "$DOUBLE_DIR/$m.rc"; done
reset_log
capture "${setup[@]}" --key-file "$tmp/tardis-key.txt"
expect_rc 0 "setup-project.sh again"
check "setup again creates nothing" bash -c "! grep -qE '^(gcloud|kubectl) [a-z -]*create ' '$DOUBLE_LOG'"
expect_eq "$(grep -c 'add-iam-policy-binding' "$DOUBLE_LOG")" 9 "setup again confirms every binding"
expect_err "secret tardis-api-key exists" "setup again says what exists"
# No secret and no key file: a warning, no secret binding.
printf '1\n' >"$DOUBLE_DIR/gcloud.secrets_describe.rc"
reset_log
capture deploy/orchestration/setup-project.sh --bucket test-bucket
expect_rc 0 "setup-project.sh without a key file"
expect_err "run again with --key-file FILE" "setup without a secret says how to create it"
check "setup binds no missing secret" bash -c "! grep -q 'secrets add-iam-policy-binding' '$DOUBLE_LOG'"
rm "$DOUBLE_DIR/gcloud.secrets_describe.rc" "$DOUBLE_DIR/gcloud.projects_describe"
capture deploy/orchestration/setup-project.sh --bucket test-bucket --submitter ops@example.test --dry-run
expect_rc 2 "setup --submitter without a member type"

# ---- the dev VM's startup script ----------------------------------------------------------------
st="$tmp/vm"
mkdir -p "$st"
printf '{\n  "access_token": "ya29.token-canary",\n  "expires_in": 3599,\n  "token_type": "Bearer"\n}\n' \
  >"$DOUBLE_DIR/curl.computeMetadata_v1_instance_service-accounts_default_token"
printf '{\n  "name": "projects/1/secrets/tardis-api-key/versions/1",\n  "payload": {\n    "data": "%s",\n    "dataCrc32c": "1"\n  }\n}\n' \
  "$(printf 'sm-key-canary' | base64 -w0)" >"$DOUBLE_DIR/curl.v1_projects_test-project_secrets_tardis-api-key_versions_latest:access"
vm_env=(MT_IMAGE=registry.test/p/r/tardis-download:v1 "MT_ARGS=$(printf '%s\n' --from 2024-01-01 --symbols 'A,B?C' | base64 -w0)"
  MT_OUTPUT_URI=gs://test-bucket/pre MT_SECRET=projects/test-project/secrets/tardis-api-key/versions/latest
  MT_PROJECT=test-project MT_STATE_DIR="$st/state" MT_SECRET_DIR="$st/secrets" MT_HOME="$st/home" MT_RETRY_PAUSE=0
  MT_SHUTDOWN=true MT_RETRIES=2 MT_LOG_LEVEL=info MT_OUTPUT_LAYOUT=by_date)
printf '3\n0\n' >"$DOUBLE_DIR/docker.run.rc"
reset_log
capture env "${vm_env[@]}" deploy/orchestration/vm-startup-script.sh
expect_rc 0 "startup script: exit 3 is retried, then 0"
expect_eq "$(grep -c '^docker run' "$DOUBLE_LOG")" 2 "startup script: two container runs"
expect_eq "$(grep -c '^poweroff' "$DOUBLE_LOG")" 1 "startup script: powers off when done"
run_line=$(grep -m1 '^docker run' "$DOUBLE_LOG")
for want in "--user 10001:10001" "--read-only" "-v $st/secrets/tardis_api_key:/run/secrets/tardis_api_key:ro" \
  "-e TARDIS_API_KEY_FILE=/run/secrets/tardis_api_key" "-e OUTPUT_URI=gs://test-bucket/pre" "-e GCP_PROJECT_ID=test-project" \
  "-v $st/state/data:/data" "-v $st/state/logs:/logs" "-v $st/state/temp:/temp" "-v $st/state/downloads:/downloads" \
  "registry.test/p/r/tardis-download:v1 --log-format json --from 2024-01-01 --symbols 'A,B?C'"; do
  check "startup script docker run has: $want" grep -qF -- "$want" <<<"$run_line"
done
check "startup script: credentials for the image's registry" grep -qF "docker-credential-gcr configure-docker --registries=registry.test" "$DOUBLE_LOG"
check "startup script: the key file is gone after the run" test ! -e "$st/secrets/tardis_api_key"
check "startup script: the key file was handed to the container user" grep -qF "chown 10001:10001 $st/secrets/tardis_api_key" "$DOUBLE_LOG"
for c in sm-key-canary ya29.token-canary; do
  check "startup script never prints or passes on the command line: $c" bash -c "! grep -qF '$c' '$DOUBLE_LOG' && ! grep -qF '$c' <<<\"\$1\"" _ "$OUT$ERR"
done
printf '1\n' >"$DOUBLE_DIR/docker.run.rc"
reset_log
capture env "${vm_env[@]}" deploy/orchestration/vm-startup-script.sh
expect_rc 1 "startup script: exit 1 is not retried"
expect_eq "$(grep -c '^docker run' "$DOUBLE_LOG")" 1 "startup script: one run on a permanent failure"
expect_eq "$(grep -c '^poweroff' "$DOUBLE_LOG")" 1 "startup script: powers off after a failure too"
# From instance metadata (no overrides), mt-shutdown=false keeps the VM up; no mt-secret.
md="$DOUBLE_DIR/curl.computeMetadata_v1_instance_attributes"
printf 'registry.test/p/r/instrument-generation:v2' >"${md}_mt-image"
printf '%s\n' --from 2024-02-01 --to 2024-02-02 | base64 -w0 >"${md}_mt-args"
printf 'gs://test-bucket' >"${md}_mt-output-uri"
printf 'false' >"${md}_mt-shutdown"
printf 'test-project' >"$DOUBLE_DIR/curl.computeMetadata_v1_project_project-id"
printf '0\n' >"$DOUBLE_DIR/docker.run.rc"
reset_log
capture env MT_STATE_DIR="$st/state" MT_SECRET_DIR="$st/secrets" MT_HOME="$st/home" deploy/orchestration/vm-startup-script.sh
expect_rc 0 "startup script from metadata"
check "startup script from metadata: image and args" grep -qF "registry.test/p/r/instrument-generation:v2 --log-format json --from 2024-02-01 --to 2024-02-02" "$DOUBLE_LOG"
check "startup script: mt-shutdown=false keeps the VM up" bash -c "! grep -q '^poweroff' '$DOUBLE_LOG'"
check "startup script without mt-secret mounts no key" bash -c "! grep -qF 'TARDIS_API_KEY_FILE' '$DOUBLE_LOG'"
expect_err "only the first day of each month" "startup script without mt-secret warns"
rm "${md}_mt-image"
capture env MT_STATE_DIR="$st/state" MT_SECRET_DIR="$st/secrets" MT_HOME="$st/home" deploy/orchestration/vm-startup-script.sh
expect_rc 2 "startup script without mt-image"
# Every way out powers the VM off when asked to, with the reason in the log (issue 19 #3).
reset_log
capture env MT_STATE_DIR="$st/state" MT_SECRET_DIR="$st/secrets" MT_HOME="$st/home" MT_SHUTDOWN=true deploy/orchestration/vm-startup-script.sh
expect_rc 2 "startup script without mt-image, shutdown asked"
expect_eq "$(grep -c '^poweroff' "$DOUBLE_LOG")" 1 "startup script: a metadata error still powers off"
expect_err "no mt-image metadata" "startup script: the metadata error is logged"
secret_url="$DOUBLE_DIR/curl.v1_projects_test-project_secrets_tardis-api-key_versions_latest:access"
mv "$secret_url" "$tmp/secret.saved"
printf '22\n' >"$secret_url.rc"
printf 'curl: (22) The requested URL returned error: 403\n' >"$secret_url.err"
reset_log
capture env "${vm_env[@]}" deploy/orchestration/vm-startup-script.sh
expect_rc 1 "startup script: an unreadable secret fails the run"
expect_eq "$(grep -c '^poweroff' "$DOUBLE_LOG")" 1 "startup script: an unreadable secret still powers off"
expect_eq "$(grep -c '^docker run' "$DOUBLE_LOG")" 0 "startup script: no container run without the key"
expect_err "could not read the Tardis key from projects/test-project/secrets/tardis-api-key/versions/latest" \
  "startup script: the secret error is logged, with what to check"
expect_err "secretAccessor" "startup script: the secret error names the role to check"
check "startup script: no empty key file is left" test ! -e "$st/secrets/tardis_api_key"
rm "$secret_url.rc" "$secret_url.err"
mv "$tmp/secret.saved" "$secret_url"
# A command that fails under set -e is named too.
printf '1\n' >"$DOUBLE_DIR/chown.10001:10001.rc"
reset_log
capture env "${vm_env[@]}" deploy/orchestration/vm-startup-script.sh
expect_rc 1 "startup script: a failing command ends the run"
expect_err "chown 10001:10001" "startup script: the failing command is logged"
expect_eq "$(grep -c '^poweroff' "$DOUBLE_LOG")" 1 "startup script: a failing command still powers off"
rm "$DOUBLE_DIR/chown.10001:10001.rc"
reset_log
capture env "${vm_env[@]}" deploy/orchestration/vm-startup-script.sh --dry-run
expect_rc 0 "startup script --dry-run"
expect_out "+ docker run --rm --name market-tick" "startup script --dry-run prints the container run"
expect_out "+ poweroff" "startup script --dry-run prints the power-off"
check "startup script --dry-run runs nothing" test ! -s "$DOUBLE_LOG"

# ---- OUTPUT_LAYOUT reaches every task's environment, only when set ------------------------------
# A hive store needs OUTPUT_LAYOUT=hive in the binary's environment; unset, the store's own layout
# (or by_date for a new one) applies, so nothing is passed.
lay=(deploy/orchestration/orchestrate-tick-download.sh --start-date 2024-01-01 --end-date 2024-01-02 --exchanges b
  --symbols S --job-name lay --instances 1 --tasks 2 --dry-run)
devvm=(deploy/vm/deploy-tardis-download.sh --start-date 2024-01-01 --end-date 2024-01-01 --exchanges b --data-types trades
  --symbols S --dry-run)
OUTPUT_LAYOUT=hive capture "${lay[@]}"
expect_rc 0 "orchestrate with OUTPUT_LAYOUT=hive"
job_json=$(sed -n '/^{/,/^}/p' <<<"$OUT")
expect_jq "$job_json" '.taskGroups[0].taskSpec.environment.variables.OUTPUT_LAYOUT' '"hive"' "batch: OUTPUT_LAYOUT=hive in the task environment"
OUTPUT_LAYOUT=by_date capture "${lay[@]}" --command derive --derive trade_bar_1m
job_json=$(sed -n '/^{/,/^}/p' <<<"$OUT")
expect_jq "$job_json" '.taskGroups[0].taskSpec.environment.variables.OUTPUT_LAYOUT' '"by_date"' "batch derive: OUTPUT_LAYOUT in the task environment"
capture "${lay[@]}"
job_json=$(sed -n '/^{/,/^}/p' <<<"$OUT")
expect_jq "$job_json" '.taskGroups[0].taskSpec.environment.variables | has("OUTPUT_LAYOUT")' false "batch: no OUTPUT_LAYOUT when unset"
OUTPUT_LAYOUT=hive capture "${lay[@]}" --engine k8s
expect_eq "$(grep -A1 -- '- name: OUTPUT_LAYOUT$' <<<"$OUT" | sed -n 2p)" '              value: "hive"' "k8s: OUTPUT_LAYOUT=hive in the container env"
expect_no_out "# LAYOUT" "k8s: no LAYOUT marker is left"
capture "${lay[@]}" --engine k8s
expect_no_out "OUTPUT_LAYOUT" "k8s: no OUTPUT_LAYOUT when unset"
for s in "${lay[*]}" "${devvm[*]}" \
  "deploy/local/run-tardis-download.sh ${dirs[*]} --dry-run --from 2024-01-01"; do
  read -ra cmd <<<"$s"
  OUTPUT_LAYOUT=flat capture "${cmd[@]}"
  expect_rc 2 "${cmd[0]}: OUTPUT_LAYOUT=flat is a usage error"
  expect_err "OUTPUT_LAYOUT must be by_date or hive, got 'flat'" "${cmd[0]}: the bad layout is named"
done
OUTPUT_LAYOUT=hive capture "${devvm[@]}"
expect_out "mt-log-level=info,mt-output-layout=hive,mt-shutdown=true" "dev VM: OUTPUT_LAYOUT travels as mt-output-layout"
capture "${devvm[@]}"
expect_no_out "mt-output-layout" "dev VM: no mt-output-layout when unset"
OUTPUT_LAYOUT=hive capture deploy/local/run-tardis-download.sh "${dirs[@]}" --dry-run --from 2024-01-01
expect_out "-e OUTPUT_LAYOUT " "local run: OUTPUT_LAYOUT passed by name"
check "compose files pass OUTPUT_LAYOUT" grep -qx '      - OUTPUT_LAYOUT' docker/tardis-download/docker-compose.yml docker/instrument-generation/docker-compose.yml
capture env "${vm_env[@]}" MT_OUTPUT_LAYOUT=hive deploy/orchestration/vm-startup-script.sh --dry-run
expect_out "-e LOG_LEVEL=info -e OUTPUT_LAYOUT=hive registry.test/p/r/tardis-download:v1" "startup script: mt-output-layout becomes OUTPUT_LAYOUT"
reset_log
no_layout=()
for e in "${vm_env[@]}"; do [[ "$e" == MT_OUTPUT_LAYOUT=* ]] || no_layout+=("$e"); done
capture env "${no_layout[@]}" deploy/orchestration/vm-startup-script.sh --dry-run
expect_rc 0 "startup script without mt-output-layout"
check "startup script: mt-output-layout is read from the metadata server" grep -q 'instance/attributes/mt-output-layout' "$DOUBLE_LOG"
expect_no_out "OUTPUT_LAYOUT" "startup script: no OUTPUT_LAYOUT without mt-output-layout"
capture env "${vm_env[@]}" MT_OUTPUT_LAYOUT=flat deploy/orchestration/vm-startup-script.sh --dry-run
expect_rc 2 "startup script: a bad mt-output-layout is a usage error"
expect_err "mt-output-layout must be by_date or hive, got 'flat'" "startup script: the bad layout is named"

# ---- no reference to a document the repository does not have (issue 19 #8) ---------------------
# The project's design, Tardis, style and storage-emulator notes live outside a clone; the pattern
# is spelled with bracket classes so that this guard does not itself name them.
design_refs=$(grep -rlE 'DESIG[N]( |\.md|§)|TARDI[S]\.md|STYL[E]\.md|GCS-EMULATO[R]|share[d]/docs|share[d] docs' \
  README.md DEVELOPERS.md docs deploy docker scripts bench src tests \
  --exclude=scripts_test.sh --exclude-dir=node_modules || true)
expect_eq "$design_refs" "" "README, docs, deploy, docker, scripts, bench, src and tests cite no document outside the repository"

# ---- the key never shows ------------------------------------------------------------------------
reset_log
check "the Tardis key appears in no output" bash -c "! grep -qF '$CANARY' '$CAPTURE_LOG'"
check "the Tardis key is passed to no command line" bash -c "! grep -qF '$CANARY' '$ALL_CALLS'"
check "the checks above saw output" test -s "$CAPTURE_LOG"

finish scripts_test
