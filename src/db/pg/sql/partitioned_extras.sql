-- The tables and function beside a partitioned oban_jobs, as oban-py's installer makes them.
-- Run with search_path set to the target schema; each is left alone when it exists.

CREATE UNLOGGED TABLE IF NOT EXISTS oban_leaders (
  name text PRIMARY KEY DEFAULT 'oban',
  node text NOT NULL,
  elected_at timestamp NOT NULL,
  expires_at timestamp NOT NULL
);

CREATE UNLOGGED TABLE IF NOT EXISTS oban_producers (
  uuid uuid PRIMARY KEY,
  name text NOT NULL DEFAULT 'oban',
  node text NOT NULL,
  queue text NOT NULL,
  meta jsonb NOT NULL DEFAULT '{}',
  started_at timestamp NOT NULL DEFAULT timezone('UTC', now()),
  updated_at timestamp NOT NULL DEFAULT timezone('UTC', now())
);

-- The planner's row estimate for one state and queue, read from EXPLAIN: cheap on any size.
-- `SET search_path FROM CURRENT` pins the schema this migration runs in, whoever calls it.
CREATE OR REPLACE FUNCTION oban_count_estimate(state text, queue text)
RETURNS integer AS $func$
DECLARE
  plan jsonb;
BEGIN
  EXECUTE format(
    'EXPLAIN (FORMAT JSON) SELECT id FROM %I.oban_jobs WHERE state = %L::%I.oban_job_state AND queue = %L',
    current_schema(), state, current_schema(), queue
  ) INTO plan;
  RETURN (plan->0->'Plan'->>'Plan Rows')::integer;
END;
$func$ LANGUAGE plpgsql SET search_path FROM CURRENT;
