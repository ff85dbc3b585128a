//! The HTTPS server: TLS, authentication, routing, pagination.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{json, Value};

use crate::{ListData, Pki, Recorded, Recordings};

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestInfo {
    /// Who it was authenticated as (`system:anonymous` without credentials).
    pub user: String,
    pub groups: Vec<String>,
    pub method: String,
    pub path: String,
    pub query: String,
    /// It asked for `PartialObjectMetadataList`.
    pub metadata_only: bool,
}

/// Decides whether an authenticated request is allowed, as an authorizer would.
pub type Authorizer = Arc<dyn Fn(&RequestInfo) -> bool + Send + Sync>;

/// What the server does beyond replaying.
#[derive(Clone, Default)]
pub struct Options {
    /// Bearer tokens accepted, each with its user and groups.
    pub tokens: Vec<(String, String, Vec<String>)>,
    /// Paths (cluster-wide or namespaced lists, or any path) answered `403 Forbidden`.
    pub forbid: Vec<String>,
    /// Paths answered with this status and a `Status` body.
    pub fail: Vec<(String, u16)>,
    /// List paths whose first continued request is answered with the recorded
    /// `410 Expired`, as after an etcd compaction.
    pub expire_once: Vec<String>,
    /// Consulted for every authenticated request; `false` is a `403`.
    pub authorize: Option<Authorizer>,
    /// Pods generated after the recorded ones (for benchmarks), spread over 100
    /// namespaces `bench-0`..`bench-99`, each a copy of a typical recorded pod.
    pub extra_pods: usize,
    /// Nodes after the recorded ones (the recorded cluster has none), each with what its
    /// kubelet answers at `/api/v1/nodes/NAME/proxy/configz` (the kubelet's
    /// `KubeletConfiguration`; `None`: the kubelet cannot be reached, a `503` as the API
    /// server's proxy gives).
    pub nodes: Vec<(String, Option<Value>)>,
}

/// How a generated kubeconfig authenticates.
#[derive(Debug, Clone)]
pub enum Auth {
    /// The client certificate of `CN=kubernetes-admin, O=system:masters`.
    ClientCertificate,
    /// A bearer token (give it in [`Options::tokens`]).
    Token(String),
    /// An exec credential plugin: this command with these arguments.
    Exec(String, Vec<String>),
}

struct State {
    recordings: Recordings,
    options: Options,
    log: Mutex<Vec<RequestInfo>>,
    expired: Mutex<Vec<String>>,
    /// A generated pod's JSON, with placeholders ([`pod_template`]).
    template_pod: String,
}

