//! `oban doctor` on a partitioned `oban_jobs` (PostgreSQL): the facts its own checks need
//! beyond the tree `Schema::partitions` already holds — the coming days on the database clock,
//! and each DEFAULT partition with the rows it holds and the days they fall on.

use anyhow::{Context, Result};
use diesel::RunQueryDsl;

use super::{table, Pg, PgSql, NOW};
use crate::db::doctor::{DefaultFact, PartitionFacts, COUNT_CAP};
use crate::db::{quote_ident, CountValue, Layout, TextValue};

/// Days of rows a DEFAULT partition is searched for (its fix makes a leaf for each).
const MAX_DAYS: i64 = 31;

/// Today and the `days - 1` days after it, and the DEFAULT partitions of `layout`.
pub fn facts(conn: &mut Pg, layout: &Layout, days: u32) -> Result<PartitionFacts> {
    let mut q = PgSql::new();
    let last = q.bind(i64::from(days.max(1)) - 1);
    q.push(&format!(
        "SELECT to_char({NOW}::date + k::int, 'YYYY-MM-DD') AS value \
         FROM generate_series(0, {last}) k ORDER BY k"
    ));
    let rows: Vec<TextValue> = q.query().load(conn).context("reading the clock")?;
    let mut facts = PartitionFacts {
        days: rows.into_iter().map(|r| r.value).collect(),
        defaults: Vec::new(),
    };
    for leaf in layout.leaves.iter().filter(|l| l.default) {
        let me = table(&leaf.schema, &leaf.name);
        let mut q = PgSql::new();
        let cap = q.bind(COUNT_CAP);
        q.push(&format!(
            "SELECT count(*) AS n FROM (SELECT 1 FROM {me} LIMIT {cap}) x"
        ));
        let counted: Vec<CountValue> = q.query().load(conn).context("counting a default")?;
        let rows = counted.first().map_or(0, |r| r.n);
        let mut days = Vec::new();
        if let (Some(range), true) = (&leaf.range, rows > 0) {
            let mut q = PgSql::new();
            let most = q.bind(MAX_DAYS);
            q.push(&format!(
                "SELECT DISTINCT to_char({}, 'YYYY-MM-DD') AS value FROM {me} \
                 WHERE {0} IS NOT NULL ORDER BY 1 LIMIT {most}",
                quote_ident(&range.column)
            ));
            let found: Vec<TextValue> = q.query().load(conn).context("reading a default")?;
            days = found.into_iter().map(|r| r.value).collect();
        }
        facts.defaults.push(DefaultFact {
            schema: leaf.schema.clone(),
            name: leaf.name.clone(),
            parent: leaf.parent.clone(),
            rows,
            days,
        });
    }
    Ok(facts)
}
