#!/usr/bin/env bash
# bench/prune.sh: how fast `oban prune` drains a large oban-py jobs table on PostgreSQL,
# against oban-py's own prune statement and one unbatched DELETE; what an idle pass costs;
# how much memory an archiving pass needs; and, on the same jobs in the partitioned layout
# (bench/partitioned.sql), dropping whole-day leaves against one unbatched DELETE of the same
# rows; and retention rules' keep_last (bench/prune-rules.sh). Progress goes to stderr; a
# Markdown summary (paste it into BENCHMARKS.md) goes to stdout.
#
#   bench/prune.sh > /tmp/summary.md
#   BENCH_RULES=only BENCH_JOBS=5000000 bench/prune.sh   # keep_last alone
#   BENCH_JOBS=200000 bench/prune.sh          # a quick run while developing
#
# Knobs: BENCH_DSN_BASE (server URL without a database), BENCH_JOBS (jobs seeded),
# BENCH_SHAPE (the population: `seed`, oban seed's; `wide`, bench/stats-population.sql's wider
# rows in five queues with ids in time order; `no-completed-index`, oban seed's without the
# completed_at index, as Elixir Oban's tables are, with Elixir Oban's pruner statement as (e)), BENCH_LIMIT (rows per pass/batch of the
# oban-py statement), BENCH_A_CAP (seconds after which
# the oban-py statement's loop stops, default 900: it slows down as it goes, so its rate over
# the part it did is an upper bound of its rate over the whole drain), BENCH_BATCH_SIZES (oban prune
# --batch-size values, each timed with one connection and with --connections 2; the first is
# the one timed when idle), BENCH_ORDINARY=0 (skip the ordinary table's runs, keeping its
# seed, for the partitioned runs alone), BENCH_PARTITIONED=0 (skip those), BENCH_RULES=0 (skip
# the keep_last runs of bench/prune-rules.sh; BENCH_RULES=only runs them alone, with
# BENCH_KEEP the N kept, default 100000), BENCH_RSS_FROM_PROC=1 (read peak
# memory from /proc even when /usr/bin/time exists). Needs psql and jq. Creates and drops
# databases named oban_bench_*; uses target/release/oban, building it only when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

. bench/common.sh
JOBS=${BENCH_JOBS:-2000000}
SHAPE=${BENCH_SHAPE:-seed}
LIMIT=${BENCH_LIMIT:-20000}
A_CAP=${BENCH_A_CAP:-900}
BATCH_SIZES=(${BENCH_BATCH_SIZES:-10000 20000})
OBAN=target/release/oban
TPL=oban_bench_template RUN=oban_bench_run SMALL=oban_bench_small PTPL=oban_bench_ptemplate
ORDINARY=${BENCH_ORDINARY:-1} PARTITIONED=${BENCH_PARTITIONED:-1} RULES=${BENCH_RULES:-1}
if [[ $RULES == only ]]; then ORDINARY=0 PARTITIONED=0 RULES=1; fi
ARCHIVE=/tmp/oban-bench-archive.jsonl
HUGE=100000000
TMP=$(mktemp -d)

needs psql jq

now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

