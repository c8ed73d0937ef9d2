#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# make test-docker: the Docker path for real, without a Docker engine. Podman serves the
# Docker API and the real docker-compose binary runs the real docker-compose.yml; the
# override tests/docker/compose.test.yml replaces only the `kafka` service by a local
# stand-in. Checks: both images build, the producer sends exactly 5,000 events, the
# consumer prints the full report, `up` exits 0, and `down` leaves nothing behind.
#
# Sets up what it needs (Debian packages, storage settings, base images: cached under
# PRICES_DOCKER_HOME, default /var/lib/prices-docker) and stops what it started.
set -euo pipefail
HERE="$(dirname "${BASH_SOURCE[0]}")"
source "$HERE/env.sh"
source "$HERE/podman-service.sh"
# shellcheck source=../../connection/defaults.env
source "$HERE/../../connection/defaults.env"

EXPECTED_EVENTS="$PRICES_EVENT_COUNT"
TOPIC="$PRICES_TOPIC"
CONSUMER_TIMEOUT=1200 # seconds; the consumer takes about a minute here
LOG="$PRICES_DOCKER_HOME/run/compose-up.log"

"$HERE/setup.sh"
"$HERE/base-image.sh" bookworm
"$HERE/base-image.sh" trixie
"$HERE/standin-image.sh"
[[ -x "$COMPOSE_BIN" ]] || die "docker-compose not found at $COMPOSE_BIN (make venv, or set DOCKER_COMPOSE)"

cleanup() {
  compose down --remove-orphans --timeout 20 >/dev/null 2>&1 || say "docker-compose down failed"
  stop_podman_service
}
trap cleanup EXIT
start_podman_service
compose down --remove-orphans --timeout 20 >/dev/null 2>&1 # leftovers of an interrupted run

# `up` as users run it, detached: it returns once the producer has completed successfully
# and the consumer has started (attached, --exit-code-from would abort the whole run as soon
# as the producer exits). `wait` then gives the consumer's exit status.
say "docker-compose up --build (full log: $LOG) ..."
started=$SECONDS
compose up --detach --remove-orphans --force-recreate --build >"$LOG" 2>&1 \
  || { tail -n 40 "$LOG" >&2; die "docker-compose up failed (full log: $LOG)"; }
rc=0
timeout "$CONSUMER_TIMEOUT" "${COMPOSE[@]}" wait consumer >/dev/null || rc=$?
say "the consumer exited $rc, $((SECONDS - started)) s after docker-compose up started"

producer_log="$(compose logs --no-color --no-log-prefix producer)"
consumer_log="$(compose logs --no-color --no-log-prefix consumer)"
echo "--- producer ---"; echo "$producer_log"
echo "--- consumer ---"; echo "$consumer_log"
((rc != 124)) || die "the consumer was still running after ${CONSUMER_TIMEOUT}s"
((rc == 0)) || die "the consumer container exited $rc"
grep -q "sent $EXPECTED_EVENTS events, $EXPECTED_EVENTS acknowledged" <<<"$producer_log" \
  || die "the producer did not report $EXPECTED_EVENTS acknowledged events"
grep -q "^Topic $TOPIC: $EXPECTED_EVENTS messages, $EXPECTED_EVENTS decoded" <<<"$consumer_log" \
  || die "the consumer's report does not show $EXPECTED_EVENTS messages, all decoded"
grep -q "^Outliers: " <<<"$consumer_log" || die "the consumer's report is incomplete (no Outliers section)"

# Counted by the broker itself, not by our clients: the end offsets of topic prices.
offsets="$(podman exec "$(compose ps -q kafka)" java -cp '/opt/kafka/libs/*' org.apache.kafka.tools.GetOffsetShell \
  --bootstrap-server localhost:9092 --topic "$TOPIC" 2>/dev/null)" \
  || die "could not read the end offsets of topic $TOPIC"
in_topic="$(awk -F: '{sum += $3} END {print sum + 0}' <<<"$offsets")"
((in_topic == EXPECTED_EVENTS)) || die "topic $TOPIC holds $in_topic events, not $EXPECTED_EVENTS"
say "topic $TOPIC holds $in_topic events (broker end offsets)"

compose down --remove-orphans --timeout 20 >>"$LOG" 2>&1 || die "docker-compose down failed (log: $LOG)"
left="$(podman ps -a -q --filter "label=com.docker.compose.project=$COMPOSE_PROJECT")"
[[ -z "$left" ]] || die "containers left after docker-compose down: $left"
! podman network exists "${COMPOSE_PROJECT}_default" || die "network ${COMPOSE_PROJECT}_default left after docker-compose down"

podman image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -F "/$COMPOSE_PROJECT-"
echo "test-docker: 1 passed, 0 failed"
