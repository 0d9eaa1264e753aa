//! Statistical tests: the codes of the default 4-digit space are uniform across users,
//! for the first and second code of each user and for the last code of a cycle, and a
//! user's next code is independent of their previous one.
//!
//! Each test runs Pearson's chi-square over 100,000 codes and requires p > 0.001. The
//! p-value uses the Wilson–Hilferty approximation of the chi-square distribution, which
//! is accurate to a few parts in a thousand of the p-value for the degrees of freedom
//! used here (99 and 9,999). The secret and the salts are fixed, so every run sees the
//! same codes: a pass is not luck that a later run could lose.

use edge_otp::{Config, Engine, Issue, Policy, Record, Subject};

const USERS: usize = 100_000;
const SPACE: usize = 10_000;
const T0: u64 = 1_700_000_000_000;

fn engine() -> Engine {
    let mut c = Config::new(b"uniformity tests secret, 16+ bytes".to_vec());
    c.resend_cooldown_seconds = 0;
    c.issue_limit = None;
    c.failure_limit = None;
    Engine::new(Policy::new(c).unwrap())
}

fn salt(i: usize) -> [u8; 16] {
    let mut s = [0u8; 16];
    s[..8].copy_from_slice(&(i as u64).to_le_bytes());
    s[8..].copy_from_slice(
        &(!(i as u64))
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .to_le_bytes(),
    );
    s
}

fn user(i: usize) -> String {
    format!("user-{i}@example.com")
}

/// The code at position `index` of user `i`'s first cycle (as a number 0..10,000),
/// read from a stored record that points there.
fn code_at(engine: &Engine, i: usize, index: u64) -> usize {
    let hex: String = salt(i).iter().map(|b| format!("{b:02x}")).collect();
    let wire = format!("[1,\"{hex}\",{index},{T0},{},0,3,0,{T0},0,{T0},1]", T0 + 1);
    let record = Record::decode(&wire).unwrap();
    let name = user(i);
    let subject = Subject::new("login", &name).unwrap();
    let view = engine.latest(&subject, Some(&record), T0).unwrap().unwrap();
    view.code.as_str().parse().unwrap()
}

/// `(first, second)` code of user `i`, issued through `create`.
fn first_two(engine: &Engine, i: usize) -> (usize, usize) {
    let name = user(i);
    let subject = Subject::new("login", &name).unwrap();
    let step = engine.create(&subject, None, T0, salt(i)).unwrap();
    let Issue::Issued(first) = step.answer else {
        panic!("first issue refused")
    };
    let record = step.write.unwrap();
    let step = engine
        .create(&subject, Some(&record), T0 + 1, salt(0))
        .unwrap();
    let Issue::Issued(second) = step.answer else {
        panic!("second issue refused")
    };
    (
        first.code.as_str().parse().unwrap(),
        second.code.as_str().parse().unwrap(),
    )
}

/// Complementary error function (Numerical Recipes' `erfcc`, relative error < 1.2e-7).
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 {
        r
    } else {
        2.0 - r
    }
}

