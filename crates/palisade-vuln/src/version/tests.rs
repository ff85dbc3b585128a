//! Known orders from each ecosystem's documentation, and random pairs judged by the real
//! `dpkg` and `rpm` (the tests skip, saying so, where a tool is not installed; `.ci/run`
//! installs both).

use std::cmp::Ordering::{self, Equal, Greater, Less};
use std::process::Command;

use super::*;

/// Each pair in order, and the reverse, and each with itself.
fn check_chain(ecosystem: Ecosystem, chain: &[&str]) {
    for w in chain.windows(2) {
        assert_eq!(
            compare(ecosystem, w[0], w[1]),
            Less,
            "{ecosystem:?}: {} < {}",
            w[0],
            w[1]
        );
        assert_eq!(
            compare(ecosystem, w[1], w[0]),
            Greater,
            "{ecosystem:?}: {} > {}",
            w[1],
            w[0]
        );
    }
    for v in chain {
        assert_eq!(compare(ecosystem, v, v), Equal, "{v}");
    }
}

#[test]
fn dpkg_orders_as_debian_policy_says() {
    check_chain(
        Ecosystem::Dpkg,
        &[
            "0.9",
            "1.0~~",
            "1.0~~a",
            "1.0~",
            "1.0",
            "1.0-1",
            "1.0a",
            "1.0+b1",
            "1.0.1",
            "1.1",
            "1.10",
            "2.0~rc1",
            "2.0",
            "1:0.1",
            "1:1.0-0ubuntu1",
            "1:1.0-1",
            "2:0",
        ],
    );
    // An absent revision is the revision 0; leading zeros do not count.
    assert_eq!(dpkg("1.0", "1.0-0"), Equal);
    assert_eq!(dpkg("1.002", "1.2"), Equal);
    assert_eq!(dpkg("0:1.0", "1.0"), Equal);
    // Only the last hyphen starts the revision.
    assert_eq!(dpkg("1.0-2-1", "1.0-2-2"), Less);
}

#[test]
fn rpm_orders_as_rpmvercmp_does() {
    check_chain(
        Ecosystem::Rpm,
        &[
            "1.0~rc1",
            "1.0",
            "1.0^git1",
            "1.0a",
            "1.0.1",
            "1.1",
            "1.10",
            "2.0-1",
            "2.0-2.el9",
            "2.0-10",
            "1:0.5",
        ],
    );
    // Separators only separate; a number is newer than letters.
    assert_eq!(rpm("1.0_1", "1.0.1"), Equal);
    assert_eq!(rpm("1.0a", "1.0.1"), Less);
    // No release is older than any.
    assert_eq!(rpm("2.0", "2.0-5"), Less);
}

#[test]
fn apk_orders_as_apk_tools_does() {
    check_chain(
        Ecosystem::Apk,
        &[
            "1.0_alpha",
            "1.0_alpha2",
            "1.0_beta",
            "1.0_pre1",
            "1.0_rc1",
            "1.0",
            "1.0-r1",
            "1.0_git20240101",
            "1.0_p1",
            "1.0a",
            "1.0.1",
            "1.01.0",
            "1.1",
            "1.2.3-r0",
            "1.2.3-r10",
            "1.10",
        ],
    );
    assert_eq!(apk("1.0", "1.0-r0"), Equal);
    // A version that does not parse sorts first.
    assert_eq!(apk("not-a-version", "0.1"), Less);
}

