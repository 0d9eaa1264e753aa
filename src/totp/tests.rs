//! Tests of the TOTP state machine: one test per rule, named as the rule.

use super::*;
use crate::engine::Subject;

/// A step boundary (step 56,666,667 of 30 s): 2023-11-14T22:13:30Z.
const T0: Millis = 56_666_667 * 30_000;
const STEP: Millis = 30_000;
const S: Millis = 1000;
const SECRET: &[u8] = b"totp unit-test app secret";

fn engine_with(tune: impl FnOnce(&mut TotpConfig)) -> TotpEngine {
    let mut c = TotpConfig::new(SECRET.to_vec(), "Acme Corp");
    tune(&mut c);
    TotpEngine::new(TotpPolicy::new(c).unwrap())
}

fn engine() -> TotpEngine {
    engine_with(|_| {})
}

fn ada() -> Subject<'static> {
    Subject::new("totp", "ada@example.com").unwrap()
}

fn entropy(fill: u8) -> [u8; ENROLL_ENTROPY_BYTES] {
    core::array::from_fn(|i| fill.wrapping_add(i as u8).wrapping_mul(31))
}

fn written(write: TotpWrite) -> String {
    match write {
        TotpWrite::Put(s) => s,
        other => panic!("expected a Put, got {other:?}"),
    }
}

fn record(stored: &str) -> TotpRecord {
    TotpRecord::decode(stored).unwrap()
}

/// Enrolls `ada` with a fresh seed: the stored record and the seed's bytes.
fn enrolled(e: &TotpEngine) -> (String, Vec<u8>) {
    let step = e
        .enroll(&ada(), None, T0, &EnrollOptions::default(), &entropy(1))
        .unwrap();
    let Enrollment::Enrolled(enrolled) = step.answer else {
        panic!("not enrolled")
    };
    let mut seed = [0u8; 64];
    let n = base32::decode(&enrolled.secret, &mut seed).unwrap();
    (written(step.write), seed[..n].to_vec())
}

/// The SHA1 6-digit code of `seed` at time `t`.
fn code(seed: &[u8], t: Millis) -> String {
    format!("{:06}", totp(Algorithm::Sha1, seed, t, 30, 6))
}

/// Enrolled and activated by the code of step T0.
fn active(e: &TotpEngine) -> (String, Vec<u8>) {
    let (stored, seed) = enrolled(e);
    let step = e
        .check(&ada(), Some(&stored), &code(&seed, T0), T0)
        .unwrap();
    assert_eq!(step.answer, TotpVerdict::Verified);
    (written(step.write), seed)
}

fn recovery_entropy(e: &TotpEngine, fill: u8) -> Vec<u8> {
    // xorshift64 seeded by `fill`: different fills give unrelated codes.
    let mut x = 0x9E37_79B9_7F4A_7C15_u64 ^ u64::from(fill);
    (0..e.policy().recovery_entropy_bytes())
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 56) as u8
        })
        .collect()
}

fn new_codes(e: &TotpEngine, stored: &str, fill: u8) -> (String, Vec<String>) {
    let step = e
        .new_recovery_codes(&ada(), Some(stored), &recovery_entropy(e, fill))
        .unwrap();
    let RecoveryCodes::Issued(codes) = step.answer else {
        panic!("no codes")
    };
    (written(step.write), codes)
}

/// The `INVALID_CONFIG` of the default config as `tune` changes it: `(field, problem)`.
fn refusal(tune: impl FnOnce(&mut TotpConfig)) -> (&'static str, &'static str) {
    let mut c = TotpConfig::new(SECRET.to_vec(), "Acme");
    tune(&mut c);
    match TotpPolicy::new(c) {
        Err(Error::InvalidConfig { field, problem }) => (field, problem),
        other => panic!("expected InvalidConfig, got {other:?}"),
    }
}

fn field_of(tune: impl FnOnce(&mut TotpConfig)) -> &'static str {
    refusal(tune).0
}

/// Each message that states a limit states the constant's value.
#[test]
fn the_messages_state_the_limits() {
    let problem_of = |tune: fn(&mut TotpConfig)| refusal(tune).1;
    for (problem, says) in [
        (
            problem_of(|c| c.issuer = "x".repeat(MAX_ISSUER_CHARS + 1)),
            format!("1 to {MAX_ISSUER_CHARS}"),
        ),
        (
            problem_of(|c| c.period_seconds = 0),
            format!("1 and {MAX_PERIOD_SECONDS}"),
        ),
        (
            problem_of(|c| c.window = MAX_WINDOW + 1),
            format!("0 and {MAX_WINDOW}"),
        ),
        (
            problem_of(|c| c.recovery_codes.count = 0),
            format!("1 and {MAX_RECOVERY_CODES}"),
        ),
        (
            problem_of(|c| c.recovery_codes.length = 0),
            format!("{MIN_RECOVERY_LENGTH} and {MAX_RECOVERY_LENGTH}"),
        ),
        (LABEL_PROBLEM, format!("1 to {MAX_LABEL_BYTES} bytes")),
        (
            ISSUER_PROBLEM,
            format!("1 to {MAX_ISSUER_CHARS} characters"),
        ),
        (
            problem_of(|c| c.digits = 0),
            format!("{MIN_DIGITS}, 7 or {MAX_DIGITS}"),
        ),
        (
            SEED_PROBLEM,
            format!(
                "of {} to {} bytes",
                keys::MIN_SEED_BYTES,
                keys::MAX_SEED_BYTES
            ),
        ),
        (
            crate::engine::USER_TOO_LONG,
            format!("at most {} bytes", crate::MAX_USER_BYTES),
        ),
    ] {
        assert!(crate::states(problem, &says), "{problem:?} lacks {says:?}");
    }
}

#[test]
fn defaults_are_the_documented_ones() {
    let e = engine();
    let p = e.policy();
    assert_eq!(p.algorithm(), Algorithm::Sha1);
    assert_eq!((p.digits(), p.period_seconds(), p.window()), (6, 30, 1));
    assert_eq!(
        p.failure_limit,
        Some(WindowLimit {
            count: 5,
            window: 900_000
        })
    );
    assert_eq!((p.recovery_count, p.recovery_length), (10, 10));
    assert_eq!(p.recovery_entropy_bytes(), 100);
    assert_eq!(p.failure_window_seconds(), 900);
}

#[test]
fn each_out_of_range_setting_names_its_js_option() {
    assert_eq!(
        field_of(|c| c.secret = Zeroizing::new(b"short".to_vec())),
        "secret"
    );
    assert_eq!(field_of(|c| c.issuer = String::new()), "issuer");
    assert_eq!(field_of(|c| c.issuer = "a:b".into()), "issuer");
    assert_eq!(field_of(|c| c.issuer = "a\nb".into()), "issuer");
    assert_eq!(field_of(|c| c.issuer = "é".repeat(65)), "issuer");
    assert_eq!(field_of(|c| c.digits = 5), "digits");
    assert_eq!(field_of(|c| c.digits = 9), "digits");
    assert_eq!(field_of(|c| c.period_seconds = 0), "periodSeconds");
    assert_eq!(field_of(|c| c.period_seconds = 301), "periodSeconds");
    assert_eq!(field_of(|c| c.window = 11), "window");
    let zero = Some(Limit {
        count: 0,
        window_seconds: 900,
    });
    assert_eq!(field_of(|c| c.failure_limit = zero), "failureLimit");
    let none = RecoveryCodesConfig {
        count: 0,
        length: 10,
    };
    assert_eq!(field_of(|c| c.recovery_codes = none), "recoveryCodes");
    let many = RecoveryCodesConfig {
        count: 21,
        length: 10,
    };
    assert_eq!(field_of(|c| c.recovery_codes = many), "recoveryCodes");
    for length in [7, 17] {
        let r = RecoveryCodesConfig { count: 10, length };
        assert_eq!(field_of(|c| c.recovery_codes = r), "recoveryCodes");
    }
    // The edges are accepted.
    let mut c = TotpConfig::new(SECRET.to_vec(), &"é".repeat(64));
    (c.digits, c.period_seconds, c.window) = (8, 300, 10);
    c.recovery_codes = RecoveryCodesConfig {
        count: 20,
        length: 16,
    };
    assert!(TotpPolicy::new(c).is_ok());
}

