//! Replays the kubelet-configuration fuzz target's seeds (`fuzz/seeds/kubelet_config`),
//! hostile inputs among them (aliases, deep nesting, broken YAML, binary, a list root),
//! with the target's invariants.

use std::path::Path;

#[test]
fn kubelet_config_seeds_hold_the_invariants() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds/kubelet_config");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        palisade_node::kubelet::fuzz_one(&data);
        seen += 1;
    }
    assert!(seen >= 7);
}
