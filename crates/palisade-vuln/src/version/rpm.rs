//! rpm's order (rpmvercmp): the epoch as a number, then version and release, each split
//! into runs of digits and of letters with every other character a separator; digit runs
//! compare as numbers and beat letter runs; `~` sorts before anything (a pre-release),
//! `^` after the end but before anything else (a post-release snapshot).

use std::cmp::Ordering;

use super::{digits_cmp, split_epoch};

/// `a` against `b` as `rpm.vercmp` orders full `[epoch:]version[-release]` strings.
#[must_use]
pub fn compare(a: &str, b: &str) -> Ordering {
    let (ea, ra) = split_epoch(a.trim());
    let (eb, rb) = split_epoch(b.trim());
    let (va, la) = ra.rsplit_once('-').unwrap_or((ra, ""));
    let (vb, lb) = rb.rsplit_once('-').unwrap_or((rb, ""));
    digits_cmp(ea.as_bytes(), eb.as_bytes())
        .then_with(|| vercmp(va.as_bytes(), vb.as_bytes()))
        // No release is an empty one, older than any, as rpm's own EVR comparison
        // (`rpm.ver`) has it.
        .then_with(|| vercmp(la.as_bytes(), lb.as_bytes()))
}

fn is_separator(c: u8) -> bool {
    !c.is_ascii_alphanumeric() && c != b'~' && c != b'^'
}

/// rpmvercmp on one field.
pub(crate) fn vercmp(mut a: &[u8], mut b: &[u8]) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    loop {
        while a.first().is_some_and(|c| is_separator(*c)) {
            a = &a[1..];
        }
        while b.first().is_some_and(|c| is_separator(*c)) {
            b = &b[1..];
        }
        // `~`: before everything, the end included.
        if a.first() == Some(&b'~') || b.first() == Some(&b'~') {
            if a.first() != Some(&b'~') {
                return Ordering::Greater;
            }
            if b.first() != Some(&b'~') {
                return Ordering::Less;
            }
            a = &a[1..];
            b = &b[1..];
            continue;
        }
        // `^`: after the end, before anything else.
        if a.first() == Some(&b'^') || b.first() == Some(&b'^') {
            if a.is_empty() {
                return Ordering::Less;
            }
            if b.is_empty() {
                return Ordering::Greater;
            }
            if a.first() != Some(&b'^') {
                return Ordering::Greater;
            }
            if b.first() != Some(&b'^') {
                return Ordering::Less;
            }
            a = &a[1..];
            b = &b[1..];
            continue;
        }
        if a.is_empty() || b.is_empty() {
            break;
        }
        let numeric = a[0].is_ascii_digit();
        let run = |s: &[u8]| {
            s.iter()
                .take_while(|c| {
                    if numeric {
                        c.is_ascii_digit()
                    } else {
                        c.is_ascii_alphabetic()
                    }
                })
                .count()
        };
        let (na, nb) = (run(a), run(b));
        // Runs of different types: the numeric one is newer.
        if nb == 0 {
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let order = if numeric {
            digits_cmp(&a[..na], &b[..nb])
        } else {
            a[..na].cmp(&b[..nb])
        };
        if order != Ordering::Equal {
            return order;
        }
        a = &a[na..];
        b = &b[nb..];
    }
    // The one with something left is newer.
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Ordering::Equal,
        (false, _) => Ordering::Greater,
        (true, false) => Ordering::Less,
    }
}
