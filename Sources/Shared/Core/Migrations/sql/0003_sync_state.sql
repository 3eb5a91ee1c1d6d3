-- Where each sync stands, per tenant, provider and resource: the provider's cursor, and the fence
-- (the lock's fencing token) of the last writer. A write carrying an older fence than the stored
-- one is refused, so a worker that was paused past its lock's expiry cannot overwrite the newer
-- state its successor wrote.
CREATE TABLE sync_state (
    tenant     text NOT NULL,
    provider   text NOT NULL,
    resource   text NOT NULL,
    cursor     text,
    fence      bigint NOT NULL CHECK (fence >= 0),
    details    jsonb NOT NULL DEFAULT '{}',
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant, provider, resource)
);
