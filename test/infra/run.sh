#!/usr/bin/env bash
# shellcheck disable=SC2317 # cleanup/on_signal and helpers are reached through traps
# Run a command with real Kafka + a MongoDB-wire server (FerretDB) + Redis + an S3-compatible
# object store (SeaweedFS) around it.
#
#   test/infra/run.sh npm run test:integration
#   test/infra/run.sh bash -c 'echo $KAFKA_BROKERS $MONGO_URL'
#
# Exports to the command:
#   KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT
#   MONGO_URL=mongodb://127.0.0.1:$MONGO_PORT/   (append a database name)
#   REDIS_URL=redis://127.0.0.1:$REDIS_PORT
#   S3_ENDPOINT=http://127.0.0.1:$S3_PORT, S3_ACCESS_KEY, S3_SECRET_KEY
# Ports: KAFKA_PORT (19092), KAFKA_CONTROLLER_PORT (KAFKA_PORT+1), MONGO_PORT (27018),
# REDIS_PORT (16379), S3_PORT (18333, and the three above it). INFRA_SKIP_KAFKA=1 /
# INFRA_SKIP_MONGO=1 / INFRA_SKIP_REDIS=1 / INFRA_SKIP_S3=1 leave one out.
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
export REDIS_PORT="${REDIS_PORT:-16379}"
export S3_PORT="${S3_PORT:-18333}"
export S3_ACCESS_KEY="${S3_ACCESS_KEY:-chat-test}"
export S3_SECRET_KEY="${S3_SECRET_KEY:-chat-test-secret}"
# Only instances carrying this token are stopped by our cleanup.
owner="run.sh-$$-$(infra_now_ms)"
export INFRA_OWNER="$owner"

services=()
[[ "${INFRA_SKIP_KAFKA:-}" == 1 ]] || services+=(kafka)
[[ "${INFRA_SKIP_MONGO:-}" == 1 ]] || services+=(ferretdb)
[[ "${INFRA_SKIP_REDIS:-}" == 1 ]] || services+=(redis)
[[ "${INFRA_SKIP_S3:-}" == 1 ]] || services+=(seaweedfs)

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

# True while $1 exists and is not a zombie.
alive() {
  local st
  st=$(cut -d')' -f2- "/proc/$1/stat" 2>/dev/null | awk '{print $1}') || return 1
  [[ -n "$st" && "$st" != Z ]]
}

# $1 and all its descendants (snapshot taken before anything is signalled, so
# grandchildren are not lost when their parent exits first).
process_tree() {
  local table queue=("$1") out=("$1") p k
  table=$(ps -e -o pid=,ppid= 2>/dev/null) || { echo "$1"; return; }
  while ((${#queue[@]})); do
    p=${queue[0]}
    queue=("${queue[@]:1}")
    # shellcheck disable=SC2013 # one pid per word is what we want
    for k in $(awk -v pp="$p" '$2 == pp { print $1 }' <<<"$table"); do
      out+=("$k")
      queue+=("$k")
    done
  done
  echo "${out[@]}"
}

# Signals: send SIGTERM to the command and everything it spawned (a background
# job of a script ignores SIGINT, so TERM is used for every signal), give them
# 15 s, SIGKILL what is left, then the EXIT trap stops the servers.
on_signal() {
  local name=$1 code=$2 i p tree left
  infra_log "got SIG$name, stopping"
  if [[ -n "$child" ]]; then
    read -r -a tree <<<"$(process_tree "$child")"
    kill -TERM "${tree[@]}" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
      left=0
      for p in "${tree[@]}"; do
        alive "$p" && left=1 && break
      done
      ((left)) || break
      sleep 0.1
    done
    if ((left)); then
      infra_log "command still running after 15s, sending SIGKILL"
      kill -KILL "${tree[@]}" 2>/dev/null || true
    fi
  fi
  exit "$code"
}

trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

t_all=$(infra_now_ms)
# Fetch/build and start in parallel: the servers share nothing.
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
[[ "${INFRA_SKIP_REDIS:-}" == 1 ]] || export REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
[[ "${INFRA_SKIP_S3:-}" == 1 ]] || export S3_ENDPOINT="http://127.0.0.1:$S3_PORT"
# Not for the command: a nested kafka.sh/ferretdb.sh (e.g. a second broker
# on KAFKA_PORT=...) must derive its own controller port and own its instances.
export -n INFRA_OWNER KAFKA_CONTROLLER_PORT

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
