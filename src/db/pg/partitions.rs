//! A partitioned `oban_jobs` on PostgreSQL: its tree read from `pg_inherits`,
//! `pg_partitioned_table` and the partition bounds, and the steps that remove a leaf whole
//! (mark, detach — concurrently where allowed —, count, stream, drop).

use std::collections::HashMap;

use anyhow::Result;
use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};
use diesel::{Connection, QueryableByName, RunQueryDsl};

use super::{table, Pg, PgSql};
use crate::db::partitions::{
    detached_mark, list_bound, marked_state, Detached, Layout, Leaf, LeafSize, Partitions, Range,
    DETACHED_MARK,
};
use crate::db::prune::DeletedRow;
use crate::db::{CountValue, Schema, TextValue};
use crate::model::{FinalState, JobState};

#[derive(QueryableByName)]
struct Node {
    #[diesel(sql_type = BigInt)]
    oid: i64,
    #[diesel(sql_type = BigInt)]
    parent_oid: i64,
    #[diesel(sql_type = Text)]
    schema: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    parent_schema: String,
    #[diesel(sql_type = Text)]
    parent: String,
    #[diesel(sql_type = Bool)]
    partitioned: bool,
    #[diesel(sql_type = Text)]
    bound: String,
    #[diesel(sql_type = Nullable<Text>)]
    range_column: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    range_from: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    range_to: Option<String>,
    #[diesel(sql_type = Bool)]
    detach_pending: bool,
    #[diesel(sql_type = diesel::sql_types::Array<Text>)]
    options: Vec<String>,
}

#[derive(QueryableByName)]
struct Named {
    #[diesel(sql_type = Text)]
    schema: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    comment: String,
}

/// A bound's literal as a timestamp in the cutoffs' text form (NULL for MINVALUE/MAXVALUE).
fn bound_time(word: &str) -> String {
    format!(
        "to_char(substring(pg_get_expr(c.relpartbound, c.oid) FROM '{word} \\(''([^'']*)''\\)')::timestamp, \
           'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
    )
}

