//! [`RegisteredClient`]: a registered application as one immutable, shared allocation.
//!
//! A registry may hold millions of clients for a long time, so a client is one
//! `Arc<[u8]>` laid out compactly, and a clone is a reference-count increment:
//!
//! | bytes | content |
//! |---|---|
//! | 1 | status (0 active, 1 suspended) |
//! | varint | number of certificates |
//! | 48 each | certificate: 32-byte thumbprint, `not_after` and `retire_after` as little-endian `i64` Unix seconds ([`NONE`] for "none") |
//! | varint + bytes | id (UTF-8) |
//! | varint + bytes | name (UTF-8) |
//! | varint | number of metadata entries, then each key and value as varint + bytes, sorted by key |
//!
//! Lengths are LEB128 varints (one byte below 128), so no id, name or metadata size is
//! refused and a short id costs one byte of prefix. The encoding is canonical (metadata
//! sorted, one certificate per thumbprint), so two clients are equal exactly when their
//! bytes are. Only [`RegisteredClientBuilder::build`] writes the bytes; readers never
//! panic on them.

use std::collections::BTreeMap;
use std::fmt;
use std::iter::FusedIterator;
use std::sync::Arc;

use super::{ClientStatus, RegisteredCertificate};
use crate::thumbprint::Thumbprint;
use crate::time::Timestamp;

/// The stored value of an absent `not_after` or `retire_after`: `i64::MIN`. A present
/// timestamp of `i64::MIN` seconds (about 292 billion years before 1970) is stored as
/// `i64::MIN + 1`, one second later, which compares the same against any real time.
const NONE: i64 = i64::MIN;

/// Bytes per certificate: thumbprint, `not_after`, `retire_after`.
const CERTIFICATE_BYTES: usize = 48;

/// A registered client application: id, display name, status, metadata and
/// certificates.
///
/// Immutable and cheap to clone (one shared allocation, a clone is a reference-count
/// increment): a registry hands the same client to every request. Make one with
/// [`new`](Self::new) or [`builder`](Self::builder); "edit" with the `with_*` methods,
/// which return a modified copy.
///
/// ```
/// use certauth::registry::{ClientStatus, RegisteredCertificate, RegisteredClient};
/// use certauth::{Thumbprint, Timestamp};
/// let thumbprint = Thumbprint::of(b"a certificate");
/// let client = RegisteredClient::builder("billing")
///     .name("Billing service")
///     .metadata("tier", "gold")
///     .certificate(RegisteredCertificate {
///         thumbprint,
///         not_after: Some(Timestamp::from_unix_secs(1_900_000_000)),
///         retire_after: None,
///     })
///     .build();
/// assert_eq!(client.id(), "billing");
/// assert_eq!(client.metadata("tier"), Some("gold"));
/// assert_eq!(client.certificates().len(), 1);
/// let suspended = client.clone().with_status(ClientStatus::Suspended);
/// assert_eq!(suspended.status(), ClientStatus::Suspended);
/// assert_eq!(client.status(), ClientStatus::Active);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RegisteredClient(Arc<[u8]>);