#[test]
fn enrolling_answers_a_key_uri_and_the_seed_and_stores_a_pending_record() {
    let e = engine();
    let step = e
        .enroll(&ada(), None, T0, &EnrollOptions::default(), &entropy(1))
        .unwrap();
    let Enrollment::Enrolled(enrolled) = step.answer else {
        panic!("not enrolled")
    };
    let seed = &entropy(1)[..SEED_BYTES];
    assert_eq!(enrolled.secret.as_str(), base32::encode(seed).as_str());
    assert_eq!(enrolled.secret.len(), 32);
    assert_eq!(
        enrolled.uri.as_str(),
        format!(
            "otpauth://totp/Acme%20Corp:ada%40example.com?secret={}&issuer=Acme%20Corp\
             &algorithm=SHA1&digits=6&period=30",
            enrolled.secret.as_str()
        )
    );
    assert_eq!(enrolled.status, TotpStatus::Pending);
    let stored = written(step.write);
    let r = record(&stored);
    assert_eq!(
        (r.state(), r.enrolled_at(), r.next_step),
        (TotpState::Pending, T0, 0)
    );
    assert_eq!(e.status(Some(&stored)).unwrap(), TotpStatus::Pending);
}

#[test]
fn the_label_option_and_the_policy_parameters_shape_the_uri() {
    let e = engine_with(|c| {
        c.algorithm = Algorithm::Sha512;
        c.digits = 8;
        c.period_seconds = 60;
    });
    let options = EnrollOptions {
        label: Some("Ada L. (work)"),
        ..EnrollOptions::default()
    };
    let step = e.enroll(&ada(), None, T0, &options, &entropy(1)).unwrap();
    let Enrollment::Enrolled(enrolled) = step.answer else {
        panic!("not enrolled")
    };
    assert!(enrolled
        .uri
        .starts_with("otpauth://totp/Acme%20Corp:Ada%20L.%20%28work%29?secret="));
    assert!(enrolled
        .uri
        .ends_with("&issuer=Acme%20Corp&algorithm=SHA512&digits=8&period=60"));
    for label in ["", "a\u{7}b"] {
        let options = EnrollOptions {
            label: Some(label),
            ..EnrollOptions::default()
        };
        assert!(matches!(
            e.enroll(&ada(), None, T0, &options, &entropy(1)),
            Err(Error::InvalidArgument {
                argument: "label",
                ..
            })
        ));
    }
    // No label: the user id is the label, and a refusal says so.
    let tab = Subject::new("totp", "tenant\t42").unwrap();
    match e.enroll(&tab, None, T0, &EnrollOptions::default(), &entropy(1)) {
        Err(Error::InvalidArgument {
            argument: "label",
            problem,
        }) => assert!(problem.contains("user id") && problem.contains("options.label")),
        other => panic!("{:?}", other.map(|s| s.write)),
    }
    let labelled = EnrollOptions {
        label: Some("tenant 42"),
        ..EnrollOptions::default()
    };
    assert!(e.enroll(&tab, None, T0, &labelled, &entropy(1)).is_ok());
}

#[test]
fn the_stored_record_reveals_neither_the_seed_nor_a_code() {
    let e = engine();
    let (stored, seed) = enrolled(&e);
    let b32 = base32::encode(&seed);
    let hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
    let mut b64 = String::new();
    record::b64_encode(&seed, &mut b64);
    for leak in [b32.as_str(), hex.as_str(), &b64[..20], &code(&seed, T0)] {
        assert!(!stored.contains(leak), "{stored} contains {leak}");
    }
    assert!(!format!("{:?}", record(&stored)).contains(&hex));
}

#[test]
fn the_first_right_code_activates_a_pending_enrollment() {
    let e = engine();
    let (stored, seed) = enrolled(&e);
    let step = e
        .check(&ada(), Some(&stored), &code(&seed, T0), T0 + 5 * S)
        .unwrap();
    assert_eq!(step.answer, TotpVerdict::Verified);
    assert!(step.answer.is_ok());
    let stored = written(step.write);
    assert_eq!(record(&stored).state(), TotpState::Active);
    assert_eq!(record(&stored).next_step, T0 / STEP + 1);
    assert_eq!(e.status(Some(&stored)).unwrap(), TotpStatus::Active);
}

#[test]
fn a_right_code_for_the_last_accepted_step_or_earlier_is_replayed_without_a_write() {
    let e = engine();
    let (stored, seed) = active(&e);
    // The same code again, still within its step and within the window after it.
    for later in [0, 10 * S, STEP + 10 * S] {
        let step = e
            .check(&ada(), Some(&stored), &code(&seed, T0), T0 + later)
            .unwrap();
        assert_eq!(
            (step.answer, step.write),
            (TotpVerdict::Replayed, TotpWrite::Nothing),
            "{later}"
        );
        assert_eq!(step.answer.reason(), "replayed");
    }
    // The previous step's code, inside the window, is older than the accepted step.
    let step = e
        .check(&ada(), Some(&stored), &code(&seed, T0 - STEP), T0)
        .unwrap();
    assert_eq!(step.answer, TotpVerdict::Replayed);
    // The next step's code is later: accepted, and then replayed in its turn.
    let step = e
        .check(&ada(), Some(&stored), &code(&seed, T0 + STEP), T0 + STEP)
        .unwrap();
    assert_eq!(step.answer, TotpVerdict::Verified);
    let stored = written(step.write);
    let step = e
        .check(&ada(), Some(&stored), &code(&seed, T0 + STEP), T0 + STEP)
        .unwrap();
    assert_eq!(step.answer, TotpVerdict::Replayed);
}

#[test]
fn accepting_a_future_step_replays_the_steps_before_it() {
    let e = engine();
    let (stored, seed) = enrolled(&e);
    let step = e
        .check(&ada(), Some(&stored), &code(&seed, T0 + STEP), T0)
        .unwrap();
    assert_eq!(step.answer, TotpVerdict::Verified);
    let stored = written(step.write);
    let step = e
        .check(&ada(), Some(&stored), &code(&seed, T0), T0)
        .unwrap();
    assert_eq!(step.answer, TotpVerdict::Replayed);
}

#[test]
fn codes_exactly_window_steps_away_are_accepted_and_one_step_more_is_not() {
    for window in [0u32, 1, 2] {
        let e = engine_with(|c| c.window = window);
        let (stored, seed) = enrolled(&e);
        let w = i64::from(window);
        for offset in -w - 1..=w + 1 {
            let t = (T0 as i64 + offset * STEP as i64) as Millis;
            // Checked at the first and the last millisecond of now's step.
            for now in [T0, T0 + STEP - 1] {
                let step = e
                    .check(&ada(), Some(&stored), &code(&seed, t), now)
                    .unwrap();
                let want = if offset.abs() <= w {
                    TotpVerdict::Verified
                } else {
                    TotpVerdict::Invalid
                };
                assert_eq!(step.answer, want, "window {window}, offset {offset}");
            }
        }
    }
}

#[test]
fn the_window_stops_at_step_zero() {
    let e = engine();
    let step = e
        .enroll(&ada(), None, 0, &EnrollOptions::default(), &entropy(1))
        .unwrap();
    let stored = written(step.write);
    let seed = &entropy(1)[..SEED_BYTES];
    let step = e
        .check(&ada(), Some(&stored), &code(seed, 0), 10 * S)
        .unwrap();
    assert_eq!(step.answer, TotpVerdict::Verified);
}

