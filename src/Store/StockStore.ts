import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Data, Effect } from "effect"
import type { OrderId, ProductId } from "../Domain/Ids.js"
import type { StockLevel } from "../Domain/Stock.js"
import { commitParams, commitStatement } from "./CommitStatement.js"

export interface StockRow extends StockLevel {
  readonly productId: ProductId
  readonly threshold: number
  readonly location: string | null
  readonly version: number
  /** never reserved by orders: they take only available - safetyStock */
  readonly safetyStock: number
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
  readonly create?: { readonly threshold: number; readonly location: string | null; readonly safetyStock: number }
  readonly threshold?: number
  readonly location?: string | null
  readonly safetyStock?: number
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
  safety_stock: number
}): StockRow => ({
  productId: r.product_id as ProductId,
  available: r.available,
  reserved: r.reserved,
  onHand: r.on_hand,
  threshold: r.low_stock_threshold,
  location: r.location,
  version: Number(r.version),
  safetyStock: r.safety_stock,
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
        `SELECT product_id, available, reserved, on_hand, low_stock_threshold, location, version, safety_stock
           FROM stock WHERE product_id = ANY($1::text[])`,
        [ids],
      )
      return rows.map(rowToStock)
    })

    /**
     * What deciding a chunk needs from PostgreSQL, in one round trip: the orders already recorded
     * (with the lines of those still held: a cancellation releases exactly them) and the stock rows
     * of the products not in memory yet. Rows travel as JSON arrays, parsed natively.
     */
    const lookup = Effect.fn("StockStore.lookup")(function* (
      orderIds: ReadonlyArray<OrderId>,
      productIds: ReadonlyArray<ProductId>,
    ) {
      const known = new Map<OrderId, KnownOrder>()
      if (orderIds.length === 0 && productIds.length === 0) return { known, stock: [] as Array<StockRow> }
      const [row] = yield* q<{ orders: string; lines: string; stock: string }>(
        `SELECT
           (SELECT coalesce(json_agg(json_build_array(order_id, status, reservation_id)), '[]')
              FROM reservations WHERE order_id = ANY($1::text[]))::text AS orders,
           (SELECT coalesce(json_agg(json_build_array(l.order_id, l.product_id, l.quantity) ORDER BY l.order_id, l.product_id), '[]')
              FROM reservations r JOIN reservation_lines l ON l.order_id = r.order_id
             WHERE r.order_id = ANY($1::text[]) AND r.status = 'reserved')::text AS lines,
           (SELECT coalesce(json_agg(json_build_object('product_id', product_id, 'available', available, 'reserved', reserved,
                        'on_hand', on_hand, 'low_stock_threshold', low_stock_threshold, 'location', location,
                        'version', version, 'safety_stock', safety_stock)), '[]')
              FROM stock WHERE product_id = ANY($2::text[]))::text AS stock`,
        [orderIds, productIds],
      )
      const lines = new Map<string, Array<Line>>()
      for (const [orderId, productId, quantity] of JSON.parse(row!.lines) as Array<[string, ProductId, number]>) {
        const list = lines.get(orderId) ?? []
        list.push({ productId, quantity })
        lines.set(orderId, list)
      }
      for (const [orderId, status, reservationId] of JSON.parse(row!.orders) as Array<
        [OrderId, OrderStatus, string | null]
      >) {
        known.set(orderId, { status, reservationId, lines: lines.get(orderId) ?? [] })
      }
      // the same row shape as loadStock, parsed the same way
      const stock = (JSON.parse(row!.stock) as Array<Parameters<typeof rowToStock>[0]>).map(rowToStock)
      return { known, stock }
    })

    // Bulk rows travel as JSON documents: JSON.stringify is native and fast, where pg's array
    // literals escape every element in JavaScript.
    const commit = (batch: CommitBatch): Effect.Effect<Map<ProductId, number>, CommitConflict | SqlError> => {
      const sorted = { ...batch, products: [...batch.products].sort((a, b) => (a.productId < b.productId ? -1 : 1)) }
      return q<{ versions: string }>(commitStatement, commitParams(sorted)).pipe(
        Effect.map(([row]) => {
          const versions = new Map<ProductId, number>()
          for (const p of sorted.products) if (p.create !== undefined) versions.set(p.productId, 1)
          for (const [id, version] of JSON.parse(row?.versions ?? "[]") as Array<[ProductId, number]>) {
            versions.set(id, Number(version))
          }
          return versions
        }),
        Effect.mapError((error): CommitConflict | SqlError => {
          const cause = error.cause as { code?: string; message?: string; detail?: string } | undefined
          return cause?.code === "IV409"
            ? new CommitConflict({ reason: cause.message ?? "conflict", productIds: cause.detail?.split(",") ?? [] })
            : error
        }),
      )
    }

    return { loadStock, lookup, commit } as const
  }),
}) {}
