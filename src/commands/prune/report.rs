//! What a prune pass did, and how it reads as a table or CSV (JSON is its serde form).

use std::collections::BTreeMap;

use serde::Serialize;

use super::leaves::DroppedLeaf;
use super::{PruneOpts, RuleReport, ThrottleReport};
use crate::db::{Flavour, Schema};
use crate::model::{DbTime, FinalState};
use crate::output::{self, Report};

/// Why a pass stopped; when two drains stop differently, the later variant wins.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Nothing eligible is left (apart from rows other sessions hold locked).
    #[default]
    Done,
    /// `--limit` rows were deleted; more may remain for the next pass.
    Limit,
    /// `--max-runtime` ran out.
    MaxRuntime,
    /// Ctrl-C.
    Interrupted,
    /// Another prune holds the advisory lock for this database and prefix; nothing was done.
    Locked,
}

/// How a pass found its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The oldest eligible rows first, from the timestamp indexes.
    Index,
    /// The heap in physical order, block range by block range (a backlog, or a state without
    /// a timestamp index).
    HeapWalk,
}

/// The result of one pass.
#[derive(Debug, Clone, Serialize)]
pub struct PruneReport {
    /// Always "prune".
    pub command: &'static str,
    /// Counted only.
    pub dry_run: bool,
    /// The schema pruned.
    pub prefix: String,
    /// The table shape found.
    pub flavour: Flavour,
    /// Rows deleted (or, in a dry run, that would be) per final state.
    pub deleted: BTreeMap<&'static str, u64>,
    /// The same, per queue.
    pub by_queue: BTreeMap<String, BTreeMap<&'static str, u64>>,
    /// Sum of `deleted`.
    pub total: u64,
    /// Rows eligible in all (exact), when the pass was limited: a dry run that reached
    /// `--limit` counts the rest too, so `oban prune --dry-run` says how much there is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eligible: Option<u64>,
    /// Transactions committed.
    pub batches: u64,
    /// Why the pass ended.
    pub outcome: Outcome,
    /// The cutoff per pruned state (RFC 3339, database clock): older jobs go.
    pub cutoffs: BTreeMap<&'static str, DbTime>,
    /// Rows per pass.
    pub limit: u64,
    /// Rows per transaction.
    pub batch_size: u64,
    /// Seconds the pass took.
    pub elapsed: f64,
    /// The archive file, when archiving.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive: Option<String>,
    /// How the rows were found (a pass that deleted: not a dry run, not locked out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub method: Option<Method>,
    /// What the throttles did, when any was set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub throttle: Option<ThrottleReport>,
    /// With `--vacuum`: seconds the VACUUM (ANALYZE) after the pass took; null when the pass
    /// deleted too few rows to need one (or another run held the vacuum lock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vacuumed: Option<Option<f64>>,
    /// On a partitioned table: the leaves removed whole (in a dry run, that would be), whose
    /// rows `deleted` includes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partitions_dropped: Option<Vec<DroppedLeaf>>,
    /// Leaves that would have gone whole but whose parent stayed locked past `lock_timeout`:
    /// the next pass tries again.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub partitions_busy: Vec<String>,
    /// With retention rules: each rule in order, then `default` (the jobs no rule matched),
    /// with what it deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rules: Option<Vec<RuleReport>>,
}

impl PruneReport {
    pub(super) fn new(opts: &PruneOpts, schema: &Schema) -> PruneReport {
        PruneReport {
            command: "prune",
            dry_run: opts.dry_run,
            prefix: schema.prefix.clone(),
            flavour: schema.flavour,
            deleted: FinalState::ALL.iter().map(|s| (s.name(), 0)).collect(),
            by_queue: BTreeMap::new(),
            total: 0,
            eligible: None,
            batches: 0,
            outcome: Outcome::Done,
            cutoffs: BTreeMap::new(),
            limit: opts.limit,
            batch_size: opts.batch_size,
            elapsed: 0.0,
            archive: opts.archive.as_ref().map(|p| p.display().to_string()),
            method: None,
            throttle: None,
            vacuumed: None,
            partitions_dropped: schema.partitions.as_ref().map(|_| Vec::new()),
            partitions_busy: Vec::new(),
            rules: None,
        }
    }

