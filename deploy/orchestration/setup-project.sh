#!/usr/bin/env bash
# One-time setup of a Google Cloud project for market-tick, safe to run again: every resource is
# looked up first and created only when missing, and IAM bindings are added (adding a binding
# that exists changes nothing). What it sets up is what the fleet needs (docs/DEPLOYMENT.md,
# "One-time setup on Google Cloud"):
#   - the APIs; an Artifact Registry Docker repository; the bucket;
#   - the runner service account the VMs run as, with the roles Batch, Logging and image pulls
#     need, object read/write on the bucket and read access to the Tardis key's secret;
#   - the secret itself, from a key file (never from a command line), when it is missing;
#   - Cloud Build's right to push images to the repository;
#   - optionally, who may submit jobs (--submitter) and Workload Identity for GKE (--gke-namespace).
# Nothing is ever deleted.
set -euo pipefail
PROG=setup-project.sh
# shellcheck source=deploy/common.sh
. "$(dirname "$0")/../common.sh"

usage() {
  cat <<USAGE
usage: deploy/orchestration/setup-project.sh --bucket NAME [--repo NAME] [--key-file F]
         [--build-sa EMAIL] [--submitter MEMBER] [--gke-namespace NS [--gke-ksa NAME]]
         [--dry-run] [--help]

  --bucket NAME       the bucket the Parquet goes to (created in GCP_REGION when missing)
  --repo NAME         Artifact Registry Docker repository (default market-tick)
  --key-file F        a file holding the Tardis key: creates the secret TARDIS_SECRET from it
                      when the secret does not exist (the key never reaches a command line)
  --build-sa EMAIL    the account Cloud Build runs as (default the project's legacy Cloud Build
                      account, PROJECT_NUMBER@cloudbuild.gserviceaccount.com)
  --submitter MEMBER  who submits jobs, e.g. user:me@example.com or group:ops@example.com:
                      roles/batch.jobsEditor, and roles/iam.serviceAccountUser on the runner
  --gke-namespace NS  Workload Identity: lets the Kubernetes service account NS/KSA act as the
                      runner, and creates and annotates that account with kubectl
  --gke-ksa NAME      the Kubernetes service account (default \$K8S_SERVICE_ACCOUNT or market-tick)
  --dry-run           print the look-ups and what would be created, run nothing
  -h, --help          this help
environment: GCP_PROJECT_ID (required), GCP_REGION (us-central1), TARDIS_SECRET
(tardis-api-key), SERVICE_ACCOUNT (market-tick-runner@\$GCP_PROJECT_ID.iam.gserviceaccount.com)
Then: export IMAGE_REPO=... (printed at the end) and deploy/local/build-all.sh --cloud-build
USAGE
}

bucket="" repo=market-tick key_file="" build_sa="" submitter="" gke_ns="" gke_ksa=${K8S_SERVICE_ACCOUNT:-market-tick}
while [ $# -gt 0 ]; do
  case "$1" in --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}"; continue ;; esac
  case "$1" in
    --bucket|--repo|--key-file|--build-sa|--submitter|--gke-namespace|--gke-ksa) need_value "$1" $# ;;
  esac
  case "$1" in
    --bucket) bucket=${2#gs://}; shift 2 ;;
    --repo) check_name "$1" "$2"; repo=$2; shift 2 ;;
    --key-file) key_file=$2; shift 2 ;;
    --build-sa) build_sa=$2; shift 2 ;;
    --submitter)
      [[ "$2" =~ ^(user|group|serviceAccount|domain):[^[:space:]]+$ ]] || usage_die "--submitter must be like user:me@example.com, got '$2'"
      submitter=$2; shift 2 ;;
    --gke-namespace) check_name "$1" "$2"; gke_ns=$2; shift 2 ;;
    --gke-ksa) check_name "$1" "$2"; gke_ksa=$2; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage_die "unknown argument '$1'" ;;
  esac
done
[ -n "$bucket" ] || usage_die "--bucket is required"
[[ "$bucket" =~ ^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$ ]] || usage_die "--bucket '$bucket' is not a valid bucket name"
if [ -n "$key_file" ] && [ ! -r "$key_file" ]; then usage_die "--key-file $key_file is not a readable file"; fi
cloud_defaults
need_var GCP_PROJECT_ID "the Google Cloud project to set up"
if [ "$DRY_RUN" != 1 ]; then
  need_tool gcloud "install the Google Cloud CLI, or use --dry-run"
  if [ -n "$gke_ns" ]; then need_tool kubectl "install kubectl (Workload Identity), or use --dry-run"; fi