/// A running replay server on 127.0.0.1; it stops when dropped.
pub struct ReplayServer {
    pub addr: SocketAddr,
    pub pki: Pki,
    state: Arc<State>,
    stop: Arc<AtomicBool>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

const ADMIN: &str = "kubernetes-admin";
const MASTERS: &str = "system:masters";
const PODS: &str = "/api/v1/pods";
const NODES: &str = "/api/v1/nodes";

impl ReplayServer {
    /// Starts serving `recordings` on a free loopback port, on a thread of its own.
    ///
    /// # Panics
    /// If no loopback port can be bound or the TLS setup fails: a broken test machine.
    #[must_use]
    pub fn start(recordings: Recordings, options: Options) -> Self {
        let pki = Pki::generate(ADMIN, MASTERS);
        // Generated pods copy the recorded pod of median size (4.6 KB of JSON with its
        // managedFields), a typical pod rather than the largest.
        let template_pod = recordings
            .lists
            .get(PODS)
            .and_then(|l| {
                let mut by_size: Vec<(usize, &Value)> = l
                    .items
                    .iter()
                    .map(|p| (serde_json::to_vec(p).map_or(0, |b| b.len()), p))
                    .collect();
                by_size.sort_by_key(|(n, _)| *n);
                by_size.get(by_size.len() / 2).map(|(_, p)| pod_template(p))
            })
            .unwrap_or_default();
        let state = Arc::new(State {
            recordings,
            options,
            log: Mutex::new(Vec::new()),
            expired: Mutex::new(Vec::new()),
            template_pod,
        });
        let tls = tls_config(&pki);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local address");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let stop = Arc::new(AtomicBool::new(false));
        let served = state.clone();
        let thread = std::thread::spawn(move || {
            runtime.block_on(accept_loop(listener, tls, served, rx));
        });
        Self {
            addr,
            pki,
            state,
            stop,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// `https://127.0.0.1:PORT`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// Every request served so far, in order.
    ///
    /// # Panics
    /// If a server thread panicked while logging.
    #[must_use]
    pub fn requests(&self) -> Vec<RequestInfo> {
        self.state.log.lock().expect("log").clone()
    }

    /// A kubeconfig (context `replay`) for this server, trusting its CA.
    #[must_use]
    pub fn kubeconfig(&self, auth: &Auth) -> String {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let user = match auth {
            Auth::ClientCertificate => format!(
                "    client-certificate-data: {}\n    client-key-data: {}\n",
                b64(&self.pki.client_cert_pem),
                b64(&self.pki.client_key_pem)
            ),
            Auth::Token(t) => format!("    token: {t}\n"),
            Auth::Exec(command, args) => {
                let args: Vec<String> = args.iter().map(|a| format!("{a:?}")).collect();
                format!(
                    "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {command:?}\n      args: [{}]\n      interactiveMode: Never\n",
                    args.join(", ")
                )
            }
        };
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: replay\n  cluster:\n    server: {}\n    certificate-authority-data: {}\nusers:\n- name: replay-user\n  user:\n{user}contexts:\n- name: replay\n  context:\n    cluster: replay\n    user: replay-user\ncurrent-context: replay\n",
            self.url(),
            b64(&self.pki.ca_pem),
        )
    }
}

impl Drop for ReplayServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn tls_config(pki: &Pki) -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_slice(pki.ca_pem.as_bytes()).expect("CA pem"))
        .expect("CA root");
    // Client certificates are optional: token and anonymous requests come without one.
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .allow_unauthenticated()
    .build()
    .expect("client verifier");
    let certs = vec![CertificateDer::from_pem_slice(pki.server_cert_pem.as_bytes()).expect("pem")];
    let key = PrivateKeyDer::from_pem_slice(pki.server_key_pem.as_bytes()).expect("key pem");
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocols")
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .expect("server certificate");
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Arc::new(config)
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    state: Arc<State>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let (tcp, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(_) => continue,
            },
            _ = &mut stop => return,
        };
        let acceptor = acceptor.clone();
        let state = state.clone();
        tokio::spawn(async move {
            let Ok(stream) = acceptor.accept(tcp).await else {
                return;
            };
            // A verified client certificate is the admin's: the CA signs no other.
            let has_cert = stream
                .get_ref()
                .1
                .peer_certificates()
                .is_some_and(|c| !c.is_empty());
            let service = hyper::service::service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(&state, has_cert, &req)) }
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn respond(status: u16, content_type: &str, body: Vec<u8>) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("Content-Type", content_type)
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn replay(r: &Recorded) -> Response<Full<Bytes>> {
    respond(r.status, &r.content_type, r.body.clone())
}

fn status_body(code: u16, reason: &str, message: &str) -> Vec<u8> {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code});
    let mut bytes = serde_json::to_vec(&body).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// Who a request is, from its certificate or bearer token.
fn authenticate(
    state: &State,
    has_cert: bool,
    req: &Request<Incoming>,
) -> Option<(String, Vec<String>)> {
    if let Some(auth) = req.headers().get("Authorization") {
        let token = auth.to_str().ok()?.strip_prefix("Bearer ")?;
        return state
            .options
            .tokens
            .iter()
            .find(|(t, _, _)| t == token)
            .map(|(_, user, groups)| (user.clone(), groups.clone()));
    }
    if has_cert {
        return Some((ADMIN.to_owned(), vec![MASTERS.to_owned()]));
    }
    Some((
        "system:anonymous".to_owned(),
        vec!["system:unauthenticated".to_owned()],
    ))
}

/// What a list path names: (cluster-wide list path, namespace, resource, group).
fn parse_list_path(path: &str) -> Option<(String, Option<String>, String, String)> {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (prefix, group, rest): (Vec<&str>, &str, &[&str]) = match parts.as_slice() {
        ["api", v, rest @ ..] => (vec!["api", v], "", rest),
        ["apis", g, v, rest @ ..] => (vec!["apis", g, v], g, rest),
        _ => return None,
    };
    let (namespace, resource) = match rest {
        [resource] => (None, *resource),
        ["namespaces", ns, resource] => (Some((*ns).to_owned()), *resource),
        _ => return None,
    };
    let mut wide = format!("/{}", prefix.join("/"));
    wide.push('/');
    wide.push_str(resource);
    Some((wide, namespace, resource.to_owned(), group.to_owned()))
}

fn query_param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| percent_decode(v))
    })
}

