//! The targets of a run: the databases (and schemas) from repeated `-d`, or `[[targets]]` in
//! oban.toml, narrowed by `--target NAME`; each with the name output labels it by (the file's
//! `name`, else a label made from its DSN without user or password, with `:prefix` when the
//! schema is not `public`).

use anyhow::Result;

use super::file::FileTarget;
use super::validate_prefix;
use crate::defaults;
use crate::dsn::{Backend, Dsn};
use crate::error::usage;

/// One database and schema a command runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// How output labels it, and how `--target` selects it.
    pub name: String,
    /// The database.
    pub dsn: Dsn,
    /// The schema (Oban's prefix).
    pub prefix: String,
}

impl Target {
    /// The name a target gets without one of its own: its DSN's label, with `:prefix` when
    /// the schema is not the default (SQLite has no schemas).
    pub fn derived_name(dsn: &Dsn, prefix: &str) -> String {
        if dsn.backend == Backend::Sqlite || prefix == defaults::PREFIX {
            dsn.label()
        } else {
            format!("{}:{prefix}", dsn.label())
        }
    }
}

/// The targets `-d` flags name: each with the global prefix.
pub fn from_flags(dsns: &[String], prefix: &str) -> Result<Vec<Target>> {
    let mut targets = Vec::new();
    for text in dsns {
        let dsn = Dsn::parse(text).map_err(|e| usage(format!("--database-url: {e}")))?;
        let name = Target::derived_name(&dsn, prefix);
        targets.push(Target {
            name,
            dsn,
            prefix: prefix.to_string(),
        });
    }
    Ok(unique(targets))
}

/// The targets of `[[targets]]`, each with its own prefix or the global one. Two entries with
/// the same `name` are a usage error.
pub fn from_file(entries: &[FileTarget], prefix: &str) -> Result<Vec<Target>> {
    let mut targets: Vec<Target> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let origin = format!("oban.toml [[targets]] #{}", i + 1);
        let dsn = Dsn::parse(&entry.dsn).map_err(|e| usage(format!("{origin} dsn: {e}")))?;
        let prefix = match &entry.prefix {
            Some(p) => validate_prefix(p, &format!("{origin} prefix"))?,
            None => prefix.to_string(),
        };
        let name = match &entry.name {
            Some(n) if n.trim().is_empty() => {
                return Err(usage(format!("{origin} name: expected a non-empty name")))
            }
            Some(n) if targets.iter().any(|t| &t.name == n) => {
                return Err(usage(format!(
                    "{origin} name: {n} names an earlier target too; names must differ"
                )))
            }
            Some(n) => n.clone(),
            None => Target::derived_name(&dsn, &prefix),
        };
        targets.push(Target { name, dsn, prefix });
    }
    Ok(unique(targets))
}

/// Derived names that collide get `#2`, `#3`, … in order.
fn unique(mut targets: Vec<Target>) -> Vec<Target> {
    for i in 1..targets.len() {
        let base = targets[i].name.clone();
        let mut n = 1;
        while targets[..i].iter().any(|t| t.name == targets[i].name) {
            n += 1;
            targets[i].name = format!("{base}#{n}");
        }
    }
    targets
}

/// The targets `--target NAME` selects, in the order given; an unknown name is a usage error
/// that lists the known ones.
pub fn select(targets: Vec<Target>, names: &[String]) -> Result<Vec<Target>> {
    if names.is_empty() {
        return Ok(targets);
    }
    let mut chosen = Vec::new();
    for name in names {
        match targets.iter().find(|t| &t.name == name) {
            Some(t) if !chosen.contains(t) => chosen.push(t.clone()),
            Some(_) => {}
            None => {
                let known: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
                return Err(usage(format!(
                    "--target {name}: no such target; the targets are: {}",
                    known.join(", ")
                )));
            }
        }
    }
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_derived_without_passwords_and_kept_apart() {
        let dsns = [
            "postgres://root:s3cret@127.0.0.1/app".to_string(),
            "postgres://root:other@127.0.0.1/app".to_string(),
            "sqlite:///tmp/a/jobs.db".to_string(),
        ];
        let t = from_flags(&dsns, "public").expect("ok");
        let names: Vec<&str> = t.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["127.0.0.1/app", "127.0.0.1/app#2", "jobs.db"]);
        let t = from_flags(&dsns[..1], "tenant").expect("ok");
        assert_eq!(t[0].name, "127.0.0.1/app:tenant");
        assert!(select(t.clone(), &["nope".into()]).is_err());
        assert_eq!(
            select(t, &["127.0.0.1/app:tenant".into()])
                .expect("ok")
                .len(),
            1
        );
    }

    #[test]
    fn file_targets_take_their_own_prefix_and_unique_names() {
        let entry = |name: Option<&str>, prefix: Option<&str>| FileTarget {
            name: name.map(String::from),
            dsn: "postgres://db/app".into(),
            prefix: prefix.map(String::from),
        };
        let t = from_file(&[entry(Some("a"), None), entry(None, Some("b"))], "jobs").expect("ok");
        assert_eq!(t[0].prefix, "jobs");
        assert_eq!(t[1].name, "db/app:b");
        assert!(from_file(&[entry(Some("a"), None), entry(Some("a"), None)], "p").is_err());
        assert!(from_file(&[entry(None, Some("bad-name"))], "p").is_err());
    }
}
