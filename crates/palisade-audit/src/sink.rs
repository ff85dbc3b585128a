//! Detections POSTed to an HTTPS endpoint (a SIEM's HTTP input, Falcosidekick), one
//! per request as Falco's HTTP output does, over one keep-alive TLS connection.
//!
//! Delivery is in order and blocks until the endpoint answers 2xx: a slow or failing
//! endpoint holds the detection loop (retried with backoff up to 5 s), which holds
//! the checkpoint, which fills the spool, where `serve`'s shedding policy applies. A
//! detection delivered just before a crash, whose checkpoint was not yet written, is
//! delivered again after the restart: each request carries `X-Palisade-Detection-Id`,
//! a hash of the detection, the same every time, for the endpoint to drop a repeat.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyper::Uri;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use sha2::{Digest, Sha256};

type Stream = BufReader<rustls::StreamOwned<rustls::ClientConnection, TcpStream>>;

/// An HTTPS endpoint detections are POSTed to.
pub struct HttpsSink {
    url: String,
    authority: String,
    host: ServerName<'static>,
    path: String,
    tls: Arc<rustls::ClientConfig>,
    timeout: Duration,
    conn: Option<Stream>,
    /// Requests that failed and were tried again.
    pub retries: u64,
}

impl std::fmt::Debug for HttpsSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpsSink")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl HttpsSink {
    /// An endpoint at `url` (`https://` only), trusted by `ca` (PEM) or else by the
    /// system's roots.
    ///
    /// # Errors
    /// The URL is not an https URL, or no trust root can be read.
    pub fn new(url: &str, ca: Option<&Path>) -> Result<HttpsSink, String> {
        let uri: Uri = url.parse().map_err(|e| format!("{url}: {e}"))?;
        if uri.scheme_str() != Some("https") {
            return Err(format!("{url}: detections are sent over https only"));
        }
        let host = uri.host().ok_or_else(|| format!("{url}: no host"))?;
        let port = uri.port_u16().unwrap_or(443);
        let name = host.trim_start_matches('[').trim_end_matches(']');
        let server = ServerName::try_from(name.to_owned()).map_err(|e| format!("{url}: {e}"))?;
        let mut roots = rustls::RootCertStore::empty();
        match ca {
            Some(ca) => {
                for cert in CertificateDer::pem_file_iter(ca)
                    .map_err(|e| format!("cannot read {}: {e}", ca.display()))?
                {
                    let cert = cert.map_err(|e| format!("cannot read {}: {e}", ca.display()))?;
                    roots
                        .add(cert)
                        .map_err(|e| format!("{}: {e}", ca.display()))?;
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(found.certs);
            }
        }
        if roots.is_empty() {
            return Err(format!("{url}: no trusted CA (give one with --output-ca)"));
        }
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(HttpsSink {
            url: url.to_owned(),
            authority: format!("{host}:{port}"),
            host: server,
            path: uri
                .path_and_query()
                .map_or("/".to_owned(), |p| p.as_str().to_owned()),
            tls: Arc::new(tls),
            timeout: Duration::from_secs(10),
            conn: None,
            retries: 0,
        })
    }

    /// The URL, for checkpoints and messages.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Delivers `detection` (one JSON line), trying again with backoff until the
    /// endpoint takes it; `failed` hears of each failure.
    pub fn deliver(&mut self, detection: &[u8], mut failed: impl FnMut(&str)) {
        let mut backoff = Duration::from_millis(100);
        loop {
            match self.post(detection) {
                Ok(()) => return,
                Err(e) => {
                    self.conn = None;
                    self.retries += 1;
                    failed(&e);
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            }
        }
    }

    fn connect(&self) -> Result<Stream, String> {
        let addrs = std::net::ToSocketAddrs::to_socket_addrs(&self.authority)
            .map_err(|e| format!("{}: {e}", self.authority))?;
        let mut last = format!("{}: no address", self.authority);
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, self.timeout) {
                Ok(tcp) => {
                    tcp.set_read_timeout(Some(self.timeout))
                        .map_err(|e| e.to_string())?;
                    tcp.set_write_timeout(Some(self.timeout))
                        .map_err(|e| e.to_string())?;
                    let _ = tcp.set_nodelay(true);
                    let conn = rustls::ClientConnection::new(self.tls.clone(), self.host.clone())
                        .map_err(|e| e.to_string())?;
                    return Ok(BufReader::new(rustls::StreamOwned::new(conn, tcp)));
                }
                Err(e) => last = format!("{addr}: {e}"),
            }
        }
        Err(last)
    }

    /// One attempt.
    fn post(&mut self, body: &[u8]) -> Result<(), String> {
        if self.conn.is_none() {
            self.conn = Some(self.connect()?);
        }
        let id = hex(&Sha256::digest(body)[..16]);
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nX-Palisade-Detection-Id: {id}\r\nUser-Agent: palisade\r\n\r\n",
            self.path,
            self.authority,
            body.len()
        );
        let conn = self.conn.as_mut().expect("connected above");
        let io = |e: std::io::Error| format!("{}: {e}", self.url);
        let stream = conn.get_mut();
        stream.write_all(head.as_bytes()).map_err(io)?;
        stream.write_all(body).map_err(io)?;
        stream.flush().map_err(io)?;
        let mut line = String::new();
        conn.read_line(&mut line).map_err(io)?;
        let code: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| format!("{}: no HTTP answer", self.url))?;
        let (mut length, mut close) = (0usize, false);
        loop {
            line.clear();
            if conn.read_line(&mut line).map_err(io)? == 0 || line == "\r\n" {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                let (k, v) = (k.trim(), v.trim());
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.parse().unwrap_or(0);
                } else if k.eq_ignore_ascii_case("connection") && v.eq_ignore_ascii_case("close") {
                    close = true;
                }
            }
        }
        // The answer's body is read (bounded) and dropped, to reuse the connection.
        let mut skip = (&mut *conn).take(length.min(1 << 20) as u64);
        std::io::copy(&mut skip, &mut std::io::sink()).map_err(io)?;
        if close || length > 1 << 20 {
            self.conn = None;
        }
        if (200..300).contains(&code) {
            Ok(())
        } else {
            Err(format!("{}: HTTP {code}", self.url))
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
