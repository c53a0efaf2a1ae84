-- oban-py's table shape, partitioned as Oban Pro's DynamicPartitioner does it: LIST by state,
-- the open states in one partition, each final state RANGE by day on its own timestamp, no
-- primary key (a partitioned table's key would have to include the partition columns), a
-- btree on `id`. Storage parameters sit on the leaves (a partitioned table refuses them);
-- `oban partitions` copies them onto the leaves it makes. Run with search_path set to the
-- target schema, in one transaction, with @PARENT@ replaced by the parent's name (`oban_jobs`,
-- or `oban_jobs_partitioning` while `migrate --partitioned --from` fills it).

DO $$
BEGIN
  IF NOT EXISTS (
    SELECT 1 FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE t.typname = 'oban_job_state' AND n.nspname = current_schema()
  ) THEN
    CREATE TYPE oban_job_state AS ENUM (
      'available', 'scheduled', 'suspended', 'executing',
      'retryable', 'completed', 'discarded', 'cancelled'
    );
  END IF;
END
$$;

CREATE TABLE @PARENT@ (
  id bigint GENERATED ALWAYS AS IDENTITY,
  state oban_job_state NOT NULL DEFAULT 'available',
  queue text NOT NULL DEFAULT 'default',
  worker text NOT NULL,
  attempt smallint NOT NULL DEFAULT 0,
  max_attempts smallint NOT NULL DEFAULT 20,
  priority smallint NOT NULL DEFAULT 0,
  args jsonb NOT NULL DEFAULT '{}',
  meta jsonb NOT NULL DEFAULT '{}',
  tags text[] NOT NULL DEFAULT '{}',
  attempted_by text[] NOT NULL DEFAULT '{}',
  errors jsonb NOT NULL DEFAULT '[]',
  inserted_at timestamp NOT NULL DEFAULT timezone('UTC', now()),
  scheduled_at timestamp NOT NULL DEFAULT timezone('UTC', now()),
  attempted_at timestamp,
  cancelled_at timestamp,
  completed_at timestamp,
  discarded_at timestamp,
  CONSTRAINT attempt_range CHECK (attempt >= 0 AND attempt <= max_attempts),
  CONSTRAINT positive_max_attempts CHECK (max_attempts > 0),
  CONSTRAINT non_negative_priority CHECK (priority >= 0),
  CONSTRAINT queue_length CHECK (char_length(queue) > 0),
  CONSTRAINT worker_length CHECK (char_length(worker) > 0)
) PARTITION BY LIST (state);

CREATE INDEX oban_jobs_id_index ON @PARENT@ (id);

CREATE TABLE oban_jobs_incomplete PARTITION OF @PARENT@
  FOR VALUES IN ('available', 'scheduled', 'suspended', 'executing', 'retryable')
  WITH (fillfactor = 85, autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_threshold = 50,
        autovacuum_analyze_scale_factor = 0.02, autovacuum_analyze_threshold = 100,
        autovacuum_vacuum_cost_limit = 2000, autovacuum_vacuum_cost_delay = 1);

CREATE INDEX oban_jobs_incomplete_state_queue_priority_scheduled_at_id_index
  ON oban_jobs_incomplete (state, queue, priority, scheduled_at, id);

CREATE INDEX oban_jobs_incomplete_staged_scheduled_at_id_index
  ON oban_jobs_incomplete (scheduled_at, id) INCLUDE (queue)
  WHERE state IN ('scheduled', 'retryable');

CREATE TABLE oban_jobs_completed PARTITION OF @PARENT@ FOR VALUES IN ('completed')
  PARTITION BY RANGE (completed_at);
CREATE TABLE oban_jobs_cancelled PARTITION OF @PARENT@ FOR VALUES IN ('cancelled')
  PARTITION BY RANGE (cancelled_at);
CREATE TABLE oban_jobs_discarded PARTITION OF @PARENT@ FOR VALUES IN ('discarded')
  PARTITION BY RANGE (discarded_at);

-- Today's leaf of each final state, with the parameters the leaves to come will copy.
DO $$
DECLARE s text; d date := timezone('UTC', now())::date;
BEGIN
  FOREACH s IN ARRAY ARRAY['completed', 'cancelled', 'discarded'] LOOP
    EXECUTE format(
      'CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L) WITH (fillfactor = 100, '
      'autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02)',
      'oban_jobs_' || s || '_' || to_char(d, 'YYYYMMDD'), 'oban_jobs_' || s,
      d::timestamp, (d + 1)::timestamp);
  END LOOP;
END
$$;
