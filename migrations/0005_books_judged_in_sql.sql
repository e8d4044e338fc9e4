-- PostgreSQL judges every effect a commit writes. The commit statement derives its rows from the
-- decisions' intents; these triggers are the safety net under it (and under every other writer):
-- at the end of any statement that changed them, a product's `reserved` equals what its held lines
-- hold, and an order's status agrees with its lines. A difference aborts the statement with the
-- conflict SQLSTATE (IV409), so the writer reloads and decides again; books that do not add up are
-- never committed.

-- A line holds quantity - fulfilled - released; only held lines are indexed (what a product's
-- balance, the who-holds route and the reconciliation read).
DROP INDEX IF EXISTS reservation_lines_product_idx;
CREATE INDEX reservation_lines_held_idx ON reservation_lines (product_id)
  WHERE quantity > fulfilled + released;

-- Each step of an order compares and bumps it: a step decided on an older row is a conflict.
ALTER TABLE reservations ADD COLUMN version bigint NOT NULL DEFAULT 1;

-- Fencing: the epoch of each partition of the order topics, per consumer group, bumped when a member
-- is assigned the partition. A commit carries the epochs its messages were decided under and is
-- refused when one has moved on: an instance that lost a partition (paused past its session) cannot
-- write for it when it wakes.
CREATE TABLE partition_epochs (
  group_id   text NOT NULL,
  partition  integer NOT NULL,
  epoch      bigint NOT NULL,
  owner      text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_id, partition)
);

CREATE FUNCTION inventory_stock_balances() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  bad text;
BEGIN
  SELECT string_agg(format('%s: reserved %s, held lines hold %s', c.product_id, c.reserved, h.held), '; ')
    INTO bad
    FROM changed_stock c
    CROSS JOIN LATERAL (
      SELECT coalesce(sum(l.quantity - l.fulfilled - l.released), 0) AS held
        FROM reservation_lines l
       WHERE l.product_id = c.product_id AND l.quantity > l.fulfilled + l.released) h
   WHERE c.reserved <> h.held;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'IV409', MESSAGE = 'books out of balance', DETAIL = bad;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER stock_balances_after_update AFTER UPDATE ON stock
  REFERENCING NEW TABLE AS changed_stock FOR EACH STATEMENT EXECUTE FUNCTION inventory_stock_balances();
CREATE TRIGGER stock_balances_after_insert AFTER INSERT ON stock
  REFERENCING NEW TABLE AS changed_stock FOR EACH STATEMENT EXECUTE FUNCTION inventory_stock_balances();

-- reserved: nothing shipped or released; partially_fulfilled: some shipped, some held; fulfilled:
-- every unit shipped; released / expired: nothing held; the others have no lines.
CREATE FUNCTION inventory_status_agrees(status text, quantity bigint, shipped bigint, released bigint, held bigint)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE status
    WHEN 'reserved' THEN held > 0 AND shipped = 0 AND released = 0
    WHEN 'partially_fulfilled' THEN held > 0 AND shipped > 0 AND released = 0
    WHEN 'fulfilled' THEN quantity > 0 AND shipped = quantity
    WHEN 'released' THEN held = 0 AND quantity > 0
    WHEN 'expired' THEN held = 0 AND quantity > 0 AND shipped = 0
    ELSE quantity = 0
  END
$$;

CREATE FUNCTION inventory_order_statuses() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  bad text;
BEGIN
  SELECT string_agg(format('%s: %s with %s held, %s shipped, %s released of %s',
                           c.order_id, c.status, t.held, t.shipped, t.released, t.quantity), '; ')
    INTO bad
    FROM changed_orders c
    CROSS JOIN LATERAL (
      SELECT coalesce(sum(l.quantity), 0) AS quantity, coalesce(sum(l.fulfilled), 0) AS shipped,
             coalesce(sum(l.released), 0) AS released,
             coalesce(sum(l.quantity - l.fulfilled - l.released), 0) AS held
        FROM reservation_lines l WHERE l.order_id = c.order_id) t
   WHERE NOT inventory_status_agrees(c.status, t.quantity, t.shipped, t.released, t.held);
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'IV409', MESSAGE = 'order status disagrees with its lines', DETAIL = bad;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER order_statuses_after_update AFTER UPDATE ON reservations
  REFERENCING NEW TABLE AS changed_orders FOR EACH STATEMENT EXECUTE FUNCTION inventory_order_statuses();
CREATE TRIGGER order_statuses_after_insert AFTER INSERT ON reservations
  REFERENCING NEW TABLE AS changed_orders FOR EACH STATEMENT EXECUTE FUNCTION inventory_order_statuses();
