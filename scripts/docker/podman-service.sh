# Sourced by compose.sh and test-docker.sh: podman's Docker API on a private socket, for the
# real docker-compose binary to drive, plus a healthcheck ticker.
# shellcheck shell=bash

SERVICE_PID=""
TICKER_PID=""

start_podman_service() {
  mkdir -p "$PRICES_DOCKER_HOME/run"
  rm -f "$PODMAN_SOCKET"
  podman system service --time=0 "unix://$PODMAN_SOCKET" >"$PRICES_DOCKER_HOME/run/service.log" 2>&1 &
  SERVICE_PID=$!
  local tries
  for tries in $(seq 1 50); do
    curl -sf --unix-socket "$PODMAN_SOCKET" http://d/_ping >/dev/null && break
    kill -0 "$SERVICE_PID" 2>/dev/null || die "podman system service exited (log: $PRICES_DOCKER_HOME/run/service.log)"
    ((tries < 50)) || die "podman system service did not answer on $PODMAN_SOCKET"
    sleep 0.2
  done
  # Podman runs healthchecks from systemd timers; there is no systemd here, so tick them.
  # A failing check is the container's state, not an error of the ticker.
  (while sleep 2; do
    podman ps -q --filter health=starting | xargs -r -n1 podman healthcheck run >/dev/null 2>&1 || true
  done) &
  TICKER_PID=$!
}

stop_podman_service() { # stops only the two processes started above, by their pids
  local pid
  for pid in $TICKER_PID $SERVICE_PID; do
    kill "$pid" 2>/dev/null || continue
    wait "$pid" 2>/dev/null || true # the status of a process ended by SIGTERM is 143
  done
  TICKER_PID="" SERVICE_PID=""
  rm -f "$PODMAN_SOCKET"
}

# docker-compose with the real file and the test override.
COMPOSE=("$COMPOSE_BIN" -p "$COMPOSE_PROJECT" -f "$ROOT/docker-compose.yml" -f "$ROOT/tests/docker/compose.test.yml")
compose() { "${COMPOSE[@]}" "$@"; }
