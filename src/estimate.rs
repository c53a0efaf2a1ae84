//! The estimation maths of `oban stats`, with no SQL: estimates from Bernoulli samples, their
//! 95% intervals, the ±25% rule that decides whether an estimate may be shown, and how much
//! more to sample when it may not.
//!
//! Every sample `stats` takes includes each unit (a heap page, a job, or the group of jobs that
//! share one timestamp) independently with a known probability `pi`. A figure is a sum of a
//! value `y` over units, estimated by Horvitz–Thompson: `Σ y / pi` over the sampled units, with
//! the unbiased variance estimate `(1 - pi) / pi² · Σ y²`, which accounts for clustering (many
//! matching jobs on one page or at one timestamp) because it squares each unit's total.
//!
//! The interval is the gamma interval of Fay and Feuer (1997) for weighted sums of counts: a
//! gamma distribution with the estimate's mean and variance gives the lower limit; the upper
//! limit adds one more job of weight `1 / pi`. With every weight 1 it is the exact (Garwood)
//! Poisson interval, it never falls below the nominal coverage in their study, and it stays
//! meaningful with no hit at all (an estimate of 0 with an upper limit, then one more unit of
//! the largest size seen, so that clustered jobs cannot hide below it).

use serde::Serialize;

/// Two-sided confidence every range is reported at.
pub const CONFIDENCE: f64 = 0.95;
/// The level the limits are computed at: wider than [`CONFIDENCE`], so that a range still
/// holds the truth at least 95% of the time when the normal or gamma approximation is a
/// little optimistic (pages of very different sizes), and when `stats` shows an estimate only
/// after it passed the ±25% rule, possibly at its second or third look (stopping when a sample
/// looks good favours samples that look better than they are).
pub const LIMITS_AT: f64 = 0.99;
/// An estimate is shown only when, at [`CONFIDENCE`], it is within this share of the truth.
pub const TOLERANCE: f64 = 0.25;

/// An estimate with its interval, or an exact figure (`low == high == value`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// The point estimate.
    pub value: f64,
    /// The reported lower limit (at [`LIMITS_AT`], so at least [`CONFIDENCE`]).
    pub low: f64,
    /// The reported upper limit.
    pub high: f64,
    /// The lower limit at [`CONFIDENCE`], which the ±25% rule is judged on.
    #[serde(skip)]
    pub rule_low: f64,
    /// The upper limit at [`CONFIDENCE`].
    #[serde(skip)]
    pub rule_high: f64,
}

impl Interval {
    /// An exact figure.
    pub fn exact(value: f64) -> Interval {
        Interval {
            value,
            low: value,
            high: value,
            rule_low: value,
            rule_high: value,
        }
    }

    /// Whether this is an exact figure rather than an estimate.
    pub fn is_exact(&self) -> bool {
        self.low == self.value && self.high == self.value
    }

    /// The ±25% rule: the estimate is within [`TOLERANCE`] of the truth at [`CONFIDENCE`],
    /// i.e. for every `t` in the 95% interval, `|value - t| <= TOLERANCE * t`. That holds when
    /// `rule_low >= value / (1 + TOLERANCE)` and `rule_high <= value / (1 - TOLERANCE)`.
    /// An exact figure always passes; an estimate of 0 never does.
    pub fn within_tolerance(&self) -> bool {
        if self.is_exact() {
            return true;
        }
        self.value > 0.0
            && self.rule_low >= self.value / (1.0 + TOLERANCE)
            && self.rule_high <= self.value / (1.0 - TOLERANCE)
    }

    /// Half the interval's width relative to the estimate, for display (`~120±30`).
    pub fn plus_minus(&self) -> f64 {
        (self.high - self.low) / 2.0
    }
}

/// A figure as `stats` reports it: exact, an estimate that passed the ±25% rule, or unknown.
#[derive(Debug, Clone, PartialEq)]
pub enum Figure {
    /// Counted or read in full.
    Exact(f64),
    /// Estimated, within [`TOLERANCE`] at [`CONFIDENCE`].
    Estimate(Interval),
    /// Not known: no estimate passed the rule, and an exact read did not fit the time budget.
    /// The interval, when there is one, is what the sample could say.
    Unknown {
        /// What the last sample said, if anything.
        interval: Option<Interval>,
        /// Why, in words.
        reason: String,
    },
}

impl Figure {
    /// An interval shown if it passes the rule, else unknown with `reason`.
    pub fn judge(iv: Interval, reason: impl FnOnce() -> String) -> Figure {
        if iv.is_exact() {
            Figure::Exact(iv.value)
        } else if iv.within_tolerance() {
            Figure::Estimate(iv)
        } else {
            Figure::Unknown {
                interval: Some(iv),
                reason: reason(),
            }
        }
    }

