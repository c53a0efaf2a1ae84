//! Value parsers for flags: durations, counts, job ids. A bad value is a clap error naming the
//! flag (exit code 2).

use std::time::Duration;

/// Parses a duration flag (zero allowed).
pub fn duration(text: &str) -> Result<Duration, String> {
    crate::duration::parse(text)
}

/// Parses a duration flag that must be longer than zero.
pub fn positive_duration(text: &str) -> Result<Duration, String> {
    let d = crate::duration::parse(text)?;
    if d.is_zero() {
        return Err("must be longer than 0s".into());
    }
    Ok(d)
}

/// The shortest `--interval`: a watch loop faster than this would only load the database.
pub const MIN_INTERVAL: Duration = Duration::from_millis(100);

/// Parses a watch interval: at least [`MIN_INTERVAL`].
pub fn interval(text: &str) -> Result<Duration, String> {
    let d = crate::duration::parse(text)?;
    if d < MIN_INTERVAL {
        return Err("must be at least 100ms".into());
    }
    Ok(d)
}

/// Parses a job id: a positive whole number.
pub fn job_id(text: &str) -> Result<i64, String> {
    match text.parse::<i64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "expected a job id (a positive whole number), got '{text}'"
        )),
    }
}

/// Parses a count that must be at least 1 (at most 100 million).
pub fn positive_count(text: &str) -> Result<u64, String> {
    let n: u64 = text
        .replace('_', "")
        .parse()
        .map_err(|_| format!("expected a whole number from 1 to 100000000, got '{text}'"))?;
    if !(1..=100_000_000).contains(&n) {
        return Err(format!(
            "expected a whole number from 1 to 100000000, got '{text}'"
        ));
    }
    Ok(n)
}

/// Parses a count that may be zero (at most 100 million).
pub fn count(text: &str) -> Result<u64, String> {
    if text.trim() == "0" {
        return Ok(0);
    }
    positive_count(text)
        .map_err(|_| format!("expected a whole number from 0 to 100000000, got '{text}'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_bounded() {
        assert!(positive_count("0").is_err());
        assert!(positive_count("-1").is_err());
        assert!(positive_count("100000001").is_err());
        assert_eq!(positive_count("20_000"), Ok(20_000));
    }
}
