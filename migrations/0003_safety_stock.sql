-- Safety stock: a buffer orders never reserve (they take only available - safety_stock, the
-- sellable quantity). Adjustments are not limited by it.
ALTER TABLE stock ADD COLUMN safety_stock integer NOT NULL DEFAULT 0 CHECK (safety_stock >= 0);
