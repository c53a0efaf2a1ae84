//! Database URLs: which backend a DSN names, and how to show one without its password.

use std::fmt;

/// The database engine a DSN points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// PostgreSQL, via libpq.
    Postgres,
    /// SQLite (Oban Lite), a file on disk.
    Sqlite,
}

/// A parsed DSN: the backend and the string to hand to the driver.
#[derive(Clone, PartialEq, Eq)]
pub struct Dsn {
    /// Which engine.
    pub backend: Backend,
    /// What the driver receives: the URL for PostgreSQL, the file path for SQLite.
    pub target: String,
}

impl Dsn {
    /// Classifies a DSN: `postgres://`/`postgresql://` URLs, `sqlite://PATH`, `sqlite:PATH`, or a
    /// path ending in `.db`, `.sqlite` or `.sqlite3`.
    pub fn parse(input: &str) -> Result<Dsn, String> {
        let text = input.trim();
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            return Ok(Dsn {
                backend: Backend::Postgres,
                target: text.to_string(),
            });
        }
        let path = if let Some(rest) = strip_prefix_ci(text, "sqlite://") {
            Some(rest)
        } else if let Some(rest) = strip_prefix_ci(text, "sqlite:") {
            Some(rest)
        } else if [".db", ".sqlite", ".sqlite3"]
            .iter()
            .any(|ext| lower.ends_with(ext))
        {
            Some(text)
        } else {
            None
        };
        match path {
            Some(p) if !p.is_empty() => Ok(Dsn {
                backend: Backend::Sqlite,
                target: p.to_string(),
            }),
            _ => Err(format!(
                "unrecognised database URL '{}'; expected postgres://…, postgresql://…, \
                 sqlite://PATH, sqlite:PATH or a file ending in .db, .sqlite or .sqlite3",
                redact(text)
            )),
        }
    }

    /// The password in the DSN, if any, so that messages can be scrubbed of it.
    pub fn password(&self) -> Option<String> {
        password_of(&self.target)
    }
}

impl fmt::Display for Dsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redact(&self.target))
    }
}

impl fmt::Debug for Dsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Dsn({:?}, {})", self.backend, redact(&self.target))
    }
}

fn strip_prefix_ci<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    if text.len() >= prefix.len() && text[..prefix.len()].eq_ignore_ascii_case(prefix) {
        Some(&text[prefix.len()..])
    } else {
        None
    }
}

/// Splits `scheme://userinfo@rest` into (`scheme://`, userinfo, `@rest`).
fn userinfo(url: &str) -> Option<(&str, &str, &str)> {
    let start = url.find("://")? + 3;
    let authority_end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    let at = url[start..authority_end].rfind('@')? + start;
    Some((&url[..start], &url[start..at], &url[at..]))
}

fn password_of(url: &str) -> Option<String> {
    if let Some((_, info, _)) = userinfo(url) {
        if let Some((_, pass)) = info.split_once(':') {
            if !pass.is_empty() {
                return Some(pass.to_string());
            }
        }
    }
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key.eq_ignore_ascii_case("password") && !value.is_empty()).then(|| value.to_string())
    })
}

/// Returns the DSN with any password replaced by `***`, in the userinfo or a `password=` parameter.
pub fn redact(url: &str) -> String {
    let mut out = match userinfo(url) {
        Some((scheme, info, rest)) => match info.split_once(':') {
            Some((user, _)) => format!("{scheme}{user}:***{rest}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    };
    if let Some((base, query)) = out.clone().split_once('?') {
        let params: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_string(),
            })
            .collect();
        out = format!("{base}?{}", params.join("&"));
    }
    out
}

/// Replaces every secret in `text` with `***`.
pub fn scrub(text: &str, secrets: &[String]) -> String {
    secrets
        .iter()
        .filter(|s| !s.is_empty())
        .fold(text.to_string(), |acc, s| acc.replace(s.as_str(), "***"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_backends() {
        let pg = Dsn::parse("postgres://u:p@h/db").expect("pg");
        assert_eq!(pg.backend, Backend::Postgres);
        assert_eq!(
            Dsn::parse("postgresql://h/db").expect("pg").backend,
            Backend::Postgres
        );
        for (input, path) in [
            ("sqlite:///tmp/a.db", "/tmp/a.db"),
            ("sqlite://jobs.db", "jobs.db"),
            ("sqlite:jobs", "jobs"),
            ("./jobs.sqlite3", "./jobs.sqlite3"),
            ("/var/lib/x.sqlite", "/var/lib/x.sqlite"),
        ] {
            let dsn = Dsn::parse(input).expect(input);
            assert_eq!(dsn.backend, Backend::Sqlite);
            assert_eq!(dsn.target, path);
        }
        assert!(Dsn::parse("mysql://h/db").is_err());
        assert!(Dsn::parse("jobs.txt").is_err());
        assert!(Dsn::parse("sqlite:").is_err());
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact("postgres://app:secret@db/app"),
            "postgres://app:***@db/app"
        );
        assert_eq!(redact("postgres://app@db/app"), "postgres://app@db/app");
        assert_eq!(
            redact("postgres://db/app?user=a&password=s3cr3t&sslmode=require"),
            "postgres://db/app?user=a&password=***&sslmode=require"
        );
        assert_eq!(redact("postgres://a:p@ss@db/x"), "postgres://a:***@db/x");
        let err = Dsn::parse("mysql://root:hunter2@db/x").expect_err("unsupported");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn finds_password() {
        let dsn = Dsn::parse("postgres://app:secret@db/app").expect("pg");
        assert_eq!(dsn.password().as_deref(), Some("secret"));
        let dsn = Dsn::parse("postgres://db/app?password=x1").expect("pg");
        assert_eq!(dsn.password().as_deref(), Some("x1"));
        assert!(format!("{dsn} {dsn:?}").find("x1").is_none());
    }
}
