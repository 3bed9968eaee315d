#!/usr/bin/env bash
# Runs schemathesis against the served OpenAPI document (GET /v1/openapi.json) of a fresh server:
# every generated request must get a non-5xx answer, and every answer must be one the document
# declares (status, content type, headers, body schema). Usage: bash test/schemathesis/run.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

ST_VERSION="4.32.5"
SEED="${SCHEMATHESIS_SEED:-20240607}"
MAX_EXAMPLES="${SCHEMATHESIS_MAX_EXAMPLES:-25}"
CACHE="$ROOT/.cache/schemathesis"
VENV="$CACHE/venv"
STAMP="$VENV/.schemathesis-$ST_VERSION"

if [[ ! -x "$VENV/bin/python" ]]; then
  echo "creating venv in $VENV"
  python3 -m venv "$VENV"
fi
if [[ ! -f "$STAMP" ]]; then
  echo "installing schemathesis==$ST_VERSION"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$ST_VERSION"
  touch "$STAMP"
fi

PORT="$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
BASE="http://127.0.0.1:$PORT"
WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

LIMIT=1000000000
PORT="$PORT" HOST=127.0.0.1 DATA_DIR="$WORK/data" LOG_LEVEL=warn \
  SEND_RATE_PER_USER=$LIMIT SEND_RATE_PER_IP=$LIMIT LOGIN_RATE_PER_USER=$LIMIT LOGIN_RATE_PER_IP=$LIMIT \
  WS_FRAME_RATE=$LIMIT WS_FRAME_BURST=$LIMIT \
  node --import tsx src/main.ts >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

# Small JSON-over-HTTP helper: api METHOD PATH [BODY] [TOKEN] prints the response body, fails on non-2xx.
api() {
  "$VENV/bin/python" - "$BASE" "$@" <<'PY'
import json, sys, urllib.request
base, method, path = sys.argv[1:4]
body = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] else None
token = sys.argv[5] if len(sys.argv) > 5 else None
headers = {"content-type": "application/json"}
if token:
    headers["authorization"] = f"Bearer {token}"
req = urllib.request.Request(base + path, data=body.encode() if body else None, method=method, headers=headers)
try:
    with urllib.request.urlopen(req, timeout=30) as r:
        sys.stdout.write(r.read().decode())
except urllib.error.HTTPError as e:
    sys.stderr.write(f"{method} {path}: {e.code} {e.read().decode()}\n")
    sys.exit(1)
PY
}
field() { "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

for _ in $(seq 300); do
  if api GET /healthz >/dev/null 2>&1; then break; fi
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then echo "server exited:"; cat "$WORK/server.log"; exit 1; fi
  sleep 0.2
done
api GET /healthz >/dev/null

api POST /v1/users '{"username":"st_alice","password":"correct-horse-1","displayName":"Alice"}' >/dev/null
BOB_ID="$(api POST /v1/users '{"username":"st_bob","password":"correct-horse-2","displayName":"Bob"}' | field userId)"
TOKEN="$(api POST /v1/sessions '{"username":"st_alice","password":"correct-horse-1"}' | field token)"
CONVERSATION_ID="$(api POST /v1/conversations "{\"kind\":\"direct\",\"memberId\":\"$BOB_ID\"}" "$TOKEN" | field conversationId)"
GROUP_ID="$(api POST /v1/conversations "{\"kind\":\"group\",\"title\":\"schemathesis\",\"memberIds\":[\"$BOB_ID\"]}" "$TOKEN" | field conversationId)"
api POST "/v1/conversations/$CONVERSATION_ID/messages" '{"clientMsgId":"st-1","text":"hello"}' "$TOKEN" >/dev/null
echo "server on $BASE; user st_alice, peer $BOB_ID, direct conversation $CONVERSATION_ID, group $GROUP_ID"
# Read by schemathesis.toml: the path ids of the generated requests.
export ST_CONVERSATION_ID="$CONVERSATION_ID" ST_GROUP_ID="$GROUP_ID" ST_PEER_ID="$BOB_ID"

# The log-out operation revokes the very token the run uses, so it is left out.
set +e
# Run from the cache folder: schemathesis keeps its crash cache (.schemathesis/) in the working directory.
(cd "$CACHE" && "$VENV/bin/schemathesis" --config-file "$ROOT/test/schemathesis/schemathesis.toml" run "$BASE/v1/openapi.json" \
  --header "Authorization: Bearer $TOKEN" \
  --phases examples,coverage,fuzzing \
  --max-examples "$MAX_EXAMPLES" \
  --seed "$SEED" \
  --workers 1 \
  --request-timeout 30 \
  --generation-database none \
  --exclude-path /v1/sessions/current \
  --no-color) 2>&1 | tee "$WORK/schemathesis.out"
CODE=${PIPESTATUS[0]}
set -e

if grep -q '"level":50' "$WORK/server.log"; then
  echo "--- errors the server logged (first 20):"; grep '"level":50' "$WORK/server.log" | head -20
fi
CASES="$(grep -A1 '^Test cases:' "$WORK/schemathesis.out" | grep -Eo '[0-9]+ generated' | grep -Eo '[0-9]+' | head -1 || true)"
echo "schemathesis $ST_VERSION generated ${CASES:-an unknown number of} test cases (seed $SEED, max-examples $MAX_EXAMPLES); exit code $CODE"
exit "$CODE"
