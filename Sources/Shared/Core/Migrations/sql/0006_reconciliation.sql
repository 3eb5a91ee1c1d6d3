-- Reconciliation (#16): a full walk in `reconcile` mode stamps every object it sees with its
-- generation; only a walk that completes soft-deletes the records it did not see.
ALTER TABLE records ADD COLUMN seen_generation bigint;
ALTER TABLE sync_runs DROP CONSTRAINT sync_runs_mode_check;
ALTER TABLE sync_runs ADD CONSTRAINT sync_runs_mode_check CHECK (mode IN ('full', 'incremental', 'reconcile'));
