//! `oban doctor` and `oban vacuum` on SQLite (Oban Lite): the indexes of `oban_jobs`, the
//! file's integrity (`PRAGMA quick_check`, or `integrity_check` when exact) and freelist, and
//! the jobs. SQLite has no online rebuild, so `oban reindex` refuses it before connecting and
//! `oban vacuum` (which rewrites the file and every index in it) is the fix for a sparse file.

use anyhow::{bail, Context, Result};
use diesel::connection::SimpleConnection;
use diesel::sql_types::{Nullable, Text};
use diesel::{sql_query, QueryableByName, RunQueryDsl};

use super::{Lite, LiteSql};
use crate::db::doctor::{AgeRow, Doctor, Facts, IndexFact, JobFacts, LiteFacts, Probe};
use crate::db::{CountValue, Schema, TextValue};
use crate::model::FinalState;

#[derive(QueryableByName)]
struct IndexRow {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Nullable<Text>)]
    sql: Option<String>,
}

#[derive(QueryableByName)]
struct ColumnRow {
    #[diesel(sql_type = Nullable<Text>)]
    name: Option<String>,
}

/// One number from a pragma.
fn pragma(conn: &mut Lite, name: &str) -> Result<i64> {
    let rows: Vec<CountValue> = sql_query(format!("SELECT {name} AS n FROM pragma_{name}"))
        .load(conn)
        .with_context(|| format!("reading PRAGMA {name}"))?;
    Ok(rows.first().map_or(0, |r| r.n))
}

fn indexes(conn: &mut Lite) -> Result<Vec<IndexFact>> {
    let rows: Vec<IndexRow> = sql_query(
        "SELECT name, sql FROM sqlite_master \
         WHERE type = 'index' AND tbl_name = 'oban_jobs' ORDER BY name",
    )
    .load(conn)
    .context("reading the indexes")?;
    let mut out = Vec::new();
    for r in rows {
        let mut q = LiteSql::new();
        let name = q.bind(&r.name);
        q.push(&format!(
            "SELECT name FROM pragma_index_info({name}) ORDER BY seqno"
        ));
        let columns: Vec<ColumnRow> = q.query().load(conn).context("reading an index")?;
        let definition = r.sql.unwrap_or_default();
        let predicate = definition
            .to_uppercase()
            .find(" WHERE ")
            .map(|at| definition[at + 7..].trim().to_string());
        out.push(IndexFact {
            name: r.name,
            table: "oban_jobs".into(),
            partitioned: false,
            definition,
            columns: columns.into_iter().map(|c| c.name).collect(),
            predicate,
            method: "btree".into(),
            valid: true,
            building_pid: None,
            bytes: 0,
            expected_bytes: None,
            measured: false,
            ancestors: Vec::new(),
        });
    }
    Ok(out)
}

fn jobs(conn: &mut Lite, schema: &Schema, probe: &Probe) -> Result<JobFacts> {
    let mut facts = JobFacts::default();
    let age = |col: &str| format!("(julianday('now') - min(julianday({col}))) * 86400.0");
    let mut q = LiteSql::new();
    let after = q.bind(probe.rescue_after);
    q.push(&format!(
        "SELECT count(*) AS n, {} AS age FROM oban_jobs WHERE state = 'executing' \
         AND julianday(attempted_at) < julianday('now') - {after} / 86400.0",
        age("attempted_at")
    ));
    let rows: Vec<AgeRow> = q.query().load(conn).context("counting orphans")?;
    if let Some(r) = rows.into_iter().next() {
        facts.orphans = r.n;
        facts.oldest_orphan = r.age;
    }
    let rows: Vec<AgeRow> = sql_query(format!(
        "SELECT count(*) AS n, {} AS age FROM oban_jobs WHERE state = 'available'",
        age("scheduled_at")
    ))
    .load(conn)
    .context("reading queue latency")?;
    facts.oldest_available = rows.first().and_then(|r| r.age).map(|a| a.max(0.0));
    for state in FinalState::ALL {
        if !schema.has_state(state.state()) {
            continue;
        }
        let mut q = LiteSql::new();
        let max_age = q.bind(probe.max_age);
        let cap = q.bind(crate::db::doctor::COUNT_CAP);
        q.push(&format!(
            "SELECT count(*) AS n, NULL AS age FROM (SELECT 1 FROM oban_jobs \
             WHERE state = '{}' AND julianday({}) < julianday('now') - {max_age} / 86400.0 \
             LIMIT {cap})",
            state.name(),
            state.column()
        ));
        let rows: Vec<AgeRow> = q.query().load(conn).context("counting unpruned jobs")?;
        facts
            .unpruned
            .push((state.name().to_string(), rows.first().map_or(0, |r| r.n)));
    }
    Ok(facts)
}

impl Doctor for Lite {
    fn doctor_facts(&mut self, schema: &Schema, probe: &Probe) -> Result<Facts> {
        let check = if probe.exact {
            "integrity_check"
        } else {
            "quick_check"
        };
        let integrity: Vec<TextValue> =
            sql_query(format!("SELECT {check} AS value FROM pragma_{check}"))
                .load(self)
                .with_context(|| format!("running PRAGMA {check}"))?;
        let lite = LiteFacts {
            integrity: integrity.into_iter().map(|r| r.value).collect(),
            freelist_pages: pragma(self, "freelist_count")?,
            page_count: pragma(self, "page_count")?,
            page_size: pragma(self, "page_size")?,
        };
        Ok(Facts {
            indexes: indexes(self)?,
            table: None,
            leaves: Vec::new(),
            partitions: None,
            holders: None,
            jobs: jobs(self, schema, probe)?,
            lite: Some(lite),
            exact_unavailable: false,
        })
    }

    fn index_facts(
        &mut self,
        _schema: &Schema,
        _estimate: bool,
        _exact: bool,
    ) -> Result<Vec<IndexFact>> {
        indexes(self)
    }

    fn reindex_index(&mut self, _schema: &Schema, _name: &str) -> Result<()> {
        bail!("SQLite has no online reindex: `oban vacuum` rebuilds the file and its indexes")
    }

    fn drop_index(&mut self, _schema: &Schema, _name: &str) -> Result<()> {
        bail!("SQLite indexes are never left invalid")
    }

    fn vacuum_jobs(&mut self, _schema: &Schema) -> Result<()> {
        // VACUUM rewrites the whole file (every table and index), returning the freelist.
        self.batch_execute("VACUUM; ANALYZE oban_jobs")?;
        Ok(())
    }

    fn jobs_bytes(&mut self, _schema: &Schema) -> Result<i64> {
        // The file's size: what VACUUM gives back.
        Ok(pragma(self, "page_count")? * pragma(self, "page_size")?)
    }
}
