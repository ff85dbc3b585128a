//! Verification end to end over evidence the `testing` module produces.

use std::collections::BTreeMap;
use std::time::Instant;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use palisade_signature::testing::{self, Deviations, FulcioCa, SigningKey, Sigstore, SIGNED_AT};
use palisade_signature::{
    verify, Cache, Evidence, Matcher, Policy, Reason, Rejection, Require, Rule, Signer,
    TlogRequirement, TrustRoot,
};
use serde_json::Value;

const ID: &str = "release@acme.example";
const ISSUER: &str = "https://token.actions.example";

fn digest(n: u8) -> String {
    format!("sha256:{}", format!("{n:02x}").repeat(32))
}

fn keyless() -> Signer {
    Signer::keyless(Matcher::exact(ID), Matcher::exact(ISSUER))
}

fn bundle(v: &Value) -> Evidence {
    Evidence::from_bundle_json(v.to_string().as_bytes(), None).expect("bundle parses")
}

fn layer((payload, annotations): (Vec<u8>, BTreeMap<String, String>)) -> Evidence {
    Evidence::from_cosign_layer(&payload, &annotations).expect("layer parses")
}

/// The single reason of a one-evidence rejection.
fn reason(r: Result<palisade_signature::Verified, Rejection>) -> Reason {
    let rejection = r.expect_err("rejected");
    assert_eq!(rejection.failures.len(), 1, "{rejection}");
    rejection.failures[0].reason.clone()
}

#[test]
fn keyed_signature_verifies_and_another_key_is_rejected() {
    let key = SigningKey::generate();
    let ev = [layer(testing::keyed_cosign_layer(&key, &digest(1)))];
    let trust = TrustRoot::new();
    let ok = verify(&digest(1), &ev, &Signer::key(key.public_key()), &trust).expect("verifies");
    assert_eq!((ok.evidence, ok.log_index), (0, None));

    let other = SigningKey::generate();
    let r = verify(&digest(1), &ev, &Signer::key(other.public_key()), &trust);
    assert_eq!(reason(r.clone()), Reason::WrongKey);
    assert!(r
        .expect_err("rejected")
        .to_string()
        .contains("not signed by this key"));
    // Required transparency with no log entry.
    let strict = Signer::key(key.public_key()).with_tlog(TlogRequirement::Required);
    assert_eq!(
        reason(verify(&digest(1), &ev, &strict, &trust)),
        Reason::NoTlogEntry
    );
}

#[test]
fn payload_naming_another_digest_is_rejected() {
    let key = SigningKey::generate();
    let ev = [layer(testing::keyed_cosign_layer(&key, &digest(2)))];
    let r = verify(
        &digest(1),
        &ev,
        &Signer::key(key.public_key()),
        &TrustRoot::new(),
    );
    assert_eq!(
        reason(r),
        Reason::DigestMismatch {
            expected: digest(1),
            found: digest(2)
        }
    );
}

#[test]
fn keyed_layer_with_rekor_bundle_verifies_its_set() {
    let mut s = Sigstore::new();
    let key = SigningKey::generate();
    let (payload, mut annotations) = s.keyed_cosign_layer(&key, &digest(3));
    let signer = Signer::key(key.public_key()).with_tlog(TlogRequirement::Required);
    let ok = verify(
        &digest(3),
        &[layer((payload.clone(), annotations.clone()))],
        &signer,
        &s.trust_root(),
    )
    .expect("verifies");
    assert_eq!(
        (ok.log_index, ok.integrated_time),
        (Some(6), Some(SIGNED_AT))
    );
    // Without the log in the trust root.
    assert!(matches!(
        reason(verify(
            &digest(3),
            &[layer((payload.clone(), annotations.clone()))],
            &signer,
            &TrustRoot::new()
        )),
        Reason::UntrustedLog(_)
    ));
    // A SET over another integrated time.
    let bundle = annotations
        .get_mut("dev.sigstore.cosign/bundle")
        .expect("bundle");
    *bundle = bundle.replace(
        &format!("\"integratedTime\":{SIGNED_AT}"),
        &format!("\"integratedTime\":{}", SIGNED_AT + 1),
    );
    assert!(matches!(
        reason(verify(
            &digest(3),
            &[layer((payload, annotations))],
            &signer,
            &s.trust_root()
        )),
        Reason::SetInvalid(_)
    ));
}

