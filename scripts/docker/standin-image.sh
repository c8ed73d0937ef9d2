#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Build the test stand-in for the `kafka` service (tests/docker/kafka-standin.Dockerfile).
# Layers are cached, so a rebuild with unchanged inputs takes seconds.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

for suite in bookworm trixie; do
  podman image exists "docker.io/library/debian:$suite-slim" \
    || die "debian:$suite-slim is missing: run scripts/docker/base-image.sh $suite first"
done
log="$PRICES_DOCKER_HOME/run/standin-build.log"
say "building $STANDIN_IMAGE ..."
buildah bud --isolation chroot --pull=never --layers \
  -f "$ROOT/tests/docker/kafka-standin.Dockerfile" -t "$STANDIN_IMAGE" "$ROOT" >"$log" 2>&1 \
  || { tail -n 30 "$log" >&2; die "building $STANDIN_IMAGE failed (log: $log)"; }