drop_all() { local db; for db in "$RUN" "$SMALL" "$TPL" "$PTPL"; do drop_db "$db" >/dev/null 2>&1 || true; done; }
cleanup() { drop_all; rm -rf "$TMP" "$ARCHIVE"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# Rows eligible at the default max age, each final state judged by its own timestamp.
eligible() { # $1: SQL expression for the cutoff
  echo "(state = 'completed' AND completed_at <= $1) OR (state = 'cancelled' AND cancelled_at <= $1) OR (state = 'discarded' AND discarded_at <= $1)"
}
NOW_CUT="timezone('UTC', now()) - interval '1 day'"

# seed DB N: a migrated, filled, vacuumed database in the shape BENCH_SHAPE asks for; prints
# the seconds the filling took.
seed() {
  q postgres "CREATE DATABASE $1"
  oban "$1" migrate -q
  local t0; t0=$(now)
  case $SHAPE in
    seed|no-completed-index) oban "$1" seed --jobs "$2" --seed 1 -q ;;
    wide) sed -e "s/{rows}/$2/g" -e 's/{jobs}/public.oban_jobs/g' \
              -e 's/{state_type}/public.oban_job_state/g' -e 's/{errors_open}//g' \
              -e 's/{errors_close}//g' bench/stats-population.sql |
            PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -d "$DSN_BASE/$1" ;;
    *) echo "bench: BENCH_SHAPE is seed, wide or no-completed-index" >&2; exit 2 ;;
  esac
  sub "$(now)" "$t0"
  # Elixir Oban's tables have no completed_at index; the rest of the shape matters less here.
  [[ $SHAPE != no-completed-index ]] || q "$1" "DROP INDEX oban_jobs_completed_at_index"
  q "$1" "VACUUM ANALYZE oban_jobs"
}

# A fresh copy of the template, analyzed, with a checkpoint so no contender pays for
# another's dirty buffers.
fresh_copy() {
  drop_db "$RUN"
  q postgres "CREATE DATABASE $RUN TEMPLATE $TPL"
  q "$RUN" "ANALYZE oban_jobs"
  q "$RUN" "CHECKPOINT"
}

declare -A ROWS SECS WAL WAL_BYTES LEFT HOW
TOTAL=0
LABELS=()
lsn() { q postgres "SELECT pg_current_wal_insert_lsn()"; }
# drain LABEL CMD...: times CMD on a fresh copy, checks that no row eligible at the start is
# left, and records the rows that went. Leaves the copy in place for the caller.
drain() {
  local label=$1; shift
  fresh_copy
  local cut before t0 t1 left lsn0
  cut=$(q "$RUN" "SELECT $NOW_CUT")
  before=$(q "$RUN" "SELECT count(*) FROM oban_jobs")
  log "drain: $label"
  lsn0=$(lsn); t0=$(now); "$@"; t1=$(now)
  WAL[$label]=$(q postgres "SELECT pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '$lsn0'))")
  WAL_BYTES[$label]=$(q postgres "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '$lsn0')")
  left=$(q "$RUN" "SELECT count(*) FROM oban_jobs WHERE $(eligible "'$cut'::timestamp")")
  if [[ $label == "(a)"* || $label == "(e)"* ]]; then
    LEFT[$label]=$left # the capped loop may stop early; it reports what it left
  else
    [[ $left == 0 ]] || { echo "bench: $label left $left eligible rows" >&2; exit 1; }
  fi
  ROWS[$label]=$((before - $(q "$RUN" "SELECT count(*) FROM oban_jobs")))
  SECS[$label]=$(sub "$t1" "$t0")
  LABELS+=("$label")
  log "  ${ROWS[$label]} rows in ${SECS[$label]} s"
}

