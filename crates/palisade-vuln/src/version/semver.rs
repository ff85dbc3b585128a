//! Semantic Versioning 2.0's order, as OSV's `SEMVER` ranges use it: `v` prefix and
//! build metadata ignored, a pre-release before its release, pre-release identifiers
//! compared numerically when both are numbers, else as text, numbers first.

use std::cmp::Ordering;

use super::digits_cmp;

/// `a` against `b` in semver order (`v1.25.0-alpha.2+89aaf7c` < `1.25.0`).
#[must_use]
pub fn compare(a: &str, b: &str) -> Ordering {
    let parse = |v: &str| {
        let v = v.trim().trim_start_matches('v');
        let v = v.split_once('+').map_or(v, |(core, _)| core);
        let (core, pre) = v.split_once('-').map_or((v, None), |(c, p)| (c, Some(p)));
        (core.to_owned(), pre.map(str::to_owned))
    };
    let (ca, pa) = parse(a);
    let (cb, pb) = parse(b);
    let mut na = ca.split('.');
    let mut nb = cb.split('.');
    // Major, minor, patch; a missing part is 0.
    for _ in 0..3 {
        let (x, y) = (na.next().unwrap_or("0"), nb.next().unwrap_or("0"));
        let order = digits_cmp(x.as_bytes(), y.as_bytes());
        if order != Ordering::Equal {
            return order;
        }
    }
    match (pa, pb) {
        (None, None) => Ordering::Equal,
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (Some(pa), Some(pb)) => {
            let (mut ia, mut ib) = (pa.split('.'), pb.split('.'));
            loop {
                match (ia.next(), ib.next()) {
                    (None, None) => return Ordering::Equal,
                    (None, Some(_)) => return Ordering::Less,
                    (Some(_), None) => return Ordering::Greater,
                    (Some(x), Some(y)) => {
                        let num = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
                        let order = match (num(x), num(y)) {
                            (true, true) => digits_cmp(x.as_bytes(), y.as_bytes()),
                            (true, false) => Ordering::Less,
                            (false, true) => Ordering::Greater,
                            (false, false) => x.cmp(y),
                        };
                        if order != Ordering::Equal {
                            return order;
                        }
                    }
                }
            }
        }
    }
}
