-- Pushes to providers (#18): the outbox. A push is recorded here, with its idempotency key, in
-- the caller's transaction, and delivered by `push.outbound` jobs; the scheduler re-enqueues any
-- left pending (a job lost with Redis, an enqueue that failed after the commit).
CREATE TABLE pushes (
    id              uuid PRIMARY KEY,
    tenant          text NOT NULL,
    connection_id   uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    provider        text NOT NULL,
    resource        text NOT NULL,
    -- `create` a new object, or `update` the one `external_id` names.
    operation       text NOT NULL CHECK (operation IN ('create', 'update')),
    external_id     text,
    -- The object's fields as the provider names them.
    fields          jsonb NOT NULL,
    -- The caller's key: one push per key and connection; sent to providers that take one.
    idempotency_key text NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    -- One entry per failed attempt: {"at", "attempt", "error"}.
    errors          jsonb NOT NULL DEFAULT '[]',
    -- The provider's object as it answered the delivered push.
    result          jsonb,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz,
    UNIQUE (tenant, connection_id, idempotency_key)
);
CREATE INDEX pushes_pending_idx ON pushes (updated_at) WHERE status = 'pending';
