//! The HTTPS server: TLS, authentication, routing, pagination.
//!
//! Every request is authenticated, logged and authorized here, then routed: a watch to
//! [`crate::watch`], a write to [`crate::write`], anything else is read here (a recorded
//! answer, a page of a live list, one object).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use base64::Engine;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::http::request::Parts;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use serde_json::{json, Value};

use crate::live::{self, EventKind, Live};
use crate::{Pki, Recorded, Recordings};

/// Every response's body: whole for most answers, a stream of events for watches.
pub(crate) type Body = BoxBody<Bytes, Infallible>;

/// One request as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestInfo {
    /// Who it was authenticated as (`system:anonymous` without credentials).
    pub user: String,
    pub groups: Vec<String>,
    pub method: String,
    pub path: String,
    pub query: String,
    /// It asked for metadata only (`PartialObjectMetadata`, or its list).
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

pub(crate) struct State {
    /// The recorded answers; their lists moved to `live`.
    recordings: Recordings,
    pub options: Options,
    log: Mutex<Vec<RequestInfo>>,
    expired: Mutex<Vec<String>>,
    /// A generated pod's JSON, with placeholders ([`pod_template`]).
    template_pod: String,
    live: Mutex<Live>,
}

impl State {
    /// The live lists. A panic elsewhere while holding them leaves them consistent
    /// (every change is made whole under the lock), so a poisoned lock is still used.
    pub fn live(&self) -> MutexGuard<'_, Live> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }
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
    pub fn start(mut recordings: Recordings, options: Options) -> Self {
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
        let live = Live::new(std::mem::take(&mut recordings.lists));
        let state = Arc::new(State {
            recordings,
            options,
            log: Mutex::new(Vec::new()),
            expired: Mutex::new(Vec::new()),
            template_pod,
            live: Mutex::new(live),
        });
        let tls = tls_config(&pki);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime");
        // Bound without the runtime, so a test may start a server from async code.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("local address");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let stop = Arc::new(AtomicBool::new(false));
        let served = state.clone();
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                accept_loop(listener, tls, served, rx).await;
            });
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

    /// Changes the list at `list_path` (cluster-wide: `/api/v1/pods`) as the cluster
    /// would: the object (matched by `metadata.namespace` and `metadata.name`) is added
    /// or replaced (either kind does either) or removed, stamped with the next
    /// resourceVersion, which is returned; open watches of the list get the event, and
    /// watches started later from an older resourceVersion replay it. A path without a
    /// list yet gets one, of the object's `kind`. Generated pods and nodes
    /// ([`Options::extra_pods`], [`Options::nodes`]) stay as they are.
    ///
    /// # Panics
    /// If `list_path` is not a cluster-wide list path or `object` has no
    /// `metadata.name`: a mistake in the test.
    pub fn apply_event(&self, list_path: &str, kind: EventKind, object: Value) -> String {
        let target = parse_target(list_path)
            .filter(|t| t.namespace.is_none() && t.name.is_none())
            .unwrap_or_else(|| panic!("{list_path:?} is not a cluster-wide list path"));
        assert!(
            object["metadata"]["name"].is_string(),
            "an event's object needs metadata.name: {object}"
        );
        self.state
            .live()
            .commit(&target.wide, kind, object)
            .to_string()
    }

    /// The resourceVersion of the last change: what a LIST reports now.
    #[must_use]
    pub fn resource_version(&self) -> String {
        self.state.live().rv.to_string()
    }

    /// Compacts as etcd does: every resourceVersion until now becomes too old, and a
    /// watch from one is answered `410 Expired` (an `ERROR` event), after which a
    /// client lists again. Open watches go on.
    pub fn compact(&self) {
        self.state.live().compact();
    }

    /// Ends every open watch now, cleanly, as an API server does when its watch times
    /// out or it restarts: clients watch again from the last resourceVersion they saw.
    pub fn close_watches(&self) {
        self.state.live().close_watches();
    }

    /// How many watches are open (a watch whose client left counts until it would
    /// get an event, a bookmark or its timeout, as the server finds out only then).
    #[must_use]
    pub fn open_watches(&self) -> usize {
        self.state.live().open_watches()
    }

    /// The objects of the list at `list_path` (cluster-wide) as they are now: what
    /// clients wrote to a report resource, or a recorded list with its changes;
    /// generated pods and nodes left out. Empty for an unknown path.
    #[must_use]
    pub fn stored(&self, list_path: &str) -> Vec<Value> {
        self.state
            .live()
            .lists
            .get(list_path)
            .map(|l| l.items.to_vec())
            .unwrap_or_default()
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
                async move { Ok::<_, Infallible>(serve(state, has_cert, req).await) }
            });
            let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// A whole body.
