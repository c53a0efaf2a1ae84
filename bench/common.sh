# bench/common.sh: what every PostgreSQL benchmark script shares. Sourced, not run.
# BENCH_DSN_BASE is the server URL without a database (default the local server).
DSN_BASE=${BENCH_DSN_BASE:-postgres://root@127.0.0.1:5432}

# needs TOOL...: stop unless each tool is installed.
needs() { for tool in "$@"; do command -v "$tool" >/dev/null || { echo "bench: needs $tool" >&2; exit 1; }; done; }
# log TEXT: progress on stderr, with the time.
log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
# q DB SQL: one statement, unaligned output; ON_ERROR_STOP makes a failure fatal.
q() { PGOPTIONS='-c client_min_messages=warning' psql -X -At -q -v ON_ERROR_STOP=1 -d "$DSN_BASE/$1" -c "$2"; }
# drop_db DB: drop a benchmark database, ending its sessions.
drop_db() { q postgres "DROP DATABASE IF EXISTS $1 WITH (FORCE)"; }
# oban DB ARGS...: the release binary on database DB of the server (set OBAN first).
oban() { local db=$1; shift; "$OBAN" -d "$DSN_BASE/$db" "$@"; }
# median: the median of numbers on stdin, one a line.
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# ms SECONDS: milliseconds, one decimal.
ms() { awk -v s="$1" 'BEGIN { printf "%.1f", s * 1000 }'; }
# wall DB ARGS...: median wall-clock seconds of RUNS runs of oban, output discarded.
wall() {
  local db=$1; shift
  for _ in $(seq "$RUNS"); do
    local t0 t1; t0=$(date +%s.%N); oban "$db" "$@" >/dev/null; t1=$(date +%s.%N)
    awk -v a="$t1" -v b="$t0" 'BEGIN { print a - b }'
  done | median
}
# inner DB ARGS...: median of the pass's own "elapsed" (JSON), which excludes start and connect.
inner() { local db=$1; shift; for _ in $(seq "$RUNS"); do oban "$db" "$@" -o json | jq -r '.elapsed'; done | median; }
