/**
 * The group commit as one SQL statement (data-modifying CTEs: one round trip, atomic on its own).
 * It takes the decisions' intents and derives every row from them and from the rows as committed:
 * - a line changes only by what it still holds (release: all of it; ship: at most it);
 * - an order's status is computed from what its lines hold afterwards;
 * - a product's stock moves by the sum of its line changes and adjustments, never by a delta from
 *   memory; the level before and after each change (the ledger's figures, a refusal's level, a
 *   low-stock crossing) is the committed level plus the changes before it, in decision order;
 * - a reservation stands only if the product can sell it at that point, a refusal only if it still
 *   cannot, a fulfilment rejection only if the order's lines say what it claims;
 * - the events whose content follows from those rows (released, fulfilled, out of stock, low
 *   stock) are built here from them.
 * Anything that does not hold aborts the whole statement with SQLSTATE IV409
 * (`inventory_commit_conflict`), as do an order already recorded or moved on, a partition epoch
 * that moved on (fencing), and, at the end of the statement, the balance triggers of migration
 * 0005. Memory then reloads and decides again.
 *
 * The stock rows are locked first, in product order, and read as they are then (another writer's
 * commit included): every level is judged on the row as it is, not on the version memory saw, so
 * writers that share products (two instances, the sweeper) do not refuse each other's work. The
 * statement returns each written row, which memory adopts.
 *
 * Each order appears at most once per statement (the committer cuts batches so): one step's rows
 * are judged against the rows its previous step committed.
 */