pub(crate) fn full(bytes: Vec<u8>) -> Body {
    Full::new(Bytes::from(bytes)).boxed()
}

pub(crate) fn respond(status: u16, content_type: &str, body: Vec<u8>) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("Content-Type", content_type)
        .body(full(body))
        .unwrap_or_else(|_| Response::new(full(Vec::new())))
}

/// A JSON answer (an object, a `Status`), newline-terminated as the API server's.
pub(crate) fn respond_json(status: u16, body: &Value) -> Response<Body> {
    let mut bytes = serde_json::to_vec(body).unwrap_or_default();
    bytes.push(b'\n');
    respond(status, "application/json", bytes)
}

/// A `Status` of failure with this code.
pub(crate) fn respond_status(code: u16, reason: &str, message: &str) -> Response<Body> {
    respond(code, "application/json", status_body(code, reason, message))
}

/// What the API server answers for a path it does not serve.
pub(crate) fn page_not_found() -> Response<Body> {
    respond(
        404,
        "text/plain; charset=utf-8",
        b"404 page not found\n".to_vec(),
    )
}

fn replay(r: &Recorded) -> Response<Body> {
    respond(r.status, &r.content_type, r.body.clone())
}

fn status_body(code: u16, reason: &str, message: &str) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(&live::status(code, reason, message)).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// Who a request is, from its certificate or bearer token.
fn authenticate(state: &State, has_cert: bool, req: &Parts) -> Option<(String, Vec<String>)> {
    if let Some(auth) = req.headers.get("Authorization") {
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

/// What a resource path names: a list (cluster-wide or in a namespace) or one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Target {
    /// The cluster-wide list path (`/apis/apps/v1/deployments`).
    pub wide: String,
    pub namespace: Option<String>,
    pub resource: String,
    pub group: String,
    /// The object's name; `None` for a list.
    pub name: Option<String>,
}

impl Target {
    /// `deployments.apps`, as the API server names a resource in its messages.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.resource.clone()
        } else {
            format!("{}.{}", self.resource, self.group)
        }
    }
}

fn parse_target(path: &str) -> Option<Target> {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let (prefix, group, rest): (Vec<&str>, &str, &[&str]) = match parts.as_slice() {
        ["api", v, rest @ ..] => (vec!["api", v], "", rest),
        ["apis", g, v, rest @ ..] => (vec!["apis", g, v], g, rest),
        _ => return None,
    };
    let (namespace, resource, name) = match rest {
        [resource] => (None, *resource, None),
        [resource, name] => (None, *resource, Some(*name)),
        ["namespaces", ns, resource] => (Some(*ns), *resource, None),
        ["namespaces", ns, resource, name] => (Some(*ns), *resource, Some(*name)),
        _ => return None,
    };
    if resource.is_empty() || name.is_some_and(str::is_empty) {
        return None;
    }
    Some(Target {
        wide: format!("/{}/{resource}", prefix.join("/")),
        namespace: namespace.map(str::to_owned),
        resource: resource.to_owned(),
        group: group.to_owned(),
        name: name.map(str::to_owned),
    })
}

