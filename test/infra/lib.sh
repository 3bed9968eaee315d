# shellcheck shell=bash
# Shared helpers for test/infra/*.sh. Sourced, never executed directly.
#
# Everything downloaded or built lives under $INFRA_CACHE (default:
# <repo root>/.cache/infra), computed from this file's location so the
# scripts work from any current directory.

INFRA_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$INFRA_DIR/../.." && pwd)"
INFRA_CACHE="${INFRA_CACHE_DIR:-$REPO_ROOT/.cache/infra}"
INFRA_RUN="$INFRA_CACHE/run"   # per-instance runtime dirs (config, data, pid)
INFRA_LOGS="$INFRA_CACHE/logs" # last log of each instance, kept after stop
mkdir -p "$INFRA_CACHE" "$INFRA_RUN" "$INFRA_LOGS"
# Belt and braces: the cache ignores itself even if the repo's .gitignore
# does not list .cache/ (jars + binary are ~100 MB).
[[ -f "$INFRA_CACHE/.gitignore" ]] || echo '*' >"$INFRA_CACHE/.gitignore"

# Progress lines go to stderr so they never mix with a command's stdout.
infra_log() {
  printf '[infra %s] %s\n' "${INFRA_TAG:-}" "$*" >&2
}

infra_die() {
  infra_log "ERROR: $*"
  exit 1
}

# Milliseconds since the epoch (GNU date).
infra_now_ms() {
  date +%s%3N
}

# "12.3s" since a start time taken with infra_now_ms.
infra_since() {
  local ms=$(($(infra_now_ms) - $1))
  printf '%d.%ds' $((ms / 1000)) $(((ms % 1000) / 100))
}

# True when something accepts TCP connections on 127.0.0.1:$1.
infra_port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

infra_check_port_free() {
  local port=$1 what=$2 var=$3
  if infra_port_open "$port"; then
    infra_log "ERROR: port $port ($what) is already in use on 127.0.0.1; set $var to another port"
    return 3
  fi
}

# True when $1 is a live process whose command line mentions $2 (guards
# against acting on a recycled pid).
infra_pid_matches() {
  local pid=$1 needle=$2
  [[ -n "$pid" && -r "/proc/$pid/cmdline" ]] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$needle"
}

# Stop a process: SIGTERM, wait up to $3 seconds, then SIGKILL.
infra_kill_gracefully() {
  local pid=$1 needle=$2 grace=$3 waited=0
  infra_pid_matches "$pid" "$needle" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  while infra_pid_matches "$pid" "$needle"; do
    if ((waited >= grace * 10)); then
      infra_log "pid $pid still alive after ${grace}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
      break
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
}

infra_tail_log() {
  local file=$1
  if [[ -f "$file" ]]; then
    infra_log "last lines of $file:"
    tail -n "${INFRA_LOG_TAIL_LINES:-40}" "$file" | sed 's/^/    | /' >&2
  fi
}

# Run "$@" while holding an exclusive lock on $1 (so concurrent runs do not
# download/build into the cache at the same time).
infra_with_lock() {
  local lock=$1
  shift
  # Always a subshell: the callee may set traps for its own cleanup.
  (
    if command -v flock >/dev/null 2>&1; then
      flock -x 9
    fi
    "$@"
  ) 9>"$lock"
}

