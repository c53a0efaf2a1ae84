#!/usr/bin/env bash
# bench/migrate-from.sh: `oban migrate --partitioned --from public` on a seeded oban-py table.
# Two runs on copies of one seeded database: (a) the seed as it is (about a fifth of its jobs
# open, so --max-switch-rows is raised to let the switch take them all), (b) the same table
# with all but OPEN_LEFT open jobs completed first (the switch at the default limit). Prints a
# Markdown table: copy time and rate, batches, rows re-copied, rows moved by the switch and the
# milliseconds it held the old table's lock, and the wall time of the whole command.
# Knobs: BENCH_JOBS (default 1000000), BATCH (default 10000), OPEN_LEFT (default 50000).
# Creates and drops databases named oban_from_*; uses target/release/oban, building it when
# missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
needs psql jq
JOBS=${BENCH_JOBS:-1000000}
BATCH=${BATCH:-10000}
OPEN_LEFT=${OPEN_LEFT:-50000}
OBAN=target/release/oban
[[ -x $OBAN ]] || cargo build --release >&2
SEED=oban_from_seed
trap 'for d in $SEED oban_from_a oban_from_b; do drop_db $d; done' EXIT
drop_db $SEED
q postgres "CREATE DATABASE $SEED"
oban $SEED migrate -q
log "seeding $JOBS jobs"
oban $SEED seed -q --seed 1 --jobs "$JOBS"
q $SEED "VACUUM ANALYZE oban_jobs"
echo "| run | open jobs | copy (s) | rows/s | batches | re-copied | switch rows | switch lock (ms) | wall (s) |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
run() {
  local name=$1 db=oban_from_$1; shift
  drop_db "$db"; q postgres "CREATE DATABASE $db TEMPLATE $SEED"
  if [[ $name == b ]]; then
    q "$db" "UPDATE oban_jobs SET state = 'completed', completed_at = timezone('UTC', now()) - interval '1 hour'
             WHERE id IN (SELECT id FROM oban_jobs WHERE state NOT IN ('completed', 'cancelled', 'discarded')
                          ORDER BY id OFFSET $OPEN_LEFT)"
    q "$db" "VACUUM ANALYZE oban_jobs"
  fi
  local open; open=$(q "$db" "SELECT count(*) FROM oban_jobs WHERE state NOT IN ('completed', 'cancelled', 'discarded')")
  q "$db" "CHECKPOINT"
  log "run $name: $open open jobs"
  local t0 t1 r; t0=$(date +%s.%N)
  r=$(oban "$db" migrate --partitioned --from public --batch-size "$BATCH" -o json "$@")
  t1=$(date +%s.%N)
  local wall; wall=$(awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.1f", a - b }')
  local copied batches recopied moved lock
  copied=$(jq -r .copied <<<"$r"); batches=$(jq -r .batches <<<"$r"); recopied=$(jq -r .recopied <<<"$r")
  moved=$(jq -r .switch_rows <<<"$r"); lock=$(jq -r '.switch_lock_ms | . * 10 | round / 10' <<<"$r")
  [[ $(jq -r .switched <<<"$r") == true ]] || { echo "bench: run $name did not switch: $r" >&2; exit 1; }
  local total; total=$(q "$db" "SELECT count(*) FROM oban_jobs")
  local old; old=$(q "$db" "SELECT count(*) FROM oban_jobs_unpartitioned")
  [[ $total == "$old" ]] || { echo "bench: $total rows moved, $old in the old table" >&2; exit 1; }
  # The copy is the wall time less the switch (creating the table and leaves is included).
  local copy; copy=$(awk -v w="$wall" -v l="$lock" 'BEGIN { printf "%.1f", w - l / 1000 }')
  local rate; rate=$(awk -v c="$copied" -v s="$copy" 'BEGIN { printf "%.0f", c / s }')
  echo "| ($name) | $open | $copy | $rate | $batches | $recopied | $moved | $lock | $wall |"
}
run a --max-switch-rows 1000000
run b
