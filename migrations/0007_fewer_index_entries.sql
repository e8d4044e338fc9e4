-- Every order writes a ledger row per line and an outbox row per event; each index on those tables is
-- one more entry written (and logged) per row. These two are read by nothing:
-- - the ledger is read by product, newest first (`as_of`, the adjustments route, the replay), through
--   stock_ledger_product_idx; its id comes from a sequence and is unique without an index of its own;
-- - the outbox is read in id order and deleted by id; event ids are random UUIDs made once per event.
ALTER TABLE stock_ledger DROP CONSTRAINT IF EXISTS stock_ledger_pkey;
ALTER TABLE outbox DROP CONSTRAINT IF EXISTS outbox_event_id_key;
