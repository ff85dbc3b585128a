//! The body parser and judge under hostile input: the fuzz target's seeds
//! (`fuzz/seeds/admission_review`) and deterministic mutations of them, each answered or
//! refused, never a panic. `PALISADE_FUZZ_ROUNDS` runs longer campaigns.

mod common;

use std::path::Path;

use palisade_admission::review::response_body;
use serde_json::Value;

/// xorshift64*: the same mutations on every run for a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TOKENS: &[&[u8]] = &[
    b"null",
    b"{}",
    b"[]",
    b"\"\"",
    b"true",
    b"-1",
    b"1e999",
    b"\"\\u0000\"",
    b"\"\\ud800\"",
    b"{\"kind\":\"Pod\"}",
    b"\"CREATE\"",
    b"\"UPDATE\"",
    b"\"ephemeralcontainers\"",
    b"\"Namespace\"",
    b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut out = seed.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(4) {
            0 if !out.is_empty() => {
                let end = (at + rng.below(16)).min(out.len());
                out.drain(at.min(end)..end);
            }
            1 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                out.splice(at..at, t.iter().copied());
            }
            2 if at < out.len() => out[at] = (rng.next() & 0xff) as u8,
            _ => {
                // Swap a value: the text between two quotes for a token.
                let t = TOKENS[rng.below(TOKENS.len())];
                if let Some(q) = out[at..].iter().position(|b| *b == b':') {
                    let start = at + q + 1;
                    let end = out[start..]
                        .iter()
                        .position(|b| *b == b',' || *b == b'}')
                        .map_or(out.len(), |e| start + e);
                    out.splice(start..end, t.iter().copied());
                }
            }
        }
    }
    out
}

#[test]
fn mutated_reviews_are_answered_or_refused() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/admission_review");
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    assert!(seeds.len() >= 4, "seeds missing in {}", dir.display());
    seeds.sort();
    let judge = common::judge("admission:\n  default-mode: warn\n");
    let rounds: usize = std::env::var("PALISADE_FUZZ_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3000);
    let mut rng = Rng(std::env::var("PALISADE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed));
    let (mut answered, mut refused) = (0, 0);
    for round in 0..rounds + seeds.len() {
        let body = if round < seeds.len() {
            seeds[round].clone()
        } else {
            let pick = rng.below(seeds.len());
            mutate(&mut rng, &seeds[pick])
        };
        match judge.review(&body) {
            Ok((api_version, d)) => {
                answered += 1;
                // The object is kept as raw text, whose strings serde does not check to
                // the last escape; Palisade's own reader reads it (or says it cannot).
                if let Ok(request) = serde_json::from_slice::<Value>(&body) {
                    assert_eq!(request["request"]["uid"], d.response.uid.as_str());
                }
                assert!(!d.response.uid.is_empty());
                let answer: Value =
                    serde_json::from_slice(&response_body(&api_version, &d.response)).unwrap();
                assert_eq!(answer["response"]["allowed"], d.response.allowed);
                for w in &d.response.warnings {
                    assert!(w.chars().count() <= palisade_admission::MAX_WARNING);
                }
            }
            Err(_) => refused += 1,
        }
    }
    // Both sides were exercised.
    assert!(
        answered > rounds / 10 && refused > rounds / 10,
        "{answered} answered, {refused} refused"
    );
}
