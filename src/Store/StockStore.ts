import { SqlClient, SqlSchema } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Schema } from "effect"
import { AppConfig } from "../Config.js"
import type { Location } from "../Domain/Allocation.js"
import type { OrderId, ProductId } from "../Domain/Ids.js"
import { type HeldLine, type KnownOrder, stockKey } from "../Domain/Lifecycle.js"
import type { StockLevel } from "../Domain/Stock.js"
import type { CommitBatch, CommittedRow, ProductWrite } from "./CommitBatch.js"
import { commitParams } from "./CommitParams.js"
import { commitStatement } from "./CommitStatement.js"
import { CommitConflict } from "./Errors.js"
import { preparedStatement } from "./Prepared.js"
import { BigintColumn, ReservationStatus } from "./Records.js"

export interface StockRow extends StockLevel {
  readonly productId: ProductId
  readonly locationId: string
  readonly threshold: number
  readonly location: string | null
  readonly version: number
  /** never reserved by orders: they take only available - safetyStock */
  readonly safetyStock: number
  /** units promised to orders here (0 when absent) */
  readonly backordered?: number | undefined
  /** the most that may be promised here (0 when absent) */
  readonly backorderLimit?: number | undefined
}

/** A stock row as the engine loads it (the same columns whether read directly or inside a JSON document). */
const StockColumns = Schema.Struct({
  product_id: Schema.String,
  location_id: Schema.String,
  available: Schema.Number,
  reserved: Schema.Number,
  on_hand: Schema.Number,
  low_stock_threshold: Schema.Number,
  location: Schema.NullOr(Schema.String),
  version: BigintColumn,
  safety_stock: Schema.Number,
  backordered: Schema.Number,
  backorder_limit: Schema.Number,
})

const rowToStock = (r: typeof StockColumns.Type): StockRow => ({
  productId: r.product_id as ProductId,
  locationId: r.location_id,
  available: r.available,
  reserved: r.reserved,
  onHand: r.on_hand,
  threshold: r.low_stock_threshold,
  location: r.location,
  version: r.version,
  safetyStock: r.safety_stock,
  backordered: r.backordered,
  backorderLimit: r.backorder_limit,
})

/** What `lookup` reads in one round trip: four JSON documents, each decoded by its schema. */
const LookupRow = Schema.Struct({
  /** recorded orders: [order id, status, reservation id, due time (ms), fulfilment ids decided] */
  orders: Schema.parseJson(
    Schema.Array(
      Schema.Tuple(
        Schema.String,
        ReservationStatus,
        Schema.NullOr(Schema.String),
        Schema.NullOr(Schema.Number),
        Schema.Array(Schema.String),
      ),
    ),
  ),
  /** fulfilments refused before their order was seen: [order id, fulfilment id] */
  stray: Schema.parseJson(Schema.Array(Schema.Tuple(Schema.String, Schema.String))),
  /** what held orders still hold: [order id, product id, location id, quantity, of which backordered] */
  lines: Schema.parseJson(
    Schema.Array(Schema.Tuple(Schema.String, Schema.String, Schema.String, Schema.Number, Schema.Number)),
  ),
  stock: Schema.parseJson(Schema.Array(StockColumns)),
})

/** What deciding a chunk reads: $1 order ids, $2 product ids, $3 orders with a fulfilment in the chunk. */
const lookupStatement = `SELECT
           (SELECT coalesce(json_agg(json_build_array(r.order_id, r.status, r.reservation_id,
                      (extract(epoch FROM r.expires_at) * 1000)::bigint,
                      (SELECT coalesce(json_agg(f.fulfillment_id), '[]') FROM fulfillments f WHERE f.order_id = r.order_id))), '[]')
              FROM reservations r WHERE r.order_id = ANY($1::text[]))::text AS orders,
           (SELECT coalesce(json_agg(json_build_array(f.order_id, f.fulfillment_id)), '[]')
              FROM fulfillments f WHERE f.order_id = ANY($3::text[])
               AND NOT EXISTS (SELECT 1 FROM reservations r WHERE r.order_id = f.order_id))::text AS stray,
           (SELECT coalesce(json_agg(json_build_array(l.order_id, l.product_id, l.location_id,
                      l.quantity - l.fulfilled - l.released, l.backordered) ORDER BY l.order_id, l.product_id, l.location_id), '[]')
              FROM reservations r JOIN reservation_lines l ON l.order_id = r.order_id
             WHERE r.order_id = ANY($1::text[]) AND r.status IN ('reserved', 'partially_fulfilled')
               -- not written as the held-lines index's predicate: that index is per product, and the
               -- planner would AND all of it (dead entries included) into every order's probe
               AND l.quantity - l.fulfilled - l.released > 0)::text AS lines,
           (SELECT coalesce(json_agg(json_build_object('product_id', product_id, 'location_id', location_id,
                        'available', available, 'reserved', reserved,
                        'on_hand', on_hand, 'low_stock_threshold', low_stock_threshold, 'location', location,
                        'version', version::text, 'safety_stock', safety_stock, 'backordered', backordered,
                        'backorder_limit', backorder_limit)), '[]')
              FROM stock WHERE product_id = ANY($2::text[]))::text AS stock`

const byKey = (a: ProductWrite, b: ProductWrite) =>
  a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : a.locationId < b.locationId ? -1 : 1

