//! Per-route authorization: which authenticated clients may use a route.
//!
//! Authentication answers "who is this client"; a [`Policy`] answers "may this client
//! use this route". A policy names client ids, an [`IdentityRule`] on the certificate, or
//! a value of the registered client's metadata (a scope, a tier, an API name), and
//! combines them with [`Policy::all`] and [`Policy::any`]. It only ever looks at an
//! [`AuthenticatedClient`], so it cannot be asked about a certificate that was not
//! verified.
//!
//! ```
//! use certauth::authorize::Policy;
//! use certauth::{IdentityRule, SpiffeMatch};
//!
//! // Billing and reporting may read orders; so may any client whose registry entry has
//! // `orders:read` among its scopes, if its certificate is from the payments domain.
//! let read_orders = Policy::any([
//!     Policy::client_ids(["billing", "reporting"]),
//!     Policy::all([
//!         Policy::metadata_contains("scope", "orders:read"),
//!         Policy::identity(IdentityRule::Spiffe(SpiffeMatch::TrustDomain("payments.example".into()))),
//!     ]),
//! ]);
//! # let _ = read_orders;
//! ```
//!
//! With feature `tower`, [`tower::AuthorizeLayer`](crate::tower::AuthorizeLayer) applies a
//! policy to a route (axum: `route_layer`), behind
//! [`CertAuthLayer`](crate::tower::CertAuthLayer): a client the policy refuses gets 403
//! `not_permitted`, a request without an authenticated client 401 `no_certificate`.

use std::fmt;

use crate::authenticator::AuthenticatedClient;
use crate::error::{Error, ErrorKind};
use crate::identity::IdentityRule;

/// Which authenticated clients may use a route. Build with the constructors; combine
/// with [`all`](Self::all) and [`any`](Self::any). Cheap to check: no allocation, no
/// I/O (the registered client and its metadata come with the [`AuthenticatedClient`]).
#[derive(Clone, PartialEq, Eq)]
pub struct Policy(Rule);

#[derive(Clone, PartialEq, Eq)]
enum Rule {
    ClientIds(Vec<String>),
    Identity(IdentityRule),
    MetadataEquals { key: String, value: String },
    MetadataContains { key: String, item: String },
    All(Vec<Policy>),
    Any(Vec<Policy>),
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Rule::ClientIds(ids) => f.debug_tuple("ClientIds").field(ids).finish(),
            Rule::Identity(rule) => f.debug_tuple("Identity").field(rule).finish(),
            Rule::MetadataEquals { key, value } => {
                f.debug_struct("MetadataEquals").field("key", key).field("value", value).finish()
            }
            Rule::MetadataContains { key, item } => {
                f.debug_struct("MetadataContains").field("key", key).field("item", item).finish()
            }
            Rule::All(all) => f.debug_tuple("All").field(all).finish(),
            Rule::Any(any) => f.debug_tuple("Any").field(any).finish(),
        }
    }
}

impl Policy {
    /// The client is registered under one of these ids (exact, case-sensitive). A
    /// certificate no registry knows has no client id and never matches; neither does
    /// anyone when the list is empty.
    ///
    /// ```
    /// let admins = certauth::authorize::Policy::client_ids(["ops-console", "billing"]);
    /// # let _ = admins;
    /// ```
    pub fn client_ids<I>(ids: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        Self(Rule::ClientIds(ids.into_iter().map(Into::into).collect()))
    }

    /// The verified certificate satisfies `rule` (subject and issuer attributes, SANs,
    /// SPIFFE ID, pins: see [`IdentityRule`]).
    ///
    /// ```
    /// use certauth::authorize::Policy;
    /// use certauth::{IdentityRule, ValueMatch};
    /// let ops = Policy::identity(IdentityRule::subject("OU", ValueMatch::exact("operations")));
    /// # let _ = ops;
    /// ```
    pub fn identity(rule: IdentityRule) -> Self {
        Self(Rule::Identity(rule))
    }

    /// The registered client's metadata value for `key` is exactly `value`
    /// (case-sensitive), e.g. `tier` = `gold`. A client without that key, or a
    /// certificate no registry knows, never matches.
    ///
    /// ```
    /// let gold = certauth::authorize::Policy::metadata_equals("tier", "gold");
    /// # let _ = gold;
    /// ```
    pub fn metadata_equals(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self(Rule::MetadataEquals { key: key.into(), value: value.into() })
    }

    /// The registered client's metadata value for `key` is a list (items separated by
    /// spaces, tabs, line breaks or commas, as OAuth scopes are) holding exactly `item`
    /// (case-sensitive): `scope` = `"orders:read orders:write"` contains `orders:read`,
    /// never `orders` or `read`. An empty `item` never matches.
    ///
    /// ```
    /// let readers = certauth::authorize::Policy::metadata_contains("scope", "orders:read");
    /// # let _ = readers;
    /// ```
    pub fn metadata_contains(key: impl Into<String>, item: impl Into<String>) -> Self {
        Self(Rule::MetadataContains { key: key.into(), item: item.into() })
    }

    /// Every policy lets the client in. An empty list lets no one in, so a policy built
    /// from an empty configuration never opens a route.
    pub fn all(policies: impl IntoIterator<Item = Policy>) -> Self {
        Self(Rule::All(policies.into_iter().collect()))
    }

    /// At least one policy lets the client in (an empty list: no one).
    pub fn any(policies: impl IntoIterator<Item = Policy>) -> Self {
        Self(Rule::Any(policies.into_iter().collect()))
    }

    /// Whether the policy lets `client` in.
    pub fn allows(&self, client: &AuthenticatedClient) -> bool {
        match &self.0 {
            Rule::ClientIds(ids) => {
                client.client_id().is_some_and(|id| ids.iter().any(|allowed| allowed == id))
            }
            Rule::Identity(rule) => rule.matches(client.identity()),
            Rule::MetadataEquals { key, value } => {
                metadata(client, key).is_some_and(|v| v == value)
            }
            Rule::MetadataContains { key, item } => {
                !item.is_empty()
                    && metadata(client, key).is_some_and(|v| {
                        v.split(|c: char| c == ',' || c.is_ascii_whitespace())
                            .any(|listed| listed == item)
                    })
            }
            Rule::All(all) => !all.is_empty() && all.iter().all(|p| p.allows(client)),
            Rule::Any(any) => any.iter().any(|p| p.allows(client)),
        }
    }

    /// `Ok` when the policy lets `client` in, otherwise a `not_permitted` error naming
    /// the client (its id, or its certificate's x5t#S256 when no registry knows it).
    ///
    /// ```
    /// # fn demo(client: &certauth::AuthenticatedClient) {
    /// let policy = certauth::authorize::Policy::metadata_contains("scope", "orders:read");
    /// if let Err(e) = policy.check(client) {
    ///     assert_eq!(e.kind(), certauth::ErrorKind::NotPermitted);
    /// }
    /// # }
    /// ```
    pub fn check(&self, client: &AuthenticatedClient) -> Result<(), Error> {
        if self.allows(client) {
            return Ok(());
        }
        let who = match client.client_id() {
            Some(id) => format!("client {id}"),
            None => format!("certificate {}", client.thumbprint()),
        };
        Err(Error::new(ErrorKind::NotPermitted, format!("{who} is not permitted on this route")))
    }
}

fn metadata<'a>(client: &'a AuthenticatedClient, key: &str) -> Option<&'a str> {
    client.client().and_then(|c| c.metadata(key))
}
