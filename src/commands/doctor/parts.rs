//! Checks of a partitioned `oban_jobs` (Oban Pro's layout). Indexes are judged on the leaves
//! that hold the rows each query reads (an index on the parent counts for every leaf below
//! it); bloat, dead tuples, vacuum and analyze are judged leaf by leaf, as autovacuum works on
//! leaves and never on the partitioned parent, whose statistics row stays empty. A final
//! state partitioned by day needs no timestamp index (prune drops whole day leaves); it needs
//! leaves for the coming days instead, and a DEFAULT partition that holds rows is reported.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::common::{bloat, bytes, leads_with, literal, round, table_bloat, Target};
use super::{Check, DoctorOpts, Status};
use crate::db::doctor::{DefaultFact, Facts, PartitionFacts};
use crate::db::{quote_ident, Layout, Leaf, Schema};
use crate::model::{FinalState, JobState};

/// A leaf as fixes name it.
fn qualified(leaf: &Leaf) -> String {
    format!("{}.{}", quote_ident(&leaf.schema), quote_ident(&leaf.name))
}

/// The leaves that hold rows in any of `states` (DEFAULT partitions aside: they have their
/// own check), and those of them no valid index beginning with one of `leads` serves, on the
/// leaf itself or on a table above it.
fn served<'a>(
    layout: &'a Layout,
    facts: &Facts,
    states: &[JobState],
    leads: &[&[&str]],
) -> (Vec<&'a Leaf>, Vec<&'a Leaf>) {
    let holding: Vec<&Leaf> = layout
        .leaves
        .iter()
        .filter(|l| !l.default && l.states.iter().any(|s| states.contains(s)))
        .collect();
    let lacking = holding
        .iter()
        .copied()
        .filter(|l| {
            !facts.indexes.iter().any(|i| {
                (i.table == l.name || i.table == l.parent || i.table == "oban_jobs")
                    && leads_with(i, leads)
            })
        })
        .collect();
    (holding, lacking)
}