    /// Counts rows of part `i` (a rule, or the default after them) to its rule.
    pub(super) fn add_to_rule(&mut self, i: usize, n: u64) {
        if let Some(rule) = self.rules.as_mut().and_then(|r| r.get_mut(i)) {
            rule.deleted += n;
        }
    }

    /// Adds the rows of a leaf removed whole: per state only, since a leaf is counted without
    /// reading its rows (an index-only count), so no per-queue split.
    pub(super) fn add_leaf(&mut self, name: &str, state: FinalState, rows: u64) {
        *self.deleted.entry(state.name()).or_default() += rows;
        self.total += rows;
        self.partitions_dropped
            .get_or_insert_with(Vec::new)
            .push(DroppedLeaf {
                name: name.to_string(),
                state: state.name(),
                rows,
            });
    }

    pub(super) fn add(&mut self, state: &str, queue: &str, n: u64) {
        // States come back from the database; only final ones can be deleted.
        let Some(state) = FinalState::parse(state) else {
            return;
        };
        *self.deleted.entry(state.name()).or_default() += n;
        *self
            .by_queue
            .entry(queue.to_string())
            .or_default()
            .entry(state.name())
            .or_default() += n;
        self.total += n;
    }
}

impl Report for PruneReport {
    fn to_table(&self) -> String {
        let verb = if self.dry_run {
            "would delete"
        } else {
            "deleted"
        };
        let mut out = match self.outcome {
            Outcome::Locked => {
                return format!(
                    "prune: another prune is running on this database (schema {}); nothing done\n",
                    self.prefix
                )
            }
            _ if self.total == 0 => format!(
                "prune{}: nothing to delete ({})\n",
                if self.dry_run { " (dry run)" } else { "" },
                output::seconds(self.elapsed)
            ),
            _ if self.dry_run => format!(
                "prune (dry run): {verb} {}{} ({})\n",
                output::plural(self.total, "job", "jobs"),
                match self.eligible {
                    Some(all) if all > self.total => format!(
                        " in this pass, of {all} eligible ({} passes at --limit {})",
                        all.div_ceil(self.limit),
                        self.limit
                    ),
                    _ => String::new(),
                },
                output::seconds(self.elapsed),
            ),
            _ => format!(
                "prune: {verb} {} in {} ({}{})\n",
                output::plural(self.total, "job", "jobs"),
                output::seconds(self.elapsed),
                output::plural(self.batches, "batch", "batches"),
                if self.method == Some(Method::HeapWalk) {
                    ", walking the heap"
                } else {
                    ""
                }
            ),
        };
        if self.total > 0 {
            let mut t = output::table(&["queue", "completed", "cancelled", "discarded", "total"]);
            let cells = |states: &BTreeMap<&'static str, u64>| {
                let mut row = vec![];
                for state in FinalState::ALL {
                    row.push(output::num(states.get(state.name()).copied().unwrap_or(0)));
                }
                row.push(output::num(states.values().sum()));
                row
            };
            for (queue, states) in &self.by_queue {
                let mut row = vec![comfy_table::Cell::new(queue)];
                row.extend(cells(states));
                t.add_row(row);
            }
            if !self.by_queue.is_empty() {
                let mut batched: BTreeMap<&'static str, u64> = BTreeMap::new();
                for states in self.by_queue.values() {
                    for (state, n) in states {
                        *batched.entry(state).or_default() += n;
                    }
                }
                let mut row = vec![comfy_table::Cell::new("total")];
                row.extend(cells(&batched));
                t.add_row(row);
                out.push_str(&format!("{t}\n"));
            }
        }
        let gone = if self.dry_run {
            "would drop"
        } else {
            "dropped"
        };
        for leaf in self.partitions_dropped.iter().flatten() {
            out.push_str(&format!(
                "  {gone} partition {} ({} {}, all queues)\n",
                leaf.name,
                output::plural(leaf.rows, "job", "jobs"),
                leaf.state
            ));
        }
        for name in &self.partitions_busy {
            out.push_str(&format!(
                "  partition {name} left for the next pass: its parent stayed locked past --lock-timeout\n"
            ));
        }
        for (state, cutoff) in &self.cutoffs {
            out.push_str(&format!("  {state} before {cutoff}\n"));
        }
        for rule in self.rules.iter().flatten() {
            out.push_str(&format!("  {}: {verb} {}", rule.describe(), rule.deleted));
            match (&rule.cutoff, &rule.kept_from) {
                (Some(cutoff), _) => out.push_str(&format!(", before {cutoff}")),
                (_, Some(Some(kept))) => {
                    out.push_str(&format!(", keeping from {} (id {})", kept.at, kept.id))
                }
                (_, Some(None)) => out.push_str(", keeping all"),
                _ => {}
            }
            out.push('\n');
        }
        if let Some(Some(secs)) = self.vacuumed {
            out.push_str(&format!(
                "vacuumed the table in {}\n",
                output::seconds(secs)
            ));
        }
        match self.outcome {
            Outcome::Limit => out.push_str(&format!(
                "stopped at --limit {}: more jobs may be eligible; the next pass continues\n",
                self.limit
            )),
            Outcome::MaxRuntime => {
                out.push_str("stopped at --max-runtime; the next pass continues\n")
            }
            Outcome::Interrupted => {
                out.push_str("interrupted: every committed batch is listed above\n")
            }
            _ => {}
        }
        if let Some(t) = self.throttle.as_ref().filter(|t| t.waits > 0) {
            let causes: Vec<String> = t
                .waited_by_cause
                .iter()
                .map(|(cause, s)| format!("{} {}", cause.replace('_', " "), output::seconds(*s)))
                .collect();
            out.push_str(&format!(
                "throttled: {} waited, {} in all ({})\n",
                output::plural(t.waits, "batch", "batches"),
                output::seconds(t.waited_seconds),
                causes.join(", ")
            ));
        }
        if let Some(path) = &self.archive {
            if !self.dry_run && self.total > 0 {
                out.push_str(&format!("archived to {path}\n"));
            }
        }
        out
    }

    fn fleet_rows(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let n = |state: &str| self.deleted.get(state).copied().unwrap_or(0).to_string();
        let outcome = serde_json::to_value(self.outcome).unwrap_or_default();
        let row = vec![
            self.total.to_string(),
            n("completed"),
            n("cancelled"),
            n("discarded"),
            outcome.as_str().unwrap_or_default().to_string(),
            self.dry_run.to_string(),
        ];
        let header = "deleted,completed,cancelled,discarded,outcome,dry_run";
        (output::header(header), vec![row])
    }

    fn to_csv(&self) -> (Vec<String>, Vec<Vec<String>>) {
        let header = output::header("state,queue,jobs,dry_run");
        let rows = self
            .by_queue
            .iter()
            .flat_map(|(queue, states)| {
                states.iter().map(move |(state, n)| {
                    vec![
                        state.to_string(),
                        queue.clone(),
                        n.to_string(),
                        self.dry_run.to_string(),
                    ]
                })
            })
            .chain(self.partitions_dropped.iter().flatten().map(|leaf| {
                // A leaf goes whole, every queue at once.
                vec![
                    leaf.state.to_string(),
                    String::new(),
                    leaf.rows.to_string(),
                    self.dry_run.to_string(),
                ]
            }))
            .collect();
        (header, rows)
    }
}