/** The engine's view of PostgreSQL: batched loads and one set-based transaction per commit. */
export class StockStore extends Effect.Service<StockStore>()("StockStore", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const { topics } = yield* AppConfig

    const loadStockQuery = SqlSchema.findAll({
      Request: Schema.Array(Schema.String),
      Result: StockColumns,
      execute: (ids) =>
        sql`SELECT product_id, location_id, available, reserved, on_hand, low_stock_threshold, location, version,
                   safety_stock, backordered, backorder_limit FROM stock WHERE product_id = ANY(${ids}::text[])`,
    })
    const loadStock = Effect.fn("StockStore.loadStock")(function* (ids: ReadonlyArray<ProductId>) {
      if (ids.length === 0) return []
      const rows = yield* loadStockQuery(ids).pipe(Effect.catchTag("ParseError", Effect.die))
      return rows.map(rowToStock)
    })

    // unnamed, planned for the ids it is given: a cached generic plan probes these tables worse
    const runLookup = (params: ReadonlyArray<ReadonlyArray<string>>) => sql.unsafe(lookupStatement, params as never)
    const lookupQuery = SqlSchema.single({
      Request: Schema.Struct({
        orderIds: Schema.Array(Schema.String),
        productIds: Schema.Array(Schema.String),
        fulfilling: Schema.Array(Schema.String),
      }),
      Result: LookupRow,
      execute: ({ orderIds, productIds, fulfilling }) => runLookup([orderIds, productIds, fulfilling]),
    })

    /**
     * What deciding a chunk needs from PostgreSQL, in one round trip: the orders already recorded
     * (with what those still held hold per line: a cancellation releases exactly that; their due
     * time and the fulfilments decided for them) and the stock rows of the products not in memory yet.
     */
    const lookup = Effect.fn("StockStore.lookup")(function* (
      orderIds: ReadonlyArray<OrderId>,
      productIds: ReadonlyArray<ProductId>,
      /** orders with a fulfilment in the chunk: fulfilments refused before the order was seen count too */
      fulfilling: ReadonlyArray<OrderId> = [],
    ) {
      const known = new Map<OrderId, KnownOrder>()
      if (orderIds.length === 0 && productIds.length === 0) return { known, stock: [] as Array<StockRow> }
      const row = yield* lookupQuery({ orderIds, productIds, fulfilling }).pipe(
        Effect.catchTags({ ParseError: Effect.die, NoSuchElementException: Effect.die }),
      )
      const lines = new Map<string, Array<HeldLine>>()
      for (const [orderId, productId, locationId, quantity, backordered] of row.lines) {
        const list = lines.get(orderId) ?? []
        const line = { productId: productId as ProductId, locationId, quantity }
        list.push(backordered > 0 ? { ...line, backordered } : line)
        lines.set(orderId, list)
      }
      for (const [orderId, status, reservationId, expiresAt, fulfillments] of row.orders) {
        known.set(orderId as OrderId, {
          status,
          reservationId,
          lines: lines.get(orderId) ?? [],
          expiresAt,
          fulfillments,
        })
      }
      for (const [orderId, fulfillmentId] of row.stray) {
        const seen = known.get(orderId as OrderId)
        known.set(orderId as OrderId, {
          status: "unseen",
          reservationId: null,
          lines: [],
          expiresAt: null,
          fulfillments: [...(seen?.fulfillments ?? []), fulfillmentId],
        })
      }
      return { known, stock: row.stock.map(rowToStock) }
    })

    // Bulk rows travel as JSON documents: JSON.stringify is native and fast, where pg's array
    // literals escape every element in JavaScript.
    /** The rows the commit wrote, by `stockKey`. */
    const commit = (batch: CommitBatch): Effect.Effect<Map<string, CommittedRow>, CommitConflict | SqlError> =>
      commitSorted(batch).pipe(
        Effect.withSpan("StockStore.commit", {
          attributes: { products: batch.products.length, decisions: batch.decisions.length },
        }),
      )
    const runCommit = preparedStatement<{ rows: string }>(sql, "inventory_commit", commitStatement)
    const commitSorted = (batch: CommitBatch): Effect.Effect<Map<string, CommittedRow>, CommitConflict | SqlError> => {
      const sorted = { ...batch, products: [...batch.products].sort(byKey) }
      const params = commitParams(sorted, topics, new Date().toISOString())
      return runCommit(params).pipe(
        Effect.map(([row]) => {
          const rows = new Map<string, CommittedRow>()
          const written = JSON.parse(row?.rows ?? "[]") as Array<
            [string, string, number, number, number, number, number]
          >
          for (const [id, locationId, version, available, reserved, onHand, backordered] of written) {
            rows.set(stockKey(id, locationId), { version: Number(version), available, reserved, onHand, backordered })
          }
          return rows
        }),
        Effect.mapError((error): CommitConflict | SqlError => {
          const cause = error.cause as { code?: string; message?: string; detail?: string } | undefined
          // IV409: the statement's own checks and the balance triggers; 23514: a CHECK on a row (never negative stock)
          return cause?.code === "IV409" || cause?.code === "23514"
            ? new CommitConflict({ reason: cause.message ?? "conflict", productIds: cause.detail?.split(",") ?? [] })
            : error
        }),
      )
    }

    /** Every location, as the engine routes orders over them. */
    const loadLocations = Effect.map(
      sql<{ location_id: string; priority: number; channels: Array<string>; active: boolean }>`
        SELECT location_id, priority, channels, active FROM locations`,
      (rows): ReadonlyArray<Location> =>
        rows.map((r) => ({ id: r.location_id, priority: r.priority, channels: r.channels, active: r.active })),
    ).pipe(Effect.withSpan("StockStore.loadLocations"))

    return { loadStock, lookup, commit, loadLocations } as const
  }),
}) {}
