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
//! For controllers it is a live cluster too: lists change through
//! [`ReplayServer::apply_event`], each change stamped with a new resourceVersion, and
//! are watched (`watch=true`) as the API server streams them, with bookmarks and the
//! `410 Expired` of a compacted resourceVersion ([`ReplayServer::compact`]); the report
//! resources (`wgpolicyk8s.io` policy reports, `openreports.io` reports) accept writes
//! (create, replace, server-side apply, merge patch, delete), read back with
//! [`ReplayServer::stored`].
//!
//! ```no_run
//! use palisade_replay::{Auth, Options, Recordings, ReplayServer};
//! let recordings = Recordings::load("testdata/apiserver".as_ref()).unwrap();
//! let server = ReplayServer::start(recordings, Options::default());
//! std::fs::write("kubeconfig", server.kubeconfig(&Auth::ClientCertificate)).unwrap();
//! // A controller under test, watching pods, now sees one more.
//! server.apply_event(
//!     "/api/v1/pods",
//!     palisade_replay::EventKind::Added,
//!     serde_json::json!({"metadata": {"name": "new", "namespace": "default"}}),
//! );
//! ```

mod live;
mod pki;
mod recordings;
mod server;
mod watch;
mod write;

pub use live::EventKind;
pub use pki::Pki;
pub use recordings::{ListData, Recorded, Recordings};
pub use server::{Auth, Authorizer, Options, ReplayServer, RequestInfo};
