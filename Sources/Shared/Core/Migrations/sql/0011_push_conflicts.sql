-- Pushes to providers, second part (#18): conflicts. A connection's policy decides who wins when
-- the provider's object changed since the version a push was made against (Square's `version`,
-- QuickBooks's `SyncToken`): `last_write_wins` (the later change, by the provider's update time
-- and the push's creation), `provider_wins` or `platform_wins`. A push the provider's version won
-- ends `superseded`; every conflict is kept on its push with both versions. A push may also be a
-- `batch` of many objects in one call (Mailchimp's batch subscribe).
ALTER TABLE connections ADD COLUMN conflict_policy text NOT NULL DEFAULT 'last_write_wins'
    CHECK (conflict_policy IN ('last_write_wins', 'provider_wins', 'platform_wins'));
ALTER TABLE pushes ADD COLUMN conflict jsonb;
ALTER TABLE pushes DROP CONSTRAINT pushes_status_check;
ALTER TABLE pushes ADD CONSTRAINT pushes_status_check CHECK (status IN ('pending', 'delivered', 'failed', 'superseded'));
ALTER TABLE pushes DROP CONSTRAINT pushes_operation_check;
ALTER TABLE pushes ADD CONSTRAINT pushes_operation_check CHECK (operation IN ('create', 'update', 'batch'));
-- The last conflict a push met on a record, shown with it in the records feed.
ALTER TABLE records ADD COLUMN last_conflict jsonb;
