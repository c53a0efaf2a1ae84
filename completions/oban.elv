
use builtin;
use str;

set edit:completion:arg-completer[oban] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'oban'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'oban'= {
            cand -d 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file [env: OBAN_DSN, DATABASE_URL]'
            cand --database-url 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file [env: OBAN_DSN, DATABASE_URL]'
            cand -c 'Configuration file [default: ./oban.toml when present]'
            cand --config 'Configuration file [default: ./oban.toml when present]'
            cand --prefix 'Schema holding the Oban tables (Oban''s prefix) [env: OBAN_PREFIX] [default: public]'
            cand -o 'Output format [default: table]'
            cand --format 'Output format [default: table]'
            cand -q 'Print nothing on success in table format (errors still go to stderr)'
            cand --quiet 'Print nothing on success in table format (errors still go to stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand prune 'Delete finished jobs (completed, cancelled, discarded) older than their cutoff'
            cand rescue 'Move jobs orphaned in `executing` back to available (or discard them when out of attempts)'
            cand stats 'Counts by queue and state, queue latency, throughput and database health'
            cand inspect 'List jobs by filters, or show jobs by id in full (read-only)'
            cand retry 'Make jobs available to run now (any state but available and executing)'
            cand cancel 'Cancel jobs that are neither finished nor running (available, scheduled, retryable, suspended)'
            cand delete 'Delete jobs (any state but executing)'
            cand migrate 'Install or upgrade the Oban schema (idempotent; leaves an existing oban-py or Elixir schema alone)'
            cand seed 'Fill the jobs table with a realistic population (for demos, tests and benchmarks)'
            cand demo 'Walk through migrate, seed, prune, rescue, inspect and stats on a fresh SQLite database'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'oban;prune'= {
            cand --max-age 'Prune jobs finished longer ago than this [default: [pruner] max_age, else 1d]'
            cand --completed-max-age 'Age for completed jobs (overrides --max-age)'
            cand --cancelled-max-age 'Age for cancelled jobs (overrides --max-age)'
            cand --discarded-max-age 'Age for discarded jobs (overrides --max-age)'
            cand --state 'Only these final states (repeatable or comma-separated) [default: completed,cancelled,discarded]'
            cand --queue 'Only jobs in this queue (repeatable)'
            cand --worker 'Only jobs of this worker (repeatable)'
            cand --limit 'Most rows deleted in one pass [default: [pruner] limit, else 20000]'
            cand --batch-size 'Most rows deleted in one transaction [default: 10000]'
            cand --pause 'Sleep between batches, to spare a busy database [default: 0s]'
            cand --max-runtime 'Stop a pass after this long, once the batch in flight has committed'
            cand --connections 'Connections deleting at once (PostgreSQL): 2 drains from both ends of the eligible range, about twice as fast, at twice the load [default: 1]'
            cand --archive 'Append every deleted row to FILE as one JSON object per line, synced before each batch commits'
            cand --max-replica-lag 'Before each batch, wait while any standby is further behind than this: WAL not yet replayed (16MB) or a time (30s)'
            cand --max-slot-lag 'Before each batch, wait while any replication slot keeps more WAL than this (e.g. 1GB)'
            cand --max-wal-rate 'Pace the pass so that the server writes at most this much WAL per second (e.g. 8MB/s)'
            cand --lock-timeout 'Give up on a lock after this long (PostgreSQL lock_timeout, SQLite busy timeout) [default: 5s]'
            cand --statement-timeout 'Cancel any single statement running longer than this [default: 1m]'
            cand --interval 'Time between passes with --watch, at least 100ms [default: [pruner] interval, else 1m]'
            cand -d 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file [env: OBAN_DSN, DATABASE_URL]'
            cand --database-url 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file [env: OBAN_DSN, DATABASE_URL]'
            cand -c 'Configuration file [default: ./oban.toml when present]'
            cand --config 'Configuration file [default: ./oban.toml when present]'
            cand --prefix 'Schema holding the Oban tables (Oban''s prefix) [env: OBAN_PREFIX] [default: public]'
            cand -o 'Output format [default: table]'
            cand --format 'Output format [default: table]'
            cand --dry-run 'Count what would be deleted, per state and queue, and delete nothing'
            cand --watch 'Run a pass every interval until Ctrl-C'
            cand -q 'Print nothing on success in table format (errors still go to stderr)'
            cand --quiet 'Print nothing on success in table format (errors still go to stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'oban;rescue'= {
            cand --rescue-after 'Executing jobs attempted longer ago than this are orphans [default: [lifeline] rescue_after, else 5m]'
            cand --producer-ttl 'With --accurate: a producer silent for this long is gone [default: 1m]'
            cand --on-exhausted 'What to do with an orphan that has no attempts left [default: discard]'
            cand --queue 'Only jobs in this queue (repeatable)'
            cand --worker 'Only jobs of this worker (repeatable)'
            cand --limit 'Most jobs moved in one pass [default: 20000]'
            cand --batch-size 'Most jobs moved in one transaction [default: 1000]'
            cand --lock-timeout 'Give up on a lock after this long (PostgreSQL lock_timeout, SQLite busy timeout) [default: 5s]'
            cand --statement-timeout 'Cancel any single statement running longer than this [default: 1m]'
            cand --interval 'Time between passes with --watch, at least 100ms [default: [lifeline] interval, else 1m]'
            cand -d 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file [env: OBAN_DSN, DATABASE_URL]'
            cand --database-url 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file [env: OBAN_DSN, DATABASE_URL]'
            cand -c 'Configuration file [default: ./oban.toml when present]'
            cand --config 'Configuration file [default: ./oban.toml when present]'
            cand --prefix 'Schema holding the Oban tables (Oban''s prefix) [env: OBAN_PREFIX] [default: public]'
            cand -o 'Output format [default: table]'
            cand --format 'Output format [default: table]'
            cand --accurate 'Judge by producer heartbeats (oban_producers) instead of age: a job whose producer is gone is rescued at once, a job whose producer is alive never'
            cand --dry-run 'List what would move and where, and change nothing'
            cand --watch 'Run a pass every interval until Ctrl-C'
            cand -q 'Print nothing on success in table format (errors still go to stderr)'
            cand --quiet 'Print nothing on success in table format (errors still go to stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'oban;stats'= {
            cand --estimate-above 'Sample tables above this many rows; a figure may be estimated (within ±25% at 95%) above a tenth of it [default: 50000]'
            cand --budget 'Time a pass may spend sampling more or counting exactly before a figure is reported unknown [default: 250ms]'
            cand --rescue-after 'Executing longer than this counts as stuck [default: [lifeline] rescue_after, else 5m]'
            cand --max-latency 'Breach (exit 3) when any queue''s oldest available job waited longer than this'
            cand --max-stuck 'Breach (exit 3) when more than N jobs are stuck in executing'
            cand --max-discarded-rate 'Breach (exit 3) when more than N jobs were discarded in the last hour'
            cand --statement-timeout 'Cancel any single statement running longer than this [default: 1m]'
            cand --interval 'Time between passes with --watch, at least 100ms [default: 5s]'
            cand -d 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file [env: OBAN_DSN, DATABASE_URL]'
            cand --database-url 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file [env: OBAN_DSN, DATABASE_URL]'
            cand -c 'Configuration file [default: ./oban.toml when present]'
            cand --config 'Configuration file [default: ./oban.toml when present]'
            cand --prefix 'Schema holding the Oban tables (Oban''s prefix) [env: OBAN_PREFIX] [default: public]'
            cand -o 'Output format [default: table]'
            cand --format 'Output format [default: table]'
            cand --exact 'Count every cell exactly, however large the table'
            cand --watch 'Run a pass every interval until Ctrl-C'
            cand -q 'Print nothing on success in table format (errors still go to stderr)'
            cand --quiet 'Print nothing on success in table format (errors still go to stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'oban;inspect'= {
            cand --state 'Only jobs in these states (repeatable or comma-separated)'
            cand --queue 'Only jobs in this queue (repeatable)'
            cand --worker 'Only jobs of this worker (repeatable)'
            cand --tag 'Only jobs carrying this tag (repeatable: any of them)'
            cand --args 'Only jobs whose args contain this JSON object, e.g. ''{"user_id": 7}'''
            cand --node 'Only jobs last attempted by this node (attempted_by[1]; repeatable)'
            cand --older-than 'Only jobs whose timestamp (see --by) is older than this'
            cand --newer-than 'Only jobs whose timestamp (see --by) is newer than this'
            cand --by 'Measure ages on this timestamp (without --by: the one that fits each state: attempted_at for executing, the final timestamp for completed/cancelled/discarded, else scheduled_at)'
            cand --limit 'Most jobs listed [default: 20]'
            cand --sort 'Sort the list by this column [default: id]'
            cand --interval 'Time between passes with --watch, at least 100ms [default: 2s]'
            cand -d 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file [env: OBAN_DSN, DATABASE_URL]'
            cand --database-url 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file [env: OBAN_DSN, DATABASE_URL]'
            cand -c 'Configuration file [default: ./oban.toml when present]'
            cand --config 'Configuration file [default: ./oban.toml when present]'
            cand --prefix 'Schema holding the Oban tables (Oban''s prefix) [env: OBAN_PREFIX] [default: public]'
            cand -o 'Output format [default: table]'
            cand --format 'Output format [default: table]'
            cand --stuck 'Only executing jobs attempted longer ago than rescue_after (the lifeline''s) [default: [lifeline] rescue_after, else 5m]'
            cand --desc 'Sort in descending order'
            cand --wide 'More columns, full worker and args (wider than 80 columns)'
            cand --watch 'Run a pass every interval until Ctrl-C'
            cand -q 'Print nothing on success in table format (errors still go to stderr)'
            cand --quiet 'Print nothing on success in table format (errors still go to stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'oban;retry'= {
            cand --state 'Only jobs in these states (repeatable or comma-separated)'
            cand --queue 'Only jobs in this queue (repeatable)'
            cand --worker 'Only jobs of this worker (repeatable)'
            cand --tag 'Only jobs carrying this tag (repeatable: any of them)'
            cand --args 'Only jobs whose args contain this JSON object, e.g. ''{"user_id": 7}'''
            cand --node 'Only jobs last attempted by this node (attempted_by[1]; repeatable)'
            cand --older-than 'Only jobs whose timestamp (see --by) is older than this'
            cand --newer-than 'Only jobs whose timestamp (see --by) is newer than this'
            cand --by 'Measure ages on this timestamp (without --by: the one that fits each state: attempted_at for executing, the final timestamp for completed/cancelled/discarded, else scheduled_at)'
            cand --limit 'Most jobs changed in one run [default: 1000]'
            cand --batch-size 'Most jobs changed in one transaction [default: 500]'
            cand --lock-timeout 'Give up on a lock after this long (PostgreSQL lock_timeout, SQLite busy timeout) [default: 5s]'
            cand --statement-timeout 'Cancel any single statement running longer than this [default: 1m]'
            cand -d 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file [env: OBAN_DSN, DATABASE_URL]'
            cand --database-url 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file [env: OBAN_DSN, DATABASE_URL]'
            cand -c 'Configuration file [default: ./oban.toml when present]'
            cand --config 'Configuration file [default: ./oban.toml when present]'
            cand --prefix 'Schema holding the Oban tables (Oban''s prefix) [env: OBAN_PREFIX] [default: public]'
            cand -o 'Output format [default: table]'
            cand --format 'Output format [default: table]'
            cand --stuck 'Only executing jobs attempted longer ago than rescue_after (the lifeline''s) [default: [lifeline] rescue_after, else 5m]'
            cand --all-matching 'Act on every job the filters match (required when acting by filter)'
            cand --yes 'Do not ask for confirmation (required with filters when stdin is not a terminal)'
            cand --dry-run 'Show what would change, and change nothing'
            cand -q 'Print nothing on success in table format (errors still go to stderr)'
            cand --quiet 'Print nothing on success in table format (errors still go to stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'oban;cancel'= {
            cand --state 'Only jobs in these states (repeatable or comma-separated)'
            cand --queue 'Only jobs in this queue (repeatable)'
            cand --worker 'Only jobs of this worker (repeatable)'
            cand --tag 'Only jobs carrying this tag (repeatable: any of them)'
            cand --args 'Only jobs whose args contain this JSON object, e.g. ''{"user_id": 7}'''
            cand --node 'Only jobs last attempted by this node (attempted_by[1]; repeatable)'
            cand --older-than 'Only jobs whose timestamp (see --by) is older than this'
            cand --newer-than 'Only jobs whose timestamp (see --by) is newer than this'
            cand --by 'Measure ages on this timestamp (without --by: the one that fits each state: attempted_at for executing, the final timestamp for completed/cancelled/discarded, else scheduled_at)'
            cand --limit 'Most jobs changed in one run [default: 1000]'
            cand --batch-size 'Most jobs changed in one transaction [default: 500]'
            cand --lock-timeout 'Give up on a lock after this long (PostgreSQL lock_timeout, SQLite busy timeout) [default: 5s]'
            cand --statement-timeout 'Cancel any single statement running longer than this [default: 1m]'
            cand -d 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file [env: OBAN_DSN, DATABASE_URL]'
            cand --database-url 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file [env: OBAN_DSN, DATABASE_URL]'
            cand -c 'Configuration file [default: ./oban.toml when present]'
            cand --config 'Configuration file [default: ./oban.toml when present]'
            cand --prefix 'Schema holding the Oban tables (Oban''s prefix) [env: OBAN_PREFIX] [default: public]'
            cand -o 'Output format [default: table]'
            cand --format 'Output format [default: table]'
            cand --stuck 'Only executing jobs attempted longer ago than rescue_after (the lifeline''s) [default: [lifeline] rescue_after, else 5m]'
            cand --all-matching 'Act on every job the filters match (required when acting by filter)'
            cand --yes 'Do not ask for confirmation (required with filters when stdin is not a terminal)'
            cand --dry-run 'Show what would change, and change nothing'
            cand -q 'Print nothing on success in table format (errors still go to stderr)'
            cand --quiet 'Print nothing on success in table format (errors still go to stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'oban;delete'= {
            cand --state 'Only jobs in these states (repeatable or comma-separated)'
            cand --queue 'Only jobs in this queue (repeatable)'
            cand --worker 'Only jobs of this worker (repeatable)'
            cand --tag 'Only jobs carrying this tag (repeatable: any of them)'
            cand --args 'Only jobs whose args contain this JSON object, e.g. ''{"user_id": 7}'''
            cand --node 'Only jobs last attempted by this node (attempted_by[1]; repeatable)'
            cand --older-than 'Only jobs whose timestamp (see --by) is older than this'
            cand --newer-than 'Only jobs whose timestamp (see --by) is newer than this'
            cand --by 'Measure ages on this timestamp (without --by: the one that fits each state: attempted_at for executing, the final timestamp for completed/cancelled/discarded, else scheduled_at)'
            cand --limit 'Most jobs changed in one run [default: 1000]'
            cand --batch-size 'Most jobs changed in one transaction [default: 500]'
            cand --lock-timeout 'Give up on a lock after this long (PostgreSQL lock_timeout, SQLite busy timeout) [default: 5s]'
            cand --statement-timeout 'Cancel any single statement running longer than this [default: 1m]'
            cand -d 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file [env: OBAN_DSN, DATABASE_URL]'
            cand --database-url 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file [env: OBAN_DSN, DATABASE_URL]'
            cand -c 'Configuration file [default: ./oban.toml when present]'
            cand --config 'Configuration file [default: ./oban.toml when present]'
            cand --prefix 'Schema holding the Oban tables (Oban''s prefix) [env: OBAN_PREFIX] [default: public]'
            cand -o 'Output format [default: table]'
            cand --format 'Output format [default: table]'
            cand --stuck 'Only executing jobs attempted longer ago than rescue_after (the lifeline''s) [default: [lifeline] rescue_after, else 5m]'
            cand --all-matching 'Act on every job the filters match (required when acting by filter)'
            cand --yes 'Do not ask for confirmation (required with filters when stdin is not a terminal)'
            cand --dry-run 'Show what would change, and change nothing'
            cand -q 'Print nothing on success in table format (errors still go to stderr)'
            cand --quiet 'Print nothing on success in table format (errors still go to stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'oban;migrate'= {
            cand -d 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file [env: OBAN_DSN, DATABASE_URL]'
            cand --database-url 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file [env: OBAN_DSN, DATABASE_URL]'
            cand -c 'Configuration file [default: ./oban.toml when present]'
            cand --config 'Configuration file [default: ./oban.toml when present]'
            cand --prefix 'Schema holding the Oban tables (Oban''s prefix) [env: OBAN_PREFIX] [default: public]'
            cand -o 'Output format [default: table]'
            cand --format 'Output format [default: table]'
            cand --dry-run 'List the migrations that would run, and run none'
            cand -q 'Print nothing on success in table format (errors still go to stderr)'
            cand --quiet 'Print nothing on success in table format (errors still go to stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'oban;seed'= {
            cand --jobs 'How many jobs to insert'
            cand --seed 'Random seed, for a reproducible population'
            cand -d 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file [env: OBAN_DSN, DATABASE_URL]'
            cand --database-url 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file [env: OBAN_DSN, DATABASE_URL]'
            cand -c 'Configuration file [default: ./oban.toml when present]'
            cand --config 'Configuration file [default: ./oban.toml when present]'
            cand --prefix 'Schema holding the Oban tables (Oban''s prefix) [env: OBAN_PREFIX] [default: public]'
            cand -o 'Output format [default: table]'
            cand --format 'Output format [default: table]'
            cand --force 'Insert even when the table already has jobs'
            cand -q 'Print nothing on success in table format (errors still go to stderr)'
            cand --quiet 'Print nothing on success in table format (errors still go to stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'oban;demo'= {
            cand --jobs 'How many jobs to seed'
            cand --keep 'Keep the demo database at this path instead of a temporary file'
            cand -d 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file [env: OBAN_DSN, DATABASE_URL]'
            cand --database-url 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file [env: OBAN_DSN, DATABASE_URL]'
            cand -c 'Configuration file [default: ./oban.toml when present]'
            cand --config 'Configuration file [default: ./oban.toml when present]'
            cand --prefix 'Schema holding the Oban tables (Oban''s prefix) [env: OBAN_PREFIX] [default: public]'
            cand -o 'Output format [default: table]'
            cand --format 'Output format [default: table]'
            cand -q 'Print nothing on success in table format (errors still go to stderr)'
            cand --quiet 'Print nothing on success in table format (errors still go to stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'oban;completions'= {
            cand -d 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file [env: OBAN_DSN, DATABASE_URL]'
            cand --database-url 'Database URL: postgres://…, sqlite://PATH or a .db/.sqlite file [env: OBAN_DSN, DATABASE_URL]'
            cand -c 'Configuration file [default: ./oban.toml when present]'
            cand --config 'Configuration file [default: ./oban.toml when present]'
            cand --prefix 'Schema holding the Oban tables (Oban''s prefix) [env: OBAN_PREFIX] [default: public]'
            cand -o 'Output format [default: table]'
            cand --format 'Output format [default: table]'
            cand -q 'Print nothing on success in table format (errors still go to stderr)'
            cand --quiet 'Print nothing on success in table format (errors still go to stderr)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'oban;help'= {
            cand prune 'Delete finished jobs (completed, cancelled, discarded) older than their cutoff'
            cand rescue 'Move jobs orphaned in `executing` back to available (or discard them when out of attempts)'
            cand stats 'Counts by queue and state, queue latency, throughput and database health'
            cand inspect 'List jobs by filters, or show jobs by id in full (read-only)'
            cand retry 'Make jobs available to run now (any state but available and executing)'
            cand cancel 'Cancel jobs that are neither finished nor running (available, scheduled, retryable, suspended)'
            cand delete 'Delete jobs (any state but executing)'
            cand migrate 'Install or upgrade the Oban schema (idempotent; leaves an existing oban-py or Elixir schema alone)'
            cand seed 'Fill the jobs table with a realistic population (for demos, tests and benchmarks)'
            cand demo 'Walk through migrate, seed, prune, rescue, inspect and stats on a fresh SQLite database'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'oban;help;prune'= {
        }
        &'oban;help;rescue'= {
        }
        &'oban;help;stats'= {
        }
        &'oban;help;inspect'= {
        }
        &'oban;help;retry'= {
        }
        &'oban;help;cancel'= {
        }
        &'oban;help;delete'= {
        }
        &'oban;help;migrate'= {
        }
        &'oban;help;seed'= {
        }
        &'oban;help;demo'= {
        }
        &'oban;help;completions'= {
        }
        &'oban;help;help'= {
        }
    ]
    $completions[$command]
}
