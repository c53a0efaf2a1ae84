//! Database URLs: which backend a DSN names, and how to show one without its password.

use std::fmt;

mod libpq;

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

/// The connection keywords libpq knows: a DSN of `key=value` pairs starting with one of these
/// is a PostgreSQL connection string.
const LIBPQ_KEYWORDS: [&str; 32] = [
    "host",
    "hostaddr",
    "port",
    "dbname",
    "user",
    "password",
    "passfile",
    "require_auth",
    "channel_binding",
    "connect_timeout",
    "client_encoding",
    "options",
    "application_name",
    "fallback_application_name",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "replication",
    "gssencmode",
    "sslmode",
    "sslcompression",
    "sslcert",
    "sslkey",
    "sslpassword",
    "sslrootcert",
    "sslcrl",
    "requirepeer",
    "krbsrvname",
    "service",
    "target_session_attrs",
];

/// What a rejected DSN is told, without repeating it (it may hold a password).
const EXPECTED: &str = "expected postgres://…, postgresql://…, libpq's key=value form \
     (host=… user=… dbname=…), sqlite://PATH, sqlite:PATH or a file ending in .db, .sqlite or \
     .sqlite3";

/// A PostgreSQL DSN that libpq would refuse, said without repeating it.
fn not_valid(why: String) -> String {
    format!("the PostgreSQL DSN is not valid: {why} (not repeated here: it may hold a password)")
}

