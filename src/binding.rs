//! RFC 8705 certificate-bound access tokens, checked against a verified client.

use crate::error::{Error, ErrorKind, Result};
use crate::identity::ClientIdentity;
use crate::thumbprint::check_binding;

/// Whether requests must carry a token bound to the client certificate (RFC 8705).
///
/// Default: [`BindingMode::Off`], because most services authenticate by certificate
/// alone; turn it on where access tokens are issued with a `cnf.x5t#S256` claim.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BindingMode {
    /// Tokens are not checked against the certificate.
    #[default]
    Off,
    /// A token that carries a confirmation must match the certificate; a token without
    /// one is accepted.
    Optional,
    /// Every request needs a confirmation that matches the certificate.
    Required,
}

/// Checks a token's `cnf.x5t#S256` claim (`None`: the token had none, or there was no
/// token) against a verified client, according to `mode`.
///
/// Only a [`ClientIdentity`] is accepted, so the thumbprint compared is always that of a
/// certificate that passed verification. Errors have kind `binding_mismatch` and say
/// why (missing, malformed, wrong length, different certificate).
///
/// Decoding the token and checking its signature is the caller's job (any JWT or
/// introspection library); certauth compares the confirmation in constant time.
pub fn check_token_binding(
    mode: BindingMode,
    cnf_x5t_s256: Option<&str>,
    identity: &ClientIdentity,
) -> Result<()> {
    match (mode, cnf_x5t_s256) {
        (BindingMode::Off, _) | (BindingMode::Optional, None) => Ok(()),
        (BindingMode::Required, None) => Err(Error::new(
            ErrorKind::BindingMismatch,
            "the token is not bound to a certificate (no cnf x5t#S256)",
        )),
        (_, Some(cnf)) => check_binding(cnf, &identity.thumbprint()),
    }
}
