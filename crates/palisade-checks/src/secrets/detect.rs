//! Credential detection by content and by name, shared by the secrets checks.
//!
//! [`detect`] recognises provider key formats by their documented prefixes and lengths,
//! PEM private keys, JWTs, passwords inside URLs, and (with lower confidence) long random
//! tokens. [`sensitive_name`] recognises variable and key names that hold credentials.
//! [`is_placeholder`] recognises values that cannot be a working credential (templates,
//! references, `REPLACE_ME`). Nothing here keeps or returns any part of a value.
//!
//! Weak real values such as `changeme`, `password` or `admin` are *not* placeholders: they
//! are what gets deployed when nobody replaces the default, and they are the first thing an
//! attacker tries.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use palisade_model::Severity;

/// What a value was recognised as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Detection {
    /// `"AWS access key id"`, `"private key"`, ...: safe to print.
    pub kind: &'static str,
    /// How bad a leak of it is, and how sure the match is.
    pub severity: Severity,
}

const fn found(kind: &'static str, severity: Severity) -> Option<Detection> {
    Some(Detection { kind, severity })
}

/// The most specific credential format found anywhere in `value`, if any. Provider
/// formats are found even inside templated text: a key beside a `${VAR}` is still a key.
#[must_use]
pub fn detect(value: &str) -> Option<Detection> {
    let anchors = Anchors::of(value);
    structured(value, &anchors)
        .or_else(|| provider_key(value, &anchors))
        .or_else(|| jwt(value, &anchors))
        .or_else(|| url_password(value, &anchors))
        .or_else(|| high_entropy(value))
}

/// A literal that starts a detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Anchor {
    /// The prefix of `FORMATS[i]`.
    Format(usize),
    SendGrid,
    Jwt,
    Scheme,
    PemBegin,
    PrivateKeyField,
    ServiceAccount,
}

impl Anchor {
    fn literal(self) -> &'static str {
        match self {
            Anchor::Format(i) => FORMATS[i].prefix,
            Anchor::SendGrid => "SG.",
            Anchor::Jwt => "eyJ",
            Anchor::Scheme => "://",
            Anchor::PemBegin => "-----BEGIN ",
            Anchor::PrivateKeyField => "\"private_key\"",
            Anchor::ServiceAccount => "service_account",
        }
    }
}

/// Every anchor, in pattern-id order.
static ANCHORS: LazyLock<(AhoCorasick, Vec<Anchor>)> = LazyLock::new(|| {
    let anchors: Vec<Anchor> = (0..FORMATS.len())
        .map(Anchor::Format)
        .chain([
            Anchor::SendGrid,
            Anchor::Jwt,
            Anchor::Scheme,
            Anchor::PemBegin,
            Anchor::PrivateKeyField,
            Anchor::ServiceAccount,
        ])
        .collect();
    let automaton = AhoCorasick::new(anchors.iter().map(|a| a.literal()))
        .expect("the anchors are a handful of short literals");
    (automaton, anchors)
});

/// Where the anchors occur in one value: found in a single pass of one automaton over
/// the value, instead of one substring search per format.
struct Anchors {
    /// (anchor, byte offset), in order of offset.
    hits: Vec<(Anchor, usize)>,
}

impl Anchors {
    fn of(value: &str) -> Self {
        let (automaton, anchors) = &*ANCHORS;
        // Overlapping matches: one anchor may sit inside another (`://` in the Slack
        // webhook prefix). No anchor overlaps itself where it could start a token.
        let hits = automaton
            .find_overlapping_iter(value)
            .map(|m| (anchors[m.pattern().as_usize()], m.start()))
            .collect();
        Anchors { hits }
    }

    /// Byte offsets where `anchor` starts, in order.
    fn at(&self, anchor: Anchor) -> impl Iterator<Item = usize> + '_ {
        self.hits
            .iter()
            .filter(move |(a, _)| *a == anchor)
            .map(|(_, i)| *i)
    }

    fn has(&self, anchor: Anchor) -> bool {
        self.at(anchor).next().is_some()
    }
}

/// Multi-part formats: PEM private keys and cloud key files.
fn structured(value: &str, anchors: &Anchors) -> Option<Detection> {
    if anchors.has(Anchor::PrivateKeyField) && anchors.has(Anchor::ServiceAccount) {
        return found("GCP service account key", Severity::Critical);
    }
    if has_pem_private_key(value, anchors) {
        return found("private key", Severity::Critical);
    }
    None
}

/// `-----BEGIN [RSA |EC |OPENSSH |ENCRYPTED |...]PRIVATE KEY[ BLOCK]-----`
fn has_pem_private_key(value: &str, anchors: &Anchors) -> bool {
    anchors.at(Anchor::PemBegin).any(|i| {
        let rest = &value[i + Anchor::PemBegin.literal().len()..];
        rest.find("-----")
            .is_some_and(|end| rest[..end].contains("PRIVATE KEY"))
    })
}