fn percent_decode(v: &str) -> String {
    let bytes = v.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                    }
                    Err(_) => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn handle(state: &State, has_cert: bool, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let metadata_only = req
        .headers()
        .get("Accept")
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("as=PartialObjectMetadataList"));
    let Some((user, groups)) = authenticate(state, has_cert, req) else {
        return match &state.recordings.unauthorized {
            Some(r) => replay(r),
            None => respond(
                401,
                "application/json",
                status_body(401, "Unauthorized", "Unauthorized"),
            ),
        };
    };
    let info = RequestInfo {
        user,
        groups,
        method: req.method().to_string(),
        path: path.clone(),
        query: query.clone(),
        metadata_only,
    };
    if let Ok(mut log) = state.log.lock() {
        log.push(info.clone());
    }
    let list = parse_list_path(&path);
    let forbidden = state.options.forbid.contains(&path)
        || state
            .options
            .authorize
            .as_ref()
            .is_some_and(|allow| !allow(&info));
    if forbidden {
        return forbid(state, &info, list.as_ref());
    }
    if let Some((_, code)) = state.options.fail.iter().find(|(p, _)| *p == path) {
        return respond(
            *code,
            "application/json",
            status_body(*code, "InternalError", "an error on the server (\"replayed failure\") has prevented the request from succeeding"),
        );
    }
    // An expired token is answered before a recorded page could match it.
    if let Some((wide, _, _, _)) = &list {
        if query_param(&query, "continue").is_some() && state.options.expire_once.contains(wide) {
            let mut expired = state
                .expired
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if !expired.contains(wide) {
                expired.push(wide.clone());
                if let Some(r) = &state.recordings.expired {
                    return replay(r);
                }
            }
        }
    }
    if let Some(r) = state
        .recordings
        .exact
        .get(&(path.clone(), query.clone(), metadata_only))
    {
        return replay(r);
    }
    if let Some(name) = path
        .strip_prefix("/api/v1/nodes/")
        .and_then(|p| p.strip_suffix("/proxy/configz"))
    {
        return match state.options.nodes.iter().find(|(n, _)| n == name) {
            Some((_, Some(config))) => respond(
                200,
                "application/json",
                serde_json::to_vec(&json!({"kubeletconfig": config})).unwrap_or_default(),
            ),
            Some((_, None)) => respond(
                503,
                "application/json",
                status_body(503, "ServiceUnavailable", &format!("error trying to reach service: dial tcp 10.0.0.9:10250: connect: connection refused (node {name})")),
            ),
            None => respond(
                404,
                "application/json",
                status_body(404, "NotFound", &format!("nodes \"{name}\" not found")),
            ),
        };
    }
    let Some((wide, namespace, _, _)) = list else {
        return respond(
            404,
            "text/plain; charset=utf-8",
            b"404 page not found\n".to_vec(),
        );
    };
    let Some(data) = state.recordings.lists.get(&wide) else {
        return respond(
            404,
            "text/plain; charset=utf-8",
            b"404 page not found\n".to_vec(),
        );
    };
    list_page(
        state,
        &wide,
        data,
        namespace.as_deref(),
        &query,
        metadata_only,
    )
}

