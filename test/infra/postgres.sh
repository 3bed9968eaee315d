#!/usr/bin/env bash
# PostgreSQL for FerretDB's postgresql backend: a throwaway cluster on a loopback port, from
# Debian's packages (apt-get install -y postgresql), installed here on first use.
#
#   test/infra/postgres.sh start   # install if missing, initdb, start, wait until ready
#   test/infra/postgres.sh stop    # fast shutdown, delete the cluster
#
# Env: PG_PORT (15432), PG_START_TIMEOUT (60 s). The database is `ferretdb`, user `postgres`,
# trust authentication on 127.0.0.1 only. fsync is off: the cluster is deleted on stop anyway.
set -euo pipefail

INFRA_TAG=postgres
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

PG_PORT="${PG_PORT:-15432}"
PG_START_TIMEOUT="${PG_START_TIMEOUT:-60}"
RUNDIR="$INFRA_RUN/postgres-$PG_PORT"
LOGFILE="$INFRA_LOGS/postgres-$PG_PORT.log"

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [[ -n "$dir" ]] && echo "$dir"
}

install() {
  pg_bin >/dev/null && return 0
  infra_log "installing PostgreSQL from Debian's packages ..."
  apt-get install -y postgresql >/dev/null || infra_die "apt-get install postgresql failed"
}

# PostgreSQL refuses to run as root: run its tools as the postgres user then.
as_pg() {
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  local bin t0 deadline
  install
  bin=$(pg_bin)
  t0=$(infra_now_ms)
  infra_claim_rundir PostgreSQL "$RUNDIR" "$RUNDIR" "$PG_PORT" PG_PORT "PostgreSQL"
  [[ $(id -u) == 0 ]] && chown postgres "$RUNDIR"
  : >"$LOGFILE"
  [[ $(id -u) == 0 ]] && chown postgres "$LOGFILE"
  as_pg "$bin/initdb" -D "$RUNDIR/data" -U postgres --auth=trust -E UTF8 >>"$LOGFILE" 2>&1 || {
    infra_tail_log "$LOGFILE"
    infra_die "initdb failed"
  }
  as_pg "$bin/pg_ctl" -D "$RUNDIR/data" -l "$LOGFILE" -w -t "$PG_START_TIMEOUT" \
    -o "-p $PG_PORT -k $RUNDIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null || {
    infra_tail_log "$LOGFILE"
    infra_die "PostgreSQL did not start (log: $LOGFILE)"
  }
  head -n 1 "$RUNDIR/data/postmaster.pid" >"$RUNDIR/pid"
  as_pg "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres ferretdb
  infra_log "PostgreSQL ready on 127.0.0.1:$PG_PORT in $(infra_since "$t0")"
}

stop() {
  [[ -d "$RUNDIR" ]] || return 0
  infra_may_stop "$RUNDIR" || { infra_log "PostgreSQL on port $PG_PORT was not started by this run; leaving it alone"; return 0; }
  if [[ -f "$RUNDIR/data/postmaster.pid" ]]; then
    as_pg "$(pg_bin)/pg_ctl" -D "$RUNDIR/data" -m fast -w stop >/dev/null 2>&1 || infra_kill_gracefully "$(cat "$RUNDIR/pid")" postgres 10
    infra_log "stopped PostgreSQL on port $PG_PORT"
  fi
  rm -rf "$RUNDIR"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
