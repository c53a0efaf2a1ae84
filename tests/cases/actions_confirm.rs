//! The confirmation of an action by filter, through the library: asked once, with the number
//! of jobs that would change; a no changes nothing.

use oban::cli::{ActionArgs, BatchArgs, JobFilterArgs};
use oban::commands::actions::{pass, ActionOpts};
use oban::config::resolve_with;
use oban::db::JobAction;
use oban::model::JobState;

use crate::cases::actions::one_per_state;
use crate::cases::inspect::insert_raw;
use crate::support::{LiteDb, Target};

#[test]
fn confirmation_is_asked_once_and_a_no_changes_nothing() {
    let db = LiteDb::migrated();
    insert_raw(&db, "public", &one_per_state());
    let before = db.snapshot();
    let settings =
        resolve_with(&Default::default(), &|_| None, Default::default()).expect("settings");
    let args = ActionArgs {
        filter: JobFilterArgs {
            state: vec![JobState::Completed, JobState::Discarded],
            ..JobFilterArgs::default()
        },
        all_matching: true,
        ..ActionArgs::default()
    };
    // With a terminal, acting by filter without --yes is allowed: it asks.
    let opts = ActionOpts::resolve(JobAction::Delete, &args, &settings, true).expect("opts");
    assert!(ActionOpts::resolve(JobAction::Delete, &args, &settings, false).is_err());
    let mut conn = db.db();
    let schema = conn.schema("public").expect("schema");
    let mut asked = Vec::new();
    let result = pass(&mut conn, &schema, &opts, &mut |plan| {
        asked.push(plan.jobs.len());
        Ok(false)
    });
    assert!(result.is_err(), "a no is not success");
    assert_eq!(asked, vec![2]);
    assert_eq!(db.snapshot(), before);

    let report = pass(&mut conn, &schema, &opts, &mut |_| Ok(true)).expect("delete");
    assert_eq!(report.total, 2);
    assert_eq!(db.snapshot().len(), before.len() - 2);

    // One job: no question.
    let args = ActionArgs {
        ids: vec![*before.keys().next().expect("a job")],
        ..ActionArgs::default()
    };
    let opts = ActionOpts::resolve(JobAction::Cancel, &args, &settings, true).expect("opts");
    let report = pass(&mut conn, &schema, &opts, &mut |_| {
        panic!("asked about one job")
    })
    .expect("cancel");
    assert_eq!(report.total, 1);
}

#[test]
fn limit_all_asks_once_with_the_number_that_match() {
    let db = LiteDb::migrated();
    let jobs: Vec<serde_json::Value> = (0..30)
        .map(|_| crate::support::JobSpec::new("discarded", 60.0).to_json())
        .collect();
    let mut conn = db.db();
    let schema = conn.schema("main").expect("schema");
    conn.insert_jobs(&schema, &serde_json::Value::Array(jobs).to_string())
        .expect("insert");
    let settings =
        resolve_with(&Default::default(), &|_| None, Default::default()).expect("settings");
    let args = ActionArgs {
        filter: JobFilterArgs {
            state: vec![JobState::Discarded],
            ..JobFilterArgs::default()
        },
        all_matching: true,
        batch: BatchArgs {
            limit: Some(u64::MAX),
            batch_size: Some(7),
        },
        ..ActionArgs::default()
    };
    let opts = ActionOpts::resolve(JobAction::Retry, &args, &settings, true).expect("opts");
    let mut asked = Vec::new();
    let no = pass(&mut conn, &schema, &opts, &mut |plan| {
        asked.push(plan.total);
        Ok(false)
    });
    assert!(no.is_err());
    assert_eq!(asked, vec![30]);
    let report = pass(&mut conn, &schema, &opts, &mut |_| Ok(true)).expect("retry");
    assert_eq!((report.total, report.matched), (30, Some(30)));
}
