//! Value parsers for flags: durations, counts, job ids, sizes of WAL. A bad value is a clap error naming the
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
/// A count, or `all` (every match: `u64::MAX`).
pub fn count_or_all(text: &str) -> Result<u64, String> {
    if text.eq_ignore_ascii_case("all") {
        return Ok(u64::MAX);
    }
    positive_count(text).map_err(|e| format!("{e}, or all"))
}

/// `--parallel`: how many targets at once, 1 to 64.
pub fn parallel(text: &str) -> Result<usize, String> {
    match positive_count(text) {
        Ok(n) if n <= 64 => Ok(n as usize),
        _ => Err(format!("expected a whole number from 1 to 64, got {text}")),
    }
}

/// A count of at least 1.
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

/// A size of WAL (`16MB`, `1GB`, `512kB`; units of 1024 as in PostgreSQL's settings), at
/// least one byte. A bare number is refused: it would read as seconds elsewhere.
pub fn size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let bad = || format!("expected a size such as 16MB, 512kB or 1GB, got '{text}'");
    if !t.to_ascii_lowercase().ends_with('b') {
        return Err(bad());
    }
    let n = parse_size::Config::new()
        .with_binary()
        .parse_size(t)
        .map_err(|_| bad())?;
    if n == 0 {
        return Err("must be more than 0 bytes".into());
    }
    Ok(n)
}

/// A WAL rate: a size per second, `8MB/s` (the `/s` may be left out).
pub fn wal_rate(text: &str) -> Result<u64, String> {
    let t = text.trim();
    size(t.strip_suffix("/s").unwrap_or(t))
        .map_err(|_| format!("expected a rate such as 8MB/s, got '{text}'"))
}

/// How far a standby may fall behind: WAL not yet replayed, or a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaLag {
    /// Bytes of WAL written on the primary and not yet replayed on the standby.
    Bytes(u64),
    /// Time behind; see `prune`'s throttle for how it is judged.
    Time(Duration),
}

/// Parses `--max-replica-lag`: a size (`16MB`) or a duration (`30s`).
pub fn replica_lag(text: &str) -> Result<ReplicaLag, String> {
    if text.trim().to_ascii_lowercase().ends_with('b') {
        return size(text).map(ReplicaLag::Bytes);
    }
    match positive_duration(text) {
        Ok(d) if text.trim().chars().all(|c| c.is_ascii_digit() || c == '_') => Err(format!(
            "say what '{text}' counts: a size of WAL such as 16MB, or a time such as {}s",
            d.as_secs()
        )),
        Ok(d) => Ok(ReplicaLag::Time(d)),
        Err(_) => Err(format!(
            "expected a size of WAL such as 16MB or a time such as 30s, got '{text}'"
        )),
    }
}

/// A size that may be zero (`0`, `512kB`, `8MB`): thresholds where 0 means "any".
pub fn size_or_zero(text: &str) -> Result<u64, String> {
    if text.trim() == "0" {
        return Ok(0);
    }
    size(text).map_err(|_| format!("expected 0 or a size such as 512kB, 8MB or 1GB, got '{text}'"))
}

/// Parses a percentage from 1 to 100.
pub fn percent(text: &str) -> Result<u8, String> {
    match text.trim().trim_end_matches('%').parse::<u8>() {
        Ok(n) if (1..=100).contains(&n) => Ok(n),
        _ => Err(format!("expected a percentage from 1 to 100, got '{text}'")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_rates_and_lags() {
        assert_eq!(size("16MB"), Ok(16 << 20));
        assert_eq!(size("512kB"), Ok(512 << 10));
        assert_eq!(size("1GB"), Ok(1 << 30));
        assert!(size("16").is_err());
        assert!(size("0MB").is_err());
        assert!(size("lots of B").is_err());
        assert_eq!(wal_rate("8MB/s"), Ok(8 << 20));
        assert_eq!(wal_rate("8MB"), Ok(8 << 20));
        assert!(wal_rate("8MB/h").is_err());
        assert_eq!(replica_lag("16MB"), Ok(ReplicaLag::Bytes(16 << 20)));
        assert_eq!(
            replica_lag("30s"),
            Ok(ReplicaLag::Time(Duration::from_secs(30)))
        );
        assert!(replica_lag("30").is_err());
        assert!(replica_lag("0s").is_err());
    }

    #[test]
    fn bloat_sizes_and_percentages() {
        assert_eq!(size_or_zero("0"), Ok(0));
        assert_eq!(size_or_zero("8MB"), Ok(8 << 20));
        assert!(size_or_zero("8 parsecs").is_err());
        assert_eq!(percent("50%"), Ok(50));
        assert!(percent("0").is_err());
        assert!(percent("101").is_err());
    }

    #[test]
    fn counts_are_bounded() {
        assert!(positive_count("0").is_err());
        assert!(positive_count("-1").is_err());
        assert!(positive_count("100000001").is_err());
        assert_eq!(positive_count("20_000"), Ok(20_000));
    }
}
