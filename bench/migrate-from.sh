#!/usr/bin/env bash
# bench/migrate-from.sh: `oban migrate --partitioned --from public` on a seeded oban-py table.
# Three runs on copies of one seeded database: (a) the seed as it is (about a fifth of its jobs
# open), nothing else writing; (b) the same while a writer plays the workers: every WRITE_MS
# milliseconds it completes WRITE_ROWS available jobs and inserts as many new ones (psql in a
# loop); (c) like (b) with all but OPEN_LEFT open jobs completed first. Prints a Markdown table:
# copy time and rate, batches, rows re-copied, rows copied by the switch and the milliseconds
# it held the old table's lock, and the wall time of the whole command; each run checks that
# the new table holds exactly the old table's rows.
# Knobs: BENCH_JOBS (default 1000000), BATCH (default 10000), OPEN_LEFT (default 50000),
# WRITE_ROWS (default 20), WRITE_MS (default 20).
# Creates and drops databases named oban_from_*; uses target/release/oban, building it when
# missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/common.sh
needs psql jq
JOBS=${BENCH_JOBS:-1000000}
BATCH=${BATCH:-10000}
OPEN_LEFT=${OPEN_LEFT:-50000}
WRITE_ROWS=${WRITE_ROWS:-20}
WRITE_MS=${WRITE_MS:-20}
OBAN=target/release/oban
[[ -x $OBAN ]] || cargo build --release >&2
SEED=oban_from_seed
WRITER=
trap '[[ -n $WRITER ]] && kill $WRITER 2>/dev/null; for d in $SEED oban_from_a oban_from_b oban_from_c; do drop_db $d; done' EXIT
drop_db $SEED
q postgres "CREATE DATABASE $SEED"
oban $SEED migrate -q
log "seeding $JOBS jobs"
oban $SEED seed -q --seed 1 --jobs "$JOBS"
q $SEED "VACUUM ANALYZE oban_jobs"
echo "| run | open jobs | writer | copy (s) | rows/s | batches | re-copied | switch rows | switch lock (ms) | wall (s) |"
echo "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
run() {
  local name=$1 db=oban_from_$1; shift
  drop_db "$db"; q postgres "CREATE DATABASE $db TEMPLATE $SEED"
  if [[ $name == c ]]; then
    q "$db" "UPDATE oban_jobs SET state = 'completed', completed_at = timezone('UTC', now()) - interval '1 hour'
             WHERE id IN (SELECT id FROM oban_jobs WHERE state NOT IN ('completed', 'cancelled', 'discarded')
                          ORDER BY id OFFSET $OPEN_LEFT)"
    q "$db" "VACUUM ANALYZE oban_jobs"
  fi
  local open; open=$(q "$db" "SELECT count(*) FROM oban_jobs WHERE state NOT IN ('completed', 'cancelled', 'discarded')")
  q "$db" "CHECKPOINT"
  log "run $name: $open open jobs"
  local writes=none
  if [[ $name != a ]]; then
    writes="$WRITE_ROWS done + $WRITE_ROWS new / ${WRITE_MS} ms"
    # The writer stops by itself once oban_jobs is the partitioned table.
    ( while [[ $(q "$db" "SELECT relkind FROM pg_class WHERE oid = 'oban_jobs'::regclass") == r ]]; do
        # One transaction: the lock first, so a write never lands in the new table alone.
        q "$db" "LOCK TABLE oban_jobs IN ROW EXCLUSIVE MODE; DO \$\$ BEGIN
                 IF (SELECT relkind FROM pg_class WHERE oid = 'oban_jobs'::regclass) = 'r' THEN
                   UPDATE oban_jobs SET state = 'completed', completed_at = timezone('UTC', now())
                    WHERE id IN (SELECT id FROM oban_jobs WHERE state = 'available' LIMIT $WRITE_ROWS);
                   INSERT INTO oban_jobs (worker, args) SELECT 'bench.New', '{}' FROM generate_series(1, $WRITE_ROWS);
                 END IF; END \$\$" >/dev/null 2>&1 || true
        sleep "$(awk -v m="$WRITE_MS" 'BEGIN { print m / 1000 }')"
      done ) &
    WRITER=$!
    sleep 1
  fi
  local t0 t1 r; t0=$(date +%s.%N)
  r=$(oban "$db" migrate --partitioned --from public --batch-size "$BATCH" -o json "$@")
  t1=$(date +%s.%N)
  if [[ -n $WRITER ]]; then wait "$WRITER" || true; WRITER=; fi
  local wall; wall=$(awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.1f", a - b }')
  local copied batches recopied moved lock
  copied=$(jq -r .copied <<<"$r"); batches=$(jq -r .batches <<<"$r"); recopied=$(jq -r .recopied <<<"$r")
  moved=$(jq -r .switch_rows <<<"$r"); lock=$(jq -r '.switch_lock_ms | . * 10 | round / 10' <<<"$r")
  [[ $(jq -r .switched <<<"$r") == true ]] || { echo "bench: run $name did not switch: $r" >&2; exit 1; }
  # The writer's later statements went to the new table; compare up to the old table's ids.
  local diff; diff=$(q "$db" "SELECT count(*) FROM (
      (SELECT * FROM oban_jobs_unpartitioned EXCEPT ALL SELECT * FROM oban_jobs WHERE id <= (SELECT max(id) FROM oban_jobs_unpartitioned))
      UNION ALL
      (SELECT * FROM oban_jobs WHERE id <= (SELECT max(id) FROM oban_jobs_unpartitioned) EXCEPT ALL SELECT * FROM oban_jobs_unpartitioned)) d")
  [[ $diff == 0 ]] || { echo "bench: run $name: $diff rows differ between the old and the new table" >&2; exit 1; }
  # The copy is the wall time less the switch (creating the table and leaves is included).
  local copy; copy=$(awk -v w="$wall" -v l="$lock" 'BEGIN { printf "%.1f", w - l / 1000 }')
  local rate; rate=$(awk -v c="$copied" -v s="$copy" 'BEGIN { printf "%.0f", c / s }')
  echo "| ($name) | $open | $writes | $copy | $rate | $batches | $recopied | $moved | $lock | $wall |"
}
run a
run b
run c
