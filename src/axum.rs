//! Feature `axum`: [`AuthenticatedClient`] as an axum extractor; with feature `axum-tls`,
//! [`MtlsListener`], a TLS listener for `axum::serve`.
//!
//! The [`CertAuthLayer`](crate::tower::CertAuthLayer) authenticates and inserts the
//! client; handlers take it as an argument:
//!
//! ```ignore
//! async fn whoami(client: AuthenticatedClient) -> String { client.identity().subject().to_string() }
//! async fn maybe(client: Option<AuthenticatedClient>) -> &'static str { if client.is_some() { "hello" } else { "anonymous" } }
//! ```
//!
//! With feature `axum-tls`, [`MtlsListener`] terminates mTLS for `axum::serve`; served
//! with `into_make_service_with_connect_info::<ConnectionInfo>()`, every request carries
//! its connection's certificates for the layer:
//!
//! ```ignore
//! let listener = MtlsListener::bind("0.0.0.0:8443", server_config).await?;
//! axum::serve(listener, app.into_make_service_with_connect_info::<ConnectionInfo>()).await?;
//! ```
//!
//! `AuthenticatedClient` without the layer (or behind an optional layer, with no
//! certificate) is rejected with the layer's [`ErrorResponse`] for `no_certificate`: 401
//! `{"error":"no_certificate"}`; `Option<..>` never rejects.

#[cfg(feature = "axum-tls")]
mod listener;

#[cfg(feature = "axum-tls")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum-tls")))]
pub use listener::{DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_PENDING_HANDSHAKES, MtlsListener};

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;

use crate::authenticator::AuthenticatedClient;
use crate::error::ErrorKind;
use crate::http::ErrorResponse;

/// Why the extractor refused: no authenticated client in the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertAuthRejection {
    response: ErrorResponse,
}

impl CertAuthRejection {
    /// The HTTP status (401).
    pub fn status(&self) -> http::StatusCode {
        self.response.status()
    }

    /// The body: `{"error":"no_certificate"}`.
    pub fn body_text(&self) -> String {
        self.response.body_json()
    }
}

impl IntoResponse for CertAuthRejection {
    fn into_response(self) -> Response {
        self.response.into_response()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AuthenticatedClient {
    type Rejection = CertAuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<AuthenticatedClient>()
            .cloned()
            .ok_or(CertAuthRejection { response: ErrorResponse::new(ErrorKind::NoCertificate) })
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for AuthenticatedClient {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<AuthenticatedClient>().cloned())
    }
}
