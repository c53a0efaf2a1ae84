#!/usr/bin/env bash
# bench/workload.sh: does a prune slow down the workers? Runs an Oban-like fetch/ack workload
# with pgbench (4 clients: fetch one available job with SKIP LOCKED, ack it, insert a new one)
# on a seeded table, once alone and once while `oban prune` drains the table, and reports the
# p50/p99 transaction latency of the workload in each case (for the prune runs, only the
# transactions that started while prune was running). Markdown summary on stdout.
#
#   bench/workload.sh > /tmp/workload.md
#
# Knobs: BENCH_DSN_BASE, BENCH_JOBS (default 2000000), BENCH_SECONDS (baseline duration,
# default 10), BENCH_GENTLE (flags of the paced prune runs after the two unpaced ones,
# several separated by ';', default "--batch-size 1000 --pause 10ms"). Needs psql and pgbench. Creates and drops oban_load_* databases.
set -euo pipefail
cd "$(dirname "$0")/.."

. bench/common.sh
JOBS=${BENCH_JOBS:-2000000}
SECONDS_RUN=${BENCH_SECONDS:-10}
OBAN=$PWD/target/release/oban
TPL=oban_load_template RUN=oban_load_run
TMP=$(mktemp -d)

needs psql pgbench
[[ -x $OBAN ]] || cargo build --release >&2

cleanup() { drop_db "$RUN" >/dev/null 2>&1 || true; drop_db "$TPL" >/dev/null 2>&1 || true; rm -rf "$TMP"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

cat > "$TMP/oban.sql" <<'SQL'
BEGIN;
UPDATE oban_jobs SET state = 'executing', attempt = attempt + 1,
  attempted_at = timezone('UTC', now()), attempted_by = ARRAY['bench', 'producer']
  WHERE id = (SELECT id FROM oban_jobs WHERE state = 'available' AND queue = 'default'
              ORDER BY priority, scheduled_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
  RETURNING id AS job \gset
COMMIT;
UPDATE oban_jobs SET state = 'completed', completed_at = timezone('UTC', now()) WHERE id = :job;
INSERT INTO oban_jobs (worker, queue, args) VALUES ('app.workers.Bench', 'default', '{"n": 1}');
SQL

fresh_copy() {
  drop_db "$RUN"
  q postgres "CREATE DATABASE $RUN TEMPLATE $TPL"
  q "$RUN" "ANALYZE oban_jobs"
  q "$RUN" "CHECKPOINT"
}

# workload SECONDS: pgbench with a per-transaction log; prints nothing, logs into $TMP/log.*
workload() {
  rm -f "$TMP"/log.*
  (cd "$TMP" && pgbench -n -c 4 -j 2 -T "$1" -f oban.sql -l --log-prefix=log "$DSN_BASE/$RUN" > pgbench.out 2>&1)
}

# stats FROM TO: p50, p99 (ms) and count of transactions that started between epoch FROM and TO.
stats() {
  # log line: client tx latency_us script epoch_s epoch_us (the time the transaction ended)
  cat "$TMP"/log.* | awk -v from="$1" -v to="$2" '{
      end = $5 + $6 / 1e6; start = end - $3 / 1e6
      if (start >= from && start <= to) print $3 / 1000 }' | sort -g > "$TMP/lat"
  local n; n=$(wc -l < "$TMP/lat")
  awk -v n="$n" 'NR == int(n * 0.5 + 0.5) { p50 = $1 } NR == int(n * 0.99 + 0.5) { p99 = $1 }
    END { printf "%.2f %.2f %d", p50, p99, n }' "$TMP/lat"
}

log "seeding $JOBS jobs"
q postgres "CREATE DATABASE $TPL"
"$OBAN" -d "$DSN_BASE/$TPL" migrate -q
"$OBAN" -d "$DSN_BASE/$TPL" seed --jobs "$JOBS" --seed 1 -q
q "$TPL" "VACUUM ANALYZE oban_jobs"

declare -a ROWS
log "baseline workload, ${SECONDS_RUN}s"
fresh_copy
t0=$(date +%s.%N); workload "$SECONDS_RUN"; t1=$(date +%s.%N)
read -r p50 p99 n <<<"$(stats "$t0" "$t1")"
BASE99=$p99
ROWS+=("| workload alone | $p50 | $p99 | $n | — |")

# Each prune run: its flags beyond --limit. The last (BENCH_GENTLE) is the gentler setting an
# operator can choose when the database has no idle core: smaller batches and a pause.
GENTLE=${BENCH_GENTLE:---batch-size 1000 --pause 10ms}
IFS=';' read -ra PACED <<<"$GENTLE"
RUNS=("--connections 1" "--connections 2" "${PACED[@]}")
for flags in "${RUNS[@]}"; do
  log "workload while oban prune $flags drains the table"
  fresh_copy
  workload $((SECONDS_RUN * 6)) & wl=$! # outlasts the slowest (paused) drain
  sleep 2
  p0=$(date +%s.%N)
  # shellcheck disable=SC2086
  "$OBAN" -d "$DSN_BASE/$RUN" prune --limit 100000000 $flags -o json > "$TMP/prune.json"
  p1=$(date +%s.%N)
  wait "$wl"
  read -r p50 p99 n <<<"$(stats "$p0" "$p1")"
  deleted=$(sed -n 's/.*"total":\([0-9]*\).*/\1/p' "$TMP/prune.json" | head -1)
  [[ -n $deleted ]] || deleted=$(tr -d ' \n' < "$TMP/prune.json" | sed -n 's/.*"total":\([0-9]*\).*/\1/p')
  secs=$(awk -v a="$p1" -v b="$p0" 'BEGIN { printf "%.1f", a - b }')
  ROWS+=("| during \`oban prune $flags\` ($deleted rows in $secs s) | $p50 | $p99 | $n | $(awk -v a="$p99" -v b="$BASE99" 'BEGIN { printf "%.2f×", a / b }') |")
done

cat <<MD
### Workload latency beside a prune — $(date -u +%Y-%m-%d)

Command: \`BENCH_JOBS=$JOBS BENCH_SECONDS=$SECONDS_RUN BENCH_GENTLE="$GENTLE" bench/workload.sh\`; $(nproc) cores, PostgreSQL
$(q postgres "SHOW server_version" | cut -d' ' -f1). pgbench, 4 clients, each transaction: fetch one available job of
queue \`default\` with \`FOR UPDATE SKIP LOCKED\` and mark it executing (its own transaction), ack it
completed, insert a new job. Latencies of whole pgbench transactions (three statements).

| run | p50 ms | p99 ms | transactions | p99 vs alone (target ≤ 2×) |
| --- | ---: | ---: | ---: | ---: |
$(printf '%s\n' "${ROWS[@]}")
MD
