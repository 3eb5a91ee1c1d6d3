-- Per-endpoint webhook secrets: /webhooks/{provider}/{endpoint} verifies against its own secret
-- set (rotation: several at once). The set is stored only encrypted (AES-256-GCM under the key
-- ring, bound to provider and endpoint); the ingress caches it in memory and refreshes it, so the
-- webhook path never waits on PostgreSQL.
CREATE TABLE webhook_endpoints (
    provider       text NOT NULL,
    endpoint       text NOT NULL CHECK (endpoint ~ '^[A-Za-z0-9_-]{1,128}$'),
    tenant         text,
    connection_id  uuid REFERENCES connections (id) ON DELETE CASCADE,
    secrets_key_id text NOT NULL,
    secrets_sealed bytea NOT NULL,
    secret_count   integer NOT NULL CHECK (secret_count >= 1),
    enabled        boolean NOT NULL DEFAULT true,
    -- Bumped by every change, so the ingress re-reads only what changed.
    version        bigint NOT NULL DEFAULT 1,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (provider, endpoint)
);
CREATE INDEX webhook_endpoints_key_idx ON webhook_endpoints (secrets_key_id);
