//! Plain-scalar typing as Kubernetes tooling does it.
//!
//! kubectl and the API machinery read YAML through `sigs.k8s.io/yaml`, which resolves
//! plain scalars with go-yaml v2's YAML 1.1 rules: `yes`, `on` and `y` are booleans, and
//! integers take Go's base prefixes. Reading `privileged: yes` as a string would miss a
//! privileged container the cluster happily runs.

/// The boolean a plain scalar resolves to, if any.
#[must_use]
pub fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Some(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Some(false)
        }
        _ => None,
    }
}

/// True for the plain scalars that resolve to null.
#[must_use]
pub fn is_go_null(s: &str) -> bool {
    matches!(s, "" | "~" | "null" | "Null" | "NULL")
}

/// The integer a plain scalar resolves to (Go's `strconv.ParseInt(s, 0, 64)` after
/// removing `_`), if any.
#[must_use]
pub fn parse_go_int(s: &str) -> Option<i64> {
    let cleaned: String;
    let s = if s.contains('_') {
        cleaned = s.replace('_', "");
        cleaned.as_str()
    } else {
        s
    };
    let (negative, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = digits.get(..2).map(str::to_ascii_lowercase);
    let (radix, body) = match lower.as_deref() {
        Some("0x") => (16, &digits[2..]),
        Some("0b") => (2, &digits[2..]),
        Some("0o") => (8, &digits[2..]),
        _ if digits.len() > 1 && digits.starts_with('0') => (8, &digits[1..]),
        _ => (10, digits),
    };
    if body.is_empty() || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let magnitude = i128::from(u64::from_str_radix(body, radix).ok()?);
    let value = if negative { -magnitude } else { magnitude };
    i64::try_from(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_1_1_booleans() {
        for t in ["yes", "On", "TRUE", "y"] {
            assert_eq!(parse_go_bool(t), Some(true), "{t}");
        }
        for f in ["no", "off", "False", "N"] {
            assert_eq!(parse_go_bool(f), Some(false), "{f}");
        }
        assert_eq!(parse_go_bool("tRUE"), None);
        assert_eq!(parse_go_bool("1"), None);
    }

    #[test]
    fn go_integers() {
        assert_eq!(parse_go_int("0"), Some(0));
        assert_eq!(parse_go_int("-0"), Some(0));
        assert_eq!(parse_go_int("1_000"), Some(1000));
        assert_eq!(parse_go_int("0x10"), Some(16));
        assert_eq!(parse_go_int("010"), Some(8));
        assert_eq!(parse_go_int("0b11"), Some(3));
        assert_eq!(parse_go_int("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_go_int("9223372036854775808"), None);
        assert_eq!(parse_go_int("08"), None);
        assert_eq!(parse_go_int("1.0"), None);
        assert_eq!(parse_go_int(""), None);
        assert_eq!(parse_go_int("-"), None);
        assert_eq!(parse_go_int("+-1"), None);
    }

    #[test]
    fn nulls() {
        assert!(is_go_null("~") && is_go_null("") && is_go_null("NULL"));
        assert!(!is_go_null("nil"));
    }
}
