import type { CommitBatch, LineChange, OrderInsert, OrderUpdate } from "./StockStore.js"

/**
 * The group commit as one SQL statement: every write of the batch in data-modifying CTEs, so it
 * costs one round trip and is atomic on its own. The final SELECT checks the row counts (a stock
 * row whose version moved, an order or idempotency key already recorded, a reservation already
 * released, a product created meanwhile) and aborts the whole statement with SQLSTATE IV409
 * (`inventory_commit_conflict`, migration 0002) when one is off. Rows are locked in product order
 * (the input is sorted and the update follows it), so instances writing the same hot products
 * never deadlock.
 *
 * A recorded order moves on only from what memory believed of it: its status, what its lines still
 * held (as a JSON object of product → quantity, compared whole) and, when given, its due time.
 *
 * Sibling CTEs see one snapshot, not each other's rows, and an UPDATE changes a row once: an order
 * inserted and moved on in the same batch is therefore inserted as it ends up, and several moves of
 * one recorded order are folded into one (see `commitParams`).
 */
/**
 * The one "row count off ⇒ conflict" check: `cte` must have touched `expected` rows, or the statement
 * aborts naming `reason` and, when `missing` says where to look, the keys it did not touch.
 */
const rowCount = (
  cte: string,
  expected: string,
  reason: string,
  missing?: { readonly rows: string; readonly key: string; readonly returned: string },
) => {
  const keys =
    missing === undefined
      ? "NULL"
      : `(SELECT string_agg(d.${missing.key}, ',') FROM json_to_recordset(${missing.rows}::json) AS d(${missing.key} text)
             WHERE d.${missing.key} NOT IN (SELECT ${missing.returned} FROM ${cte}))`
  return `WHEN (SELECT count(*) FROM ${cte}) <> ${expected} THEN inventory_commit_conflict('${reason}', ${keys})`
}

