# bench/prune-partitioned.sh: the partitioned part of bench/prune.sh (sourced by it, after the
# ordinary table is seeded in $TPL). The same jobs are copied into the partitioned layout
# (bench/partitioned.sql); each contender runs on a fresh copy of that database:
#   (e) oban prune with the cutoff at yesterday's midnight: every eligible row sits in a leaf
#       that goes whole (detach concurrently, count, drop);
#   (f) one unbatched DELETE of the same rows on the same layout;
#   (g) (e) with --archive (rows streamed to the file and synced before each leaf goes);
#   (h) oban prune at the default max age of 1 day: whole leaves plus the straddling leaf in
#       batches;
#   (i) oban prune on the ordinary table with the cutoff of (e): the batched drain of the same
#       rows, for comparison.

log "partitioned layout: copying the seeded jobs into $PTPL"
q postgres "CREATE DATABASE $PTPL TEMPLATE $TPL"
t0=$(now)
PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -d "$DSN_BASE/$PTPL" \
  -f bench/partitioned.sql >/dev/null
P_BUILD=$(sub "$(now)" "$t0")
P_LEAVES=$(q "$PTPL" "SELECT count(*) FROM pg_partition_tree('part.oban_jobs') WHERE isleaf")
P_SIZE=$(q "$PTPL" "SELECT pg_size_pretty(sum(pg_total_relation_size(relid))) FROM pg_partition_tree('part.oban_jobs')")
log "  $P_BUILD s; $P_LEAVES leaves; $P_SIZE"

MIDNIGHT="(date_trunc('day', timezone('UTC', now())) - interval '1 day')"
# A max age (whole seconds) whose cutoff falls at or just after yesterday's midnight.
midnight_age() { q "$1" "SELECT floor(extract(epoch FROM timezone('UTC', now()) - $MIDNIGHT))::int8"; }

declare -A P_ROWS P_SECS P_LEAF P_WAL
P_LABELS=()
# pdrain LABEL TEMPLATE TABLE CUTOFF CMD...: times CMD on a fresh copy of TEMPLATE, checks that
# no row of TABLE older than CUTOFF (SQL) is left, records rows gone and leaves dropped.
pdrain() {
  local label=$1 tpl=$2 table=$3 cutoff=$4; shift 4
  drop_db "$RUN"
  q postgres "CREATE DATABASE $RUN TEMPLATE $tpl"
  q "$RUN" "ANALYZE $table"
  q "$RUN" "CHECKPOINT"
  local before cut t0 t1 left lsn0
  before=$(q "$RUN" "SELECT count(*) FROM $table")
  cut=$(q "$RUN" "SELECT $cutoff")
  log "drain: $label"
  echo '{}' > "$TMP/p.json"
  lsn0=$(lsn); t0=$(now); "$@"; t1=$(now)
  P_WAL[$label]=$(q postgres "SELECT pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '$lsn0'))")
  left=$(q "$RUN" "SELECT count(*) FROM $table WHERE $(eligible "'$cut'::timestamp")")
  [[ $left == 0 ]] || { echo "bench: $label left $left eligible rows" >&2; exit 1; }
  P_ROWS[$label]=$((before - $(q "$RUN" "SELECT count(*) FROM $table")))
  P_SECS[$label]=$(sub "$t1" "$t0")
  P_LEAF[$label]=$(jq '.partitions_dropped // [] | length' "$TMP/p.json")
  local total; total=$(jq '.total // empty' "$TMP/p.json")
  [[ -z $total || $total == "${P_ROWS[$label]}" ]] \
    || { echo "bench: $label reported $total, table lost ${P_ROWS[$label]}" >&2; exit 1; }
  P_LABELS+=("$label")
  log "  ${P_ROWS[$label]} rows in ${P_SECS[$label]} s, ${P_LEAF[$label]} leaves dropped"
}
p_prune() { # $1: prefix, then prune's own arguments
  local prefix=$1; shift
  oban "$RUN" --prefix "$prefix" prune --limit "$HUGE" -o json "$@" > "$TMP/p.json"
}
p_prune_midnight() { local prefix=$1; shift; p_prune "$prefix" --max-age "$(midnight_age "$RUN")" "$@"; }
p_unbatched() { q "$RUN" "DELETE FROM part.oban_jobs WHERE $(eligible "$MIDNIGHT")"; }
p_archive() {
  rm -f "$ARCHIVE"
  p_prune_midnight part --archive "$ARCHIVE"
  [[ $(wc -l < "$ARCHIVE") == $(jq .total "$TMP/p.json") ]] \
    || { echo "bench: archive lines differ from rows dropped" >&2; exit 1; }
}

E="(e) oban prune, partitioned, cutoff at midnight (whole leaves)"
F="(f) one unbatched DELETE, partitioned, same rows"
G="(g) (e) with --archive"
H="(h) oban prune, partitioned, max age 1 day (leaves + batches)"
I="(i) oban prune, ordinary table, cutoff at midnight (batches)"
pdrain "$E" "$PTPL" part.oban_jobs "$MIDNIGHT" p_prune_midnight part
pdrain "$F" "$PTPL" part.oban_jobs "$MIDNIGHT" p_unbatched
pdrain "$G" "$PTPL" part.oban_jobs "$MIDNIGHT" p_archive
pdrain "$H" "$PTPL" part.oban_jobs "$NOW_CUT" p_prune part
pdrain "$I" "$TPL" public.oban_jobs "$MIDNIGHT" p_prune_midnight public
drop_db "$RUN"

partitioned_summary() {
  cat <<EOF
#### Partitioned layout

- the same $JOBS jobs copied into the partitioned layout (\`bench/partitioned.sql\`) in $P_BUILD s: $P_LEAVES leaves, $P_SIZE with indexes

| contender | rows deleted | leaves dropped | seconds | s per leaf | rows/s | WAL written |
| --- | ---: | ---: | ---: | ---: | ---: | ---: |
EOF
  local label per
  for label in "${P_LABELS[@]}"; do
    per="-"
    ((P_LEAF[$label] > 0)) && per=$(div "${P_SECS[$label]}" "${P_LEAF[$label]}")
    echo "| $label | ${P_ROWS[$label]} | ${P_LEAF[$label]} | ${P_SECS[$label]} | $per | $(div "${P_ROWS[$label]}" "${P_SECS[$label]}" | cut -d. -f1) | ${P_WAL[$label]} |"
  done
  echo
  echo "- (e) against (f), the unbatched DELETE of the same rows: $(div "${P_SECS[$F]}" "${P_SECS[$E]}")× faster (target ≥ 100×); against (i), the batched drain of the same rows on an ordinary table: $(div "${P_SECS[$I]}" "${P_SECS[$E]}")× faster"
  echo
}
