//! The judgments: each check turns facts into ok / warn / fail, the figure behind it and the
//! statement or command that fixes it. Engines only report facts (see `db::doctor`).

use serde_json::json;

use super::common::{bloat_check, leads_with, table_bloat, Target};
use super::{Check, DoctorOpts, Status};
use crate::db::doctor::{Facts, IndexFact};
use crate::db::{Flavour, Schema};
use crate::model::FinalState;

/// Whether a valid index's columns begin with `lead`.
fn has_index(indexes: &[IndexFact], leads: &[&[&str]]) -> bool {
    indexes.iter().any(|i| leads_with(i, leads))
}

/// The indexes the flavour needs for its own queries and for `oban`.
fn needed_indexes(schema: &Schema, facts: &Facts, t: &Target, out: &mut Vec<Check>) {
    if let Some(layout) = &schema.partitions {
        return super::parts::needed_indexes(schema, layout, facts, t, out);
    }
    let ix = &facts.indexes;
    let fetch = has_index(ix, &[&["state", "queue", "priority", "scheduled_at", "id"]]);
    out.push(index_check(
        t,
        "fetch_index",
        fetch,
        Status::Fail,
        "(state, queue, priority, scheduled_at, id): present".into(),
        "no valid (state, queue, priority, scheduled_at, id) index: every fetch scans the table"
            .into(),
        (
            "oban_jobs_state_queue_priority_scheduled_at_id_index",
            "(state, queue, priority, scheduled_at, id)",
        ),
    ));
    if t.lite {
        return;
    }
    if schema.flavour == Flavour::ObanPy {
        let staged = has_index(ix, &[&["scheduled_at"], &["state", "scheduled_at"]]);
        out.push(index_check(
            t,
            "staged_index",
            staged,
            Status::Warn,
            "(scheduled_at, id) for staging: present".into(),
            "no index serves staging scheduled and retryable jobs by scheduled_at".into(),
            (
                "oban_jobs_staged_scheduled_at_id_index",
                "(scheduled_at, id) INCLUDE (queue) WHERE state IN ('scheduled', 'retryable')",
            ),
        ));
    }
    for state in FinalState::ALL {
        if !schema.has_state(state.state()) {
            continue;
        }
        let col = state.column();
        let served = has_index(ix, &[&[col], &["state", col]]);
        out.push(index_check(
            t,
            &format!("{col}_index"),
            served,
            Status::Warn,
            format!("{col} of {} jobs: indexed", state.name()),
            format!(
                "no index serves {col}: prune and stats read every {} job to find old ones",
                state.name()
            ),
            (
                &format!("oban_jobs_{col}_index"),
                &format!("({col}) WHERE state = '{}'", state.name()),
            ),
        ));
    }
}

/// One needed index: present, or `missing` (fail or warn) with the statement that creates it,
/// given as the index's name and what follows `ON table`.
fn index_check(
    t: &Target,
    name: &str,
    present: bool,
    missing: Status,
    present_detail: String,
    missing_detail: String,
    (index, definition): (&str, &str),
) -> Check {
    Check::new(
        name,
        if present { Status::Ok } else { missing },
        json!(present),
        if present {
            present_detail
        } else {
            missing_detail
        },
        (!present).then(|| t.create_index(index, definition)),
    )
}

