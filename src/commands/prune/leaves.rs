//! Prune on a partitioned table: a leaf whose whole range is older than its state's cutoff is
//! removed whole instead of row by row. It is marked and detached (concurrently where
//! PostgreSQL allows it), its rows counted and, with `--archive`, streamed to the archive and
//! synced, then dropped. A leaf the parent's locks keep busy past `lock_timeout` is left for
//! the next pass. With `--queue`, `--worker` or retention rules nothing goes whole: a leaf holds
//! every queue and worker.

use std::collections::BTreeSet;
use std::time::Instant;

use anyhow::{Context, Result};
use serde::Serialize;

use super::{Archive, PruneOpts, PruneReport};
use crate::db::errors::{timeout, Timeout};
use crate::db::{Db, JobFilter, Leaf, Schema, Target};
use crate::model::FinalState;
use crate::watch;

/// A leaf removed whole (or, in a dry run, that would be): counted, not read, so its rows are
/// given per state only.
#[derive(Debug, Clone, Serialize)]
pub struct DroppedLeaf {
    /// The leaf's name.
    pub name: String,
    /// The final state it held.
    pub state: &'static str,
    /// Its rows.
    pub rows: u64,
}

/// The leaves this pass removes whole, oldest first per state.
/// Nothing goes whole under a filter or a retention rule: a leaf holds every queue and worker.
pub fn whole<'a>(
    schema: &'a Schema,
    filter: &JobFilter,
    targets: &[Target],
) -> Vec<(FinalState, &'a Leaf)> {
    let Some(layout) = &schema.partitions else {
        return Vec::new();
    };
    if *filter != JobFilter::default() {
        return Vec::new();
    }
    targets
        .iter()
        .flat_map(|t| {
            layout
                .whole(t.state, &t.cutoff)
                .into_iter()
                .map(|l| (t.state, l))
        })
        .collect()
}

/// A dry run: each leaf that would go, with its rows.
pub fn count(db: &mut Db, leaves: &[(FinalState, &Leaf)], report: &mut PruneReport) -> Result<()> {
    for (state, leaf) in leaves {
        let rows = db
            .table_rows(&leaf.schema, &leaf.name)
            .with_context(|| format!("counting the rows of partition {}", leaf.name))?;
        report.add_leaf(&leaf.name, *state, rows);
    }
    Ok(())
}

/// Removes the leaves, finishing first any that an earlier pass detached and did not drop.
pub fn remove(
    db: &mut Db,
    schema: &Schema,
    opts: &PruneOpts,
    leaves: &[(FinalState, &Leaf)],
    mut archive: Option<&mut Archive>,
    report: &mut PruneReport,
    started: Instant,
) -> Result<()> {
    if let Some(layout) = &schema.partitions {
        for d in &layout.detached {
            let state = d.state.unwrap_or(FinalState::Completed);
            finish(
                db,
                opts,
                &d.schema,
                &d.name,
                state,
                archive.as_deref_mut(),
                report,
            )?;
        }
    }
    // PostgreSQL allows one pending detach per partitioned table. A concurrent detach that
    // `lock_timeout` stops while it waits for older snapshots (a long reader) leaves its leaf
    // pending, and every other detach from that parent fails until that one is finalized. So
    // a pending leaf this pass removes goes first (its finalize); a parent whose pending leaf
    // this pass must keep (someone else's detach) is left alone, with a notice; and after a
    // lock timeout the parent's other leaves wait for the next pass as well.
    let mut blocked: BTreeSet<(&str, &str)> = BTreeSet::new();
    let layout = schema.partitions.iter().flat_map(|layout| &layout.leaves);
    let in_pass = |l: &Leaf| leaves.iter().any(|(_, w)| *w == l);
    let parent_in_pass = |l: &Leaf| leaves.iter().any(|(_, w)| parent(w) == parent(l));
    let kept = layout.filter(|l| l.detach_pending && parent_in_pass(l) && !in_pass(l));
    for kept in kept {
        crate::output::notice(&format!(
            "oban: prune: partition {} of {} is pending detach, not by this pass (its range is \
             not past the cutoff): no other leaf of {} can go until it is finished \
             (ALTER TABLE … DETACH PARTITION … FINALIZE)",
            kept.name, kept.parent, kept.parent
        ));
        blocked.insert(parent(kept));
    }
    let mut ordered: Vec<&(FinalState, &Leaf)> = leaves.iter().collect();
    ordered.sort_by_key(|(_, l)| !l.detach_pending);
    for (state, leaf) in ordered {
        if watch::interrupted() || opts.max_runtime.is_some_and(|max| started.elapsed() >= max) {
            return Ok(());
        }
        if blocked.contains(&parent(leaf)) {
            report.partitions_busy.push(leaf.name.clone());
            continue;
        }
        match db.detach(leaf, *state) {
            Ok(()) => {}
            Err(e) if timeout(&e) == Some(Timeout::Lock) => {
                // Workers or a reader hold the parent: this leaf waits for the next pass.
                report.partitions_busy.push(leaf.name.clone());
                blocked.insert(parent(leaf));
                continue;
            }
            Err(e) => return Err(e.context(format!("detaching partition {}", leaf.name))),
        }
        finish(
            db,
            opts,
            &leaf.schema,
            &leaf.name,
            *state,
            archive.as_deref_mut(),
            report,
        )?;
    }
    Ok(())
}

/// A leaf's parent, as (schema, name).
fn parent(leaf: &Leaf) -> (&str, &str) {
    (leaf.parent_schema.as_str(), leaf.parent.as_str())
}

/// Counts, archives and drops a detached leaf.
fn finish(
    db: &mut Db,
    opts: &PruneOpts,
    schema: &str,
    name: &str,
    state: FinalState,
    archive: Option<&mut Archive>,
    report: &mut PruneReport,
) -> Result<()> {
    // Counted once detached, so the figure is exactly what goes.
    let rows = db
        .table_rows(schema, name)
        .with_context(|| format!("counting the rows of partition {name}"))?;
    if let Some(archive) = archive {
        db.stream_rows(schema, name, opts.batch_size, &mut |rows| {
            archive.append(rows)
        })
        .with_context(|| format!("archiving partition {name}"))?;
    }
    match db.drop_table(schema, name) {
        Ok(()) => report.add_leaf(name, state, rows),
        // Someone (autovacuum, a reader) holds the detached table: the next pass drops it.
        Err(e) if timeout(&e) == Some(Timeout::Lock) => report.partitions_busy.push(name.into()),
        Err(e) => return Err(e.context(format!("dropping detached partition {name}"))),
    }
    Ok(())
}
