//! What Palisade's HTTPS servers (the admission webhook, the audit webhook backend)
//! share: serving certificates reloaded from disk ([`tls`]), client-certificate
//! authentication, one accept loop with handshake timeouts ([`serve`]), and request
//! bodies read within a limit ([`body`]).

pub mod body;
pub mod serve;
pub mod tls;

pub use body::{closing, discard, is_json, read_limited, text, Body};
pub use serve::{accept_loop, bind, server_tls, Peer, ServerThread};
