-- Schema of the PostgreSQL client registry (examples/postgres_registry.rs).
-- Idempotent: every replica may apply it at start.

CREATE TABLE IF NOT EXISTS clients (
    id       text PRIMARY KEY,
    name     text NOT NULL,
    status   text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
    -- Free key-values (tier, scopes, alias...): a JSON object of strings.
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(metadata) = 'object')
);

CREATE TABLE IF NOT EXISTS client_certificates (
    -- SHA-256 of the certificate's DER (x5t#S256): the per-request look-up key.
    thumbprint   bytea PRIMARY KEY CHECK (octet_length(thumbprint) = 32),
    client_id    text NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    -- The certificate's notAfter, when known.
    not_after    timestamptz NULL,
    -- End of a rotation overlap: refused after this time although still valid.
    retire_after timestamptz NULL
);

-- A client's certificates (look-up by client id, and the cascade on delete).
CREATE INDEX IF NOT EXISTS client_certificates_client_id ON client_certificates (client_id);
-- Rotation reports: certificates expiring before a time.
CREATE INDEX IF NOT EXISTS client_certificates_not_after ON client_certificates (not_after)
    WHERE not_after IS NOT NULL;
