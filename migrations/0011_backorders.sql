-- Backorders: part of a line may be promised rather than reserved. A line holds
-- quantity - fulfilled - released units, of which `backordered` are promised (not taken from stock)
-- and the rest reserved. A location's `backordered` is what its active lines promise there, within
-- its `backorder_limit` (migration 0009).
ALTER TABLE reservation_lines
  ADD COLUMN backordered integer NOT NULL DEFAULT 0,
  ADD CONSTRAINT reservation_lines_backordered_held
    CHECK (backordered >= 0 AND backordered <= quantity - fulfilled - released);

-- the backordered lines at a place (what arriving stock fills, oldest order first), and the places
-- that owe any (what the filler looks at)
CREATE INDEX reservation_lines_backordered_idx ON reservation_lines (product_id, location_id) WHERE backordered > 0;
CREATE INDEX stock_backordered_idx ON stock (product_id, location_id) WHERE backordered > 0;

-- The balance, per (product, location): `reserved` is what the held lines there hold beyond their
-- promises, and `backordered` what they promise.
CREATE OR REPLACE FUNCTION inventory_stock_balances() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  bad text;
BEGIN
  SELECT string_agg(format('%s at %s: reserved %s, backordered %s; held lines reserve %s, promise %s',
                           c.product_id, c.location_id, c.reserved, c.backordered, h.held, h.promised), '; ')
    INTO bad
    FROM changed_stock c
    CROSS JOIN LATERAL (
      SELECT coalesce(sum(l.quantity - l.fulfilled - l.released - l.backordered), 0) AS held,
             coalesce(sum(l.backordered), 0) AS promised
        FROM reservation_lines l
       WHERE l.product_id = c.product_id AND l.location_id = c.location_id
         AND l.quantity > l.fulfilled + l.released) h
   WHERE c.reserved <> h.held OR c.backordered <> h.promised;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'IV409', MESSAGE = 'books out of balance', DETAIL = bad;
  END IF;
  RETURN NULL;
END
$$;
