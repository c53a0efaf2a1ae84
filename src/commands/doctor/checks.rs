//! The judgments: each check turns facts into ok / warn / fail, the figure behind it and the
//! statement or command that fixes it. Engines only report facts (see `db::doctor`).

use serde_json::{json, Value};

use super::{Check, DoctorOpts, Status};
use crate::db::doctor::{Facts, IndexFact, LiteFacts, TableFact};
use crate::db::{quote_ident, Flavour, Schema};
use crate::defaults as d;
use crate::duration::human;
use crate::model::FinalState;

/// Seconds as the tool writes durations (`1h30m`).
pub fn ago(secs: f64) -> String {
    human(std::time::Duration::from_secs(secs.max(0.0).round() as u64))
}

/// Bytes for people (`1.5 MB`).
pub fn bytes(n: i64) -> String {
    let n = n.max(0) as f64;
    match n {
        n if n >= 1e9 => format!("{:.1} GB", n / 1e9),
        n if n >= 1e6 => format!("{:.1} MB", n / 1e6),
        n if n >= 1e3 => format!("{:.0} kB", n / 1e3),
        n => format!("{n} B"),
    }
}

/// A SQL string literal.
fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Where the fixes point: the jobs table, and the flags that reach the same schema.
struct Target {
    jobs: String,
    prefix: String,
    lite: bool,
    /// ` --prefix X` when not the default.
    flag: String,
}

