-- The population of issue 11, which `oban seed` does not make: {rows} jobs in five queues of
-- equal size, ids in time order over seven days, 80% completed, 8% retryable whose last attempt
-- is spread over the week (about 0.43% of them, some 137 per queue at 2M jobs, in the last
-- hour), 1% discarded (2.25% of them in the last hour), wide failed rows (args and a traceback
-- per attempt). Deterministic: every choice is a hash of the row number, so the same {rows}
-- gives the same table. Placeholders: {rows}, {jobs} (the qualified table), {state_type} (its
-- enum), {errors_open} and {errors_close} (empty for oban-py's jsonb errors; `ARRAY(SELECT
-- jsonb_array_elements(` and `))` for Elixir's jsonb[]).
-- u(k) below is `(hashint8extended(g, k) & 2147483647) / 2^31`, uniform in [0, 1).
INSERT INTO {jobs} (state, queue, worker, attempt, max_attempts, priority, args, meta, errors,
                    attempted_by, inserted_at, scheduled_at, attempted_at, completed_at,
                    discarded_at, cancelled_at)
SELECT x.state::text::{state_type}, x.queue, x.worker, x.attempt, 20, x.priority,
       jsonb_build_object('account_id', x.g % 100000, 'batch', md5(x.g::text),
                          'payload', repeat(md5((x.g + 1)::text), 4)),
       '{}',
       {errors_open}CASE WHEN x.state IN ('retryable', 'discarded') THEN
         (SELECT jsonb_agg(jsonb_build_object(
                   'attempt', a, 'at', x.attempted_at,
                   'error', 'Traceback (most recent call last):' || chr(10) || '  File "/app/workers/'
                            || x.queue || '.py", line ' || (x.g % 300) || ', in process' || chr(10)
                            || '    ' || repeat(md5(x.g::text || a), 6) || chr(10)
                            || 'httpx.HTTPStatusError: Server error 503'))
          FROM generate_series(greatest(1, x.attempt - 2), x.attempt) a)
         ELSE '[]'::jsonb END{errors_close},
       CASE WHEN x.attempted_at IS NULL THEN '{}'::text[]
            ELSE ARRAY['worker-' || (x.g % 4), md5(x.queue || (x.g % 4))] END,
       least(x.inserted_at, coalesce(x.attempted_at, x.inserted_at) - interval '1 second'),
       x.scheduled_at, x.attempted_at, x.completed_at, x.discarded_at, x.cancelled_at
FROM (
  SELECT g, s.state, s.queue, s.worker, s.attempt, s.priority, s.inserted_at,
         CASE s.state
           WHEN 'retryable' THEN s.attempted_at + make_interval(secs => 15 + s.attempt ^ 4)
           WHEN 'scheduled' THEN s.now + make_interval(secs => 86400 * s.u5)
           WHEN 'available' THEN s.now - make_interval(secs => 300 * s.u5)
           ELSE s.inserted_at END AS scheduled_at,
         s.attempted_at,
         CASE WHEN s.state = 'completed' THEN s.attempted_at + make_interval(secs => 3 * s.u5) END
           AS completed_at,
         CASE WHEN s.state = 'discarded' THEN s.attempted_at + interval '2 seconds' END
           AS discarded_at,
         CASE WHEN s.state = 'cancelled' THEN s.inserted_at + interval '5 seconds' END
           AS cancelled_at
  FROM generate_series(1, {rows}) g
  CROSS JOIN LATERAL (
    SELECT t.*,
           CASE t.state
             WHEN 'completed' THEN t.inserted_at + interval '1 second'
             WHEN 'retryable' THEN t.now - CASE WHEN t.u4 < 0.00428
                 THEN make_interval(secs => 3500 * t.u5)
                 ELSE make_interval(secs => 3600 + (7 * 86400 - 3600) * t.u5) END
             WHEN 'discarded' THEN t.now - CASE WHEN t.u4 < 0.0225
                 THEN make_interval(secs => 3500 * t.u5)
                 ELSE make_interval(secs => 3600 + (7 * 86400 - 3600) * t.u5) END
             WHEN 'executing' THEN t.now - CASE WHEN t.u4 < 0.1
                 THEN make_interval(secs => 1800 + 1800 * t.u5)
                 ELSE make_interval(secs => 60 * t.u5) END
           END AS attempted_at
    FROM (
      SELECT timezone('UTC', now()) AS now,
             (ARRAY['billing', 'default', 'events', 'mailers', 'media'])[1 + g % 5] AS queue,
             'app.workers.W' || (g % 7) AS worker,
             CASE WHEN u1 < 0.80 THEN 'completed' WHEN u1 < 0.88 THEN 'retryable'
                  WHEN u1 < 0.89 THEN 'discarded' WHEN u1 < 0.90 THEN 'cancelled'
                  WHEN u1 < 0.95 THEN 'scheduled' WHEN u1 < 0.995 THEN 'available'
                  ELSE 'executing' END AS state,
             CASE WHEN u1 >= 0.80 AND u1 < 0.89 THEN 1 + floor(u3 * 18)::int ELSE 1 END AS attempt,
             CASE WHEN u3 < 0.1 THEN 1 ELSE 0 END AS priority,
             timezone('UTC', now()) - make_interval(secs => 7 * 86400 * (1 - g::float8 / {rows}))
               AS inserted_at,
             u4, u5
      FROM (SELECT (hashint8extended(g, 1) & 2147483647) / 2147483648.0 AS u1,
                   (hashint8extended(g, 3) & 2147483647) / 2147483648.0 AS u3,
                   (hashint8extended(g, 4) & 2147483647) / 2147483648.0 AS u4,
                   (hashint8extended(g, 5) & 2147483647) / 2147483648.0 AS u5) u
    ) t
  ) s
) x;
