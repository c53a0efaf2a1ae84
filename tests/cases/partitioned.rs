//! A partitioned `oban_jobs` (Oban Pro's DynamicPartitioner layout), built here from the facts:
//! LIST by state, the open states in one leaf, each final state RANGE by day on its own
//! timestamp, no primary key, no default partition; and every command but prune on it (prune
//! is in `partitioned_prune`).

use std::collections::BTreeSet;

use diesel::sql_types::{BigInt, Text};
use diesel::{sql_query, QueryableByName, RunQueryDsl};
use serde_json::Value;

use crate::support::{elixir_table_head, insert, json_out, succeeds, JobSpec, PgDb};

pub const HOUR: f64 = 3600.0;
pub const DAY: f64 = 86_400.0;

/// The layout, with leaves for the five days before today up to two days ahead.
pub const PARTITIONED_DDL: &str = concat!(
    elixir_table_head!("id bigserial NOT NULL"),
    "  CONSTRAINT non_negative_priority CHECK (priority >= 0)
) PARTITION BY LIST (state);
COMMENT ON TABLE {p}.oban_jobs IS '∞';
CREATE INDEX oban_jobs_id_index ON {p}.oban_jobs (id);
CREATE INDEX oban_jobs_args_index ON {p}.oban_jobs USING gin (args);
CREATE INDEX oban_jobs_meta_index ON {p}.oban_jobs USING gin (meta);
CREATE TABLE {p}.oban_jobs_incomplete PARTITION OF {p}.oban_jobs
  FOR VALUES IN ('available', 'suspended', 'scheduled', 'executing', 'retryable');
CREATE INDEX oban_jobs_incomplete_state_queue_priority_scheduled_at_id_index
  ON {p}.oban_jobs_incomplete (state, queue, priority, scheduled_at, id);
CREATE TABLE {p}.oban_jobs_completed PARTITION OF {p}.oban_jobs FOR VALUES IN ('completed')
  PARTITION BY RANGE (completed_at);
CREATE TABLE {p}.oban_jobs_cancelled PARTITION OF {p}.oban_jobs FOR VALUES IN ('cancelled')
  PARTITION BY RANGE (cancelled_at);
CREATE TABLE {p}.oban_jobs_discarded PARTITION OF {p}.oban_jobs FOR VALUES IN ('discarded')
  PARTITION BY RANGE (discarded_at);
DO $$
DECLARE s text; d date;
BEGIN
  FOREACH s IN ARRAY ARRAY['completed', 'cancelled', 'discarded'] LOOP
    FOR d IN SELECT g::date FROM generate_series(timezone('UTC', now())::date - 5,
                                                  timezone('UTC', now())::date + 2, '1 day') g LOOP
      EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.%I FOR VALUES FROM (%L) TO (%L)',
        '{p}', 'oban_jobs_' || s || '_' || to_char(d, 'YYYYMMDD'), '{p}', 'oban_jobs_' || s,
        d::timestamp, (d + 1)::timestamp);
    END LOOP;
  END LOOP;
END $$;
CREATE UNLOGGED TABLE {p}.oban_peers (name text PRIMARY KEY, node text NOT NULL,
  started_at timestamp NOT NULL, expires_at timestamp NOT NULL);
"
);

/// A database holding the partitioned layout under `prefix`.
pub fn partitioned_db(label: &str, prefix: &str) -> PgDb {
    let db = PgDb::new(label);
    db.exec(&PARTITIONED_DDL.replace("{p}", prefix));
    db
}

/// Seconds since midnight UTC on the database clock.
pub fn since_midnight(db: &PgDb) -> f64 {
    db.count(
        "SELECT extract(epoch FROM timezone('UTC', now()) - date_trunc('day', timezone('UTC', now())))::int8 AS n",
    ) as f64
}

/// Every state in two queues; final states on each of the last five days, a few minutes on
/// either side of a one-day cutoff, and in the part of yesterday's leaf older than it.
pub fn population(db: &PgDb) -> Vec<JobSpec> {
    // Halfway between yesterday's midnight and the cutoff (now - 1 day): a row older than the
    // cutoff in the leaf that straddles it, whatever the time of day.
    let straddle = DAY + since_midnight(db) / 2.0;
    let mut jobs = vec![];
    for (i, queue) in ["alpha", "beta"].into_iter().enumerate() {
        for state in [
            "available",
            "scheduled",
            "executing",
            "retryable",
            "suspended",
        ] {
            jobs.push(JobSpec::new(state, 60.0).queue(queue));
            jobs.push(JobSpec::new(state, 3.0 * DAY).queue(queue));
        }
        for state in ["completed", "cancelled", "discarded"] {
            for age in [
                60.0,
                DAY - 600.0,
                DAY + 600.0,
                straddle + i as f64,
                2.0 * DAY + HOUR,
                3.0 * DAY,
                4.0 * DAY + HOUR,
            ] {
                jobs.push(JobSpec::new(state, age).queue(queue));
            }
        }
    }
    jobs
}

#[derive(QueryableByName)]
pub struct Name {
    #[diesel(sql_type = Text)]
    pub name: String,
}