export const commitStatement = `
WITH appeared AS (
  SELECT product_id FROM stock WHERE product_id = ANY($1::text[])
), created AS (
  INSERT INTO stock (product_id, available, reserved, on_hand, low_stock_threshold, location, safety_stock, version)
  SELECT p, a, r, h, t, l, ss, 1 FROM json_to_recordset($2::json) AS d(p text, a int, r int, h int, t int, l text, ss int)
  RETURNING product_id
), updated AS (
  UPDATE stock s
     SET available = s.available + d.a, reserved = s.reserved + d.r, on_hand = s.on_hand + d.h,
         low_stock_threshold = COALESCE(d.t, s.low_stock_threshold),
         location = CASE WHEN d.sl THEN d.l ELSE s.location END,
         safety_stock = COALESCE(d.ss, s.safety_stock),
         version = s.version + 1, updated_at = now()
    FROM json_to_recordset($3::json) AS d(p text, v bigint, a int, r int, h int, t int, sl bool, l text, ss int)
   WHERE s.product_id = d.p AND s.version = d.v
  RETURNING s.product_id, s.version
), orders AS (
  INSERT INTO reservations (order_id, reservation_id, status, short_product_id, requested_qty, available_qty, expires_at)
  SELECT o, rid, s, sp, rq, aq, ex
    FROM json_to_recordset($4::json) AS d(o text, rid uuid, s text, sp text, rq int, aq int, ex timestamptz)
  ON CONFLICT (order_id) DO NOTHING RETURNING order_id
), lines AS (
  INSERT INTO reservation_lines (order_id, product_id, quantity, fulfilled, released)
  SELECT o, p, q, f, r FROM json_to_recordset($5::json) AS d(o text, p text, q int, f int, r int)
), moved AS (
  UPDATE reservations r
     SET status = d.t, expires_at = CASE WHEN d.ce THEN d.ne ELSE r.expires_at END, updated_at = now()
    FROM json_to_recordset($6::json) AS d(o text, f text, t text, ce bool, ee timestamptz, ne timestamptz, h jsonb)
   WHERE r.order_id = d.o AND r.status = d.f AND (NOT d.ce OR r.expires_at IS NOT DISTINCT FROM d.ee)
     AND (SELECT coalesce(jsonb_object_agg(l.product_id, l.quantity - l.fulfilled - l.released), '{}'::jsonb)
            FROM reservation_lines l WHERE l.order_id = r.order_id AND l.quantity > l.fulfilled + l.released) = d.h
  RETURNING r.order_id
), line_moves AS (
  UPDATE reservation_lines l SET fulfilled = l.fulfilled + d.f, released = l.released + d.r
    FROM json_to_recordset($14::json) AS d(o text, p text, f int, r int)
   WHERE l.order_id = d.o AND l.product_id = d.p
  RETURNING l.order_id
), fulfilments AS (
  INSERT INTO fulfillments (order_id, fulfillment_id, outcome)
  SELECT o, i, oc FROM json_to_recordset($15::json) AS d(o text, i text, oc text)
  ON CONFLICT DO NOTHING RETURNING order_id
), ledger AS (
  INSERT INTO stock_ledger (product_id, movement, adjustment_type, quantity, available_before, available_after,
                            reserved_before, reserved_after, reason, reference_id)
  SELECT p, m, t, q, ab, aa, rb, ra, re, rf
    FROM json_to_recordset($7::json) AS d(p text, m text, t text, q int, ab int, aa int, rb int, ra int, re text, rf text)
), outbox AS (
  INSERT INTO outbox (event_id, event_type, topic, message_key, payload)
  SELECT i, t, tp, k, p FROM json_to_recordset($8::json) AS d(i uuid, t text, tp text, k text, p text)
), idempotency AS (
  INSERT INTO idempotency_keys (idempotency_key, request_hash, response_status, response_body)
  SELECT k, h, s, b FROM json_to_recordset($9::json) AS d(k text, h text, s int, b text)
  ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key
)
SELECT CASE
         WHEN EXISTS (SELECT 1 FROM appeared) THEN inventory_commit_conflict('product created elsewhere',
           (SELECT string_agg(product_id, ',') FROM appeared))
         ${rowCount("updated", "$10", "stock version changed", { rows: "$3", key: "p", returned: "product_id" })}
         ${rowCount("orders", "$11", "order already decided elsewhere", { rows: "$4", key: "o", returned: "order_id" })}
         ${rowCount("moved", "$12", "reservation already moved on elsewhere", { rows: "$6", key: "o", returned: "order_id" })}
         ${rowCount("line_moves", "$16", "reservation lines changed elsewhere")}
         ${rowCount("fulfilments", "$17", "fulfilment already decided elsewhere")}
         ${rowCount("idempotency", "$13", "idempotency key already used")}
         ELSE true
       END AS ok,
       (SELECT coalesce(json_agg(json_build_array(product_id, version)), '[]') FROM updated)::text AS versions`

const json = (rows: ReadonlyArray<unknown>) => JSON.stringify(rows)

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())

const sumLines = (changes: ReadonlyArray<LineChange>): Array<LineChange> => {
  const byProduct = new Map<string, LineChange>()
  for (const c of changes) {
    const m = byProduct.get(c.productId)
    byProduct.set(
      c.productId,
      m === undefined ? c : { ...m, fulfilled: m.fulfilled + c.fulfilled, released: m.released + c.released },
    )
  }
  return [...byProduct.values()]
}

/** Several moves of one order in a batch, as one: from the first status to the last, lines summed. */
const foldUpdates = (updates: ReadonlyArray<OrderUpdate>): Map<string, OrderUpdate> => {
  const folded = new Map<string, OrderUpdate>()
  for (const u of updates) {
    const m = folded.get(u.orderId)
    if (m === undefined) {
      folded.set(u.orderId, u)
      continue
    }
    const expiresAt =
      m.expiresAt === undefined
        ? u.expiresAt
        : u.expiresAt === undefined
          ? m.expiresAt
          : { expected: m.expiresAt.expected, next: u.expiresAt.next }
    // from the first move's status and held lines (what the row has now) to the last move's status
    folded.set(u.orderId, {
      ...m,
      to: u.to,
      lines: sumLines([...m.lines, ...u.lines]),
      ...(expiresAt !== undefined ? { expiresAt } : {}),
    })
  }
  return folded
}