fn alnum(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}
fn upper_alnum(b: u8) -> bool {
    b.is_ascii_uppercase() || b.is_ascii_digit()
}
fn word(b: u8) -> bool {
    alnum(b) || b == b'_'
}
fn url_safe(b: u8) -> bool {
    alnum(b) || b == b'_' || b == b'-'
}
fn base64_char(b: u8) -> bool {
    alnum(b) || b == b'+' || b == b'/'
}

/// A token format: a literal prefix, then a run of `body` characters whose length is in
/// `min..=max`.
struct Format {
    prefix: &'static str,
    body: fn(u8) -> bool,
    min: usize,
    max: usize,
    kind: &'static str,
    severity: Severity,
}

const fn format(
    prefix: &'static str,
    body: fn(u8) -> bool,
    min: usize,
    max: usize,
    kind: &'static str,
) -> Format {
    Format {
        prefix,
        body,
        min,
        max,
        kind,
        severity: Severity::Critical,
    }
}

/// Provider formats with documented prefixes and lengths.
const FORMATS: &[Format] = &[
    // AWS: 4-letter prefix + 16 upper-case alphanumerics.
    format("AKIA", upper_alnum, 16, 16, "AWS access key id"),
    format("ASIA", upper_alnum, 16, 16, "AWS access key id"),
    format("ABIA", upper_alnum, 16, 16, "AWS access key id"),
    format("ACCA", upper_alnum, 16, 16, "AWS access key id"),
    format("ghp_", alnum, 36, 251, "GitHub token"),
    format("gho_", alnum, 36, 251, "GitHub token"),
    format("ghu_", alnum, 36, 251, "GitHub token"),
    format("ghs_", alnum, 36, 251, "GitHub token"),
    format("ghr_", alnum, 36, 251, "GitHub token"),
    format("github_pat_", word, 82, 244, "GitHub token"),
    format("glpat-", url_safe, 20, 255, "GitLab token"),
    format("xoxb-", url_safe, 10, 255, "Slack token"),
    format("xoxp-", url_safe, 10, 255, "Slack token"),
    format("xoxa-", url_safe, 10, 255, "Slack token"),
    format("xoxr-", url_safe, 10, 255, "Slack token"),
    format("xoxs-", url_safe, 10, 255, "Slack token"),
    format("xoxe-", url_safe, 10, 255, "Slack token"),
    format(
        "https://hooks.slack.com/services/",
        |b| alnum(b) || b == b'/',
        20,
        255,
        "Slack webhook URL",
    ),
    format("sk_live_", alnum, 24, 255, "Stripe secret key"),
    format("rk_live_", alnum, 24, 255, "Stripe secret key"),
    format("AIza", url_safe, 35, 35, "Google API key"),
    format("npm_", alnum, 36, 36, "npm token"),
    format(
        "AccountKey=",
        base64_char,
        80,
        100,
        "Azure storage account key",
    ),
];

/// The body length after `prefix` at byte `start`, when the prefix starts a token.
fn body_len(value: &str, start: usize, f: &Format) -> usize {
    let bytes = value.as_bytes();
    bytes[start + f.prefix.len()..]
        .iter()
        .take_while(|b| (f.body)(**b))
        .count()
}

/// The first format of [`FORMATS`] (in its order) that some anchor starts, else SendGrid.
fn provider_key(value: &str, anchors: &Anchors) -> Option<Detection> {
    anchors
        .hits
        .iter()
        .filter_map(|&(anchor, i)| match anchor {
            Anchor::Format(k) => Some((k, i)),
            _ => None,
        })
        .filter(|&(k, i)| {
            let f = &FORMATS[k];
            let starts_token = i == 0 || !alnum(value.as_bytes()[i - 1]);
            starts_token && (f.min..=f.max).contains(&body_len(value, i, f))
        })
        .map(|(k, _)| k)
        .min()
        .map(|k| Detection {
            kind: FORMATS[k].kind,
            severity: FORMATS[k].severity,
        })
        .or_else(|| sendgrid(value, anchors))
}

/// `SG.` + 22 + `.` + 43 URL-safe characters.
fn sendgrid(value: &str, anchors: &Anchors) -> Option<Detection> {
    anchors.at(Anchor::SendGrid).find_map(|i| {
        let token: &str = token_from(value, i + 3, |b| url_safe(b) || b == b'.');
        let (a, b) = token.split_once('.')?;
        (a.len() == 22 && b.len() == 43).then_some(Detection {
            kind: "SendGrid API key",
            severity: Severity::Critical,
        })
    })
}

