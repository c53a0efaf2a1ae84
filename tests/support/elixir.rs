//! Elixir Oban's table, made the way its migrations leave it, for tests of that flavour.

use super::PgDb;

/// The schema, the state enum and `oban_jobs` up to its common constraints, as Elixir Oban's
/// migrations write them, with `$id` as the first column: the plain table and the partitioned
/// layout differ only in the key and in what follows.
macro_rules! elixir_table_head {
    ($id:literal) => {
        concat!(
            "
CREATE SCHEMA IF NOT EXISTS {p};
CREATE TYPE {p}.oban_job_state AS ENUM ('available', 'suspended', 'scheduled', 'executing',
  'retryable', 'completed', 'discarded', 'cancelled');
CREATE TABLE {p}.oban_jobs (
  ",
            $id,
            ",
  state {p}.oban_job_state NOT NULL DEFAULT 'available',
  queue text NOT NULL DEFAULT 'default',
  worker text NOT NULL,
  args jsonb NOT NULL DEFAULT '{}',
  errors jsonb[] NOT NULL DEFAULT ARRAY[]::jsonb[],
  attempt integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL DEFAULT 20,
  inserted_at timestamp NOT NULL DEFAULT timezone('UTC', now()),
  scheduled_at timestamp NOT NULL DEFAULT timezone('UTC', now()),
  attempted_at timestamp,
  completed_at timestamp,
  attempted_by text[],
  discarded_at timestamp,
  priority integer NOT NULL DEFAULT 0,
  tags text[] DEFAULT ARRAY[]::text[],
  meta jsonb DEFAULT '{}',
  cancelled_at timestamp,
  CONSTRAINT attempt_range CHECK (attempt >= 0 AND attempt <= max_attempts),
  CONSTRAINT positive_max_attempts CHECK (max_attempts > 0),
"
        )
    };
}
pub(crate) use elixir_table_head;

/// Elixir Oban's table shape (migrations v12-v14), as its migrations leave it.
pub const ELIXIR_DDL: &str = concat!(
    elixir_table_head!("id bigserial PRIMARY KEY"),
    "  CONSTRAINT queue_length CHECK (char_length(queue) > 0 AND char_length(queue) < 128),
  CONSTRAINT worker_length CHECK (char_length(worker) > 0 AND char_length(worker) < 128),
  CONSTRAINT non_negative_priority CHECK (priority >= 0)
);
COMMENT ON TABLE {p}.oban_jobs IS '12';
CREATE INDEX oban_jobs_state_queue_priority_scheduled_at_id_index
  ON {p}.oban_jobs (state, queue, priority, scheduled_at, id);
CREATE INDEX oban_jobs_args_index ON {p}.oban_jobs USING gin (args);
CREATE INDEX oban_jobs_meta_index ON {p}.oban_jobs USING gin (meta);
CREATE INDEX oban_jobs_state_cancelled_at_index ON {p}.oban_jobs (state, cancelled_at);
CREATE INDEX oban_jobs_state_discarded_at_index ON {p}.oban_jobs (state, discarded_at);
CREATE UNLOGGED TABLE {p}.oban_peers (name text PRIMARY KEY, node text NOT NULL,
  started_at timestamp NOT NULL, expires_at timestamp NOT NULL);
"
);

/// A database holding the Elixir shape under `prefix`.
pub fn elixir_db(label: &str, prefix: &str) -> PgDb {
    let db = PgDb::new(label);
    db.exec(&ELIXIR_DDL.replace("{p}", prefix));
    db
}