# Builds one command of a Go module into $4, from exactly that module version as the module proxy
# serves it, built as the main module so that its own go.mod and go.sum pin every dependency:
#   infra_build_go_module <name> <module> <version> <binary> <package> [<prepare function>]
# The prepare function, if any, is called with the copied source folder before the build.
# Why not `go install pkg@version`: that first asks the proxy for the module's version list (for a
# deprecation notice), which is refused here (403), and fails before building anything.
# Call it under infra_with_lock: it sets EXIT traps of its own.
infra_build_go_module() {
  local name=$1 module=$2 version=$3 bin=$4 package=$5 prepare=${6:-}
  command -v go >/dev/null 2>&1 || infra_die "go not found on PATH (needed once to build $name)"
  local t0 src dir buildlog="$INFRA_LOGS/${INFRA_TAG}-build.log"
  t0=$(infra_now_ms)
  infra_log "building $name $version from the Go module (first run only, a few minutes on 2 cores) ..."
  : >"$buildlog"
  if ! dir=$(go mod download -json "$module@$version" 2>>"$buildlog" |
      sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p') || [[ -z "$dir" || ! -d "$dir" ]]; then
    infra_tail_log "$buildlog"
    infra_die "could not download the Go module $module@$version"
  fi
  mkdir -p "$INFRA_CACHE/build" "$(dirname "$bin")"
  rm -rf "$INFRA_CACHE/build/${INFRA_TAG}-src."* # leftovers of an interrupted build (we hold the lock)
  src=$(mktemp -d "$INFRA_CACHE/build/${INFRA_TAG}-src.XXXXXX")
  # shellcheck disable=SC2064 # expanded now on purpose: the locals are gone at exit
  trap "rm -rf $(printf '%q %q' "$src" "$bin.tmp")" EXIT
  trap 'exit 143' TERM INT
  cp -R "$dir/." "$src/"
  chmod -R u+w "$src"
  [[ -z "$prepare" ]] || "$prepare" "$src"
  if ! (cd "$src" && GOFLAGS="${GOFLAGS:-} -buildvcs=false" go build -trimpath -o "$bin.tmp" "$package") >>"$buildlog" 2>&1; then
    infra_tail_log "$buildlog"
    rm -rf "$src" "$bin.tmp"
    infra_die "building $name failed (log: $buildlog)"
  fi
  mv "$bin.tmp" "$bin"
  rm -rf "$src"
  rmdir "$INFRA_CACHE/build" 2>/dev/null || true
  infra_log "built $name $version in $(infra_since "$t0") -> ${bin#"$REPO_ROOT"/}"
}

# Launch "$@" detached from the caller's session and terminal, with all three
# standard streams redirected (so a pipe held by the caller is never kept
# open). Prints the pid of the launched program itself.
infra_spawn() {
  local logfile=$1
  shift
  if command -v setsid >/dev/null 2>&1; then
    # A background job of a non-interactive shell is never a process group
    # leader, so setsid execs in place and $! is the program's own pid.
    setsid "$@" </dev/null >>"$logfile" 2>&1 &
  else
    nohup "$@" </dev/null >>"$logfile" 2>&1 &
  fi
  echo $!
}

# The owner token lets run.sh stop only what it started itself.
infra_owner() {
  echo "${INFRA_OWNER:-manual}"
}

# stop is allowed when no INFRA_OWNER is set (manual use) or it matches.
infra_may_stop() {
  local rundir=$1
  [[ -z "${INFRA_OWNER:-}" ]] && return 0
  [[ ! -f "$rundir/owner" ]] && return 0
  [[ "$(cat "$rundir/owner")" == "$INFRA_OWNER" ]]
}

# Stop the instance whose runtime dir is $2 (pid file, owner token) if this run
# owns it, then delete the dir. $3: what its command line contains; $4: seconds
# of grace before SIGKILL; $1 and $5 (name, port) are for the log lines.
infra_stop_owned() {
  local what=$1 rundir=$2 needle=$3 grace=$4 port=$5 pid t0
  [[ -d "$rundir" ]] || return 0
  if ! infra_may_stop "$rundir"; then
    infra_log "$what on port $port was not started by this run; leaving it alone"
    return 0
  fi
  if [[ -f "$rundir/pid" ]]; then
    pid=$(cat "$rundir/pid")
    if infra_pid_matches "$pid" "$needle"; then
      t0=$(infra_now_ms)
      infra_kill_gracefully "$pid" "$needle" "$grace"
      infra_log "stopped $what (pid $pid) in $(infra_since "$t0")"
    fi
  fi
  rm -rf "$rundir"
}

# Prepare the runtime dir $2 for a new instance owned by this run, or exit 3
# when one is still running there or something else holds port $4 ($5: the
# variable that sets it). $3: what the instance's command line contains; $1 and
# $6 (name, what the port is) are for the log lines.
infra_claim_rundir() {
  local what=$1 rundir=$2 needle=$3 port=$4 var=$5 listener=$6
  if [[ -f "$rundir/pid" ]]; then
    if infra_pid_matches "$(cat "$rundir/pid")" "$needle"; then
      infra_log "ERROR: $what is already running on port $port (pid $(cat "$rundir/pid")); run '$0 stop' first"
      exit 3
    fi
    rm -rf "$rundir" # leftovers of a run that was killed
  fi
  infra_check_port_free "$port" "$listener" "$var" || exit 3
  mkdir -p "$rundir"
  infra_owner >"$rundir/owner"
}
