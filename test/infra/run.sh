#!/usr/bin/env bash
# Run a command with real Kafka + a MongoDB-wire server (FerretDB) around it.
#
#   test/infra/run.sh npm run test:integration
#   test/infra/run.sh bash -c 'echo $KAFKA_BROKERS $MONGO_URL'
#
# Exports to the command:
#   KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
#   MONGO_URL=mongodb://127.0.0.1:$MONGO_PORT/   (append a database name)
# Ports: KAFKA_PORT (19092), KAFKA_CONTROLLER_PORT (KAFKA_PORT+1), MONGO_PORT (27018).
# INFRA_SKIP_KAFKA=1 / INFRA_SKIP_MONGO=1 start only the other one.
#
# Whatever happens (command fails, Ctrl-C, SIGTERM, a server fails to start),
# everything this script started is stopped, and the command's exit code is
# returned.
set -euo pipefail

INFRA_TAG=run
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$HERE/lib.sh"

if [[ $# -eq 0 ]]; then
  echo "usage: $0 <command> [args...]" >&2
  exit 2
fi

export KAFKA_PORT="${KAFKA_PORT:-19092}"
export KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
export MONGO_PORT="${MONGO_PORT:-27018}"
# Only instances carrying this token are stopped by our cleanup.
owner="run.sh-$$-$(infra_now_ms)"
export INFRA_OWNER="$owner"

services=()
[[ "${INFRA_SKIP_KAFKA:-}" == 1 ]] || services+=(kafka)
[[ "${INFRA_SKIP_MONGO:-}" == 1 ]] || services+=(ferretdb)

child=""
starters=()
cleaned=0

cleanup() {
  local rc=$?
  ((cleaned)) && return
  cleaned=1
  trap '' INT TERM HUP
  # Starters still running (interrupted during startup): end them first.
  local p
  # Each starter leads its own process group (setsid), so this also ends a
  # Maven download or Go build it is running.
  for p in ${starters[@]+"${starters[@]}"}; do
    kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true
  done
  for p in ${starters[@]+"${starters[@]}"}; do
    wait "$p" 2>/dev/null || true
  done
  local t0 svc pids=()
  t0=$(infra_now_ms)
  for svc in ${services[@]+"${services[@]}"}; do
    INFRA_OWNER="$owner" "$HERE/$svc.sh" stop &
    pids+=($!)
  done
  for p in ${pids[@]+"${pids[@]}"}; do
    wait "$p" || true
  done
  ((${#services[@]})) && infra_log "infrastructure stopped in $(infra_since "$t0")"
  exit "$rc"
}

# Signals: pass SIGTERM to the command (a background job of a script ignores
# SIGINT, so TERM is used for every signal), give it 15 s, then clean up.
on_signal() {
  local name=$1 code=$2 i
  infra_log "got SIG$name, stopping"
  if [[ -n "$child" ]]; then
    kill -TERM "$child" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
      kill -0 "$child" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$child" 2>/dev/null || true
  fi
  exit "$code"
}

trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

t_all=$(infra_now_ms)
# Fetch/build and start in parallel: the two servers share nothing.
declare -A starter_of=()
setsid_cmd=()
command -v setsid >/dev/null 2>&1 && setsid_cmd=(setsid)
for svc in "${services[@]}"; do
  ${setsid_cmd[@]+"${setsid_cmd[@]}"} "$HERE/$svc.sh" start &
  starters+=($!)
  starter_of[$!]=$svc
done
failed=()
for p in ${starters[@]+"${starters[@]}"}; do
  if ! wait "$p"; then
    failed+=("${starter_of[$p]}")
  fi
done
starters=()
if ((${#failed[@]})); then
  infra_die "could not start: ${failed[*]}"
fi
infra_log "infrastructure ready in $(infra_since "$t_all")"

export KAFKA_BROKERS="127.0.0.1:$KAFKA_PORT"
export MONGO_URL="mongodb://127.0.0.1:$MONGO_PORT/"
export -n INFRA_OWNER

# Run the command as a background job so that signals reach our trap at once;
# <&0 keeps its stdin (background jobs would otherwise get /dev/null).
"$@" <&0 &
child=$!
set +e
wait "$child"
rc=$?
set -e
child=""
exit "$rc"
