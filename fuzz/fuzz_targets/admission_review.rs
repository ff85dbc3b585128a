//! Fuzzes the webhook's body parser and judge: arbitrary bytes in, an answer or an error
//! out, never a panic; an answer echoes the request's uid and serializes.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use palisade_admission::{review::response_body, Judge, JudgeConfig};
use palisade_config::{scan_setup, Config, Overrides};

fn judge() -> &'static Judge {
    static JUDGE: OnceLock<Judge> = OnceLock::new();
    JUDGE.get_or_init(|| {
        let (checks, scan) = scan_setup(&Config::default(), &Overrides::default()).unwrap();
        Judge::new(JudgeConfig { checks, scan, admission: Default::default() }).unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok((api_version, decision)) = judge().review(data) {
        assert!(!decision.response.uid.is_empty());
        let body = response_body(&api_version, &decision.response);
        serde_json::from_slice::<serde_json::Value>(&body).unwrap();
    }
});
