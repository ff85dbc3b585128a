//! Request bodies read within a limit, and the small answers every server gives.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONNECTION, CONTENT_TYPE};
use hyper::{HeaderMap, Response, StatusCode};

/// The body of every answer: one buffer.
pub type Body = Full<Bytes>;

/// A plain-text answer.
pub fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// Whether the request says its body is JSON (`application/json`, any parameters).
#[must_use]
pub fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
        })
}

/// The body, or what is left of it once it is over `max` bytes.
///
/// # Errors
/// The connection failed while the body was read.
pub async fn read_limited(
    mut body: Incoming,
    max: usize,
) -> Result<Result<Bytes, Incoming>, hyper::Error> {
    let mut buf = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            if buf.len() + data.len() > max {
                return Ok(Err(body));
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(Ok(buf.freeze()))
}

/// Reads and drops what a client still sends of a refused body (up to `budget` bytes
/// or 2 seconds), so that closing the connection with unread data does not reset it
/// before the client has read the refusal.
pub fn discard(mut body: Incoming, budget: usize) {
    tokio::spawn(async move {
        let drain = async {
            let mut seen = 0usize;
            while let Some(Ok(frame)) = body.frame().await {
                seen += frame.data_ref().map_or(0, Bytes::len);
                if seen > budget {
                    break;
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
    });
}

/// `response` with `Connection: close`: the connection ends after a refused body.
#[must_use]
pub fn closing(mut response: Response<Body>) -> Response<Body> {
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}