fi
P=$GCP_PROJECT_ID R=$GCP_REGION
sa=$(service_account)
secret_id=${TARDIS_SECRET##*/secrets/}
secret_id=${secret_id%%/*}

# bind ARGS...: run an IAM binding command without its policy dump on stdout.
bind() {
  if [ "$DRY_RUN" = 1 ]; then show_cmd "$@"; else show_cmd "$@" >&2; "$@" >/dev/null; fi
}

# ensure WHAT -- DESCRIBE... -- CREATE...: runs CREATE only when DESCRIBE fails (not found).
# A dry run prints both, the creation as what happens when the look-up fails.
ensure() {
  local what=$1 describe=() create=()
  shift 2
  while [ "$1" != -- ]; do describe+=("$1"); shift; done
  shift
  create=("$@")
  if [ "$DRY_RUN" = 1 ]; then
    show_cmd "${describe[@]}"
    printf '#   when %s does not exist:\n' "$what"
    show_cmd "${create[@]}"
    return
  fi
  if run "${describe[@]}" >/dev/null 2>&1; then
    say "$PROG: $what exists"
  else
    run "${create[@]}"
    say "$PROG: $what created"
  fi
}

run gcloud services enable batch.googleapis.com compute.googleapis.com logging.googleapis.com \
  secretmanager.googleapis.com artifactregistry.googleapis.com cloudbuild.googleapis.com \
  storage.googleapis.com iam.googleapis.com --project "$P"
ensure "repository $repo" -- gcloud artifacts repositories describe "$repo" --location "$R" --project "$P" \
  -- gcloud artifacts repositories create "$repo" --repository-format docker --location "$R" --project "$P"
ensure "bucket gs://$bucket" -- gcloud storage buckets describe "gs://$bucket" --project "$P" \
  -- gcloud storage buckets create "gs://$bucket" --location "$R" --uniform-bucket-level-access --project "$P"
ensure "service account $sa" -- gcloud iam service-accounts describe "$sa" --project "$P" \
  -- gcloud iam service-accounts create "${sa%%@*}" --display-name "market-tick runner" --project "$P"

# The runner: report to Batch, write logs, pull images, read and create objects, read the key.
for role in roles/batch.agentReporter roles/logging.logWriter roles/artifactregistry.reader; do
  bind gcloud projects add-iam-policy-binding "$P" --member "serviceAccount:$sa" --role "$role" --condition None --quiet
done
bind gcloud storage buckets add-iam-policy-binding "gs://$bucket" --member "serviceAccount:$sa" --role roles/storage.objectUser

if [ "$DRY_RUN" = 1 ]; then
  show_cmd gcloud secrets describe "$secret_id" --project "$P"
  printf '#   when secret %s does not exist: with --key-file, created from the file on stdin:\n' "$secret_id"
  show_cmd gcloud secrets create "$secret_id" --replication-policy automatic --data-file=- --project "$P"
  secret_ok=1
elif run gcloud secrets describe "$secret_id" --project "$P" >/dev/null 2>&1; then
  say "$PROG: secret $secret_id exists"
  secret_ok=1
elif [ -n "$key_file" ]; then
  # The key goes in on stdin, trimmed of a trailing newline; it is never an argument.
  tr -d '\r\n' <"$key_file" | run gcloud secrets create "$secret_id" --replication-policy automatic --data-file=- --project "$P"
  say "$PROG: secret $secret_id created from $key_file"
  secret_ok=1
else
  say "$PROG: warning: secret $secret_id does not exist: run again with --key-file FILE (without a key only the first day of each month is free)"
  secret_ok=0
fi
if [ "$secret_ok" = 1 ]; then
  bind gcloud secrets add-iam-policy-binding "$secret_id" --member "serviceAccount:$sa" \
    --role roles/secretmanager.secretAccessor --project "$P"
fi

# Cloud Build pushes the images it builds to the repository.
if [ -z "$build_sa" ]; then
  if [ "$DRY_RUN" = 1 ]; then
    show_cmd gcloud projects describe "$P" --format "value(projectNumber)"
    build_sa="PROJECT_NUMBER@cloudbuild.gserviceaccount.com"
  else
    number=$(run gcloud projects describe "$P" --format "value(projectNumber)")
    [[ "$number" =~ ^[0-9]+$ ]] || die "could not read the project number of $P"
    build_sa="$number@cloudbuild.gserviceaccount.com"
  fi
fi
bind gcloud artifacts repositories add-iam-policy-binding "$repo" --location "$R" --project "$P" \
  --member "serviceAccount:$build_sa" --role roles/artifactregistry.writer

if [ -n "$submitter" ]; then
  bind gcloud projects add-iam-policy-binding "$P" --member "$submitter" --role roles/batch.jobsEditor --condition None --quiet
  bind gcloud iam service-accounts add-iam-policy-binding "$sa" --member "$submitter" \
    --role roles/iam.serviceAccountUser --project "$P"
fi

if [ -n "$gke_ns" ]; then
  # Pods running as NS/KSA get the runner's access (bucket, logs) without a key file.
  bind gcloud iam service-accounts add-iam-policy-binding "$sa" --project "$P" \
    --member "serviceAccount:$P.svc.id.goog[$gke_ns/$gke_ksa]" --role roles/iam.workloadIdentityUser
  ensure "Kubernetes service account $gke_ns/$gke_ksa" -- kubectl get serviceaccount "$gke_ksa" --namespace "$gke_ns" \
    -- kubectl create serviceaccount "$gke_ksa" --namespace "$gke_ns"
  run kubectl annotate serviceaccount "$gke_ksa" --namespace "$gke_ns" --overwrite "iam.gke.io/gcp-service-account=$sa"
fi

if [ "$DRY_RUN" = 1 ]; then
  printf '# dry run: nothing created or changed\n'
else
  say "$PROG: done. Next:"
  say "  export GCP_PROJECT_ID=$P GCP_REGION=$R GCS_BUCKET=$bucket"
  say "  export IMAGE_REPO=\$(gcloud artifacts repositories describe $repo --location $R --project $P --format='value(registryUri)')"
  say "  deploy/local/build-all.sh --cloud-build"
fi
