//! Feature `rustls`: a [`ClientCertVerifier`] that applies certauth's chain and policy
//! during the TLS handshake.
//!
//! ```no_run
//! # fn demo(authenticator: certauth::Authenticator, provider: std::sync::Arc<rustls::crypto::CryptoProvider>,
//! #         cert: Vec<certauth::pki_types::CertificateDer<'static>>, key: certauth::pki_types::PrivateKeyDer<'static>)
//! # -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use certauth::rustls::MtlsClientVerifier;
//! let verifier = MtlsClientVerifier::new(authenticator, provider.clone());
//! let config = rustls::ServerConfig::builder_with_provider(provider)
//!     .with_safe_default_protocol_versions()?
//!     .with_client_cert_verifier(Arc::new(verifier))
//!     .with_single_cert(cert, key)?;
//! # Ok(()) }
//! ```
//!
//! A failing chain fails the handshake with the alert rustls derives from the error:
//! `certificate_expired`, `unknown_ca`, `certificate_revoked`, `unsupported_certificate`
//! (wrong EKU), `bad_certificate` (weak key and the rest).
//!
//! **After the handshake** the application reads the peer certificates from the
//! connection (`ServerConnection::peer_certificates`) and authenticates each request
//! with [`Credential::Tls`]: the verification done during the
//! handshake is in the authenticator's cache, so the request pays only for the
//! registry, identity rules and binding.
//!
//! **Session resumption** does not run the verifier again: a client that resumes a
//! session keeps the certificate it presented originally. After a trust-store rotation
//! or a revocation, per-request authentication (which does re-verify when the verifier
//! generation changes) still refuses the certificate; to also stop resumption, build a
//! new `ServerConfig` (new ticketer and session cache) when you rotate.

use std::fmt;
use std::sync::Arc;

use ::rustls::client::danger::HandshakeSignatureValid;
use ::rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use ::rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use ::rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, OtherError, SignatureScheme,
};
use rustls_pki_types::{CertificateDer, UnixTime};

use crate::authenticator::{Authenticator, Credential};
use crate::error::{Error, ErrorKind};
use crate::time::Timestamp;

/// certauth's client-certificate verifier for rustls servers (named so that it never
/// collides with rustls's own `ClientVerifier` trait names).
pub struct MtlsClientVerifier {
    authenticator: Authenticator,
    algorithms: WebPkiSupportedAlgorithms,
    hints: Vec<DistinguishedName>,
    mandatory: bool,
}

impl fmt::Debug for MtlsClientVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MtlsClientVerifier")
            .field("authenticator", &self.authenticator)
            .field("mandatory", &self.mandatory)
            .field("hints", &self.hints.len())
            .finish()
    }
}

impl MtlsClientVerifier {
    /// A verifier requiring a client certificate, verified by `authenticator`'s
    /// verifier (through its cache); handshake signatures are checked with `provider`'s
    /// algorithms. The acceptable CA names sent to clients are the trust store's anchors
    /// at this moment (rebuild after a rotation to update them).
    pub fn new(authenticator: Authenticator, provider: Arc<CryptoProvider>) -> Self {
        let hints = authenticator
            .verifier()
            .trust_store()
            .anchors()
            .iter()
            .map(|a| DistinguishedName::in_sequence(a.subject.as_ref()))
            .collect();
        Self {
            authenticator,
            algorithms: provider.signature_verification_algorithms,
            hints,
            mandatory: true,
        }
    }

    /// Request a certificate but let clients without one finish the handshake; the
    /// application then decides per request (e.g. some routes open, others not).
    #[must_use]
    pub fn optional(mut self) -> Self {
        self.mandatory = false;
        self
    }
}

/// The rustls error for a certauth error: a `CertificateError` rustls turns into the
/// matching alert.
pub fn to_rustls_error(e: Error) -> ::rustls::Error {
    let cert = match e.kind() {
        ErrorKind::Expired => CertificateError::Expired,
        ErrorKind::NotYetValid => CertificateError::NotValidYet,
        ErrorKind::Revoked => CertificateError::Revoked,
        ErrorKind::UnknownIssuer => CertificateError::UnknownIssuer,
        ErrorKind::BadSignature => CertificateError::BadSignature,
        ErrorKind::WrongUsage => CertificateError::InvalidPurpose,
        ErrorKind::RevocationUnknown => CertificateError::UnknownRevocationStatus,
        ErrorKind::RevocationStale => CertificateError::ExpiredRevocationList,
        ErrorKind::MalformedInput => CertificateError::BadEncoding,
        _ => CertificateError::Other(OtherError(Arc::new(e))),
    };
    ::rustls::Error::InvalidCertificate(cert)
}

/// The certauth error kind behind a rustls handshake error: the inverse of
/// [`to_rustls_error`] for certificate errors, `no_certificate` when a mandatory client
/// certificate was not presented, `None` for anything that is not about the client's
/// certificate (protocol errors, unsupported versions, I/O).
#[cfg_attr(not(feature = "axum-tls"), allow(dead_code))]
pub(crate) fn error_kind_of(e: &::rustls::Error) -> Option<ErrorKind> {
    use ::rustls::Error as E;
    match e {
        E::NoCertificatesPresented => Some(ErrorKind::NoCertificate),
        E::InvalidCertificate(cert) => Some(match cert {
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                ErrorKind::Expired
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                ErrorKind::NotYetValid
            }
            CertificateError::Revoked => ErrorKind::Revoked,
            CertificateError::UnknownIssuer => ErrorKind::UnknownIssuer,
            CertificateError::BadSignature => ErrorKind::BadSignature,
            CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
                ErrorKind::WrongUsage
            }
            CertificateError::UnknownRevocationStatus => ErrorKind::RevocationUnknown,
            CertificateError::ExpiredRevocationList
            | CertificateError::ExpiredRevocationListContext { .. } => ErrorKind::RevocationStale,
            CertificateError::BadEncoding => ErrorKind::MalformedInput,
            CertificateError::Other(other) => match other.0.downcast_ref::<Error>() {
                Some(e) => e.kind(),
                None => return None,
            },
            _ => return None,
        }),
        _ => None,
    }
}

impl ClientCertVerifier for MtlsClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, ::rustls::Error> {
        let mut chain = Vec::with_capacity(1 + intermediates.len());
        chain.push(end_entity.clone());
        chain.extend(intermediates.iter().cloned());
        self.authenticator
            .verify_credential(Credential::Tls(&chain), Timestamp::from(now))
            .map(|_| ClientCertVerified::assertion())
            .map_err(to_rustls_error)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, ::rustls::Error> {
        ::rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, ::rustls::Error> {
        ::rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind the verifier can fail a handshake with is read back from the rustls
    /// error, so a refused handshake is logged with certauth's kind, never a guess.
    #[test]
    fn error_kind_of_inverts_to_rustls_error() {
        for &kind in ErrorKind::ALL {
            let rustls_error = to_rustls_error(Error::new(kind, "test"));
            assert_eq!(error_kind_of(&rustls_error), Some(kind), "{kind}");
        }
        assert_eq!(
            error_kind_of(&::rustls::Error::NoCertificatesPresented),
            Some(ErrorKind::NoCertificate)
        );
        assert_eq!(error_kind_of(&::rustls::Error::HandshakeNotComplete), None);
        let foreign = CertificateError::Other(OtherError(Arc::new(std::io::Error::other("x"))));
        assert_eq!(error_kind_of(&::rustls::Error::InvalidCertificate(foreign)), None);
        assert_eq!(
            error_kind_of(&::rustls::Error::InvalidCertificate(CertificateError::NotValidForName)),
            None
        );
    }
}
