//! The hint prune prints when no index serves a final state's timestamp, and on a partitioned
//! table the warning when a final state has no leaf for one of the coming days.

use anyhow::Result;

use super::PruneOpts;
use crate::db::{Db, Flavour, Schema};
use crate::model::FinalState;

/// A hint naming the index that would serve a state whose timestamp no index covers.
pub fn missing_index_hint(schema: &Schema, opts: &PruneOpts) -> Option<String> {
    // Lite has no such indexes; a partitioned table's leaves are found by their range.
    if schema.flavour == Flavour::Lite || schema.partitions.is_some() {
        return None;
    }
    let missing: Vec<FinalState> = opts
        .ages
        .iter()
        .map(|(s, _)| *s)
        .filter(|s| !schema.indexed_final_states.contains(s))
        .collect();
    if missing.is_empty() {
        return None;
    }
    let statements: Vec<String> = missing
        .iter()
        .map(|s| {
            format!(
                "  CREATE INDEX CONCURRENTLY oban_jobs_{col}_index ON {}.oban_jobs ({col}) WHERE state = '{}';",
                crate::db::quote_ident(&schema.prefix),
                s.name(),
                col = s.column(),
            )
        })
        .collect();
    Some(format!(
        "hint: no index serves {}, so prune scans the table for them (correct, but slow on large tables). This index would make it fast:\n{}",
        missing.iter().map(|s| s.column()).collect::<Vec<_>>().join(", "),
        statements.join("\n")
    ))
}

/// Days ahead, today included, that a final state partitioned by day should have leaves for.
pub const DAYS_AHEAD: u32 = crate::defaults::PARTITION_DAYS_AHEAD;

/// On a partitioned table, the days among today and the next two (database clock, UTC) that a
/// final state partitioned by day has no leaf for: a job finishing then cannot be stored.
pub fn missing_leaves(db: &mut Db, schema: &Schema, opts: &PruneOpts) -> Result<Option<String>> {
    let Some(layout) = &schema.partitions else {
        return Ok(None);
    };
    let ahead: Vec<f64> = (0..DAYS_AHEAD).map(|d| -86_400.0 * f64::from(d)).collect();
    let times = db.cutoffs(&ahead)?;
    let mut missing = Vec::new();
    for (state, _) in &opts.ages {
        if !layout.by_day(*state) {
            continue;
        }
        for day in times.iter().map(|t| &t[..10]) {
            let (start, end) = (
                format!("{day}T00:00:00.000000"),
                format!("{day}T23:59:59.999999"),
            );
            if !layout.covers(*state, &start) || !layout.covers(*state, &end) {
                missing.push(format!("{} on {day}", state.name()));
            }
        }
    }
    if missing.is_empty() {
        return Ok(None);
    }
    Ok(Some(format!(
        "warning: no partition holds {}: a job finishing then cannot be stored. \
         `oban partitions --premake 3d` creates the leaves for the coming days",
        missing.join(", ")
    )))
}
