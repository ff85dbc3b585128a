//! The accept loop: TLS handshakes bounded in time, each connection served by hyper
//! (HTTP/1.1 or HTTP/2), with what the handshake established handed to the handler.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use rustls::server::{ResolvesServerCert, WebPkiClientVerifier};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_rustls::TlsAcceptor;

use crate::Body;

/// Who is on the other end of a connection.
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    pub addr: SocketAddr,
    /// The client presented a certificate that chains to the configured client CA.
    pub verified_client: bool,
}

/// The TLS settings of a server: its certificate from `certs`; with `client_ca`, client
/// certificates signed by it are verified, and a connection without one is still
/// accepted (health and metrics need none) but marked unverified in its [`Peer`].
///
/// # Errors
/// The client CA file cannot be read or holds no usable certificate.
pub fn server_tls(
    certs: Arc<dyn ResolvesServerCert>,
    client_ca: Option<&Path>,
) -> Result<rustls::ServerConfig, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS versions: {e}"))?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(ca)
                .map_err(|e| format!("cannot read the client CA {}: {e}", ca.display()))?
            {
                let cert =
                    cert.map_err(|e| format!("cannot read the client CA {}: {e}", ca.display()))?;
                roots.add(cert).map_err(|e| {
                    format!("the client CA {} is not a usable CA: {e}", ca.display())
                })?;
            }
            if roots.is_empty() {
                return Err(format!("{} holds no certificate", ca.display()));
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .allow_unauthenticated()
                .build()
                .map_err(|e| format!("client CA {}: {e}", ca.display()))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut tls = builder.with_cert_resolver(certs);
    tls.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tls)
}

/// Accepts connections until `shutdown`, each handshake given `handshake_timeout`,
/// and serves each request with `handler`.
pub async fn accept_loop<H, F>(
    listener: TcpListener,
    tls: rustls::ServerConfig,
    handshake_timeout: Duration,
    mut shutdown: oneshot::Receiver<()>,
    handler: H,
) where
    H: Fn(Request<Incoming>, Peer) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let acceptor = TlsAcceptor::from(Arc::new(tls));
    loop {
        let (tcp, addr) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let handler = handler.clone();
        tokio::spawn(async move {
            let handshake = tokio::time::timeout(handshake_timeout, acceptor.accept(tcp));
            let tls = match handshake.await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(%addr, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%addr, "TLS handshake timed out");
                    return;
                }
            };
            let peer = Peer {
                addr,
                verified_client: tls.get_ref().1.peer_certificates().is_some(),
            };
            let service = hyper::service::service_fn(move |req| {
                let handler = handler.clone();
                async move { Ok::<_, Infallible>(handler(req, peer).await) }
            });
            let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            builder
                .http1()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10));
            if let Err(e) = builder.serve_connection(TokioIo::new(tls), service).await {
                tracing::debug!(%addr, error = %e, "connection ended with an error");
            }
        });
    }
}

/// Binds `listen` for a server started later on a runtime of its own; the bound
/// address (a port of 0 is chosen here) comes back with it, so that an address in use
/// is an error of the caller's `start`.
///
/// # Errors
/// The address cannot be bound.
pub fn bind(listen: SocketAddr) -> Result<(std::net::TcpListener, SocketAddr), String> {
    let listener = std::net::TcpListener::bind(listen)
        .and_then(|l| l.set_nonblocking(true).map(|()| l))
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener
        .local_addr()
        .map_err(|e| format!("cannot read the bound address: {e}"))?;
    Ok((listener, addr))
}

/// A server running on a thread of its own, stopped (accepting ends, the thread is
/// joined) by [`ServerThread::stop`] or when dropped.
#[derive(Debug)]
pub struct ServerThread {
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ServerThread {
    /// Runs `serve` (given the shutdown signal) on a thread named `name`.
    ///
    /// # Errors
    /// The thread cannot be started.
    pub fn spawn(
        name: &str,
        serve: impl FnOnce(oneshot::Receiver<()>) + Send + 'static,
    ) -> Result<ServerThread, String> {
        let (tx, rx) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || serve(rx))
            .map_err(|e| format!("cannot start the server thread: {e}"))?;
        Ok(ServerThread {
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// Stops accepting and returns once the thread has ended.
    pub fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.wait();
    }

    /// Blocks until the thread ends (on error, or once stopped).
    pub fn wait(&mut self) {
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        self.stop();
    }
}
