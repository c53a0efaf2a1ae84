
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'oban' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'oban'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'oban' {
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Schema holding the Oban tables (Oban''s prefix) [env: OBAN_PREFIX] [default: public]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Only the [[targets]] of oban.toml with this name (repeatable)')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'Targets worked on at once [default: 4]')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--all-prefixes', '--all-prefixes', [CompletionResultType]::ParameterName, 'Every schema holding an Oban jobs table in each PostgreSQL target')
            [CompletionResult]::new('--all-targets', '--all-targets', [CompletionResultType]::ParameterName, 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Delete finished jobs (completed, cancelled, discarded) older than their cutoff')
            [CompletionResult]::new('rescue', 'rescue', [CompletionResultType]::ParameterValue, 'Move jobs orphaned in `executing` back to available (or discard them when out of attempts)')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Counts by queue and state, queue latency, throughput and database health')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'List jobs by filters, or show jobs by id in full (read-only)')
            [CompletionResult]::new('retry', 'retry', [CompletionResultType]::ParameterValue, 'Make jobs available to run now (any state but available and executing)')
            [CompletionResult]::new('cancel', 'cancel', [CompletionResultType]::ParameterValue, 'Cancel jobs that have not finished; running ones (PostgreSQL) are signalled to stop')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete jobs (any state but executing)')
            [CompletionResult]::new('pause', 'pause', [CompletionResultType]::ParameterValue, 'Pause queues: their producers start no new jobs (running jobs finish); confirmed per node where oban-py records it')
            [CompletionResult]::new('resume', 'resume', [CompletionResultType]::ParameterValue, 'Resume paused queues; confirmed per node where oban-py records it')
            [CompletionResult]::new('queues', 'queues', [CompletionResultType]::ParameterValue, 'One row per queue and node: paused, limit, running jobs, last heartbeat, with job counts')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Install or upgrade the Oban schema (idempotent; leaves an existing oban-py or Elixir schema alone)')
            [CompletionResult]::new('partitions', 'partitions', [CompletionResultType]::ParameterValue, 'On a partitioned table: make the leaves for the coming days (idempotent)')
            [CompletionResult]::new('seed', 'seed', [CompletionResultType]::ParameterValue, 'Fill the jobs table with a realistic population (for demos, tests and benchmarks)')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check the jobs table''s health: indexes, bloat, vacuum, what holds it back, orphans (read-only; exit 3 when any check warns or fails)')
            [CompletionResult]::new('reindex', 'reindex', [CompletionResultType]::ParameterValue, 'Rebuild the jobs table''s indexes online, one at a time (PostgreSQL), dropping invalid leftovers first')
            [CompletionResult]::new('vacuum', 'vacuum', [CompletionResultType]::ParameterValue, 'VACUUM (ANALYZE) the jobs table (SQLite: VACUUM the file)')
            [CompletionResult]::new('demo', 'demo', [CompletionResultType]::ParameterValue, 'Walk through migrate, seed, prune, rescue, inspect and stats on a fresh SQLite database')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'oban;prune' {
            [CompletionResult]::new('--max-age', '--max-age', [CompletionResultType]::ParameterName, 'Prune jobs finished longer ago than this [default: [pruner] max_age, else 1d]')
            [CompletionResult]::new('--completed-max-age', '--completed-max-age', [CompletionResultType]::ParameterName, 'Age for completed jobs (overrides --max-age)')
            [CompletionResult]::new('--cancelled-max-age', '--cancelled-max-age', [CompletionResultType]::ParameterName, 'Age for cancelled jobs (overrides --max-age)')
            [CompletionResult]::new('--discarded-max-age', '--discarded-max-age', [CompletionResultType]::ParameterName, 'Age for discarded jobs (overrides --max-age)')
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Only these final states (repeatable or comma-separated) [default: completed,cancelled,discarded]')
            [CompletionResult]::new('--rule', '--rule', [CompletionResultType]::ParameterName, 'A retention rule, e.g. ''queue=mailers,state=discarded,max_age=30d'' or ''worker=app.*,keep_last=1000'' (repeatable; first match wins; replaces the config file''s [[retention]] rules) [default: [[retention]], else none]')
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Only jobs in this queue (repeatable)')
            [CompletionResult]::new('--worker', '--worker', [CompletionResultType]::ParameterName, 'Only jobs of this worker (repeatable)')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Most rows deleted in one pass [default: [pruner] limit, else 20000]')
            [CompletionResult]::new('--batch-size', '--batch-size', [CompletionResultType]::ParameterName, 'Most rows deleted in one transaction [default: 10000]')
            [CompletionResult]::new('--pause', '--pause', [CompletionResultType]::ParameterName, 'Sleep between batches, to spare a busy database [default: 0s]')
            [CompletionResult]::new('--max-runtime', '--max-runtime', [CompletionResultType]::ParameterName, 'Stop a pass after this long, once the batch in flight has committed')
            [CompletionResult]::new('--connections', '--connections', [CompletionResultType]::ParameterName, 'Connections deleting at once (PostgreSQL): 2 drains from both ends of the eligible range, about 1.3-1.6 times as fast on a server with an idle core, at twice the load [default: 1]')
            [CompletionResult]::new('--vacuum-after', '--vacuum-after', [CompletionResultType]::ParameterName, 'With --vacuum: the rows a pass must delete before it vacuums [default: 10000]')
            [CompletionResult]::new('--archive', '--archive', [CompletionResultType]::ParameterName, 'Append every deleted row to FILE as one JSON object per line, synced before each batch commits')
            [CompletionResult]::new('--max-replica-lag', '--max-replica-lag', [CompletionResultType]::ParameterName, 'Before each batch, wait while any standby is further behind than this: WAL not yet replayed (16MB) or a time (30s)')
            [CompletionResult]::new('--max-slot-lag', '--max-slot-lag', [CompletionResultType]::ParameterName, 'Before each batch, wait while any replication slot keeps more WAL than this (e.g. 1GB)')
            [CompletionResult]::new('--max-wal-rate', '--max-wal-rate', [CompletionResultType]::ParameterName, 'Pace the pass so that the server writes at most this much WAL per second (e.g. 8MB/s)')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Give up on a lock after this long (PostgreSQL lock_timeout, SQLite busy timeout) [default: 5s]')
            [CompletionResult]::new('--statement-timeout', '--statement-timeout', [CompletionResultType]::ParameterName, 'Cancel any single statement running longer than this [default: 1m]')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Time between passes with --watch, at least 100ms [default: [pruner] interval, else 1m]')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Schema holding the Oban tables (Oban''s prefix) [env: OBAN_PREFIX] [default: public]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Only the [[targets]] of oban.toml with this name (repeatable)')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'Targets worked on at once [default: 4]')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Count what would be deleted, per state and queue, and delete nothing')
            [CompletionResult]::new('--vacuum', '--vacuum', [CompletionResultType]::ParameterName, 'Run VACUUM (ANALYZE) on the jobs table after a pass that deleted more than --vacuum-after rows')
            [CompletionResult]::new('--watch', '--watch', [CompletionResultType]::ParameterName, 'Run a pass every interval until Ctrl-C')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--all-prefixes', '--all-prefixes', [CompletionResultType]::ParameterName, 'Every schema holding an Oban jobs table in each PostgreSQL target')
            [CompletionResult]::new('--all-targets', '--all-targets', [CompletionResultType]::ParameterName, 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'oban;rescue' {
            [CompletionResult]::new('--rescue-after', '--rescue-after', [CompletionResultType]::ParameterName, 'Executing jobs attempted longer ago than this are orphans [default: [lifeline] rescue_after, else 5m]')
            [CompletionResult]::new('--producer-ttl', '--producer-ttl', [CompletionResultType]::ParameterName, 'With --accurate: a producer silent for this long is gone [default: 1m]')
            [CompletionResult]::new('--on-exhausted', '--on-exhausted', [CompletionResultType]::ParameterName, 'What to do with an orphan that has no attempts left [default: discard]')
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Only jobs in this queue (repeatable)')
            [CompletionResult]::new('--worker', '--worker', [CompletionResultType]::ParameterName, 'Only jobs of this worker (repeatable)')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Most jobs moved in one pass [default: 20000]')
            [CompletionResult]::new('--batch-size', '--batch-size', [CompletionResultType]::ParameterName, 'Most jobs moved in one transaction [default: 1000]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Give up on a lock after this long (PostgreSQL lock_timeout, SQLite busy timeout) [default: 5s]')
            [CompletionResult]::new('--statement-timeout', '--statement-timeout', [CompletionResultType]::ParameterName, 'Cancel any single statement running longer than this [default: 1m]')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Time between passes with --watch, at least 100ms [default: [lifeline] interval, else 1m]')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Schema holding the Oban tables (Oban''s prefix) [env: OBAN_PREFIX] [default: public]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Only the [[targets]] of oban.toml with this name (repeatable)')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'Targets worked on at once [default: 4]')
            [CompletionResult]::new('--accurate', '--accurate', [CompletionResultType]::ParameterName, 'Judge by producer heartbeats (oban_producers) instead of age: a job whose producer is gone is rescued at once, a job whose producer is alive never')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'List what would move and where, and change nothing')
            [CompletionResult]::new('--watch', '--watch', [CompletionResultType]::ParameterName, 'Run a pass every interval until Ctrl-C')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--all-prefixes', '--all-prefixes', [CompletionResultType]::ParameterName, 'Every schema holding an Oban jobs table in each PostgreSQL target')
            [CompletionResult]::new('--all-targets', '--all-targets', [CompletionResultType]::ParameterName, 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'oban;stats' {
            [CompletionResult]::new('--estimate-above', '--estimate-above', [CompletionResultType]::ParameterName, 'Sample tables above this many rows; a figure may be estimated (within ±25% at 95%) above a tenth of it [default: 50000]')
            [CompletionResult]::new('--seed', '--seed', [CompletionResultType]::ParameterName, 'Seed the samples, so that a pass on an unchanged table gives the same estimates (each pass draws a new seed without it)')
            [CompletionResult]::new('--budget', '--budget', [CompletionResultType]::ParameterName, 'Time a pass may spend sampling more or counting exactly before a figure is reported unknown [default: 250ms]')
            [CompletionResult]::new('--rescue-after', '--rescue-after', [CompletionResultType]::ParameterName, 'Executing longer than this counts as stuck [default: [lifeline] rescue_after, else 5m]')
            [CompletionResult]::new('--max-latency', '--max-latency', [CompletionResultType]::ParameterName, 'Breach (exit 3) when any queue''s oldest available job waited longer than this')
            [CompletionResult]::new('--max-stuck', '--max-stuck', [CompletionResultType]::ParameterName, 'Breach (exit 3) when more than N jobs are stuck in executing')
            [CompletionResult]::new('--max-discarded-rate', '--max-discarded-rate', [CompletionResultType]::ParameterName, 'Breach (exit 3) when more than N jobs were discarded in the last hour')
            [CompletionResult]::new('--statement-timeout', '--statement-timeout', [CompletionResultType]::ParameterName, 'Cancel any single statement running longer than this [default: 1m]')
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Serve /metrics (Prometheus text) and /healthz on ADDR until Ctrl-C, e.g. 127.0.0.1:9187')
            [CompletionResult]::new('--min-interval', '--min-interval', [CompletionResultType]::ParameterName, 'With --listen: reuse a result younger than this, so a burst of scrapers cannot load the database [default: 10s]')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Time between passes with --watch, at least 100ms [default: 5s]')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Schema holding the Oban tables (Oban''s prefix) [env: OBAN_PREFIX] [default: public]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Only the [[targets]] of oban.toml with this name (repeatable)')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'Targets worked on at once [default: 4]')
            [CompletionResult]::new('--exact', '--exact', [CompletionResultType]::ParameterName, 'Count every cell exactly, however large the table')
            [CompletionResult]::new('--watch', '--watch', [CompletionResultType]::ParameterName, 'Run a pass every interval until Ctrl-C')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--all-prefixes', '--all-prefixes', [CompletionResultType]::ParameterName, 'Every schema holding an Oban jobs table in each PostgreSQL target')
            [CompletionResult]::new('--all-targets', '--all-targets', [CompletionResultType]::ParameterName, 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'oban;inspect' {
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Only jobs in these states (repeatable or comma-separated)')
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Only jobs in this queue (repeatable)')
            [CompletionResult]::new('--worker', '--worker', [CompletionResultType]::ParameterName, 'Only jobs of this worker (repeatable)')
            [CompletionResult]::new('--tag', '--tag', [CompletionResultType]::ParameterName, 'Only jobs carrying this tag (repeatable: any of them)')
            [CompletionResult]::new('--args', '--args', [CompletionResultType]::ParameterName, 'Only jobs whose args contain this JSON object, e.g. ''{"user_id": 7}''')
            [CompletionResult]::new('--node', '--node', [CompletionResultType]::ParameterName, 'Only jobs last attempted by this node (attempted_by[1]; repeatable)')
            [CompletionResult]::new('--older-than', '--older-than', [CompletionResultType]::ParameterName, 'Only jobs whose timestamp (see --by) is older than this')
            [CompletionResult]::new('--newer-than', '--newer-than', [CompletionResultType]::ParameterName, 'Only jobs whose timestamp (see --by) is newer than this')
            [CompletionResult]::new('--by', '--by', [CompletionResultType]::ParameterName, 'Measure ages on this timestamp (without --by: the one that fits each state: attempted_at for executing, the final timestamp for completed/cancelled/discarded, else scheduled_at)')
            [CompletionResult]::new('--error', '--error', [CompletionResultType]::ParameterName, 'Only jobs whose last recorded error contains this text (case-insensitive)')
            [CompletionResult]::new('--meta', '--meta', [CompletionResultType]::ParameterName, 'Only jobs whose meta contains this JSON object, e.g. ''{"tenant": "acme"}''')
            [CompletionResult]::new('--priority', '--priority', [CompletionResultType]::ParameterName, 'Only jobs of this priority (repeatable or comma-separated; 0 runs first)')
            [CompletionResult]::new('--id-range', '--id-range', [CompletionResultType]::ParameterName, 'Only jobs whose id is in this inclusive range: A..B, A.. or ..B')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Most jobs listed [default: 20]')
            [CompletionResult]::new('--sort', '--sort', [CompletionResultType]::ParameterName, 'Sort the list by this column [default: id]')
            [CompletionResult]::new('--group-by', '--group-by', [CompletionResultType]::ParameterName, 'Count the matching jobs by the line of their last error that names the failure, most first (without --state: retryable and discarded jobs)')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Time between passes with --watch, at least 100ms [default: 2s]')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Schema holding the Oban tables (Oban''s prefix) [env: OBAN_PREFIX] [default: public]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Only the [[targets]] of oban.toml with this name (repeatable)')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'Targets worked on at once [default: 4]')
            [CompletionResult]::new('--stuck', '--stuck', [CompletionResultType]::ParameterName, 'Only executing jobs attempted longer ago than rescue_after (the lifeline''s) [default: [lifeline] rescue_after, else 5m]')
            [CompletionResult]::new('--desc', '--desc', [CompletionResultType]::ParameterName, 'Sort in descending order')
            [CompletionResult]::new('--wide', '--wide', [CompletionResultType]::ParameterName, 'More columns, full worker and args (wider than 80 columns)')
            [CompletionResult]::new('--watch', '--watch', [CompletionResultType]::ParameterName, 'Run a pass every interval until Ctrl-C')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--all-prefixes', '--all-prefixes', [CompletionResultType]::ParameterName, 'Every schema holding an Oban jobs table in each PostgreSQL target')
            [CompletionResult]::new('--all-targets', '--all-targets', [CompletionResultType]::ParameterName, 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'oban;retry' {
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Only jobs in these states (repeatable or comma-separated)')
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Only jobs in this queue (repeatable)')
            [CompletionResult]::new('--worker', '--worker', [CompletionResultType]::ParameterName, 'Only jobs of this worker (repeatable)')
            [CompletionResult]::new('--tag', '--tag', [CompletionResultType]::ParameterName, 'Only jobs carrying this tag (repeatable: any of them)')
            [CompletionResult]::new('--args', '--args', [CompletionResultType]::ParameterName, 'Only jobs whose args contain this JSON object, e.g. ''{"user_id": 7}''')
            [CompletionResult]::new('--node', '--node', [CompletionResultType]::ParameterName, 'Only jobs last attempted by this node (attempted_by[1]; repeatable)')
            [CompletionResult]::new('--older-than', '--older-than', [CompletionResultType]::ParameterName, 'Only jobs whose timestamp (see --by) is older than this')
            [CompletionResult]::new('--newer-than', '--newer-than', [CompletionResultType]::ParameterName, 'Only jobs whose timestamp (see --by) is newer than this')
            [CompletionResult]::new('--by', '--by', [CompletionResultType]::ParameterName, 'Measure ages on this timestamp (without --by: the one that fits each state: attempted_at for executing, the final timestamp for completed/cancelled/discarded, else scheduled_at)')
            [CompletionResult]::new('--error', '--error', [CompletionResultType]::ParameterName, 'Only jobs whose last recorded error contains this text (case-insensitive)')
            [CompletionResult]::new('--meta', '--meta', [CompletionResultType]::ParameterName, 'Only jobs whose meta contains this JSON object, e.g. ''{"tenant": "acme"}''')
            [CompletionResult]::new('--priority', '--priority', [CompletionResultType]::ParameterName, 'Only jobs of this priority (repeatable or comma-separated; 0 runs first)')
            [CompletionResult]::new('--id-range', '--id-range', [CompletionResultType]::ParameterName, 'Only jobs whose id is in this inclusive range: A..B, A.. or ..B')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Most jobs changed in one run; all: every match, in batches (resumable) [default: 1000]')
            [CompletionResult]::new('--batch-size', '--batch-size', [CompletionResultType]::ParameterName, 'Most jobs changed in one transaction [default: 500]')
            [CompletionResult]::new('--pause', '--pause', [CompletionResultType]::ParameterName, 'Sleep between batches, to spare a busy database')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Give up on a lock after this long (PostgreSQL lock_timeout, SQLite busy timeout) [default: 5s]')
            [CompletionResult]::new('--statement-timeout', '--statement-timeout', [CompletionResultType]::ParameterName, 'Cancel any single statement running longer than this [default: 1m]')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Schema holding the Oban tables (Oban''s prefix) [env: OBAN_PREFIX] [default: public]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Only the [[targets]] of oban.toml with this name (repeatable)')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'Targets worked on at once [default: 4]')
            [CompletionResult]::new('--stuck', '--stuck', [CompletionResultType]::ParameterName, 'Only executing jobs attempted longer ago than rescue_after (the lifeline''s) [default: [lifeline] rescue_after, else 5m]')
            [CompletionResult]::new('--all-matching', '--all-matching', [CompletionResultType]::ParameterName, 'Act on every job the filters match (required when acting by filter)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required with filters when stdin is not a terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show what would change, and change nothing')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--all-prefixes', '--all-prefixes', [CompletionResultType]::ParameterName, 'Every schema holding an Oban jobs table in each PostgreSQL target')
            [CompletionResult]::new('--all-targets', '--all-targets', [CompletionResultType]::ParameterName, 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'oban;cancel' {
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Only jobs in these states (repeatable or comma-separated)')
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Only jobs in this queue (repeatable)')
            [CompletionResult]::new('--worker', '--worker', [CompletionResultType]::ParameterName, 'Only jobs of this worker (repeatable)')
            [CompletionResult]::new('--tag', '--tag', [CompletionResultType]::ParameterName, 'Only jobs carrying this tag (repeatable: any of them)')
            [CompletionResult]::new('--args', '--args', [CompletionResultType]::ParameterName, 'Only jobs whose args contain this JSON object, e.g. ''{"user_id": 7}''')
            [CompletionResult]::new('--node', '--node', [CompletionResultType]::ParameterName, 'Only jobs last attempted by this node (attempted_by[1]; repeatable)')
            [CompletionResult]::new('--older-than', '--older-than', [CompletionResultType]::ParameterName, 'Only jobs whose timestamp (see --by) is older than this')
            [CompletionResult]::new('--newer-than', '--newer-than', [CompletionResultType]::ParameterName, 'Only jobs whose timestamp (see --by) is newer than this')
            [CompletionResult]::new('--by', '--by', [CompletionResultType]::ParameterName, 'Measure ages on this timestamp (without --by: the one that fits each state: attempted_at for executing, the final timestamp for completed/cancelled/discarded, else scheduled_at)')
            [CompletionResult]::new('--error', '--error', [CompletionResultType]::ParameterName, 'Only jobs whose last recorded error contains this text (case-insensitive)')
            [CompletionResult]::new('--meta', '--meta', [CompletionResultType]::ParameterName, 'Only jobs whose meta contains this JSON object, e.g. ''{"tenant": "acme"}''')
            [CompletionResult]::new('--priority', '--priority', [CompletionResultType]::ParameterName, 'Only jobs of this priority (repeatable or comma-separated; 0 runs first)')
            [CompletionResult]::new('--id-range', '--id-range', [CompletionResultType]::ParameterName, 'Only jobs whose id is in this inclusive range: A..B, A.. or ..B')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Most jobs changed in one run; all: every match, in batches (resumable) [default: 1000]')
            [CompletionResult]::new('--batch-size', '--batch-size', [CompletionResultType]::ParameterName, 'Most jobs changed in one transaction [default: 500]')
            [CompletionResult]::new('--pause', '--pause', [CompletionResultType]::ParameterName, 'Sleep between batches, to spare a busy database')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Give up on a lock after this long (PostgreSQL lock_timeout, SQLite busy timeout) [default: 5s]')
            [CompletionResult]::new('--statement-timeout', '--statement-timeout', [CompletionResultType]::ParameterName, 'Cancel any single statement running longer than this [default: 1m]')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Wait this long for executing jobs to leave executing (PostgreSQL; oban-py stops a job only when it checks job.cancelled())')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Schema holding the Oban tables (Oban''s prefix) [env: OBAN_PREFIX] [default: public]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Only the [[targets]] of oban.toml with this name (repeatable)')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'Targets worked on at once [default: 4]')
            [CompletionResult]::new('--stuck', '--stuck', [CompletionResultType]::ParameterName, 'Only executing jobs attempted longer ago than rescue_after (the lifeline''s) [default: [lifeline] rescue_after, else 5m]')
            [CompletionResult]::new('--all-matching', '--all-matching', [CompletionResultType]::ParameterName, 'Act on every job the filters match (required when acting by filter)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required with filters when stdin is not a terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show what would change, and change nothing')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--all-prefixes', '--all-prefixes', [CompletionResultType]::ParameterName, 'Every schema holding an Oban jobs table in each PostgreSQL target')
            [CompletionResult]::new('--all-targets', '--all-targets', [CompletionResultType]::ParameterName, 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'oban;delete' {
            [CompletionResult]::new('--state', '--state', [CompletionResultType]::ParameterName, 'Only jobs in these states (repeatable or comma-separated)')
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Only jobs in this queue (repeatable)')
            [CompletionResult]::new('--worker', '--worker', [CompletionResultType]::ParameterName, 'Only jobs of this worker (repeatable)')
            [CompletionResult]::new('--tag', '--tag', [CompletionResultType]::ParameterName, 'Only jobs carrying this tag (repeatable: any of them)')
            [CompletionResult]::new('--args', '--args', [CompletionResultType]::ParameterName, 'Only jobs whose args contain this JSON object, e.g. ''{"user_id": 7}''')
            [CompletionResult]::new('--node', '--node', [CompletionResultType]::ParameterName, 'Only jobs last attempted by this node (attempted_by[1]; repeatable)')
            [CompletionResult]::new('--older-than', '--older-than', [CompletionResultType]::ParameterName, 'Only jobs whose timestamp (see --by) is older than this')
            [CompletionResult]::new('--newer-than', '--newer-than', [CompletionResultType]::ParameterName, 'Only jobs whose timestamp (see --by) is newer than this')
            [CompletionResult]::new('--by', '--by', [CompletionResultType]::ParameterName, 'Measure ages on this timestamp (without --by: the one that fits each state: attempted_at for executing, the final timestamp for completed/cancelled/discarded, else scheduled_at)')
            [CompletionResult]::new('--error', '--error', [CompletionResultType]::ParameterName, 'Only jobs whose last recorded error contains this text (case-insensitive)')
            [CompletionResult]::new('--meta', '--meta', [CompletionResultType]::ParameterName, 'Only jobs whose meta contains this JSON object, e.g. ''{"tenant": "acme"}''')
            [CompletionResult]::new('--priority', '--priority', [CompletionResultType]::ParameterName, 'Only jobs of this priority (repeatable or comma-separated; 0 runs first)')
            [CompletionResult]::new('--id-range', '--id-range', [CompletionResultType]::ParameterName, 'Only jobs whose id is in this inclusive range: A..B, A.. or ..B')
            [CompletionResult]::new('--limit', '--limit', [CompletionResultType]::ParameterName, 'Most jobs changed in one run; all: every match, in batches (resumable) [default: 1000]')
            [CompletionResult]::new('--batch-size', '--batch-size', [CompletionResultType]::ParameterName, 'Most jobs changed in one transaction [default: 500]')
            [CompletionResult]::new('--pause', '--pause', [CompletionResultType]::ParameterName, 'Sleep between batches, to spare a busy database')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Give up on a lock after this long (PostgreSQL lock_timeout, SQLite busy timeout) [default: 5s]')
            [CompletionResult]::new('--statement-timeout', '--statement-timeout', [CompletionResultType]::ParameterName, 'Cancel any single statement running longer than this [default: 1m]')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Schema holding the Oban tables (Oban''s prefix) [env: OBAN_PREFIX] [default: public]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Only the [[targets]] of oban.toml with this name (repeatable)')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'Targets worked on at once [default: 4]')
            [CompletionResult]::new('--stuck', '--stuck', [CompletionResultType]::ParameterName, 'Only executing jobs attempted longer ago than rescue_after (the lifeline''s) [default: [lifeline] rescue_after, else 5m]')
            [CompletionResult]::new('--all-matching', '--all-matching', [CompletionResultType]::ParameterName, 'Act on every job the filters match (required when acting by filter)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Do not ask for confirmation (required with filters when stdin is not a terminal)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show what would change, and change nothing')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--all-prefixes', '--all-prefixes', [CompletionResultType]::ParameterName, 'Every schema holding an Oban jobs table in each PostgreSQL target')
            [CompletionResult]::new('--all-targets', '--all-targets', [CompletionResultType]::ParameterName, 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'oban;pause' {
            [CompletionResult]::new('--node', '--node', [CompletionResultType]::ParameterName, 'Only the producers on this node')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'How long to wait for each producer to record the new state (oban-py); 0s sends and does not wait [default: 5s]')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Schema holding the Oban tables (Oban''s prefix) [env: OBAN_PREFIX] [default: public]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Only the [[targets]] of oban.toml with this name (repeatable)')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'Targets worked on at once [default: 4]')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every queue')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--all-prefixes', '--all-prefixes', [CompletionResultType]::ParameterName, 'Every schema holding an Oban jobs table in each PostgreSQL target')
            [CompletionResult]::new('--all-targets', '--all-targets', [CompletionResultType]::ParameterName, 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'oban;resume' {
            [CompletionResult]::new('--node', '--node', [CompletionResultType]::ParameterName, 'Only the producers on this node')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'How long to wait for each producer to record the new state (oban-py); 0s sends and does not wait [default: 5s]')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Schema holding the Oban tables (Oban''s prefix) [env: OBAN_PREFIX] [default: public]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Only the [[targets]] of oban.toml with this name (repeatable)')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'Targets worked on at once [default: 4]')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Every queue')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--all-prefixes', '--all-prefixes', [CompletionResultType]::ParameterName, 'Every schema holding an Oban jobs table in each PostgreSQL target')
            [CompletionResult]::new('--all-targets', '--all-targets', [CompletionResultType]::ParameterName, 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'oban;queues' {
            [CompletionResult]::new('--queue', '--queue', [CompletionResultType]::ParameterName, 'Only these queues (repeatable)')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Time between passes with --watch, at least 100ms [default: 2s]')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Schema holding the Oban tables (Oban''s prefix) [env: OBAN_PREFIX] [default: public]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Only the [[targets]] of oban.toml with this name (repeatable)')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'Targets worked on at once [default: 4]')
            [CompletionResult]::new('--watch', '--watch', [CompletionResultType]::ParameterName, 'Run a pass every interval until Ctrl-C')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--all-prefixes', '--all-prefixes', [CompletionResultType]::ParameterName, 'Every schema holding an Oban jobs table in each PostgreSQL target')
            [CompletionResult]::new('--all-targets', '--all-targets', [CompletionResultType]::ParameterName, 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'oban;migrate' {
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'With --partitioned: move the jobs of the ordinary oban-py oban_jobs in this schema into the partitioned layout (made in --prefix) while workers run: in batches, open jobs last, then one short lock for what changed meanwhile; the old table is kept as oban_jobs_unpartitioned. Stopped at any point, the same command resumes')
            [CompletionResult]::new('--batch-size', '--batch-size', [CompletionResultType]::ParameterName, 'With --from: most rows copied in one transaction [default: 10000]')
            [CompletionResult]::new('--max-batches', '--max-batches', [CompletionResultType]::ParameterName, 'With --from: stop after this many batches, before the switch (the next run resumes)')
            [CompletionResult]::new('--max-switch-rows', '--max-switch-rows', [CompletionResultType]::ParameterName, 'With --from: most recorded changes the switch copies under its lock; with more it refuses and changes nothing [default: 20000]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Give up on a lock after this long (PostgreSQL lock_timeout, SQLite busy timeout) [default: 5s]')
            [CompletionResult]::new('--statement-timeout', '--statement-timeout', [CompletionResultType]::ParameterName, 'Cancel any single statement running longer than this [default: 1m]')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Schema holding the Oban tables (Oban''s prefix) [env: OBAN_PREFIX] [default: public]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Only the [[targets]] of oban.toml with this name (repeatable)')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'Targets worked on at once [default: 4]')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'List the migrations that would run, and run none')
            [CompletionResult]::new('--partitioned', '--partitioned', [CompletionResultType]::ParameterName, 'Create oban_jobs partitioned (LIST by state, final states by day, oban-py''s columns) with leaves for today and the next two days (PostgreSQL; where there is no oban_jobs yet, or with --from)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--all-prefixes', '--all-prefixes', [CompletionResultType]::ParameterName, 'Every schema holding an Oban jobs table in each PostgreSQL target')
            [CompletionResult]::new('--all-targets', '--all-targets', [CompletionResultType]::ParameterName, 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'oban;partitions' {
            [CompletionResult]::new('--premake', '--premake', [CompletionResultType]::ParameterName, 'Make sure each final state partitioned by day has a leaf for every day this far ahead, today included (rounded up to whole days) [default: 3d]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Give up on a lock after this long (PostgreSQL lock_timeout, SQLite busy timeout) [default: 5s]')
            [CompletionResult]::new('--statement-timeout', '--statement-timeout', [CompletionResultType]::ParameterName, 'Cancel any single statement running longer than this [default: 1m]')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Schema holding the Oban tables (Oban''s prefix) [env: OBAN_PREFIX] [default: public]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Only the [[targets]] of oban.toml with this name (repeatable)')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'Targets worked on at once [default: 4]')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'List the leaves that would be created, and create none')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--all-prefixes', '--all-prefixes', [CompletionResultType]::ParameterName, 'Every schema holding an Oban jobs table in each PostgreSQL target')
            [CompletionResult]::new('--all-targets', '--all-targets', [CompletionResultType]::ParameterName, 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'oban;seed' {
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'How many jobs to insert')
            [CompletionResult]::new('--seed', '--seed', [CompletionResultType]::ParameterName, 'Random seed, for a reproducible population')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Schema holding the Oban tables (Oban''s prefix) [env: OBAN_PREFIX] [default: public]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Only the [[targets]] of oban.toml with this name (repeatable)')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'Targets worked on at once [default: 4]')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Insert even when the table already has jobs')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--all-prefixes', '--all-prefixes', [CompletionResultType]::ParameterName, 'Every schema holding an Oban jobs table in each PostgreSQL target')
            [CompletionResult]::new('--all-targets', '--all-targets', [CompletionResultType]::ParameterName, 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'oban;doctor' {
            [CompletionResult]::new('--max-bloat', '--max-bloat', [CompletionResultType]::ParameterName, 'An index or the table is bloated when this share of it (percent) is wasted space [default: 50%]')
            [CompletionResult]::new('--min-bloat', '--min-bloat', [CompletionResultType]::ParameterName, 'Never report less wasted space than this (0, 512kB, 8MB, 1GB) [default: 8MB]')
            [CompletionResult]::new('--rescue-after', '--rescue-after', [CompletionResultType]::ParameterName, 'Executing jobs attempted longer ago than this are orphans [default: [lifeline] rescue_after, else 5m]')
            [CompletionResult]::new('--max-age', '--max-age', [CompletionResultType]::ParameterName, 'Final jobs older than this should have been pruned [default: [pruner] max_age, else 1d]')
            [CompletionResult]::new('--max-transaction-age', '--max-transaction-age', [CompletionResultType]::ParameterName, 'Warn about a transaction open longer than this (it holds back vacuum) [default: 10m]')
            [CompletionResult]::new('--max-idle', '--max-idle', [CompletionResultType]::ParameterName, 'Warn about a session idle in a transaction longer than this [default: 1m]')
            [CompletionResult]::new('--max-latency', '--max-latency', [CompletionResultType]::ParameterName, 'Warn when the oldest available job has waited longer than this [default: 5m]')
            [CompletionResult]::new('--statement-timeout', '--statement-timeout', [CompletionResultType]::ParameterName, 'Cancel any single statement running longer than this [default: 1m]')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Schema holding the Oban tables (Oban''s prefix) [env: OBAN_PREFIX] [default: public]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Only the [[targets]] of oban.toml with this name (repeatable)')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'Targets worked on at once [default: 4]')
            [CompletionResult]::new('--exact', '--exact', [CompletionResultType]::ParameterName, 'Measure bloat with the pgstattuple extension (when installed) instead of estimating it from the statistics; SQLite: integrity_check instead of quick_check')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--all-prefixes', '--all-prefixes', [CompletionResultType]::ParameterName, 'Every schema holding an Oban jobs table in each PostgreSQL target')
            [CompletionResult]::new('--all-targets', '--all-targets', [CompletionResultType]::ParameterName, 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'oban;reindex' {
            [CompletionResult]::new('--index', '--index', [CompletionResultType]::ParameterName, 'Rebuild only this index (repeatable)')
            [CompletionResult]::new('--max-bloat', '--max-bloat', [CompletionResultType]::ParameterName, 'An index or the table is bloated when this share of it (percent) is wasted space [default: 50%]')
            [CompletionResult]::new('--min-bloat', '--min-bloat', [CompletionResultType]::ParameterName, 'Never report less wasted space than this (0, 512kB, 8MB, 1GB) [default: 8MB]')
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Give up on a lock after this long (PostgreSQL lock_timeout, SQLite busy timeout) [default: 5s]')
            [CompletionResult]::new('--statement-timeout', '--statement-timeout', [CompletionResultType]::ParameterName, 'Cancel any single statement running longer than this [default: 1h]')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Schema holding the Oban tables (Oban''s prefix) [env: OBAN_PREFIX] [default: public]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Only the [[targets]] of oban.toml with this name (repeatable)')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'Targets worked on at once [default: 4]')
            [CompletionResult]::new('--bloated-only', '--bloated-only', [CompletionResultType]::ParameterName, 'Rebuild only the indexes doctor reports bloated')
            [CompletionResult]::new('--exact', '--exact', [CompletionResultType]::ParameterName, 'Measure bloat with the pgstattuple extension (when installed) instead of estimating it from the statistics; SQLite: integrity_check instead of quick_check')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'List what would be dropped and rebuilt, and change nothing')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--all-prefixes', '--all-prefixes', [CompletionResultType]::ParameterName, 'Every schema holding an Oban jobs table in each PostgreSQL target')
            [CompletionResult]::new('--all-targets', '--all-targets', [CompletionResultType]::ParameterName, 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'oban;vacuum' {
            [CompletionResult]::new('--lock-timeout', '--lock-timeout', [CompletionResultType]::ParameterName, 'Give up on a lock after this long (PostgreSQL lock_timeout, SQLite busy timeout) [default: 5s]')
            [CompletionResult]::new('--statement-timeout', '--statement-timeout', [CompletionResultType]::ParameterName, 'Cancel any single statement running longer than this [default: 1h]')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Schema holding the Oban tables (Oban''s prefix) [env: OBAN_PREFIX] [default: public]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Only the [[targets]] of oban.toml with this name (repeatable)')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'Targets worked on at once [default: 4]')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--all-prefixes', '--all-prefixes', [CompletionResultType]::ParameterName, 'Every schema holding an Oban jobs table in each PostgreSQL target')
            [CompletionResult]::new('--all-targets', '--all-targets', [CompletionResultType]::ParameterName, 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'oban;demo' {
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'How many jobs to seed')
            [CompletionResult]::new('--keep', '--keep', [CompletionResultType]::ParameterName, 'Keep the demo database at this path instead of a temporary file')
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Schema holding the Oban tables (Oban''s prefix) [env: OBAN_PREFIX] [default: public]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Only the [[targets]] of oban.toml with this name (repeatable)')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'Targets worked on at once [default: 4]')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--all-prefixes', '--all-prefixes', [CompletionResultType]::ParameterName, 'Every schema holding an Oban jobs table in each PostgreSQL target')
            [CompletionResult]::new('--all-targets', '--all-targets', [CompletionResultType]::ParameterName, 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'oban;completions' {
            [CompletionResult]::new('-d', '-d', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('--database-url', '--database-url', [CompletionResultType]::ParameterName, 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file; repeat for several targets [env: OBAN_DSN, DATABASE_URL]')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ./oban.toml when present]')
            [CompletionResult]::new('--prefix', '--prefix', [CompletionResultType]::ParameterName, 'Schema holding the Oban tables (Oban''s prefix) [env: OBAN_PREFIX] [default: public]')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'Output format [default: table]')
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Only the [[targets]] of oban.toml with this name (repeatable)')
            [CompletionResult]::new('--parallel', '--parallel', [CompletionResultType]::ParameterName, 'Targets worked on at once [default: 4]')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Print nothing on success in table format (errors still go to stderr)')
            [CompletionResult]::new('--all-prefixes', '--all-prefixes', [CompletionResultType]::ParameterName, 'Every schema holding an Oban jobs table in each PostgreSQL target')
            [CompletionResult]::new('--all-targets', '--all-targets', [CompletionResultType]::ParameterName, 'Let an action or schema change (retry, cancel, delete, pause, resume, migrate, …) run on every target')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'oban;help' {
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Delete finished jobs (completed, cancelled, discarded) older than their cutoff')
            [CompletionResult]::new('rescue', 'rescue', [CompletionResultType]::ParameterValue, 'Move jobs orphaned in `executing` back to available (or discard them when out of attempts)')
            [CompletionResult]::new('stats', 'stats', [CompletionResultType]::ParameterValue, 'Counts by queue and state, queue latency, throughput and database health')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'List jobs by filters, or show jobs by id in full (read-only)')
            [CompletionResult]::new('retry', 'retry', [CompletionResultType]::ParameterValue, 'Make jobs available to run now (any state but available and executing)')
            [CompletionResult]::new('cancel', 'cancel', [CompletionResultType]::ParameterValue, 'Cancel jobs that have not finished; running ones (PostgreSQL) are signalled to stop')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Delete jobs (any state but executing)')
            [CompletionResult]::new('pause', 'pause', [CompletionResultType]::ParameterValue, 'Pause queues: their producers start no new jobs (running jobs finish); confirmed per node where oban-py records it')
            [CompletionResult]::new('resume', 'resume', [CompletionResultType]::ParameterValue, 'Resume paused queues; confirmed per node where oban-py records it')
            [CompletionResult]::new('queues', 'queues', [CompletionResultType]::ParameterValue, 'One row per queue and node: paused, limit, running jobs, last heartbeat, with job counts')
            [CompletionResult]::new('migrate', 'migrate', [CompletionResultType]::ParameterValue, 'Install or upgrade the Oban schema (idempotent; leaves an existing oban-py or Elixir schema alone)')
            [CompletionResult]::new('partitions', 'partitions', [CompletionResultType]::ParameterValue, 'On a partitioned table: make the leaves for the coming days (idempotent)')
            [CompletionResult]::new('seed', 'seed', [CompletionResultType]::ParameterValue, 'Fill the jobs table with a realistic population (for demos, tests and benchmarks)')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Check the jobs table''s health: indexes, bloat, vacuum, what holds it back, orphans (read-only; exit 3 when any check warns or fails)')
            [CompletionResult]::new('reindex', 'reindex', [CompletionResultType]::ParameterValue, 'Rebuild the jobs table''s indexes online, one at a time (PostgreSQL), dropping invalid leftovers first')
            [CompletionResult]::new('vacuum', 'vacuum', [CompletionResultType]::ParameterValue, 'VACUUM (ANALYZE) the jobs table (SQLite: VACUUM the file)')
            [CompletionResult]::new('demo', 'demo', [CompletionResultType]::ParameterValue, 'Walk through migrate, seed, prune, rescue, inspect and stats on a fresh SQLite database')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'oban;help;prune' {
            break
        }
        'oban;help;rescue' {
            break
        }
        'oban;help;stats' {
            break
        }
        'oban;help;inspect' {
            break
        }
        'oban;help;retry' {
            break
        }
        'oban;help;cancel' {
            break
        }
        'oban;help;delete' {
            break
        }
        'oban;help;pause' {
            break
        }
        'oban;help;resume' {
            break
        }
        'oban;help;queues' {
            break
        }
        'oban;help;migrate' {
            break
        }
        'oban;help;partitions' {
            break
        }
        'oban;help;seed' {
            break
        }
        'oban;help;doctor' {
            break
        }
        'oban;help;reindex' {
            break
        }
        'oban;help;vacuum' {
            break
        }
        'oban;help;demo' {
            break
        }
        'oban;help;completions' {
            break
        }
        'oban;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
