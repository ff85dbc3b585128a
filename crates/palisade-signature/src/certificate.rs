//! Fulcio certificates: the identity and OIDC issuer a leaf names, and its chain to
//! a trusted Fulcio CA at the signing time.
//!
//! The SCT embedded in Fulcio certificates is not verified: the Rekor inclusion
//! proof and SET are (see [`crate::tlog`]). A missing SCT is not an error.

use rustls_pki_types::{CertificateDer, UnixTime};
use webpki::{EndEntityCert, KeyUsage};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::key::PublicKey;
use crate::trust::TrustRoot;
use crate::verify::Reason;

/// Fulcio's OIDC issuer extension, a DER UTF8String (current certificates).
pub const OID_ISSUER_V2: &str = "1.3.6.1.4.1.57264.1.8";
/// Fulcio's legacy OIDC issuer extension: the raw string bytes.
pub const OID_ISSUER_V1: &str = "1.3.6.1.4.1.57264.1.1";
/// id-kp-codeSigning (1.3.6.1.5.5.7.3.3), DER value bytes.
const EKU_CODE_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03];

/// What a leaf certificate says about its signer.
#[derive(Debug, Clone)]
pub(crate) struct Leaf {
    pub key: PublicKey,
    /// Email and URI subject alternative names.
    pub identities: Vec<String>,
    pub issuer: Option<String>,
}

impl Leaf {
    pub(crate) fn parse(der: &[u8]) -> Result<Self, Reason> {
        let bad = |e: String| Reason::Malformed(format!("certificate: {e}"));
        let (rest, cert) = X509Certificate::from_der(der).map_err(|e| bad(e.to_string()))?;
        if !rest.is_empty() {
            return Err(bad("trailing bytes".into()));
        }
        let key =
            PublicKey::from_spki_der(cert.public_key().raw).map_err(|e| bad(e.to_string()))?;
        let mut identities = Vec::new();
        if let Ok(Some(san)) = cert.subject_alternative_name() {
            for name in &san.value.general_names {
                match name {
                    GeneralName::RFC822Name(s) | GeneralName::URI(s) => {
                        identities.push((*s).to_owned());
                    }
                    _ => {}
                }
            }
        }
        let mut issuer_v1 = None;
        let mut issuer_v2 = None;
        for ext in cert.extensions() {
            match ext.oid.to_id_string().as_str() {
                OID_ISSUER_V2 => issuer_v2 = der_utf8_string(ext.value),
                OID_ISSUER_V1 => issuer_v1 = std::str::from_utf8(ext.value).ok().map(str::to_owned),
                _ => {}
            }
        }
        Ok(Self {
            key,
            identities,
            issuer: issuer_v2.or(issuer_v1),
        })
    }
}

/// The contents of a DER UTF8String (tag 12), short or long length form.
fn der_utf8_string(der: &[u8]) -> Option<String> {
    let (&tag, rest) = der.split_first()?;
    if tag != 0x0c {
        return None;
    }
    let (&len, rest) = rest.split_first()?;
    let (len, rest) = if len < 0x80 {
        (usize::from(len), rest)
    } else {
        let n = usize::from(len & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let (bytes, rest) = rest.split_at(n);
        (
            bytes.iter().fold(0usize, |a, b| (a << 8) | usize::from(*b)),
            rest,
        )
    };
    if rest.len() != len {
        return None;
    }
    String::from_utf8(rest.to_vec()).ok()
}

/// Checks that `leaf` chains to a Fulcio CA of `trust` valid at `time` (Unix
/// seconds), through `intermediates` (untrusted, from the evidence) and the trust
/// root's own intermediates, with the code-signing extended key usage.
pub(crate) fn verify_chain(
    leaf: &[u8],
    intermediates: &[Vec<u8>],
    trust: &TrustRoot,
    time: i64,
) -> Result<(), Reason> {
    // The signing certificate itself must say code signing; a CA above it may say
    // nothing (no EKU: any purpose), but not another purpose only.
    let (_, parsed) = X509Certificate::from_der(leaf)
        .map_err(|e| Reason::Malformed(format!("certificate: {e}")))?;
    let code_signing = parsed
        .extended_key_usage()
        .ok()
        .flatten()
        .is_some_and(|eku| eku.value.code_signing);
    if !code_signing {
        return Err(Reason::UntrustedChain(
            "the certificate is not issued for code signing".into(),
        ));
    }
    let leaf_der = CertificateDer::from(leaf);
    let end_entity = EndEntityCert::try_from(&leaf_der)
        .map_err(|e| Reason::Malformed(format!("certificate: {e}")))?;
    let (anchor_ders, trusted_intermediates) = trust.fulcio_at(time);
    let anchors: Vec<_> = anchor_ders
        .iter()
        .filter_map(|der| {
            webpki::anchor_from_trusted_cert(&CertificateDer::from(der.as_slice()))
                .ok()
                .map(|a| a.to_owned())
        })
        .collect();
    if anchors.is_empty() {
        return Err(Reason::UntrustedChain(
            "no Fulcio root is trusted at the signing time".into(),
        ));
    }
    let chain: Vec<CertificateDer<'_>> = intermediates
        .iter()
        .chain(trusted_intermediates)
        .map(|d| CertificateDer::from(d.as_slice()))
        .collect();
    let seconds = u64::try_from(time)
        .map_err(|_| Reason::Malformed(format!("signing time {time} is before 1970")))?;
    end_entity
        .verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &anchors,
            &chain,
            UnixTime::since_unix_epoch(std::time::Duration::from_secs(seconds)),
            KeyUsage::required_if_present(EKU_CODE_SIGNING),
            None,
            None,
        )
        .map(|_| ())
        .map_err(|e| match e {
            webpki::Error::CertExpired { not_after, .. } => Reason::CertificateExpired {
                not_after: i64::try_from(not_after.as_secs()).unwrap_or(i64::MAX),
                signed_at: time,
            },
            webpki::Error::CertNotValidYet { not_before, .. } => Reason::CertificateNotYetValid {
                not_before: i64::try_from(not_before.as_secs()).unwrap_or(i64::MAX),
                signed_at: time,
            },
            webpki::Error::UnknownIssuer => Reason::UntrustedChain(
                "the certificate does not chain to a trusted Fulcio CA".into(),
            ),
            other => Reason::UntrustedChain(other.to_string()),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_strings() {
        assert_eq!(
            der_utf8_string(&[0x0c, 2, b'h', b'i']).as_deref(),
            Some("hi")
        );
        assert_eq!(der_utf8_string(&[0x0c, 3, b'h', b'i']), None);
        assert_eq!(der_utf8_string(&[0x13, 2, b'h', b'i']), None);
        assert_eq!(
            der_utf8_string(&[0x0c, 0x81, 2, b'h', b'i']).as_deref(),
            Some("hi")
        );
        assert_eq!(der_utf8_string(&[0x0c, 0x85, 1, 1, 1, 1, 1]), None);
        assert_eq!(der_utf8_string(&[0x0c, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(der_utf8_string(&[]), None);
    }

    #[test]
    fn garbage_certificates_are_errors() {
        assert!(Leaf::parse(&[]).is_err());
        assert!(Leaf::parse(&[0x30, 0x03, 1, 2, 3]).is_err());
        assert!(Leaf::parse(&vec![0x30; 10_000]).is_err());
    }
}
