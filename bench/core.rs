//! Micro-benchmark of the core, without a framework: `cargo bench --bench core`.
//!
//! Each row is the median of 5 timed runs (after a warm-up run) of enough iterations to
//! last about 100 ms, reported in nanoseconds per operation. The engine is exercised
//! through its public API, exactly as the drivers call it.

use edge_otp::{Config, Engine, Issue, Op, Policy, Record, Subject, SALT_LEN};
use std::hint::black_box;
use std::time::{Duration, Instant};

const T0: u64 = 1_700_000_000_000;
const RUNS: usize = 5;
const TARGET: Duration = Duration::from_millis(100);

/// Times `f` over `iterations` calls; answers ns per call.
fn time<T>(iterations: u64, f: &mut impl FnMut(u64) -> T) -> f64 {
    let start = Instant::now();
    for i in 0..iterations {
        black_box(f(black_box(i)));
    }
    start.elapsed().as_nanos() as f64 / iterations as f64
}

/// Finds an iteration count lasting about `TARGET`, then answers the ns per call of
/// `RUNS` runs, sorted.
fn measure<T>(mut f: impl FnMut(u64) -> T) -> Vec<f64> {
    let mut iterations = 1u64;
    loop {
        let start = Instant::now();
        for i in 0..iterations {
            black_box(f(black_box(i)));
        }
        let elapsed = start.elapsed();
        if elapsed >= TARGET / 4 {
            let per_call = elapsed.as_nanos() as f64 / iterations as f64;
            iterations = ((TARGET.as_nanos() as f64 / per_call) as u64).max(1);
            break;
        }
        iterations *= 2;
    }
    let mut runs: Vec<f64> = (0..RUNS).map(|_| time(iterations, &mut f)).collect();
    runs.sort_by(|a, b| a.partial_cmp(b).unwrap());
    runs
}

fn row<T>(name: &str, f: impl FnMut(u64) -> T) {
    let runs = measure(f);
    let median = runs[RUNS / 2];
    println!(
        "| {name:<50} | {median:>9.1} | {:>9.1} | {:>9.1} | {:>11.0} |",
        runs[0],
        runs[RUNS - 1],
        1e9 / median
    );
}

fn salt(i: u64) -> [u8; SALT_LEN] {
    let mut s = [0u8; SALT_LEN];
    s[..8].copy_from_slice(&i.to_le_bytes());
    s
}

fn main() {
    let engine =
        Engine::new(Policy::new(Config::new(b"benchmark secret, 16+ bytes".to_vec())).unwrap());
    let mut six = Config::new(b"benchmark secret, 16+ bytes".to_vec());
    six.length = 6;
    let engine6 = Engine::new(Policy::new(six).unwrap());
    let ada = Subject::new("login", "ada@example.com").unwrap();

    let step = engine.create(&ada, None, T0, salt(1)).unwrap();
    let Issue::Issued(view) = step.answer else {
        panic!("first issue refused")
    };
    let record = step.write.unwrap();
    let code = view.code.as_str().to_owned();
    let wrong: String = code
        .bytes()
        .map(|b| char::from(b'0' + (b - b'0' + 1) % 10))
        .collect();
    let wire = record.encode();
    let later = T0 + 60_000; // past the cooldown, inside the code's lifetime

    println!(
        "edge-otp core: ns per operation, median (min, max) of {RUNS} runs of ~{} ms",
        TARGET.as_millis()
    );
    println!();
    println!(
        "| {:<50} | {:>9} | {:>9} | {:>9} | {:>11} |",
        "operation", "median", "min", "max", "ops/s"
    );
    println!(
        "|{:-<52}|{:->11}|{:->11}|{:->11}|{:->13}|",
        "", "", "", "", ""
    );
    row("Engine::create, first code (no record)", |i| {
        engine
            .create(&ada, None, black_box(T0 + i), salt(i))
            .unwrap()
    });
    row("Engine::create, next code (stored record)", |i| {
        engine
            .create(&ada, black_box(Some(&record)), later + i, salt(i))
            .unwrap()
    });
    row("Engine::verify, right code", |_| {
        engine
            .verify(&ada, black_box(Some(&record)), black_box(&code), later)
            .unwrap()
    });
    row("Engine::verify, wrong code", |_| {
        engine
            .verify(&ada, black_box(Some(&record)), black_box(&wrong), later)
            .unwrap()
    });
    row("Engine::latest (code derivation), 4 digits", |_| {
        engine
            .latest(&ada, black_box(Some(&record)), later)
            .unwrap()
    });
    row("Engine::latest (code derivation), 6 digits", |_| {
        engine6
            .latest(&ada, black_box(Some(&record)), later)
            .unwrap()
    });
    row("Record::decode", |_| {
        Record::decode(black_box(&wire)).unwrap()
    });
    row("Record::encode", |_| black_box(&record).encode());
    row("Engine::apply(Verify wrong): decode+verify+encode", |_| {
        engine
            .apply(
                Op::Verify(black_box(&wrong)),
                &ada,
                Some(black_box(&wire)),
                later,
                [0; SALT_LEN],
            )
            .unwrap()
    });
}
