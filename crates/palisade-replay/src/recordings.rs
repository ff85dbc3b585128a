//! The recorded exchanges, loaded and indexed for replay.

use std::collections::HashMap;
use std::path::Path;

use base64::Engine;
use serde_json::Value;

/// One recorded response, served when a request matches its path and query exactly.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

/// A recorded cluster-wide list, served in pages of the client's choosing.
#[derive(Debug, Clone)]
pub struct ListData {
    pub kind: String,
    pub api_version: String,
    pub resource_version: String,
    pub items: Vec<Value>,
}

/// Every recording of a folder, indexed.
#[derive(Debug, Clone, Default)]
pub struct Recordings {
    /// (path, query, metadata-only Accept) to the response.
    pub exact: HashMap<(String, String, bool), Recorded>,
    /// Cluster-wide list path (`/apis/apps/v1/deployments`) to its items.
    pub lists: HashMap<String, ListData>,
    /// The recorded `410 Expired` body for an old continue token.
    pub expired: Option<Recorded>,
    /// The recorded `403 Forbidden` body, a template for refusals.
    pub forbidden: Option<Value>,
    /// The recorded `401 Unauthorized` body.
    pub unauthorized: Option<Recorded>,
}

fn encode_body(body: &Value, raw: Option<&Value>, encoding: &str) -> Result<Vec<u8>, String> {
    if let Some(raw) = raw.and_then(Value::as_str) {
        return base64::engine::general_purpose::STANDARD
            .decode(raw)
            .map_err(|e| e.to_string());
    }
    if encoding == "text" {
        return Ok(body.as_str().unwrap_or_default().as_bytes().to_vec());
    }
    let mut bytes = serde_json::to_vec(body).map_err(|e| e.to_string())?;
    bytes.push(b'\n');
    Ok(bytes)
}

impl Recordings {
    /// Loads every `NNN-*.json` exchange of `dir`.
    ///
    /// # Errors
    /// An unreadable folder or file, or a file that is not a recorded exchange.
    pub fn load(dir: &Path) -> Result<Self, String> {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.len() > 4 && n.as_bytes()[..3].iter().all(u8::is_ascii_digit))
            .filter(|n| n.ends_with(".json"))
            .collect();
        names.sort();
        let mut out = Self::default();
        for name in names {
            let path = dir.join(&name);
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let file: Value =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            let req = &file["request"];
            let resp = &file["response"];
            let path_of = req["path"].as_str().unwrap_or_default().to_owned();
            let query = req["query"].as_str().unwrap_or_default().to_owned();
            let accept = req["headers"]["Accept"].as_str().unwrap_or_default();
            let metadata = accept.contains("as=PartialObjectMetadataList");
            let plain_request = req["client_certificate"].as_str() != Some("none")
                && req["headers"].get("Impersonate-User").is_none();
            let recorded = Recorded {
                status: u16::try_from(resp["status"].as_u64().unwrap_or(500)).unwrap_or(500),
                content_type: resp["headers"]["Content-Type"]
                    .as_str()
                    .unwrap_or("application/json")
                    .to_owned(),
                body: encode_body(
                    &resp["body"],
                    resp.get("body_raw_base64"),
                    resp["body_encoding"].as_str().unwrap_or("json"),
                )
                .map_err(|e| format!("{name}: {e}"))?,
            };
            let body = &resp["body"];
            match recorded.status {
                410 if query.contains("continue=") => {
                    out.expired = Some(recorded);
                    continue;
                }
                403 => {
                    out.forbidden = Some(body.clone());
                    continue;
                }
                401 => {
                    out.unauthorized = Some(recorded);
                    continue;
                }
                _ => {}
            }
            if !plain_request {
                continue;
            }
            let is_full_list = recorded.status == 200
                && query.is_empty()
                && !metadata
                && body["kind"].as_str().is_some_and(|k| k.ends_with("List"))
                && !path_of.contains("/namespaces/");
            if is_full_list {
                out.lists.insert(
                    path_of.clone(),
                    ListData {
                        kind: body["kind"].as_str().unwrap_or_default().to_owned(),
                        api_version: body["apiVersion"].as_str().unwrap_or_default().to_owned(),
                        resource_version: body["metadata"]["resourceVersion"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                        items: body["items"].as_array().cloned().unwrap_or_default(),
                    },
                );
            }
            out.exact.insert((path_of, query, metadata), recorded);
        }
        if out.lists.is_empty() {
            return Err(format!("{}: no recorded lists", dir.display()));
        }
        Ok(out)
    }
}
