-- Stock is kept per (product, location). Every row there is today moves to `default`, as it is (its
-- `location` label stays on the row: where in that location the product sits). An order's line is
-- held per location it was allocated at, and the ledger says where each movement happened.
ALTER TABLE stock ADD COLUMN location_id text NOT NULL DEFAULT 'default' REFERENCES locations (location_id);
ALTER TABLE stock DROP CONSTRAINT stock_pkey;
ALTER TABLE stock ADD PRIMARY KEY (product_id, location_id);
-- backorders: units promised to orders beyond what is available, within the location's limit
ALTER TABLE stock
  ADD COLUMN backordered integer NOT NULL DEFAULT 0 CHECK (backordered >= 0),
  ADD COLUMN backorder_limit integer NOT NULL DEFAULT 0 CHECK (backorder_limit >= 0),
  ADD CONSTRAINT stock_backorders_within_limit CHECK (backordered <= backorder_limit);

ALTER TABLE reservation_lines ADD COLUMN location_id text NOT NULL DEFAULT 'default';
ALTER TABLE reservation_lines DROP CONSTRAINT reservation_lines_pkey;
ALTER TABLE reservation_lines ADD PRIMARY KEY (order_id, product_id, location_id);

ALTER TABLE stock_ledger ADD COLUMN location_id text NOT NULL DEFAULT 'default';

-- The balance, per (product, location): `reserved` is what the held lines at that location hold.
CREATE OR REPLACE FUNCTION inventory_stock_balances() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  bad text;
BEGIN
  SELECT string_agg(format('%s at %s: reserved %s, held lines hold %s', c.product_id, c.location_id, c.reserved, h.held), '; ')
    INTO bad
    FROM changed_stock c
    CROSS JOIN LATERAL (
      SELECT coalesce(sum(l.quantity - l.fulfilled - l.released), 0) AS held
        FROM reservation_lines l
       WHERE l.product_id = c.product_id AND l.location_id = c.location_id
         AND l.quantity > l.fulfilled + l.released) h
   WHERE c.reserved <> h.held;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'IV409', MESSAGE = 'books out of balance', DETAIL = bad;
  END IF;
  RETURN NULL;
END
$$;
