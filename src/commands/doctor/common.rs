//! What every group of checks uses: where fixes point ([`Target`]), SQL literals, whether an
//! index leads with given columns, and a relation's bloat judged against the thresholds.

use serde_json::json;

use super::{Check, DoctorOpts, Status};
use crate::db::doctor::{IndexFact, TableFact};
use crate::db::{quote_ident, Flavour, Schema};
use crate::defaults as d;

pub use crate::output::{bytes, duration_secs as ago};

/// A SQL string literal.
pub fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Where the fixes point: the jobs table, and the flags that reach the same schema.
pub struct Target {
    pub jobs: String,
    pub prefix: String,
    pub lite: bool,
    /// ` --prefix X` when not the default.
    pub flag: String,
}

impl Target {
    pub fn new(schema: &Schema) -> Target {
        let lite = schema.flavour == Flavour::Lite;
        Target {
            jobs: if lite {
                "oban_jobs".into()
            } else {
                format!("{}.oban_jobs", quote_ident(&schema.prefix))
            },
            prefix: schema.prefix.clone(),
            lite,
            flag: if lite || schema.prefix == d::PREFIX {
                String::new()
            } else {
                format!(" --prefix {}", schema.prefix)
            },
        }
    }

    /// The same schema and flags, with fixes pointing at `table` (a leaf) instead.
    pub fn on(&self, table: &str) -> Target {
        Target {
            jobs: table.to_string(),
            prefix: self.prefix.clone(),
            lite: self.lite,
            flag: self.flag.clone(),
        }
    }

    pub fn create_index(&self, name: &str, rest: &str) -> String {
        let online = if self.lite { "" } else { " CONCURRENTLY" };
        format!(
            "CREATE INDEX{online} IF NOT EXISTS {name} ON {} {rest};",
            self.jobs
        )
    }

    pub fn index(&self, name: &str) -> String {
        if self.lite {
            quote_ident(name)
        } else {
            format!("{}.{}", quote_ident(&self.prefix), quote_ident(name))
        }
    }
}

/// Whether an index is valid and its columns begin with one of `leads`.
pub fn leads_with(i: &IndexFact, leads: &[&[&str]]) -> bool {
    i.valid
        && leads.iter().any(|lead| {
            lead.len() <= i.columns.len()
                && lead
                    .iter()
                    .zip(&i.columns)
                    .all(|(want, have)| have.as_deref() == Some(*want))
        })
}

/// A relation's waste judged against the thresholds: (status, share, wasted bytes).
pub fn bloat(bytes: i64, expected: Option<i64>, opts: &DoctorOpts) -> Option<(bool, f64, i64)> {
    let expected = expected?;
    let wasted = (bytes - expected).max(0);
    let share = if bytes > 0 {
        wasted as f64 / bytes as f64
    } else {
        0.0
    };
    let bloated = share * 100.0 >= f64::from(opts.max_bloat) && wasted as u64 >= opts.min_bloat;
    Some((bloated, share, wasted))
}

/// The heap's bloat.
pub fn table_bloat(table: &TableFact, t: &Target, opts: &DoctorOpts) -> Check {
    bloat_check(
        "table_bloat",
        (table.bytes, table.expected_bytes, table.measured),
        opts,
        "bloat not known until the table is analyzed",
        "free or dead space",
        || {
            format!(
                "pg_repack --table {} (online), or VACUUM FULL {} (blocks every worker while it runs)",
                t.jobs.replace('"', ""),
                t.jobs
            )
        },
    )
}

/// A relation's bloat as a check, from its `(bytes, expected bytes, measured)`: ok without a
/// figure when it cannot be judged (`unknown` says why), a warning with `fix` when it is over
/// the thresholds. `waste` names what the excess is.
pub fn bloat_check(
    name: &str,
    (size, expected, measured): (i64, Option<i64>, bool),
    opts: &DoctorOpts,
    unknown: &str,
    waste: &str,
    fix: impl FnOnce() -> String,
) -> Check {
    match bloat(size, expected, opts) {
        None => Check::new(
            name,
            Status::Ok,
            json!({"bytes": size, "expected_bytes": null, "bloat": null}),
            format!("{}; {unknown}", bytes(size)),
            None,
        ),
        Some((bloated, share, wasted)) => Check::new(
            name,
            Status::warn_if(bloated),
            json!({"bytes": size, "expected_bytes": expected,
                   "bloat": round(share), "measured": measured}),
            format!(
                "{} of which {:.0}% ({}) is {waste} ({})",
                bytes(size),
                share * 100.0,
                bytes(wasted),
                if measured { "measured" } else { "estimated" }
            ),
            bloated.then(fix),
        ),
    }
}

pub fn round(share: f64) -> f64 {
    (share * 1000.0).round() / 1000.0
}

/// `none` when there is nothing to list, else each item described, joined with `; `.
pub fn listed<T>(items: &[T], none: &str, describe: impl Fn(&T) -> String) -> String {
    if items.is_empty() {
        return none.to_string();
    }
    items.iter().map(describe).collect::<Vec<_>>().join("; ")
}
