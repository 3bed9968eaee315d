#!/usr/bin/env bash
# Redis for tests: Debian's redis-server, in memory only, on a loopback port.
#
#   test/infra/redis.sh start   # install redis-server with apt if missing, start, wait for PONG
#   test/infra/redis.sh stop    # SIGTERM (then SIGKILL), delete the run dir
#
# Env: REDIS_PORT (16379), REDIS_START_TIMEOUT (30 s), REDIS_STOP_GRACE (10 s).
set -euo pipefail

INFRA_TAG=redis
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

REDIS_PORT="${REDIS_PORT:-16379}"
REDIS_START_TIMEOUT="${REDIS_START_TIMEOUT:-30}"
REDIS_STOP_GRACE="${REDIS_STOP_GRACE:-10}"

RUNDIR="$INFRA_RUN/redis-$REDIS_PORT"
LOGFILE="$INFRA_LOGS/redis-$REDIS_PORT.log"

# The lane runs as root on Debian; the package brings redis-cli too.
install_locked() {
  command -v redis-server >/dev/null 2>&1 && return 0
  command -v apt-get >/dev/null 2>&1 || infra_die "redis-server not found and no apt-get to install it"
  local t0 aptlog="$INFRA_LOGS/redis-install.log"
  t0=$(infra_now_ms)
  infra_log "installing Debian's redis-server (first run only) ..."
  if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends redis-server; } >"$aptlog" 2>&1; then
    infra_tail_log "$aptlog"
    infra_die "installing redis-server failed (log: $aptlog)"
  fi
  infra_log "installed $(redis-server --version | cut -d' ' -f1-3) in $(infra_since "$t0")"
}

install() {
  command -v redis-server >/dev/null 2>&1 && return 0
  infra_with_lock "$INFRA_CACHE/.redis-install.lock" install_locked
}

pong() {
  [[ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]
}

start() {
  local t0 pid deadline
  install

  t0=$(infra_now_ms)
  infra_claim_rundir Redis "$RUNDIR" "$REDIS_PORT" "$REDIS_PORT" REDIS_PORT Redis
  : >"$LOGFILE"
  # Tests need no durability: nothing is written to disk (--save '' --appendonly no).
  pid=$(infra_spawn "$LOGFILE" redis-server \
    --bind 127.0.0.1 \
    --port "$REDIS_PORT" \
    --dir "$RUNDIR" \
    --save '' \
    --appendonly no \
    --daemonize no)
  echo "$pid" >"$RUNDIR/pid"
  infra_log "starting Redis (pid $pid) on 127.0.0.1:$REDIS_PORT"

  deadline=$(($(infra_now_ms) + REDIS_START_TIMEOUT * 1000))
  until pong; do
    if ! infra_pid_matches "$pid" "$REDIS_PORT"; then
      infra_tail_log "$LOGFILE"
      rm -rf "$RUNDIR"
      infra_die "Redis exited during startup (log: $LOGFILE)"
    fi
    if (($(infra_now_ms) > deadline)); then
      infra_tail_log "$LOGFILE"
      infra_log "ERROR: Redis not answering PING after ${REDIS_START_TIMEOUT}s (log: $LOGFILE); stopping it"
      stop
      exit 1
    fi
    sleep 0.1
  done
  infra_log "Redis ready on 127.0.0.1:$REDIS_PORT in $(infra_since "$t0")"
}

stop() {
  infra_stop_owned Redis "$RUNDIR" "$REDIS_PORT" "$REDIS_STOP_GRACE" "$REDIS_PORT"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
