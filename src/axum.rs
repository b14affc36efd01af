//! Feature `axum`: [`AuthenticatedClient`] as an axum extractor.
//!
//! The [`CertAuthLayer`](crate::tower::CertAuthLayer) authenticates and inserts the
//! client; handlers take it as an argument:
//!
//! ```ignore
//! async fn whoami(client: AuthenticatedClient) -> String { client.identity().subject().to_string() }
//! async fn maybe(client: Option<AuthenticatedClient>) -> &'static str { if client.is_some() { "hello" } else { "anonymous" } }
//! ```
//!
//! `AuthenticatedClient` without the layer (or behind an optional layer, with no
//! certificate) is rejected with 401 `{"error":"no_certificate"}`; `Option<..>` never
//! rejects.

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;

use crate::authenticator::AuthenticatedClient;
use crate::error::{Error, ErrorKind};

/// Why the extractor refused: no authenticated client in the request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertAuthRejection {
    kind: ErrorKind,
}

impl CertAuthRejection {
    /// The HTTP status (401).
    pub fn status(&self) -> http::StatusCode {
        crate::http::status_for(self.kind)
    }

    /// The body: `{"error":"no_certificate"}`.
    pub fn body_text(&self) -> String {
        format!("{{\"error\":\"{}\"}}", self.kind.as_str())
    }
}

impl IntoResponse for CertAuthRejection {
    fn into_response(self) -> Response {
        crate::tower::rejection(&Error::new(self.kind, "no authenticated client"))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AuthenticatedClient {
    type Rejection = CertAuthRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<AuthenticatedClient>()
            .cloned()
            .ok_or(CertAuthRejection { kind: ErrorKind::NoCertificate })
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for AuthenticatedClient {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<AuthenticatedClient>().cloned())
    }
}