/** An order inserted and moved on in the same batch: inserted as it ends up. */
const insertedAs = (o: OrderInsert, update: OrderUpdate | undefined) => {
  const moved = new Map(update?.lines.map((l) => [l.productId, l]))
  return {
    status: update?.to ?? o.status,
    expiresAt: update?.expiresAt !== undefined ? update.expiresAt.next : o.expiresAt,
    lines: o.lines.map((l) => ({
      o: o.orderId,
      p: l.productId,
      q: l.quantity,
      f: moved.get(l.productId)?.fulfilled ?? 0,
      r: moved.get(l.productId)?.released ?? 0,
    })),
  }
}

/** The statement's parameters for a batch whose products are sorted by id. */
export const commitParams = (batch: CommitBatch) => {
  const products = batch.products
  const absent = products.filter((p) => p.expectedVersion === 0 && p.create === undefined)
  const creates = products.filter((p) => p.create !== undefined)
  const updates = products.filter((p) => p.create === undefined && p.expectedVersion > 0)
  const folded = foldUpdates(batch.orderUpdates)
  const inserts = batch.orderInserts.map((o) => ({ o, as: insertedAs(o, folded.get(o.orderId)) }))
  for (const o of batch.orderInserts) folded.delete(o.orderId)
  const moves = [...folded.values()]
  const lineMoves = moves.flatMap((u) =>
    u.lines.map((l) => ({ o: u.orderId, p: l.productId, f: l.fulfilled, r: l.released })),
  )
  return [
    absent.map((p) => p.productId),
    json(
      creates.map((p) => ({
        p: p.productId,
        a: p.delta.available,
        r: p.delta.reserved,
        h: p.delta.onHand,
        t: p.create?.threshold ?? 0,
        l: p.create?.location ?? null,
        ss: p.create?.safetyStock ?? 0,
      })),
    ),
    json(
      updates.map((p) => ({
        p: p.productId,
        v: p.expectedVersion,
        a: p.delta.available,
        r: p.delta.reserved,
        h: p.delta.onHand,
        t: p.threshold ?? null,
        sl: p.location !== undefined,
        l: p.location ?? null,
        ss: p.safetyStock ?? null,
      })),
    ),
    json(
      inserts.map(({ o, as }) => ({
        o: o.orderId,
        rid: o.reservationId,
        s: as.status,
        sp: o.short?.productId ?? null,
        rq: o.short?.requested ?? null,
        aq: o.short?.available ?? null,
        ex: iso(as.expiresAt),
      })),
    ),
    json(inserts.flatMap(({ as }) => as.lines)),
    json(
      moves.map((u) => ({
        o: u.orderId,
        f: u.from,
        t: u.to,
        ce: u.expiresAt !== undefined,
        ee: iso(u.expiresAt?.expected ?? null),
        ne: iso(u.expiresAt?.next ?? null),
        h: Object.fromEntries(u.held.filter((l) => l.quantity > 0).map((l) => [l.productId, l.quantity])),
      })),
    ),
    json(
      batch.ledger.map((r) => ({
        p: r.productId,
        m: r.movement,
        t: r.adjustmentType,
        q: r.quantity,
        ab: r.before.available,
        aa: r.after.available,
        rb: r.before.reserved,
        ra: r.after.reserved,
        re: r.reason,
        rf: r.referenceId,
      })),
    ),
    json(batch.outbox.map((r) => ({ i: r.eventId, t: r.eventType, tp: r.topic, k: r.key, p: r.payload }))),
    json(batch.idempotency.map((r) => ({ k: r.key, h: r.requestHash, s: r.status, b: r.body }))),
    updates.length,
    batch.orderInserts.length,
    moves.length,
    batch.idempotency.length,
    json(lineMoves),
    json(batch.fulfillments.map((f) => ({ o: f.orderId, i: f.fulfillmentId, oc: f.outcome }))),
    lineMoves.length,
    batch.fulfillments.length,
  ] as const
}
