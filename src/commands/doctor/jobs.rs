//! Job checks: orphans, stale producers and leaders, queue latency, and final jobs the pruner
//! should have removed.

use serde_json::json;

use super::common::{ago, listed, literal, Target};
use super::{Check, DoctorOpts, Status};
use crate::db::doctor::Facts;
use crate::db::quote_ident;

/// Orphans, stale producers and leaders, latency and unpruned jobs.
pub fn job_checks(facts: &Facts, t: &Target, opts: &DoctorOpts, out: &mut Vec<Check>) {
    let j = &facts.jobs;
    let after = ago(opts.rescue_after.as_secs_f64());
    let after_flag = if opts.rescue_after_given {
        format!(" --rescue-after {after}")
    } else {
        String::new()
    };
    out.push(Check::new(
        "orphans",
        Status::warn_if(j.orphans > 0),
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
            Status::warn_if(!stale.is_empty()),
            json!(stale),
            listed(stale, "every producer heartbeats", |p| {
                format!("{}/{} silent for {}", p.node, p.queue, ago(p.silent))
            }),
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
            Status::warn_if(!stale.is_empty()),
            json!(stale
                .iter()
                .map(|(n, s)| json!({"node": n, "expired": s}))
                .collect::<Vec<_>>()),
            listed(stale, "no expired lease", |(n, s)| {
                format!("{n}'s lease ran out {} ago", ago(*s))
            }),
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
        Status::warn_if(slow.is_some()),
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
        Status::warn_if(total > 0),
        {
            // Counts stop at the cap: the JSON says so, as the detail does ("at least").
            let mut counts = json!(j
                .unpruned
                .iter()
                .cloned()
                .collect::<std::collections::BTreeMap<_, _>>());
            counts["counted_up_to"] = json!(crate::db::doctor::COUNT_CAP);
            counts
        },
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