#[test]
fn codes_with_separators_are_accepted_and_other_shapes_are_wrong_guesses() {
    let e = engine();
    let (stored, seed) = enrolled(&e);
    let right = code(&seed, T0);
    let full_width: String = right
        .chars()
        .map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap())
        .collect();
    for pasted in [
        format!(" {} {} ", &right[..3], &right[3..]),
        format!("{}-{}", &right[..3], &right[3..]),
        format!("{right}\n"),
        format!("\t{}\u{a0}{}\r\n", &right[..3], &right[3..]),
        format!("{}\u{2013}{}", &right[..3], &right[3..]),
        full_width,
    ] {
        let step = e.check(&ada(), Some(&stored), &pasted, T0).unwrap();
        assert_eq!(step.answer, TotpVerdict::Verified, "{pasted:?}");
    }
    let too_long = format!("{right}0");
    let arabic = "٠١٢٣٤٥";
    let underscored = format!("{}_{}", &right[..3], &right[3..]);
    for bad in [
        &right[..5],
        &too_long,
        &underscored,
        arabic,
        "",
        "      ",
        "12345a",
    ] {
        let step = e.check(&ada(), Some(&stored), bad, T0).unwrap();
        assert_eq!(step.answer, TotpVerdict::Invalid, "{bad:?}");
        assert_eq!(record(&written(step.write)).failures, 1, "{bad:?}");
    }
}

#[test]
fn wrong_codes_spend_the_budget_and_a_spent_budget_compares_nothing_and_writes_nothing() {
    let e = engine();
    let (mut stored, seed) = enrolled(&e);
    let right = code(&seed, T0);
    let wrong = if right == "000000" {
        "000001"
    } else {
        "000000"
    };
    for i in 1..=5 {
        let step = e.check(&ada(), Some(&stored), wrong, T0 + i * S).unwrap();
        assert_eq!(step.answer, TotpVerdict::Invalid);
        stored = written(step.write);
        assert_eq!(record(&stored).failures, i as u32);
    }
    // The window opened at the first failure, T0 + 1 s, and lasts 900 s.
    let step = e.check(&ada(), Some(&stored), &right, T0 + 10 * S).unwrap();
    assert_eq!(
        (step.answer, step.write),
        (
            TotpVerdict::Locked {
                retry_after_ms: 891_000
            },
            TotpWrite::Nothing
        )
    );
    assert_eq!(step.answer.reason(), "locked");
    assert_eq!(step.answer.retry_after_ms(), Some(891_000));
    // Waiting exactly that long suffices.
    let later = T0 + 10 * S + 891_000;
    let step = e
        .check(&ada(), Some(&stored), &code(&seed, later), later)
        .unwrap();
    assert_eq!(step.answer, TotpVerdict::Verified);
    assert_eq!(record(&written(step.write)).failures, 0);
}

#[test]
fn after_the_window_a_wrong_code_opens_a_new_window() {
    let e = engine();
    let (mut stored, _) = enrolled(&e);
    for i in 0..4 {
        stored = written(
            e.check(&ada(), Some(&stored), "x", T0 + i * S)
                .unwrap()
                .write,
        );
    }
    let later = T0 + 900 * S;
    let step = e.check(&ada(), Some(&stored), "x", later).unwrap();
    let r = record(&written(step.write));
    assert_eq!((r.failures, r.failures_since), (1, later));
}

#[test]
fn without_a_failure_limit_wrong_codes_never_lock_and_write_nothing() {
    let e = engine_with(|c| c.failure_limit = None);
    let (stored, seed) = enrolled(&e);
    for i in 0..50 {
        let step = e.check(&ada(), Some(&stored), "000000", T0 + i).unwrap();
        if step.answer == TotpVerdict::Verified {
            continue; // the one in a million where 000000 is right
        }
        assert_eq!(
            (step.answer, step.write),
            (TotpVerdict::Invalid, TotpWrite::Nothing)
        );
    }
    let step = e
        .check(&ada(), Some(&stored), &code(&seed, T0), T0)
        .unwrap();
    assert_eq!(step.answer, TotpVerdict::Verified);
}

#[test]
fn enrolling_over_an_active_enrollment_is_refused_unless_replace_is_given() {
    let e = engine();
    let (stored, _) = active(&e);
    let step = e
        .enroll(
            &ada(),
            Some(&stored),
            T0,
            &EnrollOptions::default(),
            &entropy(2),
        )
        .unwrap();
    assert_eq!(
        (step.answer, step.write),
        (Enrollment::AlreadyEnrolled, TotpWrite::Nothing)
    );
    let replace = EnrollOptions {
        replace: true,
        ..EnrollOptions::default()
    };
    let step = e
        .enroll(&ada(), Some(&stored), T0, &replace, &entropy(2))
        .unwrap();
    assert!(matches!(step.answer, Enrollment::Enrolled(_)));
    let r = record(&written(step.write));
    assert_eq!((r.state(), r.next_step), (TotpState::Pending, 0));
}

#[test]
fn enrolling_over_a_pending_enrollment_replaces_its_seed() {
    let e = engine();
    let (stored, old_seed) = enrolled(&e);
    let step = e
        .enroll(
            &ada(),
            Some(&stored),
            T0,
            &EnrollOptions::default(),
            &entropy(2),
        )
        .unwrap();
    let stored = written(step.write);
    let new_seed = &entropy(2)[..SEED_BYTES];
    let old = code(&old_seed, T0);
    let new = code(new_seed, T0);
    assert_ne!(old, new);
    let step = e.check(&ada(), Some(&stored), &old, T0).unwrap();
    assert_eq!(step.answer, TotpVerdict::Invalid);
    let step = e.check(&ada(), Some(&stored), &new, T0).unwrap();
    assert_eq!(step.answer, TotpVerdict::Verified);
}

fn keep_current() -> EnrollOptions<'static> {
    EnrollOptions {
        replace: true,
        keep_current: true,
        ..EnrollOptions::default()
    }
}

#[test]
fn a_replacement_kept_waiting_leaves_the_current_seed_working_until_its_first_code() {
    let e = engine();
    let (stored, old_seed) = active(&e);
    let step = e
        .enroll(
            &ada(),
            Some(&stored),
            T0 + STEP,
            &keep_current(),
            &entropy(2),
        )
        .unwrap();
    let Enrollment::Enrolled(enrolled) = step.answer else {
        panic!("not enrolled")
    };
    assert_eq!(
        enrolled.status,
        TotpStatus::Pending,
        "the new enrollment's status"
    );
    let stored = written(step.write);
    assert!(stored.starts_with("[\"t2\","), "{stored}");
    assert_eq!(e.status(Some(&stored)).unwrap(), TotpStatus::Active);
    let new_seed = &entropy(2)[..SEED_BYTES];
    // The current seed still verifies (its replay rule intact), and keeps the replacement.
    let t = T0 + STEP;
    let step = e
        .check(&ada(), Some(&stored), &code(&old_seed, T0), t)
        .unwrap();
    assert_eq!(
        step.answer,
        TotpVerdict::Replayed,
        "the current seed's used step"
    );
    let step = e
        .check(&ada(), Some(&stored), &code(&old_seed, t), t)
        .unwrap();
    assert_eq!(step.answer, TotpVerdict::Verified);
    let stored = written(step.write);
    assert!(record(&stored).replacement.is_some(), "still waiting");
    // The new seed's first code takes the current one's place.
    let t = t + STEP;
    let step = e
        .check(&ada(), Some(&stored), &code(new_seed, t), t)
        .unwrap();
    assert_eq!(step.answer, TotpVerdict::Replaced);
    let stored = written(step.write);
    let r = record(&stored);
    assert!(stored.starts_with("[\"t1\","), "{stored}");
    assert_eq!(
        (r.state(), r.next_step, r.enrolled_at()),
        (TotpState::Active, t / STEP + 1, T0 + STEP)
    );
    let t = t + STEP;
    let step = e
        .check(&ada(), Some(&stored), &code(&old_seed, t), t)
        .unwrap();
    assert_eq!(step.answer, TotpVerdict::Invalid, "the old seed is gone");
    let step = e
        .check(&ada(), Some(&stored), &code(new_seed, t), t)
        .unwrap();
    assert_eq!(step.answer, TotpVerdict::Verified);
}

