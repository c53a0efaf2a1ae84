#!/usr/bin/env bash
# bench/sqlite.sh: `oban prune` on an Oban Lite (SQLite) file, against an oban-py-style batched
# DELETE and one unbatched DELETE, each on its own copy of one seeded file. Markdown on stdout.
#
#   bench/sqlite.sh > /tmp/sqlite.md
#
# Knobs: BENCH_JOBS (default 1000000), BENCH_LIMIT (rows per batch of the batched DELETE,
# default 20000). Needs sqlite3. Works in a temporary directory it removes on exit.
set -euo pipefail
cd "$(dirname "$0")/.."

JOBS=${BENCH_JOBS:-1000000}
LIMIT=${BENCH_LIMIT:-20000}
OBAN=$PWD/target/release/oban
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
command -v sqlite3 >/dev/null || { echo "bench: needs sqlite3" >&2; exit 1; }
[[ -x $OBAN ]] || cargo build --release >&2

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
now() { date +%s.%N; }
secs() { awk -v a="$2" -v b="$1" 'BEGIN { printf "%.3f", a - b }'; }
ELIGIBLE="(state = 'completed' AND julianday(completed_at) <= julianday('now', '-1 day')) OR
  (state = 'cancelled' AND julianday(cancelled_at) <= julianday('now', '-1 day')) OR
  (state = 'discarded' AND julianday(discarded_at) <= julianday('now', '-1 day'))"

log "seeding $JOBS jobs"
TPL=$TMP/template.db
"$OBAN" -d "$TPL" migrate -q
t0=$(now); "$OBAN" -d "$TPL" seed --jobs "$JOBS" --seed 1 -q; t1=$(now)
SEED=$(secs "$t0" "$t1")
SIZE=$(du -h "$TPL" | cut -f1)
count() { sqlite3 "$1" "SELECT count(*) FROM oban_jobs"; }
TOTAL=$(count "$TPL")

declare -a ROWS
run() { # label command...: on a fresh copy
  local label=$1; shift
  cp "$TPL" "$TMP/run.db"
  log "$label"
  # Rows eligible when the contender starts must all be gone when it ends.
  local cut; cut=$(sqlite3 "$TMP/run.db" "SELECT strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-1 day')")
  local t0 t1; t0=$(now); "$@"; t1=$(now)
  local left; left=$(sqlite3 "$TMP/run.db" "SELECT count(*) FROM oban_jobs WHERE ${ELIGIBLE//"julianday('now', '-1 day')"/"julianday('$cut')"}")
  [[ $left == 0 ]] || { echo "bench: $label left $left eligible rows" >&2; exit 1; }
  local gone=$((TOTAL - $(count "$TMP/run.db"))) s; s=$(secs "$t0" "$t1")
  ROWS+=("| $label | $gone | $s | $(awk -v n="$gone" -v s="$s" 'BEGIN { printf "%d", n / s }') |")
}
batched() {
  while [[ $(sqlite3 "$TMP/run.db" "DELETE FROM oban_jobs WHERE id IN (SELECT id FROM oban_jobs
      WHERE $ELIGIBLE ORDER BY id LIMIT $LIMIT); SELECT changes();") != 0 ]]; do :; done
}
single() { sqlite3 "$TMP/run.db" "DELETE FROM oban_jobs WHERE $ELIGIBLE"; }
prune() { "$OBAN" -d "$TMP/run.db" prune --limit 100000000 -q; }

run "(a) batched DELETE … ORDER BY id LIMIT $LIMIT, until empty" batched
run "(b) one unbatched DELETE" single
run "(c) oban prune (batch size 10000)" prune
t0=$(now); "$OBAN" -d "$TMP/run.db" prune -q; t1=$(now)
IDLE=$(secs "$t0" "$t1")

cat <<MD
### Oban Lite (SQLite) — $(date -u +%Y-%m-%d)

Command: \`BENCH_JOBS=$JOBS bench/sqlite.sh\`; $(nproc) cores, SQLite $(sqlite3 --version | cut -d' ' -f1) (CLI) and the
bundled library in \`oban\`. $JOBS jobs seeded in $SEED s (file: $SIZE).

| contender | rows deleted | seconds | rows/s |
| --- | ---: | ---: | ---: |
$(printf '%s\n' "${ROWS[@]}")

An \`oban prune\` with nothing left to delete, right after: $IDLE s wall, process start included.
MD