impl Target {
    fn new(schema: &Schema) -> Target {
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

    fn create_index(&self, name: &str, rest: &str) -> String {
        let online = if self.lite { "" } else { " CONCURRENTLY" };
        format!(
            "CREATE INDEX{online} IF NOT EXISTS {name} ON {} {rest};",
            self.jobs
        )
    }

    fn index(&self, name: &str) -> String {
        if self.lite {
            quote_ident(name)
        } else {
            format!("{}.{}", quote_ident(&self.prefix), quote_ident(name))
        }
    }
}

/// Whether a valid index's columns begin with `lead`.
fn has_index(indexes: &[IndexFact], leads: &[&[&str]]) -> bool {
    indexes.iter().filter(|i| i.valid).any(|i| {
        leads.iter().any(|lead| {
            lead.len() <= i.columns.len()
                && lead
                    .iter()
                    .zip(&i.columns)
                    .all(|(want, have)| have.as_deref() == Some(*want))
        })
    })
}

/// The indexes the flavour needs for its own queries and for `oban`.
fn needed_indexes(schema: &Schema, facts: &Facts, t: &Target, out: &mut Vec<Check>) {
    let ix = &facts.indexes;
    let fetch = has_index(ix, &[&["state", "queue", "priority", "scheduled_at", "id"]]);
    out.push(Check::new(
        "fetch_index",
        if fetch { Status::Ok } else { Status::Fail },
        json!(fetch),
        if fetch {
            "(state, queue, priority, scheduled_at, id): present".into()
        } else {
            "no valid (state, queue, priority, scheduled_at, id) index: every fetch scans the table"
                .into()
        },
        (!fetch).then(|| {
            t.create_index(
                "oban_jobs_state_queue_priority_scheduled_at_id_index",
                "(state, queue, priority, scheduled_at, id)",
            )
        }),
    ));
    if t.lite {
        return;
    }
    if schema.flavour == Flavour::ObanPy {
        let staged = has_index(ix, &[&["scheduled_at"], &["state", "scheduled_at"]]);
        out.push(Check::new(
            "staged_index",
            if staged { Status::Ok } else { Status::Warn },
            json!(staged),
            if staged {
                "(scheduled_at, id) for staging: present".into()
            } else {
                "no index serves staging scheduled and retryable jobs by scheduled_at".into()
            },
            (!staged).then(|| {
                t.create_index(
                    "oban_jobs_staged_scheduled_at_id_index",
                    "(scheduled_at, id) INCLUDE (queue) WHERE state IN ('scheduled', 'retryable')",
                )
            }),
        ));
    }
    for state in FinalState::ALL {
        if !schema.has_state(state.state()) {
            continue;
        }
        let col = state.column();
        let served = has_index(ix, &[&[col], &["state", col]]);
        out.push(Check::new(
            &format!("{col}_index"),
            if served { Status::Ok } else { Status::Warn },
            json!(served),
            if served {
                format!("{col} of {} jobs: indexed", state.name())
            } else {
                format!(
                    "no index serves {col}: prune and stats read every {} job to find old ones",
                    state.name()
                )
            },
            (!served).then(|| {
                t.create_index(
                    &format!("oban_jobs_{col}_index"),
                    &format!("({col}) WHERE state = '{}'", state.name()),
                )
            }),
        ));
    }
}

/// Invalid indexes: failed concurrent builds (`*_ccnew`, `*_ccold`) and their kind.
fn invalid_indexes(facts: &Facts, t: &Target, out: &mut Vec<Check>) {
    if t.lite {
        return;
    }
    let invalid: Vec<&IndexFact> = facts.indexes.iter().filter(|i| !i.valid).collect();
    let names: Vec<&str> = invalid.iter().map(|i| i.name.as_str()).collect();
    let mut fixes = Vec::new();
    let mut notes = Vec::new();
    for i in &invalid {
        if let Some(pid) = i.building_pid {
            notes.push(format!("{} (being built by pid {pid})", i.name));
            continue;
        }
        fixes.push(format!(
            "DROP INDEX CONCURRENTLY IF EXISTS {};",
            t.index(&i.name)
        ));
        let leftover = i.name.contains("_ccnew") || i.name.contains("_ccold");
        if leftover {
            notes.push(format!(
                "{} (left by a failed REINDEX CONCURRENTLY)",
                i.name
            ));
        } else {
            notes.push(format!("{} (a failed CREATE INDEX CONCURRENTLY)", i.name));
            let again = i
                .definition
                .replacen("CREATE INDEX", "CREATE INDEX CONCURRENTLY", 1);
            let again =
                again.replacen("CREATE UNIQUE INDEX", "CREATE UNIQUE INDEX CONCURRENTLY", 1);
            fixes.push(format!("-- then, once its cause is fixed: {again};"));
        }
    }
    let status = match (invalid.is_empty(), fixes.is_empty()) {
        (true, _) => Status::Ok,
        (false, true) => Status::Warn,
        (false, false) => Status::Fail,
    };
    if !fixes.is_empty() {
        fixes.push(format!(
            "-- or: oban reindex{} (drops invalid indexes first)",
            t.flag
        ));
    }
    out.push(Check::new(
        "invalid_indexes",
        status,
        json!(names),
        if invalid.is_empty() {
            "none".into()
        } else {
            format!(
                "{}: still written on every insert, never read",
                notes.join(", ")
            )
        },
        (!fixes.is_empty()).then(|| fixes.join("\n")),
    ));
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

/// Bloat of the heap and of each valid index.
fn bloat_checks(facts: &Facts, t: &Target, opts: &DoctorOpts, out: &mut Vec<Check>) {
    if let Some(table) = &facts.table {
        let how = if table.measured {
            "measured"
        } else {
            "estimated"
        };
        let judged = bloat(table.bytes, table.expected_bytes, opts);
        out.push(match judged {
            None => Check::new(
                "table_bloat",
                Status::Ok,
                json!({"bytes": table.bytes, "expected_bytes": null, "bloat": null}),
                format!("{}; bloat not known until the table is analyzed", bytes(table.bytes)),
                None,
            ),
            Some((bloated, share, wasted)) => Check::new(
                "table_bloat",
                if bloated { Status::Warn } else { Status::Ok },
                json!({"bytes": table.bytes, "expected_bytes": table.expected_bytes,
                       "bloat": round(share), "measured": table.measured}),
                format!(
                    "{} of which {:.0}% ({}) is free or dead space ({how})",
                    bytes(table.bytes),
                    share * 100.0,
                    bytes(wasted)
                ),
                bloated.then(|| {
                    format!(
                        "pg_repack --table {} (online), or VACUUM FULL {} (blocks every worker while it runs)",
                        t.jobs.replace('"', ""),
                        t.jobs
                    )
                }),
            ),
        });
    }
    for i in facts.indexes.iter().filter(|i| i.valid && !t.lite) {
        let name = format!("index_bloat:{}", i.name);
        let judged = bloat(i.bytes, i.expected_bytes, opts);
        out.push(match judged {
            None => Check::new(
                &name,
                Status::Ok,
                json!({"bytes": i.bytes, "expected_bytes": null, "bloat": null}),
                format!(
                    "{}; bloat not estimated for a {} index{}",
                    bytes(i.bytes),
                    i.method,
                    if i.method == "btree" {
                        " without statistics"
                    } else {
                        ""
                    }
                ),
                None,
            ),
            Some((bloated, share, wasted)) => Check::new(
                &name,
                if bloated { Status::Warn } else { Status::Ok },
                json!({"bytes": i.bytes, "expected_bytes": i.expected_bytes,
                       "bloat": round(share), "measured": i.measured}),
                format!(
                    "{} of which {:.0}% ({}) is wasted ({})",
                    bytes(i.bytes),
                    share * 100.0,
                    bytes(wasted),
                    if i.measured { "measured" } else { "estimated" }
                ),
                bloated.then(|| format!("oban reindex{} --index {}", t.flag, i.name)),
            ),
        });
    }
}

fn round(share: f64) -> f64 {
    (share * 1000.0).round() / 1000.0
}

/// Dead tuples, the last vacuum and analyze, and the autovacuum settings.
fn vacuum_checks(table: &TableFact, t: &Target, out: &mut Vec<Check>) {
    let total = (table.live + table.dead).max(1) as f64;
    let share = table.dead as f64 / total;
    let piled = table.dead >= d::DOCTOR_DEAD_MIN && share >= d::DOCTOR_DEAD_SHARE;
    out.push(Check::new(
        "dead_tuples",
        if piled { Status::Warn } else { Status::Ok },
        json!({"dead": table.dead, "live": table.live, "share": round(share)}),
        format!("{} dead of {} rows ({:.0}%)", table.dead, table.live + table.dead, share * 100.0),
        piled.then(|| {
            format!(
                "oban vacuum{} (if they come back, see oldest_transaction, idle_in_transaction and replication_slots)",
                t.flag
            )
        }),
    ));
    let lag = d::DOCTOR_VACUUM_LAG.as_secs_f64();
    let stale = |ago: Option<f64>| ago.is_none_or(|a| a > lag);
    let when =
        |ago: Option<f64>| ago.map_or("never".to_string(), |a| format!("{} ago", self::ago(a)));
    let behind = table.dead as f64 > table.vacuum_trigger && stale(table.vacuumed_ago);
    out.push(Check::new(
        "last_vacuum",
        if behind { Status::Warn } else { Status::Ok },
        json!({"seconds_ago": table.vacuumed_ago, "dead": table.dead,
               "trigger": table.vacuum_trigger.round()}),
        format!(
            "{}; {} dead against autovacuum's trigger of {:.0}",
            when(table.vacuumed_ago),
            table.dead,
            table.vacuum_trigger
        ),
        behind.then(|| format!("oban vacuum{}", t.flag)),
    ));
    let unanalyzed = table.modified as f64 > table.analyze_trigger && stale(table.analyzed_ago);
    out.push(Check::new(
        "last_analyze",
        if unanalyzed { Status::Warn } else { Status::Ok },
        json!({"seconds_ago": table.analyzed_ago, "modified": table.modified,
               "trigger": table.analyze_trigger.round()}),
        format!(
            "{}; {} rows changed since, against autoanalyze's trigger of {:.0}",
            when(table.analyzed_ago),
            table.modified,
            table.analyze_trigger
        ),
        unanalyzed.then(|| format!("ANALYZE {};", t.jobs)),
    ));
    let lax = table.vacuum_scale_factor > d::DOCTOR_MAX_SCALE_FACTOR;
    // With autovacuum off on the server, a table vacuumed by hand (cron) lately is cared for.
    let unattended = !table.server_autovacuum && stale(table.vacuumed_ago);
    let status = match (table.autovacuum, lax || unattended) {
        (false, _) => Status::Fail,
        (true, true) => Status::Warn,
        (true, false) => Status::Ok,
    };
    let settings = "autovacuum_enabled = on, autovacuum_vacuum_scale_factor = 0.02, \
        autovacuum_vacuum_threshold = 50, autovacuum_analyze_scale_factor = 0.02, \
        autovacuum_analyze_threshold = 100";
    out.push(Check::new(
        "autovacuum_settings",
        status,
        json!({"autovacuum": table.autovacuum, "server_autovacuum": table.server_autovacuum,
               "vacuum_scale_factor": table.vacuum_scale_factor, "options": table.options}),
        if !table.autovacuum {
            "autovacuum_enabled is off for this table: dead jobs are only cleaned up by hand".into()
        } else if unattended {
            format!(
                "autovacuum is off on the server and the table was last vacuumed {}",
                when(table.vacuumed_ago)
            )
        } else if !table.server_autovacuum {
            format!(
                "autovacuum is off on the server; the table was vacuumed {} (by hand or cron)",
                when(table.vacuumed_ago)
            )
        } else {
            format!(
                "vacuum at {:.0}% dead rows{}",
                table.vacuum_scale_factor * 100.0,
                if lax {
                    "; a queue table wants 2-5%"
                } else {
                    ""
                }
            )
        },
        (status != Status::Ok).then(|| {
            if unattended && !lax && table.autovacuum {
                format!(
                    "autovacuum = on in postgresql.conf, or `oban vacuum{}` from cron",
                    t.flag
                )
            } else {
                format!("ALTER TABLE {} SET ({settings});", t.jobs)
            }
        }),
    ));
}

/// Open transactions, idle sessions, slots and prepared transactions.
fn holder_checks(facts: &Facts, opts: &DoctorOpts, out: &mut Vec<Check>) {
    let Some(h) = &facts.holders else {
        return;
    };
    let terminate = |pid: i32| format!("SELECT pg_terminate_backend({pid});");
    let who = |s: &crate::db::doctor::Session| {
        format!(
            "pid {} ({}{}, from {}, {})",
            s.pid,
            s.user.as_deref().unwrap_or("?"),
            s.application
                .as_deref()
                .filter(|a| !a.is_empty())
                .map(|a| format!(" via {a}"))
                .unwrap_or_default(),
            s.client.as_deref().unwrap_or("?"),
            s.state.as_deref().unwrap_or("?"),
        )
    };
    let oldest = h.transactions.first();
    let limit = opts.max_transaction_age.as_secs_f64();
    let old = oldest.filter(|s| s.xact_age > limit);
    out.push(Check::new(
        "oldest_transaction",
        if old.is_some() {
            Status::Warn
        } else {
            Status::Ok
        },
        oldest.map_or(Value::Null, |s| json!(s)),
        match oldest {
            None => "no open transaction".into(),
            Some(s) => format!(
                "{} open for {}: {}",
                who(s),
                ago(s.xact_age),
                crate::output::clip(s.query.as_deref().unwrap_or(""), 60)
            ),
        },
        old.map(|s| terminate(s.pid)),
    ));
    let idle_limit = opts.max_idle.as_secs_f64();
    let idle: Vec<_> = h
        .transactions
        .iter()
        .filter(|s| {
            s.state
                .as_deref()
                .is_some_and(|st| st.starts_with("idle in transaction"))
                && s.state_age > idle_limit
        })
        .collect();
    out.push(Check::new(
        "idle_in_transaction",
        if idle.is_empty() {
            Status::Ok
        } else {
            Status::Warn
        },
        json!(idle),
        if idle.is_empty() {
            "none".into()
        } else {
            idle.iter()
                .map(|s| format!("{} idle for {}", who(s), ago(s.state_age)))
                .collect::<Vec<_>>()
                .join("; ")
        },
        (!idle.is_empty()).then(|| {
            let mut fix: Vec<String> = idle.iter().map(|s| terminate(s.pid)).collect();
            fix.push(
                "-- and set idle_in_transaction_session_timeout for the role that left them".into(),
            );
            fix.join("\n")
        }),
    ));
    let unused: Vec<_> = h.slots.iter().filter(|s| !s.active).collect();
    out.push(Check::new(
        "replication_slots",
        if unused.is_empty() { Status::Ok } else { Status::Warn },
        json!(h.slots),
        if h.slots.is_empty() {
            "none".into()
        } else {
            h.slots
                .iter()
                .map(|s| {
                    format!(
                        "{} ({}, {}{}{})",
                        s.name,
                        s.kind,
                        if s.active { "active" } else { "inactive" },
                        s.retained_wal
                            .map(|b| format!(", holds {} of WAL", bytes(b)))
                            .unwrap_or_default(),
                        s.xmin_age
                            .map(|a| format!(", holds the horizon {a} transactions back"))
                            .unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("; ")
        },
        (!unused.is_empty()).then(|| {
            unused
                .iter()
                .map(|s| {
                    format!(
                        "SELECT pg_drop_replication_slot({}); -- when nothing will consume it again",
                        literal(&s.name)
                    )
                })
                .collect::<Vec<_>>()
                .join("\n")
        }),
    ));
    out.push(Check::new(
        "prepared_transactions",
        if h.prepared.is_empty() {
            Status::Ok
        } else {
            Status::Warn
        },
        json!(h.prepared),
        if h.prepared.is_empty() {
            "none".into()
        } else {
            h.prepared
                .iter()
                .map(|p| format!("{} (by {}, {} ago)", p.gid, p.owner, ago(p.age)))
                .collect::<Vec<_>>()
                .join("; ")
        },
        (!h.prepared.is_empty()).then(|| {
            h.prepared
                .iter()
                .map(|p| format!("ROLLBACK PREPARED {};", literal(&p.gid)))
                .collect::<Vec<_>>()
                .join("\n")
        }),
    ));
}

/// SQLite's file: integrity and free pages.
fn lite_checks(lite: &LiteFacts, opts: &DoctorOpts, out: &mut Vec<Check>) {
    let ok = lite.integrity == ["ok"];
    out.push(Check::new(
        "integrity",
        if ok { Status::Ok } else { Status::Fail },
        json!(lite.integrity),
        if ok {
            format!("{}: ok", if opts.exact { "integrity_check" } else { "quick_check" })
        } else {
            crate::output::clip(&lite.integrity.join("; "), 200)
        },
        (!ok).then(|| "sqlite3 FILE .recover | sqlite3 RECOVERED.db (then point the application at the recovered file)".into()),
    ));
    let file = lite.page_count * lite.page_size;
    let free = lite.freelist_pages * lite.page_size;
    let judged = bloat(file, Some(file - free), opts);
    let sparse = judged.is_some_and(|(b, ..)| b);
    out.push(Check::new(
        "freelist",
        if sparse { Status::Warn } else { Status::Ok },
        json!({"free_pages": lite.freelist_pages, "pages": lite.page_count, "page_size": lite.page_size}),
        format!("{} of {} free", bytes(free), bytes(file)),
        sparse.then(|| "oban vacuum".into()),
    ));
}

/// Orphans, stale producers and leaders, latency and unpruned jobs.
fn job_checks(facts: &Facts, t: &Target, opts: &DoctorOpts, out: &mut Vec<Check>) {
    let j = &facts.jobs;
    let after = ago(opts.rescue_after.as_secs_f64());
    let after_flag = if opts.rescue_after_given {
        format!(" --rescue-after {after}")
    } else {
        String::new()
    };
    out.push(Check::new(
        "orphans",
        if j.orphans > 0 {
            Status::Warn
        } else {
            Status::Ok
        },
        json!({"count": j.orphans, "oldest": j.oldest_orphan}),
        match j.oldest_orphan {
            Some(age) if j.orphans > 0 => format!(
                "{} executing longer than {after} (oldest {})",
                j.orphans,
                ago(age)
            ),
            _ => format!("none executing longer than {after}"),
        },
        (j.orphans > 0).then(|| format!("oban rescue{}{after_flag}", t.flag)),
    ));
    if let Some(stale) = &j.stale_producers {
        out.push(Check::new(
            "stale_producers",
            if stale.is_empty() {
                Status::Ok
            } else {
                Status::Warn
            },
            json!(stale),
            if stale.is_empty() {
                "every producer heartbeats".into()
            } else {
                stale
                    .iter()
                    .map(|p| format!("{}/{} silent for {}", p.node, p.queue, ago(p.silent)))
                    .collect::<Vec<_>>()
                    .join("; ")
            },
            (!stale.is_empty()).then(|| {
                let uuids: Vec<String> = stale.iter().map(|p| literal(&p.uuid)).collect();
                format!(
                    "oban rescue --accurate{} (their executing jobs), then \
                     DELETE FROM {}.oban_producers WHERE uuid IN ({});",
                    t.flag,
                    quote_ident(&t.prefix),
                    uuids.join(", ")
                )
            }),
        ));
    }
    if let Some(stale) = &j.stale_leaders {
        out.push(Check::new(
            "stale_leaders",
            if stale.is_empty() {
                Status::Ok
            } else {
                Status::Warn
            },
            json!(stale
                .iter()
                .map(|(n, s)| json!({"node": n, "expired": s}))
                .collect::<Vec<_>>()),
            if stale.is_empty() {
                "no expired lease".into()
            } else {
                stale
                    .iter()
                    .map(|(n, s)| format!("{n}'s lease ran out {} ago", ago(*s)))
                    .collect::<Vec<_>>()
                    .join("; ")
            },
            (!stale.is_empty()).then(|| {
                "no node renews leadership, so nothing stages, prunes or rescues: start a node \
                 with leadership on (oban rescue and oban prune from cron stand in meanwhile)"
                    .into()
            }),
        ));
    }
    let limit = opts.max_latency.as_secs_f64();
    let slow = j.oldest_available.filter(|l| *l > limit);
    out.push(Check::new(
        "latency",
        if slow.is_some() {
            Status::Warn
        } else {
            Status::Ok
        },
        json!(j.oldest_available),
        match j.oldest_available {
            Some(l) => format!("the oldest available job has waited {}", ago(l)),
            None => "no job waiting".into(),
        },
        slow.map(|_| {
            format!(
                "more workers or a higher queue limit: oban stats{} shows which queue waits",
                t.flag
            )
        }),
    ));
    let total: i64 = j.unpruned.iter().map(|(_, n)| n).sum();
    let capped = j
        .unpruned
        .iter()
        .any(|(_, n)| *n >= crate::db::doctor::COUNT_CAP);
    let max_age = ago(opts.max_age.as_secs_f64());
    out.push(Check::new(
        "unpruned",
        if total > 0 { Status::Warn } else { Status::Ok },
        json!(j
            .unpruned
            .iter()
            .cloned()
            .collect::<std::collections::BTreeMap<_, _>>()),
        if total > 0 {
            format!(
                "{}{total} final jobs older than {max_age}: the pruner is not running",
                if capped { "at least " } else { "" }
            )
        } else {
            format!("no final job older than {max_age}")
        },
        (total > 0).then(|| {
            let flag = if opts.max_age_given {
                format!(" --max-age {max_age}")
            } else {
                String::new()
            };
            format!("oban prune{}{flag}", t.flag)
        }),
    ));
}

/// Every check, in the order they are shown.
pub fn judge(schema: &Schema, facts: &Facts, opts: &DoctorOpts) -> Vec<Check> {
    let t = Target::new(schema);
    let mut out = Vec::new();
    needed_indexes(schema, facts, &t, &mut out);
    invalid_indexes(facts, &t, &mut out);
    bloat_checks(facts, &t, opts, &mut out);
    if let Some(table) = &facts.table {
        vacuum_checks(table, &t, &mut out);
    }
    holder_checks(facts, opts, &mut out);
    if let Some(lite) = &facts.lite {
        lite_checks(lite, opts, &mut out);
    }
    job_checks(facts, &t, opts, &mut out);
    // Partitioned tables (missing leaves for the coming days, a DEFAULT partition filling
    // up) add their checks here once the catalog recognises them.
    out
}