fn token_from(value: &str, start: usize, class: fn(u8) -> bool) -> &str {
    let rest = &value[start..];
    let len = rest.bytes().take_while(|b| class(*b)).count();
    &rest[..len]
}

/// Three base64url segments whose first decodes to a JSON header naming `alg`.
fn jwt(value: &str, anchors: &Anchors) -> Option<Detection> {
    anchors.at(Anchor::Jwt).find_map(|i| {
        if i > 0 && url_safe(value.as_bytes()[i - 1]) {
            return None;
        }
        let token = token_from(value, i, |b| url_safe(b) || b == b'.' || b == b'=');
        let parts: Vec<&str> = token.split('.').collect();
        let [header, payload, _signature] = parts.as_slice() else {
            return None;
        };
        if payload.is_empty() {
            return None;
        }
        let header = URL_SAFE_NO_PAD.decode(header.trim_end_matches('=')).ok()?;
        let header = std::str::from_utf8(&header).ok()?;
        (header.trim_start().starts_with('{') && header.contains("\"alg\"")).then_some(Detection {
            kind: "JWT",
            severity: Severity::High,
        })
    })
}

/// `scheme://user:password@host`: the password part, if it is a real value.
fn url_password(value: &str, anchors: &Anchors) -> Option<Detection> {
    anchors.at(Anchor::Scheme).find_map(|i| {
        let scheme_ok = value[..i]
            .bytes()
            .next_back()
            .is_some_and(|b| b.is_ascii_alphanumeric());
        let authority = token_from(value, i + 3, |b| {
            !matches!(b, b'/' | b'?' | b'#' | b'"' | b'\'' | b'`') && !b.is_ascii_whitespace()
        });
        let (userinfo, _host) = authority.rsplit_once('@')?;
        let (_user, password) = userinfo.split_once(':')?;
        (scheme_ok && !is_placeholder(password)).then_some(Detection {
            kind: "password in URL",
            severity: Severity::High,
        })
    })
}

/// Shannon entropy of the bytes of `s`, in bits per character.
#[allow(clippy::cast_precision_loss)] // counts are far below 2^52
fn entropy(s: &str) -> f64 {
    let mut counts = [0usize; 256];
    for b in s.bytes() {
        counts[usize::from(b)] += 1;
    }
    let len = s.len() as f64;
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = *c as f64 / len;
            -p * p.log2()
        })
        .sum()
}

/// A single long token of base64 or base64url characters mixing upper case, lower case
/// and digits with high entropy: a generated secret. Pure hex is left out: in manifests it
/// is nearly always a checksum (`checksum/config` annotations), a commit or an image digest.
fn high_entropy(value: &str) -> Option<Detection> {
    let v = value.trim();
    let charset_ok = v
        .bytes()
        .all(|b| base64_char(b) || matches!(b, b'-' | b'_' | b'='));
    let mixed = v.bytes().any(|b| b.is_ascii_uppercase())
        && v.bytes().any(|b| b.is_ascii_lowercase())
        && v.bytes().any(|b| b.is_ascii_digit());
    let looks_like_path = v.starts_with('/') || v.matches('/').count() > 2;
    ((24..=512).contains(&v.len()) && charset_ok && mixed && !looks_like_path && entropy(v) >= 4.2)
        .then_some(Detection {
            kind: "high-entropy string",
            severity: Severity::Medium,
        })
}

/// Values that cannot be a working credential: empty, a template or a reference resolved
/// elsewhere, an obvious stand-in, or a switch (`true`, `none`).
#[must_use]
pub fn is_placeholder(value: &str) -> bool {
    let v = value.trim().trim_matches(|c| c == '"' || c == '\'').trim();
    let lower = v.to_ascii_lowercase();
    const WORDS: &[&str] = &[
        "replace_me",
        "replace-me",
        "replaceme",
        "todo",
        "tbd",
        "fixme",
        "example",
        "none",
        "null",
        "nil",
        "true",
        "false",
        "yes",
        "no",
        "on",
        "off",
        "redacted",
        "n/a",
        "unset",
        "undefined",
        "empty",
    ];
    const REFERENCES: &[&str] = &["vault:", "ref+", "arn:aws:", "secretref:", "your-", "your_"];
    // Code that reads the credential from elsewhere (`os.environ["HF_TOKEN"]`).
    const LOOKUPS: &[&str] = &[
        "environ",
        "getenv",
        "process.env",
        "env::var",
        "secretkeyref",
    ];
    // A file the credential is read from (`/var/secrets/google/key.json`).
    let path = (v.starts_with('/') || v.starts_with("./") || v.starts_with("~/"))
        && !v.contains(char::is_whitespace);
    v.is_empty()
        || path
        || v == "0"
        || v == "1"
        || LOOKUPS.iter().any(|l| lower.contains(l))
        || v.contains("{{")
        || v.contains("${")
        || v.contains("$(")
        || (v.starts_with('<') && v.ends_with('>'))
        || v.bytes()
            .all(|b| matches!(b, b'x' | b'X' | b'*' | b'.' | b'#' | b'-' | b'?'))
        || WORDS.contains(&lower.as_str())
        || REFERENCES.iter().any(|p| lower.starts_with(p))
}

