//! libpq's own reading of a PostgreSQL connection string, before any connection: a string it
//! cannot parse, a parameter it does not know, a port that is not a number or an `sslmode` it
//! does not know is a configuration error (exit 2), not a failure to connect (exit 1).
//!
//! The only unsafe code of the tool: two calls into the libpq linked into the binary, whose
//! results are copied out and freed here.

use std::ffi::{c_char, CStr, CString};

/// The `sslmode` values libpq accepts.
const SSLMODES: [&str; 6] = [
    "disable",
    "allow",
    "prefer",
    "require",
    "verify-ca",
    "verify-full",
];

/// The parameters of `conninfo` that libpq reads (keyword and value), or libpq's complaint.
fn parse(conninfo: &str) -> Result<Vec<(String, Option<String>)>, String> {
    let text = CString::new(conninfo).map_err(|_| "it holds a NUL character".to_string())?;
    let mut error: *mut c_char = std::ptr::null_mut();
    // SAFETY: `text` is a valid C string that outlives the call; libpq returns either an
    // options array (freed below with PQconninfoFree) or NULL with `error` set (freed with
    // PQfreemem, or NULL when it ran out of memory).
    let options = unsafe { pq_sys::PQconninfoParse(text.as_ptr(), &mut error) };
    if options.is_null() {
        if error.is_null() {
            return Err("libpq ran out of memory reading it".into());
        }
        // SAFETY: a NUL-terminated message that libpq allocated; copied, then freed once.
        let message = unsafe { CStr::from_ptr(error) }
            .to_string_lossy()
            .into_owned();
        unsafe { pq_sys::PQfreemem(error.cast()) };
        return Err(message.trim().to_string());
    }
    let text_of = |p: *mut c_char| {
        // SAFETY: NULL or a NUL-terminated string inside the options array, which is alive.
        (!p.is_null()).then(|| unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned())
    };
    let mut out = Vec::new();
    let mut at = options;
    // SAFETY: the array ends with an entry whose keyword is NULL; it is read up to there and
    // freed once, after the last read.
    unsafe {
        while !(*at).keyword.is_null() {
            out.push((
                text_of((*at).keyword).unwrap_or_default(),
                text_of((*at).val),
            ));
            at = at.add(1);
        }
        pq_sys::PQconninfoFree(options);
    }
    Ok(out)
}

/// Checks a PostgreSQL DSN as libpq will read it. The message never repeats the DSN or any
/// part of it: it may hold a password.
pub fn check(conninfo: &str) -> Result<(), String> {
    let options = parse(conninfo)
        .map_err(|message| format!("libpq cannot read it ({})", before_any_quote(&message)))?;
    let value = |key: &str| {
        options
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.as_deref())
    };
    if let Some(port) = value("port") {
        // libpq reads each with strtol, which allows white space around the number.
        let ok = port
            .split(',')
            .all(|p| p.is_empty() || p.trim().parse::<u16>().is_ok_and(|n| n > 0));
        if !ok {
            return Err("its port is not a number from 1 to 65535".into());
        }
    }
    if let Some(mode) = value("sslmode") {
        if !SSLMODES.contains(&mode) {
            return Err(format!("its sslmode is none of {}", SSLMODES.join(", ")));
        }
    }
    Ok(())
}

/// The start of libpq's message, before the first quote: its own fixed words ("invalid URI
/// query parameter", "missing"). What it quotes after them can be any part of the DSN, the
/// password included, and a quote inside the DSN would confuse any attempt to tell the parts
/// apart, so none of it is kept.
fn before_any_quote(message: &str) -> String {
    let head = message.split('"').next().unwrap_or_default();
    let head = head.trim().trim_end_matches(':').trim();
    if head.is_empty() {
        "no detail is shown: it would quote the DSN".into()
    } else {
        head.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_libpq_reads_passes_and_what_it_cannot_is_said_without_the_dsn() {
        for good in [
            "postgres://u:pw@127.0.0.1:5432/db?sslmode=require&application_name=x",
            "postgres://u@h1:5432,h2:5433/db",
            "host=127.0.0.1 port=5432 dbname=db user=u password=pw",
            "host=h port='5432 ' dbname=db",
            "postgres://h/db?port=%205432",
        ] {
            assert_eq!(check(good), Ok(()), "{good}");
        }
        for (bad, says) in [
            ("postgres://u:s3cret@127.0.0.1:notaport/db", "port"),
            ("postgres://u:s3cret@127.0.0.1/db?sslmode=bogus", "sslmode"),
            (
                "postgres://u:s3cret@127.0.0.1/db?bogusparam=1",
                "libpq cannot read it",
            ),
            ("postgres://u:s3cret@[::1/db", "libpq cannot read it"),
            ("host=h password=s3cret bogus=1", "libpq cannot read it"),
            ("host=h port=99999 password=s3cret", "port"),
            ("host=h port=' ' password=s3cret", "port"),
            // Quotes inside the DSN, where libpq's messages quote parts of it.
            ("postgres://u:s3cret@[::1]\"x/db", "libpq cannot read it"),
            ("postgres://app:50%\"s3cret@db/x", "libpq cannot read it"),
            ("postgres://u:pa\"s3cret@[::1/db", "libpq cannot read it"),
        ] {
            let message = check(bad).expect_err(bad);
            assert!(message.contains(says), "{bad}: {message}");
            assert!(!message.contains("s3cret"), "{bad}: {message}");
        }
    }
}
