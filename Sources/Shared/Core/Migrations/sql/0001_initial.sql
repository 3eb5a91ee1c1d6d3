-- Junction's first schema: the tables the queue, the ingress and the scheduler need first.
-- Later issues add credentials, sync state, field mappings, synced records, the outbox and the
-- audit log in their own numbered migrations.

-- A tenant's link to one provider account.
CREATE TABLE connections (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant              text NOT NULL,
    provider            text NOT NULL,
    status              text NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'active', 'needs_reauth', 'error', 'disconnected')),
    -- The provider's account id: a QuickBooks realm, a Mailchimp data centre, a Stripe account.
    external_account_id text,
    scopes              text[] NOT NULL DEFAULT '{}',
    health              jsonb NOT NULL DEFAULT '{}',
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX connections_tenant_provider_idx ON connections (tenant, provider);
CREATE UNIQUE INDEX connections_external_account_idx
    ON connections (tenant, provider, external_account_id) WHERE external_account_id IS NOT NULL;

-- Every webhook event processed, once per provider event id: a redelivery finds its row.
CREATE TABLE webhook_events (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    provider      text NOT NULL,
    event_id      text NOT NULL,
    event_type    text,
    tenant        text,
    connection_id uuid REFERENCES connections (id) ON DELETE SET NULL,
    content_type  text,
    -- The raw body as received: providers sign bytes, and some post forms, not JSON.
    body          bytea NOT NULL,
    headers       jsonb NOT NULL DEFAULT '{}',
    received_at   timestamptz NOT NULL,
    processed_at  timestamptz,
    outcome       text,
    CONSTRAINT webhook_events_provider_event_key UNIQUE (provider, event_id)
);
CREATE INDEX webhook_events_received_at_idx ON webhook_events (received_at);

-- One row per attempt of a job: the history behind `junction` and the dead letters.
CREATE TABLE job_runs (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id        text NOT NULL,
    job_type      text NOT NULL,
    tenant        text,
    provider      text,
    connection_id uuid,
    attempt       integer NOT NULL CHECK (attempt >= 1),
    outcome       text NOT NULL CHECK (outcome IN ('succeeded', 'retrying', 'rescheduled', 'dead')),
    error_class   text,
    error_message text,
    worker        text NOT NULL,
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz NOT NULL
);
CREATE INDEX job_runs_job_id_idx ON job_runs (job_id);
CREATE INDEX job_runs_finished_at_idx ON job_runs (finished_at);

-- Periodic jobs the scheduler enqueues: every interval, or on a cron expression.
CREATE TABLE schedules (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name             text NOT NULL UNIQUE,
    job_type         text NOT NULL,
    payload          jsonb NOT NULL DEFAULT '{}',
    tenant           text,
    provider         text,
    connection_id    uuid REFERENCES connections (id) ON DELETE CASCADE,
    priority         text NOT NULL DEFAULT 'normal' CHECK (priority IN ('critical', 'high', 'normal', 'low')),
    interval_seconds integer CHECK (interval_seconds > 0),
    cron             text,
    time_zone        text NOT NULL DEFAULT 'UTC',
    enabled          boolean NOT NULL DEFAULT true,
    next_run_at      timestamptz NOT NULL,
    last_run_at      timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT schedules_interval_or_cron CHECK ((interval_seconds IS NULL) <> (cron IS NULL))
);
-- The scheduler's tick reads only due rows: its cost follows the due rows, not the table.
CREATE INDEX schedules_due_idx ON schedules (next_run_at) WHERE enabled;
