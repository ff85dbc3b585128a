//! What verification trusts: Fulcio CA certificates and Rekor log keys, from PEM
//! files or a Sigstore `trusted_root.json`.

use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::key::{hex, pem_blocks, unbase64, PublicKey};
use crate::SignatureError;

/// Fulcio CAs and Rekor logs, each optionally limited to a validity window.
#[derive(Debug, Clone, Default)]
pub struct TrustRoot {
    cas: Vec<CertificateAuthority>,
    logs: Vec<TransparencyLog>,
}

#[derive(Debug, Clone)]
struct CertificateAuthority {
    /// Self-signed certificates: trust anchors.
    roots: Vec<Vec<u8>>,
    intermediates: Vec<Vec<u8>>,
    valid: Window,
}

#[derive(Debug, Clone)]
struct TransparencyLog {
    key: PublicKey,
    id: [u8; 32],
    valid: Window,
}

/// Unix seconds; `None` is unbounded.
#[derive(Debug, Clone, Copy, Default)]
struct Window {
    start: Option<i64>,
    end: Option<i64>,
}

impl Window {
    fn contains(self, t: i64) -> bool {
        self.start.is_none_or(|s| s <= t) && self.end.is_none_or(|e| t <= e)
    }
}

impl TrustRoot {
    /// An empty trust root: trusts nothing.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a Fulcio CA: the `CERTIFICATE` blocks of `pem`, self-signed ones as
    /// roots, the others as intermediates.
    ///
    /// # Errors
    /// No certificate, bad PEM, or a certificate that does not parse.
    pub fn add_fulcio_pem(&mut self, pem: &str) -> Result<(), SignatureError> {
        let certs = pem_blocks(pem, "CERTIFICATE")?;
        self.add_fulcio_der(certs, Window::default())
    }

    fn add_fulcio_der(&mut self, certs: Vec<Vec<u8>>, valid: Window) -> Result<(), SignatureError> {
        if certs.is_empty() {
            return Err(SignatureError::TrustRoot("no Fulcio certificate".into()));
        }
        let mut ca = CertificateAuthority {
            roots: Vec::new(),
            intermediates: Vec::new(),
            valid,
        };
        for der in certs {
            let (_, cert) = X509Certificate::from_der(&der).map_err(|e| {
                SignatureError::TrustRoot(format!("a Fulcio certificate does not parse: {e}"))
            })?;
            if cert.subject().as_raw() == cert.issuer().as_raw() {
                ca.roots.push(der);
            } else {
                ca.intermediates.push(der);
            }
        }
        self.cas.push(ca);
        Ok(())
    }

    /// Adds a Rekor log by its public key (PEM); its log id is the SHA-256 of the
    /// key's DER SubjectPublicKeyInfo. Returns the log id, hex.
    ///
    /// # Errors
    /// As [`PublicKey::from_pem`].
    pub fn add_rekor_pem(&mut self, pem: &str) -> Result<String, SignatureError> {
        let key = PublicKey::from_pem(pem)?;
        Ok(self.add_rekor_key(key, Window::default()))
    }

    fn add_rekor_key(&mut self, key: PublicKey, valid: Window) -> String {
        let id = key.id();
        self.logs.push(TransparencyLog { key, id, valid });
        hex(&id)
    }

