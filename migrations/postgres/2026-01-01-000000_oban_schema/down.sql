DROP FUNCTION IF EXISTS oban_count_estimate(text, text);
DROP TABLE IF EXISTS oban_producers;
DROP TABLE IF EXISTS oban_leaders;
DROP TABLE IF EXISTS oban_jobs;
DROP TYPE IF EXISTS oban_job_state;