/// Reads the partition tree under the table `root` (an oid).
pub fn layout(conn: &mut Pg, root: i64) -> Result<Layout> {
    let mut sql = PgSql::new();
    let root_oid = sql.bind(root);
    // The range key is read from pg_partitioned_table: one column, of type timestamp.
    sql.push(&format!(
        "WITH RECURSIVE tree AS ( \
           SELECT i.inhrelid AS oid, i.inhparent AS parent FROM pg_inherits i \
            WHERE i.inhparent = {root_oid}::int8::oid \
           UNION ALL \
           SELECT i.inhrelid, i.inhparent FROM pg_inherits i JOIN tree t ON i.inhparent = t.oid) \
         SELECT c.oid::int8 AS oid, p.oid::int8 AS parent_oid, n.nspname::text AS schema, \
           c.relname::text AS name, pn.nspname::text AS parent_schema, p.relname::text AS parent, \
           c.relkind = 'p' AS partitioned, \
           coalesce(pg_get_expr(c.relpartbound, c.oid), '') AS bound, \
           rk.attname::text AS range_column, \
           CASE WHEN rk.attname IS NOT NULL THEN {from} END AS range_from, \
           CASE WHEN rk.attname IS NOT NULL THEN {to} END AS range_to, \
           coalesce((to_jsonb(i) ->> 'inhdetachpending')::bool, false) AS detach_pending, \
           coalesce(c.reloptions, '{{}}')::text[] AS options \
         FROM tree t \
         JOIN pg_class c ON c.oid = t.oid JOIN pg_namespace n ON n.oid = c.relnamespace \
         JOIN pg_class p ON p.oid = t.parent JOIN pg_namespace pn ON pn.oid = p.relnamespace \
         JOIN pg_inherits i ON i.inhrelid = t.oid AND i.inhparent = t.parent \
         LEFT JOIN LATERAL (SELECT a.attname FROM pg_partitioned_table pt \
             JOIN pg_attribute a ON a.attrelid = pt.partrelid AND a.attnum = pt.partattrs[0] \
             WHERE pt.partrelid = p.oid AND pt.partstrat = 'r' AND pt.partnatts = 1 \
               AND a.atttypid = 'timestamp'::regtype) rk ON true \
         ORDER BY p.relname, range_to NULLS LAST, c.relname",
        from = bound_time("FROM"),
        to = bound_time("TO"),
    ));
    let nodes: Vec<Node> = sql.query().load(conn)?;
    let by_oid: HashMap<i64, &Node> = nodes.iter().map(|n| (n.oid, n)).collect();
    let mut leaves = Vec::new();
    for node in nodes.iter().filter(|n| !n.partitioned) {
        // The states a leaf can hold: every LIST bound on its path up to the root.
        let mut states = JobState::ALL.to_vec();
        let mut at = Some(node);
        while let Some(n) = at {
            if let Some(names) = list_bound(&n.bound) {
                states.retain(|s| names.iter().any(|l| l == s.name()));
            }
            at = by_oid.get(&n.parent_oid).copied();
        }
        leaves.push(Leaf {
            schema: node.schema.clone(),
            name: node.name.clone(),
            parent_schema: node.parent_schema.clone(),
            parent: node.parent.clone(),
            states,
            range: node.range_column.as_ref().map(|column| Range {
                column: column.clone(),
                from: node.range_from.clone(),
                to: node.range_to.clone(),
            }),
            detach_pending: node.detach_pending,
            options: node.options.clone(),
            default: node.bound == "DEFAULT",
        });
    }
    let prefix = nodes.first().map(|n| n.parent_schema.clone());
    let mut sql = PgSql::new();
    let mark = sql.bind(DETACHED_MARK);
    let schema = sql.bind(prefix.unwrap_or_default());
    sql.push(&format!(
        "SELECT n.nspname::text AS schema, c.relname::text AS name, \
           obj_description(c.oid, 'pg_class') AS comment FROM pg_class c \
         JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = {schema} AND c.relkind = 'r' AND NOT c.relispartition \
           AND starts_with(obj_description(c.oid, 'pg_class'), {mark}) ORDER BY c.relname"
    ));
    let detached: Vec<Named> = sql.query().load(conn)?;
    Ok(Layout {
        leaves,
        detached: detached
            .into_iter()
            .map(|d| Detached {
                state: marked_state(&d.comment),
                schema: d.schema,
                name: d.name,
            })
            .collect(),
    })
}

impl Partitions for Pg {
    fn leaf_sizes(&mut self, schema: &Schema) -> Result<Vec<LeafSize>> {
        let Some(layout) = &schema.partitions else {
            return Ok(Vec::new());
        };
        if layout.leaves.is_empty() {
            return Ok(Vec::new());
        }
        let mut sql = PgSql::new();
        let parts: Vec<String> = layout
            .leaves
            .iter()
            .map(|l| {
                let name = sql.bind(&l.name);
                let t = table(&l.schema, &l.name);
                let regclass = sql.bind(&t);
                format!(
                    "SELECT {name} AS name, (SELECT count(*) FROM {t}) AS rows, \
                       pg_total_relation_size({regclass}::regclass)::int8 AS bytes"
                )
            })
            .collect();
        sql.push(&parts.join(" UNION ALL "));
        let query = sql.query();
        Ok(self
            .build_transaction()
            .read_only()
            .run(|c| query.load::<LeafSize>(c))?)
    }

