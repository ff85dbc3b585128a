//! A loopback HTTPS server that answers as the recorded kube-apiserver did.
//!
//! It serves `testdata/apiserver` (real responses of a real API server) to the
//! real kube-rs client, so the live-cluster path is tested end to end without an API
//! server: TLS with a CA of its own, client certificates and bearer tokens, discovery,
//! every recorded list re-paginated with `limit`/`continue` (tokens of its own, with
//! `remainingItemCount` as the server computes it), namespaced lists filtered from the
//! cluster-wide ones, metadata-only lists (`as=PartialObjectMetadataList`), and the
//! recorded error bodies. On request it forbids paths, fails paths, expires a continue
//! token once (the recorded `410 Expired`), authorizes each request through a callback,
//! and adds generated pods for benchmarks. Every request is logged for assertions.
//!
//! ```no_run
//! use palisade_replay::{Auth, Options, Recordings, ReplayServer};
//! let recordings = Recordings::load("testdata/apiserver".as_ref()).unwrap();
//! let server = ReplayServer::start(recordings, Options::default());
//! std::fs::write("kubeconfig", server.kubeconfig(&Auth::ClientCertificate)).unwrap();
//! ```

mod pki;
mod recordings;
mod server;

pub use pki::Pki;
pub use recordings::{ListData, Recorded, Recordings};
pub use server::{Auth, Authorizer, Options, ReplayServer, RequestInfo};
