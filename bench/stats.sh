#!/usr/bin/env bash
# bench/stats.sh: what `oban stats` costs and how good its estimates are, on two oban-py
# populations: issue 11's table (bench/stats-population.sql: five equal queues, retryable jobs
# spread over a week, a rare failed-in-the-last-hour window, wide rows) and `oban seed`'s.
# For each: the default pass (its own elapsed, the process's wall time, and the database time:
# the sum of every statement's parse, bind and execute durations, logged for that session
# alone with log_min_duration_statement=0 and read back from the server log), `--exact`
# against a bare `SELECT queue, state, count(*) … GROUP BY 1, 2`, how many figures were
# estimated or unknown, and every estimate against `--exact`. Markdown on stdout.
#
#   bench/stats.sh > /tmp/stats.md
#   BENCH_ISSUE_ROWS=200000 BENCH_JOBS=200000 bench/stats.sh    # a quick run
#
# Knobs: BENCH_DSN_BASE (server URL without a database), BENCH_ISSUE_ROWS (default 2000000),
# BENCH_JOBS (seeded jobs, default 5000000), BENCH_RUNS (repetitions, median reported; 5),
# BENCH_ISSUE_DB / BENCH_SEED_DB (measure these databases, already built and vacuumed, and
# leave them in place), BENCH_LOG (the server's log file, whose log_line_prefix must name the
# database, %d; default: the Debian cluster's), BENCH_BEFORE (another build of oban, e.g. an
# earlier commit's, measured the same way for comparison: database time and pass of the
# default and of --exact), BENCH_COLD=1 (also time
# default passes on a cold cache, each after BENCH_COLD_CMD, by default dropping the kernel's
# page cache and restarting the Debian cluster: needs root; BENCH_BEFORE's too when given).
# Needs psql and jq, and a superuser (for log_min_duration_statement). Creates and drops
# databases named oban_stats_*; uses target/release/oban, building it when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

. bench/common.sh
ISSUE_ROWS=${BENCH_ISSUE_ROWS:-2000000}
JOBS=${BENCH_JOBS:-5000000}
RUNS=${BENCH_RUNS:-5}
OBAN=target/release/oban
ISSUE_DB=${BENCH_ISSUE_DB:-oban_stats_issue} SEED_DB=${BENCH_SEED_DB:-oban_stats_seed}

needs psql jq
[[ -x $OBAN ]] || cargo build --release >&2

