//! Every byte that a keyless bundle's verification rests on is checked: a bit flipped
//! in any base64 field (signatures, certificate, DSSE payload, log id, proof hashes,
//! SET, logged body), a character changed in the signed checkpoint, or a number
//! changed (log index, integrated time, tree size) makes it fail, and no change panics.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use palisade_signature::testing::Sigstore;
use palisade_signature::{verify, Evidence, Matcher, Signer};
use serde_json::Value;

const ID: &str = "release@acme.example";
const ISSUER: &str = "https://token.actions.example";

/// Every string leaf of `v` with its JSON pointer.
fn strings(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::String(s) => out.push((at.to_owned(), s.clone())),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                strings(item, &format!("{at}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                strings(item, &format!("{at}/{k}"), out);
            }
        }
        _ => {}
    }
}

fn verifies(digest: &str, bundle: &Value, sigstore: &Sigstore) -> bool {
    let signer = Signer::keyless(Matcher::exact(ID), Matcher::exact(ISSUER));
    match Evidence::from_bundle_json(bundle.to_string().as_bytes(), None) {
        Ok(evidence) => verify(digest, &[evidence], &signer, &sigstore.trust_root()).is_ok(),
        Err(_) => false,
    }
}

#[test]
fn every_field_the_verification_rests_on_is_checked() {
    let mut sigstore = Sigstore::new();
    let digest = format!("sha256:{}", "5a".repeat(32));
    let good = sigstore.keyless_bundle(&digest, ID, ISSUER);
    assert!(verifies(&digest, &good, &sigstore));
    let mut leaves = Vec::new();
    strings(&good, "", &mut leaves);
    let mut checked = 0;
    for (pointer, text) in &leaves {
        let name = pointer.rsplit('/').next().unwrap_or_default();
        let mut variants: Vec<String> = Vec::new();
        if name == "envelope" {
            // The signed note: change characters of its body (the signature line's
            // name is a label; the log is known by its key), and of the signature past
            // its 4-byte key hint (a hint, not signed).
            let body_end = text.find("\n\n").expect("a signed note");
            let signature_at = text.rfind(' ').expect("a signature line") + 1;
            let positions = text
                .char_indices()
                .filter(|(i, c)| {
                    c.is_ascii_alphanumeric() && (*i < body_end || *i >= signature_at + 8)
                })
                .step_by(5);
            for (i, c) in positions {
                let other = if c == 'a' { 'b' } else { 'a' };
                let mut changed = text.clone();
                changed.replace_range(i..i + 1, &other.to_string());
                variants.push(changed);
            }
        } else if let Ok(n) = text.parse::<i64>() {
            variants.push((n + 1).to_string());
        } else if let Ok(raw) = B64.decode(text) {
            if raw.len() < 4 {
                continue;
            }
            for at in [0, raw.len() / 3, raw.len() / 2, raw.len() - 1] {
                let mut flipped = raw.clone();
                flipped[at] ^= 0x10;
                variants.push(B64.encode(flipped));
            }
        } else {
            continue;
        }
        for variant in variants {
            let mut bundle = good.clone();
            *bundle.pointer_mut(pointer).expect("pointer") = Value::String(variant.clone());
            assert!(
                !verifies(&digest, &bundle, &sigstore),
                "{pointer} changed to {variant:?} still verifies"
            );
            checked += 1;
        }
    }
    // The fields are really there: signature, payload, certificate, log id, the
    // integrated time and index, SET, body, proof hashes, root, checkpoint.
    assert!(checked > 40, "only {checked} changes made");
    for field in [
        "/dsseEnvelope/payload",
        "/dsseEnvelope/signatures/0/sig",
        "canonicalizedBody",
        "signedEntryTimestamp",
        "envelope",
    ] {
        assert!(
            leaves.iter().any(|(p, _)| p.ends_with(field)),
            "no {field} in {good}"
        );
    }
}

#[test]
fn no_change_to_the_bundle_text_panics() {
    let mut sigstore = Sigstore::new();
    let digest = format!("sha256:{}", "6b".repeat(32));
    let text = sigstore.keyless_bundle(&digest, ID, ISSUER).to_string();
    let signer = Signer::keyless(Matcher::exact(ID), Matcher::exact(ISSUER));
    let trust = sigstore.trust_root();
    let bytes = text.as_bytes();
    for cut in (0..bytes.len()).step_by(11) {
        if let Ok(e) = Evidence::from_bundle_json(&bytes[..cut], None) {
            let _ = verify(&digest, &[e], &signer, &trust);
        }
    }
    let mut changed = bytes.to_vec();
    for at in (0..bytes.len()).step_by(5) {
        let was = changed[at];
        for replacement in [b'0', b'"', b'9', b'-'] {
            changed[at] = replacement;
            if let Ok(e) = Evidence::from_bundle_json(&changed, None) {
                let _ = verify(&digest, &[e], &signer, &trust);
            }
        }
        changed[at] = was;
    }
}
