//! Writes to the report resources ([`crate::live::WRITABLE`]): create (POST), replace
//! (PUT), server-side apply and JSON merge patch (PATCH), delete, answered as the API
//! server answers them for a custom resource, so an operator's writes can be tested.
//!
//! Stored objects get what the server sets: `uid`, `creationTimestamp`, and a
//! `resourceVersion` from the same counter as every change; they appear in LISTs and
//! watches of their resource and in [`ReplayServer::stored`](crate::ReplayServer::stored).
//! Field management is not modelled: an apply stores the applied object whole, as it
//! would be with a single field manager.

use std::sync::MutexGuard;
use std::time::SystemTime;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::CONTENT_TYPE;
use hyper::http::HeaderMap;
use hyper::Response;
use serde_json::{json, Value};

use crate::live::{self, api_version_of, merge_patch, EventKind, Live, Writable, WRITABLE};
use crate::server::{
    not_found, page_not_found, query_param, respond_json, respond_status, Body, Call, Refusal,
    State, Target,
};

/// The API server's limit on a request body (`MaxRequestBodyBytes`).
const MAX_BODY: usize = 3 * 1024 * 1024;
/// How much of a body over the limit is read before answering anyway.
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

/// Metadata the server owns: kept from the stored object whatever a write sends.
const SERVER_FIELDS: &[&str] = &["uid", "creationTimestamp"];

/// Answers a POST, PUT, PATCH or DELETE.
pub(crate) async fn serve(
    state: &State,
    call: &Call,
    headers: &HeaderMap,
    body: Incoming,
) -> Response<Body> {
    let Some(target) = &call.target else {
        return page_not_found();
    };
    let Some(writable) = WRITABLE.iter().find(|w| w.wide == target.wide) else {
        if state.live().lists.contains_key(&target.wide) {
            return respond_status(
                405,
                "MethodNotAllowed",
                &format!(
                    "the replay server accepts writes of report resources only, not {}",
                    target.qualified()
                ),
            );
        }
        return page_not_found();
    };
    if target.namespace.is_some() && !writable.namespaced {
        return page_not_found();
    }
    let method = call.info.method.as_str();
    // A namespaced resource is written through its namespace's path only.
    let scoped = target.namespace.is_some() == writable.namespaced;
    let allowed = scoped
        && matches!(
            (method, target.name.is_some()),
            ("POST", false) | ("PUT" | "PATCH" | "DELETE", true)
        );
    if !allowed {
        return respond_status(
            405,
            "MethodNotAllowed",
            &format!("the server does not allow this method on the requested resource ({method})"),
        );
    }
    let bytes = match read_body(body).await {
        Ok(bytes) => bytes,
        Err(refused) => return *refused,
    };
    let write = Write {
        state,
        target,
        writable,
        query: &call.info.query,
    };
    let name = target.name.as_deref().unwrap_or_default();
    if method == "DELETE" {
        return write.delete(name);
    }
    let body: Value = match serde_json::from_slice(&bytes) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) | Err(_) => {
            return respond_status(
                400,
                "BadRequest",
                "the body of the request could not be decoded as a JSON object (the replay server reads JSON only)",
            )
        }
    };
    match method {
        "POST" => write.create(body),
        "PUT" => write.replace(name, body),
        _ => {
            let content_type = headers
                .get(CONTENT_TYPE)
                .and_then(|c| c.to_str().ok())
                .unwrap_or_default();
            let media = content_type.split(';').next().unwrap_or_default().trim();
            match media {
                "application/apply-patch+yaml" => write.apply(name, body),
                "application/merge-patch+json" => write.merge(name, &body),
                _ => respond_status(
                    415,
                    "UnsupportedMediaType",
                    &format!("the body of the request was in an unknown format ({content_type}) - accepted media types include: application/merge-patch+json, application/apply-patch+yaml"),
                ),
            }
        }
    }
}

/// The request body, or the refusal of one over [`MAX_BODY`]. The rest of a body too
/// large is still read (up to [`DRAIN_LIMIT`]) and dropped: a client still sending when
/// the connection closed would see a reset, not the `413`.
async fn read_body(mut body: Incoming) -> Result<Vec<u8>, Refusal> {
    let mut bytes = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            Box::new(respond_status(
                400,
                "BadRequest",
                &format!("the request body could not be read: {e}"),
            ))
        })?;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        seen = seen.saturating_add(data.len());
        if seen <= MAX_BODY {
            bytes.extend_from_slice(&data);
        } else if seen > DRAIN_LIMIT {
            break;
        }
    }
    if seen > MAX_BODY {
        return Err(Box::new(too_large()));
    }
    Ok(bytes)
}

