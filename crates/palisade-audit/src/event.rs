//! One audit event, read the way the rules need it: the Event's fixed fields borrowed
//! from the line as it is parsed (no copy of a string without escapes), the request
//! and response bodies kept as raw JSON and parsed only when a rule reads them, and
//! the whole event parsed into a `Value` only for `jevt.value`.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::HashMap;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

/// An `audit.k8s.io/v1` Event over the text of its line.
#[derive(Debug)]
pub struct AuditEvent<'a> {
    pub text: &'a str,
    pub head: Head<'a>,
    request: OnceCell<Option<Value>>,
    response: OnceCell<Option<Value>>,
    whole: OnceCell<Value>,
}

/// The Event's fixed fields.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Head<'a> {
    #[serde(borrow, rename = "auditID")]
    pub audit_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub kind: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub stage: Option<Cow<'a, str>>,
    #[serde(borrow, rename = "requestURI")]
    pub request_uri: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub verb: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub user: Option<User<'a>>,
    #[serde(borrow)]
    pub impersonated_user: Option<User<'a>>,
    #[serde(borrow, rename = "sourceIPs")]
    pub source_ips: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow)]
    pub user_agent: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub object_ref: Option<ObjectRef<'a>>,
    #[serde(borrow)]
    pub response_status: Option<Status<'a>>,
    #[serde(borrow)]
    pub request_object: Option<&'a RawValue>,
    #[serde(borrow)]
    pub response_object: Option<&'a RawValue>,
    #[serde(borrow)]
    pub request_received_timestamp: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub stage_timestamp: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub annotations: Option<HashMap<Cow<'a, str>, Cow<'a, str>>>,
    /// An EventList's events.
    #[serde(borrow)]
    pub items: Option<Vec<&'a RawValue>>,
}

#[derive(Debug, Deserialize)]
pub struct User<'a> {
    #[serde(borrow)]
    pub username: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub groups: Option<Vec<Cow<'a, str>>>,
}

#[derive(Debug, Deserialize)]
pub struct ObjectRef<'a> {
    #[serde(borrow)]
    pub resource: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub subresource: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub namespace: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub name: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
pub struct Status<'a> {
    pub code: Option<i64>,
    #[serde(borrow)]
    pub reason: Option<Cow<'a, str>>,
}

impl<'a> AuditEvent<'a> {
    /// Reads the fixed fields of the event in `text`.
    ///
    /// # Errors
    /// `text` is not a JSON object of the Event's shape.
    pub fn parse(text: &'a str) -> Result<AuditEvent<'a>, serde_json::Error> {
        Ok(AuditEvent {
            text,
            head: serde_json::from_str(text)?,
            request: OnceCell::new(),
            response: OnceCell::new(),
            whole: OnceCell::new(),
        })
    }

    /// `requestObject`, parsed the first time it is asked for.
    pub fn request(&self) -> Option<&Value> {
        self.request
            .get_or_init(|| parse_raw(self.head.request_object))
            .as_ref()
    }

    /// `responseObject`, parsed the first time it is asked for.
    pub fn response(&self) -> Option<&Value> {
        self.response
            .get_or_init(|| parse_raw(self.head.response_object))
            .as_ref()
    }

    /// The whole event, parsed the first time it is asked for.
    pub fn whole(&self) -> &Value {
        self.whole
            .get_or_init(|| serde_json::from_str(self.text).unwrap_or(Value::Null))
    }

    /// When the event was recorded: `stageTimestamp`, else `requestReceivedTimestamp`.
    #[must_use]
    pub fn time(&self) -> &str {
        self.head
            .stage_timestamp
            .as_deref()
            .or(self.head.request_received_timestamp.as_deref())
            .unwrap_or("")
    }
}

fn parse_raw(raw: Option<&RawValue>) -> Option<Value> {
    raw.and_then(|r| serde_json::from_str(r.get()).ok())
        .filter(|v: &Value| !v.is_null())
}
