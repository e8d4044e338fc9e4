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
      const rows = yield* q<{
        order_id: string
        status: OrderStatus
        reservation_id: string | null
        lines: Array<{ product_id: string; quantity: number }> | null
      }>(
        `SELECT r.order_id, r.status, r.reservation_id,
                (SELECT json_agg(json_build_object('product_id', l.product_id, 'quantity', l.quantity) ORDER BY l.product_id)
                   FROM reservation_lines l WHERE l.order_id = r.order_id) AS lines
           FROM reservations r WHERE r.order_id = ANY($1::text[])`,
        [ids],
      )
      for (const r of rows) {
        known.set(r.order_id as OrderId, {
          status: r.status,
          reservationId: r.reservation_id,
          lines: (r.lines ?? []).map((l) => ({ productId: l.product_id as ProductId, quantity: l.quantity })),
        })
      }
      return known
    })

    const commit = (batch: CommitBatch): Effect.Effect<Map<ProductId, number>, CommitConflict | SqlError> =>
      sql.withTransaction(
        Effect.gen(function* () {
          const versions = new Map<ProductId, number>()
          const products = [...batch.products].sort((a, b) => (a.productId < b.productId ? -1 : 1))
          if (products.length > 0) {
            // Lock in one global order (no deadlocks between instances), then check every version.
            const locked = yield* q<{ product_id: string; version: string }>(
              `SELECT product_id, version FROM stock WHERE product_id = ANY($1::text[]) ORDER BY product_id FOR UPDATE`,
              [products.map((p) => p.productId)],
            )
            const current = new Map(locked.map((r) => [r.product_id, Number(r.version)]))
            const stale = products.filter((p) => (current.get(p.productId) ?? 0) !== p.expectedVersion)
            if (stale.length > 0) {
              return yield* new CommitConflict({
                reason: "stock version changed",
                productIds: stale.map((p) => p.productId),
              })
            }
            const creates = products.filter((p) => p.create !== undefined)
            if (creates.length > 0) {
              yield* q(
                `INSERT INTO stock (product_id, available, reserved, on_hand, low_stock_threshold, location, version)
                 SELECT * , 1 FROM unnest($1::text[], $2::int[], $3::int[], $4::int[], $5::int[], $6::text[])`,
                [
                  creates.map((p) => p.productId),
                  creates.map((p) => p.delta.available),
                  creates.map((p) => p.delta.reserved),
                  creates.map((p) => p.delta.onHand),
                  creates.map((p) => p.create?.threshold ?? 0),
                  creates.map((p) => p.create?.location ?? null),
                ],
              )
              for (const p of creates) versions.set(p.productId, 1)
            }
            const updates = products.filter((p) => p.create === undefined && p.expectedVersion > 0)
            if (updates.length > 0) {
              const updated = yield* q<{ product_id: string; version: string }>(
                `UPDATE stock s
                    SET available = s.available + d.da, reserved = s.reserved + d.dr, on_hand = s.on_hand + d.doh,
                        low_stock_threshold = COALESCE(d.threshold, s.low_stock_threshold),
                        location = CASE WHEN d.set_location THEN d.location ELSE s.location END,
                        version = s.version + 1, updated_at = now()
                   FROM unnest($1::text[], $2::bigint[], $3::int[], $4::int[], $5::int[], $6::int[], $7::bool[], $8::text[])
                        AS d(product_id, expected, da, dr, doh, threshold, set_location, location)
                  WHERE s.product_id = d.product_id AND s.version = d.expected
              RETURNING s.product_id, s.version`,
                [
                  updates.map((p) => p.productId),
                  updates.map((p) => p.expectedVersion),
                  updates.map((p) => p.delta.available),
                  updates.map((p) => p.delta.reserved),
                  updates.map((p) => p.delta.onHand),
                  updates.map((p) => p.threshold ?? null),
                  updates.map((p) => p.location !== undefined),
                  updates.map((p) => p.location ?? null),
                ],
              )
              if (updated.length !== updates.length) {
                return yield* new CommitConflict({
                  reason: "stock version changed",
                  productIds: updates.map((p) => p.productId),
                })
              }
              for (const r of updated) versions.set(r.product_id as ProductId, Number(r.version))
            }
          }
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
        if (inserts.length > 0) {
          const inserted = yield* q<{ order_id: string }>(
            `INSERT INTO reservations (order_id, reservation_id, status, short_product_id, requested_qty, available_qty)
             SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::int[], $6::int[])
             ON CONFLICT (order_id) DO NOTHING RETURNING order_id`,
            [
              inserts.map((o) => o.orderId),
              inserts.map((o) => o.reservationId),
              inserts.map((o) => o.status),
              inserts.map((o) => o.short?.productId ?? null),
              inserts.map((o) => o.short?.requested ?? null),
              inserts.map((o) => o.short?.available ?? null),
            ],
          )
          if (inserted.length !== inserts.length) {
            const done = new Set(inserted.map((r) => r.order_id))
            return yield* new CommitConflict({
              reason: "order already decided elsewhere",
              productIds: inserts.filter((o) => !done.has(o.orderId)).map((o) => o.orderId),
            })
          }
          const lines = inserts.flatMap((o) => o.lines.map((l) => [o.orderId, l.productId, l.quantity] as const))
          if (lines.length > 0) {
            yield* q(
              `INSERT INTO reservation_lines (order_id, product_id, quantity)
               SELECT * FROM unnest($1::text[], $2::text[], $3::int[])`,
              [lines.map((l) => l[0]), lines.map((l) => l[1]), lines.map((l) => l[2])],
            )
          }
        }
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
      rows.length === 0
        ? Effect.void
        : q(
            `INSERT INTO stock_ledger (product_id, movement, adjustment_type, quantity, available_before, available_after,
                                       reserved_before, reserved_after, reason, reference_id)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[], $6::int[], $7::int[], $8::int[],
                                  $9::text[], $10::text[])`,
            [
              rows.map((r) => r.productId),
              rows.map((r) => r.movement),
              rows.map((r) => r.adjustmentType),
              rows.map((r) => r.quantity),
              rows.map((r) => r.before.available),
              rows.map((r) => r.after.available),
              rows.map((r) => r.before.reserved),
              rows.map((r) => r.after.reserved),
              rows.map((r) => r.reason),
              rows.map((r) => r.referenceId),
            ],
          )

    const writeOutbox = (rows: ReadonlyArray<OutboxRow>) =>
      rows.length === 0
        ? Effect.void
        : q(
            `INSERT INTO outbox (event_id, event_type, topic, message_key, payload)
             SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[])`,
            [
              rows.map((r) => r.eventId),
              rows.map((r) => r.eventType),
              rows.map((r) => r.topic),
              rows.map((r) => r.key),
              rows.map((r) => r.payload),
            ],
          )

    const writeIdempotency = (rows: ReadonlyArray<IdempotencyRow>) =>
      Effect.gen(function* () {
        if (rows.length === 0) return
        const inserted = yield* q(
          `INSERT INTO idempotency_keys (idempotency_key, request_hash, response_status, response_body)
           SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[])
           ON CONFLICT (idempotency_key) DO NOTHING RETURNING idempotency_key`,
          [rows.map((r) => r.key), rows.map((r) => r.requestHash), rows.map((r) => r.status), rows.map((r) => r.body)],
        )
        if (inserted.length !== rows.length) {
          return yield* new CommitConflict({ reason: "idempotency key already used", productIds: [] })
        }
      })

    return { loadStock, loadOrders, commit } as const
  }),
}) {}