impl RegisteredClient {
    /// A new active client without certificates or metadata.
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self::builder(id).name(name).build()
    }

    /// A builder for a client with this id: active, named after the id, without
    /// metadata or certificates until told otherwise.
    pub fn builder(id: impl Into<String>) -> RegisteredClientBuilder {
        RegisteredClientBuilder {
            id: id.into(),
            name: None,
            status: ClientStatus::Active,
            metadata: BTreeMap::new(),
            certificates: Vec::new(),
        }
    }

    /// A builder holding this client's content, to make a changed copy.
    pub fn to_builder(&self) -> RegisteredClientBuilder {
        RegisteredClientBuilder {
            id: self.id().to_owned(),
            name: Some(self.name().to_owned()),
            status: self.status(),
            metadata: self.metadata_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
            certificates: self.certificates().collect(),
        }
    }

    /// Stable identifier (what a client-id header carries).
    pub fn id(&self) -> &str {
        let mut r = self.after_certificates();
        r.str()
    }

    /// Display name.
    pub fn name(&self) -> &str {
        let mut r = self.after_certificates();
        r.skip_str();
        r.str()
    }

    /// Active or suspended.
    pub fn status(&self) -> ClientStatus {
        match self.0.first() {
            Some(1) => ClientStatus::Suspended,
            _ => ClientStatus::Active,
        }
    }

    /// The metadata value for `key` (tier, scopes, alias, owner...).
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.metadata_iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// Every metadata entry, sorted by key.
    pub fn metadata_iter(&self) -> Metadata<'_> {
        let mut r = self.after_certificates();
        r.skip_str();
        r.skip_str();
        let left = r.len();
        Metadata { reader: r, left }
    }

    /// The client's certificates (several during a rotation), in registration order.
    pub fn certificates(&self) -> Certificates<'_> {
        let mut r = Reader { bytes: &self.0, pos: 1 };
        let count = r.len();
        let start = r.pos;
        let end = start.saturating_add(count.saturating_mul(CERTIFICATE_BYTES));
        Certificates(self.0.get(start..end).unwrap_or_default().chunks_exact(CERTIFICATE_BYTES))
    }

    /// The registered certificate with this thumbprint.
    pub fn certificate(&self, thumbprint: &Thumbprint) -> Option<RegisteredCertificate> {
        self.certificates().find(|c| c.thumbprint == *thumbprint)
    }

    /// A copy with this metadata entry added or replaced.
    #[must_use]
    pub fn with_metadata(self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.to_builder().metadata(key, value).build()
    }

    /// A copy without the metadata entry `key`.
    #[must_use]
    pub fn without_metadata(self, key: &str) -> Self {
        let mut b = self.to_builder();
        b.metadata.remove(key);
        b.build()
    }

    /// A copy with this display name.
    #[must_use]
    pub fn with_name(self, name: impl Into<String>) -> Self {
        self.to_builder().name(name).build()
    }

    /// A copy with this status.
    #[must_use]
    pub fn with_status(self, status: ClientStatus) -> Self {
        if self.status() == status {
            return self;
        }
        self.to_builder().status(status).build()
    }

    /// A copy with this certificate added, or replacing the one with the same thumbprint.
    #[must_use]
    pub fn with_certificate(self, certificate: RegisteredCertificate) -> Self {
        self.to_builder().certificate(certificate).build()
    }

    /// A copy without the certificate `thumbprint`.
    #[must_use]
    pub fn without_certificate(self, thumbprint: &Thumbprint) -> Self {
        if self.certificate(thumbprint).is_none() {
            return self;
        }
        let mut b = self.to_builder();
        b.certificates.retain(|c| c.thumbprint != *thumbprint);
        b.build()
    }

    /// Heap bytes this client takes: its one allocation, reference counts included
    /// (the allocator's own per-block overhead comes on top). Shared by every clone.
    pub fn heap_size(&self) -> usize {
        self.0.len() + 2 * std::mem::size_of::<usize>()
    }

    /// A reader positioned on the id.
    fn after_certificates(&self) -> Reader<'_> {
        let mut r = Reader { bytes: &self.0, pos: 1 };
        let count = r.len();
        r.pos = r.pos.saturating_add(count.saturating_mul(CERTIFICATE_BYTES));
        r
    }
}

impl fmt::Debug for RegisteredClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        struct Map<'a>(&'a RegisteredClient);
        impl fmt::Debug for Map<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_map().entries(self.0.metadata_iter()).finish()
            }
        }
        f.debug_struct("RegisteredClient")
            .field("id", &self.id())
            .field("name", &self.name())
            .field("status", &self.status())
            .field("metadata", &Map(self))
            .field("certificates", &self.certificates().collect::<Vec<_>>())
            .finish()
    }
}

/// Builds a [`RegisteredClient`]; from [`RegisteredClient::builder`] or
/// [`RegisteredClient::to_builder`].
#[derive(Clone, Debug)]
#[must_use]
pub struct RegisteredClientBuilder {
    id: String,
    name: Option<String>,
    status: ClientStatus,
    metadata: BTreeMap<String, String>,
    certificates: Vec<RegisteredCertificate>,
}

impl RegisteredClientBuilder {
    /// Display name. Default: the id.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Active or suspended. Default: active.
    pub fn status(mut self, status: ClientStatus) -> Self {
        self.status = status;
        self
    }

