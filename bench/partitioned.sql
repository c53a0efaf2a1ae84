-- bench/partitioned.sql: the partitioned layout (Oban Pro's DynamicPartitioner: LIST by state,
-- the open states in one leaf, each final state RANGE by day on its own timestamp, no primary
-- key, no default partition) in schema `part`, filled with a copy of public.oban_jobs (the
-- seeded oban-py table; errors become jsonb[] as Elixir keeps them). One leaf per day from the
-- oldest finished job to two days ahead. Run by bench/prune.sh.
CREATE SCHEMA part;
CREATE TYPE part.oban_job_state AS ENUM ('available', 'suspended', 'scheduled', 'executing',
  'retryable', 'completed', 'discarded', 'cancelled');
CREATE TABLE part.oban_jobs (
  id bigserial NOT NULL,
  state part.oban_job_state NOT NULL DEFAULT 'available',
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
  cancelled_at timestamp
) PARTITION BY LIST (state);
COMMENT ON TABLE part.oban_jobs IS '∞';
CREATE TABLE part.oban_jobs_incomplete PARTITION OF part.oban_jobs
  FOR VALUES IN ('available', 'suspended', 'scheduled', 'executing', 'retryable');
CREATE TABLE part.oban_jobs_completed PARTITION OF part.oban_jobs FOR VALUES IN ('completed')
  PARTITION BY RANGE (completed_at);
CREATE TABLE part.oban_jobs_cancelled PARTITION OF part.oban_jobs FOR VALUES IN ('cancelled')
  PARTITION BY RANGE (cancelled_at);
CREATE TABLE part.oban_jobs_discarded PARTITION OF part.oban_jobs FOR VALUES IN ('discarded')
  PARTITION BY RANGE (discarded_at);
DO $$
DECLARE s text; d date; first date;
BEGIN
  SELECT least(min(completed_at), min(cancelled_at), min(discarded_at))::date INTO first
    FROM public.oban_jobs;
  FOREACH s IN ARRAY ARRAY['completed', 'cancelled', 'discarded'] LOOP
    FOR d IN SELECT g::date FROM generate_series(coalesce(first, timezone('UTC', now())::date),
                                                  timezone('UTC', now())::date + 2, '1 day') g LOOP
      EXECUTE format('CREATE TABLE part.%I PARTITION OF part.%I FOR VALUES FROM (%L) TO (%L)',
        'oban_jobs_' || s || '_' || to_char(d, 'YYYYMMDD'), 'oban_jobs_' || s,
        d::timestamp, (d + 1)::timestamp);
    END LOOP;
  END LOOP;
END $$;
INSERT INTO part.oban_jobs (id, state, queue, worker, args, errors, attempt, max_attempts,
  inserted_at, scheduled_at, attempted_at, completed_at, attempted_by, discarded_at, priority,
  tags, meta, cancelled_at)
SELECT id, state::text::part.oban_job_state, queue, worker, args,
  ARRAY(SELECT jsonb_array_elements(errors)), attempt, max_attempts, inserted_at, scheduled_at,
  attempted_at, completed_at, attempted_by, discarded_at, priority, tags, meta, cancelled_at
FROM public.oban_jobs;
SELECT setval('part.oban_jobs_id_seq', (SELECT max(id) FROM part.oban_jobs));
-- Indexes after the load, as the layout has them.
CREATE INDEX oban_jobs_id_index ON part.oban_jobs (id);
CREATE INDEX oban_jobs_args_index ON part.oban_jobs USING gin (args);
CREATE INDEX oban_jobs_meta_index ON part.oban_jobs USING gin (meta);
CREATE INDEX oban_jobs_incomplete_state_queue_priority_scheduled_at_id_index
  ON part.oban_jobs_incomplete (state, queue, priority, scheduled_at, id);
DROP TABLE public.oban_jobs;
VACUUM ANALYZE part.oban_jobs;
