//! `admission.k8s.io/v1` AdmissionReview: the request as the API server sends it, and
//! the response it expects.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The only version the webhook speaks (`admissionReviewVersions: [v1]`).
pub const API_VERSION: &str = "admission.k8s.io/v1";
pub const KIND: &str = "AdmissionReview";

/// Why a body is not an AdmissionReview the webhook can answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    #[error("the body is not an AdmissionReview: {0}")]
    Json(String),
    #[error("apiVersion {0:?} is not {API_VERSION} (set admissionReviewVersions: [v1])")]
    Version(String),
    #[error("kind {0:?} is not {KIND}")]
    Kind(String),
    #[error("the AdmissionReview has no request")]
    NoRequest,
    #[error("the AdmissionReview request has no uid")]
    NoUid,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    #[serde(default)]
    api_version: String,
    #[serde(default)]
    kind: String,
    #[serde(borrow, default)]
    request: Option<AdmissionRequest<'a>>,
}

/// Group, version and kind, as in `request.kind`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct GroupVersionKind {
    pub group: String,
    pub version: String,
    pub kind: String,
}

/// Group, version and resource, as in `request.resource`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct GroupVersionResource {
    pub group: String,
    pub version: String,
    pub resource: String,
}

/// Who asked.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct UserInfo {
    pub username: String,
    pub groups: Vec<String>,
}

/// `request` of an AdmissionReview. The objects stay as the JSON text they arrived as:
/// Palisade's own JSON reader builds the positioned tree the checks read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionRequest<'a> {
    #[serde(default)]
    pub uid: String,
    #[serde(default)]
    pub kind: GroupVersionKind,
    #[serde(default)]
    pub resource: GroupVersionResource,
    /// `ephemeralcontainers`, `status`, `scale`, ... (empty for the object itself).
    #[serde(default)]
    pub sub_resource: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub namespace: String,
    /// CREATE, UPDATE, DELETE or CONNECT.
    #[serde(default)]
    pub operation: String,
    #[serde(default)]
    pub user_info: UserInfo,
    #[serde(borrow, default)]
    pub object: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub old_object: Option<&'a RawValue>,
    #[serde(default)]
    pub dry_run: bool,
}

/// A request and the `apiVersion` to echo.
#[derive(Debug)]
pub struct Review<'a> {
    pub api_version: String,
    pub request: AdmissionRequest<'a>,
}

/// Reads an AdmissionReview from `body`.
///
/// # Errors
/// The body is not JSON, not an `admission.k8s.io/v1` AdmissionReview, or has no
/// request or uid.
pub fn parse_review(body: &[u8]) -> Result<Review<'_>, ReviewError> {
    let envelope: Envelope<'_> =
        serde_json::from_slice(body).map_err(|e| ReviewError::Json(e.to_string()))?;
    if envelope.api_version != API_VERSION {
        return Err(ReviewError::Version(envelope.api_version));
    }
    if envelope.kind != KIND {
        return Err(ReviewError::Kind(envelope.kind));
    }
    let request = envelope.request.ok_or(ReviewError::NoRequest)?;
    if request.uid.is_empty() {
        return Err(ReviewError::NoUid);
    }
    Ok(Review {
        api_version: envelope.api_version,
        request,
    })
}

/// `response.status` of a denial: a `metav1.Status`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Status {
    pub code: u16,
    pub message: String,
    pub reason: &'static str,
    pub status: &'static str,
}

/// `response` of an AdmissionReview.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionResponse {
    pub uid: String,
    pub allowed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub audit_annotations: BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResponseEnvelope<'a> {
    api_version: &'a str,
    kind: &'static str,
    response: &'a AdmissionResponse,
}

/// The AdmissionReview answering a request of `api_version`.
#[must_use]
pub fn response_body(api_version: &str, response: &AdmissionResponse) -> Vec<u8> {
    serde_json::to_vec(&ResponseEnvelope {
        api_version,
        kind: KIND,
        response,
    })
    .expect("a response of strings and maps always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_review_and_keeps_the_object_as_text() {
        let body = br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{
            "uid":"705ab4f5-6393-11e8-b7cc-42010a800002",
            "kind":{"group":"","version":"v1","kind":"Pod"},
            "resource":{"group":"","version":"v1","resource":"pods"},
            "subResource":"ephemeralcontainers","namespace":"web","operation":"UPDATE",
            "userInfo":{"username":"admin","groups":["system:authenticated"]},
            "object":{"kind":"Pod","spec":{"containers":[]}},"oldObject":null,"dryRun":true}}"#;
        let review = parse_review(body).unwrap();
        let r = &review.request;
        assert_eq!(r.uid, "705ab4f5-6393-11e8-b7cc-42010a800002");
        assert_eq!(
            (r.kind.kind.as_str(), r.sub_resource.as_str()),
            ("Pod", "ephemeralcontainers")
        );
        assert_eq!(r.user_info.groups, ["system:authenticated"]);
        assert_eq!(
            r.object.unwrap().get(),
            r#"{"kind":"Pod","spec":{"containers":[]}}"#
        );
        assert!(r.old_object.is_none(), "null reads as no object");
        assert!(r.dry_run);
    }

    #[test]
    fn refuses_what_is_not_a_v1_review() {
        let cases: [(&[u8], ReviewError); 5] = [
            (b"{", ReviewError::Json(String::new())),
            (
                br#"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview","request":{"uid":"a"}}"#,
                ReviewError::Version("admission.k8s.io/v1beta1".into()),
            ),
            (
                br#"{"apiVersion":"admission.k8s.io/v1","kind":"Pod","request":{"uid":"a"}}"#,
                ReviewError::Kind("Pod".into()),
            ),
            (
                br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#,
                ReviewError::NoRequest,
            ),
            (
                br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"operation":"CREATE"}}"#,
                ReviewError::NoUid,
            ),
        ];
        for (body, want) in cases {
            let got = parse_review(body).unwrap_err();
            match (&got, &want) {
                (ReviewError::Json(_), ReviewError::Json(_)) => {}
                _ => assert_eq!(got, want),
            }
        }
    }

    #[test]
    fn a_response_echoes_the_version_and_leaves_out_empty_parts() {
        let response = AdmissionResponse {
            uid: "u1".into(),
            allowed: true,
            status: None,
            warnings: Vec::new(),
            audit_annotations: BTreeMap::new(),
        };
        let body = response_body(API_VERSION, &response);
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","response":{"uid":"u1","allowed":true}}"#
        );
    }
}
