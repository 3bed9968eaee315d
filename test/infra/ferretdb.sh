#!/usr/bin/env bash
# MongoDB-wire-compatible server for tests: FerretDB v1 on its SQLite backend, or on PostgreSQL
# (FERRETDB_BACKEND=postgresql, started and stopped with it by postgres.sh).
#
#   test/infra/ferretdb.sh start   # build FerretDB if not cached, start, wait until ready
#   test/infra/ferretdb.sh stop    # SIGTERM (then SIGKILL), delete the data dir
#   test/infra/ferretdb.sh build   # only build the binary into the cache
#
# Env: MONGO_PORT (27018), FERRETDB_START_TIMEOUT (60 s), FERRETDB_STOP_GRACE (10 s),
#      FERRETDB_LOG_LEVEL (warn), FERRETDB_EXTRA_FLAGS (appended to the command line),
#      FERRETDB_BACKEND (sqlite | postgresql), PG_PORT (MONGO_PORT + 1, for postgresql).
set -euo pipefail

INFRA_TAG=ferretdb
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

FERRETDB_MODULE=github.com/FerretDB/FerretDB
FERRETDB_VERSION=v1.24.2
MONGO_PORT="${MONGO_PORT:-27018}"
FERRETDB_START_TIMEOUT="${FERRETDB_START_TIMEOUT:-60}"
FERRETDB_STOP_GRACE="${FERRETDB_STOP_GRACE:-10}"
FERRETDB_LOG_LEVEL="${FERRETDB_LOG_LEVEL:-warn}"
FERRETDB_BACKEND="${FERRETDB_BACKEND:-sqlite}"
export PG_PORT="${PG_PORT:-$((MONGO_PORT + 1))}"

BIN="$INFRA_CACHE/bin/ferretdb"
RUNDIR="$INFRA_RUN/ferretdb-$MONGO_PORT"
LOGFILE="$INFRA_LOGS/ferretdb-$MONGO_PORT.log"

binary_fresh() {
  [[ -x "$BIN" ]] && "$BIN" --version 2>/dev/null | grep -qx "version: $FERRETDB_VERSION"
}

# FerretDB embeds build/version/version.txt, which its release process generates and which is not
# part of the module zip: without it the binary panics at startup.
write_version() {
  echo "$FERRETDB_VERSION" >"$1/build/version/version.txt"
}

build_locked() {
  binary_fresh && return 0
  infra_build_go_module FerretDB "$FERRETDB_MODULE" "$FERRETDB_VERSION" "$BIN" ./cmd/ferretdb write_version
}

build() {
  binary_fresh && return 0
  infra_with_lock "$INFRA_CACHE/.ferretdb-build.lock" build_locked
}

start() {
  local t0 pid datadir deadline extra=()
  build

  t0=$(infra_now_ms)
  infra_claim_rundir FerretDB "$RUNDIR" "$RUNDIR" "$MONGO_PORT" MONGO_PORT "MongoDB wire"
  datadir=$(mktemp -d "$RUNDIR/data.XXXXXX")
  : >"$LOGFILE"
  if [[ -n "${FERRETDB_EXTRA_FLAGS:-}" ]]; then
    read -r -a extra <<<"$FERRETDB_EXTRA_FLAGS"
  fi

  local backend=(--handler=sqlite --sqlite-url="file:$datadir/")
  if [[ "$FERRETDB_BACKEND" == postgresql ]]; then
    "$INFRA_DIR/postgres.sh" start
    backend=(--handler=postgresql --postgresql-url="postgres://postgres@127.0.0.1:$PG_PORT/ferretdb")
  fi

  cd "$RUNDIR"
  # --debug-addr=-  : no debug/metrics HTTP listener (default 127.0.0.1:8088 would collide)
  # --state-dir     : state.json (instance uuid, telemetry state) stays in the run dir
  # --telemetry=disable (and DO_NOT_TRACK): never phone home
  pid=$(DO_NOT_TRACK=1 infra_spawn "$LOGFILE" "$BIN" \
    "${backend[@]}" \
    --listen-addr="127.0.0.1:$MONGO_PORT" \
    --state-dir="$RUNDIR" \
    --debug-addr=- \
    --telemetry=disable \
    --log-level="$FERRETDB_LOG_LEVEL" \
    ${extra[@]+"${extra[@]}"})
  echo "$pid" >"$RUNDIR/pid"
  infra_log "starting FerretDB $FERRETDB_VERSION (pid $pid, $FERRETDB_BACKEND backend) on 127.0.0.1:$MONGO_PORT"

  deadline=$(($(infra_now_ms) + FERRETDB_START_TIMEOUT * 1000))
  until infra_port_open "$MONGO_PORT"; do
    if ! infra_pid_matches "$pid" "$RUNDIR"; then
      infra_tail_log "$LOGFILE"
      rm -rf "$RUNDIR"
      infra_die "FerretDB exited during startup (log: $LOGFILE)"
    fi
    if (($(infra_now_ms) > deadline)); then
      infra_tail_log "$LOGFILE"
      infra_log "ERROR: FerretDB not listening after ${FERRETDB_START_TIMEOUT}s (log: $LOGFILE); stopping it"
      stop
      exit 1
    fi
    sleep 0.1
  done
  infra_log "FerretDB ready on 127.0.0.1:$MONGO_PORT in $(infra_since "$t0")"
}

stop() {
  infra_stop_owned FerretDB "$RUNDIR" "$RUNDIR" "$FERRETDB_STOP_GRACE" "$MONGO_PORT"
  "$INFRA_DIR/postgres.sh" stop
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  build) build ;;
  *)
    echo "usage: $0 start|stop|build" >&2
    exit 2
    ;;
esac
