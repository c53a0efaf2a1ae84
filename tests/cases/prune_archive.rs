//! `oban prune --archive`: the archive holds exactly the rows deleted, as they were; a file that
//! cannot be written is refused before anything is deleted, and a write that fails mid-pass
//! rolls its batch back.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::cases::prune::{prune_json, targets};
use crate::support::{insert, oban, JobSpec, PgDb, JOB_COLUMNS};

const DAY: f64 = 86_400.0;

#[test]
fn archive_holds_exactly_the_deleted_rows() {
    for target in targets("prune_archive") {
        let t = target.as_ref();
        let mut jobs: Vec<JobSpec> = (0..7)
            .map(|_| JobSpec::new("discarded", 2.0 * DAY))
            .collect();
        jobs.push(JobSpec::new("completed", 60.0));
        insert(t, "public", &jobs);
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("archive.jsonl");
        std::fs::write(&path, "{\"earlier\": true}\n").expect("seed archive");
        let r = prune_json(
            t,
            &[
                "--batch-size",
                "3",
                "--archive",
                &path.display().to_string(),
            ],
        );
        assert_eq!(r["total"], 7);
        let text = std::fs::read_to_string(&path).expect("archive");
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("json line"))
            .collect();
        assert_eq!(lines.len(), 8, "appends, never truncates");
        let ids: BTreeSet<i64> = lines[1..]
            .iter()
            .map(|v| v["id"].as_i64().expect("id"))
            .collect();
        assert_eq!(ids.len(), 7);
        for line in &lines[1..] {
            assert_eq!(line["state"], "discarded");
            assert_eq!(line["args"]["note"], "it's \"quoted\"", "args kept as JSON");
            for column in JOB_COLUMNS {
                assert!(
                    line.get(column).is_some(),
                    "archive line lacks {column}: {line}"
                );
            }
        }
        // Dry run writes nothing.
        let dry = prune_json(
            t,
            &[
                "--dry-run",
                "--max-age",
                "0",
                "--archive",
                &path.display().to_string(),
            ],
        );
        assert_eq!(dry["total"], 1);
        assert_eq!(
            std::fs::read_to_string(&path)
                .expect("archive")
                .lines()
                .count(),
            8
        );
    }
}

#[test]
fn unwritable_archive_is_a_usage_error_before_any_delete() {
    let db = PgDb::migrated("prune_bad_archive", "public");
    insert(&db, "public", &[JobSpec::new("completed", 2.0 * DAY)]);
    let out = oban()
        .args([
            "-d",
            &db.url,
            "prune",
            "--archive",
            "/nonexistent-dir/x.jsonl",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--archive"));
    assert_eq!(db.count("SELECT count(*) AS n FROM oban_jobs"), 1);
}

#[test]
fn a_failed_archive_write_rolls_the_batch_back() {
    let db = PgDb::migrated("prune_archive_full", "public");
    insert(
        &db,
        "public",
        &[
            JobSpec::new("completed", 2.0 * DAY),
            JobSpec::new("completed", 2.0 * DAY),
        ],
    );
    let out = oban()
        .args(["-d", &db.url, "prune", "--archive", "/dev/full"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("writing archive /dev/full"), "{stderr}");
    assert_eq!(
        db.count("SELECT count(*) AS n FROM oban_jobs"),
        2,
        "nothing deleted that the archive lacks"
    );
}
