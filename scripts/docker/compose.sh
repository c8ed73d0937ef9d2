#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# docker-compose on this machine without a Docker engine: the real compose file plus the
# test override (tests/docker/compose.test.yml), driven through podman's Docker API.
#
#   scripts/docker/compose.sh up --build
#   scripts/docker/compose.sh down
#
# Needs scripts/docker/setup.sh, base-image.sh and standin-image.sh first (test-docker.sh
# runs them all).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
source "$(dirname "${BASH_SOURCE[0]}")/podman-service.sh"

[[ -x "$COMPOSE_BIN" ]] || die "docker-compose not found at $COMPOSE_BIN (make venv, or set DOCKER_COMPOSE)"
trap stop_podman_service EXIT
start_podman_service
compose "$@"
