//! `oban migrate`: install or upgrade the schema with the embedded migrations; with
//! `--partitioned`, the partitioned layout, and with `--from`, an existing table's jobs moved
//! into it (`from.rs`).

mod from;

use std::io::Write;

use anyhow::Result;

use crate::cli::MigrateArgs;
use crate::config::Settings;
use crate::db::migrations::{migrate, migrate_partitioned, MigrateReport};
use crate::db::Db;
use crate::output::{self, Report};

impl Report for MigrateReport {
    fn to_table(&self) -> String {
        if let Some(flavour) = self.existing {
            if self.partitioned {
                return format!(
                    "migrate: schema {} already holds a partitioned oban_jobs ({} columns); \
                     nothing changed (`oban partitions` makes the coming days' leaves)\n",
                    self.prefix,
                    flavour.label()
                );
            }
            let what = format!("an {}", flavour.label());
            return format!(
                "migrate: schema {} already holds {what} schema installed by another tool; nothing changed\n",
                self.prefix,
            );
        }
        if self.migrations.is_empty() {
            return format!("migrate: schema {} is up to date\n", self.prefix);
        }
        let verb = if self.dry_run { "would run" } else { "ran" };
        let mut out = format!(
            "migrate: {verb} {} in schema {}\n",
            output::plural(self.migrations.len() as u64, "migration", "migrations"),
            self.prefix
        );
        for m in &self.migrations {
            out.push_str(&format!("  {m}\n"));
        }
        out
    }

    fn to_csv(&self) -> (Vec<String>, Vec<Vec<String>>) {
        output::csv("migration,dry_run", &self.migrations, |m| {
            vec![m.clone(), self.dry_run.to_string()]
        })
    }
}

/// The configured database with the session limits of `session`; a SQLite file may be
/// created unless this is a dry run.
fn connect(settings: &Settings, dry_run: bool, session: &crate::cli::SessionArgs) -> Result<Db> {
    Db::connect(
        settings.require_dsn()?,
        crate::commands::session_limits(session),
        !dry_run,
    )
}

/// `migrate --partitioned`: the layout, then the leaves for the coming days.
fn partitioned(settings: &Settings, args: &MigrateArgs) -> Result<MigrateReport> {
    let dry_run = args.dry_run;
    let mut db = connect(settings, dry_run, &args.session)?;
    let mut report = migrate_partitioned(&mut db, &settings.prefix, dry_run)?;
    if dry_run || report.existing.is_some() {
        return Ok(report);
    }
    let schema = db.schema(&settings.prefix)?;
    let days = crate::defaults::PARTITIONS_PREMAKE
        .as_secs()
        .div_ceil(86_400);
    let made = crate::commands::partitions::premake(&mut db, &schema, days, false)?;
    report
        .migrations
        .extend(made.created.into_iter().map(|l| format!("leaf {}", l.name)));
    Ok(report)
}

/// The `oban migrate` command.
pub fn run(settings: &Settings, args: &MigrateArgs, out: &mut dyn Write) -> Result<i32> {
    if args.from.is_some() {
        return from::run(settings, args, out);
    }
    let report = if args.partitioned {
        partitioned(settings, args)?
    } else {
        let mut db = connect(settings, args.dry_run, &args.session)?;
        migrate(&mut db, &settings.prefix, args.dry_run)?
    };
    output::write_report(out, settings.style(false), &report)?;
    Ok(0)
}