#[test]
fn a_replacement_keeps_the_failure_budget_the_recovery_codes_and_their_lockout() {
    let e = engine_with(|c| {
        c.failure_limit = Some(crate::policy::Limit {
            count: 2,
            window_seconds: 900,
        })
    });
    let (stored, _) = active(&e);
    let (stored, codes) = new_codes(&e, &stored, 3);
    let stored = written(e.check(&ada(), Some(&stored), "x", T0).unwrap().write);
    let step = e
        .enroll(&ada(), Some(&stored), T0, &keep_current(), &entropy(2))
        .unwrap();
    let stored = written(step.write);
    assert_eq!(record(&stored).failures, 1);
    let step = e
        .use_recovery_code(&ada(), Some(&stored), &codes[0], T0)
        .unwrap();
    assert_eq!(step.answer, RecoveryVerdict::Accepted);
    let stored = written(step.write);
    assert!(
        record(&stored).replacement.is_some(),
        "a recovery code keeps the replacement"
    );
    // A wrong code spends the shared budget; once locked, the new seed's code is not
    // compared either.
    let stored = written(e.check(&ada(), Some(&stored), "000000", T0).unwrap().write);
    let stored = written(e.check(&ada(), Some(&stored), "000001", T0).unwrap().write);
    let new_seed = &entropy(2)[..SEED_BYTES];
    let step = e
        .check(&ada(), Some(&stored), &code(new_seed, T0), T0)
        .unwrap();
    assert!(
        matches!(step.answer, TotpVerdict::Locked { .. }),
        "{:?}",
        step.answer
    );
}

#[test]
fn keep_current_needs_replace_and_an_active_enrollment_to_keep() {
    let e = engine();
    let keep_alone = EnrollOptions {
        keep_current: true,
        ..EnrollOptions::default()
    };
    assert!(matches!(
        e.enroll(&ada(), None, T0, &keep_alone, &entropy(1)),
        Err(Error::InvalidArgument {
            argument: "keepCurrent",
            ..
        })
    ));
    // Nothing active to keep (no record, or a pending one): a plain new enrollment.
    let step = e
        .enroll(&ada(), None, T0, &keep_current(), &entropy(1))
        .unwrap();
    let stored = written(step.write);
    assert_eq!(record(&stored).state(), TotpState::Pending);
    let step = e
        .enroll(&ada(), Some(&stored), T0, &keep_current(), &entropy(2))
        .unwrap();
    let r = record(&written(step.write));
    assert_eq!(
        (r.state(), r.replacement.is_none()),
        (TotpState::Pending, true)
    );
}

#[test]
fn replacing_without_keep_current_drops_a_waiting_replacement_too() {
    let e = engine();
    let (stored, old_seed) = active(&e);
    let step = e
        .enroll(&ada(), Some(&stored), T0, &keep_current(), &entropy(2))
        .unwrap();
    let stored = written(step.write);
    // A second keepCurrent replaces the waiting one.
    let step = e
        .enroll(&ada(), Some(&stored), T0, &keep_current(), &entropy(3))
        .unwrap();
    let kept = written(step.write);
    let t = T0 + STEP;
    let waiting = &entropy(2)[..SEED_BYTES];
    let step = e.check(&ada(), Some(&kept), &code(waiting, t), t).unwrap();
    assert_eq!(
        step.answer,
        TotpVerdict::Invalid,
        "the first replacement is gone"
    );
    let replace = EnrollOptions {
        replace: true,
        ..EnrollOptions::default()
    };
    let step = e
        .enroll(&ada(), Some(&kept), T0, &replace, &entropy(4))
        .unwrap();
    let stored = written(step.write);
    let r = record(&stored);
    assert_eq!(
        (r.state(), r.replacement.is_none()),
        (TotpState::Pending, true)
    );
    for seed in [&old_seed[..], &entropy(3)[..SEED_BYTES]] {
        let step = e.check(&ada(), Some(&stored), &code(seed, t), t).unwrap();
        assert_eq!(step.answer, TotpVerdict::Invalid);
    }
}

#[test]
fn a_replacement_waits_an_hour_at_most() {
    let e = engine();
    let (stored, old_seed) = active(&e);
    let step = e
        .enroll(&ada(), Some(&stored), T0, &keep_current(), &entropy(2))
        .unwrap();
    let stored = written(step.write);
    let new_seed = &entropy(2)[..SEED_BYTES];
    let late = T0 + REPLACEMENT_MS;
    let step = e
        .check(&ada(), Some(&stored), &code(new_seed, late), late)
        .unwrap();
    assert_eq!(
        step.answer,
        TotpVerdict::Invalid,
        "an hour on, the waiting seed is void"
    );
    assert!(
        record(&written(step.write)).replacement.is_none(),
        "and dropped"
    );
    let early = late - 1;
    let step = e
        .check(&ada(), Some(&stored), &code(new_seed, early), early)
        .unwrap();
    assert_eq!(step.answer, TotpVerdict::Replaced, "just before the hour");
    let step = e
        .check(&ada(), Some(&stored), &code(&old_seed, late), late)
        .unwrap();
    assert_eq!(
        step.answer,
        TotpVerdict::Verified,
        "the current seed is not affected"
    );
    assert!(record(&written(step.write)).replacement.is_none());
}

#[test]
fn a_waiting_replacement_is_shown_until_it_verifies_is_cancelled_or_lapses() {
    let e = engine();
    let (stored, _) = active(&e);
    assert_eq!(e.pending_replacement(Some(&stored), T0).unwrap(), None);
    assert_eq!(e.pending_replacement(None, T0).unwrap(), None);
    let t = T0 + STEP;
    let step = e
        .enroll(&ada(), Some(&stored), t, &keep_current(), &entropy(2))
        .unwrap();
    let stored = written(step.write);
    let shown = Some(PendingReplacement {
        enrolled_at: t,
        expires_at: t + REPLACEMENT_MS,
    });
    assert_eq!(e.pending_replacement(Some(&stored), t).unwrap(), shown);
    let last = t + REPLACEMENT_MS - 1;
    assert_eq!(e.pending_replacement(Some(&stored), last).unwrap(), shown);
    assert_eq!(
        e.pending_replacement(Some(&stored), last + 1).unwrap(),
        None,
        "void after the hour"
    );
    // Its first code makes it the enrollment: nothing waits any more.
    let new_seed = &entropy(2)[..SEED_BYTES];
    let step = e
        .check(&ada(), Some(&stored), &code(new_seed, t), t)
        .unwrap();
    assert_eq!(step.answer, TotpVerdict::Replaced);
    assert_eq!(
        e.pending_replacement(Some(&written(step.write)), t)
            .unwrap(),
        None
    );
}

