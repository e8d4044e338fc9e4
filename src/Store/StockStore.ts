import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Data, Effect } from "effect"
import type { OrderId, ProductId } from "../Domain/Ids.js"
import type { StockLevel } from "../Domain/Stock.js"

export interface StockRow extends StockLevel {
  readonly productId: ProductId
  readonly threshold: number
  readonly location: string | null
  readonly version: number
}

export type OrderStatus = "reserved" | "released" | "rejected" | "cancelled_before_create"

export interface Line {
  readonly productId: ProductId
  readonly quantity: number
}

export interface KnownOrder {
  readonly status: OrderStatus
  readonly reservationId: string | null
  readonly lines: ReadonlyArray<Line>
}

/** One product's net change in a commit, written only if the row still has `expectedVersion` (0 = absent). */
export interface ProductWrite {
  readonly productId: ProductId
  readonly expectedVersion: number
  readonly delta: StockLevel
  readonly create?: { readonly threshold: number; readonly location: string | null }
  readonly threshold?: number
  readonly location?: string | null
}

export interface OrderInsert {
  readonly orderId: OrderId
  readonly status: Exclude<OrderStatus, "released">
  readonly reservationId: string | null
  readonly lines: ReadonlyArray<Line>
  readonly short?: { readonly productId: ProductId; readonly requested: number; readonly available: number }
}

export interface LedgerRow {
  readonly productId: ProductId
  readonly movement: "initial" | "reserve" | "release" | "adjust"
  readonly adjustmentType: string | null
  readonly quantity: number
  readonly before: StockLevel
  readonly after: StockLevel
  readonly reason: string | null
  readonly referenceId: string | null
}

export interface OutboxRow {
  readonly eventId: string
  readonly eventType: string
  readonly topic: string
  readonly key: string
  readonly payload: string
}

export interface IdempotencyRow {
  readonly key: string
  readonly requestHash: string
  readonly status: number
  readonly body: string
}

export interface CommitBatch {
  readonly products: ReadonlyArray<ProductWrite>
  readonly orderInserts: ReadonlyArray<OrderInsert>
  readonly orderReleases: ReadonlyArray<OrderId>
  readonly ledger: ReadonlyArray<LedgerRow>
  readonly outbox: ReadonlyArray<OutboxRow>
  readonly idempotency: ReadonlyArray<IdempotencyRow>
}

/** Someone else changed what this batch was decided against: reload and decide again. */
export class CommitConflict extends Data.TaggedError("CommitConflict")<{
  readonly reason: string
  readonly productIds: ReadonlyArray<string>
}> {}

type Param = string | number | boolean | null | ReadonlyArray<string | number | boolean | null>

const rowToStock = (r: {
  product_id: string
  available: number
  reserved: number
  on_hand: number
  low_stock_threshold: number
  location: string | null
  version: string | number
}): StockRow => ({
  productId: r.product_id as ProductId,
  available: r.available,
  reserved: r.reserved,
  onHand: r.on_hand,
  threshold: r.low_stock_threshold,
  location: r.location,
  version: Number(r.version),
})