#[derive(QueryableByName)]
pub struct IdRow {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
}

/// The leaves under `prefix`.oban_jobs, by name.
pub fn leaves(db: &PgDb, prefix: &str) -> BTreeSet<String> {
    let rows: Vec<Name> = sql_query(format!(
        "SELECT relid::regclass::text AS name FROM pg_partition_tree('{prefix}.oban_jobs') \
         WHERE isleaf"
    ))
    .load(&mut db.conn())
    .expect("leaves");
    rows.into_iter()
        .map(|r| r.name.rsplit('.').next().unwrap_or_default().to_string())
        .collect()
}

/// Ids a query returns.
pub fn ids(db: &PgDb, sql: &str) -> BTreeSet<i64> {
    let rows: Vec<IdRow> = sql_query(sql).load(&mut db.conn()).expect("ids");
    rows.into_iter().map(|r| r.id).collect()
}

pub fn run_json(db: &PgDb, prefix: &str, args: &[&str]) -> Value {
    let mut all = vec!["-d", db.url.as_str(), "--prefix", prefix, "-o", "json"];
    all.extend_from_slice(args);
    json_out(&succeeds(&all))
}

#[test]
fn partitioned_table_is_recognised_and_migrate_leaves_it_alone() {
    let db = partitioned_db("part_detect", "jobs");
    insert(&db, "jobs", &population(&db));
    let mut lib = crate::support::Target::db(&db);
    let schema = lib.schema("jobs").expect("found");
    let layout = schema.partitions.expect("partitioned");
    assert_eq!(layout.leaves.len(), 1 + 3 * 8);
    let incomplete = layout
        .leaves
        .iter()
        .find(|l| l.name == "oban_jobs_incomplete")
        .expect("open leaf");
    assert_eq!(incomplete.states.len(), 5);
    assert!(incomplete.range.is_none());
    let day = layout
        .leaves
        .iter()
        .find(|l| l.parent == "oban_jobs_discarded")
        .expect("a discarded leaf");
    assert_eq!(day.states, [oban::model::JobState::Discarded]);
    assert_eq!(day.range.as_ref().expect("ranged").column, "discarded_at");

    let before = db.snapshot("jobs");
    let out = succeeds(&["-d", &db.url, "--prefix", "jobs", "migrate"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("partitioned") && text.contains("nothing changed"),
        "{text}"
    );
    let r = run_json(&db, "jobs", &["migrate"]);
    assert_eq!(r["partitioned"], true);
    assert!(r["migrations"].as_array().is_some_and(Vec::is_empty));
    assert_eq!(db.snapshot("jobs"), before);
    assert_eq!(
        db.count(
            "SELECT count(*) AS n FROM pg_tables WHERE tablename = '__diesel_schema_migrations'"
        ),
        0
    );
}

#[test]
fn partitioned_stats_counts_and_shows_each_leaf() {
    let db = partitioned_db("part_stats", "public");
    insert(&db, "public", &population(&db));
    let r = run_json(&db, "public", &["stats", "--exact"]);
    assert_eq!(r["counts"]["alpha"]["completed"], 7);
    assert_eq!(r["counts"]["beta"]["available"], 2);
    let leaves = r["partitions"].as_array().expect("partitions");
    assert_eq!(leaves.len(), 25);
    let rows: i64 = leaves
        .iter()
        .map(|l| l["rows"].as_i64().expect("present"))
        .sum();
    assert_eq!(rows, db.count("SELECT count(*) AS n FROM oban_jobs"));
    let open = leaves
        .iter()
        .find(|l| l["name"] == "oban_jobs_incomplete")
        .expect("open leaf");
    assert_eq!(open["rows"], 20);
    assert!(open["bytes"].as_i64().is_some_and(|b| b > 0));
    assert!(r["table"]["total_bytes"].as_i64().is_some_and(|b| b > 0));
    let out = succeeds(&["-d", &db.url, "stats"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("oban_jobs_incomplete"), "{text}");
    // vacuum measures the same table: the leaves' bytes, not the parent's none.
    let v = run_json(&db, "public", &["vacuum"]);
    let total = r["table"]["total_bytes"].as_i64().expect("present");
    let before = v["before_bytes"].as_i64().expect("present");
    assert!(
        before >= total / 2 && before <= total * 2,
        "{v} against {total}"
    );
}

#[test]
fn partitioned_inspect_and_its_filters() {
    let db = partitioned_db("part_inspect", "public");
    insert(&db, "public", &population(&db));
    let r = run_json(
        &db,
        "public",
        &[
            "inspect",
            "--state",
            "completed",
            "--queue",
            "beta",
            "--limit",
            "100",
        ],
    );
    let jobs = r["jobs"].as_array().expect("jobs");
    assert_eq!(jobs.len(), 7);
    assert!(jobs
        .iter()
        .all(|j| j["state"] == "completed" && j["queue"] == "beta"));
    let r = run_json(
        &db,
        "public",
        &[
            "inspect",
            "--state",
            "discarded",
            "--older-than",
            "2d",
            "--limit",
            "100",
        ],
    );
    assert_eq!(r["jobs"].as_array().expect("jobs").len(), 6);
    let id = jobs[0]["id"].as_i64().expect("present").to_string();
    let r = run_json(&db, "public", &["inspect", &id]);
    assert_eq!(r["jobs"][0]["errors"], serde_json::json!([]));
}

#[test]
fn partitioned_actions_move_rows_between_leaves() {
    let db = partitioned_db("part_actions", "public");
    insert(&db, "public", &population(&db));
    let old_discarded = ids(
        &db,
        "SELECT id FROM oban_jobs WHERE state = 'discarded' AND discarded_at < timezone('UTC', now()) - interval '2 days'",
    );
    let list: Vec<String> = old_discarded.iter().map(i64::to_string).collect();
    let mut args = vec!["retry", "--yes"];
    args.extend(list.iter().map(String::as_str));
    let r = run_json(&db, "public", &args);
    assert_eq!(
        r["jobs"].as_array().expect("present").len(),
        old_discarded.len()
    );
    let in_open_leaf = ids(
        &db,
        "SELECT id FROM oban_jobs_incomplete WHERE state = 'available'",
    );
    assert!(
        old_discarded.is_subset(&in_open_leaf),
        "retried rows live in the open leaf now"
    );

    let scheduled = ids(&db, "SELECT id FROM oban_jobs WHERE state = 'scheduled'");
    let r = run_json(
        &db,
        "public",
        &["cancel", "--state", "scheduled", "--all-matching", "--yes"],
    );
    assert_eq!(r["jobs"].as_array().expect("present").len(), 4);
    // Cancelled now: in today's cancelled leaf.
    let today = ids(
        &db,
        "SELECT j.id FROM oban_jobs j JOIN pg_class c ON c.oid = j.tableoid \
         WHERE c.relname = 'oban_jobs_cancelled_' || to_char(timezone('UTC', now()), 'YYYYMMDD')",
    );
    assert!(scheduled.is_subset(&today), "{scheduled:?} in {today:?}");

    let before = db.count("SELECT count(*) AS n FROM oban_jobs");
    let r = run_json(
        &db,
        "public",
        &[
            "delete",
            "--state",
            "completed",
            "--queue",
            "alpha",
            "--all-matching",
            "--yes",
        ],
    );
    assert_eq!(r["jobs"].as_array().expect("present").len(), 7);
    assert_eq!(db.count("SELECT count(*) AS n FROM oban_jobs"), before - 7);
    assert_eq!(
        db.count(
            "SELECT count(*) AS n FROM oban_jobs WHERE state = 'completed' AND queue = 'beta'"
        ),
        7
    );
}

#[test]
fn partitioned_rescue_in_both_modes() {
    let db = partitioned_db("part_rescue", "public");
    insert(
        &db,
        "public",
        &[
            JobSpec::new("executing", 2.0 * HOUR).attempts(1, 3),
            JobSpec::new("executing", 2.0 * HOUR).attempts(3, 3),
            JobSpec::new("executing", 60.0),
            JobSpec::new("completed", 2.0 * HOUR),
        ],
    );
    let r = run_json(&db, "public", &["rescue", "--rescue-after", "1h"]);
    assert_eq!(r["rescued"], 1);
    assert_eq!(r["discarded"], 1);
    assert_eq!(
        db.count("SELECT count(*) AS n FROM oban_jobs_incomplete WHERE state = 'available'"),
        1
    );
    assert_eq!(
        db.count(
            "SELECT count(*) AS n FROM oban_jobs j JOIN pg_class c ON c.oid = j.tableoid \
             WHERE c.relname LIKE 'oban_jobs_discarded_%' AND j.discarded_at IS NOT NULL"
        ),
        1,
        "executing → discarded crossed into today's discarded leaf"
    );
    assert_eq!(
        db.count("SELECT count(*) AS n FROM oban_jobs WHERE state = 'executing'"),
        1
    );

    // Accurate mode, with a producers table as Oban Pro keeps one.
    db.exec(
        "CREATE UNLOGGED TABLE oban_producers (uuid uuid PRIMARY KEY, name text NOT NULL, \
           node text NOT NULL, queue text NOT NULL, meta jsonb NOT NULL DEFAULT '{}', \
           started_at timestamp NOT NULL DEFAULT timezone('UTC', now()), \
           updated_at timestamp NOT NULL DEFAULT timezone('UTC', now()))",
    );
    db.exec(
        "INSERT INTO oban_producers (uuid, name, node, queue) \
         VALUES ('6f1c3d0e-0000-4000-8000-000000000001', 'Oban', 'node-1', 'default')",
    );
    insert(
        &db,
        "public",
        &[JobSpec::new("executing", 30.0)
            .attempted_by(&["gone", "6f1c3d0e-0000-4000-8000-00000000dead"])],
    );
    let r = run_json(&db, "public", &["rescue", "--accurate"]);
    assert_eq!(r["mode"], "accurate");
    assert_eq!(r["rescued"], 1);
    assert_eq!(
        db.count("SELECT count(*) AS n FROM oban_jobs WHERE state = 'executing'"),
        1
    );
}