#[test]
fn cancelling_a_replacement_drops_the_new_seed_and_keeps_the_current_one() {
    let e = engine_with(|c| {
        c.failure_limit = Some(crate::policy::Limit {
            count: 5,
            window_seconds: 900,
        })
    });
    let (stored, old_seed) = active(&e);
    let wrong = e.check(&ada(), Some(&stored), "000000", T0).unwrap();
    assert_eq!(wrong.answer, TotpVerdict::Invalid);
    let stored = written(wrong.write);
    let t = T0 + STEP;
    let step = e
        .enroll(&ada(), Some(&stored), t, &keep_current(), &entropy(2))
        .unwrap();
    let waiting = written(step.write);
    let step = e
        .cancel_replacement(&ada(), Some(&waiting), t, None)
        .unwrap();
    assert!(step.answer, "one was waiting");
    let cancelled = written(step.write);
    assert_eq!(cancelled, stored, "the record as before the enroll");
    assert!(cancelled.starts_with("[\"t1\","), "{cancelled}");
    let new_seed = &entropy(2)[..SEED_BYTES];
    let step = e
        .check(&ada(), Some(&cancelled), &code(new_seed, t), t)
        .unwrap();
    assert_eq!(step.answer, TotpVerdict::Invalid, "the new seed is gone");
    let step = e
        .check(&ada(), Some(&cancelled), &code(&old_seed, t), t)
        .unwrap();
    assert_eq!(step.answer, TotpVerdict::Verified, "the current one works");
    // Nothing waiting: nothing written.
    let step = e
        .cancel_replacement(&ada(), Some(&cancelled), t, None)
        .unwrap();
    assert_eq!((step.answer, step.write), (false, TotpWrite::Nothing));
    let step = e.cancel_replacement(&ada(), None, t, None).unwrap();
    assert_eq!((step.answer, step.write), (false, TotpWrite::Nothing));
    // A replacement already void is dropped too, answering false.
    let late = t + REPLACEMENT_MS;
    let step = e
        .cancel_replacement(&ada(), Some(&waiting), late, None)
        .unwrap();
    assert!(!step.answer, "it was void");
    assert_eq!(written(step.write), stored);
}

#[test]
fn cancelling_a_replacement_by_its_enrollment_time_leaves_a_newer_one() {
    let e = engine();
    let (stored, _) = active(&e);
    let (t1, t2) = (T0 + STEP, T0 + 2 * STEP);
    let first = e
        .enroll(&ada(), Some(&stored), t1, &keep_current(), &entropy(2))
        .unwrap();
    let first = written(first.write);
    let shown = e.pending_replacement(Some(&first), t1).unwrap().unwrap();
    assert_eq!(shown.enrolled_at, t1);
    // Another tab enrolls again: its seed replaces the one the first tab showed.
    let second = e
        .enroll(&ada(), Some(&first), t2, &keep_current(), &entropy(3))
        .unwrap();
    let second = written(second.write);
    let step = e
        .cancel_replacement(&ada(), Some(&second), t2, Some(shown.enrolled_at))
        .unwrap();
    assert_eq!(
        (step.answer, step.write),
        (false, TotpWrite::Nothing),
        "the newer seed stays"
    );
    let step = e
        .cancel_replacement(&ada(), Some(&second), t2, Some(t2))
        .unwrap();
    assert!(step.answer, "the seed enrolled at t2 is dropped");
    assert_eq!(written(step.write), stored);
    // A void seed is dropped whatever the time given.
    let late = t2 + REPLACEMENT_MS;
    let step = e
        .cancel_replacement(&ada(), Some(&second), late, Some(t1))
        .unwrap();
    assert!(!step.answer, "it was void");
    assert_eq!(written(step.write), stored);
}

#[test]
fn cancelling_a_replacement_refuses_a_record_of_another_user() {
    let e = engine();
    let (stored, _) = active(&e);
    let step = e
        .enroll(&ada(), Some(&stored), T0, &keep_current(), &entropy(2))
        .unwrap();
    let waiting = written(step.write);
    let bob = Subject::new("totp", "bob@example.com").unwrap();
    assert!(matches!(
        e.cancel_replacement(&bob, Some(&waiting), T0, None),
        Err(Error::CorruptRecord(_))
    ));
    assert!(matches!(
        e.cancel_replacement(&ada(), Some("not a record"), T0, None),
        Err(Error::CorruptRecord(_))
    ));
}

#[test]
fn a_replacements_code_for_a_step_already_used_is_replayed_not_a_failure() {
    // 6-digit current seed, activated at T0's step; the replacement is enrolled with 6
    // and (by a policy with 8) with 8 digits.
    for digits in [6, 8] {
        let e = engine();
        let (stored, _) = active(&e);
        let e2 = engine_with(|c| c.digits = digits);
        let step = e2
            .enroll(&ada(), Some(&stored), T0, &keep_current(), &entropy(2))
            .unwrap();
        let waiting = written(step.write);
        let new_seed = &entropy(2)[..SEED_BYTES];
        let code_at = |t: Millis| {
            format!(
                "{:0w$}",
                totp(Algorithm::Sha1, new_seed, t, 30, digits),
                w = digits as usize
            )
        };
        let c = code_at(T0);
        // The user has signed in with the old device in T0's step and types the new
        // device's code within the same step (or the one before).
        for t in [T0, T0 + STEP - 1] {
            let step = e.check(&ada(), Some(&waiting), &c, t).unwrap();
            assert_eq!(
                (step.answer, step.write),
                (TotpVerdict::Replayed, TotpWrite::Nothing),
                "{digits} digits at {t}"
            );
        }
        let step = e
            .check(&ada(), Some(&waiting), &code_at(T0 - STEP), T0)
            .unwrap();
        assert_eq!(step.answer, TotpVerdict::Replayed, "the step before");
        // A wrong code of the replacement's length is still a failure.
        let wrong = "0".repeat(digits as usize);
        let step = e.check(&ada(), Some(&waiting), &wrong, T0).unwrap();
        assert_eq!(step.answer, TotpVerdict::Invalid);
        assert_eq!(record(&written(step.write)).failures, 1);
        // The next step's code takes the current seed's place.
        let t = T0 + STEP;
        let step = e.check(&ada(), Some(&waiting), &code_at(t), t).unwrap();
        assert_eq!(step.answer, TotpVerdict::Replaced);
    }
}

#[test]
fn the_current_seeds_used_steps_stay_used_when_it_is_re_enrolled_as_its_own_replacement() {
    let e = engine();
    let (stored, seed) = active(&e);
    let secret = base32::encode(&seed);
    let again = EnrollOptions {
        secret: Some(&secret),
        ..keep_current()
    };
    let step = e
        .enroll(&ada(), Some(&stored), T0, &again, &entropy(2))
        .unwrap();
    let stored = written(step.write);
    // The code of T0's step was accepted: not again, through the replacement either.
    let step = e
        .check(&ada(), Some(&stored), &code(&seed, T0), T0)
        .unwrap();
    assert_eq!(step.answer, TotpVerdict::Replayed);
    let t = T0 + STEP;
    let step = e.check(&ada(), Some(&stored), &code(&seed, t), t).unwrap();
    assert_eq!(step.answer, TotpVerdict::Replaced);
}

#[test]
fn keep_current_without_replace_is_refused_by_the_flags_check() {
    let keep_alone = EnrollOptions {
        keep_current: true,
        ..EnrollOptions::default()
    };
    assert!(matches!(
        keep_alone.check_flags(),
        Err(Error::InvalidArgument {
            argument: "keepCurrent",
            ..
        })
    ));
    assert!(keep_current().check_flags().is_ok());
}

#[test]
fn a_tampered_replacement_seed_is_a_corrupt_record() {
    let e = engine();
    let (stored, old_seed) = active(&e);
    let step = e
        .enroll(&ada(), Some(&stored), T0, &keep_current(), &entropy(2))
        .unwrap();
    let mut r = record(&written(step.write));
    if let Some(next) = r.replacement.as_mut() {
        next.sealed[20] ^= 1;
    }
    let t = T0 + STEP;
    assert_eq!(
        e.check(&ada(), Some(&r.encode()), &code(&old_seed, t), t),
        Err(Error::CorruptRecord(DecodeError::Unauthentic))
    );
    // cancelReplacement opens only the current seed: it drops the tampered one, and the
    // current seed works again.
    let step = e
        .cancel_replacement(&ada(), Some(&r.encode()), t, None)
        .unwrap();
    assert!(step.answer);
    let step = e
        .check(&ada(), Some(&written(step.write)), &code(&old_seed, t), t)
        .unwrap();
    assert_eq!(step.answer, TotpVerdict::Verified);
}