#[test]
fn keyless_bundle_with_matching_identity_and_issuer_passes() {
    let mut s = Sigstore::new();
    let ev = [bundle(&s.keyless_bundle(&digest(4), ID, ISSUER))];
    let ok = verify(&digest(4), &ev, &keyless(), &s.trust_root()).expect("verifies");
    assert_eq!(ok.identity.as_deref(), Some(ID));
    assert_eq!(ok.issuer.as_deref(), Some(ISSUER));
    assert_eq!(ok.integrated_time, Some(SIGNED_AT));
    // The same trust from a trusted_root.json.
    let trust =
        TrustRoot::from_trusted_root_json(s.trusted_root_json().as_bytes()).expect("trusted root");
    assert_eq!(trust.log_ids(), s.trust_root().log_ids());
    assert!(verify(&digest(4), &ev, &keyless(), &trust).is_ok());
    // Regular expressions, anchored.
    let re = Signer::keyless(
        Matcher::regex(r".*@acme\.example").expect("regex"),
        Matcher::regex(r"https://token\.actions\.example").expect("regex"),
    );
    assert!(verify(&digest(4), &ev, &re, &s.trust_root()).is_ok());
    let re = Signer::keyless(
        Matcher::regex("acme").expect("regex"),
        Matcher::exact(ISSUER),
    );
    assert!(matches!(
        reason(verify(&digest(4), &ev, &re, &s.trust_root())),
        Reason::IdentityMismatch { .. }
    ));
}

#[test]
fn keyless_uri_identity_and_cosign_layer() {
    let mut s = Sigstore::new();
    let workflow = "https://github.com/acme/app/.github/workflows/release.yml@refs/heads/main";
    let ev = [layer(s.keyless_cosign_layer(&digest(5), workflow, ISSUER))];
    let signer = Signer::keyless(Matcher::exact(workflow), Matcher::exact(ISSUER));
    let ok = verify(&digest(5), &ev, &signer, &s.trust_root()).expect("verifies");
    assert_eq!(ok.identity.as_deref(), Some(workflow));
}

#[test]
fn wrong_identity_or_issuer_is_rejected_with_what_was_found() {
    let mut s = Sigstore::new();
    let ev = [bundle(&s.keyless_bundle(&digest(6), ID, ISSUER))];
    let other = Signer::keyless(
        Matcher::exact("mallory@acme.example"),
        Matcher::exact(ISSUER),
    );
    assert_eq!(
        reason(verify(&digest(6), &ev, &other, &s.trust_root())),
        Reason::IdentityMismatch {
            expected: "\"mallory@acme.example\"".into(),
            found: vec![ID.into()]
        }
    );
    let other = Signer::keyless(
        Matcher::exact(ID),
        Matcher::exact("https://accounts.example"),
    );
    let r = verify(&digest(6), &ev, &other, &s.trust_root());
    assert_eq!(
        reason(r.clone()),
        Reason::IssuerMismatch {
            expected: "\"https://accounts.example\"".into(),
            found: Some(ISSUER.into())
        }
    );
    assert!(r.expect_err("rejected").to_string().contains(ISSUER));
}

#[test]
fn certificate_from_an_untrusted_ca_is_rejected() {
    let mut s = Sigstore::new();
    let rogue = FulcioCa::new("rogue");
    let ev = [bundle(&s.keyless_bundle_with(
        &digest(7),
        ID,
        ISSUER,
        &Deviations {
            ca: Some(&rogue),
            ..Deviations::default()
        },
    ))];
    assert!(matches!(
        reason(verify(&digest(7), &ev, &keyless(), &s.trust_root())),
        Reason::UntrustedChain(_)
    ));
}

#[test]
fn certificate_expired_before_the_integrated_time_is_rejected() {
    let mut s = Sigstore::new();
    let d = Deviations {
        not_after: Some(SIGNED_AT - 10),
        ..Deviations::default()
    };
    let ev = [bundle(&s.keyless_bundle_with(&digest(8), ID, ISSUER, &d))];
    let r = reason(verify(&digest(8), &ev, &keyless(), &s.trust_root()));
    assert!(
        matches!(
            r,
            Reason::CertificateExpired {
                signed_at: SIGNED_AT,
                ..
            }
        ),
        "{r:?}"
    );
}