fn names(leaves: &[&Leaf]) -> String {
    leaves
        .iter()
        .map(|l| l.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// One index requirement judged on the leaves: the check, with a `CREATE INDEX` per leaf
/// that lacks it.
fn leaf_index(
    (name, missing): (&str, Status),
    facts: &Facts,
    layout: &Layout,
    t: &Target,
    (states, leads): (&[JobState], &[&[&str]]),
    (what, why): (&str, &str),
    (suffix, rest): (&str, &str),
) -> Check {
    let (holding, lacking) = served(layout, facts, states, leads);
    let ok = lacking.is_empty();
    Check::new(
        name,
        if ok { Status::Ok } else { missing },
        json!(ok),
        if ok {
            format!("{what}: present on {}", names(&holding))
        } else {
            format!("no valid {what} index on {}: {why}", names(&lacking))
        },
        (!ok).then(|| {
            lacking
                .iter()
                .map(|l| {
                    t.on(&qualified(l))
                        .create_index(&quote_ident(&format!("{}_{suffix}", l.name)), rest)
                })
                .collect::<Vec<_>>()
                .join("\n")
        }),
    )
}

/// The indexes the flavour needs, on the leaves that hold the rows each query reads.
pub fn needed_indexes(
    schema: &Schema,
    layout: &Layout,
    facts: &Facts,
    t: &Target,
    out: &mut Vec<Check>,
) {
    out.push(leaf_index(
        ("fetch_index", Status::Fail),
        facts,
        layout,
        t,
        (
            &[JobState::Available],
            &[&["state", "queue", "priority", "scheduled_at", "id"]],
        ),
        (
            "(state, queue, priority, scheduled_at, id)",
            "every fetch scans them",
        ),
        (
            "state_queue_priority_scheduled_at_id_index",
            "(state, queue, priority, scheduled_at, id)",
        ),
    ));
    if schema.flavour == crate::db::Flavour::ObanPy {
        out.push(leaf_index(
            ("staged_index", Status::Warn),
            facts,
            layout,
            t,
            (
                &[JobState::Scheduled, JobState::Retryable],
                &[&["scheduled_at"], &["state", "scheduled_at"]],
            ),
            (
                "(scheduled_at, id) for staging",
                "staging scheduled and retryable jobs scans them",
            ),
            (
                "staged_scheduled_at_id_index",
                "(scheduled_at, id) INCLUDE (queue) WHERE state IN ('scheduled', 'retryable')",
            ),
        ));
    }
    for state in FinalState::ALL {
        if !schema.has_state(state.state()) {
            continue;
        }
        let col = state.column();
        let name = format!("{col}_index");
        if layout.by_day(state) {
            out.push(Check::new(
                &name,
                Status::Ok,
                json!(true),
                format!(
                    "{} jobs are partitioned by day on {col}: prune drops whole leaves (the day \
                     straddling the cutoff in batches), no index needed",
                    state.name()
                ),
                None,
            ));
            continue;
        }
        let why = format!(
            "prune and stats read every {} job to find old ones",
            state.name()
        );
        out.push(leaf_index(
            (&name, Status::Warn),
            facts,
            layout,
            t,
            (&[state.state()], &[&[col], &["state", col]]),
            (col, &why),
            (
                &format!("{col}_index"),
                &format!("({col}) WHERE state = '{}'", state.name()),
            ),
        ));
    }
}

/// Index bloat on the leaves: each bloated leaf index on its own line, the rest summed in one.
pub fn index_bloat(facts: &Facts, t: &Target, opts: &DoctorOpts, out: &mut Vec<Check>) {
    let held: Vec<_> = facts
        .indexes
        .iter()
        .filter(|i| i.valid && !i.partitioned)
        .collect();
    let total: i64 = held.iter().map(|i| i.bytes).sum();
    let mut bloated = Vec::new();
    for i in &held {
        let Some((true, share, wasted)) = bloat(i.bytes, i.expected_bytes, opts) else {
            continue;
        };
        bloated.push(i.name.clone());
        out.push(Check::new(
            &format!("index_bloat:{}", i.name),
            Status::Warn,
            json!({"bytes": i.bytes, "expected_bytes": i.expected_bytes,
                   "bloat": round(share), "measured": i.measured, "table": i.table}),
            format!(
                "{} on {} of which {:.0}% ({}) is wasted ({})",
                bytes(i.bytes),
                i.table,
                share * 100.0,
                bytes(wasted),
                if i.measured { "measured" } else { "estimated" }
            ),
            Some(format!("REINDEX INDEX CONCURRENTLY {};", t.index(&i.name))),
        ));
    }
    out.push(Check::new(
        "index_bloat",
        Status::Ok,
        json!({"indexes": held.len(), "bytes": total, "bloated": bloated}),
        format!(
            "{} on the leaves, {}: {}",
            crate::output::plural(held.len() as u64, "index", "indexes"),
            bytes(total),
            if bloated.is_empty() {
                "none bloated".to_string()
            } else {
                format!("{} bloated (listed apart)", bloated.len())
            }
        ),
        None,
    ));
}

/// Heap bloat, dead tuples, vacuum, analyze and autovacuum settings, judged on each leaf and
/// shown as one check each: the leaves that are not ok, or else the open states' leaf.
pub fn leaf_checks(
    layout: &Layout,
    facts: &Facts,
    t: &Target,
    opts: &DoctorOpts,
    out: &mut Vec<Check>,
) {
    let mut merged: Vec<(String, Vec<(String, Check)>)> = Vec::new();
    let mut open = None;
    for fact in &facts.leaves {
        let leaf = layout.leaves.iter().find(|l| l.name == fact.name);
        let queue = leaf.is_some_and(|l| l.states.iter().any(|s| s.as_final().is_none()));
        if queue && open.is_none() {
            open = Some(fact.name.clone());
        }
        let on = t.on(&leaf.map_or_else(|| quote_ident(&fact.name), qualified));
        let mut checks = vec![table_bloat(fact, &on, opts)];
        super::upkeep::vacuum_checks(fact, &on, queue, &mut checks);
        for c in checks {
            match merged.iter_mut().find(|(n, _)| *n == c.name) {
                Some((_, all)) => all.push((fact.name.clone(), c)),
                None => merged.push((c.name.clone(), vec![(fact.name.clone(), c)])),
            }
        }
    }
    for (name, all) in merged {
        let status = all
            .iter()
            .map(|(_, c)| c.status)
            .max()
            .unwrap_or(Status::Ok);
        let value: BTreeMap<&str, &Value> =
            all.iter().map(|(l, c)| (l.as_str(), &c.value)).collect();
        let bad: Vec<&(String, Check)> =
            all.iter().filter(|(_, c)| c.status != Status::Ok).collect();
        let detail = if bad.is_empty() {
            let shown = all
                .iter()
                .find(|(l, _)| Some(l) == open.as_ref())
                .or(all.first());
            format!(
                "{} ok{}",
                crate::output::plural(all.len() as u64, "leaf", "leaves"),
                shown.map_or(String::new(), |(l, c)| format!("; {l}: {}", c.detail))
            )
        } else {
            bad.iter()
                .map(|(l, c)| format!("{l}: {}", c.detail))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let mut fixes: Vec<String> = Vec::new();
        for fix in bad.iter().filter_map(|(_, c)| c.fix.clone()) {
            if !fixes.contains(&fix) {
                fixes.push(fix);
            }
        }
        out.push(Check::new(
            &name,
            status,
            json!({ "leaves": value }),
            detail,
            (!fixes.is_empty()).then(|| fixes.join("\n")),
        ));
    }
}

/// Leaves missing for the coming days, and DEFAULT partitions that hold rows.
pub fn partition_checks(
    schema: &Schema,
    layout: &Layout,
    parts: &PartitionFacts,
    t: &Target,
    out: &mut Vec<Check>,
) {
    let mut missing = Vec::new();
    let mut fail = false;
    let mut by_day = Vec::new();
    for state in FinalState::ALL {
        if !schema.has_state(state.state()) || !layout.by_day(state) {
            continue;
        }
        by_day.push(state.name());
        // Rows of a day without a leaf land in a DEFAULT partition beside them, if any.
        let caught = layout
            .leaves
            .iter()
            .any(|l| l.default && l.states.contains(&state.state()));
        for (k, day) in parts.days.iter().enumerate() {
            let (start, end) = (
                format!("{day}T00:00:00.000000"),
                format!("{day}T23:59:59.999999"),
            );
            if !layout.covers(state, &start) || !layout.covers(state, &end) {
                missing.push(json!({"state": state.name(), "day": day}));
                fail |= k == 0 && !caught;
            }
        }
    }
    let full: Vec<&DefaultFact> = parts.defaults.iter().filter(|f| f.rows > 0).collect();
    let listed = missing
        .iter()
        .map(|m| {
            format!(
                "{} on {}",
                m["state"].as_str().unwrap_or(""),
                m["day"].as_str().unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let days = parts.days.len() as u64;
    out.push(Check::new(
        "partition_leaves",
        match (missing.is_empty(), fail) {
            (true, _) => Status::Ok,
            (false, false) => Status::Warn,
            (false, true) => Status::Fail,
        },
        json!({"missing": missing, "days": days, "by_day": by_day}),
        if by_day.is_empty() {
            "no final state is partitioned by day".into()
        } else if missing.is_empty() {
            format!(
                "{} have a leaf for today and the next {}",
                by_day.join(", "),
                crate::output::plural(days.saturating_sub(1), "day", "days")
            )
        } else {
            format!(
                "no leaf for {listed}: a job finishing then cannot be stored{}",
                if fail {
                    ""
                } else {
                    " (or lands in a DEFAULT partition)"
                }
            )
        },
        (!missing.is_empty()).then(|| {
            format!(
                "oban partitions{} --premake {}d{}",
                t.flag,
                days,
                if full.is_empty() {
                    ""
                } else {
                    " (after moving the DEFAULT partition's rows out, see default_partition)"
                }
            )
        }),
    ));
    let capped = |f: &DefaultFact| {
        let rows = crate::output::plural(f.rows.max(0) as u64, "row", "rows");
        if f.rows >= crate::db::doctor::COUNT_CAP {
            format!("at least {rows}")
        } else {
            rows
        }
    };
    out.push(Check::new(
        "default_partition",
        Status::warn_if(!full.is_empty()),
        json!({
            "partitions": parts.defaults,
            // Rows are counted up to this many per partition.
            "counted_up_to": crate::db::doctor::COUNT_CAP,
        }),
        if parts.defaults.is_empty() {
            "no DEFAULT partition".into()
        } else if full.is_empty() {
            format!(
                "{}: empty",
                parts
                    .defaults
                    .iter()
                    .map(|f| f.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            full.iter()
                .map(|f| {
                    format!(
                        "{} holds {}{}: it fills up, and a leaf for a day it holds rows of \
                         cannot be attached",
                        f.name,
                        capped(f),
                        if f.days.is_empty() {
                            String::new()
                        } else {
                            format!(" (of {})", f.days.join(", "))
                        }
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        },
        (!full.is_empty()).then(|| {
            full.iter()
                .map(|f| move_rows(schema, f))
                .collect::<Vec<_>>()
                .join("\n")
        }),
    ));
}

/// The statements that move a DEFAULT partition's rows into leaves of their own days, in one
/// transaction (it locks the parent while it runs, so lock_timeout bounds the wait).
fn move_rows(schema: &Schema, f: &DefaultFact) -> String {
    let parent = format!("{}.{}", quote_ident(&f.schema), quote_ident(&f.parent));
    let me = format!("{}.{}", quote_ident(&f.schema), quote_ident(&f.name));
    let cols = schema
        .columns
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ");
    let mut sql = vec![
        "BEGIN;".to_string(),
        format!("SET LOCAL lock_timeout = {};", literal("5s")),
        format!("ALTER TABLE {parent} DETACH PARTITION {me};"),
    ];
    if f.days.is_empty() {
        sql.push(format!(
            "-- create the partition of {parent} its rows belong in, then:"
        ));
    }
    for day in &f.days {
        let leaf = format!("{}_{}", f.parent, day.replace('-', ""));
        sql.push(format!(
            "CREATE TABLE IF NOT EXISTS {}.{} PARTITION OF {parent} FOR VALUES FROM ({}) TO ({}::date + 1);",
            quote_ident(&f.schema),
            quote_ident(&leaf),
            literal(day),
            literal(day)
        ));
    }
    sql.push(format!(
        "INSERT INTO {parent} ({cols}) OVERRIDING SYSTEM VALUE SELECT {cols} FROM {me};"
    ));
    sql.push(format!("TRUNCATE {me};"));
    sql.push(format!(
        "ALTER TABLE {parent} ATTACH PARTITION {me} DEFAULT; -- or DROP TABLE {me}; (no DEFAULT, as Oban Pro's layout)"
    ));
    sql.push("COMMIT;".into());
    sql.join("\n")
}
