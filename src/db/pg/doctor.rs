//! `oban doctor` on PostgreSQL: the facts about `oban_jobs` — its indexes (with their size
//! estimated from the statistics, or measured by `pgstattuple`), its heap and vacuum state,
//! the sessions, slots and prepared transactions that hold back vacuum (`doctor_holders`),
//! and the jobs; on a partitioned table every leaf's, and what `doctor_parts` reads.
//!
//! Size estimates follow the usual statistics-only method: rows × (tuple header + average
//! column widths, aligned + line pointer), packed at the fill factor. They are withheld when
//! the statistics do not cover every column (never analyzed, an expression index, not btree).

use anyhow::{Context, Result};
use diesel::sql_types::{Array, BigInt, Bool, Double, Integer, Nullable, Text};
use diesel::{sql_query, QueryableByName, RunQueryDsl};

use super::{table, Pg, PgSql, NOW};
use crate::db::doctor::{
    AgeRow, Facts, IndexFact, JobFacts, Probe, ProducerFact, TableFact, COUNT_CAP,
};
use crate::db::Schema;
use crate::model::FinalState;

#[derive(QueryableByName)]
struct IndexRow {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Bool)]
    partitioned: bool,
    #[diesel(sql_type = Text)]
    definition: String,
    #[diesel(sql_type = Array<Nullable<Text>>)]
    columns: Vec<Option<String>>,
    #[diesel(sql_type = Nullable<Text>)]
    predicate: Option<String>,
    #[diesel(sql_type = Text)]
    method: String,
    #[diesel(sql_type = Bool)]
    valid: bool,
    #[diesel(sql_type = Nullable<Integer>)]
    building_pid: Option<i32>,
    #[diesel(sql_type = BigInt)]
    bytes: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    expected_bytes: Option<i64>,
    #[diesel(sql_type = Array<Text>)]
    ancestors: Vec<String>,
}

#[derive(QueryableByName)]
struct TableRow {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    bytes: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    expected_bytes: Option<i64>,
    #[diesel(sql_type = BigInt)]
    live: i64,
    #[diesel(sql_type = BigInt)]
    dead: i64,
    #[diesel(sql_type = BigInt)]
    modified: i64,
    #[diesel(sql_type = Nullable<Double>)]
    vacuumed_ago: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    analyzed_ago: Option<f64>,
    #[diesel(sql_type = Double)]
    vacuum_trigger: f64,
    #[diesel(sql_type = Double)]
    analyze_trigger: f64,
    #[diesel(sql_type = Double)]
    vacuum_scale_factor: f64,
    #[diesel(sql_type = Bool)]
    autovacuum: bool,
    #[diesel(sql_type = Bool)]
    server_autovacuum: bool,
    #[diesel(sql_type = Array<Text>)]
    options: Vec<String>,
}

#[derive(QueryableByName)]
struct ProducerRow {
    #[diesel(sql_type = Text)]
    node: String,
    #[diesel(sql_type = Text)]
    queue: String,
    #[diesel(sql_type = Text)]
    uuid: String,
    #[diesel(sql_type = Double)]
    silent: f64,
}

#[derive(QueryableByName)]
struct LeaderRow {
    #[diesel(sql_type = Text)]
    node: String,
    #[diesel(sql_type = Double)]
    silent: f64,
}

#[derive(QueryableByName)]
struct NameRow {
    #[diesel(sql_type = Nullable<Text>)]
    name: Option<String>,
}

/// `(SELECT value of storage option `key` of pg_class c)`, as float8.
fn option(key: &str) -> String {
    format!(
        "(SELECT split_part(o, '=', 2)::float8 FROM unnest(c.reloptions) o \
          WHERE o LIKE '{key}=%')"
    )
}

/// The schema pgstattuple is installed in, if it is.
pub fn pgstattuple_schema(conn: &mut Pg) -> Result<Option<String>> {
    let rows: Vec<NameRow> = sql_query(
        "SELECT n.nspname::text AS name FROM pg_extension e \
         JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pgstattuple'",
    )
    .load(conn)?;
    Ok(rows.into_iter().next().and_then(|r| r.name))
}