/// Applies `f` to the bundle's only tlog entry.
fn tamper(v: &Value, f: impl FnOnce(&mut Value)) -> Value {
    let mut v = v.clone();
    f(&mut v["verificationMaterial"]["tlogEntries"][0]);
    v
}

#[test]
fn tampered_inclusion_proofs_are_rejected() {
    let mut s = Sigstore::new();
    let good = s.keyless_bundle(&digest(9), ID, ISSUER);
    let trust = s.trust_root();
    let check = |v: &Value| verify(&digest(9), &[bundle(v)], &keyless(), &trust);
    assert!(check(&good).is_ok());

    let flipped = tamper(&good, |e| {
        let h = e["inclusionProof"]["hashes"][0].as_str().expect("hash");
        let mut raw = B64.decode(h).expect("base64");
        raw[0] ^= 1;
        e["inclusionProof"]["hashes"][0] = Value::String(B64.encode(raw));
    });
    assert!(matches!(reason(check(&flipped)), Reason::InclusionProof(_)));

    let index = tamper(&good, |e| e["inclusionProof"]["logIndex"] = "3".into());
    assert!(matches!(reason(check(&index)), Reason::InclusionProof(_)));

    let size = tamper(&good, |e| e["inclusionProof"]["treeSize"] = "9".into());
    assert!(matches!(reason(check(&size)), Reason::InclusionProof(_)));

    let truncated = tamper(&good, |e| {
        e["inclusionProof"]["hashes"]
            .as_array_mut()
            .expect("hashes")
            .pop();
    });
    assert!(matches!(
        reason(check(&truncated)),
        Reason::InclusionProof(_)
    ));

    let short_hash = tamper(&good, |e| {
        e["inclusionProof"]["hashes"][0] = B64.encode([0u8; 31]).into()
    });
    assert!(matches!(
        reason(check(&short_hash)),
        Reason::InclusionProof(_)
    ));

    // A consistent proof for another body: the leaf is not what the log holds.
    let body = tamper(&good, |e| e["canonicalizedBody"] = B64.encode(b"{}").into());
    assert!(matches!(reason(check(&body)), Reason::TlogBodyMismatch(_)));

    let no_proof = tamper(&good, |e| {
        e.as_object_mut().expect("entry").remove("inclusionProof");
    });
    assert_eq!(reason(check(&no_proof)), Reason::MissingInclusionProof);
}

#[test]
fn checkpoint_signed_by_an_unknown_key_is_rejected() {
    let mut s = Sigstore::new();
    let stranger = SigningKey::generate();
    let d = Deviations {
        checkpoint_key: Some(&stranger),
        ..Deviations::default()
    };
    let ev = [bundle(&s.keyless_bundle_with(&digest(10), ID, ISSUER, &d))];
    assert!(matches!(
        reason(verify(&digest(10), &ev, &keyless(), &s.trust_root())),
        Reason::CheckpointUntrusted(_)
    ));
}

#[test]
fn tampered_set_is_rejected() {
    let mut s = Sigstore::new();
    let good = s.keyless_bundle(&digest(11), ID, ISSUER);
    let set = tamper(&good, |e| {
        let raw = B64
            .decode(
                e["inclusionPromise"]["signedEntryTimestamp"]
                    .as_str()
                    .expect("set"),
            )
            .expect("b64");
        let mut raw = raw;
        let last = raw.len() - 1;
        raw[last] ^= 1;
        e["inclusionPromise"]["signedEntryTimestamp"] = B64.encode(raw).into();
    });
    assert!(matches!(
        reason(verify(
            &digest(11),
            &[bundle(&set)],
            &keyless(),
            &s.trust_root()
        )),
        Reason::SetInvalid(_)
    ));
    // Moving the integrated time into the certificate's window needs the SET.
    let time = tamper(&good, |e| {
        e["integratedTime"] = (SIGNED_AT + 5).to_string().into()
    });
    assert!(matches!(
        reason(verify(
            &digest(11),
            &[bundle(&time)],
            &keyless(),
            &s.trust_root()
        )),
        Reason::SetInvalid(_)
    ));
    // Keyless without any SET: no trusted signing time.
    let none = tamper(&good, |e| {
        e.as_object_mut().expect("entry").remove("inclusionPromise");
    });
    assert_eq!(
        reason(verify(
            &digest(11),
            &[bundle(&none)],
            &keyless(),
            &s.trust_root()
        )),
        Reason::NoTrustedTime
    );
}