/// Invalid indexes: failed concurrent builds (`*_ccnew`, `*_ccold`) and their kind.
fn invalid_indexes(facts: &Facts, t: &Target, out: &mut Vec<Check>) {
    if t.lite {
        return;
    }
    let invalid: Vec<&IndexFact> = facts.indexes.iter().filter(|i| !i.valid).collect();
    let names: Vec<&str> = invalid.iter().map(|i| i.name.as_str()).collect();
    let mut fixes = Vec::new();
    let mut notes = Vec::new();
    for i in &invalid {
        if let Some(pid) = i.building_pid {
            notes.push(format!("{} (being built by pid {pid})", i.name));
            continue;
        }
        if i.partitioned {
            // A partitioned index refuses CONCURRENTLY; it is invalid while some partition has
            // no index attached to it (made with ON ONLY and not finished).
            notes.push(format!(
                "{} (a partitioned index some partition has no index attached to)",
                i.name
            ));
            fixes.push(format!(
                "DROP INDEX IF EXISTS {}; -- or create each missing partition's index and                  ALTER INDEX … ATTACH PARTITION it",
                t.index(&i.name)
            ));
            continue;
        }
        fixes.push(format!(
            "DROP INDEX CONCURRENTLY IF EXISTS {};",
            t.index(&i.name)
        ));
        let leftover = i.name.contains("_ccnew") || i.name.contains("_ccold");
        if leftover {
            notes.push(format!(
                "{} (left by a failed REINDEX CONCURRENTLY)",
                i.name
            ));
        } else {
            notes.push(format!("{} (a failed CREATE INDEX CONCURRENTLY)", i.name));
            let again = i
                .definition
                .replacen("CREATE INDEX", "CREATE INDEX CONCURRENTLY", 1);
            let again =
                again.replacen("CREATE UNIQUE INDEX", "CREATE UNIQUE INDEX CONCURRENTLY", 1);
            fixes.push(format!("-- then, once its cause is fixed: {again};"));
        }
    }
    let status = match (invalid.is_empty(), fixes.is_empty()) {
        (true, _) => Status::Ok,
        (false, true) => Status::Warn,
        (false, false) => Status::Fail,
    };
    if invalid
        .iter()
        .any(|i| i.building_pid.is_none() && !i.partitioned)
    {
        fixes.push(format!(
            "-- or: oban reindex{} (drops invalid indexes first)",
            t.flag
        ));
    }
    out.push(Check::new(
        "invalid_indexes",
        status,
        json!(names),
        if invalid.is_empty() {
            "none".into()
        } else {
            format!(
                "{}: still written on every insert, never read",
                notes.join(", ")
            )
        },
        (!fixes.is_empty()).then(|| fixes.join("\n")),
    ));
}

/// Bloat of the heap and of each valid index.
fn bloat_checks(
    schema: &Schema,
    facts: &Facts,
    t: &Target,
    opts: &DoctorOpts,
    out: &mut Vec<Check>,
) {
    if let Some(table) = &facts.table {
        out.push(table_bloat(table, t, opts));
    }
    if schema.partitions.is_some() {
        return super::parts::index_bloat(facts, t, opts, out);
    }
    for i in facts.indexes.iter().filter(|i| i.valid && !t.lite) {
        let unknown = format!(
            "bloat not estimated for a {} index{}",
            i.method,
            if i.method == "btree" {
                " without statistics"
            } else {
                ""
            }
        );
        out.push(bloat_check(
            &format!("index_bloat:{}", i.name),
            (i.bytes, i.expected_bytes, i.measured),
            opts,
            &unknown,
            "wasted",
            || format!("oban reindex{} --index {}", t.flag, i.name),
        ));
    }
}

/// Every check, in the order they are shown.
pub fn judge(schema: &Schema, facts: &Facts, opts: &DoctorOpts) -> Vec<Check> {
    let t = Target::new(schema);
    let mut out = Vec::new();
    needed_indexes(schema, facts, &t, &mut out);
    invalid_indexes(facts, &t, &mut out);
    bloat_checks(schema, facts, &t, opts, &mut out);
    if let Some(table) = &facts.table {
        super::upkeep::vacuum_checks(table, &t, true, &mut out);
    }
    if let Some(layout) = &schema.partitions {
        super::parts::leaf_checks(layout, facts, &t, opts, &mut out);
    }
    super::upkeep::holder_checks(facts, opts, &mut out);
    if let Some(lite) = &facts.lite {
        super::upkeep::lite_checks(lite, opts, &mut out);
    }
    super::jobs::job_checks(facts, &t, opts, &mut out);
    if let (Some(layout), Some(parts)) = (&schema.partitions, &facts.partitions) {
        super::parts::partition_checks(schema, layout, parts, &t, &mut out);
    }
    out
}
