-- Connections become real (#15): how each authenticates, the provider facts that are not secret,
-- its credentials (stored only encrypted), the refreshes in flight, and an audit row per change.

-- `health` holds the lifecycle's last change ({"reason", "changed_at"}) and the last refresh and
-- check; `metadata` what the provider told us that is not secret (Mailchimp's data centre and API
-- endpoint, a Stripe account's publishable key).
ALTER TABLE connections
    ADD COLUMN auth     text NOT NULL DEFAULT 'oauth2' CHECK (auth IN ('oauth2', 'api_key')),
    ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}';

-- One row per connection with credentials. Both sealed fields are AES-256-GCM under the key ring's
-- key `key_id`, each bound to (tenant, connection, field) as associated data, so a ciphertext
-- copied to another row or field does not decrypt. `version` grows with every new token pair: a
-- refresh stores its pair only if the version it read is still the stored one (compare-and-set),
-- and only under a fence at least the stored one (the connection lock's fencing token).
-- Re-encryption under a new key changes neither.
CREATE TABLE credentials (
    connection_id  uuid PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
    tenant         text NOT NULL,
    key_id         text NOT NULL,
    -- The access token, or the API key.
    access_sealed  bytea NOT NULL,
    refresh_sealed bytea,
    expires_at     timestamptz,
    version        bigint NOT NULL DEFAULT 1 CHECK (version >= 1),
    fence          bigint NOT NULL DEFAULT 0 CHECK (fence >= 0),
    -- Refreshes that failed in a row (network, 5xx), since when: after JUNCTION_TOKEN_REFRESH_GIVE_UP
    -- the connection needs the tenant again.
    refresh_failures integer NOT NULL DEFAULT 0,
    failing_since  timestamptz,
    refreshed_at   timestamptz,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
-- The scheduler's refresh scan reads only what expires soon.
CREATE INDEX credentials_expires_idx ON credentials (expires_at) WHERE expires_at IS NOT NULL;
-- `junction keys reencrypt` reads what is not under the active key.
CREATE INDEX credentials_key_idx ON credentials (key_id);

-- A refresh that is about to present, or has presented, the refresh token and has not stored the
-- answer yet. Written before the call and removed in the transaction that stores the new pair, so
-- a row left behind means a refresher died in between: the provider may have rotated the token
-- and the answer is lost. The next refresh reads it before presenting anything (docs/connections.md).
CREATE TABLE credential_refreshes (
    connection_id uuid PRIMARY KEY REFERENCES connections (id) ON DELETE CASCADE,
    fence         bigint NOT NULL,
    version       bigint NOT NULL,
    worker        text NOT NULL,
    started_at    timestamptz NOT NULL DEFAULT now()
);

-- Every change of a connection's state, and who made it. Kept when the connection is deleted.
CREATE TABLE connection_events (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connection_id uuid NOT NULL,
    tenant        text NOT NULL,
    provider      text NOT NULL,
    event         text NOT NULL,
    from_status   text,
    to_status     text,
    reason        text,
    actor         text NOT NULL,
    at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX connection_events_connection_idx ON connection_events (connection_id, id);
