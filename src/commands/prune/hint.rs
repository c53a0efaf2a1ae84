//! The hint prune prints when no index serves a final state's timestamp.

use super::PruneOpts;
use crate::db::{Flavour, Schema};
use crate::model::FinalState;

/// A hint naming the index that would serve a state whose timestamp no index covers.
pub fn missing_index_hint(schema: &Schema, opts: &PruneOpts) -> Option<String> {
    if schema.flavour == Flavour::Lite {
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
