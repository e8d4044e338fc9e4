-- Units on their way from one location to another: taken off the source's available and on hand
-- when sent (a `transfer_out` ledger row there), added at the destination as they are received
-- (`transfer_in`). In transit: quantity - received.
CREATE TABLE transfers (
  transfer_id      uuid PRIMARY KEY,
  product_id       text NOT NULL,
  from_location_id text NOT NULL REFERENCES locations (location_id),
  to_location_id   text NOT NULL REFERENCES locations (location_id),
  quantity         integer NOT NULL CHECK (quantity > 0),
  received         integer NOT NULL DEFAULT 0 CHECK (received >= 0 AND received <= quantity),
  reference_id     text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT transfers_between_two_places CHECK (from_location_id <> to_location_id)
);
CREATE INDEX transfers_in_transit_idx ON transfers (product_id) WHERE received < quantity;

ALTER TABLE stock_ledger DROP CONSTRAINT stock_ledger_movement_check;
ALTER TABLE stock_ledger ADD CONSTRAINT stock_ledger_movement_check
  CHECK (movement IN ('initial', 'reserve', 'release', 'adjust', 'fulfil', 'transfer_out', 'transfer_in'));