/** The engine's view of PostgreSQL: batched loads and one set-based transaction per commit. */
export class StockStore extends Effect.Service<StockStore>()("StockStore", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const q = <A extends object>(text: string, params: ReadonlyArray<Param>) =>
      sql.unsafe<A>(text, params as never) as Effect.Effect<ReadonlyArray<A>, SqlError>

    const loadStock = Effect.fn("StockStore.loadStock")(function* (ids: ReadonlyArray<ProductId>) {
      if (ids.length === 0) return []
      const rows = yield* q<Parameters<typeof rowToStock>[0]>(
        `SELECT product_id, available, reserved, on_hand, low_stock_threshold, location, version
           FROM stock WHERE product_id = ANY($1::text[])`,
        [ids],
      )
      return rows.map(rowToStock)
    })

    const loadOrders = Effect.fn("StockStore.loadOrders")(function* (ids: ReadonlyArray<OrderId>) {
      const known = new Map<OrderId, KnownOrder>()
      if (ids.length === 0) return known
      // Two plain lookups: a correlated subquery per order made this ~8× slower (seen under load).
      const rows = yield* q<{ order_id: string; status: OrderStatus; reservation_id: string | null }>(
        `SELECT order_id, status, reservation_id FROM reservations WHERE order_id = ANY($1::text[])`,
        [ids],
      )
      // only what an order still holds matters (a cancellation releases it)
      const held = rows.filter((r) => r.status === "reserved").map((r) => r.order_id)
      const lines = new Map<string, Array<Line>>()
      if (held.length > 0) {
        const lineRows = yield* q<{ order_id: string; product_id: string; quantity: number }>(
          `SELECT order_id, product_id, quantity FROM reservation_lines
            WHERE order_id = ANY($1::text[]) ORDER BY order_id, product_id`,
          [held],
        )
        for (const l of lineRows) {
          const list = lines.get(l.order_id) ?? []
          list.push({ productId: l.product_id as ProductId, quantity: l.quantity })
          lines.set(l.order_id, list)
        }
      }
      for (const r of rows) {
        known.set(r.order_id as OrderId, {
          status: r.status,
          reservationId: r.reservation_id,
          lines: lines.get(r.order_id) ?? [],
        })
      }
      return known
    })

    // Bulk rows travel as one JSON document per statement: JSON.stringify is native and fast,
    // where pg's array literals escape every element in JavaScript.
    const rowsOf = <A extends object>(text: string, rows: ReadonlyArray<unknown>) =>
      rows.length === 0 ? Effect.succeed([] as ReadonlyArray<A>) : q<A>(text, [JSON.stringify(rows)])

    const commit = (batch: CommitBatch): Effect.Effect<Map<ProductId, number>, CommitConflict | SqlError> =>
      sql.withTransaction(
        Effect.gen(function* () {
          const versions = new Map<ProductId, number>()
          // Sorted: rows are locked in product order (the nested loop follows the input), so
          // instances writing the same hot products never deadlock.
          const products = [...batch.products].sort((a, b) => (a.productId < b.productId ? -1 : 1))
          const absent = products.filter((p) => p.expectedVersion === 0 && p.create === undefined)
          if (absent.length > 0) {
            const appeared = yield* q<{ product_id: string }>(
              `SELECT product_id FROM stock WHERE product_id = ANY($1::text[])`,
              [absent.map((p) => p.productId)],
            )
            if (appeared.length > 0) {
              return yield* new CommitConflict({
                reason: "product created elsewhere",
                productIds: appeared.map((r) => r.product_id),
              })
            }
          }
          const creates = products.filter((p) => p.create !== undefined)
          yield* rowsOf(
            `INSERT INTO stock (product_id, available, reserved, on_hand, low_stock_threshold, location, version)
             SELECT p, a, r, h, t, l, 1 FROM json_to_recordset($1::json) AS d(p text, a int, r int, h int, t int, l text)`,
            creates.map((p) => ({
              p: p.productId,
              a: p.delta.available,
              r: p.delta.reserved,
              h: p.delta.onHand,
              t: p.create?.threshold ?? 0,
              l: p.create?.location ?? null,
            })),
          )
          for (const p of creates) versions.set(p.productId, 1)
          const updates = products.filter((p) => p.create === undefined && p.expectedVersion > 0)
          const updated = yield* rowsOf<{ product_id: string; version: string }>(
            `UPDATE stock s
                SET available = s.available + d.a, reserved = s.reserved + d.r, on_hand = s.on_hand + d.h,
                    low_stock_threshold = COALESCE(d.t, s.low_stock_threshold),
                    location = CASE WHEN d.sl THEN d.l ELSE s.location END,
                    version = s.version + 1, updated_at = now()
               FROM json_to_recordset($1::json) AS d(p text, v bigint, a int, r int, h int, t int, sl bool, l text)
              WHERE s.product_id = d.p AND s.version = d.v
          RETURNING s.product_id, s.version`,
            updates.map((p) => ({
              p: p.productId,
              v: p.expectedVersion,
              a: p.delta.available,
              r: p.delta.reserved,
              h: p.delta.onHand,
              t: p.threshold ?? null,
              sl: p.location !== undefined,
              l: p.location ?? null,
            })),
          )
          if (updated.length !== updates.length) {
            const done = new Set(updated.map((r) => r.product_id))
            return yield* new CommitConflict({
              reason: "stock version changed",
              productIds: updates.filter((p) => !done.has(p.productId)).map((p) => p.productId),
            })
          }
          for (const r of updated) versions.set(r.product_id as ProductId, Number(r.version))
          yield* writeOrders(batch)
          yield* writeLedger(batch.ledger)
          yield* writeOutbox(batch.outbox)
          yield* writeIdempotency(batch.idempotency)
          return versions
        }),
      )

    const writeOrders = (batch: CommitBatch) =>
      Effect.gen(function* () {
        const inserts = batch.orderInserts
        const inserted = yield* rowsOf<{ order_id: string }>(
          `INSERT INTO reservations (order_id, reservation_id, status, short_product_id, requested_qty, available_qty)
           SELECT o, rid, s, sp, rq, aq FROM json_to_recordset($1::json) AS d(o text, rid uuid, s text, sp text, rq int, aq int)
           ON CONFLICT (order_id) DO NOTHING RETURNING order_id`,
          inserts.map((o) => ({
            o: o.orderId,
            rid: o.reservationId,
            s: o.status,
            sp: o.short?.productId ?? null,
            rq: o.short?.requested ?? null,
            aq: o.short?.available ?? null,
          })),
        )
        if (inserted.length !== inserts.length) {
          const done = new Set(inserted.map((r) => r.order_id))
          return yield* new CommitConflict({
            reason: "order already decided elsewhere",
            productIds: inserts.filter((o) => !done.has(o.orderId)).map((o) => o.orderId),
          })
        }
        yield* rowsOf(
          `INSERT INTO reservation_lines (order_id, product_id, quantity)
           SELECT o, p, q FROM json_to_recordset($1::json) AS d(o text, p text, q int)`,
          inserts.flatMap((o) => o.lines.map((l) => ({ o: o.orderId, p: l.productId, q: l.quantity }))),
        )
        if (batch.orderReleases.length > 0) {
          const released = yield* q<{ order_id: string }>(
            `UPDATE reservations SET status = 'released', updated_at = now()
              WHERE order_id = ANY($1::text[]) AND status = 'reserved' RETURNING order_id`,
            [batch.orderReleases],
          )
          if (released.length !== new Set(batch.orderReleases).size) {
            return yield* new CommitConflict({ reason: "reservation already released elsewhere", productIds: [] })
          }
        }
      })

    const writeLedger = (rows: ReadonlyArray<LedgerRow>) =>
      rowsOf(
        `INSERT INTO stock_ledger (product_id, movement, adjustment_type, quantity, available_before, available_after,
                                   reserved_before, reserved_after, reason, reference_id)
         SELECT p, m, t, q, ab, aa, rb, ra, re, rf
           FROM json_to_recordset($1::json) AS d(p text, m text, t text, q int, ab int, aa int, rb int, ra int, re text, rf text)`,
        rows.map((r) => ({
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
      )

    const writeOutbox = (rows: ReadonlyArray<OutboxRow>) =>
      rowsOf(
        `INSERT INTO outbox (event_id, event_type, topic, message_key, payload)
         SELECT i, t, tp, k, p FROM json_to_recordset($1::json) AS d(i uuid, t text, tp text, k text, p text)`,
        rows.map((r) => ({ i: r.eventId, t: r.eventType, tp: r.topic, k: r.key, p: r.payload })),
      )

    const writeIdempotency = (rows: ReadonlyArray<IdempotencyRow>) =>
      Effect.gen(function* () {
        const inserted = yield* rowsOf(
          `INSERT INTO idempotency_keys (idempotency_key, request_hash, response_status, response_body)
           SELECT k, h, s, b FROM json_to_recordset($1::json) AS d(k text, h text, s int, b text)
           ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key`,
          rows.map((r) => ({ k: r.key, h: r.requestHash, s: r.status, b: r.body })),
        )
        if (inserted.length !== rows.length) {
          return yield* new CommitConflict({ reason: "idempotency key already used", productIds: [] })
        }
      })

    return { loadStock, loadOrders, commit } as const
  }),
}) {}
