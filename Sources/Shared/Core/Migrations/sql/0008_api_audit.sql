-- The management API's audit log (#17): every mutating call, who made it, what it asked for,
-- when, and how it ended. Kept like the connection events: never updated, never deleted by the
-- API.
CREATE TABLE api_audit (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    tenant     text NOT NULL,
    -- `tenant:<tenant>:<subject>` for a tenant's token (an internal service's name later).
    actor      text NOT NULL,
    method     text NOT NULL,
    path       text NOT NULL,
    -- The HTTP status answered, and the problem's type or the thing acted on.
    status     integer NOT NULL,
    outcome    text NOT NULL,
    request_id text
);
CREATE INDEX api_audit_tenant_idx ON api_audit (tenant, id);