fn forbid(
    state: &State,
    info: &RequestInfo,
    list: Option<&(String, Option<String>, String, String)>,
) -> Response<Full<Bytes>> {
    let (resource, group, scope) = match list {
        Some((_, ns, resource, group)) => (
            resource.clone(),
            group.clone(),
            ns.as_ref().map_or_else(
                || "at the cluster scope".to_owned(),
                |n| format!("in the namespace \"{n}\""),
            ),
        ),
        None => (
            info.path.clone(),
            String::new(),
            "at the cluster scope".to_owned(),
        ),
    };
    let message = format!(
        "{resource} is forbidden: User \"{}\" cannot list resource \"{resource}\" in API group \"{group}\" {scope}",
        info.user
    );
    let mut body = state
        .recordings
        .forbidden
        .clone()
        .unwrap_or_else(|| json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": "Forbidden", "code": 403}));
    body["message"] = Value::String(message);
    body["details"] = json!({"kind": resource});
    let mut bytes = serde_json::to_vec(&body).unwrap_or_default();
    bytes.push(b'\n');
    respond(403, "application/json", bytes)
}

/// An item of a served list: recorded, or the `n`th generated pod.
enum Item<'a> {
    Recorded(&'a Value),
    Generated(usize),
    Node(&'a str),
}

fn item<'a>(state: &'a State, wide: &str, data: &'a ListData, i: usize) -> Option<Item<'a>> {
    if let Some(v) = data.items.get(i) {
        return Some(Item::Recorded(v));
    }
    let n = i - data.items.len();
    if wide == NODES {
        return state.options.nodes.get(n).map(|(name, _)| Item::Node(name));
    }
    (wide == PODS && n < state.options.extra_pods).then_some(Item::Generated(n))
}

fn namespace_of(item: &Item<'_>) -> Option<String> {
    match item {
        Item::Recorded(v) => v["metadata"]["namespace"].as_str().map(str::to_owned),
        Item::Generated(n) => Some(format!("bench-{}", n % 100)),
        Item::Node(_) => None,
    }
}

const NAME: &str = "\u{1}NAME";
const NAMESPACE: &str = "\u{1}NAMESPACE";
const UID: &str = "\u{1}UID";

/// The template pod's JSON with placeholders for what each generated pod changes, so a
/// generated pod is a few string replacements, not a JSON encoding.
fn pod_template(pod: &Value) -> String {
    let mut pod = pod.clone();
    let meta = &mut pod["metadata"];
    meta["name"] = Value::String(NAME.to_owned());
    meta["namespace"] = Value::String(NAMESPACE.to_owned());
    meta["uid"] = Value::String(UID.to_owned());
    if let Some(m) = meta.as_object_mut() {
        m.remove("ownerReferences");
    }
    serde_json::to_string(&pod).unwrap_or_default()
}

fn encode_item(state: &State, item: &Item<'_>, metadata_only: bool) -> Vec<u8> {
    let value = match item {
        Item::Recorded(v) => (*v).clone(),
        Item::Node(name) => json!({
            "kind": "Node", "apiVersion": "v1",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            "status": {"nodeInfo": {"kubeletVersion": "v1.25.0"}},
        }),
        Item::Generated(n) => {
            let escaped = |s: &str| serde_json::to_string(s).unwrap_or_default();
            let text = state
                .template_pod
                .replace(&escaped(NAME), &format!("\"bench-{n}\""))
                .replace(&escaped(NAMESPACE), &format!("\"bench-{}\"", n % 100))
                .replace(
                    &escaped(UID),
                    &format!("\"00000000-0000-4000-8000-{n:012}\""),
                );
            if !metadata_only {
                return text.into_bytes();
            }
            serde_json::from_str(&text).unwrap_or(Value::Null)
        }
    };
    let value = if metadata_only {
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": value["metadata"]})
    } else {
        value
    };
    serde_json::to_vec(&value).unwrap_or_default()
}

fn list_len(state: &State, wide: &str, data: &ListData) -> usize {
    data.items.len()
        + match wide {
            PODS => state.options.extra_pods,
            NODES => state.options.nodes.len(),
            _ => 0,
        }
}

fn list_page(
    state: &State,
    wide: &str,
    data: &ListData,
    namespace: Option<&str>,
    query: &str,
    metadata_only: bool,
) -> Response<Full<Bytes>> {
    let limit = query_param(query, "limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0);
    let start = match query_param(query, "continue") {
        None => 0,
        Some(token) => match decode_token(&token, wide) {
            Some(offset) => offset,
            None => {
                return respond(
                    400,
                    "application/json",
                    status_body(400, "BadRequest", "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"),
                )
            }
        },
    };
    let total = list_len(state, wide, data);
    if start > total {
        return respond(
            400,
            "application/json",
            status_body(
                400,
                "BadRequest",
                "continue key is not valid: it points past the list",
            ),
        );
    }
    let wanted =
        |item: &Item<'_>| namespace.is_none() || namespace_of(item).as_deref() == namespace;
    let mut items: Vec<Vec<u8>> = Vec::new();
    let mut i = start;
    while i < total {
        if limit.is_some_and(|l| items.len() >= l) {
            break;
        }
        if let Some(it) = item(state, wide, data, i).filter(|it| wanted(it)) {
            items.push(encode_item(state, &it, metadata_only));
        }
        i += 1;
    }
    let mut metadata = json!({"resourceVersion": data.resource_version});
    let remaining = if namespace.is_none() {
        total - i
    } else {
        (i..total)
            .filter(|&j| item(state, wide, data, j).is_some_and(|it| wanted(&it)))
            .count()
    };
    if remaining > 0 {
        metadata["continue"] = Value::String(encode_token(wide, i));
        // The server says how many remain only when no selector filters the list.
        if namespace.is_none() {
            metadata["remainingItemCount"] = json!(remaining);
        }
    }
    let (kind, api_version) = if metadata_only {
        ("PartialObjectMetadataList", "meta.k8s.io/v1")
    } else {
        (data.kind.as_str(), data.api_version.as_str())
    };
    let head = json!({"kind": kind, "apiVersion": api_version, "metadata": metadata});
    let mut bytes = serde_json::to_vec(&head).unwrap_or_default();
    bytes.pop(); // the closing brace: items follow
    bytes.extend_from_slice(b",\"items\":[");
    for (k, it) in items.iter().enumerate() {
        if k > 0 {
            bytes.push(b',');
        }
        bytes.extend_from_slice(it);
    }
    bytes.extend_from_slice(b"]}\n");
    respond(200, "application/json", bytes)
}

fn encode_token(wide: &str, offset: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("replay:{wide}:{offset}"))
}

fn decode_token(token: &str, wide: &str) -> Option<usize> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .ok()?;
    let text = String::from_utf8(raw).ok()?;
    let rest = text
        .strip_prefix("replay:")?
        .strip_prefix(wide)?
        .strip_prefix(':')?;
    rest.parse().ok()
}
