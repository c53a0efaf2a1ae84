//! `oban reindex` and `oban vacuum` on PostgreSQL: rebuild or drop one index online, vacuum
//! the jobs table, and read how far such a statement has got from the progress views.
//! None of these statements can run inside a transaction block, so each runs on its own.

use anyhow::Result;
use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Integer, Text};
use diesel::{sql_query, QueryableByName, RunQueryDsl};

use super::{table, Pg, PgSql};
use crate::db::doctor::{Doctor, Facts, IndexFact, Probe, Progress};
use crate::db::stats::Stats;
use crate::db::Schema;

#[derive(QueryableByName)]
struct PidRow {
    #[diesel(sql_type = Integer)]
    pid: i32,
}

#[derive(QueryableByName)]
struct ProgressRow {
    #[diesel(sql_type = Text)]
    phase: String,
    #[diesel(sql_type = BigInt)]
    done: i64,
    #[diesel(sql_type = BigInt)]
    total: i64,
}

impl Doctor for Pg {
    fn doctor_facts(&mut self, schema: &Schema, probe: &Probe) -> Result<Facts> {
        super::doctor::facts(self, schema, probe)
    }

    fn index_facts(
        &mut self,
        schema: &Schema,
        estimate: bool,
        exact: bool,
    ) -> Result<Vec<IndexFact>> {
        let ext = if exact && estimate {
            super::doctor::pgstattuple_schema(self)?
        } else {
            None
        };
        // On a partitioned table the indexes that hold entries are the leaves': each is
        // rebuilt on its own, and an index on the parent stands for those attached below it.
        let tree = schema.partitions.is_some();
        let mut all = super::doctor::indexes_in(self, schema, ext.as_deref(), tree)?;
        all.retain(|i| !i.partitioned);
        if !estimate {
            for i in &mut all {
                i.expected_bytes = None;
            }
        }
        Ok(all)
    }

    fn reindex_index(&mut self, schema: &Schema, name: &str) -> Result<()> {
        self.batch_execute(&format!(
            "REINDEX INDEX CONCURRENTLY {}",
            table(&schema.prefix, name)
        ))?;
        Ok(())
    }

    fn drop_index(&mut self, schema: &Schema, name: &str) -> Result<()> {
        self.batch_execute(&format!(
            "DROP INDEX CONCURRENTLY IF EXISTS {}",
            table(&schema.prefix, name)
        ))?;
        Ok(())
    }

    fn vacuum_jobs(&mut self, schema: &Schema) -> Result<()> {
        self.batch_execute(&format!(
            "VACUUM (ANALYZE) {}",
            table(&schema.prefix, "oban_jobs")
        ))?;
        Ok(())
    }

    fn jobs_bytes(&mut self, schema: &Schema) -> Result<i64> {
        // What stats reports: summed over the leaves of a partitioned table, an ordinary table
        // counted as its own only leaf.
        Ok(self.table_health(schema)?.map_or(0, |h| h.total_bytes))
    }

    fn flush_stats(&mut self) -> Result<()> {
        // pg_stat_force_next_flush() is PostgreSQL 15's; older servers send their counts at
        // each transaction's end anyway. The flush happens before the server says it is ready.
        self.batch_execute(
            "DO $$ BEGIN IF current_setting('server_version_num')::int >= 150000 THEN \
               PERFORM pg_stat_force_next_flush(); END IF; END $$",
        )?;
        Ok(())
    }

    fn backend_pid(&mut self) -> Result<Option<i32>> {
        let rows: Vec<PidRow> = sql_query("SELECT pg_backend_pid() AS pid").load(self)?;
        Ok(rows.first().map(|r| r.pid))
    }

    fn progress_of(&mut self, pid: i32, index: bool) -> Result<Option<Progress>> {
        let mut q = PgSql::new();
        let pid = q.bind(i64::from(pid));
        q.push(&if index {
            format!(
                "SELECT phase, \
                   (CASE WHEN blocks_total > 0 THEN blocks_done ELSE tuples_done END)::int8 AS done, \
                   (CASE WHEN blocks_total > 0 THEN blocks_total ELSE tuples_total END)::int8 AS total \
                 FROM pg_stat_progress_create_index WHERE pid = {pid}"
            )
        } else {
            format!(
                "SELECT phase, \
                   (CASE WHEN phase = 'vacuuming heap' THEN heap_blks_vacuumed \
                         ELSE heap_blks_scanned END)::int8 AS done, \
                   heap_blks_total::int8 AS total \
                 FROM pg_stat_progress_vacuum WHERE pid = {pid}"
            )
        });
        let rows: Vec<ProgressRow> = q.query().load(self)?;
        Ok(rows.into_iter().next().map(|r| Progress {
            phase: r.phase,
            done: r.done,
            total: r.total,
        }))
    }
}
