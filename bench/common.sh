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