#[test]
fn re_enrolling_keeps_the_failure_budget_and_the_recovery_codes() {
    let e = engine();
    let (stored, _) = active(&e);
    let (stored, codes) = new_codes(&e, &stored, 3);
    let stored = written(e.check(&ada(), Some(&stored), "x", T0).unwrap().write);
    let replace = EnrollOptions {
        replace: true,
        ..EnrollOptions::default()
    };
    let step = e
        .enroll(&ada(), Some(&stored), T0, &replace, &entropy(2))
        .unwrap();
    let stored = written(step.write);
    assert_eq!(record(&stored).failures, 1);
    let step = e
        .use_recovery_code(&ada(), Some(&stored), &codes[0], T0)
        .unwrap();
    assert_eq!(step.answer, RecoveryVerdict::Accepted);
}

#[test]
fn an_imported_seed_gives_the_rfc_6238_codes_for_every_algorithm() {
    // RFC 6238 Appendix B seeds in base32, lower-cased, spaced and padded to test the
    // decoder's tolerance; 8 digits, checked exactly at the RFC's times.
    let b32 = base32::encode(b"12345678901234567890");
    let seed20 = b32.as_str().to_lowercase();
    let seed32 = base32::encode(&b"1234567890".repeat(4)[..32]);
    let seed64 = base32::encode(&b"1234567890".repeat(7)[..64]);
    let cases = [
        (
            Algorithm::Sha1,
            format!("{} {}=", &seed20[..16], &seed20[16..]),
            "89005924",
        ),
        (Algorithm::Sha256, seed32.as_str().into(), "91819424"),
        (Algorithm::Sha512, seed64.as_str().into(), "93441116"),
    ];
    for (algorithm, secret, want) in cases {
        let e = engine_with(|c| {
            c.algorithm = algorithm;
            c.digits = 8;
        });
        let options = EnrollOptions {
            secret: Some(&secret),
            ..EnrollOptions::default()
        };
        let now = 1_234_567_890 * S;
        let step = e.enroll(&ada(), None, now, &options, &entropy(1)).unwrap();
        let stored = written(step.write);
        let step = e.check(&ada(), Some(&stored), want, now).unwrap();
        assert_eq!(step.answer, TotpVerdict::Verified, "{algorithm:?}");
    }
}

#[test]
fn a_bad_base32_secret_is_an_invalid_argument_and_nothing_is_written() {
    let e = engine();
    let (stored, _) = active(&e);
    for secret in [
        "not base32!",
        "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1",
        "MZXW6",
        "A",
    ] {
        let options = EnrollOptions {
            secret: Some(secret),
            replace: true,
            ..EnrollOptions::default()
        };
        // An error carries no record, so nothing can be written.
        assert_eq!(
            e.enroll(&ada(), Some(&stored), T0, &options, &entropy(1)),
            Err(Error::InvalidArgument {
                argument: "secret",
                problem: "must be base32 (rfc 4648) of 10 to 64 bytes",
            }),
            "{secret}"
        );
    }
    let too_long = base32::encode(&[7; MAX_SEED_BYTES + 1]);
    let options = EnrollOptions {
        secret: Some(&too_long),
        ..EnrollOptions::default()
    };
    assert!(e.enroll(&ada(), None, T0, &options, &entropy(1)).is_err());
}

#[test]
fn a_record_copied_to_another_user_does_not_open_there() {
    let e = engine();
    let (stored, seed) = active(&e);
    let (stored, codes) = new_codes(&e, &stored, 3);
    let unauthentic = Error::CorruptRecord(DecodeError::Unauthentic);
    let now = T0 + STEP;
    let right = code(&seed, now);
    for subject in [
        Subject::new("totp", "bob@example.com").unwrap(),
        Subject::new("totp2", "ada@example.com").unwrap(),
    ] {
        assert_eq!(
            e.check(&subject, Some(&stored), &right, now),
            Err(unauthentic)
        );
        assert_eq!(
            e.use_recovery_code(&subject, Some(&stored), &codes[0], now),
            Err(unauthentic)
        );
        let fresh = recovery_entropy(&e, 9);
        assert_eq!(
            e.new_recovery_codes(&subject, Some(&stored), &fresh),
            Err(unauthentic)
        );
        let replace = EnrollOptions {
            replace: true,
            ..EnrollOptions::default()
        };
        assert_eq!(
            e.enroll(&subject, Some(&stored), now, &replace, &entropy(1)),
            Err(unauthentic)
        );
    }
    // Nor under another app secret.
    let other = TotpEngine::new(
        TotpPolicy::new(TotpConfig::new(b"another app secret!!".to_vec(), "Acme")).unwrap(),
    );
    assert_eq!(
        other.check(&ada(), Some(&stored), &right, now),
        Err(unauthentic)
    );
    // Nor with its parameters altered (digits 6 -> 8).
    let altered = stored.replacen(",1,1,6,30,", ",1,1,8,30,", 1);
    assert_ne!(altered, stored);
    assert_eq!(
        e.check(&ada(), Some(&altered), &right, now),
        Err(unauthentic)
    );
    // The rightful user still verifies.
    assert_eq!(
        e.check(&ada(), Some(&stored), &right, now).unwrap().answer,
        TotpVerdict::Verified
    );
}

#[test]
fn an_enrollment_keeps_its_parameters_when_the_policy_changes() {
    let (stored, seed) = enrolled(&engine());
    let e = engine_with(|c| {
        c.digits = 8;
        c.period_seconds = 60;
        c.algorithm = Algorithm::Sha256;
    });
    let step = e
        .check(&ada(), Some(&stored), &code(&seed, T0), T0)
        .unwrap();
    assert_eq!(step.answer, TotpVerdict::Verified);
}

#[test]
fn recovery_codes_are_single_use() {
    let e = engine();
    let (stored, _) = active(&e);
    let (stored, codes) = new_codes(&e, &stored, 3);
    assert_eq!(codes.len(), 10);
    for c in &codes {
        assert_eq!(c.len(), 10);
        assert!(
            c.bytes().all(|b| RECOVERY_ALPHABET.as_bytes().contains(&b)),
            "{c}"
        );
    }
    let step = e
        .use_recovery_code(&ada(), Some(&stored), &codes[4], T0)
        .unwrap();
    assert!(step.answer.is_ok());
    let stored = written(step.write);
    assert_eq!(record(&stored).recovery_codes_left(), 9);
    let step = e
        .use_recovery_code(&ada(), Some(&stored), &codes[4], T0)
        .unwrap();
    assert_eq!(
        (step.answer, step.write),
        (RecoveryVerdict::Used, TotpWrite::Nothing)
    );
    assert!(!step.answer.is_ok());
    let step = e
        .use_recovery_code(&ada(), Some(&stored), &codes[5], T0)
        .unwrap();
    assert_eq!(step.answer, RecoveryVerdict::Accepted);
    assert_eq!(record(&written(step.write)).recovery_codes_left(), 8);
}

#[test]
fn recovery_codes_are_replaced_as_a_set() {
    let e = engine();
    let (stored, _) = active(&e);
    let (stored, old) = new_codes(&e, &stored, 3);
    let stored = written(
        e.use_recovery_code(&ada(), Some(&stored), &old[0], T0)
            .unwrap()
            .write,
    );
    let (stored, new) = new_codes(&e, &stored, 77);
    assert!(old.iter().all(|c| !new.contains(c)));
    assert_eq!(record(&stored).recovery_codes_left(), 10);
    for c in &old[..2] {
        let step = e.use_recovery_code(&ada(), Some(&stored), c, T0).unwrap();
        assert_eq!(step.answer, RecoveryVerdict::Invalid, "{c}");
    }
    let step = e
        .use_recovery_code(&ada(), Some(&stored), &new[0], T0)
        .unwrap();
    assert_eq!(step.answer, RecoveryVerdict::Accepted);
}

