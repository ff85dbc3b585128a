//! Who must have signed: a public key, or a Fulcio identity and OIDC issuer.

use std::fmt;

use regex::Regex;

use crate::key::{hex, PublicKey};
use crate::SignatureError;

/// One acceptable signer.
#[derive(Debug, Clone)]
pub struct Signer {
    pub kind: SignerKind,
    pub tlog: TlogRequirement,
}

#[derive(Debug, Clone)]
pub enum SignerKind {
    /// Signed with this key (cosign `--key`).
    Key(PublicKey),
    /// Signed with a Fulcio certificate naming a matching identity (an email or
    /// URI subject alternative name) issued on a matching OIDC issuer's token.
    Keyless { identity: Matcher, issuer: Matcher },
}

/// Whether transparency-log evidence must be present and verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlogRequirement {
    /// A Rekor entry from a trusted log must verify: a SET, and for v0.2+ bundles
    /// also an inclusion proof up to a signed checkpoint.
    Required,
    /// Entries present must still verify, but none is needed.
    Optional,
}

/// An exact string or a regular expression matching the whole string.
#[derive(Debug, Clone)]
pub enum Matcher {
    Exact(String),
    /// Anchored: unlike cosign's `--certificate-identity-regexp`, `acme` does not
    /// match `evil-acme`.
    Regex(Regex),
}

impl Matcher {
    /// An exact matcher.
    #[must_use]
    pub fn exact(s: impl Into<String>) -> Self {
        Self::Exact(s.into())
    }

    /// A regular expression matcher, anchored at both ends.
    ///
    /// # Errors
    /// An invalid regular expression.
    pub fn regex(pattern: &str) -> Result<Self, SignatureError> {
        Regex::new(&format!("^(?:{pattern})$"))
            .map(Self::Regex)
            .map_err(|e| SignatureError::Pattern(format!("regular expression {pattern:?}: {e}")))
    }

    #[must_use]
    pub fn matches(&self, s: &str) -> bool {
        match self {
            Self::Exact(e) => e == s,
            Self::Regex(r) => r.is_match(s),
        }
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exact(s) => write!(f, "{s:?}"),
            Self::Regex(r) => {
                let p = r.as_str();
                let inner = p
                    .strip_prefix("^(?:")
                    .and_then(|p| p.strip_suffix(")$"))
                    .unwrap_or(p);
                write!(f, "/{inner}/")
            }
        }
    }
}

impl Signer {
    /// A keyed signer; transparency-log evidence optional.
    #[must_use]
    pub fn key(key: PublicKey) -> Self {
        Self {
            kind: SignerKind::Key(key),
            tlog: TlogRequirement::Optional,
        }
    }

    /// A keyless signer; transparency-log evidence required.
    #[must_use]
    pub fn keyless(identity: Matcher, issuer: Matcher) -> Self {
        Self {
            kind: SignerKind::Keyless { identity, issuer },
            tlog: TlogRequirement::Required,
        }
    }

    /// The same signer with another transparency-log requirement.
    #[must_use]
    pub fn with_tlog(mut self, tlog: TlogRequirement) -> Self {
        self.tlog = tlog;
        self
    }

    /// A stable text naming everything this signer accepts (for fingerprints).
    pub(crate) fn canonical(&self) -> String {
        let tlog = match self.tlog {
            TlogRequirement::Required => "tlog",
            TlogRequirement::Optional => "no-tlog",
        };
        let m = |m: &Matcher| match m {
            Matcher::Exact(s) => format!("exact:{}:{s}", s.len()),
            Matcher::Regex(r) => format!("regex:{}:{}", r.as_str().len(), r.as_str()),
        };
        match &self.kind {
            SignerKind::Key(k) => format!("key:{}:{tlog}", hex(&k.id())),
            SignerKind::Keyless { identity, issuer } => {
                format!("keyless:{}:{}:{tlog}", m(identity), m(issuer))
            }
        }
    }
}

impl fmt::Display for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            SignerKind::Key(k) => write!(f, "key sha256:{}", hex(&k.id())),
            SignerKind::Keyless { identity, issuer } => {
                write!(f, "identity {identity} from issuer {issuer}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regexes_are_anchored() {
        let m = Matcher::regex("https://github.com/acme/.*").expect("valid");
        assert!(
            m.matches("https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main")
        );
        assert!(!m.matches("https://evil.example/?https://github.com/acme/x"));
        let m = Matcher::regex("a|b").expect("valid");
        assert!(m.matches("a") && m.matches("b") && !m.matches("ab"));
        assert_eq!(m.to_string(), "/a|b/");
        assert!(Matcher::regex("(").is_err());
        assert!(Matcher::exact("x").matches("x") && !Matcher::exact("x").matches("X"));
    }
}