/// Which tables' facts are read: `oban_jobs` itself, or (`tree`) every table of its partition
/// tree (`leaves`: only the leaves), for a relation `c` and the bound jobs table `jobs`.
fn scope(jobs: &str, tree: bool, leaves: bool) -> String {
    match (tree, leaves) {
        (false, _) => format!("c.oid = {jobs}::regclass"),
        (true, false) => {
            format!("c.oid IN (SELECT relid FROM pg_partition_tree({jobs}::regclass))")
        }
        (true, true) => {
            format!("c.oid IN (SELECT relid FROM pg_partition_tree({jobs}::regclass) WHERE isleaf)")
        }
    }
}

/// The indexes of the jobs table, or (`tree`) of every table in its partition tree.
pub fn indexes_in(
    conn: &mut Pg,
    schema: &Schema,
    exact: Option<&str>,
    tree: bool,
) -> Result<Vec<IndexFact>> {
    let mut q = PgSql::new();
    let jobs = q.bind(table(&schema.prefix, "oban_jobs"));
    let within = scope(&jobs, tree, false);
    let block = "current_setting('block_size')::int8";
    // Leaf tuples: 8-byte header, the columns' average widths aligned to 8, a 4-byte line
    // pointer; pages of 8192 less header and special space, filled to 90%.
    let estimate = format!(
        "CASE WHEN am.amname = 'btree' AND ci.reltuples >= 0 AND st.n = i.indnatts THEN \
           (ceil(ci.reltuples * (12 + ceil(st.width / 8.0) * 8) / (({block} - 40) * 0.9)) + 1)::int8 \
           * {block} END"
    );
    let measured = match exact {
        Some(ext) => format!(
            "CASE WHEN am.amname = 'btree' AND i.indisvalid THEN (SELECT \
               ((s.leaf_pages * coalesce(nullif(s.avg_leaf_density, 'NaN'), 0) / 90.0) \
               + s.internal_pages + 1)::int8 * {block} \
               FROM {}.pgstatindex(i.indexrelid::regclass) s) END",
            crate::db::quote_ident(ext)
        ),
        None => estimate,
    };
    q.push(&format!(
        "SELECT ci.relname::text AS name, c.relname::text AS table_name, \
           ci.relkind = 'I' AS partitioned, pg_get_indexdef(i.indexrelid) AS definition, \
           ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(num, ord) \
                 LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num \
                 ORDER BY k.ord) AS columns, \
           pg_get_expr(i.indpred, i.indrelid) AS predicate, am.amname::text AS method, \
           i.indisvalid AS valid, \
           (SELECT p.pid FROM pg_stat_progress_create_index p WHERE p.relid = i.indrelid \
              AND (p.index_relid = i.indexrelid OR NOT i.indisvalid) LIMIT 1) AS building_pid, \
           pg_relation_size(i.indexrelid) AS bytes, {measured} AS expected_bytes, \
           ARRAY(SELECT pa.relname::text FROM pg_partition_ancestors(i.indexrelid) WITH ORDINALITY a(relid, ord) \
                 JOIN pg_class pa ON pa.oid = a.relid WHERE a.relid <> i.indexrelid ORDER BY a.ord) AS ancestors \
         FROM pg_index i JOIN pg_class ci ON ci.oid = i.indexrelid \
         JOIN pg_am am ON am.oid = ci.relam \
         JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN LATERAL ( \
           SELECT count(s.attname) AS n, sum((1 - s.null_frac) * s.avg_width) AS width \
           FROM unnest(i.indkey::int2[]) k(num) \
           JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.num \
           JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname \
                AND s.attname = a.attname) st ON true \
         WHERE {within} ORDER BY ci.relname"
    ));
    let rows: Vec<IndexRow> = q.query().load(conn).context("reading the indexes")?;
    Ok(rows
        .into_iter()
        .map(|r| IndexFact {
            name: r.name,
            table: r.table_name,
            partitioned: r.partitioned,
            definition: r.definition,
            columns: r.columns,
            predicate: r.predicate,
            method: r.method,
            valid: r.valid,
            building_pid: r.building_pid,
            bytes: r.bytes,
            expected_bytes: r.expected_bytes,
            measured: exact.is_some() && r.expected_bytes.is_some(),
            ancestors: r.ancestors,
        })
        .collect())
}