#[test]
fn bundle_for_another_digest_and_foreign_signature_are_rejected() {
    let mut s = Sigstore::new();
    let good = s.keyless_bundle(&digest(12), ID, ISSUER);
    assert!(matches!(
        reason(verify(
            &digest(13),
            &[bundle(&good)],
            &keyless(),
            &s.trust_root()
        )),
        Reason::DigestMismatch { .. }
    ));
    // A signature from another bundle over this bundle's envelope.
    let other = s.keyless_bundle(&digest(12), ID, ISSUER);
    let mut mixed = good.clone();
    mixed["dsseEnvelope"]["signatures"] = other["dsseEnvelope"]["signatures"].clone();
    assert_eq!(
        reason(verify(
            &digest(12),
            &[bundle(&mixed)],
            &keyless(),
            &s.trust_root()
        )),
        Reason::SignatureInvalid
    );
    // Another bundle's log entry for this bundle's signature.
    let mut swapped = good.clone();
    swapped["verificationMaterial"]["tlogEntries"] =
        other["verificationMaterial"]["tlogEntries"].clone();
    assert!(matches!(
        reason(verify(
            &digest(12),
            &[bundle(&swapped)],
            &keyless(),
            &s.trust_root()
        )),
        Reason::TlogBodyMismatch(_)
    ));
}

#[test]
fn message_signature_bundle_needs_the_manifest() {
    let mut s = Sigstore::new();
    let key = SigningKey::generate();
    let manifest = br#"{"schemaVersion":2,"layers":[]}"#;
    let d = format!("sha256:{}", palisade_signature_hex(manifest));
    let v = s.keyed_message_bundle(&key, manifest);
    let signer = Signer::key(key.public_key()).with_tlog(TlogRequirement::Required);
    let with =
        Evidence::from_bundle_json(v.to_string().as_bytes(), Some(manifest)).expect("parses");
    let ok = verify(&d, &[with], &signer, &s.trust_root()).expect("verifies");
    assert!(ok.log_index.is_some());
    assert_eq!(
        reason(verify(&d, &[bundle(&v)], &signer, &s.trust_root())),
        Reason::NeedsManifest
    );
    let wrong = Evidence::from_bundle_json(v.to_string().as_bytes(), Some(b"{}")).expect("parses");
    assert!(matches!(
        reason(verify(&d, &[wrong], &signer, &s.trust_root())),
        Reason::DigestMismatch { .. }
    ));
}

fn palisade_signature_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn any_evidence_may_pass_and_every_failure_is_reported() {
    let mut s = Sigstore::new();
    let key = SigningKey::generate();
    let ev = [
        layer(testing::keyed_cosign_layer(
            &SigningKey::generate(),
            &digest(14),
        )),
        layer(testing::keyed_cosign_layer(&key, &digest(15))),
        bundle(&s.keyless_bundle(&digest(14), ID, ISSUER)),
    ];
    let r = verify(
        &digest(14),
        &ev[..2],
        &Signer::key(key.public_key()),
        &s.trust_root(),
    )
    .expect_err("rejected");
    assert_eq!(r.failures.len(), 2);
    assert_eq!(r.failures[0].reason, Reason::WrongKey);
    assert!(matches!(
        r.failures[1].reason,
        Reason::DigestMismatch { .. }
    ));
    let ok = verify(&digest(14), &ev, &keyless(), &s.trust_root()).expect("third verifies");
    assert_eq!(ok.evidence, 2);
    assert_eq!(
        reason(verify(&digest(14), &[], &keyless(), &s.trust_root())),
        Reason::NoSignatures
    );
    assert!(matches!(
        reason(verify("sha256:zz", &ev, &keyless(), &s.trust_root())),
        Reason::BadImageDigest(_)
    ));
}

