#!/usr/bin/env bash
# Reads the Dockerfiles, compose files and ignore files (Docker cannot run on the CI machines)
# and checks what the images promise: a multi-stage build from the project's Debian packages,
# a runtime stage with runtime libraries only, a non-root user, no key or credential file
# copied in, the seed's volume mounts, and a build context that keeps secrets out.
set -euo pipefail
# shellcheck source=tests/deploy/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$ROOT"

# Build packages of scripts/install-deps.sh (the pkgs=( ... ) list before the mode additions).
build_pkgs=$(sed -n '/^pkgs=(/,/)/p' scripts/install-deps.sh | tr -d '()' | sed 's/pkgs=//' | tr -s ' \n' '\n' | sed '/^$/d' | sort)
check "install-deps.sh build packages found" test -n "$build_pkgs"
runtime_pkgs="libisal2 libzstd1 libsnappy1v5 libcurl4 zlib1g ca-certificates"

# Dockerfile lines with continuations joined, comments dropped.
logical_lines() { sed -e '/^[[:space:]]*#/d' "$1" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta'; }

for name in tardis-download instrument-generation; do
  df="docker/$name/Dockerfile"
  check "$df exists" test -f "$df"
  lines=$(logical_lines "$df")
  froms=$(grep -cE '^FROM[[:space:]]' <<<"$lines" || true)
  check "$df is multi-stage (two FROM, found $froms)" test "$froms" -ge 2
  check "$df builds on Debian 12 (bookworm)" grep -qE '^ARG DEBIAN_RELEASE=bookworm$' <<<"$lines"
  check "$df names its build stage" grep -qE '^FROM debian:\$\{DEBIAN_RELEASE\} AS build$' <<<"$lines"
  check "$df runtime stage is slim Debian" grep -qE '^FROM debian:\$\{DEBIAN_RELEASE\}-slim AS runtime$' <<<"$lines"
  build_stage=$(awk '/^FROM /{n++} n==1' <<<"$lines")
  runtime_stage=$(awk '/^FROM /{n++} n>=2' <<<"$lines")
  for p in $build_pkgs; do
    check "$df build stage installs $p (scripts/install-deps.sh)" grep -qE "(^|[[:space:]])$p([[:space:]]|$)" <<<"$build_stage"
  done
  check "$df build stage runs cmake" grep -q 'cmake --build' <<<"$build_stage"
  runtime_install=$({ grep -E 'apt-get install' <<<"$runtime_stage" || true; } | sed 's/.*--no-install-recommends//; s/&&.*//')
  expect_eq "$(tr -s ' ' '\n' <<<"$runtime_install" | sed '/^$/d' | sort | tr '\n' ' ')" \
    "$(tr ' ' '\n' <<<"$runtime_pkgs" | sort | tr '\n' ' ')" "$df runtime stage installs exactly the runtime libraries"
  check "$df runtime stage has no -dev package" no_match '[a-z0-9]-dev([[:space:]]|$)' "$runtime_stage"
  check "$df runtime stage copies only the binary from the build stage" \
    test "$(grep -E '^(COPY|ADD)' <<<"$runtime_stage" || true)" = "COPY --from=build /build/market-tick /usr/local/bin/market-tick"
  last_user=$({ grep -E '^USER[[:space:]]' <<<"$lines" || true; } | tail -n1 | awk '{print $2}')
  check "$df ends as a non-root USER (got '$last_user')" test -n "$last_user"
  case "${last_user%%:*}" in
    ""|root|0) fail "$df: USER must not be root" ;;
    *) pass ;;
  esac
  check "$df: the USER line is in the runtime stage" grep -qE '^USER 10001:10001$' <<<"$runtime_stage"
  # No key, credential or env file is copied or added, in any stage; ADD (URLs, archives) unused.
  copies=$(grep -E '^(COPY|ADD)[[:space:]]' <<<"$lines" || true)
  check "$df uses COPY, never ADD" no_match '^ADD[[:space:]]' "$copies"
  check "$df copies no key files (*.json, .env, *.pem, *.key, credentials, secrets)" \
    no_match_i '\.json|\.env|\.pem|\.key|\.p12|credential|secret|\.ssh|id_rsa' "$copies"
  check "$df build stage copies only CMakeLists.txt and src/" \
    test "$({ grep -vE -- '--from=' <<<"$copies" || true; } | awk '{print $2}' | sort | tr '\n' ' ')" = "CMakeLists.txt src/ "
  check "$df sets no key in ENV or ARG" no_match '^(ENV|ARG).*(TARDIS_API_KEY|GOOGLE_APPLICATION_CREDENTIALS|SECRET|TOKEN|PASSWORD)' "$lines"
  for v in /data /logs /temp /downloads; do
    check "$df declares the volume $v" grep -qE "^VOLUME .*\"$v\"" <<<"$lines"
  done
  check "$df entrypoint is market-tick" grep -qE '^ENTRYPOINT \["/usr/local/bin/market-tick", "(download|instruments)"\]$' <<<"$lines"

  # Compose: the seed's four mounts, non-root, nothing secret written down.
  dc="docker/$name/docker-compose.yml"
  check "$dc exists" test -f "$dc"
  for v in /data /logs /temp /downloads; do
    check "$dc mounts $v" grep -qE -- "- \\\$\{MT_[A-Z]+_DIR:-\.\./\.\./[a-z]+\}:$v$" "$dc"
  done
  # As the caller (deploy/local/compose.sh sets MT_UID/MT_GID), never a silent default: a
  # default of 10001 cannot write to a ./data folder the caller owns.
  check "$dc runs as the caller's uid/gid, with no default" \
    grep -qE '^    user: "\$\{MT_UID:\?[^}]*compose\.sh\}:\$\{MT_GID:\?[^}]*compose\.sh\}"$' "$dc"
  check "$dc has no default uid" no_match 'MT_[UG]ID:-' "$(<"$dc")"
  check "$dc mounts the key file read-only" grep -qF ':/run/secrets/tardis_api_key:ro' "$dc"
  check "$dc writes no key value" no_match 'TARDIS_API_KEY[:=][[:space:]]*[A-Za-z0-9]' "$(<"$dc")"
  check "$dc builds this Dockerfile" \
    grep -qF "dockerfile: docker/$name/Dockerfile" "$dc"
  check "$dc build context is the repository root" grep -qF "context: ../.." "$dc"

  # Build context filter: an allow-list plus the shared patterns, read by BuildKit beside the
  # Dockerfile.
  di="docker/$name/.dockerignore"
  check "$di exists" test -f "$di"
  check "docker/$name/Dockerfile.dockerignore links to .dockerignore" \
    test "$(readlink "docker/$name/Dockerfile.dockerignore")" = .dockerignore
  check "$di starts by ignoring everything" test "$(grep -vE '^#|^$' "$di" | head -n1)" = "*"
  while IFS= read -r pat; do
    check "$di has the shared pattern $pat" grep -qxF -- "$pat" "$di"
  done < <(grep -vE '^#|^$' docker/shared/dockerignore)
