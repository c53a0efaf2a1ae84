//! Durations as operators write them: integer seconds (`3600`, `3_600` in TOML) or a
//! sequence of `<integer><unit>` parts with units `ms`, `s`, `m`, `h`, `d` (`90s`, `1h30m`,
//! `7d`, `250ms` — milliseconds for `--pause` and `--interval`).
//!
//! Hand-written because the accepted language is deliberately tiny: no fractions, no signs, no
//! exponents, and an upper bound so that a typo like `1e9d` can never turn into an interval
//! PostgreSQL overflows on.

use std::time::Duration;

/// The longest duration accepted anywhere: 100 years.
pub const MAX_SECS: u64 = 100 * 365 * 86_400;

/// The form every duration error names.
pub const EXPECTED: &str = "seconds (3600) or a duration like 90s, 15m, 1h, 7d, 1h30m, 250ms";

/// Parses a duration written on the command line or in an environment variable.
pub fn parse(input: &str) -> Result<Duration, String> {
    let text = input.trim();
    if text.is_empty() {
        return Err(format!("empty duration; expected {EXPECTED}"));
    }
    let bad = || format!("invalid duration '{input}'; expected {EXPECTED}");
    let mut total_ms: u64 = 0;
    let mut digits = String::new();
    let mut saw_unit_part = false;
    let mut chars = text.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '0'..='9' => digits.push(ch),
            '_' if !digits.is_empty() => {}
            's' | 'm' | 'h' | 'd' => {
                if digits.is_empty() {
                    return Err(bad());
                }
                let unit_ms: u64 = match ch {
                    'm' if chars.peek() == Some(&'s') => {
                        chars.next();
                        1
                    }
                    's' => 1_000,
                    'm' => 60_000,
                    'h' => 3_600_000,
                    _ => 86_400_000,
                };
                let n: u64 = digits.parse().map_err(|_| too_long())?;
                total_ms = n
                    .checked_mul(unit_ms)
                    .and_then(|ms| total_ms.checked_add(ms))
                    .ok_or_else(too_long)?;
                digits.clear();
                saw_unit_part = true;
            }
            _ => return Err(bad()),
        }
    }
    if !digits.is_empty() {
        if saw_unit_part {
            // "1h30" is ambiguous: minutes or seconds? Refuse rather than guess.
            return Err(bad());
        }
        let secs: u64 = digits.parse().map_err(|_| too_long())?;
        total_ms = secs.checked_mul(1_000).ok_or_else(too_long)?;
    }
    if total_ms > MAX_SECS * 1_000 {
        return Err(too_long());
    }
    Ok(Duration::from_millis(total_ms))
}

fn too_long() -> String {
    format!("duration too long; the maximum is {MAX_SECS} seconds (100 years)")
}

/// Formats a duration compactly for people: `1d`, `1h30m`, `45s`, `250ms`, `0s`.
pub fn human(duration: Duration) -> String {
    let mut secs = duration.as_secs();
    let millis = duration.subsec_millis();
    if secs == 0 && millis == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    if millis > 0 {
        out.push_str(&format!("{millis}ms"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(text: &str) -> u64 {
        parse(text).map(|d| d.as_secs()).unwrap_or(u64::MAX)
    }

    #[test]
    fn accepts_seconds_and_units() {
        assert_eq!(secs("3600"), 3600);
        assert_eq!(secs("3_600"), 3600);
        assert_eq!(secs("90s"), 90);
        assert_eq!(secs("15m"), 900);
        assert_eq!(secs("1h"), 3600);
        assert_eq!(secs("7d"), 604_800);
        assert_eq!(secs("1h30m"), 5400);
        assert_eq!(secs("1d2h3m4s"), 93_784);
        assert_eq!(secs("0"), 0);
        assert_eq!(secs(" 5m "), 300);
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse("1m5ms"), Ok(Duration::from_millis(60_005)));
        assert_eq!(parse("1s500ms"), Ok(Duration::from_millis(1_500)));
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "", "-1s", "1e9d", "1.5h", "h", "1w", "1h30", "abc", "1 h", "+5s", "_1", "5mss", "ms",
            "5sm", "0.5s",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn rejects_overflow() {
        assert!(parse("36501d").is_err());
        assert!(parse("99999999999999999999999").is_err());
        assert!(parse("18446744073709551615d").is_err());
        assert_eq!(secs("36500d"), MAX_SECS);
    }

    #[test]
    fn human_round_trips() {
        for text in ["0s", "45s", "1h30m", "7d", "1d2h3m4s", "250ms", "1m5s20ms"] {
            let d = parse(text).expect("valid");
            assert_eq!(human(d), text);
        }
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the input, parsing returns a value or an error; it never panics, and what
        /// it accepts is bounded.
        #[test]
        fn never_panics(text in ".{0,40}") {
            if let Ok(d) = parse(&text) {
                prop_assert!(d.as_secs() <= MAX_SECS);
            }
        }

        /// Every duration formats and parses back to itself.
        #[test]
        fn human_round_trips(secs in 0u64..=MAX_SECS, millis in 0u64..1000) {
            let d = Duration::from_secs(secs);
            prop_assert_eq!(parse(&human(d)), Ok(d));
            prop_assert_eq!(parse(&secs.to_string()), Ok(d));
            if secs < MAX_SECS {
                let d = Duration::from_millis(secs * 1_000 + millis);
                prop_assert_eq!(parse(&human(d)), Ok(d));
            }
        }

        /// Unit sequences add up.
        #[test]
        fn parts_add_up(d in 0u64..1000, h in 0u64..1000, m in 0u64..1000, s in 0u64..1000) {
            let text = format!("{d}d{h}h{m}m{s}s");
            prop_assert_eq!(parse(&text).map(|x| x.as_secs()), Ok(d * 86_400 + h * 3_600 + m * 60 + s));
        }
    }
}
