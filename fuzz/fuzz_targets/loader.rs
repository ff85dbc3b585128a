//! Fuzzes the whole loader and every check: arbitrary bytes in, no panic out, and every
//! reported position inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_inventory::{InputKind, InputSpec};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data).into_owned();
    // YAML counts `\n`, `\r\n` and a lone `\r` as line breaks: this bounds them all.
    let lines = u32::try_from(text.bytes().filter(|b| matches!(b, b'\n' | b'\r')).count()).unwrap_or(u32::MAX) + 1;
    let input = InputSpec { name: "fuzz".into(), kind: InputKind::Inline(text) };
    let result = palisade_engine::scan(&[input], &palisade_checks::registry(), &Default::default());
    for f in &result.findings {
        assert!(f.location.line >= 1 && f.location.line <= lines, "{f:?}");
        assert!(f.location.column >= 1);
    }
    for e in &result.errors {
        assert!(e.line <= lines, "{e:?}");
    }
});
