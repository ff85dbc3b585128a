//! Serving certificates: read from PEM files and reloaded when the files change (a
//! mounted Secret rotated by cert-manager), and a self-signed bootstrap set.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Reads a certificate chain and its key, refusing a key that does not match.
///
/// # Errors
/// A file cannot be read, holds no certificate or key, or the two do not match.
pub fn load_certified_key(cert: &Path, key: &Path) -> Result<CertifiedKey, String> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("cannot read {}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cannot read {}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("{} holds no certificate", cert.display()));
    }
    let key_der = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("cannot read the private key {}: {e}", key.display()))?;
    let signing = rustls::crypto::ring::sign::any_supported_type(&key_der)
        .map_err(|e| format!("unsupported private key {}: {e}", key.display()))?;
    let certified = CertifiedKey::new(chain, signing);
    certified.keys_match().map_err(|e| {
        format!(
            "the key {} does not match the certificate {}: {e}",
            key.display(),
            cert.display()
        )
    })?;
    Ok(certified)
}

/// The serving certificate, swapped whole when its files change: a handshake sees the
/// old pair or the new one, never a mix, and no request fails during a rotation.
pub struct ReloadingCert {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<Loaded>,
}

struct Loaded {
    key: Arc<CertifiedKey>,
    stamp: Stamp,
}

/// What is compared to notice a change: both files' modification times and sizes.
/// (A Secret volume swaps a symlink, which changes both.)
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stamp(Option<(SystemTime, u64)>, Option<(SystemTime, u64)>);

fn stamp(cert: &Path, key: &Path) -> Stamp {
    let of = |p: &Path| {
        std::fs::metadata(p)
            .ok()
            .and_then(|m| Some((m.modified().ok()?, m.len())))
    };
    Stamp(of(cert), of(key))
}

/// What a reload check did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reload {
    Unchanged,
    Reloaded,
    /// The files changed but do not hold a usable pair (yet): the old one stays.
    Failed(String),
}

impl ReloadingCert {
    /// # Errors
    /// The files cannot be read or do not match.
    pub fn new(cert: &Path, key: &Path) -> Result<ReloadingCert, String> {
        let stamp = stamp(cert, key);
        let loaded = load_certified_key(cert, key)?;
        Ok(ReloadingCert {
            cert: cert.to_owned(),
            key: key.to_owned(),
            current: RwLock::new(Loaded {
                key: Arc::new(loaded),
                stamp,
            }),
        })
    }

    /// Reloads the pair if either file changed since it was last read.
    pub fn check(&self) -> Reload {
        let now = stamp(&self.cert, &self.key);
        let before = self
            .current
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .stamp
            .clone();
        if now == before {
            return Reload::Unchanged;
        }
        match load_certified_key(&self.cert, &self.key) {
            Ok(key) => {
                let mut current = self
                    .current
                    .write()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                *current = Loaded {
                    key: Arc::new(key),
                    stamp: now,
                };
                Reload::Reloaded
            }
            // Half-written (the certificate replaced before the key): tried again at
            // the next check, as the stamp was not updated.
            Err(e) => Reload::Failed(e),
        }
    }
}

impl fmt::Debug for ReloadingCert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReloadingCert")
            .field("cert", &self.cert)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(
            self.current
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .key
                .clone(),
        )
    }
}

/// A self-signed CA and a serving certificate it signed, as PEM.
#[derive(Debug, Clone)]
pub struct Bootstrap {
    pub ca_cert: String,
    pub cert: String,
    pub key: String,
}

/// Makes a CA and a serving certificate for `dns_names` (the Service's names:
/// `svc.ns.svc`, ...), valid for `days`.
///
/// # Errors
/// Key generation or signing failed.
pub fn bootstrap(dns_names: &[String], days: u32) -> Result<Bootstrap, String> {
    use rcgen::{
        BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose, SanType,
    };
    let err = |e: rcgen::Error| e.to_string();
    let validity = |p: &mut CertificateParams| {
        // An hour back, for clocks a little behind.
        let now = time::OffsetDateTime::now_utc();
        p.not_before = now - time::Duration::hours(1);
        p.not_after = now + time::Duration::days(i64::from(days));
    };
    let ca_key = KeyPair::generate().map_err(err)?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "palisade admission CA");
    ca.distinguished_name = name;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    validity(&mut ca);
    let ca_cert = ca.self_signed(&ca_key).map_err(err)?;
    let issuer = rcgen::Issuer::new(ca, ca_key);

    let key = KeyPair::generate().map_err(err)?;
    let mut leaf = CertificateParams::default();
    for n in dns_names {
        leaf.subject_alt_names
            .push(match n.parse::<std::net::IpAddr>() {
                Ok(ip) => SanType::IpAddress(ip),
                Err(_) => SanType::DnsName(n.clone().try_into().map_err(err)?),
            });
    }
    let mut name = DistinguishedName::new();
    name.push(
        DnType::CommonName,
        dns_names
            .first()
            .map_or("palisade-admission", String::as_str),
    );
    leaf.distinguished_name = name;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    validity(&mut leaf);
    let cert = leaf.signed_by(&key, &issuer).map_err(err)?;
    Ok(Bootstrap {
        ca_cert: ca_cert.pem(),
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}