export const commitStatement = `
WITH prod AS (
  SELECT * FROM json_to_recordset($1::json) AS d(p text, lo text, x bool, c bool, t int, sl bool, l text, ss int, bl int)
), locked AS MATERIALIZED (
  -- one index probe per named row, in key order (a lateral lock: the plan does not depend on statistics)
  SELECT s.* FROM (SELECT p, lo FROM prod ORDER BY p, lo) k
   CROSS JOIN LATERAL (
     SELECT product_id, location_id, available, reserved, on_hand, safety_stock, low_stock_threshold, backordered,
            backorder_limit
       FROM stock WHERE product_id = k.p AND location_id = k.lo FOR UPDATE) s
), stamp AS MATERIALIZED (
  -- the time every row is stamped with, read once the stock rows are locked: one product's rows are
  -- stamped in the order their commits held its lock (a statement that waited is stamped after the
  -- one it waited for, not at its own start), so the ledger's times and ids agree
  SELECT clock_timestamp() AS at FROM (SELECT count(*) FROM locked) l
), step AS (
  SELECT * FROM json_to_recordset($2::json)
    AS d(d int, o text, k text, rid uuid, ex timestamptz, sp text, ls json, rq int, fid text, "to" text, at text, rr text,
         rp text, rl text, rh int)
), item AS (
  SELECT * FROM json_to_recordset($3::json) AS d(d int, i int, p text, lo text, q int, b int)
), chg AS (
  SELECT * FROM json_to_recordset($4::json)
    AS d(d int, i int, p text, lo text, q int, cnt int, eoh int, m text, t text, re text, rf text, tl text)
), ctx AS (
  SELECT * FROM json_to_record($8::json)
    AS d(at text, released text, fulfilled text, low text, oos text, adjusted text, filled text)
), fence AS (
  SELECT * FROM json_to_recordset($7::json) AS d(g text, pt int, e bigint)
), epochs AS (
  SELECT group_id, partition, epoch FROM partition_epochs
   WHERE (group_id, partition) IN (SELECT g, pt FROM fence) FOR SHARE
), base AS (
  -- the committed row of every product the batch names, with what the batch sets on it
  SELECT p.p, p.lo, p.x, p.c, p.t, p.sl, p.l, p.ss AS new_ss, s.product_id IS NOT NULL AS present,
         coalesce(s.available, 0) AS a, coalesce(s.reserved, 0) AS r, coalesce(s.on_hand, 0) AS h,
         coalesce(s.backordered, 0) AS bo, coalesce(p.bl, s.backorder_limit, 0) AS bl,
         coalesce(p.ss, s.safety_stock, 0) AS ss, coalesce(p.t, s.low_stock_threshold, 0) AS th
    FROM prod p LEFT JOIN locked s ON s.product_id = p.p AND s.location_id = p.lo
), cur AS (
  SELECT r.order_id, r.status, r.reservation_id, r.expires_at, r.version, r.created_at,
         r.status IN ('reserved', 'partially_fulfilled') AS held
    FROM reservations r WHERE r.order_id IN (SELECT o FROM step)
), curl AS (
  -- a line holds 'held' units: 'b' of them promised (backordered), 'rs' reserved
  SELECT l.order_id, l.product_id, l.location_id, l.quantity - l.fulfilled - l.released AS held, l.fulfilled,
         l.backordered AS b, l.quantity - l.fulfilled - l.released - l.backordered AS rs
    FROM reservation_lines l
   WHERE l.order_id IN (SELECT o FROM step WHERE k IN ('release', 'expire', 'ship', 'ship_all', 'reject', 'fill'))
), held_now AS (
  SELECT order_id, sum(held) AS held, sum(fulfilled) AS fulfilled FROM curl GROUP BY order_id
), lchg AS (
  -- every line change: stock deltas (da, dr, dh, db: available, reserved, on hand, backordered) and the
  -- line's own (lf fulfilled, lr released, lb backordered given up; dl what it holds)
  SELECT s.d, i.i, s.o, i.p, i.lo, 'reserve'::text AS m, i.q - coalesce(i.b, 0) AS q, coalesce(i.b, 0) - i.q AS da,
         i.q - coalesce(i.b, 0) AS dr, 0 AS dh, coalesce(i.b, 0) AS db, 0 AS lf, 0 AS lr, 0 AS lb, 0 AS dl,
         NULL::text AS re
    FROM step s JOIN item i ON i.d = s.d WHERE s.k = 'reserve'
  UNION ALL
  -- a release gives the reserved units back and drops the promised ones
  SELECT s.d, (row_number() OVER (PARTITION BY s.d ORDER BY l.product_id, l.location_id))::int, s.o, l.product_id,
         l.location_id, 'release', l.rs, l.rs, -l.rs, 0, -l.b, 0, l.held, l.b, -l.held,
         CASE WHEN s.k = 'expire' THEN 'expired' END
    FROM step s JOIN cur c ON c.order_id = s.o AND c.held JOIN curl l ON l.order_id = s.o AND l.held > 0
   WHERE s.k IN ('release', 'expire')
  UNION ALL
  SELECT s.d, i.i, s.o, i.p, i.lo, 'fulfil', i.q, 0, -i.q, -i.q, 0, i.q, 0, 0, -i.q, s.fid
    FROM step s JOIN item i ON i.d = s.d WHERE s.k = 'ship'
  UNION ALL
  SELECT s.d, (row_number() OVER (PARTITION BY s.d ORDER BY l.product_id, l.location_id))::int, s.o, l.product_id,
         l.location_id, 'fulfil', l.rs, 0, -l.rs, -l.rs, 0, l.rs, 0, 0, -l.rs, s.fid
    FROM step s JOIN cur c ON c.order_id = s.o AND c.held JOIN curl l ON l.order_id = s.o AND l.rs > 0
   WHERE s.k = 'ship_all'
  UNION ALL
  -- a backorder filled: promised units become reserved ones
  SELECT s.d, i.i, s.o, i.p, i.lo, 'fill', i.q, -i.q, i.q, 0, -i.q, 0, 0, i.q, 0, 'backorder filled'
    FROM step s JOIN item i ON i.d = s.d WHERE s.k = 'fill'
), corrected AS (
  -- a repair's target: what the held lines of active reservations reserve and promise there now
  SELECT c.d, c.i, c.p, c.lo, c.re, b.a, b.r, b.h, b.bo, x.held, x.promised
    FROM chg c JOIN base b ON b.p = c.p AND b.lo = c.lo
   CROSS JOIN LATERAL (
     SELECT coalesce(sum(l.quantity - l.fulfilled - l.released - l.backordered), 0)::int AS held,
            coalesce(sum(l.backordered), 0)::int AS promised
       FROM reservation_lines l JOIN reservations r ON r.order_id = l.order_id
      WHERE l.product_id = c.p AND l.location_id = c.lo AND l.quantity > l.fulfilled + l.released
        AND r.status IN ('reserved', 'partially_fulfilled')) x
   WHERE c.m = 'correct'
), step_lines AS (
  SELECT d, sum(dl) AS dl, sum(dh) AS dh,
         json_agg(CASE WHEN db < 0 AND m = 'release'
                       THEN json_build_object('product_id', p, 'quantity', q, 'location_id', lo, 'backordered', -db)
                       ELSE json_build_object('product_id', p, 'quantity', q, 'location_id', lo) END ORDER BY i) AS items
    FROM lchg GROUP BY d
), stream AS (
  -- per product, in decision order: its committed row (the opening), every change, and every refusal
  -- (a probe of the level at its point); the levels before and after each come from one window
  SELECT -1 AS d, 0 AS i, p, lo, 'open' AS m, 0 AS q, a AS da, r AS dr, h AS dh, bo AS db, NULL::text AS re,
         NULL::text AS rf, NULL::text AS t, NULL::int AS cnt, NULL::int AS eoh, ss, th, bl
    FROM base
  UNION ALL
  SELECT d, i, p, lo, m, q, da, dr, dh, db, re, o, NULL, NULL, NULL, NULL, NULL, NULL FROM lchg
  UNION ALL
  SELECT d, 100000 + i, p, lo, m, q, q, 0, q, 0, re, rf, t, cnt, eoh, NULL, NULL, NULL FROM chg WHERE m <> 'correct'
  UNION ALL
  SELECT d, 100000 + i, p, lo, 'correct', greatest(h, held) - h, greatest(h, held) - held - a, held - r,
         greatest(h, held) - h, promised - bo, re, NULL, 'correction', NULL, NULL, NULL, NULL, NULL
    FROM corrected
  UNION ALL
  -- a refusal probes the product's level at each of its candidate locations
  SELECT s.d, 0, s.sp, c.lo, 'refuse', s.rq, 0, 0, 0, 0, NULL, s.o, NULL, NULL, NULL, NULL, NULL, NULL
    FROM step s CROSS JOIN LATERAL json_array_elements_text(s.ls) AS c(lo) WHERE s.k = 'refuse'
), lv AS (
  SELECT c.*, sum(c.da) OVER w AS ab, sum(c.dr) OVER w AS rb, sum(c.dh) OVER w AS hb, sum(c.db) OVER w AS bb,
         max(c.ss) OVER k AS sso, max(c.th) OVER k AS tho, max(c.bl) OVER k AS blo, bool_or(c.m = 'open') OVER k AS named
    FROM stream c
  WINDOW k AS (PARTITION BY c.p, c.lo),
         w AS (PARTITION BY c.p, c.lo ORDER BY c.d, c.i ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
), change AS (
  SELECT * FROM lv WHERE m NOT IN ('open', 'refuse')
), refusal AS (
  -- what the order could have had of the product: the units sellable over its candidates (beyond
  -- what is owed to backorders there), and the backorders they could still promise. Its probes carry
  -- the step (rf the order, q what it asked for): no join back to the steps. A refusal always names a
  -- location (an unknown pin included); one that named none would have no probe, stand nowhere, and
  -- fail the statement's count of recorded orders
  SELECT d, max(rf) AS o, max(p) AS sp, max(q) AS rq, sum(greatest(0, ab - sso - bb))::int AS aq,
         sum(greatest(0, blo - bb))::int AS room
    FROM lv WHERE m = 'refuse' GROUP BY d
), tot AS (
  -- a repair keeps the limit at least at what the lines promise (it cannot drop promises)
  SELECT b.p, b.lo, b.x, b.c, b.t, b.sl, b.l, b.new_ss, b.bo, coalesce(x.da, 0) AS da,
         coalesce(x.dr, 0) AS dr, coalesce(x.dh, 0) AS dh, coalesce(x.db, 0) AS db,
         CASE WHEN EXISTS (SELECT 1 FROM corrected c WHERE c.p = b.p AND c.lo = b.lo)
              THEN greatest(b.bl, b.bo + coalesce(x.db, 0)) ELSE b.bl END AS bl
    FROM base b
    LEFT JOIN (SELECT p, lo, sum(da)::int AS da, sum(dr)::int AS dr, sum(dh)::int AS dh, sum(db)::int AS db
                 FROM change GROUP BY p, lo) x
      ON x.p = b.p AND x.lo = b.lo
), moves AS (
  SELECT s.d, s.o, s.k, s."to", s.ex, c.version,
         CASE WHEN s.k IN ('extend', 'fill') THEN c.status
              WHEN t.held > 0 THEN CASE WHEN t.shipped > 0 THEN 'partially_fulfilled' ELSE 'reserved' END
              WHEN s.k = 'expire' THEN 'expired' WHEN s.k = 'release' THEN 'released' ELSE 'fulfilled' END AS status
    FROM step s JOIN cur c ON c.order_id = s.o
    LEFT JOIN held_now h ON h.order_id = s.o LEFT JOIN step_lines sl ON sl.d = s.d
    CROSS JOIN LATERAL (SELECT coalesce(h.held, 0) + coalesce(sl.dl, 0) AS held,
                               coalesce(h.fulfilled, 0) - coalesce(sl.dh, 0) AS shipped) t
   WHERE s.k IN ('release', 'expire', 'ship', 'ship_all', 'extend', 'fill')
), bad AS (
  SELECT 'order not held as decided' AS reason, s.o AS key FROM step s LEFT JOIN cur c ON c.order_id = s.o
   WHERE (s.k IN ('release', 'ship', 'ship_all', 'extend', 'fill') AND c.held IS NOT TRUE)
      OR (s.k = 'expire' AND (c.status IS DISTINCT FROM 'reserved' OR c.expires_at IS NULL OR c.expires_at > now()
                              OR EXISTS (SELECT 1 FROM curl l WHERE l.order_id = s.o AND l.b > 0)))
  UNION ALL
  SELECT 'line holds less than shipped', s.o FROM step s JOIN item i ON i.d = s.d
    LEFT JOIN curl l ON l.order_id = s.o AND l.product_id = i.p AND l.location_id = i.lo
   WHERE s.k = 'ship' AND coalesce(l.rs, 0) < i.q
  UNION ALL
  SELECT 'backordered units shipped', s.o FROM step s JOIN curl l ON l.order_id = s.o WHERE s.k = 'ship_all' AND l.b > 0
  UNION ALL
  SELECT 'status not as decided', m.o FROM moves m WHERE m."to" IS NOT NULL AND m."to" <> m.status
  UNION ALL
  SELECT 'fulfilment rejection no longer stands', s.o FROM step s
    LEFT JOIN held_now h ON h.order_id = s.o
    LEFT JOIN LATERAL (SELECT sum(c.held) AS held, sum(c.rs) AS rs FROM curl c
                        WHERE c.order_id = s.o AND c.product_id = s.rp AND (s.rl IS NULL OR c.location_id = s.rl)) l ON true
   WHERE s.k = 'reject' AND NOT CASE s.rr
     WHEN 'not_reserved' THEN coalesce(h.held, 0) = 0
     WHEN 'unknown_line' THEN coalesce(h.held, 0) > 0 AND coalesce(l.held, 0) = 0
     WHEN 'exceeds_held' THEN l.held > 0 AND l.held = s.rh AND s.rh < s.rq
     WHEN 'backordered' THEN l.held >= s.rq AND l.rs = s.rh AND s.rh < s.rq
     ELSE false END
  UNION ALL
  SELECT 'refusal no longer stands', r.o FROM refusal r WHERE r.aq + r.room >= r.rq
  UNION ALL
  -- an order takes only what is sellable beyond the backorders owed there; a fill, what is sellable
  SELECT 'not sellable', c.p FROM change c
   WHERE (c.m = 'reserve' AND c.q > 0 AND c.ab - c.q < c.sso + c.bb) OR (c.m = 'fill' AND c.ab - c.q < c.sso)
  UNION ALL
  SELECT 'backordered while sellable', c.p FROM change c WHERE c.m = 'reserve' AND c.db > 0 AND c.ab - c.q > c.sso + c.bb
  UNION ALL
  SELECT 'backorders over limit', t.p || '@' || t.lo FROM tot t WHERE t.bo + t.db > t.bl
  UNION ALL
  -- arriving stock fills the oldest order's backorders first (orders released in this batch aside)
  SELECT 'backorder filled out of turn', s.o || ' before ' || w.order_id
    FROM step s JOIN item i ON i.d = s.d JOIN cur c ON c.order_id = s.o
   CROSS JOIN LATERAL (
     SELECT l.order_id FROM reservation_lines l JOIN reservations r ON r.order_id = l.order_id
      WHERE l.product_id = i.p AND l.location_id = i.lo AND l.backordered > 0
        AND r.status IN ('reserved', 'partially_fulfilled') AND (r.created_at, r.order_id) < (c.created_at, c.order_id)
        AND l.order_id NOT IN (SELECT o FROM step WHERE k IN ('release', 'expire'))
        AND l.backordered > coalesce((SELECT sum(f.q) FROM step t JOIN item f ON f.d = t.d
                                       WHERE t.k = 'fill' AND t.o = l.order_id AND f.p = i.p AND f.lo = i.lo), 0)
      LIMIT 1) w
   WHERE s.k = 'fill'
  UNION ALL
  SELECT 'not available', c.p FROM change c WHERE c.ab + c.da < 0 OR c.rb + c.dr < 0
  UNION ALL
  SELECT 'on hand moved', c.p FROM change c
   WHERE (c.cnt IS NOT NULL AND c.hb + c.dh <> c.cnt) OR (c.eoh IS NOT NULL AND c.hb <> c.eoh)
  UNION ALL
  SELECT 'product not named', c.p || '@' || c.lo FROM lv c WHERE NOT c.named
  UNION ALL
  SELECT 'product created elsewhere', b.p || '@' || b.lo FROM base b WHERE NOT b.x AND b.present
  UNION ALL
  SELECT 'partition fenced', f.g || '/' || f.pt FROM fence f
    LEFT JOIN epochs e ON e.group_id = f.g AND e.partition = f.pt WHERE e.epoch IS DISTINCT FROM f.e
), created AS (
  INSERT INTO stock (product_id, location_id, available, reserved, on_hand, backordered, low_stock_threshold, location,
                     safety_stock, backorder_limit, version, created_at, updated_at)
  SELECT p, lo, da, dr, dh, db, coalesce(t, 0), l, coalesce(new_ss, 0), bl, 1, stamp.at, stamp.at
    FROM tot CROSS JOIN stamp WHERE c
  ON CONFLICT (product_id, location_id) DO NOTHING
  RETURNING product_id, location_id, version, available, reserved, on_hand, backordered
), updated AS (
  UPDATE stock s
     SET available = s.available + t.da, reserved = s.reserved + t.dr, on_hand = s.on_hand + t.dh,
         backordered = s.backordered + t.db, backorder_limit = t.bl,
         low_stock_threshold = coalesce(t.t, s.low_stock_threshold),
         location = CASE WHEN t.sl THEN t.l ELSE s.location END, safety_stock = coalesce(t.new_ss, s.safety_stock),
         version = s.version + 1, updated_at = (SELECT at FROM stamp)
    FROM tot t
   WHERE s.product_id = t.p AND s.location_id = t.lo AND NOT t.c AND t.x
  RETURNING s.product_id, s.location_id, s.version, s.available, s.reserved, s.on_hand, s.backordered
), inserted AS (
  INSERT INTO reservations (order_id, reservation_id, status, short_product_id, requested_qty, available_qty, expires_at,
                            created_at, updated_at)
  SELECT x.*, stamp.at, stamp.at FROM (
    SELECT o, rid, CASE k WHEN 'reserve' THEN 'reserved' ELSE 'cancelled_before_create' END, NULL, NULL::int, NULL::int, ex
      FROM step WHERE k IN ('reserve', 'cancel_first')
    UNION ALL
    SELECT o, NULL, 'rejected', sp, rq, aq, NULL FROM refusal
  ) x CROSS JOIN stamp
  ON CONFLICT (order_id) DO NOTHING RETURNING order_id
), new_lines AS (
  INSERT INTO reservation_lines (order_id, product_id, location_id, quantity, backordered)
  SELECT s.o, i.p, i.lo, i.q, coalesce(i.b, 0) FROM step s JOIN item i ON i.d = s.d WHERE s.k = 'reserve'
), line_moves AS (
  UPDATE reservation_lines l
     SET fulfilled = l.fulfilled + x.lf, released = l.released + x.lr, backordered = l.backordered - x.lb
    FROM lchg x
   WHERE x.m <> 'reserve' AND l.order_id = x.o AND l.product_id = x.p AND l.location_id = x.lo
     AND l.quantity - l.fulfilled - l.released - l.backordered >= x.lf AND l.backordered >= x.lb
  RETURNING 1
), moved AS (
  UPDATE reservations r
     SET status = m.status,
         expires_at = CASE WHEN m.k = 'extend' THEN m.ex WHEN m.k = 'fill' THEN coalesce(m.ex, r.expires_at) ELSE r.expires_at END,
         version = r.version + 1, updated_at = (SELECT at FROM stamp)
    FROM moves m WHERE r.order_id = m.o AND r.version = m.version
  RETURNING 1
), fulfilments AS (
  INSERT INTO fulfillments (order_id, fulfillment_id, outcome, created_at)
  SELECT o, fid, CASE WHEN k = 'reject' THEN 'rejected' ELSE 'fulfilled' END, stamp.at
    FROM step CROSS JOIN stamp WHERE k IN ('ship', 'ship_all', 'reject')
  ON CONFLICT DO NOTHING RETURNING 1
), ledger AS (
  INSERT INTO stock_ledger (product_id, location_id, movement, adjustment_type, quantity, available_before,
                            available_after, reserved_before, reserved_after, reason, reference_id, created_at)
  SELECT p, lo, CASE m WHEN 'correct' THEN 'adjust' WHEN 'fill' THEN 'reserve' ELSE m END, t, q, ab, ab + da, rb,
         rb + dr, re, rf, stamp.at
    FROM change CROSS JOIN stamp
   -- a promise alone moves no stock: no ledger row
   WHERE NOT (m IN ('reserve', 'release') AND da = 0 AND dr = 0 AND dh = 0) ORDER BY d, i
), derived_events AS (
  SELECT s.d, 0 AS i, 'inventory.released' AS t, ctx.released AS tp, s.o AS k,
         json_build_object('reservation_id', c.reservation_id, 'order_id', s.o, 'items', sl.items,
           'reason', CASE WHEN s.k = 'expire' THEN 'expired' ELSE 'cancelled' END, 'released_at', ctx.at)::text AS p
    FROM step s JOIN cur c ON c.order_id = s.o JOIN step_lines sl ON sl.d = s.d CROSS JOIN ctx
   WHERE s.k IN ('release', 'expire')
  UNION ALL
  SELECT s.d, 0, 'inventory.fulfilled', ctx.fulfilled, s.o,
         json_build_object('reservation_id', c.reservation_id, 'order_id', s.o, 'fulfillment_id', s.fid,
           'items', sl.items, 'remaining', coalesce(r.items, '[]'), 'fulfilled_at', s.at)::text
    FROM step s JOIN cur c ON c.order_id = s.o JOIN step_lines sl ON sl.d = s.d CROSS JOIN ctx
    LEFT JOIN (
      SELECT s.d, json_agg(json_build_object('product_id', l.product_id, 'quantity', l.held - coalesce(x.q, 0),
                                             'location_id', l.location_id) ORDER BY l.product_id, l.location_id) AS items
        FROM step s JOIN curl l ON l.order_id = s.o
        LEFT JOIN lchg x ON x.d = s.d AND x.p = l.product_id AND x.lo = l.location_id
       WHERE s.k IN ('ship', 'ship_all') AND l.held - coalesce(x.q, 0) > 0
       GROUP BY s.d) r ON r.d = s.d
   WHERE s.k IN ('ship', 'ship_all')
  UNION ALL
  SELECT s.d, 0, 'inventory.backorder_filled', ctx.filled, s.o,
         json_build_object('order_id', s.o, 'reservation_id', c.reservation_id, 'items', sl.items,
           'timestamp', ctx.at)::text
    FROM step s JOIN cur c ON c.order_id = s.o JOIN step_lines sl ON sl.d = s.d CROSS JOIN ctx
   WHERE s.k = 'fill'
  UNION ALL
  SELECT r.d, 0, 'inventory.out_of_stock', ctx.oos, r.o,
         json_build_object('order_id', r.o, 'product_id', r.sp, 'requested_qty', r.rq, 'available_qty', r.aq,
           'timestamp', ctx.at)::text
    FROM refusal r CROSS JOIN ctx
  UNION ALL
  SELECT c.d, 1000 + c.i, 'inventory.adjusted', ctx.adjusted, c.p,
         json_build_object('product_id', c.p, 'location_id', c.lo, 'adjustment_type', 'correction', 'quantity', c.q,
           'reason', 'reconciliation', 'timestamp', ctx.at)::text
    FROM change c CROSS JOIN ctx WHERE c.m = 'correct'
  UNION ALL
  SELECT c.d, 1000 + c.i, 'inventory.low_stock', ctx.low, c.p,
         json_build_object('product_id', c.p, 'location_id', c.lo, 'available', c.ab + c.da, 'low_stock_threshold', c.tho,
           'timestamp', ctx.at)::text
    FROM change c CROSS JOIN ctx WHERE c.ab >= c.tho AND c.ab + c.da < c.tho
), outbox AS (
  INSERT INTO outbox (event_id, event_type, topic, message_key, payload)
  SELECT id, t, tp, k, p FROM (
    SELECT d, i, id, t, tp, k, p FROM json_to_recordset($5::json) AS e(d int, i int, id uuid, t text, tp text, k text, p text)
    UNION ALL
    SELECT d, i, gen_random_uuid(), t, tp, k, p FROM derived_events) e
   ORDER BY d, i
), sent AS (
  -- a transfer's units leave the source: recorded as in transit
  INSERT INTO transfers (transfer_id, product_id, from_location_id, to_location_id, quantity, reference_id,
                         created_at, updated_at)
  SELECT rf::uuid, p, lo, tl, -q, re, stamp.at, stamp.at FROM chg CROSS JOIN stamp WHERE m = 'transfer_out'
  ON CONFLICT (transfer_id) DO NOTHING RETURNING 1
), received AS (
  -- and arrive: no more than is still in transit
  UPDATE transfers t SET received = t.received + c.q, updated_at = (SELECT at FROM stamp)
    FROM chg c
   WHERE c.m = 'transfer_in' AND t.transfer_id = c.rf::uuid AND t.product_id = c.p AND t.to_location_id = c.lo
     AND t.quantity - t.received >= c.q
  RETURNING 1
), idempotency AS (
  INSERT INTO idempotency_keys (idempotency_key, request_hash, response_status, response_body)
  SELECT k, h, s, b FROM json_to_recordset($6::json) AS d(k text, h text, s int, b text)
  ON CONFLICT (idempotency_key) DO NOTHING RETURNING 1
)
SELECT CASE
         WHEN EXISTS (SELECT 1 FROM bad) THEN inventory_commit_conflict(
           (SELECT reason FROM bad ORDER BY reason = 'partition fenced' DESC, reason LIMIT 1),
           (SELECT string_agg(DISTINCT key, ',') FROM bad))
         WHEN (SELECT count(*) FROM created) <> (SELECT count(*) FROM prod WHERE c)
           THEN inventory_commit_conflict('product created elsewhere', NULL)
         WHEN (SELECT count(*) FROM updated) <> (SELECT count(*) FROM prod WHERE NOT c AND x)
           THEN inventory_commit_conflict('stock row missing',
             (SELECT string_agg(p || '@' || lo, ',') FROM prod
               WHERE NOT c AND x AND (p, lo) NOT IN (SELECT product_id, location_id FROM updated)))
         WHEN (SELECT count(*) FROM inserted) <> (SELECT count(*) FROM step WHERE k IN ('reserve', 'refuse', 'cancel_first'))
           THEN inventory_commit_conflict('order already decided elsewhere', NULL)
         WHEN (SELECT count(*) FROM moved) <> (SELECT count(*) FROM moves)
           THEN inventory_commit_conflict('order moved on elsewhere', NULL)
         WHEN (SELECT count(*) FROM line_moves) <> (SELECT count(*) FROM lchg WHERE m <> 'reserve')
           THEN inventory_commit_conflict('reservation lines changed elsewhere', NULL)
         WHEN (SELECT count(*) FROM fulfilments) <> (SELECT count(*) FROM step WHERE k IN ('ship', 'ship_all', 'reject'))
           THEN inventory_commit_conflict('fulfilment already decided elsewhere', NULL)
         WHEN (SELECT count(*) FROM sent) <> (SELECT count(*) FROM chg WHERE m = 'transfer_out')
           THEN inventory_commit_conflict('transfer already recorded', NULL)
         WHEN (SELECT count(*) FROM received) <> (SELECT count(*) FROM chg WHERE m = 'transfer_in')
           THEN inventory_commit_conflict('transfer no longer in transit as decided', NULL)
         WHEN (SELECT count(*) FROM idempotency) <> json_array_length($6::json)
           THEN inventory_commit_conflict('idempotency key already used', NULL)
         ELSE true
       END AS ok,
       (SELECT coalesce(json_agg(json_build_array(product_id, location_id, version, available, reserved, on_hand,
                                                  backordered)), '[]')
          FROM (SELECT * FROM created UNION ALL SELECT * FROM updated) w)::text AS rows`
