//! Fuzzes the kubelet's effective configuration: arbitrary bytes as its `--config` file,
//! a drop-in and flags; no panic, and every position inside the text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| palisade_node::kubelet::fuzz_one(data));