    /// The number to show, if any.
    pub fn value(&self) -> Option<f64> {
        match self {
            Figure::Exact(v) => Some(*v),
            Figure::Estimate(iv) => Some(iv.value),
            Figure::Unknown { .. } => None,
        }
    }

    /// Whether the figure is a shown estimate.
    pub fn is_estimate(&self) -> bool {
        matches!(self, Figure::Estimate(_))
    }

    /// Whether the figure is exact.
    pub fn is_exact(&self) -> bool {
        matches!(self, Figure::Exact(_))
    }

    /// The 95% range of an estimate (or of an unknown figure's last sample).
    pub fn interval(&self) -> Option<Interval> {
        match self {
            Figure::Exact(_) => None,
            Figure::Estimate(iv) => Some(*iv),
            Figure::Unknown { interval, .. } => *interval,
        }
    }
}

/// Adds figures that were estimated from one sample or from independent ones, or counted: the
/// sum of the estimates, with limits that add up (conservative whatever the correlation).
/// Unknown when any part is.
pub fn sum(parts: &[Figure]) -> Figure {
    let (mut value, mut low, mut high, mut exact) = (0.0, 0.0, 0.0, true);
    let (mut rule_low, mut rule_high) = (0.0, 0.0);
    for f in parts {
        match f {
            Figure::Exact(v) => {
                value += v;
                low += v;
                high += v;
                rule_low += v;
                rule_high += v;
            }
            Figure::Estimate(iv) => {
                exact = false;
                value += iv.value;
                low += iv.low;
                high += iv.high;
                rule_low += iv.rule_low;
                rule_high += iv.rule_high;
            }
            Figure::Unknown { interval, .. } => {
                return Figure::Unknown {
                    interval: None,
                    reason: format!(
                        "a part is unknown{}",
                        interval.map_or(String::new(), |_| " (see its range)".into())
                    ),
                }
            }
        }
    }
    if exact {
        Figure::Exact(value)
    } else {
        Figure::Estimate(Interval {
            value,
            low,
            high,
            rule_low,
            rule_high,
        })
    }
}

/// What a Bernoulli sample saw of one figure: the sums over sampled units of its value.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Tally {
    /// Σ y.
    pub sum: f64,
    /// Σ y².
    pub sum_sq: f64,
    /// The largest y.
    pub max: f64,
    /// Units sampled (with y = 0 too).
    pub units: f64,
}

impl Tally {
    /// Adds one sampled unit's value.
    pub fn add(&mut self, y: f64) {
        self.sum += y;
        self.sum_sq += y * y;
        self.max = self.max.max(y);
        self.units += 1.0;
    }

    /// Adds another tally (a disjoint set of units of the same sample).
    pub fn merge(&mut self, other: &Tally) {
        self.sum += other.sum;
        self.sum_sq += other.sum_sq;
        self.max = self.max.max(other.max);
        self.units += other.units;
    }
}

/// The Horvitz–Thompson estimate of a total from units sampled with probability `pi`, and its
/// interval (limits at [`LIMITS_AT`]). `unit` is the largest value one unsampled unit could
/// plausibly hold (a full page, the largest tie seen), added once to the upper limit.
/// `pi >= 1` means every unit was read: the figure is exact.
pub fn horvitz_thompson(t: &Tally, pi: f64, unit: f64) -> Interval {
    if pi >= 1.0 {
        return Interval::exact(t.sum);
    }
    let value = t.sum / pi;
    let variance = (1.0 - pi) / (pi * pi) * t.sum_sq;
    // Fay and Feuer add one more event of the largest weight to the upper limit. Here that
    // is one more unit of the largest size (a full page, a statement's timestamp), seen or
    // not: the units a sample missed may be the crowded ones, and a sample that saw only
    // sparse units has a small spread that would otherwise hide them.
    let weight = unit.max(1.0) / pi;
    let (low, high) = gamma_interval(value, variance, weight, LIMITS_AT);
    let (rule_low, rule_high) = gamma_interval(value, variance, weight, CONFIDENCE);
    Interval {
        value,
        low,
        high,
        rule_low,
        rule_high,
    }
}

