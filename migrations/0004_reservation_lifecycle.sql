-- The reservation lifecycle: fulfilment (stock leaves the building), expiry and extension.
-- A line's held quantity is quantity - fulfilled - released; an active reservation (reserved or
-- partially_fulfilled) holds it, and `stock.reserved` is the sum of what active reservations hold.
ALTER TABLE reservations DROP CONSTRAINT reservations_status_check;
ALTER TABLE reservations ADD CONSTRAINT reservations_status_check CHECK (status IN
  ('reserved', 'partially_fulfilled', 'fulfilled', 'released', 'expired', 'rejected', 'cancelled_before_create'));
-- when a reservation with nothing fulfilled is released by itself (NULL: never)
ALTER TABLE reservations ADD COLUMN expires_at timestamptz;
-- the sweeper reads due reservations by this index only: no scan of the table per tick
CREATE INDEX reservations_due_idx ON reservations (expires_at) WHERE status = 'reserved' AND expires_at IS NOT NULL;

ALTER TABLE reservation_lines
  ADD COLUMN fulfilled integer NOT NULL DEFAULT 0 CHECK (fulfilled >= 0),
  ADD COLUMN released integer NOT NULL DEFAULT 0 CHECK (released >= 0),
  ADD CONSTRAINT reservation_lines_within_quantity CHECK (fulfilled + released <= quantity);
UPDATE reservation_lines SET released = quantity
 WHERE order_id IN (SELECT order_id FROM reservations WHERE status = 'released');

ALTER TABLE stock_ledger DROP CONSTRAINT stock_ledger_movement_check;
ALTER TABLE stock_ledger ADD CONSTRAINT stock_ledger_movement_check
  CHECK (movement IN ('initial', 'reserve', 'release', 'adjust', 'fulfil'));

-- One row per (order, fulfilment) ever decided, applied or rejected: a redelivery changes nothing.
CREATE TABLE fulfillments (
  order_id       text NOT NULL,
  fulfillment_id text NOT NULL,
  outcome        text NOT NULL CHECK (outcome IN ('fulfilled', 'rejected')),
  created_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (order_id, fulfillment_id)
);
