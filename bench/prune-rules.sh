# bench/prune-rules.sh: retention rules' keep_last in bench/prune.sh (sourced by it, after the
# ordinary table is seeded in $TPL; BENCH_RULES=only runs this part alone). Each contender runs
# on a fresh copy of the template:
#   (r1) keep the newest $KEEP final jobs of queue events (`--queue events --rule
#        'queue=events,keep_last=N'`);
#   (r2) keep the newest $KEEP completed jobs (`--state completed --rule
#        'state=completed,keep_last=N'`): most of the table goes.
# Each records rows deleted, seconds, rows/s and the seconds the rule's mark took (JSON
# "mark_seconds": read once per pass, before any delete), and checks that exactly N jobs of the
# group are left. The mark's plan for (r2) is printed (EXPLAIN ANALYZE of the statement the
# tool runs), to show it is an index walk and not a sort of the whole group.

KEEP=${BENCH_KEEP:-100000}
declare -A R_ROWS R_SECS R_MARK R_METHOD R_GROUP
R_LABELS=()
# rdrain LABEL GROUP_SQL ARGS...: oban prune ARGS on a fresh copy; GROUP_SQL is the rule's
# group as a WHERE clause, counted before and after.
rdrain() {
  local label=$1 group=$2; shift 2
  fresh_copy
  local before after json
  before=$(q "$RUN" "SELECT count(*) FROM oban_jobs WHERE $group")
  log "rules: $label ($before jobs in the group)"
  json=$(oban "$RUN" prune --limit "$HUGE" -o json "$@")
  after=$(q "$RUN" "SELECT count(*) FROM oban_jobs WHERE $group")
  local want=$((before < KEEP ? before : KEEP))
  [[ $after == "$want" ]] || { echo "bench: $label left $after jobs of its group, not $want" >&2; exit 1; }
  [[ $(jq .total <<<"$json") == $((before - after)) ]] || { echo "bench: $label: report and table differ" >&2; exit 1; }
  R_ROWS[$label]=$(jq .total <<<"$json")
  R_SECS[$label]=$(jq .elapsed <<<"$json")
  R_MARK[$label]=$(jq '.rules[0].mark_seconds' <<<"$json")
  R_METHOD[$label]=$(jq -r '.method // "index"' <<<"$json")
  R_GROUP[$label]=$before
  R_LABELS+=("$label")
  log "  ${R_ROWS[$label]} rows in ${R_SECS[$label]} s (mark ${R_MARK[$label]} s)"
}

FINAL="state IN ('completed', 'cancelled', 'discarded')"
rdrain "(r1) keep_last $KEEP, queue events" "queue = 'events' AND $FINAL" \
  --queue events --rule "queue=events,keep_last=$KEEP"
rdrain "(r2) keep_last $KEEP, completed" "state = 'completed'" \
  --state completed --rule "state=completed,keep_last=$KEEP"
# The mark of (r2) as the tool reads it, on the untouched template.
R_PLAN=$(q "$TPL" "EXPLAIN (ANALYZE, COSTS OFF) SELECT to_char(t, 'YYYY-MM-DD\"T\"HH24:MI:SS.US') AS at, id
  FROM ((SELECT completed_at AS t, id FROM oban_jobs WHERE state = 'completed' AND completed_at IS NOT NULL
         AND (1 = 1 AND CAST(state AS text) IN ('completed')) ORDER BY completed_at DESC, id DESC LIMIT $KEEP)) u
  ORDER BY t DESC, id DESC LIMIT 1 OFFSET $((KEEP - 1))")
drop_db "$RUN"

rules_summary() {
  echo "| retention rule (\`--batch-size\` 10000, one connection) | jobs in the group | rows deleted | seconds | rows/s | mark (s) | method |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | --- |"
  local label
  for label in "${R_LABELS[@]}"; do
    echo "| $label | ${R_GROUP[$label]} | ${R_ROWS[$label]} | ${R_SECS[$label]} | $(div "${R_ROWS[$label]}" "${R_SECS[$label]}" | cut -d. -f1) | ${R_MARK[$label]} | ${R_METHOD[$label]} |"
  done
  echo
  echo "The mark of (r2) (EXPLAIN ANALYZE on the template):"
  echo
  echo '```text'
  echo "$R_PLAN"
  echo '```'
  echo
}