/// An edit of a bundle's JSON.
type Mutation<'a> = Box<dyn Fn(&mut Value) + 'a>;

#[test]
fn hostile_inputs_are_errors_not_panics() {
    let huge = "A".repeat(10 << 20);
    let sig = |s: &str| {
        BTreeMap::from([(
            "dev.cosignproject.cosign/signature".to_owned(),
            s.to_owned(),
        )])
    };
    assert!(Evidence::from_cosign_layer(b"{}", &BTreeMap::new()).is_err());
    assert!(Evidence::from_cosign_layer(b"{}", &sig("!!not base64!!")).is_err());
    let mut bad_cert = sig("AAAA");
    bad_cert.insert(
        "dev.sigstore.cosign/certificate".into(),
        "-----BEGIN CERTIFICATE-----\n%%%\n-----END CERTIFICATE-----".into(),
    );
    assert!(Evidence::from_cosign_layer(b"{}", &bad_cert).is_err());
    let mut bad_bundle = sig("AAAA");
    bad_bundle.insert("dev.sigstore.cosign/bundle".into(), r#"{"SignedEntryTimestamp":"AAAA","Payload":{"body":"AAAA","integratedTime":1e400,"logIndex":1,"logID":"00"}}"#.into());
    assert!(Evidence::from_cosign_layer(b"{}", &bad_bundle).is_err());

    // Parses, then fails verification with reasons.
    let key = SigningKey::generate();
    let trust = TrustRoot::new();
    for payload in [
        &b""[..],
        b"{",
        b"[]",
        br#"{"critical":{"image":{"docker-manifest-digest":7}}}"#,
        huge.as_bytes(),
    ] {
        let ev = Evidence::from_cosign_layer(payload, &sig(&huge)).expect("base64 of As");
        assert!(verify(&digest(1), &[ev], &Signer::key(key.public_key()), &trust).is_err());
    }
    let mut s = Sigstore::new();
    let good = s.keyless_bundle(&digest(1), ID, ISSUER);
    let text = good.to_string();
    for cut in [0, 1, text.len() / 3, text.len() / 2, text.len() - 1] {
        assert!(
            Evidence::from_bundle_json(&text.as_bytes()[..cut], None).is_err(),
            "cut at {cut}"
        );
    }
    let mutations: Vec<Mutation<'_>> = vec![
        Box::new(|v| v["mediaType"] = "application/json".into()),
        Box::new(|v| v["dsseEnvelope"]["payload"] = "%%%".into()),
        Box::new(|v| v["verificationMaterial"]["certificate"]["rawBytes"] = "%%%".into()),
        Box::new(|v| {
            v["verificationMaterial"]["tlogEntries"][0]["logIndex"] =
                "99999999999999999999999".into()
        }),
        Box::new(|v| {
            v["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["treeSize"] = "-1".into()
        }),
        Box::new(|v| {
            v["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["hashes"][0] = 5.into()
        }),
        Box::new(
            |v| v["messageSignature"] = serde_json::json!({"messageDigest": {"algorithm": "SHA2_256", "digest": ""}, "signature": ""}),
        ),
    ];
    for m in &mutations {
        let mut v = good.clone();
        m(&mut v);
        assert!(
            Evidence::from_bundle_json(v.to_string().as_bytes(), None).is_err(),
            "{v}"
        );
    }
    // Structurally valid but hostile values: rejected by verification.
    let values: Vec<Mutation<'_>> = vec![
        Box::new(|v| {
            v["verificationMaterial"]["certificate"]["rawBytes"] =
                B64.encode(vec![0x30u8; 1 << 20]).into()
        }),
        Box::new(|v| v["verificationMaterial"]["certificate"]["rawBytes"] = B64.encode(b"").into()),
        Box::new(|v| {
            v["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["treeSize"] =
                u64::MAX.to_string().into()
        }),
        Box::new(|v| {
            v["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["hashes"] =
                vec![B64.encode([0u8; 32]); 100].into()
        }),
        Box::new(|v| {
            v["verificationMaterial"]["tlogEntries"][0]["inclusionProof"]["checkpoint"]
                ["envelope"] = huge.clone().into()
        }),
        Box::new(|v| {
            v["verificationMaterial"]["tlogEntries"][0]["canonicalizedBody"] =
                B64.encode(huge.as_bytes()).into()
        }),
        Box::new(|v| v["verificationMaterial"]["tlogEntries"][0]["logId"]["keyId"] = "".into()),
        Box::new(|v| {
            v["verificationMaterial"]["tlogEntries"][0]["integratedTime"] =
                i64::MIN.to_string().into()
        }),
        Box::new(|v| v["dsseEnvelope"]["payload"] = B64.encode(huge.as_bytes()).into()),
        Box::new(|v| v["dsseEnvelope"]["signatures"] = Value::Array(vec![])),
    ];
    for (i, m) in values.iter().enumerate() {
        let mut v = good.clone();
        m(&mut v);
        let ev = Evidence::from_bundle_json(v.to_string().as_bytes(), None).expect("parses");
        assert!(
            verify(&digest(1), &[ev], &keyless(), &s.trust_root()).is_err(),
            "mutation {i}"
        );
    }
}

#[test]
fn policy_file_selects_rules_and_verifies() {
    let mut s = Sigstore::new();
    let dir = tempfile::tempdir().expect("tempdir");
    let key = SigningKey::generate();
    std::fs::write(dir.path().join("cosign.pub"), key.public_pem()).expect("key");
    std::fs::write(dir.path().join("trusted_root.json"), s.trusted_root_json()).expect("root");
    let yaml = format!(
        "trustRoot:\n  trustedRoot: trusted_root.json\nrules:\n  - images: [\"ghcr.io/acme/**\"]\n    require: all\n    signers:\n      - key: cosign.pub\n      - keyless:\n          identity: {ID}\n          issuerRegExp: https://token\\.actions\\.example\n  - images: [nginx]\n    signers:\n      - key: |\n{}\n",
        key.public_pem().lines().map(|l| format!("          {l}")).collect::<Vec<_>>().join("\n")
    );
    let path = dir.path().join("policy.yaml");
    std::fs::write(&path, &yaml).expect("policy");
    let policy = Policy::from_file(&path).expect("policy parses");
    let trust = policy.trust.clone().expect("trust root");
    assert_eq!(
        policy
            .rules_for("ghcr.io/acme/team/app:v1")
            .map(|r| r.index),
        Some(0)
    );
    assert_eq!(policy.rules_for("nginx:1.25").map(|r| r.index), Some(1));
    assert_eq!(
        policy
            .rules_for("docker.io/library/nginx@sha256:00")
            .map(|r| r.index),
        Some(1)
    );
    assert!(policy.rules_for("ghcr.io/other/app").is_none());

    let rule = policy.rules_for("ghcr.io/acme/app").expect("rule");
    assert_eq!(rule.require, Require::All);
    let keyed = layer(testing::keyed_cosign_layer(&key, &digest(20)));
    let keyless_ev = bundle(&s.keyless_bundle(&digest(20), ID, ISSUER));
    let only_key = rule
        .verify(&digest(20), std::slice::from_ref(&keyed), &trust)
        .expect_err("needs both");
    assert!(
        only_key
            .failures
            .iter()
            .all(|f| f.reason == Reason::NoCertificate),
        "{only_key}"
    );
    let both = rule
        .verify(&digest(20), &[keyed, keyless_ev], &trust)
        .expect("both signers");
    assert_eq!(both.len(), 2);

    // JSON, and errors naming the file and rule.
    let json_path = dir.path().join("p.json");
    std::fs::write(&json_path, r#"{"rules":[{"images":["a/*"],"signers":[{"key":"cosign.pub"}]},{"images":["b"],"signers":[{"keyless":{"identity":"x"}}]}]}"#).expect("write");
    let e = Policy::from_file(&json_path)
        .expect_err("rule 1 lacks an issuer")
        .to_string();
    assert!(
        e.contains("p.json") && e.contains("rule 1") && e.contains("issuer"),
        "{e}"
    );
    std::fs::write(
        &json_path,
        r#"{"rules":[{"images":["a"],"signers":[{"key":"missing.pub"}]}]}"#,
    )
    .expect("write");
    let e = Policy::from_file(&json_path)
        .expect_err("missing key")
        .to_string();
    assert!(e.contains("rule 0") && e.contains("missing.pub"), "{e}");
    std::fs::write(
        &json_path,
        r#"{"rules":[{"images":["a"],"signers":[{"key":"cosign.pub"}],"requires":"all"}]}"#,
    )
    .expect("write");
    assert!(Policy::from_file(&json_path)
        .expect_err("unknown field")
        .to_string()
        .contains("rule 0"));
    std::fs::write(&path, "rules:\n  - images: [a]\n    signers:\n      - keyless: {identityRegExp: '(', issuer: x}\n").expect("write");
    assert!(Policy::from_file(&path)
        .expect_err("bad regex")
        .to_string()
        .contains("rule 0"));
}

#[test]
fn cache_hits_after_verification_and_misses_after_a_policy_change() {
    let mut s = Sigstore::new();
    let trust = s.trust_root();
    let ev = vec![bundle(&s.keyless_bundle(&digest(30), ID, ISSUER))];
    let rule = Rule::new(&["ghcr.io/acme/*"], vec![keyless()], Require::Any).expect("rule");
    let fp = rule.fingerprint(&trust);
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("cache.json");
    let mut cache = Cache::open(&file).expect("new cache");
    let mut fetched = 0;
    let first = cache.verify(&digest(30), &rule, &fp, &trust, || {
        fetched += 1;
        ev.clone()
    });
    assert!(first.is_ok());
    let start = Instant::now();
    let second = cache.verify(&digest(30), &rule, &fp, &trust, || {
        fetched += 1;
        Vec::new()
    });
    let elapsed = start.elapsed();
    assert_eq!(second.expect("cached"), first.expect("verified"));
    assert_eq!(fetched, 1, "the hit neither fetches nor verifies");
    // Not a timing assertion: a sanity bound far above the 5 ms target.
    assert!(elapsed.as_millis() < 1000, "{elapsed:?}");

    // Persisted and reloaded.
    cache.save().expect("saved");
    let reloaded = Cache::open(&file).expect("reloads");
    assert!(reloaded.get(&digest(30), &fp).is_some());

    // Another identity, issuer, requirement or trust root: another fingerprint.
    let changed = Rule::new(
        &["ghcr.io/acme/*"],
        vec![Signer::keyless(
            Matcher::exact("x@acme.example"),
            Matcher::exact(ISSUER),
        )],
        Require::Any,
    )
    .expect("rule");
    assert_ne!(changed.fingerprint(&trust), fp);
    assert_ne!(rule.fingerprint(&Sigstore::new().trust_root()), fp);
    let all = Rule::new(&["ghcr.io/acme/*"], vec![keyless()], Require::All).expect("rule");
    assert_ne!(all.fingerprint(&trust), fp);
    assert!(reloaded
        .get(&digest(30), &changed.fingerprint(&trust))
        .is_none());
    let r = cache.verify(
        &digest(30),
        &changed,
        &changed.fingerprint(&trust),
        &trust,
        || ev.clone(),
    );
    assert!(matches!(
        r.expect_err("re-verified and rejected").failures[0].reason,
        Reason::IdentityMismatch { .. }
    ));
    // A rejection is not cached.
    assert_eq!(cache.len(), 1);
    std::fs::write(&file, "{not json").expect("corrupt");
    assert!(Cache::open(&file).is_err());
}

#[test]
fn the_legacy_issuer_extension_is_read_when_the_current_one_is_absent() {
    let mut s = Sigstore::new();
    let d = Deviations {
        legacy_issuer: true,
        ..Deviations::default()
    };
    let v = s.keyless_bundle_with(&digest(4), ID, ISSUER, &d);
    let trust = s.trust_root();
    let ok = verify(&digest(4), &[bundle(&v)], &keyless(), &trust).expect("verifies");
    assert_eq!(ok.issuer.as_deref(), Some(ISSUER));
    let other = Signer::keyless(
        Matcher::exact(ID),
        Matcher::exact("https://accounts.example"),
    );
    assert!(matches!(
        reason(verify(&digest(4), &[bundle(&v)], &other, &trust)),
        Reason::IssuerMismatch { found: Some(ref f), .. } if f == ISSUER
    ));
}

#[test]
fn an_intermediate_ca_named_in_the_chain_annotation_links_the_leaf_to_the_root() {
    let root = FulcioCa::new("fulcio-root.example");
    let mut s = Sigstore::new();
    s.ca = root.intermediate("fulcio-intermediate.example");
    // Only the root is trusted: the intermediate must come with the signature.
    let mut trusted: Value = serde_json::from_str(&s.trusted_root_json()).expect("json");
    trusted["certificateAuthorities"][0]["certChain"]["certificates"] =
        serde_json::json!([{"rawBytes": B64.encode(root.der())}]);
    let trust = TrustRoot::from_trusted_root_json(trusted.to_string().as_bytes()).expect("trust");
    let (payload, mut annotations) = s.keyless_cosign_layer(&digest(6), ID, ISSUER);
    let without = layer((payload.clone(), annotations.clone()));
    assert!(matches!(
        reason(verify(&digest(6), &[without], &keyless(), &trust)),
        Reason::UntrustedChain(_)
    ));
    annotations.insert("dev.sigstore.cosign/chain".to_owned(), s.ca.pem());
    let with = layer((payload, annotations));
    let ok = verify(&digest(6), &[with], &keyless(), &trust).expect("verifies through the chain");
    assert_eq!(ok.identity.as_deref(), Some(ID));
}

#[test]
fn a_certificate_not_issued_for_code_signing_is_refused() {
    let s = Sigstore::new();
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs(),
    )
    .expect("time");
    // Without a log, the certificate is judged now: both are valid now.
    let signer = keyless().with_tlog(TlogRequirement::Optional);
    let layer_for = |(key, cert): (SigningKey, Vec<u8>)| {
        let payload = testing::simple_signing_payload(&digest(8));
        let sig = key.sign(&payload);
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            B64.encode(cert)
        );
        layer((
            payload,
            BTreeMap::from([
                (
                    "dev.cosignproject.cosign/signature".to_owned(),
                    B64.encode(sig),
                ),
                ("dev.sigstore.cosign/certificate".to_owned(), pem),
            ]),
        ))
    };
    let signing = layer_for(s.ca.issue(ID, ISSUER, now - 60, now + 600));
    assert!(verify(&digest(8), &[signing], &signer, &s.trust_root()).is_ok());
    let tls = layer_for(s.ca.issue_for_tls(ID, ISSUER, now - 60, now + 600));
    assert!(matches!(
        reason(verify(&digest(8), &[tls], &signer, &s.trust_root())),
        Reason::UntrustedChain(ref why) if why.contains("code signing")
    ));
}

#[test]
fn intoto_entries_are_checked_like_dsse_ones() {
    let mut s = Sigstore::new();
    let trust = s.trust_root();
    for twice in [true, false] {
        let d = Deviations {
            intoto: Some(twice),
            ..Deviations::default()
        };
        let v = s.keyless_bundle_with(&digest(5), ID, ISSUER, &d);
        assert!(
            verify(&digest(5), &[bundle(&v)], &keyless(), &trust).is_ok(),
            "signature base64 {} times",
            if twice { 2 } else { 1 }
        );
    }
    // The log holds another payload's hash: the entry is not this signature's.
    let other = b"{\"another\":\"statement\"}";
    let d = Deviations {
        intoto: Some(true),
        tlog_payload: Some(other),
        ..Deviations::default()
    };
    let v = s.keyless_bundle_with(&digest(5), ID, ISSUER, &d);
    assert!(matches!(
        reason(verify(&digest(5), &[bundle(&v)], &keyless(), &trust)),
        Reason::TlogBodyMismatch(_)
    ));
    // ... and so is a dsse entry.
    let d = Deviations {
        tlog_payload: Some(other),
        ..Deviations::default()
    };
    let v = s.keyless_bundle_with(&digest(5), ID, ISSUER, &d);
    assert!(matches!(
        reason(verify(&digest(5), &[bundle(&v)], &keyless(), &trust)),
        Reason::TlogBodyMismatch(_)
    ));
}