/// The heap: size, estimate, statistics, autovacuum settings; on a partitioned table
/// (`leaves`), those of each leaf.
fn table_facts(
    conn: &mut Pg,
    schema: &Schema,
    exact: Option<&str>,
    leaves: bool,
) -> Result<Vec<TableFact>> {
    let mut q = PgSql::new();
    let jobs = q.bind(table(&schema.prefix, "oban_jobs"));
    let within = scope(&jobs, leaves, true);
    let block = "current_setting('block_size')::int8";
    let fill = format!("(coalesce({}, 100) / 100.0)", option("fillfactor"));
    let expected = match exact {
        // Live tuples and their line pointers, packed at the fill factor.
        Some(ext) => format!(
            "(SELECT ((t.tuple_len + 4 * t.tuple_count) / {fill})::int8 \
              FROM {}.pgstattuple(c.oid::regclass) t)",
            crate::db::quote_ident(ext)
        ),
        None => format!(
            "CASE WHEN c.reltuples >= 0 AND st.n = (SELECT count(*) FROM pg_attribute a \
               WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) THEN \
               (ceil(c.reltuples * (28 + ceil(st.width / 8.0) * 8) / (({block} - 24) * {fill})))::int8 \
               * {block} END"
        ),
    };
    let setting = |name: &str| format!("current_setting('{name}')::float8");
    let ago =
        |a: &str, b: &str| format!("extract(epoch FROM now() - greatest(s.{a}, s.{b}))::float8");
    q.push(&format!(
        "SELECT c.relname::text AS name, pg_relation_size(c.oid) AS bytes, \
           {expected} AS expected_bytes, \
           coalesce(s.n_live_tup, 0) AS live, coalesce(s.n_dead_tup, 0) AS dead, \
           coalesce(s.n_mod_since_analyze, 0) AS modified, \
           {vacuumed} AS vacuumed_ago, {analyzed} AS analyzed_ago, \
           coalesce({vt}, {vt_set}) + coalesce({vs}, {vs_set}) * greatest(c.reltuples, 0) AS vacuum_trigger, \
           coalesce({at}, {at_set}) + coalesce({as_}, {as_set}) * greatest(c.reltuples, 0) AS analyze_trigger, \
           coalesce({vs}, {vs_set}) AS vacuum_scale_factor, \
           current_setting('autovacuum') = 'on' AS server_autovacuum, \
           coalesce((SELECT split_part(o, '=', 2)::bool \
             FROM unnest(c.reloptions) o WHERE o LIKE 'autovacuum_enabled=%'), true) AS autovacuum, \
           coalesce(c.reloptions, '{{}}')::text[] AS options \
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
         LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid \
         LEFT JOIN LATERAL (SELECT count(*) AS n, sum((1 - x.null_frac) * x.avg_width) AS width \
           FROM pg_stats x WHERE x.schemaname = n.nspname AND x.tablename = c.relname) st ON true \
         WHERE {within} ORDER BY c.relname",
        vacuumed = ago("last_vacuum", "last_autovacuum"),
        analyzed = ago("last_analyze", "last_autoanalyze"),
        vt = option("autovacuum_vacuum_threshold"),
        vt_set = setting("autovacuum_vacuum_threshold"),
        vs = option("autovacuum_vacuum_scale_factor"),
        vs_set = setting("autovacuum_vacuum_scale_factor"),
        at = option("autovacuum_analyze_threshold"),
        at_set = setting("autovacuum_analyze_threshold"),
        as_ = option("autovacuum_analyze_scale_factor"),
        as_set = setting("autovacuum_analyze_scale_factor"),
    ));
    let rows: Vec<TableRow> = q.query().load(conn).context("reading the table")?;
    Ok(rows
        .into_iter()
        .map(|r| TableFact {
            name: r.name,
            bytes: r.bytes,
            expected_bytes: r.expected_bytes,
            measured: exact.is_some(),
            live: r.live,
            dead: r.dead,
            modified: r.modified,
            vacuumed_ago: r.vacuumed_ago,
            analyzed_ago: r.analyzed_ago,
            vacuum_trigger: r.vacuum_trigger,
            analyze_trigger: r.analyze_trigger,
            vacuum_scale_factor: r.vacuum_scale_factor,
            autovacuum: r.autovacuum,
            server_autovacuum: r.server_autovacuum,
            options: r.options,
        })
        .collect())
}