/// xorshift: reproducible pseudo-random numbers without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn pick<'a>(&mut self, from: &'a [&'a str]) -> &'a str {
        from[(self.next() % from.len() as u64) as usize]
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A version made of the pieces that decide orders: digits, dots, letters, `~`, `+`,
/// `^`, an epoch and a revision, often sharing prefixes so that the deep rules matter.
fn random_version(rng: &mut Rng, tilde: &str) -> String {
    let pieces = [
        "0", "1", "2", "10", "01", "a", "b", "rc", ".", ".", tilde, "+",
    ];
    let mut v = String::new();
    if rng.below(6) == 0 {
        v.push_str(&format!("{}:", rng.below(3)));
    }
    v.push_str(rng.pick(&["0", "1", "2"]));
    for _ in 0..rng.below(5) {
        v.push_str(rng.pick(&pieces));
    }
    if rng.below(3) == 0 {
        v.push('-');
        v.push_str(rng.pick(&["0", "1", "2", "1a", "1.1"]));
        for _ in 0..rng.below(3) {
            v.push_str(rng.pick(&pieces));
        }
    }
    v
}

/// Whether `name` runs; CI sets `PALISADE_TEST_ORACLES` so that a missing tool fails
/// the test rather than skipping it.
fn tool(name: &str) -> bool {
    let present = Command::new(name)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        present || std::env::var_os("PALISADE_TEST_ORACLES").is_none(),
        "{name} is not installed but PALISADE_TEST_ORACLES is set"
    );
    present
}

#[test]
fn dpkg_agrees_with_dpkg_compare_versions_on_random_pairs() {
    if !tool("dpkg") {
        eprintln!("skipped: dpkg is not installed");
        return;
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut differ = Vec::new();
    for _ in 0..300 {
        let (a, b) = (random_version(&mut rng, "~"), random_version(&mut rng, "~"));
        let is = |op: &str| {
            Command::new("dpkg")
                .args(["--compare-versions", &a, op, &b])
                .status()
                .expect("dpkg runs")
                .success()
        };
        let want = if is("lt") {
            Less
        } else if is("eq") {
            Equal
        } else {
            Greater
        };
        if dpkg(&a, &b) != want {
            differ.push(format!("{a} vs {b}: dpkg says {want:?}"));
        }
    }
    assert!(differ.is_empty(), "{differ:#?}");
}

#[test]
fn rpm_agrees_with_rpm_on_random_pairs() {
    if !tool("rpm") {
        eprintln!("skipped: rpm is not installed (apt-get install rpm)");
        return;
    }
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut pairs = Vec::new();
    for i in 0..1000 {
        let tilde = if i % 2 == 0 { "~" } else { "^" };
        pairs.push((
            random_version(&mut rng, tilde),
            random_version(&mut rng, tilde),
        ));
    }
    // One rpm run judges every pair, with rpm's own EVR parsing and comparison.
    let mut script = String::from("local pairs = {");
    for (a, b) in &pairs {
        script.push_str(&format!("{{'{a}','{b}'}},"));
    }
    script.push_str(
        "} for _, p in ipairs(pairs) do local x, y = rpm.ver(p[1]), rpm.ver(p[2]) \
         if x == y then print('0\\n') elseif x < y then print('-1\\n') else print('1\\n') end end",
    );
    let out = Command::new("rpm")
        .arg("--eval")
        .arg(format!("%{{lua: {script}}}"))
        .output()
        .expect("rpm runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let answers: Vec<&str> = text.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(
        answers.len(),
        pairs.len(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut differ = Vec::new();
    for ((a, b), answer) in pairs.iter().zip(answers) {
        let want: Ordering = match answer {
            "-1" => Less,
            "0" => Equal,
            _ => Greater,
        };
        if rpm(a, b) != want {
            differ.push(format!("{a} vs {b}: rpm says {want:?}"));
        }
    }
    assert!(differ.is_empty(), "{differ:#?}");
}

#[test]
fn semver_orders_pre_releases_before_releases_and_ignores_build_metadata() {
    check_chain(
        Ecosystem::Semver,
        &[
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.25.0-alpha.2",
            "v1.25.0",
            "1.25.10",
        ],
    );
    assert_eq!(
        semver("v1.25.0-alpha.2+89aaf7c02dd3", "1.25.0-alpha.2"),
        Equal
    );
    assert_eq!(semver("1.30", "1.30.0"), Equal);
}
