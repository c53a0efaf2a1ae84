//! Tests of the estimators: special functions, intervals, the ±25% rule and simulated coverage.

use super::special::wilson_hilferty;
use super::*;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1e-12)
}

#[test]
fn incomplete_gamma_and_quantiles_match_known_values() {
    for x in [0.1, 1.0, 3.0, 10.0] {
        assert!(close(lower_regularized(1.0, x), 1.0 - (-x).exp(), 1e-10));
    }
    assert!(close(normal_quantile(0.975), 1.959_963_985, 1e-8));
    assert!(close(normal_quantile(0.025), -1.959_963_985, 1e-8));
    // Gamma quantiles are half the chi-square quantiles with twice the shape.
    assert!(close(gamma_quantile(0.975, 1.0), 3.688_879_454, 1e-8));
    assert!(close(gamma_quantile(0.025, 10.0), 4.795_389_9, 1e-6));
    assert!(close(gamma_quantile(0.975, 11.0), 18.390_356, 1e-6));
    // Large shapes take the Wilson–Hilferty branch: at the switch it agrees with the series.
    let series = gamma_quantile(0.025, 399.0);
    assert!(close(series, wilson_hilferty(0.025, 399.0), 1e-4));
    assert!(
        close(gamma_quantile(0.5, 0.3), 0.1, 2.0),
        "small shapes work"
    );
}

#[test]
fn unit_weights_give_the_exact_poisson_interval() {
    // Garwood's interval for 0 and 10 events.
    let (low, high) = gamma_interval(0.0, 0.0, 1.0, 0.95);
    assert_eq!(low, 0.0);
    assert!(close(high, 3.688_879, 1e-5));
    let (low, high) = gamma_interval(10.0, 10.0, 1.0, 0.95);
    assert!(close(low, 4.795_390, 1e-5), "{low}");
    assert!(close(high, 18.390_356, 1e-5), "{high}");
}

#[test]
fn horvitz_thompson_scales_by_the_sampling_probability() {
    let mut t = Tally::default();
    for _ in 0..200 {
        t.add(1.0);
    }
    let iv = horvitz_thompson(&t, 0.1, 1.0);
    assert!(close(iv.value, 2000.0, 1e-12));
    assert!(iv.low < 2000.0 && iv.high > 2000.0);
    assert!(iv.within_tolerance(), "{iv:?}");
    // Reading everything is exact.
    let iv = horvitz_thompson(&t, 1.0, 1.0);
    assert!(iv.is_exact() && iv.value == 200.0);
    // Nothing seen: 0, with an upper limit of about 3.7 units, never within the rule.
    let iv = horvitz_thompson(&Tally::default(), 0.01, 1.0);
    assert_eq!((iv.value, iv.low), (0.0, 0.0));
    // -ln(0.005) units of 100 jobs: the upper 99.5% point of a Poisson count of 0.
    assert!(close(iv.high, 529.83, 1e-3), "{iv:?}");
    assert!(!iv.within_tolerance());
}

#[test]
fn the_rule_needs_about_ninety_hits() {
    let poisson = |hits: f64| {
        let mut t = Tally::default();
        for _ in 0..hits as usize {
            t.add(1.0);
        }
        horvitz_thompson(&t, 0.001, 1.0)
    };
    assert!(!poisson(60.0).within_tolerance());
    assert!(!poisson(80.0).within_tolerance());
    assert!(poisson(95.0).within_tolerance());
    assert!(poisson(400.0).within_tolerance());
    // Clustered hits carry less information than as many independent ones.
    let mut t = Tally::default();
    for _ in 0..10 {
        t.add(20.0);
    }
    assert!(!horvitz_thompson(&t, 0.001, 1.0).within_tolerance());
    assert!(Interval::exact(0.0).within_tolerance());
}

#[test]
fn next_steps_sample_more_or_count() {
    let iv = |hits: usize, pi: f64| {
        let mut t = Tally::default();
        (0..hits).for_each(|_| t.add(1.0));
        horvitz_thompson(&t, pi, 1.0)
    };
    // 30 hits at 1%: about four times more is needed.
    match next_step(&[iv(30, 0.01)], 0.01, 100_000.0, 1e9) {
        Next::Sample(r) => assert!((0.04..0.06).contains(&r), "{r}"),
        other => panic!("{other:?}"),
    }
    // Nothing seen: only an exact read tells.
    assert_eq!(next_step(&[iv(0, 0.01)], 0.01, 100_000.0, 1e9), Next::Exact);
    // Sampling half the units costs more than reading all of them in order.
    assert_eq!(
        next_step(&[iv(1, 0.01)], 0.01, 100_000.0, 100_000.0),
        Next::Exact
    );
    assert_eq!(rate_for(50.0, 100.0), 0.5);
    assert_eq!(rate_for(500.0, 100.0), 1.0);
}

