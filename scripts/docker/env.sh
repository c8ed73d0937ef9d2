# Sourced by the scripts in scripts/docker/: where the podman/buildah path keeps its state.
# Everything lives under PRICES_DOCKER_HOME (kept between runs as a build cache), and the
# system-wide /etc/containers files are left alone: CONTAINERS_* point at our own copies.
# shellcheck shell=bash disable=SC2034  # the variables are for the scripts that source this

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PRICES_DOCKER_HOME="${PRICES_DOCKER_HOME:-/var/lib/prices-docker}"

export CONTAINERS_STORAGE_CONF="$PRICES_DOCKER_HOME/storage.conf"
export CONTAINERS_CONF="$PRICES_DOCKER_HOME/containers.conf"
PODMAN_SOCKET="$PRICES_DOCKER_HOME/run/podman.sock"
export DOCKER_HOST="unix://$PODMAN_SOCKET"

STANDIN_IMAGE="localhost/prices-kafka-standin:latest"
COMPOSE_BIN="${DOCKER_COMPOSE:-$ROOT/.venv/bin/docker-compose}"
COMPOSE_PROJECT="prices-test"

die() { echo "docker-path: $*" >&2; exit 1; }
say() { echo "docker-path: [$(date +%T)] $*" >&2; }