# (a) oban-py's prune statement, one transaction per batch, until a batch deletes nothing or
# A_CAP seconds have gone by. The cutoff is fixed when the loop starts, as it is for one pass of
# oban prune: each COMMIT starts a new transaction with a new now(), and with a moving cutoff
# the loop would keep finding the few jobs that have just aged past it and never end.
oban_py_loop() {
  q "$RUN" "DO \$\$ DECLARE n bigint; stop timestamptz := clock_timestamp() + interval '$A_CAP seconds';
    cut timestamp := $NOW_CUT;
    BEGIN LOOP
      DELETE FROM oban_jobs WHERE id IN (SELECT id FROM oban_jobs
        WHERE $(eligible "cut") ORDER BY id LIMIT $LIMIT);
      GET DIAGNOSTICS n = ROW_COUNT; COMMIT; EXIT WHEN n = 0 OR clock_timestamp() > stop;
    END LOOP; END \$\$"
}
# (e) Elixir Oban's pruner statement (its Basic engine's prune_jobs), for the Elixir-shaped
# table: completed jobs judged by scheduled_at, cancelled and discarded by their own
# timestamps, no ORDER BY, 10,000 rows per transaction (its default limit), the deleted rows'
# id, queue and state returned; the cutoff fixed when the loop starts, as for (a). It takes a
# few more rows than the others (a completed job scheduled over a day ago that finished
# within the day), so it is compared by rows per second.
ELIXIR_LIMIT=10000
elixir_loop() {
  q "$RUN" "DO \$\$ DECLARE n bigint; stop timestamptz := clock_timestamp() + interval '$A_CAP seconds';
    cut timestamp := $NOW_CUT;
    BEGIN LOOP
      WITH gone AS (DELETE FROM oban_jobs j USING (SELECT id, queue, state FROM oban_jobs
          WHERE ((state = 'completed' AND scheduled_at < cut) OR (state = 'cancelled' AND cancelled_at < cut)
              OR (state = 'discarded' AND discarded_at < cut)) AND queue IS NOT NULL
          LIMIT $ELIXIR_LIMIT) x WHERE j.id = x.id RETURNING x.id, x.queue, x.state)
        SELECT count(*) INTO n FROM gone;
      COMMIT; EXIT WHEN n = 0 OR clock_timestamp() > stop;
    END LOOP; END \$\$"
}
# (b) the ceiling: every eligible row in one statement.
unbatched() { q "$RUN" "DELETE FROM oban_jobs WHERE $(eligible "($NOW_CUT)")"; }
# (c) oban prune, one pass that drains everything; checks its own count against the table's.
oban_prune() { # $1: batch size, $2: connections
  oban "$RUN" prune --limit "$HUGE" --batch-size "$1" --connections "$2" -o json > "$TMP/prune.json"
  TOTAL="$(jq .total "$TMP/prune.json")"
  METHOD="$(jq -r '.method // "index"' "$TMP/prune.json")"
}

# idle_runs: median pass "elapsed" and wall time (ms) of 5 passes that find nothing. The seeded
# jobs keep ageing (a 2M-job seed has ~2 more jobs cross the 1-day line each second), so these
# passes use --max-age 25h: the same index walk over the drained range, and nothing to delete.
idle_runs() {
  local i t0 t1 json
  : > "$TMP/elapsed"; : > "$TMP/wall"
  for i in 1 2 3 4 5; do
    t0=$(now); json=$(oban "$RUN" prune --max-age 25h -o json); t1=$(now)
    [[ $(jq .total <<<"$json") == 0 ]] || { echo "bench: idle pass deleted rows" >&2; exit 1; }
    jq '.elapsed * 1000' <<<"$json" >> "$TMP/elapsed"
    sub "$t1" "$t0" | awk '{ print $1 * 1000 }' >> "$TMP/wall"
  done
  printf '%.1f %.1f' "$(median < "$TMP/elapsed")" "$(median < "$TMP/wall")"
}

