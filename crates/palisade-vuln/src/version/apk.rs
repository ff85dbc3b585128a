//! Alpine's order (apk-tools' `apk version -t`): dot-separated numbers, an optional
//! letter, suffixes (`_alpha` < `_beta` < `_pre` < `_rc` < none < `_cvs` < `_svn` <
//! `_git` < `_hg` < `_p`, each with an optional number), then `-rN`. Numbers after the
//! first that begin with `0` compare as decimal fractions, as apk-tools does (`1.01` <
//! `1.1`). A version that does not parse sorts before any that does, and two such
//! compare as strings.

use std::cmp::Ordering;

use super::digits_cmp;

/// Suffix ranks; `NONE` stands between pre-releases and post-releases.
const SUFFIXES: [(&str, i8); 9] = [
    ("alpha", -4),
    ("beta", -3),
    ("pre", -2),
    ("rc", -1),
    ("cvs", 1),
    ("svn", 2),
    ("git", 3),
    ("hg", 4),
    ("p", 5),
];
const NONE: i8 = 0;

#[derive(Debug, PartialEq, Eq)]
struct Parsed<'a> {
    numbers: Vec<&'a str>,
    letter: Option<u8>,
    suffixes: Vec<(i8, &'a str)>,
    revision: &'a str,
}

fn parse(v: &str) -> Option<Parsed<'_>> {
    let (body, revision) = match v.rsplit_once("-r") {
        Some((body, r)) if !r.is_empty() && r.bytes().all(|c| c.is_ascii_digit()) => (body, r),
        _ => (v, "0"),
    };
    let (head, suffix_text) = match body.find('_') {
        Some(i) => (&body[..i], &body[i + 1..]),
        None => (body, ""),
    };
    let (numbers_text, letter) = match head.as_bytes().last() {
        Some(c) if c.is_ascii_lowercase() => (&head[..head.len() - 1], Some(*c)),
        _ => (head, None),
    };
    let numbers: Vec<&str> = numbers_text.split('.').collect();
    if numbers
        .iter()
        .any(|n| n.is_empty() || !n.bytes().all(|c| c.is_ascii_digit()))
    {
        return None;
    }
    let mut suffixes = Vec::new();
    if !suffix_text.is_empty() {
        for s in suffix_text.split('_') {
            let name_len = s.bytes().take_while(u8::is_ascii_lowercase).count();
            let (name, number) = s.split_at(name_len);
            let rank = SUFFIXES.iter().find(|(n, _)| *n == name)?.1;
            if !number.bytes().all(|c| c.is_ascii_digit()) {
                return None;
            }
            suffixes.push((rank, number));
        }
    }
    Some(Parsed {
        numbers,
        letter,
        suffixes,
        revision,
    })
}

/// Numbers after the first: one starting with `0` is a decimal fraction.
fn later_number_cmp(a: &str, b: &str) -> Ordering {
    if a.starts_with('0') || b.starts_with('0') {
        let (a, b) = (a.trim_end_matches('0'), b.trim_end_matches('0'));
        a.cmp(b)
    } else {
        digits_cmp(a.as_bytes(), b.as_bytes())
    }
}

/// `a` against `b` as `apk version -t` orders them.
#[must_use]
pub fn compare(a: &str, b: &str) -> Ordering {
    let (pa, pb) = match (parse(a.trim()), parse(b.trim())) {
        (Some(pa), Some(pb)) => (pa, pb),
        (None, Some(_)) => return Ordering::Less,
        (Some(_), None) => return Ordering::Greater,
        (None, None) => return a.cmp(b),
    };
    for (i, (x, y)) in pa.numbers.iter().zip(&pb.numbers).enumerate() {
        let order = if i == 0 {
            digits_cmp(x.as_bytes(), y.as_bytes())
        } else {
            later_number_cmp(x, y)
        };
        if order != Ordering::Equal {
            return order;
        }
    }
    // More numbers: newer (`1.2.1` > `1.2`, `1.2.1` > `1.2a`).
    let order = pa.numbers.len().cmp(&pb.numbers.len());
    if order != Ordering::Equal {
        return order;
    }
    let order = pa.letter.cmp(&pb.letter);
    if order != Ordering::Equal {
        return order;
    }
    for i in 0..pa.suffixes.len().max(pb.suffixes.len()) {
        let (ra, na) = pa.suffixes.get(i).copied().unwrap_or((NONE, ""));
        let (rb, nb) = pb.suffixes.get(i).copied().unwrap_or((NONE, ""));
        let order = ra
            .cmp(&rb)
            .then_with(|| digits_cmp(na.as_bytes(), nb.as_bytes()));
        if order != Ordering::Equal {
            return order;
        }
    }
    digits_cmp(pa.revision.as_bytes(), pb.revision.as_bytes())
}
