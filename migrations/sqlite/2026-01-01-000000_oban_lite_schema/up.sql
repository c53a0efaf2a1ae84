-- The Oban Lite table shape: JSON as text, timestamps as ISO-8601 text with a trailing Z.
CREATE TABLE IF NOT EXISTS oban_jobs (
  id INTEGER PRIMARY KEY,
  state TEXT NOT NULL DEFAULT 'available' CHECK (state IN (
    'available', 'suspended', 'scheduled', 'executing',
    'retryable', 'completed', 'discarded', 'cancelled')),
  queue TEXT NOT NULL DEFAULT 'default' CHECK (length(queue) > 0),
  worker TEXT NOT NULL CHECK (length(worker) > 0),
  attempt INTEGER NOT NULL DEFAULT 0,
  max_attempts INTEGER NOT NULL DEFAULT 20 CHECK (max_attempts > 0),
  priority INTEGER NOT NULL DEFAULT 0 CHECK (priority >= 0),
  args TEXT NOT NULL DEFAULT '{}',
  meta TEXT NOT NULL DEFAULT '{}',
  tags TEXT NOT NULL DEFAULT '[]',
  errors TEXT NOT NULL DEFAULT '[]',
  attempted_by TEXT NOT NULL DEFAULT '[]',
  inserted_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  scheduled_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  attempted_at TEXT,
  cancelled_at TEXT,
  completed_at TEXT,
  discarded_at TEXT,
  CHECK (attempt >= 0 AND attempt <= max_attempts)
);

CREATE INDEX IF NOT EXISTS oban_jobs_state_queue_priority_scheduled_at_id_index
  ON oban_jobs (state, queue, priority, scheduled_at, id);