impl Dsn {
    /// Classifies a DSN: `postgres://`/`postgresql://` URLs, libpq's `key=value` strings,
    /// `sqlite://PATH`, `sqlite:PATH`, or a path ending in `.db`, `.sqlite` or `.sqlite3`.
    /// An error never repeats the DSN: it may hold a password.
    pub fn parse(input: &str) -> Result<Dsn, String> {
        let text = input.trim();
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            check_userinfo(text)?;
            libpq::check(text).map_err(not_valid)?;
            return Ok(Dsn {
                backend: Backend::Postgres,
                target: text.to_string(),
            });
        }
        if lower.starts_with("postgres:") || lower.starts_with("postgresql:") {
            return Err(
                "a postgres URL starts with postgres:// (two slashes); the one given \
                 does not (not repeated here: it may hold a password)"
                    .into(),
            );
        }
        if keyword_pairs(text).is_some() {
            libpq::check(text).map_err(not_valid)?;
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
                "unrecognised database URL (not repeated here: it may hold a password); {EXPECTED}"
            )),
        }
    }

    /// The PostgreSQL connection string to hand to libpq. A DSN that names no host (nor
    /// `PGHOST`/`PGHOSTADDR`) means the local server's Unix socket; the libpq built into the
    /// binary looks for it only in `/tmp`, so the first of `socket_dirs` that holds the socket
    /// for the port is named instead (Debian and Ubuntu servers use `/var/run/postgresql`).
    pub fn libpq_target(
        &self,
        socket_dirs: &[&str],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> String {
        let target = &self.target;
        if self.backend != Backend::Postgres
            || env("PGHOST").is_some()
            || env("PGHOSTADDR").is_some()
            || names_host(target)
        {
            return target.clone();
        }
        let port = port_of(target)
            .or_else(|| env("PGPORT"))
            .unwrap_or_else(|| "5432".into());
        let Some(dir) = socket_dirs.iter().find(|d| {
            std::path::Path::new(d)
                .join(format!(".s.PGSQL.{port}"))
                .exists()
        }) else {
            return target.clone();
        };
        with_parameter(target, "host", dir)
    }

    /// The password in the DSN, if any, so that messages can be scrubbed of it.
    pub fn password(&self) -> Option<String> {
        password_of(&self.target)
    }

    /// A short name for output, never holding the password or the user: `host[:port]/dbname`
    /// for PostgreSQL (`local` when no host is named), the file name for SQLite.
    pub fn label(&self) -> String {
        if self.backend == Backend::Sqlite {
            let path = self.target.split('?').next().unwrap_or(&self.target);
            return path.rsplit('/').next().unwrap_or(path).to_string();
        }
        let t = &self.target;
        let keywords = keyword_pairs(t).is_some();
        let (url_host, url_port) = if keywords {
            (None, None)
        } else {
            host_and_port(t).map_or((None, None), |(h, p)| {
                (
                    Some(h.to_string()).filter(|h| !h.is_empty()),
                    p.map(String::from),
                )
            })
        };
        let host = parameter(t, "host")
            .or(url_host)
            .unwrap_or_else(|| "local".into());
        let port = parameter(t, "port").or(url_port);
        let dbname = parameter(t, "dbname").or_else(|| {
            if keywords {
                return None;
            }
            let start = t.find("://")? + 3;
            let rest = &t[start..];
            let path = &rest[rest.find('/')? + 1..];
            let db = path.split(['?', '#']).next()?;
            (!db.is_empty()).then(|| db.to_string())
        });
        let mut out = host;
        if let Some(p) = port {
            out = format!("{out}:{p}");
        }
        if let Some(db) = dbname {
            out = format!("{out}/{db}");
        }
        out
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

/// Splits `scheme://userinfo@rest` into (`scheme://`, userinfo, `@rest`). The userinfo ends at
/// the last `@` before the path, as the URL standard has it: a password holding an unencoded
/// `@` is still found whole (and then refused by [`check_userinfo`]).
fn userinfo(url: &str) -> Option<(&str, &str, &str)> {
    let start = url.find("://")? + 3;
    let rest = &url[start..];
    let at = rest.rfind('@')?;
    // An `@` inside query parameters (`?application_name=a@b`) is not the userinfo's end.
    let in_query = rest[..at]
        .split_once('?')
        .is_some_and(|(_, query)| query.contains('='));
    if in_query {
        let before_query = &rest[..rest.find('?')?];
        let at = before_query.rfind('@')? + start;
        return Some((&url[..start], &url[start..at], &url[at..]));
    }
    Some((&url[..start], &url[start..start + at], &url[start + at..]))
}

/// Refuses a URL whose userinfo holds characters that end it early for libpq (which reads the
/// userinfo up to the first `@`, `/`, `?` or `#`): libpq would take part of the password for
/// the host and print it in its error.
fn check_userinfo(url: &str) -> Result<(), String> {
    let Some((_, info, _)) = userinfo(url) else {
        return Ok(());
    };
    if info.contains(['@', '/', '?', '#']) {
        return Err(
            "the user or password in the database URL holds a character that must be \
             percent-encoded: @ as %40, / as %2F, ? as %3F, # as %23 (not repeated here)"
                .into(),
        );
    }
    Ok(())
}

/// libpq's `key=value` connection string, as (key, value, byte range of the value), when
/// `text` is one: every key a libpq keyword, values bare or single-quoted with `\'` and
/// `\\` escapes.
fn keyword_pairs(text: &str) -> Option<Vec<(String, String, std::ops::Range<usize>)>> {
    let bytes = text.as_bytes();
    let mut pairs = Vec::new();
    let mut i = 0;
    let skip_space = |i: &mut usize| {
        while *i < bytes.len() && bytes[*i].is_ascii_whitespace() {
            *i += 1;
        }
    };
    loop {
        skip_space(&mut i);
        if i >= bytes.len() {
            break;
        }
        let key_start = i;
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
            i += 1;
        }
        let key = text[key_start..i].to_ascii_lowercase();
        if !LIBPQ_KEYWORDS.contains(&key.as_str()) {
            return None;
        }
        skip_space(&mut i);
        if bytes.get(i) != Some(&b'=') {
            return None;
        }
        i += 1;
        skip_space(&mut i);
        let (value, range) = if bytes.get(i) == Some(&b'\'') {
            let start = i;
            i += 1;
            let mut value = String::new();
            let mut closed = false;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' if i + 1 < bytes.len() => {
                        value.push(bytes[i + 1] as char);
                        i += 2;
                    }
                    b'\'' => {
                        i += 1;
                        closed = true;
                        break;
                    }
                    _ => {
                        let c = text[i..].chars().next()?;
                        value.push(c);
                        i += c.len_utf8();
                    }
                }
            }
            if !closed {
                return None;
            }
            (value, start..i)
        } else {
            let start = i;
            while i < bytes.len() && !bytes[i].is_ascii_whitespace() {
                i += 1;
            }
            (text[start..i].to_string(), start..i)
        };
        pairs.push((key, value, range));
    }
    (!pairs.is_empty()).then_some(pairs)
}