/// The estimate of `population × share` from a simple random sample of `n` of the population's
/// `population` units, `hits` of which have the property: the Clopper–Pearson interval for the
/// share (exact for a binomial count, and conservative for sampling without replacement),
/// scaled by the population. With every unit read it is exact.
pub fn proportion(hits: f64, n: f64, population: f64) -> Interval {
    if n >= population {
        return Interval::exact(hits);
    }
    if n <= 0.0 {
        return Interval {
            value: 0.0,
            low: 0.0,
            high: population,
            rule_low: 0.0,
            rule_high: population,
        };
    }
    let limits = |level: f64| {
        let alpha = 1.0 - level;
        let low = if hits <= 0.0 {
            0.0
        } else {
            beta_quantile(alpha / 2.0, hits, n - hits + 1.0)
        };
        let high = if hits >= n {
            1.0
        } else {
            beta_quantile(1.0 - alpha / 2.0, hits + 1.0, n - hits)
        };
        (population * low, population * high)
    };
    let ((low, high), (rule_low, rule_high)) = (limits(LIMITS_AT), limits(CONFIDENCE));
    Interval {
        value: population * hits / n,
        low,
        high,
        rule_low,
        rule_high,
    }
}

/// Fay and Feuer's gamma interval for a weighted sum `value` with variance `variance`, the
/// largest weight being `weight`.
pub fn gamma_interval(value: f64, variance: f64, weight: f64, confidence: f64) -> (f64, f64) {
    let alpha = 1.0 - confidence;
    let low = if value <= 0.0 || variance <= 0.0 {
        value.max(0.0)
    } else {
        let shape = value * value / variance;
        gamma_quantile(alpha / 2.0, shape) * variance / value
    };
    let (v, w) = (value.max(0.0) + weight, variance.max(0.0) + weight * weight);
    let high = gamma_quantile(1.0 - alpha / 2.0, v * v / w) * w / v;
    (low, high.max(value))
}

/// Hits worth of information in an estimate: `value² / variance` from its interval's spread.
/// An interval that never passes the rule (nothing seen) has none.
fn effective_hits(iv: &Interval) -> f64 {
    if iv.value <= 0.0 {
        return 0.0;
    }
    // The lower limit is the binding one; for a gamma interval it sits about 1.96 standard
    // errors below the estimate, which recovers the standard error.
    let se = (iv.value - iv.rule_low) / 1.96;
    if se <= 0.0 {
        f64::INFINITY
    } else {
        (iv.value / se).powi(2)
    }
}

/// Effective hits an estimate needs to pass the ±25% rule, with room for the sampling noise
/// of the next step (the rule itself needs about 90 for a Poisson count).
pub const HITS_NEEDED: f64 = 120.0;

/// The sampling probability that should bring an estimate taken at `pi` within the rule:
/// information grows in proportion to the share sampled. None when sampling cannot say how much
/// (nothing was seen: only reading every unit can tell 0 from a few).
pub fn rate_needed(iv: &Interval, pi: f64) -> Option<f64> {
    let hits = effective_hits(iv);
    if hits <= 0.0 {
        return None;
    }
    Some((pi * HITS_NEEDED / hits).clamp(pi, 1.0))
}

/// What to do about a figure that failed the rule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Next {
    /// Sample again at this probability.
    Sample(f64),
    /// Read every unit.
    Exact,
}

/// A sampled unit costs about this many times a unit read in order by an exact count (a probe
/// by key or a random page against a sequential sweep).
pub const PROBE_COST: f64 = 4.0;

/// How to resolve failing figures sampled at `pi` from `units` units, whose exact read costs
/// `exact_units` (in units read in order): sample at the highest rate any of them needs, unless
/// a figure cannot be resolved by sampling or reading that much would cost more than the exact
/// read.
pub fn next_step(failing: &[Interval], pi: f64, units: f64, exact_units: f64) -> Next {
    let mut rate = pi;
    for iv in failing {
        match rate_needed(iv, pi) {
            Some(r) => rate = rate.max(r),
            None => return Next::Exact,
        }
    }
    // Grow at least fourfold, so a figure near the limit does not take many small steps.
    let rate = rate.max(pi * 4.0).min(1.0);
    if rate >= 1.0 || rate * units * PROBE_COST >= exact_units {
        Next::Exact
    } else {
        Next::Sample(rate)
    }
}

/// The sampling probability that yields about `wanted` units out of `units`, capped at 1.
pub fn rate_for(wanted: f64, units: f64) -> f64 {
    if units <= 0.0 {
        1.0
    } else {
        (wanted / units).clamp(0.0, 1.0)
    }
}

mod special;

pub use special::{
    beta_quantile, beta_regularized, gamma_quantile, lower_regularized, normal_quantile,
};

#[cfg(test)]
mod tests;
