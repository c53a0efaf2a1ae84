#!/usr/bin/env bash
# bench/incident.sh: what the incident commands cost on a large oban-py table: the error
# grouping, the --error filter when matches are plentiful and when there are none, `queues`,
# and acting on every match with --limit all (a retry by error text, a delete by state).
# Progress goes to stderr; a Markdown summary goes to stdout.
#
#   bench/incident.sh > /tmp/incident.md
#   BENCH_JOBS=100000 bench/incident.sh          # a quick run while developing
#
# Knobs: BENCH_DSN_BASE (server URL without a database), BENCH_JOBS (jobs seeded with
# `oban seed --seed 1`), BENCH_RUNS (repetitions of the reads; the median is reported).
# Needs psql and jq. Creates and drops a database named oban_incident_bench; uses
# target/release/oban, building it when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

. bench/common.sh
JOBS=${BENCH_JOBS:-1000000}
RUNS=${BENCH_RUNS:-5}
OBAN=target/release/oban
DB=oban_incident_bench

needs psql jq
[[ -x $OBAN ]] || cargo build --release >&2
trap 'drop_db "$DB" >/dev/null 2>&1 || true' EXIT

drop_db "$DB"
q postgres "CREATE DATABASE $DB"
oban "$DB" migrate -q
log "seeding $JOBS jobs"
oban "$DB" seed --jobs "$JOBS" --seed 1 -q
q "$DB" "VACUUM ANALYZE oban_jobs"
failing=$(q "$DB" "SELECT count(*) FROM oban_jobs WHERE state IN ('retryable', 'discarded')")

# once ARGS...: wall-clock seconds and peak memory (KB) of one run, output discarded.
once() {
  local t0 t1; t0=$(date +%s.%N)
  /usr/bin/time -f '%M' -o /tmp/oban_incident_mem "$OBAN" -d "$DSN_BASE/$DB" "$@" >/dev/null
  t1=$(date +%s.%N)
  echo "$(awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.2f", a - b }') s, $(cat /tmp/oban_incident_mem) KB"
}

log "reads"
echo "## incident commands, $JOBS jobs ($failing retryable or discarded), $(date -u +%FT%RZ)"
echo
echo "| command | median of $RUNS (ms) | says it scanned |"
echo "| --- | --- | --- |"
row() {
  local label=$1; shift
  local scanned; scanned=$(oban "$DB" "$@" -o json | jq -r 'if has("scanned") then .scanned else "-" end')
  echo "| \`$label\` | $(ms "$(wall "$DB" "$@")") | $scanned |"
}
row "inspect --group-by error" inspect --group-by error
row "inspect --group-by error --queue media" inspect --group-by error --queue media
row "inspect --error session_id" inspect --error session_id
row "inspect --error 'no such text'" inspect --error 'no such text'
row "inspect --meta '{\"rescued\": 1}'" inspect --meta '{"rescued": 1}'
row "queues" queues

log "actions"
errors=$(oban "$DB" inspect --group-by error --limit 1 -o json | jq -r '.groups[0].error | split(": ")[1]')
matched=$(oban "$DB" inspect --error "$errors" --limit 100000000 -o json | jq '.jobs | length')
echo
echo "| action | jobs | wall, peak memory |"
echo "| --- | --- | --- |"
echo "| \`retry --error '$errors' --all-matching --yes --limit all\` (batches of 500) | $matched | $(once retry --error "$errors" --all-matching --yes --limit all) |"
deleting=$(q "$DB" "SELECT count(*) FROM oban_jobs WHERE state = 'discarded'")
echo "| \`delete --state discarded --all-matching --yes --limit all --batch-size 5000\` | $deleting | $(once delete --state discarded --all-matching --yes --limit all --batch-size 5000) |"