/// Words of a name: split at non-alphanumerics and camelCase boundaries, lower-cased
/// (`dbPassword` and `DB_PASSWORD` give `db`, `password`; `APIKey` gives `api`, `key`).
fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut out = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1);
        let boundary = c.is_ascii_uppercase()
            && prev.is_some_and(|p| {
                p.is_ascii_lowercase()
                    || p.is_ascii_digit()
                    || (p.is_ascii_uppercase() && next.is_some_and(char::is_ascii_lowercase))
            });
        if boundary && !current.is_empty() {
            out.push(std::mem::take(&mut current));
        }
        current.push(c.to_ascii_lowercase());
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Words that mark a credential on their own.
const SENSITIVE: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "pass",
    "passphrase",
    "secret",
    "secrets",
    "token",
    "tokens",
    "credential",
    "credentials",
    "creds",
    "apikey",
    "accesskey",
    "secretkey",
    "privatekey",
    "authorization",
    "bearer",
    "dsn",
];
/// `<word> auth` pairs (`BASIC_AUTH`); `AUTH` alone is as often a mode as a credential.
const AUTH_QUALIFIERS: &[&str] = &["basic", "http", "proxy", "htpasswd"];
/// `<word> key` pairs that mark a credential.
const KEY_QUALIFIERS: &[&str] = &[
    "api",
    "access",
    "private",
    "secret",
    "encryption",
    "signing",
    "master",
    "session",
    "hmac",
    "client",
    "account",
    "storage",
];
/// A last word that makes the name describe *about* a credential, not hold it
/// (`TOKEN_URL`, `SECRET_NAME`, `PASSWORD_FILE`, `ACCESS_KEY_ID`).
const DESCRIBING: &[&str] = &[
    "url",
    "uri",
    "endpoint",
    "host",
    "port",
    "name",
    "names",
    "file",
    "path",
    "dir",
    "id",
    "ref",
    "type",
    "mode",
    "enabled",
    "disabled",
    "enable",
    "length",
    "len",
    "size",
    "ttl",
    "timeout",
    "expiry",
    "expires",
    "expiration",
    "lifetime",
    "duration",
    "interval",
    "header",
    "field",
    "prefix",
    "location",
    "source",
    "provider",
    "policy",
    "method",
    "format",
    "version",
    "algorithm",
    "alg",
    "kind",
    "user",
    "username",
    "email",
    "issuer",
    "audience",
    "scope",
    "scopes",
    "realm",
    "region",
    "strategy",
    "backend",
    "store",
    "mount",
    "namespace",
    "label",
    "selector",
    "required",
    "env",
    "var",
    "key",
    "keys",
    "arn",
    "secretname",
    "generation",
    "rotation",
];
/// Words that make the whole name a count or limit (`MAX_TOKENS`).
/// Words that make a name a count, a limit or a switch about credentials
/// (`MAX_TOKENS`, `MYSQL_ALLOW_EMPTY_PASSWORD`, `MYSQL_RANDOM_ROOT_PASSWORD`).
const COUNTING: &[&str] = &[
    "max", "min", "num", "count", "limit", "allow", "enable", "enabled", "disable", "disabled",
    "random", "empty", "require", "required", "skip", "generate",
];

/// Whether a variable or key name says it holds a credential (`DB_PASSWORD`,
/// `apiKey`, `client-secret`, `GITHUB_TOKEN`), word-aware and case-insensitive; names
/// about a credential (`TOKEN_URL`, `SECRET_NAME`, `PASSWORD_FILE`, `*_PATH`,
/// `ACCESS_KEY_ID`) are not.
#[must_use]
pub fn sensitive_name(name: &str) -> bool {
    let words = words(name);
    let Some(last) = words.last() else {
        return false;
    };
    let key_pair = words
        .windows(2)
        .any(|w| w[1] == "key" && KEY_QUALIFIERS.contains(&w[0].as_str()));
    if key_pair && last == "key" {
        return !words.iter().any(|w| COUNTING.contains(&w.as_str()));
    }
    if DESCRIBING.contains(&last.as_str()) || words.iter().any(|w| COUNTING.contains(&w.as_str())) {
        return false;
    }
    let auth_pair = words
        .windows(2)
        .any(|w| w[1] == "auth" && AUTH_QUALIFIERS.contains(&w[0].as_str()));
    // `PWD` alone is the shell's working directory.
    let pwd_alone = words.len() == 1 && last == "pwd";
    !pwd_alone && (key_pair || auth_pair || words.iter().any(|w| SENSITIVE.contains(&w.as_str())))
}

