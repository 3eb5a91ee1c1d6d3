-- The sync engine (#16): synced records with their change sequence, sync history, and sync state
-- per connection.

-- A tenant may connect two accounts of one provider (two QuickBooks realms): each connection
-- keeps its own state per resource. Rows without a connection keep working as before.
ALTER TABLE sync_state ADD COLUMN connection_id uuid REFERENCES connections (id) ON DELETE CASCADE;
ALTER TABLE sync_state ADD COLUMN connection_key text GENERATED ALWAYS AS (coalesce(connection_id::text, '')) STORED;
ALTER TABLE sync_state DROP CONSTRAINT sync_state_pkey;
ALTER TABLE sync_state ADD PRIMARY KEY (tenant, provider, resource, connection_key);

-- Grows on every real change of any record: the change feed reads "everything after N".
CREATE SEQUENCE record_changes AS bigint;

-- One row per provider object. `hash` is the MD5 of the object's canonical jsonb text: a page
-- that brings an object unchanged rewrites nothing. `version` is the provider's own ordering of
-- the object's states (Square's `version`, QuickBooks's `SyncToken`, an update time in ms), so a
-- write never replaces a newer state with an older one.
CREATE TABLE records (
    connection_id uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    resource      text NOT NULL,
    external_id   text NOT NULL,
    tenant        text NOT NULL,
    provider      text NOT NULL,
    data          jsonb NOT NULL,
    hash          text NOT NULL,
    version       bigint,
    change_seq    bigint NOT NULL DEFAULT nextval('record_changes'),
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    changed_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz,
    PRIMARY KEY (connection_id, resource, external_id)
);
CREATE INDEX records_feed_idx ON records (connection_id, resource, change_seq);

-- One row per sync run: what the API's status and history show.
CREATE TABLE sync_runs (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connection_id   uuid NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    tenant          text NOT NULL,
    provider        text NOT NULL,
    resource        text NOT NULL,
    job_id          text NOT NULL,
    trigger         text NOT NULL,
    mode            text NOT NULL CHECK (mode IN ('full', 'incremental')),
    status          text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted')),
    pages           integer NOT NULL DEFAULT 0,
    added           integer NOT NULL DEFAULT 0,
    updated         integer NOT NULL DEFAULT 0,
    unchanged       integer NOT NULL DEFAULT 0,
    deleted         integer NOT NULL DEFAULT 0,
    checkpoint_from text,
    checkpoint_to   text,
    error           text,
    started_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz
);
CREATE INDEX sync_runs_connection_idx ON sync_runs (connection_id, resource, id);
