//! The tools around a partitioned `oban_jobs`: `oban seed` fills one (making the leaves for the
//! past week its jobs finished in) and `oban reindex` rebuilds the leaves' indexes, which are
//! the ones holding entries, one at a time.

use std::collections::{BTreeMap, BTreeSet};

use diesel::sql_types::{BigInt, Text};
use diesel::{sql_query, QueryableByName, RunQueryDsl};
use serde_json::Value;

use super::partitioned::{leaves, run_json};
use crate::support::PgDb;

#[derive(QueryableByName)]
struct IndexRow {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    parent: String,
    #[diesel(sql_type = BigInt)]
    node: i64,
}

/// Every index on a leaf of `public.oban_jobs`: its name, the partitioned index it is attached
/// to, and its file node (a rebuild gives it a new one).
fn leaf_indexes(db: &PgDb) -> BTreeMap<String, (String, i64)> {
    let rows: Vec<IndexRow> = sql_query(
        "SELECT ci.relname::text AS name, coalesce(pc.relname::text, '') AS parent, \
                ci.relfilenode::int8 AS node \
         FROM pg_partition_tree('public.oban_jobs') t JOIN pg_index i ON i.indrelid = t.relid \
         JOIN pg_class ci ON ci.oid = i.indexrelid \
         LEFT JOIN pg_inherits ih ON ih.inhrelid = ci.oid \
         LEFT JOIN pg_class pc ON pc.oid = ih.inhparent \
         WHERE t.isleaf",
    )
    .load(&mut db.conn())
    .expect("leaf indexes");
    rows.into_iter()
        .map(|r| (r.name, (r.parent, r.node)))
        .collect()
}

fn names(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|r| r["name"].as_str().expect("name").to_string())
        .collect()
}

/// A partitioned table in oban-py's shape, seeded.
fn seeded(label: &str, jobs: u64) -> (PgDb, Value) {
    let db = PgDb::new(label);
    run_json(&db, "public", &["migrate", "--partitioned"]);
    let report = run_json(
        &db,
        "public",
        &["seed", "--jobs", &jobs.to_string(), "--seed", "7"],
    );
    (db, report)
}

#[test]
fn seed_fills_a_partitioned_table_making_the_past_weeks_leaves() {
    let before = {
        let db = PgDb::new("part_seed_before");
        run_json(&db, "public", &["migrate", "--partitioned"]);
        leaves(&db, "public")
    };
    let (db, report) = seeded("part_seed", 6_000);
    assert_eq!(report["inserted"], 6_000);
    assert_eq!(db.count("SELECT count(*) AS n FROM oban_jobs"), 6_000);
    let made: BTreeSet<String> = report["partitions_created"]
        .as_array()
        .expect("partitions_created")
        .iter()
        .map(|n| n.as_str().expect("a name").to_string())
        .collect();
    let now = leaves(&db, "public");
    assert_eq!(
        now.difference(&before).cloned().collect::<BTreeSet<_>>(),
        made,
        "the report names the leaves it made"
    );
    assert_eq!(
        made.len(),
        3 * 7,
        "the seven days before today, per final state"
    );
    // Every finished job sits in the leaf of the day it finished on.
    for (state, column) in [
        ("completed", "completed_at"),
        ("cancelled", "cancelled_at"),
        ("discarded", "discarded_at"),
    ] {
        let misplaced = db.count(&format!(
            "SELECT count(*) AS n FROM oban_jobs j JOIN pg_class c ON c.oid = j.tableoid \
             WHERE j.state = '{state}' \
               AND c.relname <> 'oban_jobs_{state}_' || to_char(j.{column}, 'YYYYMMDD')"
        ));
        assert_eq!(misplaced, 0, "{state}");
        assert!(
            db.count(&format!(
                "SELECT count(*) AS n FROM oban_jobs WHERE state = '{state}'"
            )) > 0
        );
    }
    // Seeding more makes no leaf that exists already.
    let again = run_json(&db, "public", &["seed", "--jobs", "500", "--force"]);
    assert!(again.get("partitions_created").is_none(), "{again}");
    assert_eq!(db.count("SELECT count(*) AS n FROM oban_jobs"), 6_500);
}

#[test]
fn reindex_on_a_partitioned_table_rebuilds_the_leaves_indexes() {
    let (db, _) = seeded("part_reindex", 3_000);
    db.exec("ANALYZE oban_jobs");
    let before = leaf_indexes(&db);
    let dry = run_json(&db, "public", &["reindex", "--dry-run"]);
    assert_eq!(
        names(&dry["rebuilt"]),
        before.keys().cloned().collect(),
        "every index that holds entries, none on a parent: {dry:#}"
    );
    for r in dry["rebuilt"].as_array().expect("rebuilt") {
        assert!(r["before_bytes"].as_i64().expect("bytes") > 0, "{r}");
    }
    assert_eq!(leaf_indexes(&db), before, "a dry run rebuilds nothing");

    // An index on a parent stands for the leaves' indexes attached to it.
    let parent = before
        .values()
        .map(|(p, _)| p.clone())
        .find(|p| p.starts_with("oban_jobs_completed"))
        .expect("the completed partition's index");
    let under: BTreeSet<String> = before
        .iter()
        .filter(|(_, (p, _))| *p == parent)
        .map(|(n, _)| n.clone())
        .collect();
    assert!(under.len() >= 8, "{under:?}");
    let done = run_json(&db, "public", &["reindex", "--index", &parent]);
    assert_eq!(names(&done["rebuilt"]), under);
    let after = leaf_indexes(&db);
    for (name, (_, node)) in &before {
        assert_eq!(
            after[name].1 != *node,
            under.contains(name),
            "{name}: rebuilt exactly when it is under {parent}"
        );
    }
    // A name that is neither is refused with the names it knows, parents included.
    let out = crate::support::oban()
        .args(["-d", &db.url, "reindex", "--index", "nope"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no index nope") && err.contains(&parent),
        "{err}"
    );
}
