#!/usr/bin/env bash
# S3-compatible object store for tests: SeaweedFS (Apache-2.0), master + volume + filer + S3
# gateway in one `weed server` process, data in a temporary folder.
#
#   test/infra/seaweedfs.sh start   # build weed if not cached, start, wait until the S3 port answers
#   test/infra/seaweedfs.sh stop    # SIGTERM (then SIGKILL), delete the data dir
#   test/infra/seaweedfs.sh build   # only build the binary into the cache
#
# Env: S3_PORT (18333; the master, volume and filer listen on S3_PORT+1..+3, their gRPC ports
#      10000 above those), S3_ACCESS_KEY / S3_SECRET_KEY (the one identity it accepts),
#      SEAWEEDFS_START_TIMEOUT (90 s), SEAWEEDFS_STOP_GRACE (10 s).
set -euo pipefail

INFRA_TAG=seaweedfs
# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

SEAWEEDFS_MODULE=github.com/seaweedfs/seaweedfs
# SeaweedFS tags its releases without a v prefix, so the module proxy knows them by commit only.
SEAWEEDFS_VERSION=v0.0.0-20261109003541-7506e5f91cd6
S3_PORT="${S3_PORT:-18333}"
S3_ACCESS_KEY="${S3_ACCESS_KEY:-chat-test}"
S3_SECRET_KEY="${S3_SECRET_KEY:-chat-test-secret}"
SEAWEEDFS_START_TIMEOUT="${SEAWEEDFS_START_TIMEOUT:-90}"
SEAWEEDFS_STOP_GRACE="${SEAWEEDFS_STOP_GRACE:-10}"

BIN="$INFRA_CACHE/bin/weed-$SEAWEEDFS_VERSION"
RUNDIR="$INFRA_RUN/seaweedfs-$S3_PORT"
LOGFILE="$INFRA_LOGS/seaweedfs-$S3_PORT.log"

build_locked() {
  [[ -x "$BIN" ]] && return 0
  infra_build_go_module SeaweedFS "$SEAWEEDFS_MODULE" "$SEAWEEDFS_VERSION" "$BIN" ./weed
}

build() {
  [[ -x "$BIN" ]] && return 0
  infra_with_lock "$INFRA_CACHE/.seaweedfs-build.lock" build_locked
}

start() {
  local t0 pid datadir deadline
  build

  t0=$(infra_now_ms)
  infra_claim_rundir SeaweedFS "$RUNDIR" "$RUNDIR" "$S3_PORT" S3_PORT "S3"
  datadir=$(mktemp -d "$RUNDIR/data.XXXXXX")
  # One identity: the app signs with it, and presigned URLs are checked against it.
  cat >"$RUNDIR/s3.json" <<JSON
{"identities":[{"name":"chat","credentials":[{"accessKey":"$S3_ACCESS_KEY","secretKey":"$S3_SECRET_KEY"}],"actions":["Admin","Read","List","Tagging","Write"]}]}
JSON
  : >"$LOGFILE"
  cd "$RUNDIR"
  pid=$(infra_spawn "$LOGFILE" "$BIN" server \
    -dir="$datadir" \
    -ip=127.0.0.1 -ip.bind=127.0.0.1 \
    -master.port=$((S3_PORT + 1)) -volume.port=$((S3_PORT + 2)) \
    -filer -filer.port=$((S3_PORT + 3)) \
    -s3 -s3.port="$S3_PORT" -s3.config="$RUNDIR/s3.json" \
    -master.volumeSizeLimitMB=64 -volume.max=0)
  echo "$pid" >"$RUNDIR/pid"
  infra_log "starting SeaweedFS (pid $pid) with its S3 gateway on 127.0.0.1:$S3_PORT"

  deadline=$(($(infra_now_ms) + SEAWEEDFS_START_TIMEOUT * 1000))
  # The S3 port opens before the filer behind it is ready: wait for an answer to a bucket listing.
  until [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$S3_PORT/" 2>/dev/null)" =~ ^(200|403)$ ]]; do
    if ! infra_pid_matches "$pid" "$RUNDIR"; then
      infra_tail_log "$LOGFILE"
      rm -rf "$RUNDIR"
      infra_die "SeaweedFS exited during startup (log: $LOGFILE)"
    fi
    if (($(infra_now_ms) > deadline)); then
      infra_tail_log "$LOGFILE"
      infra_log "ERROR: SeaweedFS S3 not answering after ${SEAWEEDFS_START_TIMEOUT}s (log: $LOGFILE); stopping it"
      stop
      exit 1
    fi
    sleep 0.2
  done
  infra_log "SeaweedFS S3 ready on 127.0.0.1:$S3_PORT in $(infra_since "$t0")"
}

stop() {
  infra_stop_owned SeaweedFS "$RUNDIR" "$RUNDIR" "$SEAWEEDFS_STOP_GRACE" "$S3_PORT"
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