# peak_rss DB: archiving drain of DB; prints "max_rss_kb deleted archive_lines".
peak_rss() {
  local rss pid hwm
  rm -f "$ARCHIVE"
  local cmd=("$OBAN" -d "$DSN_BASE/$1" prune --limit "$HUGE" --archive "$ARCHIVE" -q -o json)
  if [[ -x /usr/bin/time && -z ${BENCH_RSS_FROM_PROC:-} ]]; then
    /usr/bin/time -v -o "$TMP/time.txt" "${cmd[@]}" > "$TMP/arch.json"
    rss=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$TMP/time.txt")
  else # VmHWM only grows, so its last reading before exit is the peak (to within 20 ms)
    "${cmd[@]}" > "$TMP/arch.json" & pid=$!
    rss=0
    while kill -0 "$pid" 2>/dev/null; do # a zombie has a status file but no VmHWM line
      hwm=$(awk '/^VmHWM/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
      rss=${hwm:-$rss}; sleep 0.02
    done
    wait "$pid"
  fi
  echo "$rss $(jq .total "$TMP/arch.json") $(wc -l < "$ARCHIVE")"
}

# --- 1. template ------------------------------------------------------------------------
[[ -x $OBAN ]] || { log "building $OBAN"; cargo build --release >&2; }
[[ -z $(find src Cargo.toml Cargo.lock -newer "$OBAN" 2>/dev/null) ]] \
  || log "WARNING: $OBAN is older than the sources; run cargo build --release to bench them"
BINARY="$(git describe --always --dirty 2>/dev/null || echo unknown) tree, $OBAN built $(date -u -r "$OBAN" +%FT%TZ)"
drop_all
log "seeding $JOBS jobs into $TPL"
SEED_SECS=$(seed "$TPL" "$JOBS")
ELIGIBLE=$(q "$TPL" "SELECT count(*) FROM oban_jobs WHERE $(eligible "($NOW_CUT)")")
TABLE_SIZE=$(q "$TPL" "SELECT pg_size_pretty(pg_total_relation_size('oban_jobs'))")
log "  $SEED_SECS s; $ELIGIBLE eligible; table with indexes $TABLE_SIZE"

if ((ORDINARY)); then
# --- 2. drains ------------------------------------------------------------------------
drain "(a) oban-py statement, LIMIT $LIMIT" oban_py_loop
drain "(b) one unbatched DELETE" unbatched
if [[ $SHAPE == no-completed-index ]]; then
  drain "(e) Elixir Oban's pruner statement, LIMIT $ELIXIR_LIMIT" elixir_loop
fi
for bs in "${BATCH_SIZES[@]}"; do
  for conns in 1 2; do
    label="(c) oban prune --batch-size $bs"
    ((conns == 1)) || label="(d) oban prune --batch-size $bs --connections 2"
    drain "$label" oban_prune "$bs" "$conns"
    [[ $TOTAL == "${ROWS[$label]}" ]] \
      || { echo "bench: oban reported $TOTAL, table lost ${ROWS[$label]}" >&2; exit 1; }
    HOW[$label]=$METHOD
    if [[ $bs == "${BATCH_SIZES[0]}" && $conns == 1 ]]; then
      # --- 3. idle passes, right after the drain and after VACUUM ------------------------
      log "idle passes after the drain"
      DEAD=$(q "$RUN" "SELECT n_dead_tup FROM pg_stat_user_tables WHERE relname = 'oban_jobs'")
      IDLE=$(idle_runs); read -r IDLE_EL IDLE_WALL <<<"$IDLE"
      q "$RUN" "VACUUM oban_jobs"
      IDLE=$(idle_runs); read -r VAC_EL VAC_WALL <<<"$IDLE"
      log "  after drain ${IDLE_EL} ms (wall ${IDLE_WALL}); after VACUUM ${VAC_EL} ms (wall ${VAC_WALL})"
    fi
  done
done
drop_db "$RUN"

# --- 4. peak memory, archiving ----------------------------------------------------------
log "archiving drain, full size"
fresh_copy
OUT=$(peak_rss "$RUN"); read -r RSS_FULL DEL_FULL LINES_FULL <<<"$OUT"
drop_db "$RUN"
log "archiving drain, $((JOBS / 10)) jobs"
seed "$SMALL" $((JOBS / 10)) >/dev/null
OUT=$(peak_rss "$SMALL"); read -r RSS_SMALL DEL_SMALL LINES_SMALL <<<"$OUT"
drop_db "$SMALL"
for n in "$DEL_FULL:$LINES_FULL" "$DEL_SMALL:$LINES_SMALL"; do
  [[ ${n%:*} == "${n#*:}" ]] || { echo "bench: archive lines differ from rows deleted ($n)" >&2; exit 1; }
done
fi

# --- 6. the partitioned layout (its own file) ---------------------------------------------
((PARTITIONED)) && . bench/prune-partitioned.sh

# --- 7. retention rules: keep_last (its own file) ------------------------------------------
((RULES)) && . bench/prune-rules.sh

# --- 5. summary -------------------------------------------------------------------------
A="(a) oban-py statement, LIMIT $LIMIT" B="(b) one unbatched DELETE"
E="(e) Elixir Oban's pruner statement, LIMIT ${ELIXIR_LIMIT}"
C="(c) oban prune --batch-size ${BATCH_SIZES[0]}"
PGVER=$(q postgres "SHOW server_version")
cat <<EOF
### Run of $(date -u +%Y-%m-%dT%H:%MZ)

- machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM, $(uname -sr); PostgreSQL $PGVER (shared_buffers $(q postgres "SHOW shared_buffers"), autovacuum $(q postgres "SHOW autovacuum"))
- oban: $BINARY
- command: \`BENCH_SHAPE=$SHAPE BENCH_JOBS=$JOBS BENCH_LIMIT=$LIMIT BENCH_A_CAP=$A_CAP BENCH_BATCH_SIZES="${BATCH_SIZES[*]}" BENCH_ORDINARY=$ORDINARY BENCH_PARTITIONED=$PARTITIONED BENCH_RULES=$RULES bench/prune.sh\`
- seed: $JOBS jobs in $SEED_SECS s; $ELIGIBLE eligible at max age 1 day ($(div $((ELIGIBLE * 100)) "$JOBS")%); table with indexes $TABLE_SIZE

EOF
if ((ORDINARY)); then
cat <<EOF
| contender | rows deleted | seconds | rows/s | WAL written | method |
| --- | ---: | ---: | ---: | ---: | --- |
EOF
for label in "${LABELS[@]}"; do
  echo "| $label | ${ROWS[$label]} | ${SECS[$label]} | $(div "${ROWS[$label]}" "${SECS[$label]}" | cut -d. -f1) | ${WAL[$label]} | ${HOW[$label]:-} |"
done
echo
if [[ ${LEFT[$A]} != 0 ]]; then
  echo "- (a) stopped at the ${A_CAP} s cap with ${LEFT[$A]} eligible rows left; it slows as it goes (each batch walks the primary key past every row it cannot delete and every dead one), so its rate over the part it did overstates its rate over the whole drain, and the ratios against it below are lower bounds."
fi
for c in "${LABELS[@]}"; do
  [[ $c == "(c)"* || $c == "(d)"* ]] || continue
  rate_c=$(div "${ROWS[$c]}" "${SECS[$c]}")
  want=0.6; [[ $c == "(d)"* ]] && want=1.0
  echo "- ${c#* }: /(a) = $(div "$rate_c" "$(div "${ROWS[$A]}" "${SECS[$A]}")")×" \
       "(target ≥ 3), /(b) = $(div "$rate_c" "$(div "${ROWS[$B]}" "${SECS[$B]}")")× (target ≥ $want)," \
       "WAL /(b) = $(div "${WAL_BYTES[$c]}" "${WAL_BYTES[$B]}")× (target ≤ 1.15)$(
       [[ -n ${SECS[$E]:-} ]] && echo ", /(e) = $(div "$rate_c" "$(div "${ROWS[$E]}" "${SECS[$E]}")")× (target ≥ 1)")"
done
cat <<EOF

| idle \`oban prune\` (median of 5) | pass "elapsed" | wall (incl. start, connect) | target |
| --- | ---: | ---: | ---: |
| right after draining with $C ($DEAD dead tuples) | $IDLE_EL ms | $IDLE_WALL ms | < 30 ms |
| after \`VACUUM oban_jobs\` | $VAC_EL ms | $VAC_WALL ms | < 5 ms |

| archiving drain (\`--archive\`, batch size ${BATCH_SIZES[0]}) | rows deleted = archive lines | max RSS |
| --- | ---: | ---: |
| $JOBS jobs | $DEL_FULL | $((RSS_FULL / 1024)) MiB ($RSS_FULL kB) |
| $((JOBS / 10)) jobs | $DEL_SMALL | $((RSS_SMALL / 1024)) MiB ($RSS_SMALL kB) |

EOF
fi
((PARTITIONED)) && partitioned_summary
((RULES)) && rules_summary
exit 0
