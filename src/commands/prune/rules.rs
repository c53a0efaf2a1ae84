//! Retention rules in a prune pass. The pass becomes consecutive parts, one per rule and a
//! last one for the jobs no rule matches (the `[pruner]`/flag ages), each an ordinary drain
//! with extra conditions: its rule's match and no earlier rule's (first match wins). A
//! keep_last rule's mark (the oldest job it keeps) is read once per pass, over the rule's whole
//! group whatever `--queue`, `--worker` or `--state` narrow, so a narrowed pass never deletes
//! a job the rule keeps.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;

use super::{PruneOpts, PruneReport};
use crate::db::{Batch, Cursor, Db, End, JobFilter, Schema, Target};
use crate::duration;
use crate::model::retention::{Keep, Rule, RuleMatch, DEFAULT_NAME};
use crate::model::{DbTime, FinalState};

/// keep_last 0: a cutoff after every job.
const AFTER_ALL: &str = "9999-12-31T23:59:59";

/// One part of a pass: the rows it may take.
#[derive(Debug)]
pub struct Part {
    /// Filters, with the rule's match and the earlier rules' non-match.
    pub filter: JobFilter,
    /// Each state the part takes with its cutoff (none: the part takes nothing).
    pub targets: Vec<Target>,
}

impl Part {
    /// A batch (or a count) of at most `size` rows of this part.
    pub fn batch<'a>(&'a self, schema: &'a Schema, size: u64) -> Batch<'a> {
        Batch {
            schema,
            targets: &self.targets,
            filter: &self.filter,
            size,
            archive: false,
            cursor: Cursor::new(End::Oldest),
        }
    }
}

/// What one rule (or the default) did in a pass.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RuleReport {
    /// The rule's name; `default` for the jobs no rule matches.
    pub name: String,
    /// The rule's queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// The rule's worker (exact or glob).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker: Option<String>,
    /// The rule's states (absent: all three).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub states: Vec<&'static str>,
    /// Seconds, for a max_age rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_age: Option<f64>,
    /// N, for a keep_last rule.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keep_last: Option<u64>,
    /// A max_age rule's cutoff: older jobs go.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cutoff: Option<DbTime>,
    /// A keep_last rule's oldest kept job (null: the group holds N or fewer, nothing goes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept_from: Option<Option<KeptFrom>>,
    /// Seconds taken to find a keep_last rule's mark.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mark_seconds: Option<f64>,
    /// Rows deleted (in a dry run, that would be).
    pub deleted: u64,
}

/// The oldest job a keep_last rule keeps.
#[derive(Debug, Clone, Serialize)]
pub struct KeptFrom {
    /// Its final-state timestamp.
    pub at: DbTime,
    /// Its id (older jobs at the same timestamp with a lower id go).
    pub id: i64,
}

impl RuleReport {
    fn new(name: &str) -> RuleReport {
        RuleReport {
            name: name.to_string(),
            ..RuleReport::default()
        }
    }

    /// How the table output describes the rule.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(q) = &self.queue {
            parts.push(format!("queue={q}"));
        }
        if let Some(w) = &self.worker {
            parts.push(format!("worker={w}"));
        }
        if !self.states.is_empty() {
            parts.push(format!("state={}", self.states.join("|")));
        }
        if let Some(secs) = self.max_age {
            parts.push(format!(
                "max_age={}",
                duration::human(Duration::from_secs_f64(secs))
            ));
        }
        if let Some(n) = self.keep_last {
            parts.push(format!("keep_last={n}"));
        }
        if parts.is_empty() {
            return self.name.clone();
        }
        format!("{} ({})", self.name, parts.join(", "))
    }
}

