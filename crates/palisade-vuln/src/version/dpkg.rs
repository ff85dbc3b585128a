//! Debian's order (deb-version(7)): the epoch as a number, then the upstream version and
//! the revision, each compared in alternating runs of non-digits (letters before other
//! characters, `~` before everything, even the end) and digits (as numbers).

use std::cmp::Ordering;

use super::{digits_cmp, split_epoch};

/// `a` against `b` as `dpkg --compare-versions` orders them.
#[must_use]
pub fn compare(a: &str, b: &str) -> Ordering {
    let (ea, ra) = split_epoch(a.trim());
    let (eb, rb) = split_epoch(b.trim());
    let (ua, va) = split_revision(ra);
    let (ub, vb) = split_revision(rb);
    digits_cmp(ea.as_bytes(), eb.as_bytes())
        .then_with(|| part_cmp(ua.as_bytes(), ub.as_bytes()))
        .then_with(|| part_cmp(va.as_bytes(), vb.as_bytes()))
}

/// The upstream version and the revision after the last `-` (none: empty, which
/// orders as `0`).
fn split_revision(v: &str) -> (&str, &str) {
    v.rsplit_once('-').unwrap_or((v, ""))
}

/// A character's weight in a non-digit run: the end and digits 0, `~` below that,
/// letters by their code, anything else after every letter.
fn weight(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

fn part_cmp(mut a: &[u8], mut b: &[u8]) -> Ordering {
    while !a.is_empty() || !b.is_empty() {
        // The non-digit run, character by character.
        while a.first().is_some_and(|c| !c.is_ascii_digit())
            || b.first().is_some_and(|c| !c.is_ascii_digit())
        {
            let (wa, wb) = (weight(a.first().copied()), weight(b.first().copied()));
            if wa != wb {
                return wa.cmp(&wb);
            }
            a = a.get(1..).unwrap_or_default();
            b = b.get(1..).unwrap_or_default();
        }
        // The digit run, as a number.
        let na = a.iter().take_while(|c| c.is_ascii_digit()).count();
        let nb = b.iter().take_while(|c| c.is_ascii_digit()).count();
        let order = digits_cmp(&a[..na], &b[..nb]);
        if order != Ordering::Equal {
            return order;
        }
        a = &a[na..];
        b = &b[nb..];
    }
    Ordering::Equal
}
