#!/usr/bin/env bash
# docs/inspector.png: the inspector's page of the pipeline's topic, taken by Debian's
# Chromium (headless) from a real inspector on the local stack. When the topic is empty,
# the producer first writes a few hundred events in two currencies.
#
#   scripts/inspector-screenshot.sh [OUTPUT.png]   (make inspector-screenshot)
#
# Needs the stack's settings in the environment (eval "$(scripts/local-stack.sh env)").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PY="${PY:-.venv/bin/python}"
OUT="${1:-docs/inspector.png}"
PORT="${INSPECTOR_SCREENSHOT_PORT:-18188}"
TOPIC="${KAFKA_TOPIC:-prices}"
URL="http://127.0.0.1:$PORT"

"$PY" -m inspector --port "$PORT" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 150); do
  curl -sf -o /dev/null "$URL/index.json" && break
  sleep 0.2
done

records="$(curl -sf "$URL/index.json" | "$PY" -c '
import json, sys
topics = {t["name"]: t for t in json.load(sys.stdin)["topics"]}
print(topics.get(sys.argv[1], {}).get("records", 0))' "$TOPIC")"
if [[ "$records" == 0 ]]; then
  "$PY" -m producer --topic "$TOPIC" --count 500 --currency USD --currency EUR --anomalies 2
fi

chromium --headless --no-sandbox --hide-scrollbars --window-size=1280,860 \
  --virtual-time-budget=3000 --screenshot="$OUT" "$URL/topics/$TOPIC?limit=24"
echo "wrote $OUT"
