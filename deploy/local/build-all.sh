#!/usr/bin/env bash
# Builds both images (tardis-download, instrument-generation) from the repository root with
# BuildKit; optionally tags and pushes them to IMAGE_REPO, or builds them on Cloud Build.
set -euo pipefail
PROG=build-all.sh
# shellcheck source=deploy/common.sh
. "$(dirname "$0")/../common.sh"

IMAGES=(tardis-download instrument-generation)

usage() {
  cat <<USAGE
usage: deploy/local/build-all.sh [--tag T] [--only NAME] [--push | --cloud-build] [--no-cache] [--dry-run]

Builds docker/{tardis-download,instrument-generation}/Dockerfile as market-tick/NAME:TAG.
  --tag T         image tag (default \$IMAGE_TAG or latest)
  --only NAME     build one image: tardis-download or instrument-generation
  --push          also tag as \$IMAGE_REPO/NAME:TAG and push (needs IMAGE_REPO and docker login,
                  e.g. gcloud auth configure-docker for Artifact Registry)
  --cloud-build   build and push on Cloud Build instead of locally
                  (deploy/orchestration/cloudbuild.yaml; needs gcloud, GCP_PROJECT_ID, IMAGE_REPO)
  --no-cache      build without the layer cache
  --dry-run       print the docker/gcloud commands, run nothing
  -h, --help      this help

environment: IMAGE_REPO (registry path to push to), IMAGE_TAG, GCP_PROJECT_ID, GCP_REGION.
USAGE
}

push=0 cloud=0 cache=()
IMAGE_TAG=${IMAGE_TAG:-latest}
while [ $# -gt 0 ]; do
  case "$1" in --*=*) set -- "${1%%=*}" "${1#*=}" "${@:2}"; continue ;; esac
  case "$1" in
    --tag) need_value "$1" $#; IMAGE_TAG=$2; shift 2 ;;
    --only)
      need_value "$1" $#
      case "$2" in tardis-download|instrument-generation) IMAGES=("$2") ;; *) usage_die "--only takes tardis-download or instrument-generation, got '$2'" ;; esac
      shift 2 ;;
    --push) push=1; shift ;;
    --cloud-build) cloud=1; shift ;;
    --no-cache) cache=(--no-cache); shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage_die "unknown argument '$1'" ;;
  esac
done
[[ "$IMAGE_TAG" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$ ]] || usage_die "--tag '$IMAGE_TAG' is not a valid image tag"
if [ "$push" = 1 ] && [ "$cloud" = 1 ]; then
  usage_die "--push and --cloud-build exclude each other (Cloud Build pushes itself)"
fi

cd "$MT_ROOT"
if [ "$cloud" = 1 ]; then
  cloud_defaults
  need_var GCP_PROJECT_ID "the Google Cloud project to build in"
  need_var IMAGE_REPO "the registry path to push to, see docs/DEPLOYMENT.md"
  [ "$DRY_RUN" = 1 ] || need_tool gcloud "install the Google Cloud CLI"
  run gcloud builds submit . --project "$GCP_PROJECT_ID" --region "$GCP_REGION" \
    --config deploy/orchestration/cloudbuild.yaml --ignore-file docker/shared/gcloudignore \
    --substitutions "_IMAGE_REPO=${IMAGE_REPO%/},_TAG=$IMAGE_TAG"
  exit 0
fi

[ "$DRY_RUN" = 1 ] || need_tool docker "install Docker, or use --dry-run to see the commands"
if [ "$push" = 1 ]; then need_var IMAGE_REPO "the registry path to push to, see docs/DEPLOYMENT.md"; fi
for name in "${IMAGES[@]}"; do
  # BuildKit is what reads docker/NAME/Dockerfile.dockerignore (the build context filter).
  run env DOCKER_BUILDKIT=1 docker build "${cache[@]}" -f "docker/$name/Dockerfile" \
    -t "market-tick/$name:$IMAGE_TAG" --label "org.opencontainers.image.revision=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" .
  if [ "$push" = 1 ]; then
    remote=$(image_ref "$name")
    run docker tag "market-tick/$name:$IMAGE_TAG" "$remote"
    run docker push "$remote"
  fi
done
