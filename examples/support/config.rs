//! Flags shared by the reference servers, and building certauth from them.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Arc;

use certauth::registry::MemoryRegistry;
use certauth::verify::{RING_ALGORITHMS, RevocationDepth, RevocationPolicy, UnknownStatus};
use certauth::{Authenticator, Timestamp, TrustStore, Verifier};

/// Flags every reference server takes.
#[derive(clap::Args, Debug)]
pub(crate) struct Common {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8443")]
    pub(crate) listen: String,
    /// Trust anchors (PEM bundle, DER file or directory); repeatable.
    #[arg(long, required = true)]
    pub(crate) trust: Vec<PathBuf>,
    /// CRL file (PEM or DER); repeatable. Checked for the client certificate; a client
    /// whose issuer has no CRL here is refused.
    #[arg(long)]
    pub(crate) crl: Vec<PathBuf>,
    /// Registry file (JSON): clients and their certificates. Without it every verified
    /// certificate is accepted and `client_id` is null.
    #[arg(long)]
    pub(crate) registry: Option<PathBuf>,
    /// Header naming the client application; its registered certificate must match.
    #[arg(long)]
    pub(crate) client_id_header: Option<String>,
    /// Threads verifying uncached certificates off the runtime's workers (0: on the
    /// request's own task). Default: half the cores, at least one.
    #[arg(long)]
    pub(crate) verification_threads: Option<usize>,
}

impl Common {
    /// The authenticator these flags describe.
    pub(crate) fn authenticator(&self) -> Result<Authenticator, Box<dyn std::error::Error>> {
        let mut store = TrustStore::builder();
        for path in &self.trust {
            store =
                if path.is_dir() { store.add_directory(path)? } else { store.add_file(path)? };
        }
        for path in &self.crl {
            store = store.add_crl_file(path)?;
        }
        let mut verifier = Verifier::builder(store.build()?, RING_ALGORITHMS);
        if !self.crl.is_empty() {
            verifier = verifier
                .revocation(RevocationPolicy::new(RevocationDepth::Leaf, UnknownStatus::Deny));
        }
        let mut auth = Authenticator::builder(verifier.build()?);
        if let Some(threads) = self.verification_threads {
            auth = auth.verification_threads(threads);
        }
        if let Some(path) = &self.registry {
            let registry = MemoryRegistry::new();
            registry.load_file(path, Timestamp::now())?;
            auth = auth.registry(Arc::new(registry));
        }
        Ok(auth.build()?)
    }

    /// The certauth layer for these flags (client-id header applied).
    pub(crate) fn layer(
        &self,
        auth: Authenticator,
    ) -> Result<certauth::tower::CertAuthLayer, Box<dyn std::error::Error>> {
        let mut layer = certauth::tower::CertAuthLayer::new(auth);
        if let Some(name) = &self.client_id_header {
            layer = layer.client_id_header(name.parse()?);
        }
        Ok(layer)
    }
}
