//! The HTTPS server: `POST /validate` for AdmissionReviews, `/healthz`, `/readyz` and
//! `/metrics`.
//!
//! IO runs on tokio, judging on rayon's pool (the engine's own), so a slow client never
//! holds a core and a busy core never stalls the accept loop. Every limit answers fast:
//! a body over the limit gets 413 without being kept (what the client still sends is
//! read and dropped, up to the limit, so that it can read the answer), a request beyond the in-flight
//! bound gets 429 at once (the API server then applies the webhook's failurePolicy
//! instead of waiting out its timeout), a body that does not arrive in time gets 408.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode};
use palisade_https::tls::{Reload, ReloadingCert};
use palisade_https::{
    accept_loop, bind, closing, discard, is_json, read_limited, server_tls, text, Body,
    ServerThread,
};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, Semaphore};

use crate::judge::Judge;
use crate::metrics::{Metrics, Rejected};
use crate::review::response_body;

/// How the server listens and what it bounds.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub cert: PathBuf,
    pub key: PathBuf,
    /// Largest request body: an object and its old version at etcd's 1.5 MiB each,
    /// with room for the envelope.
    pub max_body: usize,
    /// Most reviews read or judged at once; more get 429.
    pub max_in_flight: usize,
    /// How long a request's headers and body may take to arrive.
    pub read_timeout: Duration,
    /// How often the certificate files are looked at.
    pub reload_every: Duration,
}

impl ServerConfig {
    #[must_use]
    pub fn new(listen: SocketAddr, cert: PathBuf, key: PathBuf) -> ServerConfig {
        ServerConfig {
            listen,
            cert,
            key,
            max_body: 4 << 20,
            max_in_flight: 256,
            read_timeout: Duration::from_secs(5),
            reload_every: Duration::from_secs(2),
        }
    }
}

struct State {
    judge: Arc<Judge>,
    metrics: Metrics,
    slots: Arc<Semaphore>,
    config: ServerConfig,
    ready: Arc<AtomicBool>,
}

/// A server running on a thread of its own (the CLI's and the tests' way to run it).
pub struct RunningServer {
    pub addr: SocketAddr,
    thread: ServerThread,
    state: Arc<State>,
}

impl RunningServer {
    /// The metrics as `/metrics` shows them.
    #[must_use]
    pub fn metrics(&self) -> String {
        self.state.metrics.render()
    }

    /// Marks the server ready or not (`/readyz`).
    pub fn set_ready(&self, ready: bool) {
        self.state.ready.store(ready, Ordering::SeqCst);
    }

    /// The flag behind `/readyz`, for a thread that decides readiness.
    #[must_use]
    pub fn ready_handle(&self) -> Arc<AtomicBool> {
        self.state.ready.clone()
    }

    /// Stops accepting, lets requests in flight finish, and returns.
    pub fn stop(mut self) {
        self.thread.stop();
    }

    /// Blocks until the server stops (it stops only on error or [`RunningServer::stop`]).
    pub fn wait(mut self) {
        self.thread.wait();
    }
}