/// `P(X >= chi2)` for a chi-square variable with `dof` degrees of freedom
/// (Wilson–Hilferty: `(X/k)^(1/3)` is nearly normal).
fn p_value(chi2: f64, dof: usize) -> f64 {
    let k = dof as f64;
    let v = 2.0 / (9.0 * k);
    let z = ((chi2 / k).cbrt() - (1.0 - v)) / v.sqrt();
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// Pearson's statistic of `counts` against equal expected counts.
fn chi_square(counts: &[u64]) -> f64 {
    let n: u64 = counts.iter().sum();
    let expected = n as f64 / counts.len() as f64;
    counts
        .iter()
        .map(|&c| (c as f64 - expected).powi(2) / expected)
        .sum()
}

/// Bins `values` (each `< bins * width`) into `bins` bins, runs the test, prints the
/// statistic and answers the p-value.
fn uniformity(what: &str, values: &[usize], bins: usize, width: usize) -> f64 {
    let mut counts = vec![0u64; bins];
    for &v in values {
        counts[v / width] += 1;
    }
    let dof = bins - 1;
    let chi2 = chi_square(&counts);
    let p = p_value(chi2, dof);
    // The p = 0.001 quantile, by Wilson–Hilferty with z = 3.0902.
    let v = 2.0 / (9.0 * dof as f64);
    let critical = dof as f64 * (1.0 - v + 3.0902 * v.sqrt()).powi(3);
    println!(
        "{what}: n = {}, bins = {bins}, chi2 = {chi2:.1}, dof = {dof}, \
         critical value (p = 0.001) {critical:.1}, p = {p:.4}",
        values.len()
    );
    p
}

fn assert_uniform(what: &str, values: &[usize], bins: usize, width: usize) {
    let p = uniformity(what, values, bins, width);
    assert!(p > 0.001, "{what}: not uniform, p = {p}");
}

/// Runs `f(i)` for `0..USERS` on two threads (the test machine has two cores).
fn per_user<T: Send>(f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let half = USERS / 2;
    std::thread::scope(|s| {
        let f = &f;
        let upper = s.spawn(move || (half..USERS).map(f).collect::<Vec<T>>());
        let mut out: Vec<T> = (0..half).map(f).collect();
        out.extend(upper.join().unwrap());
        out
    })
}

#[test]
fn the_statistic_passes_a_uniform_source_and_rejects_modulo_bias() {
    // splitmix64: a good generator, so a uniform reference.
    let mut state = 42u64;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let fair: Vec<usize> = (0..USERS)
        .map(|_| (next() % SPACE as u64) as usize)
        .collect();
    assert!(uniformity("reference, uniform", &fair, SPACE, 1) > 0.001);
    // The classic mistake: a 14-bit random number reduced mod 10,000 makes the codes
    // below 6,384 twice as likely as the others.
    let biased: Vec<usize> = (0..USERS)
        .map(|_| (next() % (1 << 14)) as usize % SPACE)
        .collect();
    assert!(uniformity("reference, modulo-biased", &biased, SPACE, 1) < 1e-6);
    assert!(uniformity("reference, modulo-biased", &biased, 100, 100) < 1e-6);
    // And the approximation itself, against a tabulated quantile: the 0.001 critical
    // value for 99 degrees of freedom is 148.23.
    assert!((p_value(148.23, 99) - 0.001).abs() < 0.0002);
}

#[test]
fn the_first_codes_of_100k_users_are_uniform_over_the_4_digit_space() {
    let engine = engine();
    let codes = per_user(|i| first_two(&engine, i));
    let first: Vec<usize> = codes.iter().map(|c| c.0).collect();
    let second: Vec<usize> = codes.iter().map(|c| c.1).collect();
    assert_uniform("first code, every code", &first, SPACE, 1);
    assert_uniform("first code, by hundreds", &first, 100, 100);
    assert_uniform("second code, every code", &second, SPACE, 1);
    // Independence of consecutive codes: the pair (first / 100, second / 100) is
    // uniform over 100 x 100 cells (up to the 1-in-10,000 exclusion of an exact repeat,
    // far below what 100,000 samples can see).
    let pairs: Vec<usize> = codes
        .iter()
        .map(|c| (c.0 / 100) * 100 + c.1 / 100)
        .collect();
    assert_uniform("(first, second) by hundreds", &pairs, SPACE, 1);
    // Each digit position on its own.
    for (position, divisor) in [1000, 100, 10, 1].into_iter().enumerate() {
        let digits: Vec<usize> = first.iter().map(|c| c / divisor % 10).collect();
        assert_uniform(&format!("first code, digit {position}"), &digits, 10, 1);
    }
}

#[test]
fn the_last_codes_of_a_cycle_of_100k_users_are_uniform_too() {
    let engine = engine();
    let codes = per_user(|i| code_at(&engine, i, SPACE as u64 - 1));
    assert_uniform("code #9999, every code", &codes, SPACE, 1);
    assert_uniform("code #9999, by hundreds", &codes, 100, 100);
}
