//! RFC 8705 certificate-bound access tokens: the `cnf.x5t#S256` of a token must be the
//! SHA-256 thumbprint of the client certificate of the same request.
//!
//! The check only takes a [`VerifiedChain`]: binding a token to a certificate that was
//! not verified would let anyone who copied the token present any certificate with the
//! right hash of a certificate they do not own. The comparison is constant-time
//! ([`crate::thumbprint::check_binding`]).

use crate::error::{Error, ErrorKind, Result};
use crate::verify::VerifiedChain;

/// Whether requests must carry certificate-bound tokens.
///
/// | mode | token without `cnf` | token with `cnf` |
/// |---|---|---|
/// | `Off` | accepted | not checked |
/// | `Optional` | accepted | must match |
/// | `Required` (default) | refused | must match |
///
/// `Required` is the default because a resource server that asks about binding at all
/// is protecting bound tokens; `Optional` is for migrations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BindingMode {
    /// No binding check.
    Off,
    /// Check tokens that carry a confirmation; accept tokens that do not.
    Optional,
    /// Every token must carry a confirmation matching the certificate.
    #[default]
    Required,
}

/// Checks a token's `cnf.x5t#S256` value (or its absence) against the verified chain.
///
/// ```
/// # fn demo(chain: &certauth::VerifiedChain) -> certauth::Result<()> {
/// use certauth::binding::{check_token_binding, BindingMode};
/// let cnf = chain.thumbprint().to_x5t_s256();
/// check_token_binding(BindingMode::Required, Some(&cnf), chain)?;
/// assert!(check_token_binding(BindingMode::Required, None, chain).is_err());
/// assert!(check_token_binding(BindingMode::Optional, None, chain).is_ok());
/// # Ok(()) }
/// ```
pub fn check_token_binding(
    mode: BindingMode,
    cnf_x5t_s256: Option<&str>,
    chain: &VerifiedChain,
) -> Result<()> {
    match (mode, cnf_x5t_s256) {
        (BindingMode::Off, _) | (BindingMode::Optional, None) => Ok(()),
        (BindingMode::Required, None) => Err(Error::new(
            ErrorKind::BindingMismatch,
            "the token is not certificate-bound (no cnf x5t#S256)",
        )),
        (_, Some(cnf)) => crate::thumbprint::check_binding(cnf, chain.thumbprint()),
    }
}
