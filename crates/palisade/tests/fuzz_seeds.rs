//! Replays the fuzz target's seeds (`fuzz/seeds/loader`) with the same invariants, so
//! every test run exercises what the fuzzer starts from.

use std::path::Path;

use palisade_inventory::{InputKind, InputSpec};

#[test]
fn fuzz_seeds_hold_the_invariants() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/loader");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&data).into_owned();
        // YAML counts `\n`, `\r\n` and a lone `\r` as line breaks: this bounds them all.
        let lines =
            u32::try_from(text.bytes().filter(|b| matches!(b, b'\n' | b'\r')).count()).unwrap() + 1;
        let input = InputSpec {
            name: "seed".into(),
            kind: InputKind::Inline(text),
        };
        let result =
            palisade_engine::scan(&[input], &palisade_checks::registry(), &Default::default());
        for f in &result.findings {
            assert!(f.location.line >= 1 && f.location.line <= lines, "{f:?}");
            assert!(f.location.column >= 1);
        }
        for e in &result.errors {
            assert!(e.line <= lines, "{e:?}");
        }
        seen += 1;
    }
    assert!(seen >= 5);
}
