//! Invariant 1 as a property: after a prune, exactly the eligible rows (up to the limit) are
//! gone and every other row is byte-for-byte unchanged, on PostgreSQL and SQLite.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use oban::cli::{BatchArgs, PruneArgs};
use oban::commands::prune::{pass, PruneOpts};
use oban::config::resolve_with;
use oban::model::FinalState;
use proptest::prelude::*;

use crate::support::{insert, JobSpec, LiteDb, PgDb, Target};

use oban::model::JobState;

/// Ages in seconds from the one-hour cutoff: far from it by at least 30 s, so the clock
/// moving between insert and prune cannot flip a row.
fn age() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        1 => Just(None),
        6 => (0u32..40).prop_map(|k| Some(if k < 20 { 3600.0 - 30.0 - f64::from(k) * 170.0 } else { 3600.0 + 30.0 + f64::from(k - 20) * 3000.0 })),
    ]
}

fn job() -> impl Strategy<Value = JobSpec> {
    (0usize..8, age(), 0usize..3, prop::bool::ANY).prop_map(|(s, age, q, odd)| {
        let mut spec =
            JobSpec::new(JobState::ALL[s].name(), 0.0).queue(["default", "mailers", "events"][q]);
        spec.age = age.map(|a| a.max(1.0));
        if odd {
            // Put the age on a timestamp that is not the state's own.
            spec.stamp = Some(["completed", "cancelled", "discarded"][s % 3]);
        }
        spec
    })
}

fn eligible(spec: &JobSpec, states: &[FinalState]) -> bool {
    let own = match spec.state {
        "completed" => "completed",
        "cancelled" => "cancelled",
        "discarded" => "discarded",
        _ => return false,
    };
    let selected = states.is_empty() || states.iter().any(|s| s.name() == spec.state);
    let stamp = spec.stamp.unwrap_or(own);
    selected && stamp == own && spec.age.is_some_and(|a| a > 3600.0)
}

/// How a case prunes.
struct Pass {
    limit: u64,
    batch: u64,
    states: Vec<FinalState>,
    /// Two connections at once.
    two: bool,
    /// ANALYZE first, so that a mostly eligible table is walked in physical order.
    analyzed: bool,
}

fn check(
    target: &dyn Target,
    snapshot: &dyn Fn() -> BTreeMap<i64, String>,
    jobs: &[JobSpec],
    pass_: Pass,
) -> Result<(), TestCaseError> {
    let Pass {
        limit,
        batch,
        states,
        two,
        analyzed,
    } = pass_;
    insert(target, "public", jobs);
    let before = snapshot();
    let ids: Vec<i64> = before.keys().copied().collect();
    let expected: BTreeSet<i64> = ids
        .iter()
        .zip(jobs)
        .filter(|(_, j)| eligible(j, &states))
        .map(|(id, _)| *id)
        .collect();
    let settings =
        resolve_with(&Default::default(), &|_| None, Default::default()).expect("settings");
    let args = PruneArgs {
        max_age: Some(Duration::from_secs(3600)),
        batch: BatchArgs {
            limit: Some(limit),
            batch_size: Some(batch),
        },
        state: states,
        ..PruneArgs::default()
    };
    let mut opts = PruneOpts::resolve(&args, &settings).expect("opts");
    if two {
        // Two connections draining from both ends at once.
        opts.second_connection = Some(oban::dsn::Dsn::parse(&target.dsn()).expect("dsn"));
    }
    let mut db = target.db();
    if analyzed {
        // With statistics, a pass whose rows are mostly eligible walks the heap instead.
        db.run_batch("ANALYZE oban_jobs").expect("analyze");
    }
    let schema = db.schema("public").expect("schema");
    let report = pass(&mut db, &schema, &opts, None, None).expect("prune");
    let after = snapshot();
    let gone: BTreeSet<i64> = before
        .keys()
        .filter(|id| !after.contains_key(id))
        .copied()
        .collect();
    prop_assert_eq!(report.total as usize, gone.len());
    prop_assert_eq!(gone.len() as u64, (expected.len() as u64).min(limit));
    prop_assert!(
        gone.is_subset(&expected),
        "deleted a row that was not eligible"
    );
    for (id, row) in &after {
        prop_assert_eq!(before.get(id), Some(row), "row {} changed", id);
    }
    Ok(())
}

fn states() -> impl Strategy<Value = Vec<FinalState>> {
    prop::sample::subsequence(FinalState::ALL.to_vec(), 0..=3)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn prune_takes_exactly_the_eligible_rows_postgres(jobs in prop::collection::vec(job(), 1..60), limit in 1u64..50, batch in 1u64..20, states in states(), two in prop::bool::ANY, analyzed in prop::bool::ANY) {
        let db = PgDb::migrated("prop_prune", "public");
        check(&db, &|| db.snapshot("public"), &jobs, Pass { limit, batch, states, two, analyzed })?;
    }

    #[test]
    fn prune_takes_exactly_the_eligible_rows_sqlite(jobs in prop::collection::vec(job(), 1..60), limit in 1u64..50, batch in 1u64..20, states in states()) {
        let db = LiteDb::migrated();
        check(&db, &|| db.snapshot(), &jobs, Pass { limit, batch, states, two: false, analyzed: false })?;
    }
}
