# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_oban_global_optspecs
    string join \n d/database-url= c/config= prefix= o/format= q/quiet target= all-prefixes parallel= all-targets h/help V/version
end

function __fish_oban_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_oban_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_oban_using_subcommand
    set -l cmd (__fish_oban_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c oban -n "__fish_oban_needs_command" -s d -l database-url -d 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]' -r
complete -c oban -n "__fish_oban_needs_command" -s c -l config -d 'Configuration file [default: ./oban.toml when present]' -r -F
complete -c oban -n "__fish_oban_needs_command" -l prefix -d 'Schema holding the Oban tables (Oban\'s prefix) [env: OBAN_PREFIX] [default: public]' -r
complete -c oban -n "__fish_oban_needs_command" -s o -l format -d 'Output format [default: table]' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document per pass'
csv\t'A header row, then rows'
prometheus\t'Prometheus text exposition format (stats only)'"
complete -c oban -n "__fish_oban_needs_command" -l target -d 'Only the [[targets]] of oban.toml with this name (repeatable)' -r
complete -c oban -n "__fish_oban_needs_command" -l parallel -d 'Targets worked on at once [default: 4]' -r
complete -c oban -n "__fish_oban_needs_command" -s q -l quiet -d 'Print nothing on success in table format (errors still go to stderr)'
complete -c oban -n "__fish_oban_needs_command" -l all-prefixes -d 'Every schema holding an Oban jobs table in each PostgreSQL target'
complete -c oban -n "__fish_oban_needs_command" -l all-targets -d 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target'
complete -c oban -n "__fish_oban_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oban -n "__fish_oban_needs_command" -s V -l version -d 'Print version'
complete -c oban -n "__fish_oban_needs_command" -f -a "prune" -d 'Delete finished jobs (completed, cancelled, discarded) older than their cutoff'
complete -c oban -n "__fish_oban_needs_command" -f -a "rescue" -d 'Move jobs orphaned in `executing` back to available (or discard them when out of attempts)'
complete -c oban -n "__fish_oban_needs_command" -f -a "stats" -d 'Counts by queue and state, queue latency, throughput and database health'
complete -c oban -n "__fish_oban_needs_command" -f -a "inspect" -d 'List jobs by filters, or show jobs by id in full (read-only)'
complete -c oban -n "__fish_oban_needs_command" -f -a "retry" -d 'Make jobs available to run now (any state but available and executing)'
complete -c oban -n "__fish_oban_needs_command" -f -a "cancel" -d 'Cancel jobs that have not finished; running ones (PostgreSQL) are signalled to stop'
complete -c oban -n "__fish_oban_needs_command" -f -a "delete" -d 'Delete jobs (any state but executing)'
complete -c oban -n "__fish_oban_needs_command" -f -a "pause" -d 'Pause queues: their producers start no new jobs (running jobs finish); confirmed per node where oban-py records it'
complete -c oban -n "__fish_oban_needs_command" -f -a "resume" -d 'Resume paused queues; confirmed per node where oban-py records it'
complete -c oban -n "__fish_oban_needs_command" -f -a "queues" -d 'One row per queue and node: paused, limit, running jobs, last heartbeat, with job counts'
complete -c oban -n "__fish_oban_needs_command" -f -a "migrate" -d 'Install or upgrade the Oban schema (idempotent; leaves an existing oban-py or Elixir schema alone)'
complete -c oban -n "__fish_oban_needs_command" -f -a "partitions" -d 'On a partitioned table: make the leaves for the coming days (idempotent)'
complete -c oban -n "__fish_oban_needs_command" -f -a "seed" -d 'Fill the jobs table with a realistic population (for demos, tests and benchmarks)'
complete -c oban -n "__fish_oban_needs_command" -f -a "doctor" -d 'Check the jobs table\'s health: indexes, bloat, vacuum, what holds it back, orphans (read-only; exit 3 when any check warns or fails)'
complete -c oban -n "__fish_oban_needs_command" -f -a "reindex" -d 'Rebuild the jobs table\'s indexes online, one at a time (PostgreSQL), dropping invalid leftovers first'
complete -c oban -n "__fish_oban_needs_command" -f -a "vacuum" -d 'VACUUM (ANALYZE) the jobs table (SQLite: VACUUM the file)'
complete -c oban -n "__fish_oban_needs_command" -f -a "demo" -d 'Walk through migrate, seed, prune, rescue, inspect and stats on a fresh SQLite database'
complete -c oban -n "__fish_oban_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c oban -n "__fish_oban_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c oban -n "__fish_oban_using_subcommand prune" -l max-age -d 'Prune jobs finished longer ago than this [default: [pruner] max_age, else 1d]' -r
complete -c oban -n "__fish_oban_using_subcommand prune" -l completed-max-age -d 'Age for completed jobs (overrides --max-age)' -r
complete -c oban -n "__fish_oban_using_subcommand prune" -l cancelled-max-age -d 'Age for cancelled jobs (overrides --max-age)' -r
complete -c oban -n "__fish_oban_using_subcommand prune" -l discarded-max-age -d 'Age for discarded jobs (overrides --max-age)' -r
complete -c oban -n "__fish_oban_using_subcommand prune" -l state -d 'Only these final states (repeatable or comma-separated) [default: completed,cancelled,discarded]' -r -f -a "completed\t'completed_at decides'
cancelled\t'cancelled_at decides'
discarded\t'discarded_at decides'"
complete -c oban -n "__fish_oban_using_subcommand prune" -l rule -d 'A retention rule, e.g. \'queue=mailers,state=discarded,max_age=30d\' or \'worker=app.*,keep_last=1000\' (repeatable; first match wins; replaces the config file\'s [[retention]] rules) [default: [[retention]], else none]' -r
complete -c oban -n "__fish_oban_using_subcommand prune" -l queue -d 'Only jobs in this queue (repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand prune" -l worker -d 'Only jobs of this worker (repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand prune" -l limit -d 'Most rows deleted in one pass [default: [pruner] limit, else 20000]' -r
complete -c oban -n "__fish_oban_using_subcommand prune" -l batch-size -d 'Most rows deleted in one transaction [default: 10000]' -r
complete -c oban -n "__fish_oban_using_subcommand prune" -l pause -d 'Sleep between batches, to spare a busy database [default: 0s]' -r
complete -c oban -n "__fish_oban_using_subcommand prune" -l max-runtime -d 'Stop a pass after this long, once the batch in flight has committed' -r
complete -c oban -n "__fish_oban_using_subcommand prune" -l connections -d 'Connections deleting at once (PostgreSQL): 2 drains from both ends of the eligible range, about 1.3-1.6 times as fast on a server with an idle core, at twice the load [default: 1]' -r
complete -c oban -n "__fish_oban_using_subcommand prune" -l vacuum-after -d 'With --vacuum: the rows a pass must delete before it vacuums [default: 10000]' -r
complete -c oban -n "__fish_oban_using_subcommand prune" -l archive -d 'Append every deleted row to FILE as one JSON object per line, synced before each batch commits' -r -F
complete -c oban -n "__fish_oban_using_subcommand prune" -l max-replica-lag -d 'Before each batch, wait while any standby is further behind than this: WAL not yet replayed (16MB) or a time (30s)' -r
complete -c oban -n "__fish_oban_using_subcommand prune" -l max-slot-lag -d 'Before each batch, wait while any replication slot keeps more WAL than this (e.g. 1GB)' -r
complete -c oban -n "__fish_oban_using_subcommand prune" -l max-wal-rate -d 'Pace the pass so that the server writes at most this much WAL per second (e.g. 8MB/s)' -r
complete -c oban -n "__fish_oban_using_subcommand prune" -l lock-timeout -d 'Give up on a lock after this long (PostgreSQL lock_timeout, SQLite busy timeout) [default: 5s]' -r
complete -c oban -n "__fish_oban_using_subcommand prune" -l statement-timeout -d 'Cancel any single statement running longer than this [default: 1m]' -r
complete -c oban -n "__fish_oban_using_subcommand prune" -l interval -d 'Time between passes with --watch, at least 100ms [default: [pruner] interval, else 1m]' -r
complete -c oban -n "__fish_oban_using_subcommand prune" -s d -l database-url -d 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]' -r
complete -c oban -n "__fish_oban_using_subcommand prune" -s c -l config -d 'Configuration file [default: ./oban.toml when present]' -r -F
complete -c oban -n "__fish_oban_using_subcommand prune" -l prefix -d 'Schema holding the Oban tables (Oban\'s prefix) [env: OBAN_PREFIX] [default: public]' -r
complete -c oban -n "__fish_oban_using_subcommand prune" -s o -l format -d 'Output format [default: table]' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document per pass'
csv\t'A header row, then rows'
prometheus\t'Prometheus text exposition format (stats only)'"
complete -c oban -n "__fish_oban_using_subcommand prune" -l target -d 'Only the [[targets]] of oban.toml with this name (repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand prune" -l parallel -d 'Targets worked on at once [default: 4]' -r
complete -c oban -n "__fish_oban_using_subcommand prune" -l dry-run -d 'Count what would be deleted, per state and queue, and delete nothing'
complete -c oban -n "__fish_oban_using_subcommand prune" -l vacuum -d 'Run VACUUM (ANALYZE) on the jobs table after a pass that deleted more than --vacuum-after rows'
complete -c oban -n "__fish_oban_using_subcommand prune" -l watch -d 'Run a pass every interval until Ctrl-C'
complete -c oban -n "__fish_oban_using_subcommand prune" -s q -l quiet -d 'Print nothing on success in table format (errors still go to stderr)'
complete -c oban -n "__fish_oban_using_subcommand prune" -l all-prefixes -d 'Every schema holding an Oban jobs table in each PostgreSQL target'
complete -c oban -n "__fish_oban_using_subcommand prune" -l all-targets -d 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target'
complete -c oban -n "__fish_oban_using_subcommand prune" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oban -n "__fish_oban_using_subcommand rescue" -l rescue-after -d 'Executing jobs attempted longer ago than this are orphans [default: [lifeline] rescue_after, else 5m]' -r
complete -c oban -n "__fish_oban_using_subcommand rescue" -l producer-ttl -d 'With --accurate: a producer silent for this long is gone [default: 1m]' -r
complete -c oban -n "__fish_oban_using_subcommand rescue" -l on-exhausted -d 'What to do with an orphan that has no attempts left [default: discard]' -r -f -a "discard\t'Discard it, with discarded_at set (oban-py\'s lifeline)'
retry\t'Raise max_attempts to attempt + 1 and make it available'"
complete -c oban -n "__fish_oban_using_subcommand rescue" -l queue -d 'Only jobs in this queue (repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand rescue" -l worker -d 'Only jobs of this worker (repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand rescue" -l limit -d 'Most jobs moved in one pass [default: 20000]' -r
complete -c oban -n "__fish_oban_using_subcommand rescue" -l batch-size -d 'Most jobs moved in one transaction [default: 1000]' -r
complete -c oban -n "__fish_oban_using_subcommand rescue" -l lock-timeout -d 'Give up on a lock after this long (PostgreSQL lock_timeout, SQLite busy timeout) [default: 5s]' -r
complete -c oban -n "__fish_oban_using_subcommand rescue" -l statement-timeout -d 'Cancel any single statement running longer than this [default: 1m]' -r
complete -c oban -n "__fish_oban_using_subcommand rescue" -l interval -d 'Time between passes with --watch, at least 100ms [default: [lifeline] interval, else 1m]' -r
complete -c oban -n "__fish_oban_using_subcommand rescue" -s d -l database-url -d 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]' -r
complete -c oban -n "__fish_oban_using_subcommand rescue" -s c -l config -d 'Configuration file [default: ./oban.toml when present]' -r -F
complete -c oban -n "__fish_oban_using_subcommand rescue" -l prefix -d 'Schema holding the Oban tables (Oban\'s prefix) [env: OBAN_PREFIX] [default: public]' -r
complete -c oban -n "__fish_oban_using_subcommand rescue" -s o -l format -d 'Output format [default: table]' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document per pass'
csv\t'A header row, then rows'
prometheus\t'Prometheus text exposition format (stats only)'"
complete -c oban -n "__fish_oban_using_subcommand rescue" -l target -d 'Only the [[targets]] of oban.toml with this name (repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand rescue" -l parallel -d 'Targets worked on at once [default: 4]' -r
complete -c oban -n "__fish_oban_using_subcommand rescue" -l accurate -d 'Judge by producer heartbeats (oban_producers) instead of age: a job whose producer is gone is rescued at once, a job whose producer is alive never'
complete -c oban -n "__fish_oban_using_subcommand rescue" -l dry-run -d 'List what would move and where, and change nothing'
complete -c oban -n "__fish_oban_using_subcommand rescue" -l watch -d 'Run a pass every interval until Ctrl-C'
complete -c oban -n "__fish_oban_using_subcommand rescue" -s q -l quiet -d 'Print nothing on success in table format (errors still go to stderr)'
complete -c oban -n "__fish_oban_using_subcommand rescue" -l all-prefixes -d 'Every schema holding an Oban jobs table in each PostgreSQL target'
complete -c oban -n "__fish_oban_using_subcommand rescue" -l all-targets -d 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target'
complete -c oban -n "__fish_oban_using_subcommand rescue" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oban -n "__fish_oban_using_subcommand stats" -l estimate-above -d 'Sample tables above this many rows; a figure may be estimated (within ±25% at 95%) above a tenth of it [default: 50000]' -r
complete -c oban -n "__fish_oban_using_subcommand stats" -l seed -d 'Seed the samples, so that a pass on an unchanged table gives the same estimates (each pass draws a new seed without it)' -r
complete -c oban -n "__fish_oban_using_subcommand stats" -l budget -d 'Time a pass may spend sampling more or counting exactly before a figure is reported unknown [default: 250ms]' -r
complete -c oban -n "__fish_oban_using_subcommand stats" -l rescue-after -d 'Executing longer than this counts as stuck [default: [lifeline] rescue_after, else 5m]' -r
complete -c oban -n "__fish_oban_using_subcommand stats" -l max-latency -d 'Breach (exit 3) when any queue\'s oldest available job waited longer than this' -r
complete -c oban -n "__fish_oban_using_subcommand stats" -l max-stuck -d 'Breach (exit 3) when more than N jobs are stuck in executing' -r
complete -c oban -n "__fish_oban_using_subcommand stats" -l max-discarded-rate -d 'Breach (exit 3) when more than N jobs were discarded in the last hour' -r
complete -c oban -n "__fish_oban_using_subcommand stats" -l statement-timeout -d 'Cancel any single statement running longer than this [default: 1m]' -r
complete -c oban -n "__fish_oban_using_subcommand stats" -l listen -d 'Serve /metrics (Prometheus text) and /healthz on ADDR until Ctrl-C, e.g. 127.0.0.1:9187' -r
complete -c oban -n "__fish_oban_using_subcommand stats" -l min-interval -d 'With --listen: reuse a result younger than this, so a burst of scrapers cannot load the database [default: 10s]' -r
complete -c oban -n "__fish_oban_using_subcommand stats" -l interval -d 'Time between passes with --watch, at least 100ms [default: 5s]' -r
complete -c oban -n "__fish_oban_using_subcommand stats" -s d -l database-url -d 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]' -r
complete -c oban -n "__fish_oban_using_subcommand stats" -s c -l config -d 'Configuration file [default: ./oban.toml when present]' -r -F
complete -c oban -n "__fish_oban_using_subcommand stats" -l prefix -d 'Schema holding the Oban tables (Oban\'s prefix) [env: OBAN_PREFIX] [default: public]' -r
complete -c oban -n "__fish_oban_using_subcommand stats" -s o -l format -d 'Output format [default: table]' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document per pass'
csv\t'A header row, then rows'
prometheus\t'Prometheus text exposition format (stats only)'"
complete -c oban -n "__fish_oban_using_subcommand stats" -l target -d 'Only the [[targets]] of oban.toml with this name (repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand stats" -l parallel -d 'Targets worked on at once [default: 4]' -r
complete -c oban -n "__fish_oban_using_subcommand stats" -l exact -d 'Count every cell exactly, however large the table'
complete -c oban -n "__fish_oban_using_subcommand stats" -l watch -d 'Run a pass every interval until Ctrl-C'
complete -c oban -n "__fish_oban_using_subcommand stats" -s q -l quiet -d 'Print nothing on success in table format (errors still go to stderr)'
complete -c oban -n "__fish_oban_using_subcommand stats" -l all-prefixes -d 'Every schema holding an Oban jobs table in each PostgreSQL target'
complete -c oban -n "__fish_oban_using_subcommand stats" -l all-targets -d 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target'
complete -c oban -n "__fish_oban_using_subcommand stats" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oban -n "__fish_oban_using_subcommand inspect" -l state -d 'Only jobs in these states (repeatable or comma-separated)' -r -f -a "available\t'Ready to run'
suspended\t'Held back until resumed'
scheduled\t'Waiting for its scheduled_at'
executing\t'Running (or orphaned)'
retryable\t'Failed, will run again'
completed\t'Finished successfully'
cancelled\t'Cancelled'
discarded\t'Failed for good'"
complete -c oban -n "__fish_oban_using_subcommand inspect" -l queue -d 'Only jobs in this queue (repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand inspect" -l worker -d 'Only jobs of this worker (repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand inspect" -l tag -d 'Only jobs carrying this tag (repeatable: any of them)' -r
complete -c oban -n "__fish_oban_using_subcommand inspect" -l args -d 'Only jobs whose args contain this JSON object, e.g. \'{"user_id": 7}\'' -r
complete -c oban -n "__fish_oban_using_subcommand inspect" -l node -d 'Only jobs last attempted by this node (attempted_by[1]; repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand inspect" -l older-than -d 'Only jobs whose timestamp (see --by) is older than this' -r
complete -c oban -n "__fish_oban_using_subcommand inspect" -l newer-than -d 'Only jobs whose timestamp (see --by) is newer than this' -r
complete -c oban -n "__fish_oban_using_subcommand inspect" -l by -d 'Measure ages on this timestamp (without --by: the one that fits each state: attempted_at for executing, the final timestamp for completed/cancelled/discarded, else scheduled_at)' -r -f -a "inserted\t'inserted_at'
scheduled\t'scheduled_at'
attempted\t'attempted_at'"
complete -c oban -n "__fish_oban_using_subcommand inspect" -l error -d 'Only jobs whose last recorded error contains this text (case-insensitive)' -r
complete -c oban -n "__fish_oban_using_subcommand inspect" -l meta -d 'Only jobs whose meta contains this JSON object, e.g. \'{"tenant": "acme"}\'' -r
complete -c oban -n "__fish_oban_using_subcommand inspect" -l priority -d 'Only jobs of this priority (repeatable or comma-separated; 0 runs first)' -r
complete -c oban -n "__fish_oban_using_subcommand inspect" -l id-range -d 'Only jobs whose id is in this inclusive range: A..B, A.. or ..B' -r
complete -c oban -n "__fish_oban_using_subcommand inspect" -l limit -d 'Most jobs listed [default: 20]' -r
complete -c oban -n "__fish_oban_using_subcommand inspect" -l sort -d 'Sort the list by this column [default: id]' -r -f -a "id\t'Job id'
inserted\t'inserted_at'
scheduled\t'scheduled_at'
attempted\t'attempted_at'
state\t'State name'
queue\t'Queue name'
worker\t'Worker name'
attempt\t'Attempt number'"
complete -c oban -n "__fish_oban_using_subcommand inspect" -l group-by -d 'Count the matching jobs by the line of their last error that names the failure, most first (without --state: retryable and discarded jobs)' -r -f -a "error\t'The line of the last recorded error that names the failure'"
complete -c oban -n "__fish_oban_using_subcommand inspect" -l interval -d 'Time between passes with --watch, at least 100ms [default: 2s]' -r
complete -c oban -n "__fish_oban_using_subcommand inspect" -s d -l database-url -d 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]' -r
complete -c oban -n "__fish_oban_using_subcommand inspect" -s c -l config -d 'Configuration file [default: ./oban.toml when present]' -r -F
complete -c oban -n "__fish_oban_using_subcommand inspect" -l prefix -d 'Schema holding the Oban tables (Oban\'s prefix) [env: OBAN_PREFIX] [default: public]' -r
complete -c oban -n "__fish_oban_using_subcommand inspect" -s o -l format -d 'Output format [default: table]' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document per pass'
csv\t'A header row, then rows'
prometheus\t'Prometheus text exposition format (stats only)'"
complete -c oban -n "__fish_oban_using_subcommand inspect" -l target -d 'Only the [[targets]] of oban.toml with this name (repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand inspect" -l parallel -d 'Targets worked on at once [default: 4]' -r
complete -c oban -n "__fish_oban_using_subcommand inspect" -l stuck -d 'Only executing jobs attempted longer ago than rescue_after (the lifeline\'s) [default: [lifeline] rescue_after, else 5m]'
complete -c oban -n "__fish_oban_using_subcommand inspect" -l desc -d 'Sort in descending order'
complete -c oban -n "__fish_oban_using_subcommand inspect" -l wide -d 'More columns, full worker and args (wider than 80 columns)'
complete -c oban -n "__fish_oban_using_subcommand inspect" -l watch -d 'Run a pass every interval until Ctrl-C'
complete -c oban -n "__fish_oban_using_subcommand inspect" -s q -l quiet -d 'Print nothing on success in table format (errors still go to stderr)'
complete -c oban -n "__fish_oban_using_subcommand inspect" -l all-prefixes -d 'Every schema holding an Oban jobs table in each PostgreSQL target'
complete -c oban -n "__fish_oban_using_subcommand inspect" -l all-targets -d 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target'
complete -c oban -n "__fish_oban_using_subcommand inspect" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oban -n "__fish_oban_using_subcommand retry" -l state -d 'Only jobs in these states (repeatable or comma-separated)' -r -f -a "available\t'Ready to run'
suspended\t'Held back until resumed'
scheduled\t'Waiting for its scheduled_at'
executing\t'Running (or orphaned)'
retryable\t'Failed, will run again'
completed\t'Finished successfully'
cancelled\t'Cancelled'
discarded\t'Failed for good'"
complete -c oban -n "__fish_oban_using_subcommand retry" -l queue -d 'Only jobs in this queue (repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand retry" -l worker -d 'Only jobs of this worker (repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand retry" -l tag -d 'Only jobs carrying this tag (repeatable: any of them)' -r
complete -c oban -n "__fish_oban_using_subcommand retry" -l args -d 'Only jobs whose args contain this JSON object, e.g. \'{"user_id": 7}\'' -r
complete -c oban -n "__fish_oban_using_subcommand retry" -l node -d 'Only jobs last attempted by this node (attempted_by[1]; repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand retry" -l older-than -d 'Only jobs whose timestamp (see --by) is older than this' -r
complete -c oban -n "__fish_oban_using_subcommand retry" -l newer-than -d 'Only jobs whose timestamp (see --by) is newer than this' -r
complete -c oban -n "__fish_oban_using_subcommand retry" -l by -d 'Measure ages on this timestamp (without --by: the one that fits each state: attempted_at for executing, the final timestamp for completed/cancelled/discarded, else scheduled_at)' -r -f -a "inserted\t'inserted_at'
scheduled\t'scheduled_at'
attempted\t'attempted_at'"
complete -c oban -n "__fish_oban_using_subcommand retry" -l error -d 'Only jobs whose last recorded error contains this text (case-insensitive)' -r
complete -c oban -n "__fish_oban_using_subcommand retry" -l meta -d 'Only jobs whose meta contains this JSON object, e.g. \'{"tenant": "acme"}\'' -r
complete -c oban -n "__fish_oban_using_subcommand retry" -l priority -d 'Only jobs of this priority (repeatable or comma-separated; 0 runs first)' -r
complete -c oban -n "__fish_oban_using_subcommand retry" -l id-range -d 'Only jobs whose id is in this inclusive range: A..B, A.. or ..B' -r
complete -c oban -n "__fish_oban_using_subcommand retry" -l limit -d 'Most jobs changed in one run; all: every match, in batches (resumable) [default: 1000]' -r
complete -c oban -n "__fish_oban_using_subcommand retry" -l batch-size -d 'Most jobs changed in one transaction [default: 500]' -r
complete -c oban -n "__fish_oban_using_subcommand retry" -l pause -d 'Sleep between batches, to spare a busy database' -r
complete -c oban -n "__fish_oban_using_subcommand retry" -l lock-timeout -d 'Give up on a lock after this long (PostgreSQL lock_timeout, SQLite busy timeout) [default: 5s]' -r
complete -c oban -n "__fish_oban_using_subcommand retry" -l statement-timeout -d 'Cancel any single statement running longer than this [default: 1m]' -r
complete -c oban -n "__fish_oban_using_subcommand retry" -s d -l database-url -d 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]' -r
complete -c oban -n "__fish_oban_using_subcommand retry" -s c -l config -d 'Configuration file [default: ./oban.toml when present]' -r -F
complete -c oban -n "__fish_oban_using_subcommand retry" -l prefix -d 'Schema holding the Oban tables (Oban\'s prefix) [env: OBAN_PREFIX] [default: public]' -r
complete -c oban -n "__fish_oban_using_subcommand retry" -s o -l format -d 'Output format [default: table]' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document per pass'
csv\t'A header row, then rows'
prometheus\t'Prometheus text exposition format (stats only)'"
complete -c oban -n "__fish_oban_using_subcommand retry" -l target -d 'Only the [[targets]] of oban.toml with this name (repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand retry" -l parallel -d 'Targets worked on at once [default: 4]' -r
complete -c oban -n "__fish_oban_using_subcommand retry" -l stuck -d 'Only executing jobs attempted longer ago than rescue_after (the lifeline\'s) [default: [lifeline] rescue_after, else 5m]'
complete -c oban -n "__fish_oban_using_subcommand retry" -l all-matching -d 'Act on every job the filters match (required when acting by filter)'
complete -c oban -n "__fish_oban_using_subcommand retry" -l yes -d 'Do not ask for confirmation (required with filters when stdin is not a terminal)'
complete -c oban -n "__fish_oban_using_subcommand retry" -l dry-run -d 'Show what would change, and change nothing'
complete -c oban -n "__fish_oban_using_subcommand retry" -s q -l quiet -d 'Print nothing on success in table format (errors still go to stderr)'
complete -c oban -n "__fish_oban_using_subcommand retry" -l all-prefixes -d 'Every schema holding an Oban jobs table in each PostgreSQL target'
complete -c oban -n "__fish_oban_using_subcommand retry" -l all-targets -d 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target'
complete -c oban -n "__fish_oban_using_subcommand retry" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oban -n "__fish_oban_using_subcommand cancel" -l state -d 'Only jobs in these states (repeatable or comma-separated)' -r -f -a "available\t'Ready to run'
suspended\t'Held back until resumed'
scheduled\t'Waiting for its scheduled_at'
executing\t'Running (or orphaned)'
retryable\t'Failed, will run again'
completed\t'Finished successfully'
cancelled\t'Cancelled'
discarded\t'Failed for good'"
complete -c oban -n "__fish_oban_using_subcommand cancel" -l queue -d 'Only jobs in this queue (repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand cancel" -l worker -d 'Only jobs of this worker (repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand cancel" -l tag -d 'Only jobs carrying this tag (repeatable: any of them)' -r
complete -c oban -n "__fish_oban_using_subcommand cancel" -l args -d 'Only jobs whose args contain this JSON object, e.g. \'{"user_id": 7}\'' -r
complete -c oban -n "__fish_oban_using_subcommand cancel" -l node -d 'Only jobs last attempted by this node (attempted_by[1]; repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand cancel" -l older-than -d 'Only jobs whose timestamp (see --by) is older than this' -r
complete -c oban -n "__fish_oban_using_subcommand cancel" -l newer-than -d 'Only jobs whose timestamp (see --by) is newer than this' -r
complete -c oban -n "__fish_oban_using_subcommand cancel" -l by -d 'Measure ages on this timestamp (without --by: the one that fits each state: attempted_at for executing, the final timestamp for completed/cancelled/discarded, else scheduled_at)' -r -f -a "inserted\t'inserted_at'
scheduled\t'scheduled_at'
attempted\t'attempted_at'"
complete -c oban -n "__fish_oban_using_subcommand cancel" -l error -d 'Only jobs whose last recorded error contains this text (case-insensitive)' -r
complete -c oban -n "__fish_oban_using_subcommand cancel" -l meta -d 'Only jobs whose meta contains this JSON object, e.g. \'{"tenant": "acme"}\'' -r
complete -c oban -n "__fish_oban_using_subcommand cancel" -l priority -d 'Only jobs of this priority (repeatable or comma-separated; 0 runs first)' -r
complete -c oban -n "__fish_oban_using_subcommand cancel" -l id-range -d 'Only jobs whose id is in this inclusive range: A..B, A.. or ..B' -r
complete -c oban -n "__fish_oban_using_subcommand cancel" -l limit -d 'Most jobs changed in one run; all: every match, in batches (resumable) [default: 1000]' -r
complete -c oban -n "__fish_oban_using_subcommand cancel" -l batch-size -d 'Most jobs changed in one transaction [default: 500]' -r
complete -c oban -n "__fish_oban_using_subcommand cancel" -l pause -d 'Sleep between batches, to spare a busy database' -r
complete -c oban -n "__fish_oban_using_subcommand cancel" -l lock-timeout -d 'Give up on a lock after this long (PostgreSQL lock_timeout, SQLite busy timeout) [default: 5s]' -r
complete -c oban -n "__fish_oban_using_subcommand cancel" -l statement-timeout -d 'Cancel any single statement running longer than this [default: 1m]' -r
complete -c oban -n "__fish_oban_using_subcommand cancel" -l wait -d 'Wait this long for executing jobs to leave executing (PostgreSQL; oban-py stops a job only when it checks job.cancelled())' -r
complete -c oban -n "__fish_oban_using_subcommand cancel" -s d -l database-url -d 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]' -r
complete -c oban -n "__fish_oban_using_subcommand cancel" -s c -l config -d 'Configuration file [default: ./oban.toml when present]' -r -F
complete -c oban -n "__fish_oban_using_subcommand cancel" -l prefix -d 'Schema holding the Oban tables (Oban\'s prefix) [env: OBAN_PREFIX] [default: public]' -r
complete -c oban -n "__fish_oban_using_subcommand cancel" -s o -l format -d 'Output format [default: table]' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document per pass'
csv\t'A header row, then rows'
prometheus\t'Prometheus text exposition format (stats only)'"
complete -c oban -n "__fish_oban_using_subcommand cancel" -l target -d 'Only the [[targets]] of oban.toml with this name (repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand cancel" -l parallel -d 'Targets worked on at once [default: 4]' -r
complete -c oban -n "__fish_oban_using_subcommand cancel" -l stuck -d 'Only executing jobs attempted longer ago than rescue_after (the lifeline\'s) [default: [lifeline] rescue_after, else 5m]'
complete -c oban -n "__fish_oban_using_subcommand cancel" -l all-matching -d 'Act on every job the filters match (required when acting by filter)'
complete -c oban -n "__fish_oban_using_subcommand cancel" -l yes -d 'Do not ask for confirmation (required with filters when stdin is not a terminal)'
complete -c oban -n "__fish_oban_using_subcommand cancel" -l dry-run -d 'Show what would change, and change nothing'
complete -c oban -n "__fish_oban_using_subcommand cancel" -s q -l quiet -d 'Print nothing on success in table format (errors still go to stderr)'
complete -c oban -n "__fish_oban_using_subcommand cancel" -l all-prefixes -d 'Every schema holding an Oban jobs table in each PostgreSQL target'
complete -c oban -n "__fish_oban_using_subcommand cancel" -l all-targets -d 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target'
complete -c oban -n "__fish_oban_using_subcommand cancel" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oban -n "__fish_oban_using_subcommand delete" -l state -d 'Only jobs in these states (repeatable or comma-separated)' -r -f -a "available\t'Ready to run'
suspended\t'Held back until resumed'
scheduled\t'Waiting for its scheduled_at'
executing\t'Running (or orphaned)'
retryable\t'Failed, will run again'
completed\t'Finished successfully'
cancelled\t'Cancelled'
discarded\t'Failed for good'"
complete -c oban -n "__fish_oban_using_subcommand delete" -l queue -d 'Only jobs in this queue (repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand delete" -l worker -d 'Only jobs of this worker (repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand delete" -l tag -d 'Only jobs carrying this tag (repeatable: any of them)' -r
complete -c oban -n "__fish_oban_using_subcommand delete" -l args -d 'Only jobs whose args contain this JSON object, e.g. \'{"user_id": 7}\'' -r
complete -c oban -n "__fish_oban_using_subcommand delete" -l node -d 'Only jobs last attempted by this node (attempted_by[1]; repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand delete" -l older-than -d 'Only jobs whose timestamp (see --by) is older than this' -r
complete -c oban -n "__fish_oban_using_subcommand delete" -l newer-than -d 'Only jobs whose timestamp (see --by) is newer than this' -r
complete -c oban -n "__fish_oban_using_subcommand delete" -l by -d 'Measure ages on this timestamp (without --by: the one that fits each state: attempted_at for executing, the final timestamp for completed/cancelled/discarded, else scheduled_at)' -r -f -a "inserted\t'inserted_at'
scheduled\t'scheduled_at'
attempted\t'attempted_at'"
complete -c oban -n "__fish_oban_using_subcommand delete" -l error -d 'Only jobs whose last recorded error contains this text (case-insensitive)' -r
complete -c oban -n "__fish_oban_using_subcommand delete" -l meta -d 'Only jobs whose meta contains this JSON object, e.g. \'{"tenant": "acme"}\'' -r
complete -c oban -n "__fish_oban_using_subcommand delete" -l priority -d 'Only jobs of this priority (repeatable or comma-separated; 0 runs first)' -r
complete -c oban -n "__fish_oban_using_subcommand delete" -l id-range -d 'Only jobs whose id is in this inclusive range: A..B, A.. or ..B' -r
complete -c oban -n "__fish_oban_using_subcommand delete" -l limit -d 'Most jobs changed in one run; all: every match, in batches (resumable) [default: 1000]' -r
complete -c oban -n "__fish_oban_using_subcommand delete" -l batch-size -d 'Most jobs changed in one transaction [default: 500]' -r
complete -c oban -n "__fish_oban_using_subcommand delete" -l pause -d 'Sleep between batches, to spare a busy database' -r
complete -c oban -n "__fish_oban_using_subcommand delete" -l lock-timeout -d 'Give up on a lock after this long (PostgreSQL lock_timeout, SQLite busy timeout) [default: 5s]' -r
complete -c oban -n "__fish_oban_using_subcommand delete" -l statement-timeout -d 'Cancel any single statement running longer than this [default: 1m]' -r
complete -c oban -n "__fish_oban_using_subcommand delete" -s d -l database-url -d 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]' -r
complete -c oban -n "__fish_oban_using_subcommand delete" -s c -l config -d 'Configuration file [default: ./oban.toml when present]' -r -F
complete -c oban -n "__fish_oban_using_subcommand delete" -l prefix -d 'Schema holding the Oban tables (Oban\'s prefix) [env: OBAN_PREFIX] [default: public]' -r
complete -c oban -n "__fish_oban_using_subcommand delete" -s o -l format -d 'Output format [default: table]' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document per pass'
csv\t'A header row, then rows'
prometheus\t'Prometheus text exposition format (stats only)'"
complete -c oban -n "__fish_oban_using_subcommand delete" -l target -d 'Only the [[targets]] of oban.toml with this name (repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand delete" -l parallel -d 'Targets worked on at once [default: 4]' -r
complete -c oban -n "__fish_oban_using_subcommand delete" -l stuck -d 'Only executing jobs attempted longer ago than rescue_after (the lifeline\'s) [default: [lifeline] rescue_after, else 5m]'
complete -c oban -n "__fish_oban_using_subcommand delete" -l all-matching -d 'Act on every job the filters match (required when acting by filter)'
complete -c oban -n "__fish_oban_using_subcommand delete" -l yes -d 'Do not ask for confirmation (required with filters when stdin is not a terminal)'
complete -c oban -n "__fish_oban_using_subcommand delete" -l dry-run -d 'Show what would change, and change nothing'
complete -c oban -n "__fish_oban_using_subcommand delete" -s q -l quiet -d 'Print nothing on success in table format (errors still go to stderr)'
complete -c oban -n "__fish_oban_using_subcommand delete" -l all-prefixes -d 'Every schema holding an Oban jobs table in each PostgreSQL target'
complete -c oban -n "__fish_oban_using_subcommand delete" -l all-targets -d 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target'
complete -c oban -n "__fish_oban_using_subcommand delete" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oban -n "__fish_oban_using_subcommand pause" -l node -d 'Only the producers on this node' -r
complete -c oban -n "__fish_oban_using_subcommand pause" -l wait -d 'How long to wait for each producer to record the new state (oban-py); 0s sends and does not wait [default: 5s]' -r
complete -c oban -n "__fish_oban_using_subcommand pause" -s d -l database-url -d 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]' -r
complete -c oban -n "__fish_oban_using_subcommand pause" -s c -l config -d 'Configuration file [default: ./oban.toml when present]' -r -F
complete -c oban -n "__fish_oban_using_subcommand pause" -l prefix -d 'Schema holding the Oban tables (Oban\'s prefix) [env: OBAN_PREFIX] [default: public]' -r
complete -c oban -n "__fish_oban_using_subcommand pause" -s o -l format -d 'Output format [default: table]' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document per pass'
csv\t'A header row, then rows'
prometheus\t'Prometheus text exposition format (stats only)'"
complete -c oban -n "__fish_oban_using_subcommand pause" -l target -d 'Only the [[targets]] of oban.toml with this name (repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand pause" -l parallel -d 'Targets worked on at once [default: 4]' -r
complete -c oban -n "__fish_oban_using_subcommand pause" -l all -d 'Every queue'
complete -c oban -n "__fish_oban_using_subcommand pause" -s q -l quiet -d 'Print nothing on success in table format (errors still go to stderr)'
complete -c oban -n "__fish_oban_using_subcommand pause" -l all-prefixes -d 'Every schema holding an Oban jobs table in each PostgreSQL target'
complete -c oban -n "__fish_oban_using_subcommand pause" -l all-targets -d 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target'
complete -c oban -n "__fish_oban_using_subcommand pause" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oban -n "__fish_oban_using_subcommand resume" -l node -d 'Only the producers on this node' -r
complete -c oban -n "__fish_oban_using_subcommand resume" -l wait -d 'How long to wait for each producer to record the new state (oban-py); 0s sends and does not wait [default: 5s]' -r
complete -c oban -n "__fish_oban_using_subcommand resume" -s d -l database-url -d 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]' -r
complete -c oban -n "__fish_oban_using_subcommand resume" -s c -l config -d 'Configuration file [default: ./oban.toml when present]' -r -F
complete -c oban -n "__fish_oban_using_subcommand resume" -l prefix -d 'Schema holding the Oban tables (Oban\'s prefix) [env: OBAN_PREFIX] [default: public]' -r
complete -c oban -n "__fish_oban_using_subcommand resume" -s o -l format -d 'Output format [default: table]' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document per pass'
csv\t'A header row, then rows'
prometheus\t'Prometheus text exposition format (stats only)'"
complete -c oban -n "__fish_oban_using_subcommand resume" -l target -d 'Only the [[targets]] of oban.toml with this name (repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand resume" -l parallel -d 'Targets worked on at once [default: 4]' -r
complete -c oban -n "__fish_oban_using_subcommand resume" -l all -d 'Every queue'
complete -c oban -n "__fish_oban_using_subcommand resume" -s q -l quiet -d 'Print nothing on success in table format (errors still go to stderr)'
complete -c oban -n "__fish_oban_using_subcommand resume" -l all-prefixes -d 'Every schema holding an Oban jobs table in each PostgreSQL target'
complete -c oban -n "__fish_oban_using_subcommand resume" -l all-targets -d 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target'
complete -c oban -n "__fish_oban_using_subcommand resume" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oban -n "__fish_oban_using_subcommand queues" -l queue -d 'Only these queues (repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand queues" -l interval -d 'Time between passes with --watch, at least 100ms [default: 2s]' -r
complete -c oban -n "__fish_oban_using_subcommand queues" -s d -l database-url -d 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]' -r
complete -c oban -n "__fish_oban_using_subcommand queues" -s c -l config -d 'Configuration file [default: ./oban.toml when present]' -r -F
complete -c oban -n "__fish_oban_using_subcommand queues" -l prefix -d 'Schema holding the Oban tables (Oban\'s prefix) [env: OBAN_PREFIX] [default: public]' -r
complete -c oban -n "__fish_oban_using_subcommand queues" -s o -l format -d 'Output format [default: table]' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document per pass'
csv\t'A header row, then rows'
prometheus\t'Prometheus text exposition format (stats only)'"
complete -c oban -n "__fish_oban_using_subcommand queues" -l target -d 'Only the [[targets]] of oban.toml with this name (repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand queues" -l parallel -d 'Targets worked on at once [default: 4]' -r
complete -c oban -n "__fish_oban_using_subcommand queues" -l watch -d 'Run a pass every interval until Ctrl-C'
complete -c oban -n "__fish_oban_using_subcommand queues" -s q -l quiet -d 'Print nothing on success in table format (errors still go to stderr)'
complete -c oban -n "__fish_oban_using_subcommand queues" -l all-prefixes -d 'Every schema holding an Oban jobs table in each PostgreSQL target'
complete -c oban -n "__fish_oban_using_subcommand queues" -l all-targets -d 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target'
complete -c oban -n "__fish_oban_using_subcommand queues" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oban -n "__fish_oban_using_subcommand migrate" -l from -d 'With --partitioned: move the jobs of the ordinary oban-py oban_jobs in this schema into the partitioned layout (made in --prefix) while workers run: in batches, open jobs last, then one short lock for what changed meanwhile; the old table is kept as oban_jobs_unpartitioned. Stopped at any point, the same command resumes' -r
complete -c oban -n "__fish_oban_using_subcommand migrate" -l batch-size -d 'With --from: most rows copied in one transaction [default: 10000]' -r
complete -c oban -n "__fish_oban_using_subcommand migrate" -l max-batches -d 'With --from: stop after this many batches, before the switch (the next run resumes)' -r
complete -c oban -n "__fish_oban_using_subcommand migrate" -l max-switch-rows -d 'With --from: most recorded changes the switch copies under its lock; with more it refuses and changes nothing [default: 20000]' -r
complete -c oban -n "__fish_oban_using_subcommand migrate" -l lock-timeout -d 'Give up on a lock after this long (PostgreSQL lock_timeout, SQLite busy timeout) [default: 5s]' -r
complete -c oban -n "__fish_oban_using_subcommand migrate" -l statement-timeout -d 'Cancel any single statement running longer than this [default: 1m]' -r
complete -c oban -n "__fish_oban_using_subcommand migrate" -s d -l database-url -d 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]' -r
complete -c oban -n "__fish_oban_using_subcommand migrate" -s c -l config -d 'Configuration file [default: ./oban.toml when present]' -r -F
complete -c oban -n "__fish_oban_using_subcommand migrate" -l prefix -d 'Schema holding the Oban tables (Oban\'s prefix) [env: OBAN_PREFIX] [default: public]' -r
complete -c oban -n "__fish_oban_using_subcommand migrate" -s o -l format -d 'Output format [default: table]' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document per pass'
csv\t'A header row, then rows'
prometheus\t'Prometheus text exposition format (stats only)'"
complete -c oban -n "__fish_oban_using_subcommand migrate" -l target -d 'Only the [[targets]] of oban.toml with this name (repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand migrate" -l parallel -d 'Targets worked on at once [default: 4]' -r
complete -c oban -n "__fish_oban_using_subcommand migrate" -l dry-run -d 'List the migrations that would run, and run none'
complete -c oban -n "__fish_oban_using_subcommand migrate" -l partitioned -d 'Create oban_jobs partitioned (LIST by state, final states by day, oban-py\'s columns) with leaves for today and the next two days (PostgreSQL; where there is no oban_jobs yet, or with --from)'
complete -c oban -n "__fish_oban_using_subcommand migrate" -s q -l quiet -d 'Print nothing on success in table format (errors still go to stderr)'
complete -c oban -n "__fish_oban_using_subcommand migrate" -l all-prefixes -d 'Every schema holding an Oban jobs table in each PostgreSQL target'
complete -c oban -n "__fish_oban_using_subcommand migrate" -l all-targets -d 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target'
complete -c oban -n "__fish_oban_using_subcommand migrate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oban -n "__fish_oban_using_subcommand partitions" -l premake -d 'Make sure each final state partitioned by day has a leaf for every day this far ahead, today included (rounded up to whole days) [default: 3d]' -r
complete -c oban -n "__fish_oban_using_subcommand partitions" -l lock-timeout -d 'Give up on a lock after this long (PostgreSQL lock_timeout, SQLite busy timeout) [default: 5s]' -r
complete -c oban -n "__fish_oban_using_subcommand partitions" -l statement-timeout -d 'Cancel any single statement running longer than this [default: 1m]' -r
complete -c oban -n "__fish_oban_using_subcommand partitions" -s d -l database-url -d 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]' -r
complete -c oban -n "__fish_oban_using_subcommand partitions" -s c -l config -d 'Configuration file [default: ./oban.toml when present]' -r -F
complete -c oban -n "__fish_oban_using_subcommand partitions" -l prefix -d 'Schema holding the Oban tables (Oban\'s prefix) [env: OBAN_PREFIX] [default: public]' -r
complete -c oban -n "__fish_oban_using_subcommand partitions" -s o -l format -d 'Output format [default: table]' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document per pass'
csv\t'A header row, then rows'
prometheus\t'Prometheus text exposition format (stats only)'"
complete -c oban -n "__fish_oban_using_subcommand partitions" -l target -d 'Only the [[targets]] of oban.toml with this name (repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand partitions" -l parallel -d 'Targets worked on at once [default: 4]' -r
complete -c oban -n "__fish_oban_using_subcommand partitions" -l dry-run -d 'List the leaves that would be created, and create none'
complete -c oban -n "__fish_oban_using_subcommand partitions" -s q -l quiet -d 'Print nothing on success in table format (errors still go to stderr)'
complete -c oban -n "__fish_oban_using_subcommand partitions" -l all-prefixes -d 'Every schema holding an Oban jobs table in each PostgreSQL target'
complete -c oban -n "__fish_oban_using_subcommand partitions" -l all-targets -d 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target'
complete -c oban -n "__fish_oban_using_subcommand partitions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oban -n "__fish_oban_using_subcommand seed" -l jobs -d 'How many jobs to insert' -r
complete -c oban -n "__fish_oban_using_subcommand seed" -l seed -d 'Random seed, for a reproducible population' -r
complete -c oban -n "__fish_oban_using_subcommand seed" -s d -l database-url -d 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]' -r
complete -c oban -n "__fish_oban_using_subcommand seed" -s c -l config -d 'Configuration file [default: ./oban.toml when present]' -r -F
complete -c oban -n "__fish_oban_using_subcommand seed" -l prefix -d 'Schema holding the Oban tables (Oban\'s prefix) [env: OBAN_PREFIX] [default: public]' -r
complete -c oban -n "__fish_oban_using_subcommand seed" -s o -l format -d 'Output format [default: table]' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document per pass'
csv\t'A header row, then rows'
prometheus\t'Prometheus text exposition format (stats only)'"
complete -c oban -n "__fish_oban_using_subcommand seed" -l target -d 'Only the [[targets]] of oban.toml with this name (repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand seed" -l parallel -d 'Targets worked on at once [default: 4]' -r
complete -c oban -n "__fish_oban_using_subcommand seed" -l force -d 'Insert even when the table already has jobs'
complete -c oban -n "__fish_oban_using_subcommand seed" -s q -l quiet -d 'Print nothing on success in table format (errors still go to stderr)'
complete -c oban -n "__fish_oban_using_subcommand seed" -l all-prefixes -d 'Every schema holding an Oban jobs table in each PostgreSQL target'
complete -c oban -n "__fish_oban_using_subcommand seed" -l all-targets -d 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target'
complete -c oban -n "__fish_oban_using_subcommand seed" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oban -n "__fish_oban_using_subcommand doctor" -l max-bloat -d 'An index or the table is bloated when this share of it (percent) is wasted space [default: 50%]' -r
complete -c oban -n "__fish_oban_using_subcommand doctor" -l min-bloat -d 'Never report less wasted space than this (0, 512kB, 8MB, 1GB) [default: 8MB]' -r
complete -c oban -n "__fish_oban_using_subcommand doctor" -l rescue-after -d 'Executing jobs attempted longer ago than this are orphans [default: [lifeline] rescue_after, else 5m]' -r
complete -c oban -n "__fish_oban_using_subcommand doctor" -l max-age -d 'Final jobs older than this should have been pruned [default: [pruner] max_age, else 1d]' -r
complete -c oban -n "__fish_oban_using_subcommand doctor" -l max-transaction-age -d 'Warn about a transaction open longer than this (it holds back vacuum) [default: 10m]' -r
complete -c oban -n "__fish_oban_using_subcommand doctor" -l max-idle -d 'Warn about a session idle in a transaction longer than this [default: 1m]' -r
complete -c oban -n "__fish_oban_using_subcommand doctor" -l max-latency -d 'Warn when the oldest available job has waited longer than this [default: 5m]' -r
complete -c oban -n "__fish_oban_using_subcommand doctor" -l statement-timeout -d 'Cancel any single statement running longer than this [default: 1m]' -r
complete -c oban -n "__fish_oban_using_subcommand doctor" -s d -l database-url -d 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]' -r
complete -c oban -n "__fish_oban_using_subcommand doctor" -s c -l config -d 'Configuration file [default: ./oban.toml when present]' -r -F
complete -c oban -n "__fish_oban_using_subcommand doctor" -l prefix -d 'Schema holding the Oban tables (Oban\'s prefix) [env: OBAN_PREFIX] [default: public]' -r
complete -c oban -n "__fish_oban_using_subcommand doctor" -s o -l format -d 'Output format [default: table]' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document per pass'
csv\t'A header row, then rows'
prometheus\t'Prometheus text exposition format (stats only)'"
complete -c oban -n "__fish_oban_using_subcommand doctor" -l target -d 'Only the [[targets]] of oban.toml with this name (repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand doctor" -l parallel -d 'Targets worked on at once [default: 4]' -r
complete -c oban -n "__fish_oban_using_subcommand doctor" -l exact -d 'Measure bloat with the pgstattuple extension (when installed) instead of estimating it from the statistics; SQLite: integrity_check instead of quick_check'
complete -c oban -n "__fish_oban_using_subcommand doctor" -s q -l quiet -d 'Print nothing on success in table format (errors still go to stderr)'
complete -c oban -n "__fish_oban_using_subcommand doctor" -l all-prefixes -d 'Every schema holding an Oban jobs table in each PostgreSQL target'
complete -c oban -n "__fish_oban_using_subcommand doctor" -l all-targets -d 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target'
complete -c oban -n "__fish_oban_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oban -n "__fish_oban_using_subcommand reindex" -l index -d 'Rebuild only this index (repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand reindex" -l max-bloat -d 'An index or the table is bloated when this share of it (percent) is wasted space [default: 50%]' -r
complete -c oban -n "__fish_oban_using_subcommand reindex" -l min-bloat -d 'Never report less wasted space than this (0, 512kB, 8MB, 1GB) [default: 8MB]' -r
complete -c oban -n "__fish_oban_using_subcommand reindex" -l lock-timeout -d 'Give up on a lock after this long (PostgreSQL lock_timeout, SQLite busy timeout) [default: 5s]' -r
complete -c oban -n "__fish_oban_using_subcommand reindex" -l statement-timeout -d 'Cancel any single statement running longer than this [default: 1h]' -r
complete -c oban -n "__fish_oban_using_subcommand reindex" -s d -l database-url -d 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]' -r
complete -c oban -n "__fish_oban_using_subcommand reindex" -s c -l config -d 'Configuration file [default: ./oban.toml when present]' -r -F
complete -c oban -n "__fish_oban_using_subcommand reindex" -l prefix -d 'Schema holding the Oban tables (Oban\'s prefix) [env: OBAN_PREFIX] [default: public]' -r
complete -c oban -n "__fish_oban_using_subcommand reindex" -s o -l format -d 'Output format [default: table]' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document per pass'
csv\t'A header row, then rows'
prometheus\t'Prometheus text exposition format (stats only)'"
complete -c oban -n "__fish_oban_using_subcommand reindex" -l target -d 'Only the [[targets]] of oban.toml with this name (repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand reindex" -l parallel -d 'Targets worked on at once [default: 4]' -r
complete -c oban -n "__fish_oban_using_subcommand reindex" -l bloated-only -d 'Rebuild only the indexes doctor reports bloated'
complete -c oban -n "__fish_oban_using_subcommand reindex" -l exact -d 'Measure bloat with the pgstattuple extension (when installed) instead of estimating it from the statistics; SQLite: integrity_check instead of quick_check'
complete -c oban -n "__fish_oban_using_subcommand reindex" -l dry-run -d 'List what would be dropped and rebuilt, and change nothing'
complete -c oban -n "__fish_oban_using_subcommand reindex" -s q -l quiet -d 'Print nothing on success in table format (errors still go to stderr)'
complete -c oban -n "__fish_oban_using_subcommand reindex" -l all-prefixes -d 'Every schema holding an Oban jobs table in each PostgreSQL target'
complete -c oban -n "__fish_oban_using_subcommand reindex" -l all-targets -d 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target'
complete -c oban -n "__fish_oban_using_subcommand reindex" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oban -n "__fish_oban_using_subcommand vacuum" -l lock-timeout -d 'Give up on a lock after this long (PostgreSQL lock_timeout, SQLite busy timeout) [default: 5s]' -r
complete -c oban -n "__fish_oban_using_subcommand vacuum" -l statement-timeout -d 'Cancel any single statement running longer than this [default: 1h]' -r
complete -c oban -n "__fish_oban_using_subcommand vacuum" -s d -l database-url -d 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]' -r
complete -c oban -n "__fish_oban_using_subcommand vacuum" -s c -l config -d 'Configuration file [default: ./oban.toml when present]' -r -F
complete -c oban -n "__fish_oban_using_subcommand vacuum" -l prefix -d 'Schema holding the Oban tables (Oban\'s prefix) [env: OBAN_PREFIX] [default: public]' -r
complete -c oban -n "__fish_oban_using_subcommand vacuum" -s o -l format -d 'Output format [default: table]' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document per pass'
csv\t'A header row, then rows'
prometheus\t'Prometheus text exposition format (stats only)'"
complete -c oban -n "__fish_oban_using_subcommand vacuum" -l target -d 'Only the [[targets]] of oban.toml with this name (repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand vacuum" -l parallel -d 'Targets worked on at once [default: 4]' -r
complete -c oban -n "__fish_oban_using_subcommand vacuum" -s q -l quiet -d 'Print nothing on success in table format (errors still go to stderr)'
complete -c oban -n "__fish_oban_using_subcommand vacuum" -l all-prefixes -d 'Every schema holding an Oban jobs table in each PostgreSQL target'
complete -c oban -n "__fish_oban_using_subcommand vacuum" -l all-targets -d 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target'
complete -c oban -n "__fish_oban_using_subcommand vacuum" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oban -n "__fish_oban_using_subcommand demo" -l jobs -d 'How many jobs to seed' -r
complete -c oban -n "__fish_oban_using_subcommand demo" -l keep -d 'Keep the demo database at this path instead of a temporary file' -r -F
complete -c oban -n "__fish_oban_using_subcommand demo" -s d -l database-url -d 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]' -r
complete -c oban -n "__fish_oban_using_subcommand demo" -s c -l config -d 'Configuration file [default: ./oban.toml when present]' -r -F
complete -c oban -n "__fish_oban_using_subcommand demo" -l prefix -d 'Schema holding the Oban tables (Oban\'s prefix) [env: OBAN_PREFIX] [default: public]' -r
complete -c oban -n "__fish_oban_using_subcommand demo" -s o -l format -d 'Output format [default: table]' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document per pass'
csv\t'A header row, then rows'
prometheus\t'Prometheus text exposition format (stats only)'"
complete -c oban -n "__fish_oban_using_subcommand demo" -l target -d 'Only the [[targets]] of oban.toml with this name (repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand demo" -l parallel -d 'Targets worked on at once [default: 4]' -r
complete -c oban -n "__fish_oban_using_subcommand demo" -s q -l quiet -d 'Print nothing on success in table format (errors still go to stderr)'
complete -c oban -n "__fish_oban_using_subcommand demo" -l all-prefixes -d 'Every schema holding an Oban jobs table in each PostgreSQL target'
complete -c oban -n "__fish_oban_using_subcommand demo" -l all-targets -d 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target'
complete -c oban -n "__fish_oban_using_subcommand demo" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oban -n "__fish_oban_using_subcommand completions" -s d -l database-url -d 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]' -r
complete -c oban -n "__fish_oban_using_subcommand completions" -s c -l config -d 'Configuration file [default: ./oban.toml when present]' -r -F
complete -c oban -n "__fish_oban_using_subcommand completions" -l prefix -d 'Schema holding the Oban tables (Oban\'s prefix) [env: OBAN_PREFIX] [default: public]' -r
complete -c oban -n "__fish_oban_using_subcommand completions" -s o -l format -d 'Output format [default: table]' -r -f -a "table\t'Human-readable tables'
json\t'One JSON document per pass'
csv\t'A header row, then rows'
prometheus\t'Prometheus text exposition format (stats only)'"
complete -c oban -n "__fish_oban_using_subcommand completions" -l target -d 'Only the [[targets]] of oban.toml with this name (repeatable)' -r
complete -c oban -n "__fish_oban_using_subcommand completions" -l parallel -d 'Targets worked on at once [default: 4]' -r
complete -c oban -n "__fish_oban_using_subcommand completions" -s q -l quiet -d 'Print nothing on success in table format (errors still go to stderr)'
complete -c oban -n "__fish_oban_using_subcommand completions" -l all-prefixes -d 'Every schema holding an Oban jobs table in each PostgreSQL target'
complete -c oban -n "__fish_oban_using_subcommand completions" -l all-targets -d 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target'
complete -c oban -n "__fish_oban_using_subcommand completions" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c oban -n "__fish_oban_using_subcommand help; and not __fish_seen_subcommand_from prune rescue stats inspect retry cancel delete pause resume queues migrate partitions seed doctor reindex vacuum demo completions help" -f -a "prune" -d 'Delete finished jobs (completed, cancelled, discarded) older than their cutoff'
complete -c oban -n "__fish_oban_using_subcommand help; and not __fish_seen_subcommand_from prune rescue stats inspect retry cancel delete pause resume queues migrate partitions seed doctor reindex vacuum demo completions help" -f -a "rescue" -d 'Move jobs orphaned in `executing` back to available (or discard them when out of attempts)'
complete -c oban -n "__fish_oban_using_subcommand help; and not __fish_seen_subcommand_from prune rescue stats inspect retry cancel delete pause resume queues migrate partitions seed doctor reindex vacuum demo completions help" -f -a "stats" -d 'Counts by queue and state, queue latency, throughput and database health'
complete -c oban -n "__fish_oban_using_subcommand help; and not __fish_seen_subcommand_from prune rescue stats inspect retry cancel delete pause resume queues migrate partitions seed doctor reindex vacuum demo completions help" -f -a "inspect" -d 'List jobs by filters, or show jobs by id in full (read-only)'
complete -c oban -n "__fish_oban_using_subcommand help; and not __fish_seen_subcommand_from prune rescue stats inspect retry cancel delete pause resume queues migrate partitions seed doctor reindex vacuum demo completions help" -f -a "retry" -d 'Make jobs available to run now (any state but available and executing)'
complete -c oban -n "__fish_oban_using_subcommand help; and not __fish_seen_subcommand_from prune rescue stats inspect retry cancel delete pause resume queues migrate partitions seed doctor reindex vacuum demo completions help" -f -a "cancel" -d 'Cancel jobs that have not finished; running ones (PostgreSQL) are signalled to stop'
complete -c oban -n "__fish_oban_using_subcommand help; and not __fish_seen_subcommand_from prune rescue stats inspect retry cancel delete pause resume queues migrate partitions seed doctor reindex vacuum demo completions help" -f -a "delete" -d 'Delete jobs (any state but executing)'
complete -c oban -n "__fish_oban_using_subcommand help; and not __fish_seen_subcommand_from prune rescue stats inspect retry cancel delete pause resume queues migrate partitions seed doctor reindex vacuum demo completions help" -f -a "pause" -d 'Pause queues: their producers start no new jobs (running jobs finish); confirmed per node where oban-py records it'
complete -c oban -n "__fish_oban_using_subcommand help; and not __fish_seen_subcommand_from prune rescue stats inspect retry cancel delete pause resume queues migrate partitions seed doctor reindex vacuum demo completions help" -f -a "resume" -d 'Resume paused queues; confirmed per node where oban-py records it'
complete -c oban -n "__fish_oban_using_subcommand help; and not __fish_seen_subcommand_from prune rescue stats inspect retry cancel delete pause resume queues migrate partitions seed doctor reindex vacuum demo completions help" -f -a "queues" -d 'One row per queue and node: paused, limit, running jobs, last heartbeat, with job counts'
complete -c oban -n "__fish_oban_using_subcommand help; and not __fish_seen_subcommand_from prune rescue stats inspect retry cancel delete pause resume queues migrate partitions seed doctor reindex vacuum demo completions help" -f -a "migrate" -d 'Install or upgrade the Oban schema (idempotent; leaves an existing oban-py or Elixir schema alone)'
complete -c oban -n "__fish_oban_using_subcommand help; and not __fish_seen_subcommand_from prune rescue stats inspect retry cancel delete pause resume queues migrate partitions seed doctor reindex vacuum demo completions help" -f -a "partitions" -d 'On a partitioned table: make the leaves for the coming days (idempotent)'
complete -c oban -n "__fish_oban_using_subcommand help; and not __fish_seen_subcommand_from prune rescue stats inspect retry cancel delete pause resume queues migrate partitions seed doctor reindex vacuum demo completions help" -f -a "seed" -d 'Fill the jobs table with a realistic population (for demos, tests and benchmarks)'
complete -c oban -n "__fish_oban_using_subcommand help; and not __fish_seen_subcommand_from prune rescue stats inspect retry cancel delete pause resume queues migrate partitions seed doctor reindex vacuum demo completions help" -f -a "doctor" -d 'Check the jobs table\'s health: indexes, bloat, vacuum, what holds it back, orphans (read-only; exit 3 when any check warns or fails)'
complete -c oban -n "__fish_oban_using_subcommand help; and not __fish_seen_subcommand_from prune rescue stats inspect retry cancel delete pause resume queues migrate partitions seed doctor reindex vacuum demo completions help" -f -a "reindex" -d 'Rebuild the jobs table\'s indexes online, one at a time (PostgreSQL), dropping invalid leftovers first'
complete -c oban -n "__fish_oban_using_subcommand help; and not __fish_seen_subcommand_from prune rescue stats inspect retry cancel delete pause resume queues migrate partitions seed doctor reindex vacuum demo completions help" -f -a "vacuum" -d 'VACUUM (ANALYZE) the jobs table (SQLite: VACUUM the file)'
complete -c oban -n "__fish_oban_using_subcommand help; and not __fish_seen_subcommand_from prune rescue stats inspect retry cancel delete pause resume queues migrate partitions seed doctor reindex vacuum demo completions help" -f -a "demo" -d 'Walk through migrate, seed, prune, rescue, inspect and stats on a fresh SQLite database'
complete -c oban -n "__fish_oban_using_subcommand help; and not __fish_seen_subcommand_from prune rescue stats inspect retry cancel delete pause resume queues migrate partitions seed doctor reindex vacuum demo completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c oban -n "__fish_oban_using_subcommand help; and not __fish_seen_subcommand_from prune rescue stats inspect retry cancel delete pause resume queues migrate partitions seed doctor reindex vacuum demo completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
