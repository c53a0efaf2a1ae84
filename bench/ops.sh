#!/usr/bin/env bash
# bench/ops.sh: what the read and repair commands cost on a large oban-py table: a rescue pass
# (timeout and accurate), stats exact against estimated, the first page of inspect per filter,
# and start-up. Progress goes to stderr; a Markdown summary goes to stdout.
#
#   bench/ops.sh > /tmp/ops.md
#   BENCH_JOBS=200000 bench/ops.sh            # a quick run while developing
#
# Knobs: BENCH_DSN_BASE (server URL without a database), BENCH_JOBS (jobs seeded), BENCH_RUNS
# (repetitions; the median is reported), BENCH_DB (measure this database, already seeded with
# `oban seed --jobs N --seed 1` and vacuumed, instead of seeding one: a 20M-job seed takes a
# quarter of an hour; it is left in place, minus the orphans rescue moves). Needs psql and jq.
# Creates and drops databases named oban_ops_*; uses target/release/oban, building it when
# missing.
set -euo pipefail
cd "$(dirname "$0")/.."

. bench/common.sh
JOBS=${BENCH_JOBS:-2000000}
RUNS=${BENCH_RUNS:-5}
OBAN=target/release/oban
DB=${BENCH_DB:-oban_ops_big} SMALL=oban_ops_small

needs psql jq
[[ -x $OBAN ]] || cargo build --release >&2

cleanup() {
  [[ -n ${BENCH_DB:-} ]] || drop_db "$DB" >/dev/null 2>&1 || true
  drop_db "$SMALL" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cleanup
if [[ -n ${BENCH_DB:-} ]]; then
  JOBS=$(q "$DB" "SELECT count(*) FROM oban_jobs")
  SEEDED="$JOBS jobs, seeded beforehand"
else
  log "seeding $JOBS jobs"
  q postgres "CREATE DATABASE $DB"
  oban "$DB" migrate -q
  t0=$(date +%s.%N); oban "$DB" seed --jobs "$JOBS" --seed 1 -q; t1=$(date +%s.%N)
  SEEDED="$JOBS jobs seeded in $(awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.1f", a - b }') s"
  q "$DB" "VACUUM ANALYZE oban_jobs"
fi
SIZE=$(q "$DB" "SELECT pg_size_pretty(pg_total_relation_size('oban_jobs'))")
# Read the table once, so every measurement starts from the same warm OS cache (a cold
# `stats --exact` on 20M jobs outlasts the default 60 s statement timeout).
q "$DB" "SELECT count(*) FROM oban_jobs WHERE attempt >= 0" >/dev/null # no index: reads the heap

declare -a ROWS
row() { ROWS+=("| $1 | $2 |"); log "$1: $2"; }

log "stats"
row "stats, estimated (default), pass" "$(ms "$(inner "$DB" stats)") ms"
row "stats, estimated (default), wall" "$(ms "$(wall "$DB" stats -o json)") ms"
row "stats --exact, pass" "$(ms "$(inner "$DB" stats --exact)") ms"
row "stats --exact, wall" "$(ms "$(wall "$DB" stats --exact -o json)") ms"
EST=$(oban "$DB" stats -o json | jq -r '"\(.estimated | length) of \([.counts[] | length] | add) cells, \(.estimated_figures | length) of \(.queues | length * 8) per-queue figures"')
row "estimated by default" "$EST"

log "stats accuracy"
# Largest relative error of each kind of estimate against --exact, from one run of each.
ACC=$(jq -rn --argjson e "$(oban "$DB" stats -o json)" --argjson x "$(oban "$DB" stats --exact -o json)" '
  def err(a; b): (a - b) as $d | (if $d < 0 then -$d else $d end) / (if b == 0 then 1 else b end);
  def part: capture("^(?<q>.*)/(?<f>[^/]*)$");
  ([$e.estimated[] | part | {k: "cell counts", err: err($e.counts[.q][.f]; $x.counts[.q][.f])}]
   + [$e.estimated_figures[] | part | {k: .f, err: err($e.queues[.q][.f]; $x.queues[.q][.f])}])
  | group_by(.k)[] | "| \(.[0].k) | \(length) | \((map(.err) | max) * 1000 | round / 10)% |"')

log "inspect first page (wall)"
for filter in "--state discarded" "--state executing" "--queue mailers" \
  "--worker app.workers.TrackEvent" "--stuck" "--tag media" "--node web-1" \
  "--args {\"account_id\":7}" "--state completed --older-than 3d" \
  "--state retryable --sort attempted --desc"; do
  # shellcheck disable=SC2086
  row "inspect $filter" "$(ms "$(wall "$DB" inspect $filter)") ms"
done
row "inspect ID (detail)" "$(ms "$(wall "$DB" inspect 1000)") ms"

log "rescue"
ORPHANS=$(q "$DB" "SELECT count(*) FROM oban_jobs WHERE state = 'executing' AND attempted_at < timezone('UTC', now()) - interval '300 seconds'")
row "rescue --dry-run (${ORPHANS} orphans), pass" "$(ms "$(inner "$DB" rescue --dry-run)") ms"
row "rescue --accurate --dry-run, pass" "$(ms "$(inner "$DB" rescue --accurate --dry-run)") ms"
t_rescue=$(oban "$DB" rescue -o json | jq -r '"\(.elapsed) \(.rescued + .discarded)"')
row "rescue (timeout mode), pass moving $(cut -d' ' -f2 <<<"$t_rescue") jobs" "$(ms "$(cut -d' ' -f1 <<<"$t_rescue")") ms"
row "rescue with nothing to do, pass" "$(ms "$(inner "$DB" rescue)") ms"

log "start-up"
q postgres "CREATE DATABASE $SMALL"
oban "$SMALL" migrate -q
oban "$SMALL" seed --jobs 1000 -q
row "oban --version, wall" "$(ms "$(for _ in $(seq "$RUNS"); do t0=$(date +%s.%N); "$OBAN" --version >/dev/null; t1=$(date +%s.%N); awk -v a="$t1" -v b="$t0" 'BEGIN { print a - b }'; done | median)") ms"
row "stats on 1,000 jobs, wall (start, connect, query, exit)" "$(ms "$(wall "$SMALL" stats)") ms"

cat <<MD
### Read and repair commands — $(date -u +%Y-%m-%d)

Command: \`$([[ -n ${BENCH_DB:-} ]] && echo "BENCH_DB=$DB" || echo "BENCH_JOBS=$JOBS") bench/ops.sh\` on $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB,
$(q postgres "SHOW server_version" | cut -d' ' -f1) PostgreSQL. $SEEDED (table with indexes: $SIZE),
vacuumed and analyzed. Medians of $RUNS runs; "pass" is the command's own \`elapsed\`
(no process start or connect), "wall" the whole process.

| measurement | result |
| --- | --- |
$(printf '%s\n' "${ROWS[@]}")

Estimates against \`stats --exact\` (one run of each; largest error over the queues):

| estimate | how many | largest error |
| --- | ---: | ---: |
$ACC
MD