#[test]
fn recovery_codes_are_read_without_case_spaces_hyphens_or_ambiguous_letters() {
    let e = engine();
    let (stored, _) = active(&e);
    let (stored, codes) = new_codes(&e, &stored, 3);
    // Upper case, O for 0 and l for 1, a hyphen or an en dash, a no-break space, a tab,
    // and (every other code) full-width letters and digits.
    let typed = |i: usize, c: &str| {
        let upper = c.to_uppercase().replace('0', "O").replace('1', "l");
        let spelled = format!(
            "\t{}-{}\u{2013}{}\u{a0}",
            &upper[..3],
            &upper[3..6],
            &upper[6..]
        );
        if i % 2 == 0 {
            spelled
                .chars()
                .map(|ch| match ch {
                    '!'..='~' => char::from_u32(ch as u32 + 0xFEE0).unwrap(),
                    ch => ch,
                })
                .collect()
        } else {
            spelled
        }
    };
    for (i, c) in codes.iter().enumerate() {
        let step = e
            .use_recovery_code(&ada(), Some(&stored), &typed(i, c), T0)
            .unwrap();
        assert_eq!(
            step.answer,
            RecoveryVerdict::Accepted,
            "{c} typed {}",
            typed(i, c)
        );
    }
    for bad in ["", "abc", &"a".repeat(17), "abcdefghu0", "abcdéfghj0"] {
        let step = e.use_recovery_code(&ada(), Some(&stored), bad, T0).unwrap();
        assert_eq!(step.answer, RecoveryVerdict::Invalid, "{bad:?}");
    }
}

#[test]
fn recovery_codes_are_stored_only_as_keyed_hashes() {
    let e = engine();
    let (stored, _) = active(&e);
    let (stored, codes) = new_codes(&e, &stored, 3);
    for c in &codes {
        assert!(!stored.contains(c.as_str()), "{stored} holds {c}");
        assert!(!stored.contains(&c.to_uppercase()), "{stored} holds {c}");
    }
    // The same codes under another user (or secret) hash differently.
    let bob = Subject::new("totp", "bob").unwrap();
    assert_ne!(
        e.keys.recovery(&ada()).hash(codes[0].as_bytes()),
        e.keys.recovery(&bob).hash(codes[0].as_bytes())
    );
}

#[test]
fn wrong_recovery_codes_share_the_failure_budget_with_wrong_totp_codes() {
    let e = engine();
    let (mut stored, seed) = active(&e);
    let (s, codes) = new_codes(&e, &stored, 3);
    stored = s;
    for i in 0..3 {
        stored = written(
            e.check(&ada(), Some(&stored), "x", T0 + i * S)
                .unwrap()
                .write,
        );
    }
    for i in 3..5 {
        let step = e
            .use_recovery_code(&ada(), Some(&stored), "zzzzzzzzzz", T0 + i * S)
            .unwrap();
        assert_eq!(step.answer, RecoveryVerdict::Invalid);
        stored = written(step.write);
    }
    let locked = RecoveryVerdict::Locked {
        retry_after_ms: 890_000,
    };
    let step = e
        .use_recovery_code(&ada(), Some(&stored), &codes[0], T0 + 10 * S)
        .unwrap();
    assert_eq!((step.answer, step.write), (locked, TotpWrite::Nothing));
    assert_eq!(step.answer.retry_after_ms(), Some(890_000));
    assert_eq!(step.answer.reason(), "locked");
    let now = T0 + 10 * S;
    let step = e
        .check(&ada(), Some(&stored), &code(&seed, now), now)
        .unwrap();
    assert!(matches!(step.answer, TotpVerdict::Locked { .. }));
    // A right recovery code after the window is accepted and clears the budget.
    let step = e
        .use_recovery_code(&ada(), Some(&stored), &codes[0], T0 + 900 * S)
        .unwrap();
    assert_eq!(step.answer, RecoveryVerdict::Accepted);
    assert_eq!(record(&written(step.write)).failures, 0);
}

#[test]
fn recovery_codes_need_an_enrollment_and_the_policys_entropy_length() {
    let e = engine();
    let step = e
        .new_recovery_codes(&ada(), None, &recovery_entropy(&e, 1))
        .unwrap();
    assert_eq!(
        (step.answer, step.write),
        (RecoveryCodes::NoEnrollment, TotpWrite::Nothing)
    );
    let (stored, _) = enrolled(&e);
    assert!(matches!(
        e.new_recovery_codes(&ada(), Some(&stored), &[0; 99]),
        Err(Error::InvalidArgument {
            argument: "entropy",
            ..
        })
    ));
    let step = e.use_recovery_code(&ada(), None, "abcdefghjk", T0).unwrap();
    assert_eq!(
        (step.answer, step.write),
        (RecoveryVerdict::NoEnrollment, TotpWrite::Nothing)
    );
}

#[test]
fn without_an_enrollment_check_answers_none_and_writes_nothing() {
    let e = engine();
    let step = e.check(&ada(), None, "123456", T0).unwrap();
    assert_eq!(
        (step.answer, step.write),
        (TotpVerdict::NoEnrollment, TotpWrite::Nothing)
    );
    assert_eq!(step.answer.reason(), "none");
    assert_eq!(e.status(None).unwrap(), TotpStatus::None);
    assert_eq!(TotpStatus::None.as_str(), "none");
}

#[test]
fn disabling_deletes_the_record_and_answers_whether_there_was_one() {
    // The value is not read: an enrollment and a corrupt value are deleted alike
    // (tests/js/totp.test.mjs stores corrupt ones through the driver).
    let e = engine();
    let step = e.disable(true);
    assert_eq!((step.answer, step.write), (true, TotpWrite::Delete));
    let step = e.disable(false);
    assert_eq!((step.answer, step.write), (false, TotpWrite::Nothing));
}

#[test]
fn corrupt_records_are_errors_for_every_reading_operation() {
    let e = engine();
    let otp_record = "[1,\"abababababababababababababababab\",9999,1,2,0,3,0,1,0,1,1]";
    for (text, want) in [
        ("garbage", DecodeError::Syntax),
        (otp_record, DecodeError::WrongType),
        ("[\"t9\"]", DecodeError::UnknownVersion),
    ] {
        let corrupt = Error::CorruptRecord(want);
        assert_eq!(e.check(&ada(), Some(text), "123456", T0), Err(corrupt));
        assert_eq!(e.status(Some(text)), Err(corrupt));
        assert_eq!(
            e.use_recovery_code(&ada(), Some(text), "abcdefghjk", T0),
            Err(corrupt)
        );
        let fresh = recovery_entropy(&e, 1);
        assert_eq!(
            e.new_recovery_codes(&ada(), Some(text), &fresh),
            Err(corrupt)
        );
        let options = EnrollOptions {
            replace: true,
            ..EnrollOptions::default()
        };
        assert_eq!(
            e.enroll(&ada(), Some(text), T0, &options, &entropy(1)),
            Err(corrupt)
        );
    }
}

#[test]
fn times_beyond_the_year_9999_are_invalid_arguments() {
    let e = engine();
    let (stored, _) = enrolled(&e);
    assert!(matches!(
        e.check(&ada(), Some(&stored), "123456", MAX_TIME),
        Err(Error::InvalidArgument {
            argument: "now",
            ..
        })
    ));
}