    /// Adds or replaces a metadata entry. Default: none.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Adds a certificate, or replaces the one with the same thumbprint (keeping its
    /// place). Default: none.
    pub fn certificate(mut self, certificate: RegisteredCertificate) -> Self {
        match self.certificates.iter_mut().find(|c| c.thumbprint == certificate.thumbprint) {
            Some(c) => *c = certificate,
            None => self.certificates.push(certificate),
        }
        self
    }

    /// The client, in one exact-size allocation.
    pub fn build(self) -> RegisteredClient {
        let name = self.name.as_deref().unwrap_or(&self.id);
        let size = 1
            + 10
            + self.certificates.len() * CERTIFICATE_BYTES
            + 10
            + self.id.len()
            + 10
            + name.len()
            + 10
            + self.metadata.iter().map(|(k, v)| 20 + k.len() + v.len()).sum::<usize>();
        let mut out = Vec::with_capacity(size);
        out.push(match self.status {
            ClientStatus::Suspended => 1,
            ClientStatus::Active => 0,
        });
        put_len(&mut out, self.certificates.len());
        for c in &self.certificates {
            out.extend_from_slice(c.thumbprint.as_bytes());
            out.extend_from_slice(&time_to_raw(c.not_after).to_le_bytes());
            out.extend_from_slice(&time_to_raw(c.retire_after).to_le_bytes());
        }
        put_str(&mut out, &self.id);
        put_str(&mut out, name);
        put_len(&mut out, self.metadata.len());
        for (k, v) in &self.metadata {
            put_str(&mut out, k);
            put_str(&mut out, v);
        }
        // `Arc::from` copies into one allocation of exactly `out.len()` bytes.
        RegisteredClient(Arc::from(out))
    }
}

fn time_to_raw(t: Option<Timestamp>) -> i64 {
    t.map_or(NONE, |t| t.as_unix_secs().max(NONE + 1))
}

fn time_from_raw(raw: i64) -> Option<Timestamp> {
    (raw != NONE).then_some(Timestamp::from_unix_secs(raw))
}

fn put_len(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_len(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

/// Reads what [`RegisteredClientBuilder::build`] wrote; out-of-range reads give empty
/// values instead of panicking (they cannot happen on bytes `build` wrote).
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn len(&mut self) -> usize {
        let mut n = 0usize;
        let mut shift = 0u32;
        while let Some(&b) = self.bytes.get(self.pos) {
            self.pos += 1;
            n |= usize::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
            if b < 0x80 {
                break;
            }
            shift += 7;
        }
        n
    }

    fn bytes(&mut self) -> &'a [u8] {
        let n = self.len();
        let start = self.pos;
        self.pos = start.saturating_add(n);
        self.bytes.get(start..self.pos).unwrap_or_default()
    }

    fn str(&mut self) -> &'a str {
        std::str::from_utf8(self.bytes()).unwrap_or_default()
    }

    fn skip_str(&mut self) {
        let n = self.len();
        self.pos = self.pos.saturating_add(n);
    }
}

/// The metadata of a [`RegisteredClient`], sorted by key: from
/// [`RegisteredClient::metadata_iter`].
pub struct Metadata<'a> {
    reader: Reader<'a>,
    left: usize,
}

impl fmt::Debug for Metadata<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metadata").field("left", &self.left).finish()
    }
}

impl<'a> Iterator for Metadata<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        self.left = self.left.checked_sub(1)?;
        let k = self.reader.str();
        let v = self.reader.str();
        Some((k, v))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Metadata<'_> {}
impl FusedIterator for Metadata<'_> {}

/// The certificates of a [`RegisteredClient`], decoded one by one: from
/// [`RegisteredClient::certificates`].
#[derive(Debug, Clone)]
pub struct Certificates<'a>(std::slice::ChunksExact<'a, u8>);

fn decode_certificate(chunk: &[u8]) -> RegisteredCertificate {
    let field = |range: std::ops::Range<usize>| {
        chunk.get(range).and_then(|b| <[u8; 8]>::try_from(b).ok()).map_or(NONE, i64::from_le_bytes)
    };
    let thumbprint = chunk.get(..32).and_then(|b| <[u8; 32]>::try_from(b).ok()).unwrap_or_default();
    RegisteredCertificate {
        thumbprint: Thumbprint::from_bytes(thumbprint),
        not_after: time_from_raw(field(32..40)),
        retire_after: time_from_raw(field(40..48)),
    }
}

