-- Every commit that touches a product updates its stock row. The low-stock index covered `available`,
-- and an update that changes an indexed column cannot be a heap-only (HOT) update: each one wrote a new
-- row version on another page and a new entry in every index of the table. Without it, and with room
-- left in each page, an update stays on its page and writes no index entry. The low-stock route reads
-- the table instead: an operator's report, not the hot path.
DROP INDEX IF EXISTS stock_low_stock_idx;
ALTER TABLE stock SET (fillfactor = 80);