done

for pat in '**/.env' '**/*.pem' '**/*key*.json' '**/*credentials*.json'; do
  check "docker/shared/dockerignore excludes $pat" grep -qxF -- "$pat" docker/shared/dockerignore
  check "docker/shared/gcloudignore excludes $pat" grep -qxF -- "$pat" docker/shared/gcloudignore
done

# No key material is committed next to the images or scripts.
found=$(find docker deploy \( -name '*.pem' -o -name '*.key' -o -name '.env' -o -name '.env.*' -o -name '*credentials*.json' -o -name '*key*.json' \) -print)
check "no key or env file under docker/ or deploy/ (found: $found)" test -z "$found"

# cloudbuild.yaml builds both Dockerfiles with BuildKit and pushes both images.
cb=deploy/orchestration/cloudbuild.yaml
for name in tardis-download instrument-generation; do
  check "$cb builds $name" grep -qF "\"docker/$name/Dockerfile\"" "$cb"
  check "$cb pushes $name" grep -qE "^  - \\$\{_IMAGE_REPO\}/$name:\\$\{_TAG\}$" "$cb"
done
check "$cb turns BuildKit on (it reads Dockerfile.dockerignore)" grep -qF -- "- DOCKER_BUILDKIT=1" "$cb"
# One compilation for both images: the second build waits for the first and finds its build
# stage in the layer cache, which needs the build stages and the context filters to be the same.
build_stage() { sed -n '/^FROM .* AS build$/,/^FROM /p' "docker/$1/Dockerfile"; }
check "the two Dockerfiles have one build stage (a cache hit for the second image)" \
  test -n "$(build_stage tardis-download)" -a "$(build_stage tardis-download)" = "$(build_stage instrument-generation)"
patterns() { grep -vE '^#|^$' "docker/$1/.dockerignore"; }
check "the two images build from the same context filter" test "$(patterns tardis-download)" = "$(patterns instrument-generation)"
check "$cb builds instrument-generation after tardis-download (the binary is compiled once)" \
  test "$(sed -n '/- id: instrument-generation/,/args:/p' "$cb" | grep -c 'waitFor: \["tardis-download"\]')" = 1

finish dockerfile_test
