//! Certificate model (being written).
/// A parsed certificate.
#[derive(Debug)]
pub struct Certificate;