    /// A trust root from a Sigstore `trusted_root.json` (protobuf-specs
    /// `TrustedRoot`): its `tlogs` and `certificateAuthorities` with their
    /// `validFor` windows. CT logs and timestamp authorities are ignored.
    ///
    /// # Errors
    /// Not JSON of that shape, bad base64, keys or certificates that do not parse.
    pub fn from_trusted_root_json(bytes: &[u8]) -> Result<Self, SignatureError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Root {
            #[serde(default)]
            tlogs: Vec<Tlog>,
            #[serde(default)]
            certificate_authorities: Vec<Ca>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Tlog {
            public_key: Key,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Key {
            raw_bytes: String,
            valid_for: Option<ValidFor>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Ca {
            cert_chain: Chain,
            valid_for: Option<ValidFor>,
        }
        #[derive(Deserialize)]
        struct Chain {
            certificates: Vec<Raw>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Raw {
            raw_bytes: String,
        }
        #[derive(Deserialize)]
        struct ValidFor {
            start: Option<String>,
            end: Option<String>,
        }
        fn window(v: Option<&ValidFor>) -> Result<Window, SignatureError> {
            let parse = |s: &Option<String>| -> Result<Option<i64>, SignatureError> {
                s.as_deref()
                    .map(|t| {
                        parse_rfc3339(t).ok_or_else(|| {
                            SignatureError::TrustRoot(format!(
                                "validFor time {t:?} is not RFC 3339"
                            ))
                        })
                    })
                    .transpose()
            };
            Ok(match v {
                Some(v) => Window {
                    start: parse(&v.start)?,
                    end: parse(&v.end)?,
                },
                None => Window::default(),
            })
        }
        let b64 = |s: &str, what: &str| {
            unbase64(s).ok_or_else(|| SignatureError::TrustRoot(format!("{what} is not base64")))
        };
        let root: Root = serde_json::from_slice(bytes)
            .map_err(|e| SignatureError::TrustRoot(format!("not a trusted_root.json: {e}")))?;
        let mut trust = Self::new();
        for (i, log) in root.tlogs.iter().enumerate() {
            let der = b64(&log.public_key.raw_bytes, &format!("tlogs[{i}] public key"))?;
            let key = PublicKey::from_spki_der(&der)
                .map_err(|e| SignatureError::TrustRoot(format!("tlogs[{i}] public key: {e}")))?;
            trust.add_rekor_key(key, window(log.public_key.valid_for.as_ref())?);
        }
        for (i, ca) in root.certificate_authorities.iter().enumerate() {
            let certs = ca
                .cert_chain
                .certificates
                .iter()
                .map(|c| {
                    b64(
                        &c.raw_bytes,
                        &format!("certificateAuthorities[{i}] certificate"),
                    )
                })
                .collect::<Result<Vec<_>, _>>()?;
            trust.add_fulcio_der(certs, window(ca.valid_for.as_ref())?)?;
        }
        Ok(trust)
    }

    /// A trust root from files: an optional `trusted_root.json`, Fulcio CA PEM
    /// files, Rekor public key PEM files.
    ///
    /// # Errors
    /// A file that cannot be read or parsed, named in the error.
    pub fn from_files(
        trusted_root: Option<&Path>,
        fulcio: &[&Path],
        rekor: &[&Path],
    ) -> Result<Self, SignatureError> {
        let read =
            |p: &Path| std::fs::read(p).map_err(|e| SignatureError::Io(p.display().to_string(), e));
        let named = |p: &Path, e: SignatureError| {
            SignatureError::TrustRoot(format!("{}: {e}", p.display()))
        };
        let mut trust = match trusted_root {
            Some(p) => Self::from_trusted_root_json(&read(p)?).map_err(|e| named(p, e))?,
            None => Self::new(),
        };
        for p in fulcio {
            let text = String::from_utf8_lossy(&read(p)?).into_owned();
            trust.add_fulcio_pem(&text).map_err(|e| named(p, e))?;
        }
        for p in rekor {
            let text = String::from_utf8_lossy(&read(p)?).into_owned();
            trust.add_rekor_pem(&text).map_err(|e| named(p, e))?;
        }
        Ok(trust)
    }

    /// The ids (hex) of the trusted logs.
    #[must_use]
    pub fn log_ids(&self) -> Vec<String> {
        self.logs.iter().map(|l| hex(&l.id)).collect()
    }

    /// SHA-256 over everything trusted: changes whenever the trust root does.
    #[must_use]
    pub fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        for ca in &self.cas {
            h.update(b"ca");
            for der in ca.roots.iter().chain(&ca.intermediates) {
                h.update(Sha256::digest(der));
            }
            h.update(format!("{:?}", ca.valid).as_bytes());
        }
        for log in &self.logs {
            h.update(b"log");
            h.update(log.id);
            h.update(format!("{:?}", log.valid).as_bytes());
        }
        hex(&h.finalize())
    }

    /// The key of log `id` if it is trusted at `time`.
    pub(crate) fn log_key(&self, id: &[u8], time: i64) -> Option<&PublicKey> {
        self.logs
            .iter()
            .find(|l| l.id.as_slice() == id && l.valid.contains(time))
            .map(|l| &l.key)
    }

    /// Roots and intermediates of the CAs valid at `time`.
    pub(crate) fn fulcio_at(&self, time: i64) -> (Vec<&Vec<u8>>, Vec<&Vec<u8>>) {
        let valid = || self.cas.iter().filter(move |c| c.valid.contains(time));
        (
            valid().flat_map(|c| &c.roots).collect(),
            valid().flat_map(|c| &c.intermediates).collect(),
        )
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` as Unix seconds.
fn parse_rfc3339(t: &str) -> Option<i64> {
    let b = t.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = t.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut rest = &t[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        rest = &frac[n..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && rest.as_bytes()[3] == b':' => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            sign * (num(20..22)? * 3600 + num(23..25)? * 60)
        }
        _ => return None,
    };
    // Days from civil (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + h * 3600 + mi * 60 + s - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_times() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_rfc3339("2021-01-12T11:53:27.000Z"),
            Some(1_610_452_407)
        );
        assert_eq!(
            parse_rfc3339("2021-01-12T12:53:27+01:00"),
            Some(1_610_452_407)
        );
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z"), Some(951_782_400));
        for bad in [
            "",
            "2021-01-12",
            "2021-13-12T11:53:27Z",
            "2021-01-12T11:53:27",
            "2021-01-12T11:53:27.Z",
            "２０２１-01-12T11:53:27Z",
            "2021-01-12T11:53:27+0100",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn hostile_trusted_roots_are_errors() {
        for bad in [
            &b""[..],
            b"{",
            br#"{"tlogs":[{"publicKey":{"rawBytes":"!!"}}]}"#,
            br#"{"tlogs":[{"publicKey":{"rawBytes":"AAAA"}}]}"#,
            br#"{"certificateAuthorities":[{"certChain":{"certificates":[{"rawBytes":"AAAA"}]}}]}"#,
            br#"{"certificateAuthorities":[{"certChain":{"certificates":[]}}]}"#,
            br#"{"tlogs":[{"publicKey":{"rawBytes":"AAAA","validFor":{"start":"yesterday"}}}]}"#,
        ] {
            assert!(
                TrustRoot::from_trusted_root_json(bad).is_err(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        assert!(TrustRoot::from_trusted_root_json(b"{}").is_ok());
    }
}