/// Binds `config.listen` and serves `judge` on a thread of its own.
///
/// # Errors
/// The certificate cannot be loaded or the address cannot be bound.
pub fn start(judge: Arc<Judge>, config: ServerConfig) -> Result<RunningServer, String> {
    let certs = Arc::new(ReloadingCert::new(&config.cert, &config.key)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    // Bound here, before the thread starts, so that an address in use is an error of
    // `start` (and callers inside a runtime of their own can call it).
    let (listener, addr) = bind(config.listen)?;
    let state = Arc::new(State {
        judge,
        metrics: Metrics::new(),
        slots: Arc::new(Semaphore::new(config.max_in_flight)),
        config,
        ready: Arc::new(AtomicBool::new(true)),
    });
    let serving = state.clone();
    let thread = ServerThread::spawn("palisade-admission", move |rx| {
        runtime.block_on(async move {
            match TcpListener::from_std(listener) {
                Ok(listener) => serve(listener, certs, serving, rx).await,
                Err(e) => tracing::error!(error = %e, "cannot listen"),
            }
        });
    })?;
    Ok(RunningServer {
        addr,
        thread,
        state,
    })
}

async fn serve(
    listener: TcpListener,
    certs: Arc<ReloadingCert>,
    state: Arc<State>,
    shutdown: oneshot::Receiver<()>,
) {
    let tls = match server_tls(certs.clone(), None) {
        Ok(tls) => tls,
        Err(e) => {
            tracing::error!(error = %e, "cannot set up TLS");
            return;
        }
    };

    let reload_state = state.clone();
    let reloader = tokio::spawn(async move {
        let mut tick = tokio::time::interval(reload_state.config.reload_every);
        loop {
            tick.tick().await;
            match certs.check() {
                Reload::Unchanged => {}
                Reload::Reloaded => {
                    reload_state.metrics.reloaded(true);
                    tracing::info!("serving certificate reloaded");
                }
                Reload::Failed(e) => {
                    reload_state.metrics.reloaded(false);
                    tracing::warn!(error = %e, "serving certificate changed but cannot be loaded; keeping the old one");
                }
            }
        }
    });

    let serving = state.clone();
    let handler = move |req, _peer| {
        let state = serving.clone();
        async move { handle(&state, req).await }
    };
    accept_loop(listener, tls, state.config.read_timeout, shutdown, handler).await;
    reloader.abort();
    // Reviews in flight get their answers (for up to 10 s); idle connections close
    // with the runtime.
    let deadline = Instant::now() + Duration::from_secs(10);
    while state.slots.available_permits() < state.config.max_in_flight && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn handle(state: &Arc<State>, req: Request<Incoming>) -> Response<Body> {
    match (req.method(), req.uri().path()) {
        (&Method::POST, "/validate") => validate(state, req).await,
        (&Method::GET, "/healthz") => text(StatusCode::OK, "ok\n"),
        (&Method::GET, "/readyz") => {
            if state.ready.load(Ordering::SeqCst) {
                text(StatusCode::OK, "ok\n")
            } else {
                text(StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
            }
        }
        (&Method::GET, "/metrics") => {
            let mut r = text(StatusCode::OK, state.metrics.render());
            r.headers_mut().insert(
                CONTENT_TYPE,
                hyper::header::HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            );
            r
        }
        (_, "/validate" | "/healthz" | "/readyz" | "/metrics") => {
            text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n")
        }
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

fn reject(state: &State, why: Rejected, status: StatusCode, message: &str) -> Response<Body> {
    state.metrics.rejected(why);
    let mut r = text(status, format!("{message}\n"));
    if why == Rejected::Overload {
        r.headers_mut()
            .insert(RETRY_AFTER, hyper::header::HeaderValue::from_static("1"));
    }
    r
}

async fn validate(state: &Arc<State>, req: Request<Incoming>) -> Response<Body> {
    // Claimed before anything is read: an overloaded server answers at once.
    let Ok(_slot) = state.slots.clone().try_acquire_owned() else {
        return reject(
            state,
            Rejected::Overload,
            StatusCode::TOO_MANY_REQUESTS,
            "too many reviews in flight",
        );
    };
    state.metrics.in_flight().inc();
    let response = validate_in_slot(state, req).await;
    state.metrics.in_flight().dec();
    response
}

async fn validate_in_slot(state: &Arc<State>, req: Request<Incoming>) -> Response<Body> {
    let json = is_json(req.headers());
    if !json {
        discard(req.into_body(), state.config.max_body);
        return closing(reject(
            state,
            Rejected::MediaType,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "an AdmissionReview is sent as application/json",
        ));
    }
    let max = state.config.max_body;
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        discard(req.into_body(), max);
        return closing(reject(
            state,
            Rejected::TooLarge,
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("the body is over {max} bytes"),
        ));
    }
    let read = read_limited(req.into_body(), max);
    let body = match tokio::time::timeout(state.config.read_timeout, read).await {
        Ok(Ok(Ok(b))) => b,
        Ok(Ok(Err(rest))) => {
            discard(rest, max);
            return closing(reject(
                state,
                Rejected::TooLarge,
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the body is over {max} bytes"),
            ));
        }
        Ok(Err(e)) => {
            return reject(
                state,
                Rejected::BadRequest,
                StatusCode::BAD_REQUEST,
                &format!("cannot read the body: {e}"),
            );
        }
        Err(_) => {
            return reject(
                state,
                Rejected::Timeout,
                StatusCode::REQUEST_TIMEOUT,
                "the body did not arrive in time",
            );
        }
    };
    let started = Instant::now();
    let judge = state.judge.clone();
    let (tx, rx) = oneshot::channel();
    rayon::spawn(move || {
        let _ = tx.send(judge.review(&body));
    });
    let Ok(answer) = rx.await else {
        return text(StatusCode::INTERNAL_SERVER_ERROR, "the review failed\n");
    };
    match answer {
        Ok((api_version, decision)) => {
            let seconds = started.elapsed().as_secs_f64();
            state.metrics.decided(&decision, seconds);
            tracing::info!(
                uid = %decision.response.uid,
                operation = %decision.operation,
                object = %decision.object,
                mode = decision.mode.map_or("none", |m| m.as_str()),
                skipped = decision.skipped.map(|s| s.as_str()),
                allowed = decision.response.allowed,
                findings = decision.findings.len(),
                denied = decision.denied,
                dry_run = decision.dry_run,
                micros = (seconds * 1e6) as u64,
                "review"
            );
            let mut r = Response::new(Full::new(Bytes::from(response_body(
                &api_version,
                &decision.response,
            ))));
            r.headers_mut().insert(
                CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("application/json"),
            );
            r
        }
        Err(e) => reject(
            state,
            Rejected::BadRequest,
            StatusCode::BAD_REQUEST,
            &e.to_string(),
        ),
    }
}