/// `target` (a libpq connection string) with `connect_timeout` set to `seconds`, unless it
/// names one or `PGCONNECT_TIMEOUT` is set: without one, libpq waits on a server that accepts
/// and never answers for as long as the network keeps the attempt open.
pub fn with_connect_timeout(
    target: &str,
    seconds: u64,
    env: &dyn Fn(&str) -> Option<String>,
) -> String {
    if parameter(target, "connect_timeout").is_some() || env("PGCONNECT_TIMEOUT").is_some() {
        target.to_string()
    } else {
        with_parameter(target, "connect_timeout", &seconds.to_string())
    }
}

/// `target` with one more libpq parameter: ` key=value` in the key=value form (quoted there
/// unless plain letters and digits), `?key=value` or `&key=value` in a URL.
fn with_parameter(target: &str, key: &str, value: &str) -> String {
    if keyword_pairs(target).is_some() {
        if value.chars().all(|c| c.is_ascii_alphanumeric()) {
            format!("{target} {key}={value}")
        } else {
            format!(
                "{target} {key}='{}'",
                value.replace('\\', "\\\\").replace('\'', "\\'")
            )
        }
    } else {
        let sep = if target.contains('?') { '&' } else { '?' };
        format!("{target}{sep}{key}={value}")
    }
}

/// The value of a libpq parameter: a key=value pair, or a URL query parameter.
fn parameter(dsn: &str, name: &str) -> Option<String> {
    if let Some(pairs) = keyword_pairs(dsn) {
        return pairs
            .into_iter()
            .find(|(k, _, _)| k == name)
            .map(|(_, v, _)| v);
    }
    let query = dsn.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        key.eq_ignore_ascii_case(name).then(|| value.to_string())
    })
}

/// Whether a PostgreSQL DSN names a host (or a socket directory) itself.
fn names_host(dsn: &str) -> bool {
    if parameter(dsn, "host").is_some() || parameter(dsn, "hostaddr").is_some() {
        return true;
    }
    if keyword_pairs(dsn).is_some() {
        return false;
    }
    host_and_port(dsn).is_some_and(|(host, _)| !host.is_empty())
}

/// The URL's `host[:port]`, after any userinfo and before the path or query.
fn host_and_port(url: &str) -> Option<(&str, Option<&str>)> {
    let start = url.find("://")? + 3;
    let from = userinfo(url).map_or(start, |(scheme, info, _)| scheme.len() + info.len() + 1);
    let rest = &url[from..];
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..end];
    Some(match authority.rsplit_once(':') {
        Some((host, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
            (host, Some(port))
        }
        _ => (authority, None),
    })
}

/// The port a DSN names, if any.
fn port_of(dsn: &str) -> Option<String> {
    parameter(dsn, "port").or_else(|| {
        keyword_pairs(dsn)
            .is_none()
            .then(|| host_and_port(dsn).and_then(|(_, p)| p.map(String::from)))
            .flatten()
    })
}

fn password_of(dsn: &str) -> Option<String> {
    let in_userinfo = keyword_pairs(dsn)
        .is_none()
        .then(|| userinfo(dsn)?.1.split_once(':').map(|(_, p)| p.to_string()))
        .flatten();
    let given = |p: &String| !p.is_empty();
    in_userinfo
        .filter(given)
        .or_else(|| parameter(dsn, "password").filter(given))
}

/// Returns the DSN with any password replaced by `***`: in the URL's userinfo, a `password=`
/// query parameter, or a `password=` pair of libpq's key=value form.
pub fn redact(dsn: &str) -> String {
    if let Some(pairs) = keyword_pairs(dsn) {
        let mut out = dsn.to_string();
        for (_, _, range) in pairs.iter().rev().filter(|(k, _, _)| k == "password") {
            out.replace_range(range.clone(), "***");
        }
        return out;
    }
    let mut out = match userinfo(dsn) {
        Some((scheme, info, rest)) => match info.split_once(':') {
            Some((user, _)) => format!("{scheme}{user}:***{rest}"),
            None => dsn.to_string(),
        },
        None => dsn.to_string(),
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
mod tests;