cleanup() {
  [[ -n ${BENCH_ISSUE_DB:-} ]] || drop_db "$ISSUE_DB" >/dev/null 2>&1 || true
  [[ -n ${BENCH_SEED_DB:-} ]] || drop_db "$SEED_DB" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
VERSION=$(q postgres "SHOW server_version_num" | cut -c1-2)
LOGFILE=${BENCH_LOG:-/var/log/postgresql/postgresql-$VERSION-main.log}
[[ -r $LOGFILE ]] || { echo "bench: cannot read the server log $LOGFILE (set BENCH_LOG)" >&2; exit 1; }

# dbtime DB ARGS...: runs oban with every statement of its session logged; prints the sum of
# the logged durations in ms (parse, bind and execute of each statement), plus the time of any
# statement cancelled by the time budget (not logged with a duration: from the previous log
# line to the cancellation).
dbtime() {
  local db=$1; shift
  local tag="oban-bench-$RANDOM$RANDOM" before
  before=$(wc -l <"$LOGFILE")
  PGOPTIONS="-c log_min_duration_statement=0 -c application_name=$tag" "${OBAN}" -d "$DSN_BASE/$db" "$@" >"${DBTIME_OUT:-/dev/null}"
  sleep 0.2
  tail -n +"$((before + 1))" "$LOGFILE" | {
    grep -F "$db" || { echo "bench: no line of $LOGFILE names $db (its log_line_prefix needs %d)" >&2; exit 1; }
  } |
    awk '{ split($2, t, ":"); now = (t[1] * 60 + t[2]) * 60 + t[3] }
         / duration: / { for (i = 1; i <= NF; i++) if ($i == "duration:") s += $(i + 1) }
         /canceling statement due to statement timeout/ && prev { s += (now - prev) * 1000 }
         { prev = now } END { printf "%.1f", s }'
}
bare() {
  local db=$1
  for _ in $(seq "$RUNS"); do
    q "$db" "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) SELECT queue, state, count(*) FROM oban_jobs GROUP BY 1, 2" |
      jq '.[0]["Execution Time"] / 1000'
  done | median
}

# cold DB BIN: RUNS default passes of BIN, each on a cold cache (BENCH_COLD_CMD first); prints
# "median database time ms (range) · unknown cells / figures per pass".
cold() {
  local db=$1 bin=$2 d=() u=() out
  out=$(mktemp)
  for _ in $(seq "$RUNS"); do
    bash -c "$COLD_CMD" >/dev/null 2>&1
    sleep 2
    d+=("$(OBAN=$bin DBTIME_OUT=$out dbtime "$db" stats -o json)")
    u+=("$(jq -r '"\(.unknown | length)/\(.unknown_figures | length)"' "$out")")
  done
  rm -f "$out"
  printf '%s ms (%s–%s) · unknown %s' "$(printf '%s\n' "${d[@]}" | median)" \
    "$(printf '%s\n' "${d[@]}" | sort -g | head -1)" "$(printf '%s\n' "${d[@]}" | sort -g | tail -1)" \
    "$(IFS=', '; echo "${u[*]}")"
}
COLD_CMD=${BENCH_COLD_CMD:-"sync; echo 3 > /proc/sys/vm/drop_caches; pg_ctlcluster $VERSION main restart"}

build_issue() {
  log "building the issue-11 table, $ISSUE_ROWS jobs"
  q postgres "CREATE DATABASE $ISSUE_DB"
  oban "$ISSUE_DB" migrate -q
  local t0 t1; t0=$(date +%s.%N)
  sed -e "s/{rows}/$ISSUE_ROWS/g" -e 's/{jobs}/public.oban_jobs/g' \
      -e 's/{state_type}/public.oban_job_state/g' -e 's/{errors_open}//g' -e 's/{errors_close}//g' \
      bench/stats-population.sql | PGOPTIONS='-c client_min_messages=warning' psql -X -q -v ON_ERROR_STOP=1 -d "$DSN_BASE/$ISSUE_DB"
  q "$ISSUE_DB" "VACUUM ANALYZE oban_jobs"
  t1=$(date +%s.%N)
  ISSUE_MADE="built in $(awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.0f", a - b }') s"
}
build_seed() {
  log "seeding $JOBS jobs"
  q postgres "CREATE DATABASE $SEED_DB"
  oban "$SEED_DB" migrate -q
  local t0 t1; t0=$(date +%s.%N)
  oban "$SEED_DB" seed --jobs "$JOBS" --seed 1 -q
  q "$SEED_DB" "VACUUM ANALYZE oban_jobs"
  t1=$(date +%s.%N)
  SEED_MADE="seeded in $(awk -v a="$t1" -v b="$t0" 'BEGIN { printf "%.0f", a - b }') s"
}

ISSUE_MADE="built beforehand" SEED_MADE="seeded beforehand"
cleanup
[[ -n ${BENCH_ISSUE_DB:-} ]] || build_issue
[[ -n ${BENCH_SEED_DB:-} ]] || build_seed