pub(crate) fn query_param(query: &str, key: &str) -> Option<String> {
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

/// A request once authenticated, logged and authorized.
pub(crate) struct Call {
    pub info: RequestInfo,
    /// The resource it names, if it names one.
    pub target: Option<Target>,
    /// A GET of a list with `watch=true` (or `1`).
    pub watch: bool,
}

async fn serve(state: Arc<State>, has_cert: bool, req: Request<Incoming>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let call = match admit(&state, has_cert, &parts) {
        Ok(call) => call,
        Err(refused) => return *refused,
    };
    match call.info.method.as_str() {
        "GET" => match &call.target {
            Some(target) if call.watch => crate::watch::serve(&state, target, &call),
            _ => read(&state, &call),
        },
        "POST" | "PUT" | "PATCH" | "DELETE" => {
            crate::write::serve(&state, &call, &parts.headers, body).await
        }
        method => respond_status(
            405,
            "MethodNotAllowed",
            &format!("the server does not allow this method on the requested resource ({method})"),
        ),
    }
}

/// An answer that ends a request early (boxed: it is large next to what it replaces).
pub(crate) type Refusal = Box<Response<Body>>;

/// Authenticates, logs and authorizes a request; the refusal if it is refused.
fn admit(state: &State, has_cert: bool, parts: &Parts) -> Result<Call, Refusal> {
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or("").to_owned();
    // `as=PartialObjectMetadataList` for a list, `as=PartialObjectMetadata` for a
    // watch or one object.
    let metadata_only = parts
        .headers
        .get("Accept")
        .and_then(|a| a.to_str().ok())
        .is_some_and(|a| a.contains("as=PartialObjectMetadata"));
    let Some((user, groups)) = authenticate(state, has_cert, parts) else {
        return Err(Box::new(match &state.recordings.unauthorized {
            Some(r) => replay(r),
            None => respond_status(401, "Unauthorized", "Unauthorized"),
        }));
    };
    let info = RequestInfo {
        user,
        groups,
        method: parts.method.to_string(),
        path: path.clone(),
        query: query.clone(),
        metadata_only,
    };
    if let Ok(mut log) = state.log.lock() {
        log.push(info.clone());
    }
    let target = parse_target(&path);
    let watch = info.method == "GET"
        && target.as_ref().is_some_and(|t| t.name.is_none())
        && matches!(query_param(&query, "watch").as_deref(), Some("true" | "1"));
    let forbidden = state.options.forbid.contains(&path)
        || state
            .options
            .authorize
            .as_ref()
            .is_some_and(|allow| !allow(&info));
    if forbidden {
        return Err(Box::new(forbid(state, &info, target.as_ref(), watch)));
    }
    if let Some((_, code)) = state.options.fail.iter().find(|(p, _)| *p == path) {
        return Err(Box::new(respond_status(
            *code,
            "InternalError",
            "an error on the server (\"replayed failure\") has prevented the request from succeeding",
        )));
    }
    Ok(Call {
        info,
        target,
        watch,
    })
}

/// A GET that is not a watch: a recorded answer, a page of a list, one object.
fn read(state: &State, call: &Call) -> Response<Body> {
    let RequestInfo {
        path,
        query,
        metadata_only,
        ..
    } = &call.info;
    let list = call.target.as_ref().filter(|t| t.name.is_none());
    // An expired token is answered before a recorded page could match it.
    if let Some(Target { wide, .. }) = list {
        if query_param(query, "continue").is_some() && state.options.expire_once.contains(wide) {
            let mut expired = state.expired.lock().unwrap_or_else(PoisonError::into_inner);
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
        .get(&(path.clone(), query.clone(), *metadata_only))
    {
        // A recorded list or object is true only while nothing changed; a recorded
        // error (a bad token, a bad selector) stays true.
        let live = state.live();
        let changeable = call
            .target
            .as_ref()
            .is_some_and(|t| live.lists.contains_key(&t.wide));
        if r.status != 200 || !changeable || live.pristine() {
            return replay(r);
        }
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
            Some((_, None)) => respond_status(
                503,
                "ServiceUnavailable",
                &format!("error trying to reach service: dial tcp 10.0.0.9:10250: connect: connection refused (node {name})"),
            ),
            None => respond_status(404, "NotFound", &format!("nodes \"{name}\" not found")),
        };
    }
    let Some(target) = &call.target else {
        return page_not_found();
    };
    let snapshot = {
        let live = state.live();
        live.lists.get(&target.wide).map(|l| Snapshot {
            kind: l.kind.clone(),
            api_version: l.api_version.clone(),
            items: l.items.clone(),
            resource_version: live.rv.to_string(),
        })
    };
    let Some(snapshot) = snapshot else {
        return page_not_found();
    };
    match &target.name {
        Some(name) => get_object(state, target, name, &snapshot, *metadata_only),
        None => list_page(
            state,
            &target.wide,
            &snapshot,
            target.namespace.as_deref(),
            query,
            *metadata_only,
        ),
    }
}

/// One object of a list, as a GET of its path answers it.
fn get_object(
    state: &State,
    target: &Target,
    name: &str,
    list: &Snapshot,
    metadata_only: bool,
) -> Response<Body> {
    let namespace = target.namespace.as_deref();
    let found = (0..list_len(state, &target.wide, &list.items))
        .filter_map(|i| item(state, &target.wide, &list.items, i))
        .find(|it| {
            name_of(it).as_deref() == Some(name) && namespace_of(it).as_deref() == namespace
        });
    match found {
        Some(it) => respond_json(
            200,
            &as_served(
                item_value(state, &it),
                list.item_kind(),
                &list.api_version,
                metadata_only,
            ),
        ),
        None => not_found(target, name),
    }
}

/// `404 NotFound` for an object, as the API server words it.
pub(crate) fn not_found(target: &Target, name: &str) -> Response<Body> {
    let mut body = live::status(
        404,
        "NotFound",
        &format!("{} \"{name}\" not found", target.qualified()),
    );
    body["details"] = json!({"name": name, "group": target.group, "kind": target.resource});
    respond_json(404, &body)
}

/// The verb an authorizer sees for a request.
fn verb(method: &str, target: Option<&Target>, watch: bool) -> String {
    let named = target.is_some_and(|t| t.name.is_some());
    match method {
        "GET" if watch => "watch",
        "GET" if named => "get",
        "GET" => "list",
        "POST" => "create",
        "PUT" => "update",
        "PATCH" => "patch",
        "DELETE" if named => "delete",
        "DELETE" => "deletecollection",
        other => return other.to_lowercase(),
    }
    .to_owned()
}

fn forbid(
    state: &State,
    info: &RequestInfo,
    target: Option<&Target>,
    watch: bool,
) -> Response<Body> {
    let verb = verb(&info.method, target, watch);
    let (resource, group, scope) = match target {
        Some(t) => (
            t.resource.clone(),
            t.group.clone(),
            t.namespace.as_ref().map_or_else(
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
    let subject = match target.and_then(|t| t.name.as_ref()) {
        Some(name) => format!("{resource} \"{name}\""),
        None => resource.clone(),
    };
    let message = format!(
        "{subject} is forbidden: User \"{}\" cannot {verb} resource \"{resource}\" in API group \"{group}\" {scope}",
        info.user
    );
    let mut body = state
        .recordings
        .forbidden
        .clone()
        .unwrap_or_else(|| json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": "Forbidden", "code": 403}));
    body["message"] = Value::String(message);
    body["details"] = json!({"kind": resource});
    respond_json(403, &body)
}

/// A list as one request reads it: its items are shared, not copied, and it is read
/// without holding the lock.
pub(crate) struct Snapshot {
    pub kind: String,
    pub api_version: String,
    pub items: Arc<Vec<Value>>,
    pub resource_version: String,
}

impl Snapshot {
    fn item_kind(&self) -> &str {
        self.kind.strip_suffix("List").unwrap_or(&self.kind)
    }
}

/// An item of a served list: stored (recorded, or changed since), or the `n`th
/// generated pod, or a generated node.
pub(crate) enum Item<'a> {
    Stored(&'a Value),
    Generated(usize),
    Node(&'a str),
}

pub(crate) fn item<'a>(
    state: &'a State,
    wide: &str,
    items: &'a [Value],
    i: usize,
) -> Option<Item<'a>> {
    if let Some(v) = items.get(i) {
        return Some(Item::Stored(v));
    }
    let n = i - items.len();
    if wide == NODES {
        return state.options.nodes.get(n).map(|(name, _)| Item::Node(name));
    }
    (wide == PODS && n < state.options.extra_pods).then_some(Item::Generated(n))
}

pub(crate) fn namespace_of(item: &Item<'_>) -> Option<String> {
    match item {
        Item::Stored(v) => live::namespace_of(v).map(str::to_owned),
        Item::Generated(n) => Some(format!("bench-{}", n % 100)),
        Item::Node(_) => None,
    }
}

fn name_of(item: &Item<'_>) -> Option<String> {
    match item {
        Item::Stored(v) => live::name_of(v).map(str::to_owned),
        Item::Generated(n) => Some(format!("bench-{n}")),
        Item::Node(name) => Some((*name).to_owned()),
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

/// The `n`th generated pod's JSON.
fn generated_pod(state: &State, n: usize) -> String {
    let escaped = |s: &str| serde_json::to_string(s).unwrap_or_default();
    state
        .template_pod
        .replace(&escaped(NAME), &format!("\"bench-{n}\""))
        .replace(&escaped(NAMESPACE), &format!("\"bench-{}\"", n % 100))
        .replace(
            &escaped(UID),
            &format!("\"00000000-0000-4000-8000-{n:012}\""),
        )
}

/// An item as a JSON value (what a list holds: built-in kinds without `kind`).
pub(crate) fn item_value(state: &State, item: &Item<'_>) -> Value {
    match item {
        Item::Stored(v) => (*v).clone(),
        Item::Node(name) => json!({
            "kind": "Node", "apiVersion": "v1",
            "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            "status": {"nodeInfo": {"kubeletVersion": "v1.25.0"}},
        }),
        Item::Generated(n) => {
            serde_json::from_str(&generated_pod(state, *n)).unwrap_or(Value::Null)
        }
    }
}

/// An object as the API server sends one on its own (a GET, a watch event): with its
/// `kind` and `apiVersion`, which list items of built-in kinds leave off; or only its
/// metadata, as `PartialObjectMetadata`.
pub(crate) fn as_served(
    mut value: Value,
    kind: &str,
    api_version: &str,
    metadata_only: bool,
) -> Value {
    if metadata_only {
        let metadata = value.get_mut("metadata").map(Value::take);
        return json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": metadata.unwrap_or_else(|| json!({}))});
    }
    if let Some(object) = value.as_object_mut() {
        object
            .entry("kind")
            .or_insert_with(|| Value::String(kind.to_owned()));
        object
            .entry("apiVersion")
            .or_insert_with(|| Value::String(api_version.to_owned()));
    }
    value
}

fn encode_item(state: &State, item: &Item<'_>, metadata_only: bool) -> Vec<u8> {
    if let (Item::Generated(n), false) = (item, metadata_only) {
        return generated_pod(state, *n).into_bytes();
    }
    let value = item_value(state, item);
    let value = if metadata_only {
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": value["metadata"]})
    } else {
        value
    };
    serde_json::to_vec(&value).unwrap_or_default()
}

pub(crate) fn list_len(state: &State, wide: &str, items: &[Value]) -> usize {
    items.len()
        + match wide {
            PODS => state.options.extra_pods,
            NODES => state.options.nodes.len(),
            _ => 0,
        }
}

fn list_page(
    state: &State,
    wide: &str,
    data: &Snapshot,
    namespace: Option<&str>,
    query: &str,
    metadata_only: bool,
) -> Response<Body> {
    let limit = query_param(query, "limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0);
    let start = match query_param(query, "continue") {
        None => 0,
        Some(token) => match decode_token(&token, wide) {
            Some(offset) => offset,
            None => {
                return respond_status(
                    400,
                    "BadRequest",
                    "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
                )
            }
        },
    };
    let items = &data.items;
    let total = list_len(state, wide, items);
    if start > total {
        return respond_status(
            400,
            "BadRequest",
            "continue key is not valid: it points past the list",
        );
    }
    let wanted =
        |item: &Item<'_>| namespace.is_none() || namespace_of(item).as_deref() == namespace;
    let mut encoded: Vec<Vec<u8>> = Vec::new();
    let mut i = start;
    while i < total {
        if limit.is_some_and(|l| encoded.len() >= l) {
            break;
        }
        if let Some(it) = item(state, wide, items, i).filter(|it| wanted(it)) {
            encoded.push(encode_item(state, &it, metadata_only));
        }
        i += 1;
    }
    let mut metadata = json!({"resourceVersion": data.resource_version});
    let remaining = if namespace.is_none() {
        total - i
    } else {
        (i..total)
            .filter(|&j| item(state, wide, items, j).is_some_and(|it| wanted(&it)))
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
    for (k, it) in encoded.iter().enumerate() {
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