#[test]
fn debug_output_shows_neither_the_secret_nor_the_seed() {
    let e = engine();
    let step = e
        .enroll(&ada(), None, T0, &EnrollOptions::default(), &entropy(1))
        .unwrap();
    let Enrollment::Enrolled(enrolled) = &step.answer else {
        panic!("not enrolled")
    };
    let shown = format!(
        "{:?} {e:?} {:?}",
        step.answer,
        TotpConfig::new(SECRET.to_vec(), "A")
    );
    assert!(!shown.contains(enrolled.secret.as_str()), "{shown}");
    assert!(!shown.contains("unit-test"), "{shown}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

    #[test]
    fn any_submitted_text_gets_an_answer_and_only_six_digits_can_verify(
        submitted in "[0-9 a٠]{0,10}|\\PC{0,12}",
    ) {
        let e = engine();
        let (stored, _) = enrolled(&e);
        let step = e.check(&ada(), Some(&stored), &submitted, T0).unwrap();
        // An independent reading of the rule: White_Space and dashes dropped, full-width
        // forms as ASCII.
        let digits: String = submitted
            .chars()
            .map(|c| match c {
                '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap(),
                c => c,
            })
            .filter(|&c| !(c.is_whitespace() || matches!(c, '-' | '\u{2010}'..='\u{2015}' | '\u{2212}')))
            .collect();
        let code_shaped = digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit());
        if !code_shaped {
            proptest::prop_assert_eq!(step.answer, TotpVerdict::Invalid);
        }
        let step = e.use_recovery_code(&ada(), Some(&stored), &submitted, T0).unwrap();
        proptest::prop_assert_eq!(step.answer, RecoveryVerdict::Invalid);
    }
}

/// The TypeScript declarations of edge-otp/totp (src/wasm/types-totp.d.ts, the TOTP
/// binding's custom section) state the defaults in their docs: they must be the core's.
#[test]
fn the_typescript_docs_state_the_totp_defaults() {
    const TS: &str = include_str!("../wasm/types-totp.d.ts");
    let c = TotpConfig::new(b"0123456789abcdef".to_vec(), "Acme");
    let f = c.failure_limit.unwrap();
    let defaults = [
        ("algorithm", format!("Default \"{}\"", c.algorithm.as_str())),
        ("digits", format!("Default {}.", c.digits)),
        ("periodSeconds", format!("Default {}.", c.period_seconds)),
        ("window", format!("Default {} ", c.window)),
        (
            "failureLimit",
            format!(
                "Default {{ count: {}, windowSeconds: {} }}",
                f.count, f.window_seconds
            ),
        ),
        (
            "recoveryCodes",
            format!(
                "Default {{ count: {}, length: {} }}",
                c.recovery_codes.count, c.recovery_codes.length
            ),
        ),
    ];
    use crate::driver::*;
    use crate::policy::{MAX_SECRET_BYTES, MIN_SECRET_BYTES};
    let limits = [
        (
            "secret",
            format!("{MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes"),
        ),
        ("issuer", format!("1 to {MAX_ISSUER_CHARS} characters")),
        ("digits", format!("{MIN_DIGITS}..{MAX_DIGITS}.")),
        ("periodSeconds", format!("1..{MAX_PERIOD_SECONDS}.")),
        ("window", format!("0..{MAX_WINDOW}.")),
        (
            "recoveryCodes",
            format!("count 1..{MAX_RECOVERY_CODES}, length {MIN_RECOVERY_LENGTH}..{MAX_RECOVERY_LENGTH}."),
        ),
        ("keyPrefix", format!("At most {MAX_KEY_PREFIX} characters")),
        ("scope", format!("Default \"{DEFAULT_TOTP_SCOPE}\".")),
        ("keyPrefix", format!("Default \"{DEFAULT_KEY_PREFIX}\".")),
        ("timeoutMs", format!("1 to {MAX_TIMEOUT_MS}, null")),
        ("timeoutMs", format!("Default {DEFAULT_TIMEOUT_MS}.")),
    ];
    crate::typescript_tests::assert_docs_say(TS, defaults.into_iter().chain(limits));
}

/// The TypeScript unions JS users branch on are exactly the core's words. A new variant
/// stops the matches compiling: a reminder to add it to the list.
#[test]
fn the_typescript_unions_are_exactly_the_cores_words() {
    use crate::typescript_tests::union;
    const TS: &str = include_str!("../wasm/types-totp.d.ts");
    let recovery = [
        RecoveryVerdict::Accepted,
        RecoveryVerdict::Invalid,
        RecoveryVerdict::Used,
        RecoveryVerdict::NoEnrollment,
        RecoveryVerdict::Locked { retry_after_ms: 1 },
    ]
    .map(|v| {
        match v {
            RecoveryVerdict::Accepted
            | RecoveryVerdict::Invalid
            | RecoveryVerdict::Used
            | RecoveryVerdict::NoEnrollment
            | RecoveryVerdict::Locked { .. } => {}
        }
        v.reason()
    });
    assert_eq!(union(TS, "RecoveryReason"), recovery.into());
    let verdicts = [
        TotpVerdict::Verified,
        TotpVerdict::Replaced,
        TotpVerdict::Invalid,
        TotpVerdict::Replayed,
        TotpVerdict::NoEnrollment,
        TotpVerdict::Locked { retry_after_ms: 1 },
    ]
    .map(|v| {
        match v {
            TotpVerdict::Verified
            | TotpVerdict::Replaced
            | TotpVerdict::Invalid
            | TotpVerdict::Replayed
            | TotpVerdict::NoEnrollment
            | TotpVerdict::Locked { .. } => {}
        }
        v.reason()
    });
    assert_eq!(union(TS, "TotpReason"), verdicts.into());
    let statuses = [TotpStatus::None, TotpStatus::Pending, TotpStatus::Active].map(|s| {
        match s {
            TotpStatus::None | TotpStatus::Pending | TotpStatus::Active => {}
        }
        s.as_str()
    });
    assert_eq!(union(TS, "TotpStatus"), statuses.into());
    for a in Algorithm::ALL {
        let name = format!("\"{}\"", a.as_str());
        assert!(ALGORITHM_PROBLEM.contains(&name), "{name}");
    }
    let algorithms = Algorithm::ALL.map(|a| a.as_str());
    assert_eq!(union(TS, "TotpAlgorithm"), algorithms.into());
}

#[test]
fn fingerprints_are_equal_exactly_for_equal_secrets_policies_and_contexts() {
    let a = engine().fingerprint(b"login");
    assert_eq!(a, engine().fingerprint(b"login"));
    assert_ne!(a, engine().fingerprint(b"admin"));
    let tunings: [fn(&mut TotpConfig); 10] = [
        |c| c.secret = Zeroizing::new(b"another totp unit-test secret".to_vec()),
        |c| c.issuer = "Acme Corp.".into(),
        |c| c.algorithm = Algorithm::Sha256,
        |c| c.digits = 8,
        |c| c.period_seconds = 60,
        |c| c.window = 2,
        |c| c.failure_limit = None,
        |c| c.failure_limit.as_mut().unwrap().window_seconds += 1,
        |c| c.recovery_codes.count = 12,
        |c| c.recovery_codes.length = 12,
    ];
    for (i, tune) in tunings.into_iter().enumerate() {
        assert_ne!(a, engine_with(tune).fingerprint(b"login"), "setting {i}");
    }
}

#[test]
fn debug_forms_show_no_recovery_code_and_no_imported_seed() {
    let e = engine();
    let (stored, _) = enrolled(&e);
    let step = e
        .new_recovery_codes(&ada(), Some(&stored), &recovery_entropy(&e, 3))
        .unwrap();
    let shown = format!("{step:?}");
    let RecoveryCodes::Issued(codes) = step.answer else {
        panic!("no codes")
    };
    assert!(!codes.is_empty());
    for code in &codes {
        assert!(!shown.contains(code.as_str()), "{shown}");
    }
    assert!(
        shown.contains(&format!("<{} codes redacted>", codes.len())),
        "{shown}"
    );
    let seed = "JBSWY3DPEHPK3PXPJBSWY3DP";
    let options = EnrollOptions {
        secret: Some(seed),
        ..EnrollOptions::default()
    };
    let shown = format!("{options:?}");
    assert!(
        !shown.contains(seed) && shown.contains("<redacted>"),
        "{shown}"
    );
}