impl Iterator for Certificates<'_> {
    type Item = RegisteredCertificate;

    fn next(&mut self) -> Option<RegisteredCertificate> {
        self.0.next().map(decode_certificate)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.0.size_hint()
    }
}

impl DoubleEndedIterator for Certificates<'_> {
    fn next_back(&mut self) -> Option<RegisteredCertificate> {
        self.0.next_back().map(decode_certificate)
    }
}

impl ExactSizeIterator for Certificates<'_> {}
impl FusedIterator for Certificates<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(
        seed: &[u8],
        not_after: Option<i64>,
        retire_after: Option<i64>,
    ) -> RegisteredCertificate {
        RegisteredCertificate {
            thumbprint: Thumbprint::of(seed),
            not_after: not_after.map(Timestamp::from_unix_secs),
            retire_after: retire_after.map(Timestamp::from_unix_secs),
        }
    }

    #[test]
    fn round_trips_every_field() {
        let long = "x".repeat(300);
        let a = cert(b"a", Some(1_900_000_000), None);
        let b = cert(b"b", None, Some(-5));
        let client = RegisteredClient::builder("client-1")
            .name(long.clone())
            .status(ClientStatus::Suspended)
            .metadata("tier", "gold")
            .metadata("alias", "")
            .metadata(long.clone(), "é")
            .certificate(a)
            .certificate(b)
            .build();
        assert_eq!(client.id(), "client-1");
        assert_eq!(client.name(), long);
        assert_eq!(client.status(), ClientStatus::Suspended);
        assert_eq!(client.metadata("tier"), Some("gold"));
        assert_eq!(client.metadata("alias"), Some(""));
        assert_eq!(client.metadata(&long), Some("é"));
        assert_eq!(client.metadata("none"), None);
        let keys: Vec<_> = client.metadata_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["alias", "tier", long.as_str()]);
        assert_eq!(client.certificates().collect::<Vec<_>>(), [a, b]);
        assert_eq!(client.certificate(&b.thumbprint), Some(b));
        assert_eq!(client.to_builder().build(), client);
    }

    #[test]
    fn name_defaults_to_the_id() {
        let client = RegisteredClient::builder("billing").build();
        assert_eq!(client.name(), "billing");
        assert_eq!(RegisteredClient::new("billing", "").name(), "");
    }

    #[test]
    fn one_certificate_per_thumbprint() {
        let client = RegisteredClient::new("a", "A")
            .with_certificate(cert(b"x", None, None))
            .with_certificate(cert(b"y", None, None))
            .with_certificate(cert(b"x", None, Some(7)));
        let all: Vec<_> = client.certificates().collect();
        assert_eq!(all, [cert(b"x", None, Some(7)), cert(b"y", None, None)]);
        let fewer = client.without_certificate(&Thumbprint::of(b"x"));
        assert_eq!(fewer.certificates().collect::<Vec<_>>(), [cert(b"y", None, None)]);
    }

    #[test]
    fn the_none_sentinel_is_not_a_timestamp() {
        let c = cert(b"x", Some(i64::MIN), Some(i64::MIN));
        let client = RegisteredClient::new("a", "A").with_certificate(c);
        let back = client.certificates().next().unwrap();
        assert_eq!(back.not_after, Some(Timestamp::from_unix_secs(i64::MIN + 1)));
        assert!(back.is_retired_at(Timestamp::from_unix_secs(0)));
    }

    #[test]
    fn compact() {
        // "client-123456", one certificate, no name: 1 + 1 + 48 + 14 + 1 + 1 bytes.
        let client =
            RegisteredClient::new("client-123456", "").with_certificate(cert(b"x", None, None));
        assert_eq!(client.heap_size(), 66 + 16);
        assert_eq!(std::mem::size_of::<RegisteredClient>(), 16);
    }

    #[test]
    fn edits_leave_the_original() {
        let a = RegisteredClient::new("a", "A").with_metadata("k", "v");
        let b = a.clone().with_status(ClientStatus::Suspended).with_name("B").without_metadata("k");
        assert_eq!((a.status(), a.name(), a.metadata("k")), (ClientStatus::Active, "A", Some("v")));
        assert_eq!((b.status(), b.name(), b.metadata("k")), (ClientStatus::Suspended, "B", None));
        assert!(format!("{a:?}").contains("\"k\": \"v\""));
    }
}
