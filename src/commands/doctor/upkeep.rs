//! Upkeep checks: dead tuples, the last vacuum and analyze, autovacuum settings, what holds
//! back vacuum (old and idle transactions, replication slots, prepared transactions), and
//! SQLite's integrity and freelist.

use serde_json::{json, Value};

use super::common::{ago, bloat, bytes, listed, literal, round, Target};
use super::{Check, DoctorOpts, Status};
use crate::db::doctor::{Facts, LiteFacts, TableFact};
use crate::defaults as d;

/// Dead tuples, the last vacuum and analyze, and the autovacuum settings. `queue`: the table
/// holds jobs that change state (not a leaf of finished jobs only, which rows only enter and
/// leave whole), so it needs a queue table's autovacuum settings.
pub fn vacuum_checks(table: &TableFact, t: &Target, queue: bool, out: &mut Vec<Check>) {
    let total = (table.live + table.dead).max(1) as f64;
    let share = table.dead as f64 / total;
    let piled = table.dead >= d::DOCTOR_DEAD_MIN && share >= d::DOCTOR_DEAD_SHARE;
    out.push(Check::new(
        "dead_tuples",
        Status::warn_if(piled),
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
        Status::warn_if(behind),
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
        Status::warn_if(unanalyzed),
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
    let lax = queue && table.vacuum_scale_factor > d::DOCTOR_MAX_SCALE_FACTOR;
    // With autovacuum off on the server, a table vacuumed by hand (cron) lately is cared for.
    let unattended = queue && !table.server_autovacuum && stale(table.vacuumed_ago);
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
pub fn holder_checks(facts: &Facts, opts: &DoctorOpts, out: &mut Vec<Check>) {
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
        Status::warn_if(old.is_some()),
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
        Status::warn_if(!idle.is_empty()),
        json!(idle),
        listed(&idle, "none", |s| {
            format!("{} idle for {}", who(s), ago(s.state_age))
        }),
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
        Status::warn_if(!unused.is_empty()),
        json!(h.slots),
        listed(&h.slots, "none", |s| {
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
        }),
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
        Status::warn_if(!h.prepared.is_empty()),
        json!(h.prepared),
        listed(&h.prepared, "none", |p| {
            format!("{} (by {}, {} ago)", p.gid, p.owner, ago(p.age))
        }),
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
pub fn lite_checks(lite: &LiteFacts, opts: &DoctorOpts, out: &mut Vec<Check>) {
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
        Status::warn_if(sparse),
        json!({"free_pages": lite.freelist_pages, "pages": lite.page_count, "page_size": lite.page_size}),
        format!("{} of {} free", bytes(free), bytes(file)),
        sparse.then(|| "oban vacuum".into()),
    ));
}