fn too_large() -> Response<Body> {
    respond_status(
        413,
        "RequestEntityTooLarge",
        &format!("Request entity too large: limit is {MAX_BODY}"),
    )
}

fn bad_request(message: &str) -> Refusal {
    Box::new(respond_status(400, "BadRequest", message))
}

/// One write to one resource.
struct Write<'a> {
    state: &'a State,
    target: &'a Target,
    writable: &'a Writable,
    query: &'a str,
}

impl Write<'_> {
    fn namespace(&self) -> Option<&str> {
        self.target.namespace.as_deref()
    }

    /// A failure `Status` naming this resource and object, as the API server's do.
    fn status(&self, code: u16, reason: &str, name: &str, message: &str) -> Response<Body> {
        let mut body = live::status(code, reason, message);
        body["details"] =
            json!({"name": name, "group": self.target.group, "kind": self.target.resource});
        respond_json(code, &body)
    }

    fn conflict(&self, name: &str) -> Response<Body> {
        self.status(
            409,
            "Conflict",
            name,
            &format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                self.target.qualified()
            ),
        )
    }

    /// Checks a written object against the request and fills in what the path says: its
    /// type, name and namespace. `strict_type`: the type must be in the body (an apply's
    /// must), not only match when there.
    fn prepare(
        &self,
        mut object: Value,
        name: Option<&str>,
        strict_type: bool,
    ) -> Result<Value, Refusal> {
        let expected = [
            ("apiVersion", api_version_of(self.writable.wide)),
            ("kind", self.writable.kind.to_owned()),
        ];
        for (field, want) in expected {
            match object.get(field).and_then(Value::as_str) {
                Some(got) if got != want => {
                    return Err(bad_request(&format!(
                    "the {field} in the data ({got}) does not match the expected {field} ({want})"
                )))
                }
                None if strict_type => {
                    return Err(bad_request(&format!(
                        "{field} must be set in the applied object"
                    )))
                }
                _ => object[field] = Value::String(want),
            }
        }
        if object.get("metadata").is_none() {
            object["metadata"] = json!({});
        }
        let Some(meta) = object["metadata"].as_object_mut() else {
            return Err(bad_request("metadata must be an object"));
        };
        match (meta.get("name").and_then(Value::as_str), name) {
            (Some(got), Some(want)) if got != want => {
                return Err(bad_request(&format!(
                    "the name of the object ({got}) does not match the name on the URL ({want})"
                )))
            }
            (None, Some(want)) => {
                meta.insert("name".to_owned(), Value::String(want.to_owned()));
            }
            (None, None) => {
                return Err(Box::new(respond_status(
                    422,
                    "Invalid",
                    &format!(
                        "{} \"\" is invalid: metadata.name: Required value: name or generateName is required",
                        self.target.qualified()
                    ),
                )))
            }
            _ => {}
        }
        match (meta.get("namespace").and_then(Value::as_str), self.namespace()) {
            (Some(got), Some(want)) if got != want => {
                return Err(bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ))
            }
            (_, Some(want)) => {
                meta.insert("namespace".to_owned(), Value::String(want.to_owned()));
            }
            // A cluster-scoped object has no namespace, whatever it was sent with.
            (_, None) => {
                meta.remove("namespace");
            }
        }
        Ok(object)
    }

    /// The stored object of this name. Each write reads it and commits under one hold
    /// of the lock, so concurrent writes are checked against each other.
    fn current(&self, live: &Live, name: &str) -> Option<Value> {
        live.lists
            .get(self.writable.wide)
            .and_then(|l| l.get(self.namespace(), name))
            .cloned()
    }

    /// Stores `object` as a change of this kind and answers it as now stored.
    fn commit(
        &self,
        mut live: MutexGuard<'_, Live>,
        kind: EventKind,
        object: Value,
        code: u16,
    ) -> Response<Body> {
        let name = live::name_of(&object).unwrap_or_default().to_owned();
        live.commit(self.writable.wide, kind, object);
        let stored = self.current(&live, &name).unwrap_or(Value::Null);
        drop(live);
        respond_json(code, &stored)
    }

    fn create(&self, body: Value) -> Response<Body> {
        let mut object = match self.prepare(body, None, false) {
            Ok(o) => o,
            Err(refused) => return *refused,
        };
        let name = live::name_of(&object).unwrap_or_default().to_owned();
        let live = self.state.live();
        if self.current(&live, &name).is_some() {
            drop(live);
            return self.status(
                409,
                "AlreadyExists",
                &name,
                &format!("{} \"{name}\" already exists", self.target.qualified()),
            );
        }
        stamp_new(&mut object, live.rv + 1);
        self.commit(live, EventKind::Added, object, 201)
    }

    /// PUT: the object must exist and the body name the resourceVersion it replaces
    /// (custom resources allow no unconditional update).
    fn replace(&self, name: &str, body: Value) -> Response<Body> {
        let mut object = match self.prepare(body, Some(name), false) {
            Ok(o) => o,
            Err(refused) => return *refused,
        };
        let live = self.state.live();
        let Some(current) = self.current(&live, name) else {
            return not_found(self.target, name);
        };
        match object["metadata"]["resourceVersion"].as_str() {
            None | Some("") => {
                return self.status(
                    422,
                    "Invalid",
                    name,
                    &format!(
                        "{} \"{name}\" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update",
                        self.target.qualified()
                    ),
                )
            }
            Some(rv) if Some(rv) != current["metadata"]["resourceVersion"].as_str() => {
                return self.conflict(name)
            }
            Some(_) => {}
        }
        keep_server_fields(&mut object, &current);
        self.commit(live, EventKind::Modified, object, 200)
    }

    /// Server-side apply, without field management: the applied object replaces the
    /// stored one (or is created), as with one field manager.
    fn apply(&self, name: &str, body: Value) -> Response<Body> {
        // The API server validates the options before it reads the object.
        if query_param(self.query, "fieldManager").is_none_or(|m| m.is_empty()) {
            let mut status = live::status(
                422,
                "Invalid",
                "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
            );
            status["details"] = json!({"group": "meta.k8s.io", "kind": "PatchOptions",
                "causes": [{"reason": "FieldValueRequired", "message": "Required value: is required for apply patch", "field": "fieldManager"}]});
            return respond_json(422, &status);
        }
        let mut object = match self.prepare(body, Some(name), true) {
            Ok(o) => o,
            Err(refused) => return *refused,
        };
        let live = self.state.live();
        match self.current(&live, name) {
            Some(current) => {
                keep_server_fields(&mut object, &current);
                self.commit(live, EventKind::Modified, object, 200)
            }
            None => {
                stamp_new(&mut object, live.rv + 1);
                self.commit(live, EventKind::Added, object, 201)
            }
        }
    }

    /// A JSON merge patch (RFC 7386) of a stored object; a resourceVersion in the patch
    /// is a precondition.
    fn merge(&self, name: &str, patch: &Value) -> Response<Body> {
        let live = self.state.live();
        let Some(current) = self.current(&live, name) else {
            return not_found(self.target, name);
        };
        if let Some(rv) = patch["metadata"]["resourceVersion"].as_str() {
            if Some(rv) != current["metadata"]["resourceVersion"].as_str() {
                return self.conflict(name);
            }
        }
        let mut object = current.clone();
        merge_patch(&mut object, patch);
        // The patch may not move or retype the object.
        let mut object = match self.prepare(object, Some(name), false) {
            Ok(o) => o,
            Err(refused) => return *refused,
        };
        keep_server_fields(&mut object, &current);
        self.commit(live, EventKind::Modified, object, 200)
    }

    /// DELETE: gone at once (no finalizers run here); the answer is a `Status` of
    /// success, as for a custom resource.
    fn delete(&self, name: &str) -> Response<Body> {
        let mut live = self.state.live();
        let Some(current) = self.current(&live, name) else {
            return not_found(self.target, name);
        };
        let uid = current["metadata"]["uid"].clone();
        live.commit(self.writable.wide, EventKind::Deleted, current);
        drop(live);
        respond_json(
            200,
            &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                "details": {"name": name, "group": self.target.group, "kind": self.target.resource, "uid": uid}}),
        )
    }
}

/// What the server sets on a new object. The uid is derived from the resourceVersion
/// it will get, so it is unique and repeatable.
fn stamp_new(object: &mut Value, rv: u64) {
    if let Some(meta) = object["metadata"].as_object_mut() {
        meta.insert(
            "uid".to_owned(),
            Value::String(format!("00000000-0000-4000-9000-{rv:012}")),
        );
        meta.insert(
            "creationTimestamp".to_owned(),
            Value::String(live::timestamp(SystemTime::now())),
        );
        meta.remove("resourceVersion");
    }
}

fn keep_server_fields(object: &mut Value, current: &Value) {
    if let Some(meta) = object["metadata"].as_object_mut() {
        for field in SERVER_FIELDS {
            match current["metadata"].get(*field) {
                Some(v) => meta.insert((*field).to_owned(), v.clone()),
                None => meta.remove(*field),
            };
        }
    }
}