/// Orphans, latency, unpruned final jobs, stale producers and leaders.
fn jobs(conn: &mut Pg, schema: &Schema, probe: &Probe) -> Result<JobFacts> {
    let jobs = table(&schema.prefix, "oban_jobs");
    let mut facts = JobFacts::default();
    let mut q = PgSql::new();
    let after = q.bind(probe.rescue_after);
    q.push(&format!(
        "SELECT count(*) AS n, extract(epoch FROM {NOW} - min(attempted_at))::float8 AS age \
         FROM {jobs} WHERE state = 'executing' AND attempted_at < {NOW} - make_interval(secs => {after})"
    ));
    let rows: Vec<AgeRow> = q.query().load(conn).context("counting orphans")?;
    if let Some(r) = rows.into_iter().next() {
        facts.orphans = r.n;
        facts.oldest_orphan = r.age;
    }
    let mut latency = Vec::new();
    super::figures::latency(conn, &jobs, &mut latency)?;
    facts.oldest_available = latency
        .iter()
        .filter_map(|m| m.figure.value())
        .fold(None, |acc: Option<f64>, v| {
            Some(acc.map_or(v, |a| a.max(v)))
        });
    for state in FinalState::ALL {
        if !schema.has_state(state.state()) {
            continue;
        }
        let mut q = PgSql::new();
        let age = q.bind(probe.max_age);
        let cap = q.bind(COUNT_CAP);
        q.push(&format!(
            "SELECT count(*) AS n, NULL::float8 AS age FROM (SELECT 1 FROM {jobs} \
             WHERE state = '{name}' AND {col} < {NOW} - make_interval(secs => {age}) LIMIT {cap}) x",
            name = state.name(),
            col = state.column(),
        ));
        let rows: Vec<AgeRow> = q.query().load(conn).context("counting unpruned jobs")?;
        let n = rows.first().map_or(0, |r| r.n);
        facts.unpruned.push((state.name().to_string(), n));
    }
    if schema.has_producers {
        let mut q = PgSql::new();
        let ttl = q.bind(probe.producer_ttl);
        q.push(&format!(
            "SELECT node, queue, uuid::text AS uuid, \
               extract(epoch FROM {NOW} - updated_at)::float8 AS silent \
             FROM {} WHERE updated_at < {NOW} - make_interval(secs => {ttl}) ORDER BY updated_at",
            table(&schema.prefix, "oban_producers")
        ));
        let rows: Vec<ProducerRow> = q.query().load(conn).context("reading producers")?;
        facts.stale_producers = Some(
            rows.into_iter()
                .map(|r| ProducerFact {
                    node: r.node,
                    queue: r.queue,
                    uuid: r.uuid,
                    silent: r.silent,
                })
                .collect(),
        );
    }
    if let Some(leaders) = &schema.leader_table {
        let rows: Vec<LeaderRow> = sql_query(format!(
            "SELECT node, extract(epoch FROM {NOW} - expires_at)::float8 AS silent \
             FROM {} WHERE expires_at < {NOW} ORDER BY expires_at",
            table(&schema.prefix, leaders)
        ))
        .load(conn)
        .context("reading the leader")?;
        facts.stale_leaders = Some(rows.into_iter().map(|r| (r.node, r.silent)).collect());
    }
    Ok(facts)
}

/// Every fact of one doctor pass.
pub fn facts(conn: &mut Pg, schema: &Schema, probe: &Probe) -> Result<Facts> {
    let ext = if probe.exact {
        pgstattuple_schema(conn)?
    } else {
        None
    };
    let tree = schema.partitions.is_some();
    let mut tables = table_facts(conn, schema, ext.as_deref(), tree)?;
    let (table, leaves) = if tree {
        (None, tables)
    } else {
        (tables.pop(), Vec::new())
    };
    Ok(Facts {
        indexes: indexes_in(conn, schema, ext.as_deref(), tree)?,
        table,
        leaves,
        partitions: match &schema.partitions {
            Some(layout) => Some(super::doctor_parts::facts(conn, layout, probe.days_ahead)?),
            None => None,
        },
        holders: Some(super::doctor_holders::holders(conn)?),
        jobs: jobs(conn, schema, probe)?,
        lite: None,
        exact_unavailable: probe.exact && ext.is_none(),
    })
}