/// The parts of a pass, in order, with the default's cutoffs put in `report.cutoffs` and,
/// when rules are set, one `report.rules` entry per part.
pub fn parts(
    db: &mut Db,
    schema: &Schema,
    opts: &PruneOpts,
    report: &mut PruneReport,
) -> Result<Vec<Part>> {
    // One reading of the clock for every age: the default's per state, then each max_age
    // rule's. A state the table's enum lacks (`cancelled` before Elixir's v9) holds no job.
    let mut ages: Vec<Duration> = opts.ages.iter().map(|(_, age)| *age).collect();
    ages.extend(opts.rules.iter().filter_map(|r| match r.keep {
        Keep::MaxAge(age) => Some(age),
        Keep::Last(_) => None,
    }));
    let mut cutoffs = db.cutoffs_of(&ages)?.into_iter();
    let default: Vec<Target> = opts
        .ages
        .iter()
        .zip(cutoffs.by_ref())
        .filter(|((state, _), _)| schema.has_state(state.state()))
        .map(|((state, _), cutoff)| Target::older(*state, cutoff))
        .collect();
    for t in &default {
        report
            .cutoffs
            .insert(t.state.name(), DbTime::from_db(&t.cutoff));
    }
    if opts.rules.is_empty() {
        return Ok(vec![Part {
            filter: opts.filter.clone(),
            targets: default,
        }]);
    }
    let mut parts = Vec::new();
    let mut entries = Vec::new();
    for (i, rule) in opts.rules.iter().enumerate() {
        let earlier: Vec<RuleMatch> = opts.rules[..i].iter().map(|r| r.matches.clone()).collect();
        let mut entry = entry(rule);
        // The states this pass prunes under the rule.
        let states: Vec<FinalState> = default
            .iter()
            .map(|t| t.state)
            .filter(|s| rule.matches.covers(*s))
            .collect();
        let targets = match rule.keep {
            Keep::MaxAge(_) => {
                let cutoff = cutoffs.next().unwrap_or_default();
                entry.cutoff = Some(DbTime::from_db(&cutoff));
                states
                    .iter()
                    .map(|s| Target::older(*s, cutoff.clone()))
                    .collect()
            }
            Keep::Last(0) => states
                .iter()
                .map(|s| Target::older(*s, AFTER_ALL.into()))
                .collect(),
            Keep::Last(n) => {
                // The group: every final job the rule matches and no earlier rule does.
                let group = JobFilter {
                    rule: Some(rule.matches.clone()),
                    unless: earlier.clone(),
                    ..JobFilter::default()
                };
                let all: Vec<FinalState> = FinalState::ALL
                    .into_iter()
                    .filter(|s| rule.matches.covers(*s) && schema.has_state(s.state()))
                    .collect();
                let started = Instant::now();
                let mark = if all.is_empty() || states.is_empty() {
                    None
                } else {
                    db.keep_mark(schema, &all, &group, n)
                        .with_context(|| format!("finding what {} keeps", rule.name))?
                };
                entry.mark_seconds = Some(started.elapsed().as_secs_f64());
                entry.kept_from = Some(mark.as_ref().map(|m| KeptFrom {
                    at: DbTime::from_db(&m.at),
                    id: m.id,
                }));
                match mark {
                    Some(m) => states
                        .iter()
                        .map(|s| Target {
                            state: *s,
                            cutoff: m.at.clone(),
                            below_id: Some(m.id),
                        })
                        .collect(),
                    None => Vec::new(),
                }
            }
        };
        parts.push(Part {
            filter: JobFilter {
                rule: Some(rule.matches.clone()),
                unless: earlier,
                ..opts.filter.clone()
            },
            targets,
        });
        entries.push(entry);
    }
    parts.push(Part {
        filter: JobFilter {
            unless: opts.rules.iter().map(|r| r.matches.clone()).collect(),
            ..opts.filter.clone()
        },
        targets: default,
    });
    entries.push(RuleReport::new(DEFAULT_NAME));
    report.rules = Some(entries);
    Ok(parts)
}

/// A rule's report line before the pass.
fn entry(rule: &Rule) -> RuleReport {
    let mut entry = RuleReport::new(&rule.name);
    entry.queue = rule.matches.queue.clone();
    entry.worker = rule.matches.worker.as_ref().map(|w| w.text().to_string());
    entry.states = rule.matches.states.iter().map(|s| s.name()).collect();
    match rule.keep {
        Keep::MaxAge(age) => entry.max_age = Some(age.as_secs_f64()),
        Keep::Last(n) => entry.keep_last = Some(n),
    }
    entry
}