/// One credential found inside a multi-line value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineFinding {
    /// 1-based line inside the value.
    pub line: usize,
    /// The setting's name when the line is `name = value` or `name: value`.
    pub name: Option<String>,
    pub detection: Detection,
}

/// `name=value`, `name: value`, `export NAME="value"`, `"name": "value",`.
fn setting(line: &str) -> Option<(&str, &str)> {
    let line = line.trim().trim_start_matches("export ").trim();
    let at = line.find(['=', ':'])?;
    let name = line[..at].trim().trim_matches(|c| c == '"' || c == '\'');
    let value = line[at + 1..]
        .trim()
        .trim_end_matches(',')
        .trim()
        .trim_matches(|c| c == '"' || c == '\'');
    let name_ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    name_ok.then_some((name, value))
}

/// Credentials in an embedded config file, line by line: settings whose name is
/// sensitive with a real single-word value, and any line whose content [`detect`] matches.
/// A whole-value detection (a PEM key spans lines) is reported at line 1.
#[must_use]
pub fn scan_lines(value: &str) -> Vec<LineFinding> {
    if let Some(detection) = structured(value, &Anchors::of(value)) {
        return vec![LineFinding {
            line: 1,
            name: None,
            detection,
        }];
    }
    let mut out = Vec::new();
    for (i, line) in value.lines().enumerate() {
        let trimmed = line.trim_start();
        let comment = trimmed.starts_with(['#', ';']) || trimmed.starts_with("//");
        let pair = setting(line);
        let by_name = pair.is_some_and(|(name, v)| {
            !comment
                && sensitive_name(name)
                && !is_placeholder(v)
                && !v.contains(char::is_whitespace)
                && !is_nss_sources(v)
        });
        let content = pair.and_then(|(_, v)| detect(v)).or_else(|| {
            let anchors = Anchors::of(line);
            provider_key(line, &anchors)
                .or_else(|| jwt(line, &anchors))
                .or_else(|| url_password(line, &anchors))
        });
        // A key format outranks the name; a sensitive name outranks a random-looking value.
        let detection = match content {
            Some(d) if d.severity > Severity::Medium => Some(d),
            _ if by_name => Some(NAMED),
            d => d,
        };
        if let Some(detection) = detection {
            out.push(LineFinding {
                line: i + 1,
                // A name is printed, so never one that is itself a token.
                name: pair
                    .map(|(n, _)| n)
                    .filter(|n| {
                        provider_key(n, &Anchors::of(n)).is_none() && high_entropy(n).is_none()
                    })
                    .map(str::to_owned),
                detection,
            });
        }
    }
    out
}

/// `files`, `compat`, `sss`: the sources of an nsswitch.conf line (`passwd: files`),
/// which names the password database, not a password.
fn is_nss_sources(value: &str) -> bool {
    const SOURCES: &[&str] = &[
        "files",
        "compat",
        "db",
        "dns",
        "sss",
        "ldap",
        "nis",
        "nisplus",
        "systemd",
        "winbind",
        "myhostname",
        "mymachines",
        "resolve",
        "altfiles",
        "usrfiles",
    ];
    value
        .split_whitespace()
        .all(|w| SOURCES.contains(&w.trim_start_matches('[')))
}

/// The most severe of `findings`, the first one on ties.
#[must_use]
pub fn worst(findings: &[LineFinding]) -> Option<&LineFinding> {
    findings.iter().reduce(|a, b| {
        if b.detection.severity > a.detection.severity {
            b
        } else {
            a
        }
    })
}

/// A value under a sensitive name, with no recognised format.
pub const NAMED: Detection = Detection {
    kind: "sensitive name",
    severity: Severity::High,
};

/// How to grade a literal `value` under `name`: by content, raised to [`NAMED`]'s
/// severity when the name is sensitive too; by name alone otherwise.
#[must_use]
pub fn classify(name: &str, value: &str) -> Option<Detection> {
    // `HF_TOKEN: "HF_TOKEN"`: a slot still holding its own name.
    if is_placeholder(value) || value.trim().eq_ignore_ascii_case(name.trim()) {
        return None;
    }
    let named = sensitive_name(name);
    match detect(value) {
        Some(d) if named && d.severity < NAMED.severity => Some(Detection {
            severity: NAMED.severity,
            ..d
        }),
        Some(d) => Some(d),
        None if named => Some(NAMED),
        None => None,
    }
}

