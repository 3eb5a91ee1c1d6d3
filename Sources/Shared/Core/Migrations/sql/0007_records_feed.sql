-- The records feed of the management API (#17): "every change after cursor N", never missing one
-- and never repeating one, even while many transactions write at once.
--
-- A change-sequence value is taken when a row is written, but transactions commit in any order:
-- a reader that saw seq 105 committed while 103 was not yet could move its cursor past 103 for
-- good. So each change also records its transaction id, and the feed orders by (transaction,
-- sequence) and shows only changes of transactions older than every transaction still running
-- (`pg_snapshot_xmin`): no transaction that could still commit can place a change before a
-- cursor already handed out.
ALTER TABLE records ADD COLUMN change_xid xid8 NOT NULL DEFAULT pg_current_xact_id();
DROP INDEX records_feed_idx;
CREATE INDEX records_feed_idx ON records (connection_id, resource, change_xid, change_seq);
