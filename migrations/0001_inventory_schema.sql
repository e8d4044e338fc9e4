-- Stock per product. The CHECKs are the last line against oversell: whatever the engine
-- believes in memory, PostgreSQL refuses a row that breaks them.
CREATE TABLE stock (
  product_id          text PRIMARY KEY CHECK (length(product_id) BETWEEN 1 AND 200),
  available           integer NOT NULL CHECK (available >= 0),
  reserved            integer NOT NULL CHECK (reserved >= 0),
  on_hand             integer NOT NULL CHECK (on_hand >= 0),
  low_stock_threshold integer NOT NULL DEFAULT 10 CHECK (low_stock_threshold >= 0),
  location            text,
  -- optimistic concurrency: every write says WHERE version = <expected> and bumps it
  version             bigint NOT NULL DEFAULT 1,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT stock_on_hand_balances CHECK (on_hand = available + reserved)
);

CREATE INDEX stock_low_stock_idx ON stock (available, product_id) WHERE available < low_stock_threshold;

-- One row per order id ever seen: the idempotency record for orders.created and
-- orders.cancelled. A cancellation that arrives first leaves 'cancelled_before_create'.
CREATE TABLE reservations (
  order_id       text PRIMARY KEY,
  reservation_id uuid,
  status         text NOT NULL CHECK (status IN ('reserved', 'released', 'rejected', 'cancelled_before_create')),
  -- for 'rejected': the first line that could not be satisfied
  short_product_id text,
  requested_qty    integer,
  available_qty    integer,
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE reservation_lines (
  order_id   text NOT NULL REFERENCES reservations (order_id),
  product_id text NOT NULL,
  quantity   integer NOT NULL CHECK (quantity > 0),
  PRIMARY KEY (order_id, product_id)
);

CREATE INDEX reservation_lines_product_idx ON reservation_lines (product_id);

-- Append-only history of every stock movement.
CREATE TABLE stock_ledger (
  id               bigserial PRIMARY KEY,
  product_id       text NOT NULL,
  movement         text NOT NULL CHECK (movement IN ('initial', 'reserve', 'release', 'adjust')),
  adjustment_type  text,
  quantity         integer NOT NULL,
  available_before integer NOT NULL,
  available_after  integer NOT NULL,
  reserved_before  integer NOT NULL,
  reserved_after   integer NOT NULL,
  reason           text,
  reference_id     text,
  created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX stock_ledger_product_idx ON stock_ledger (product_id, id DESC);

-- Events written in the same transaction as the change behind them; the relay publishes
-- them in id order and deletes what Kafka acknowledged.
CREATE TABLE outbox (
  id         bigserial PRIMARY KEY,
  event_id   uuid NOT NULL UNIQUE,
  event_type text NOT NULL,
  topic      text NOT NULL,
  message_key text NOT NULL,
  payload    text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- HTTP Idempotency-Key records: a retried request returns the stored answer.
CREATE TABLE idempotency_keys (
  idempotency_key text PRIMARY KEY,
  request_hash    text NOT NULL,
  response_status integer NOT NULL,
  response_body   text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now()
);