/// Decodes a Secret `data` value as the API server does (standard base64, line breaks
/// ignored).
///
/// # Errors
/// The value is not valid base64.
pub fn decode_secret_value(value: &str) -> Result<Vec<u8>, base64::DecodeError> {
    let compact: String = value
        .chars()
        .filter(|c| !matches!(c, '\n' | '\r'))
        .collect();
    STANDARD.decode(compact.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    // Format-valid synthetic keys, assembled at run time so no scanner flags this file.
    fn aws() -> String {
        ["AKIA", "IOSFODNN7EXAMPLE"].concat()
    }
    fn github() -> String {
        format!("{}{}", "ghp_", "a1B2c3D4e5".repeat(3) + "F6g7h8")
    }
    fn jwt_token() -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"1234567890"}"#);
        format!("{header}.{payload}.c2lnbmF0dXJlLWJ5dGVz")
    }

    fn kind(value: &str) -> Option<&'static str> {
        detect(value).map(|d| d.kind)
    }

    /// The anchors the automaton reports, checked against one `str::match_indices` per
    /// literal (what each detector searched for before): the same offsets, except that
    /// the automaton also reports an anchor overlapping an earlier copy of itself, which
    /// never starts a token (an alphanumeric byte precedes it), so no detection changes.
    fn anchors_agree_with_substring_search(value: &str) {
        let (_, anchors) = &*ANCHORS;
        let found = Anchors::of(value);
        for &anchor in anchors {
            let searched: Vec<usize> = value
                .match_indices(anchor.literal())
                .map(|(i, _)| i)
                .collect();
            let automaton: Vec<usize> = found.at(anchor).collect();
            let extra: Vec<usize> = automaton
                .iter()
                .copied()
                .filter(|i| !searched.contains(i))
                .collect();
            assert!(
                searched.iter().all(|i| automaton.contains(i)),
                "{anchor:?} missed in {value:?}: {searched:?} vs {automaton:?}"
            );
            for i in extra {
                assert!(
                    matches!(anchor, Anchor::Format(_)) && alnum(value.as_bytes()[i - 1]),
                    "{anchor:?} at {i} in {value:?} could start a token"
                );
            }
        }
    }

    #[test]
    fn one_automaton_pass_finds_what_one_search_per_format_found() {
        let tricky = [
            "AKIAKIAAAAAAAAAAAAAAAAAA".to_owned(),
            "SG.SG.SG.".to_owned(),
            format!("https://hooks.slack.com/services/{}", "T0".repeat(12)),
            "eyJeyJ.eyJ.x ://://".to_owned(),
            "-----BEGIN -----BEGIN RSA PRIVATE KEY-----".to_owned(),
            format!("x={} y={}", aws(), github()),
            "\"private_key\": \"service_account\"".to_owned(),
        ];
        for value in &tricky {
            anchors_agree_with_substring_search(value);
        }
        // Every line and every whole file of the examples and, when present, the corpus.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut texts = 0;
        for dir in [root.join("examples"), root.join("../shared/corpus")] {
            for entry in walkdir::WalkDir::new(dir).into_iter().flatten() {
                let Ok(text) = std::fs::read_to_string(entry.path()) else {
                    continue;
                };
                anchors_agree_with_substring_search(&text);
                for line in text.lines() {
                    anchors_agree_with_substring_search(line);
                }
                texts += 1;
            }
        }
        assert!(texts > 20, "only {texts} files read");
    }

    #[test]
    fn provider_formats() {
        assert_eq!(kind(&aws()), Some("AWS access key id"));
        assert_eq!(kind(&format!("key={} ", aws())), Some("AWS access key id"));
        assert_eq!(kind(&github()), Some("GitHub token"));
        let pat = format!("github_pat_{}", "A1b2_C3d4".repeat(10));
        assert_eq!(kind(&pat), Some("GitHub token"));
        let slack = [
            "xoxb",
            "-1234567890-0987654321-",
            "AbCdEfGhIjKlMnOpQrStUvWx",
        ]
        .concat();
        assert_eq!(kind(&slack), Some("Slack token"));
        let stripe = ["sk_", "live_", "a1B2c3D4e5F6g7H8i9J0k1L2"].concat();
        assert_eq!(kind(&stripe), Some("Stripe secret key"));
        let google = ["AIza", "SyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q"].concat();
        assert_eq!(kind(&google), Some("Google API key"));
        let sendgrid = format!("SG.{}.{}", "a".repeat(22), "B".repeat(43));
        assert_eq!(kind(&sendgrid), Some("SendGrid API key"));
        let azure = format!(
            "DefaultEndpointsProtocol=https;AccountName=x;AccountKey={}==;",
            "Ab1+".repeat(21) + "Ab"
        );
        assert_eq!(kind(&azure), Some("Azure storage account key"));
        assert_eq!(detect(&aws()).unwrap().severity, Severity::Critical);
    }

    #[test]
    fn provider_near_misses() {
        // Wrong length, lower case, embedded in a longer word.
        assert_eq!(kind(&["AKIA", "IOSFODNN7EXAMPL"].concat()), None);
        assert_eq!(kind(&["AKIA", "IOSFODNN7EXAMPLEX"].concat()), None);
        assert_eq!(kind(&["akia", "iosfodnn7example"].concat()), None);
        assert_eq!(kind(&["XAKIA", "IOSFODNN7EXAMPLE"].concat()), None);
        assert_eq!(kind("ghp_short"), None);
        assert_eq!(kind("sk_test_abc"), None);
    }

    #[test]
    fn private_keys_and_service_accounts() {
        let pem = [
            "-----BEGIN ",
            "RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
        ]
        .concat();
        assert_eq!(kind(&pem), Some("private key"));
        let openssh = ["-----BEGIN ", "OPENSSH PRIVATE KEY-----\nb3Blbn\n"].concat();
        assert_eq!(kind(&openssh), Some("private key"));
        assert_eq!(
            kind("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"),
            None
        );
        assert_eq!(kind("-----BEGIN PUBLIC KEY-----\nMIIB\n"), None);
        let sa = r#"{"type": "service_account", "project_id": "p", "private_key": "k"}"#;
        assert_eq!(kind(sa), Some("GCP service account key"));
    }

    #[test]
    fn jwts() {
        assert_eq!(kind(&jwt_token()), Some("JWT"));
        assert_eq!(kind(&format!("Bearer {}", jwt_token())), Some("JWT"));
        // `eyJ` + two dots but the header is not JSON with `alg`.
        let no_alg = format!(
            "{}.eyJzdWIiOiIxIn0.sig",
            URL_SAFE_NO_PAD.encode(br#"{"typ":"x"}"#)
        );
        assert_ne!(kind(&no_alg), Some("JWT"));
        assert_eq!(kind("eyJhbGciOi.only-two"), None);
    }

    #[test]
    fn url_passwords() {
        assert_eq!(
            kind("postgres://app:s3cr3t@db:5432/app"),
            Some("password in URL")
        );
        assert_eq!(kind("amqp://guest:guest@rabbit/"), Some("password in URL"));
        assert_eq!(kind("postgres://app@db:5432/app"), None);
        assert_eq!(kind("postgres://app:$(DB_PASSWORD)@db/app"), None);
        assert_eq!(kind("https://example.com:8443/path"), None);
        assert_eq!(kind("redis://:${REDIS_PASSWORD}@redis:6379"), None);
    }

    #[test]
    fn high_entropy_tokens() {
        assert_eq!(
            kind("q8Zr3LmT0vXw9YbN2kPa7HsD5fGj1cQe"),
            Some("high-entropy string")
        );
        assert_eq!(
            detect("q8Zr3LmT0vXw9YbN2kPa7HsD5fGj1cQe").unwrap().severity,
            Severity::Medium
        );
        // Not secrets: hex digests, UUIDs, names, paths, URLs, image references, prose.
        for value in [
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "123e4567-e89b-12d3-a456-426614174000",
            "my-service-7c5ddbdf54-x7k2p",
            "/var/run/secrets/kubernetes.io/serviceaccount/token",
            "https://login.example.com/oauth2/v2.0/token",
            "ghcr.io/acme/app:1.2.3",
            "MyApplicationConfigurationHandler",
            "the quick brown fox jumps over the lazy dog 42 times",
            "DeploymentControllerV2Reconciler",
            "io.k8s.api.core.v1.PodSpec",
        ] {
            assert_eq!(kind(value), None, "{value}");
        }
    }

    #[test]
    fn placeholders() {
        for value in [
            "",
            "  ",
            "$(DB_PASSWORD)",
            "{{ .Values.password }}",
            "${PASSWORD}",
            "<your-token>",
            "xxx",
            "XXXXXXXX",
            "****",
            "REPLACE_ME",
            "example",
            "TODO",
            "true",
            "none",
            "vault:secret/data/db#password",
            "ref+vault://db/password",
            "your-api-key-here",
            "arn:aws:secretsmanager:eu-west-1:123:secret:db",
            // Found in ../shared/corpus: a key file path, code reading the environment, a switch.
            "/var/secrets/google/key.json",
            "os.environ[\"HUGGING_FACE_HUB_TOKEN\"]",
            "1",
        ] {
            assert!(is_placeholder(value), "{value:?}");
            assert_eq!(classify("PASSWORD", value), None, "{value:?}");
        }
        // Weak real values are credentials.
        for value in ["changeme", "password", "admin", "hunter2", "changeit"] {
            assert!(!is_placeholder(value), "{value}");
            assert_eq!(classify("DB_PASSWORD", value), Some(NAMED));
        }
    }

    #[test]
    fn corpus_false_positives_stay_quiet() {
        assert!(!sensitive_name("MYSQL_ALLOW_EMPTY_PASSWORD"));
        assert!(!sensitive_name("MYSQL_RANDOM_ROOT_PASSWORD"));
        assert!(sensitive_name("MYSQL_ROOT_PASSWORD"));
        assert_eq!(classify("HF_TOKEN", "HF_TOKEN"), None);
        let nsswitch = "passwd:     files\nshadow: files sss\ngroup:  files\nhosts: files dns\n";
        assert!(scan_lines(nsswitch).is_empty());
        assert_eq!(scan_lines("passwd: s3cr3t-Value\n").len(), 1);
        let code =
            "tokenizer = AutoTokenizer.from_pretrained(\n    token=os.environ[\"HF_TOKEN\"]\n)\n";
        assert!(scan_lines(code).is_empty());
    }

    #[test]
    fn sensitive_names() {
        for name in [
            "PASSWORD",
            "DB_PASSWORD",
            "dbPassword",
            "MYSQL_ROOT_PASSWD",
            "REDIS_PASS",
            "API_KEY",
            "apiKey",
            "APIKey",
            "x-api-key",
            "STRIPE_SECRET",
            "client_secret",
            "GITHUB_TOKEN",
            "AccessToken",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_ACCESS_KEY",
            "PRIVATE_KEY",
            "ENCRYPTION_KEY",
            "GOOGLE_CREDENTIALS",
            "BASIC_AUTH",
            "DB_PWD",
            "SECRET_KEY_BASE",
            "SENTRY_DSN",
            "Authorization",
            "signing.key",
            "jwt-secret",
        ] {
            assert!(sensitive_name(name), "{name}");
        }
        for name in [
            "TOKEN_URL",
            "SECRET_NAME",
            "PASSWORD_FILE",
            "API_KEY_PATH",
            "AWS_ACCESS_KEY_ID",
            "AUTH_TYPE",
            "AUTH_ENABLED",
            "PASSWORD_MIN_LENGTH",
            "MAX_TOKENS",
            "TOKEN_TTL",
            "AUTHOR",
            "PASSENGER_COUNT",
            "SORT_KEY",
            "CACHE_KEY",
            "KEY",
            "BYPASS",
            "COMPASS",
            "SECRETS_DIR",
            "oauthTokenEndpoint",
            "USERNAME",
            "tls.key",
            "TOKENIZER",
            "AUTH",
            "PWD",
        ] {
            assert!(!sensitive_name(name), "{name}");
        }
    }

    #[test]
    fn classification_grades() {
        let d = classify("AWS_ACCESS_KEY_ID", &aws()).unwrap();
        assert_eq!(
            (d.kind, d.severity),
            ("AWS access key id", Severity::Critical)
        );
        let d = classify("SESSION_SECRET", "q8Zr3LmT0vXw9YbN2kPa7HsD5fGj1cQe").unwrap();
        assert_eq!(
            (d.kind, d.severity),
            ("high-entropy string", Severity::High)
        );
        assert_eq!(classify("LOG_LEVEL", "debug"), None);
    }

    #[test]
    fn config_file_lines() {
        let file = format!(
            "# database\nhost=db\nuser = app\npassword = hunter2\n# password: commented out\napi_key: \"${{API_KEY}}\"\ndescription: the password for admins\nurl: postgres://u:pw@db/x\naws = {}\n",
            aws()
        );
        let got: Vec<_> = scan_lines(&file)
            .into_iter()
            .map(|f| (f.line, f.name, f.detection.kind))
            .collect();
        assert_eq!(
            got,
            [
                (4, Some("password".to_owned()), "sensitive name"),
                (8, Some("url".to_owned()), "password in URL"),
                (9, Some("aws".to_owned()), "AWS access key id"),
            ]
        );
        let pem = [
            "-----BEGIN ",
            "EC PRIVATE KEY-----\nMHc\n-----END EC PRIVATE KEY-----\n",
        ]
        .concat();
        assert_eq!(scan_lines(&pem)[0].detection.kind, "private key");
    }

    #[test]
    fn secret_values_decode_like_the_api_server() {
        assert_eq!(decode_secret_value("aHVudGVyMg==").unwrap(), b"hunter2");
        assert_eq!(decode_secret_value("aHVu\ndGVyMg==").unwrap(), b"hunter2");
        assert!(decode_secret_value("not base64!").is_err());
    }
}