    fn detach(&mut self, leaf: &Leaf, state: FinalState) -> Result<()> {
        let parent = table(&leaf.parent_schema, &leaf.parent);
        let me = table(&leaf.schema, &leaf.name);
        // The mark lets the next pass finish a leaf this one detached and could not drop,
        // including one whose detach someone else started. A fixed text and a state name:
        // nothing from outside goes into the literal.
        self.batch_execute(&format!(
            "COMMENT ON TABLE {me} IS '{}'",
            detached_mark(state).replace('\'', "''")
        ))?;
        if leaf.detach_pending {
            self.batch_execute(&format!(
                "ALTER TABLE {parent} DETACH PARTITION {me} FINALIZE"
            ))?;
            return Ok(());
        }
        let mut sql = PgSql::new();
        let parent_name = sql.bind(&parent);
        sql.push(&format!(
            "SELECT (partdefid = 0 \
                     AND current_setting('server_version_num')::int >= 140000)::text AS value \
             FROM pg_partitioned_table WHERE partrelid = {parent_name}::regclass"
        ));
        let rows: Vec<TextValue> = sql.query().load(self)?;
        // CONCURRENTLY takes only a SHARE UPDATE EXCLUSIVE lock on the parent, so writers go
        // on; PostgreSQL refuses it when the parent has a default partition (and inside a
        // transaction block, which this is not), and before version 14 it does not exist.
        let concurrently = rows.first().is_some_and(|r| r.value == "true");
        self.batch_execute(&format!(
            "ALTER TABLE {parent} DETACH PARTITION {me}{}",
            if concurrently { " CONCURRENTLY" } else { "" }
        ))?;
        Ok(())
    }

    fn table_rows(&mut self, schema: &str, name: &str) -> Result<u64> {
        let rows: Vec<CountValue> =
            diesel::sql_query(format!("SELECT count(*) AS n FROM {}", table(schema, name)))
                .load(self)?;
        Ok(rows.first().map_or(0, |r| r.n.max(0) as u64))
    }

    fn stream_rows(
        &mut self,
        schema: &str,
        name: &str,
        batch: u64,
        sink: &mut dyn FnMut(&[DeletedRow]) -> Result<()>,
    ) -> Result<u64> {
        let t = table(schema, name);
        self.transaction(|conn| {
            conn.batch_execute(&format!(
                "DECLARE oban_leaf NO SCROLL CURSOR FOR \
                 SELECT j.id, j.state::text AS state, j.queue, row_to_json(j)::text AS row, \
                 NULL::text AS at FROM {t} j"
            ))?;
            let mut total = 0;
            loop {
                let rows: Vec<DeletedRow> =
                    diesel::sql_query(format!("FETCH {} FROM oban_leaf", batch.max(1)))
                        .load(conn)?;
                if rows.is_empty() {
                    return Ok(total);
                }
                total += rows.len() as u64;
                sink(&rows)?;
            }
        })
    }

    fn create_leaf(&mut self, leaf: &Leaf, name: &str, from: &str, to: &str) -> Result<()> {
        let parent = table(&leaf.parent_schema, &leaf.parent);
        let me = table(&leaf.schema, name);
        // Bounds are times the database clock gave; checked anyway, as they become literals.
        for t in [from, to] {
            if !t
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '-' | ' ' | ':' | '.'))
            {
                anyhow::bail!("not a partition bound: {t}");
            }
        }
        // The model leaf's storage parameters, as the catalog spells them (`name=value`);
        // one that does not look like that is left out rather than spliced into SQL.
        let options: Vec<&String> = leaf
            .options
            .iter()
            .filter(|o| {
                o.split_once('=').is_some_and(|(k, v)| {
                    !k.is_empty()
                        && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
                        && !v.is_empty()
                        && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '.')
                })
            })
            .collect();
        let with = if options.is_empty() {
            String::new()
        } else {
            format!(
                " WITH ({})",
                options
                    .iter()
                    .map(|o| o.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        self.batch_execute(&format!(
            "CREATE TABLE IF NOT EXISTS {me} (LIKE {parent} INCLUDING DEFAULTS INCLUDING CONSTRAINTS){with}; \
             ALTER TABLE {parent} ATTACH PARTITION {me} FOR VALUES FROM ('{from}') TO ('{to}')"
        ))?;
        Ok(())
    }

    fn drop_table(&mut self, schema: &str, name: &str) -> Result<()> {
        self.batch_execute(&format!("DROP TABLE {}", table(schema, name)))?;
        Ok(())
    }
}