measure() {
  local db=$1 label=$2
  log "$label: warming, then measuring"
  q "$db" "SELECT count(*) FROM oban_jobs WHERE attempt >= 0" >/dev/null # reads the heap once
  oban "$db" stats --exact >/dev/null
  local size rows
  size=$(q "$db" "SELECT pg_size_pretty(pg_total_relation_size('oban_jobs'))")
  rows=$(q "$db" "SELECT count(*) FROM oban_jobs")
  local d=() e=()
  for _ in $(seq "$RUNS"); do d+=("$(dbtime "$db" stats -o json)"); done
  for _ in $(seq "$RUNS"); do e+=("$(dbtime "$db" stats --exact -o json)"); done
  local dbt exdbt pass wallt expass bare_s
  dbt=$(printf '%s\n' "${d[@]}" | median)
  exdbt=$(printf '%s\n' "${e[@]}" | median)
  pass=$(inner "$db" stats)
  wallt=$(wall "$db" stats -o json)
  expass=$(inner "$db" stats --exact)
  bare_s=$(bare "$db")
  local before_rows=""
  if [[ -n ${BENCH_BEFORE:-} ]]; then
    local bd=() bp=() be=()
    for _ in $(seq "$RUNS"); do bd+=("$(OBAN=$BENCH_BEFORE dbtime "$db" stats -o json)"); done
    for _ in $(seq "$RUNS"); do bp+=("$("$BENCH_BEFORE" -d "$DSN_BASE/$db" stats -o json | jq -r .elapsed)"); done
    for _ in $(seq "$RUNS"); do be+=("$("$BENCH_BEFORE" -d "$DSN_BASE/$db" stats --exact -o json | jq -r .elapsed)"); done
    before_rows="| before (BENCH_BEFORE): stats (default), database time / pass | $(printf '%s\n' "${bd[@]}" | median) ms / $(ms "$(printf '%s\n' "${bp[@]}" | median)") ms |
| before: stats --exact, pass; / bare count | $(ms "$(printf '%s\n' "${be[@]}" | median)") ms; $(awk -v a="$(printf '%s\n' "${be[@]}" | median)" -v b="$bare_s" 'BEGIN { printf "%.2f×", a / b }') |
"
  fi
  local cold_rows=""
  if [[ ${BENCH_COLD:-0} == 1 ]]; then
    cold_rows="| stats (default) on a cold cache: database time, median (range); unknown cells/figures per pass | $(cold "$db" "$OBAN") |
"
    if [[ -n ${BENCH_BEFORE:-} ]]; then
      cold_rows+="| before: the same | $(cold "$db" "$BENCH_BEFORE") |
"
    fi
    q "$db" "SELECT count(*) FROM oban_jobs WHERE attempt >= 0" >/dev/null
  fi
  local est exact
  est=$(oban "$db" stats -o json)
  exact=$(oban "$db" stats --exact -o json)
  cat <<MD

### $label: $rows jobs ($size with indexes, $3)

| measurement | result |
| --- | --- |
| stats (default), database time: sum of statement durations | $dbt ms |
| stats (default), pass ("elapsed") / wall | $(ms "$pass") ms / $(ms "$wallt") ms |
| stats --exact, database time / pass | $exdbt ms / $(ms "$expass") ms |
| bare \`SELECT queue, state, count(*) … GROUP BY 1, 2\` (EXPLAIN ANALYZE) | $(ms "$bare_s") ms |
| stats --exact / bare count | $(awk -v a="$expass" -v b="$bare_s" 'BEGIN { printf "%.2f×", a / b }') |
${before_rows}${cold_rows}| figures by default | $(jq -r '"\(.estimated | length) of \([.counts[] | length] | add) cells and \(.estimated_figures | length) of \(.queues | length * 8) per-queue figures estimated; \(.unknown | length) cells and \(.unknown_figures | length) figures unknown"' <<<"$est") |

Every estimate of that default pass against \`--exact\` (error of the estimate; whether the
exact figure lies in its range):

| estimate | how many | largest error | exact inside the range |
| --- | ---: | ---: | ---: |
$(jq -rn --argjson e "$est" --argjson x "$exact" '
  def err(a; b): (a - b) as $d | (if $d < 0 then -$d else $d end) / (if b == 0 then 1 else b end);
  def part: capture("^(?<q>.*)/(?<f>[^/]*)$");
  ([$e.estimated[] as $k | $k | part | {k: "cell counts", err: err($e.counts[.q][.f]; $x.counts[.q][.f]),
     inside: ($e.cell_ranges[$k].low <= $x.counts[.q][.f] and $x.counts[.q][.f] <= $e.cell_ranges[$k].high)}]
   + [$e.estimated_figures[] as $k | $k | part | {k: .f, err: err($e.queues[.q][.f]; $x.queues[.q][.f]),
     inside: ($e.figure_ranges[$k].low <= $x.queues[.q][.f] and $x.queues[.q][.f] <= $e.figure_ranges[$k].high)}])
  | group_by(.k)[] | "| \(.[0].k) | \(length) | \((map(.err) | max) * 1000 | round / 10)% | \(map(select(.inside)) | length) of \(length) |"')

Unknown figures of that pass: $(jq -r '[.unknown, .unknown_figures | keys[]] | if length == 0 then "none" else join(", ") end' <<<"$est").
MD
}

cat <<MD
## \`oban stats\` — $(date -u +%Y-%m-%dT%H:%MZ)

Command: \`$(env | grep -E '^BENCH_' | sort | tr '\n' ' ')bench/stats.sh\` on $(nproc) cores,
$(free -g | awk '/Mem:/ {print $2}') GiB, PostgreSQL $(q postgres "SHOW server_version" | cut -d' ' -f1)
(shared_buffers $(q postgres "SHOW shared_buffers")); load average at the start: $(cut -d' ' -f1-3 /proc/loadavg).
Medians of $RUNS runs.
MD
measure "$ISSUE_DB" "Issue 11's table" "$ISSUE_MADE"
measure "$SEED_DB" "oban seed --seed 1" "$SEED_MADE"