/// Coverage of the interval over many samples of fixed populations: plain, clustered and
/// rare, unconditionally and among the estimates the rule lets through.
#[test]
fn intervals_cover_the_truth_at_least_95_percent_of_the_time() {
    // Units with values: many zeros, some ones, a few big clusters (ties on one page or at
    // one timestamp).
    let populations: Vec<(&str, Vec<f64>, f64)> = vec![
        (
            "plain",
            (0..20_000).map(|i| f64::from(i % 10 == 0)).collect(),
            0.05,
        ),
        (
            "clustered",
            (0..20_000)
                .map(|i| match i % 100 {
                    0 => 25.0,
                    1..=5 => 1.0,
                    _ => 0.0,
                })
                .collect(),
            0.1,
        ),
        (
            "rare",
            (0..50_000).map(|i| f64::from(i % 400 == 0)).collect(),
            0.2,
        ),
        // Mostly one job a page, and a third of the jobs crowded on 18 full pages: a sample
        // that misses all of them (one in eleven) sees a small, even spread.
        (
            "sparse with a few crowded pages",
            (0..20_000)
                .map(|i| match i {
                    0..=17 => 50.0,
                    _ if i % 7 == 0 => 1.0,
                    _ => 0.0,
                })
                .collect(),
            0.125,
        ),
    ];
    for (name, units, pi) in populations {
        let truth: f64 = units.iter().sum();
        let largest = units.iter().copied().fold(1.0, f64::max);
        let (mut covered, mut shown, mut shown_covered) = (0, 0, 0);
        let runs = 2_000;
        for seed in 0..runs {
            let mut rng = fastrand::Rng::with_seed(seed);
            let mut t = Tally::default();
            for y in &units {
                if rng.f64() < pi {
                    t.add(*y);
                }
            }
            // The largest unit a page could be, as the page sample passes it.
            let iv = horvitz_thompson(&t, pi, largest);
            let inside = iv.low <= truth && truth <= iv.high;
            covered += usize::from(inside);
            if iv.within_tolerance() {
                shown += 1;
                shown_covered += usize::from(inside);
            }
        }
        let rate = covered as f64 / runs as f64;
        assert!(rate >= 0.95, "{name}: coverage {rate}");
        if shown > 100 {
            let rate = shown_covered as f64 / shown as f64;
            assert!(rate >= 0.95, "{name}: coverage among shown {rate}");
        }
    }
}

#[test]
fn proportions_use_the_clopper_pearson_interval() {
    // Reported limits at 99%: 0 of 10 gives 1 - 0.005^(1/10) = 0.411, 10 of 10 gives 0.589;
    // the rule's at 95%: 0.3085 and 0.6915.
    let iv = proportion(0.0, 10.0, 1000.0);
    assert_eq!((iv.value, iv.low), (0.0, 0.0));
    assert!(
        close(iv.high, 411.3, 1e-3) && close(iv.rule_high, 308.5, 1e-3),
        "{iv:?}"
    );
    let iv = proportion(10.0, 10.0, 1000.0);
    assert!(close(iv.low, 588.7, 1e-3) && iv.high == 1000.0, "{iv:?}");
    assert!(close(iv.rule_low, 691.5, 1e-3), "{iv:?}");
    // Clopper–Pearson's 95% limits for 5 of 20: [0.0866, 0.4910].
    let iv = proportion(5.0, 20.0, 100.0);
    assert!(
        close(iv.rule_low, 8.657, 1e-3) && close(iv.rule_high, 49.10, 1e-3),
        "{iv:?}"
    );
    // A window every job is in needs few probes; a rare one many.
    assert!(proportion(25.0, 25.0, 30_000.0).within_tolerance());
    assert!(!proportion(1.0, 200.0, 30_000.0).within_tolerance());
    assert!(proportion(7.0, 7.0, 7.0).is_exact());
}
