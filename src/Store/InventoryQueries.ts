import { SqlClient } from "@effect/sql"
import { Effect, Option } from "effect"

// Read side for HTTP: committed rows only, never an actor. SQL errors are defects here: the
// HTTP layer answers 500 without details, and the log has them.

export interface StockRecordRow {
  readonly product_id: string
  readonly available: number
  readonly reserved: number
  readonly on_hand: number
  readonly low_stock_threshold: number
  readonly safety_stock: number
  readonly sellable: number
  readonly location: string | null
  readonly version: number
  readonly updated_at: string
}

const stockColumns = `product_id, available, reserved, on_hand, low_stock_threshold, safety_stock,
  GREATEST(available - safety_stock, 0) AS sellable, location, version::int AS version,
  to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS updated_at`

const iso = (column: string, as = column) =>
  `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS ${as}`

/** Cursors are opaque to clients: base64url of the last key seen. */
export const encodeCursor = (key: string) => Buffer.from(key, "utf8").toString("base64url")
export const decodeCursor = (cursor: string | undefined): string | undefined =>
  cursor === undefined ? undefined : Buffer.from(cursor, "base64url").toString("utf8")

export class InventoryQueries extends Effect.Service<InventoryQueries>()("InventoryQueries", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const q = <A extends object>(text: string, params: ReadonlyArray<unknown>) =>
      sql.unsafe<A>(text, params as never).pipe(Effect.orDie)

    const page = Effect.fn("InventoryQueries.page")(function* (limit: number, after: string | undefined) {
      const rows = yield* q<StockRecordRow>(
        `SELECT ${stockColumns} FROM stock WHERE ($1::text IS NULL OR product_id > $1) ORDER BY product_id LIMIT $2`,
        [after ?? null, limit + 1],
      )
      const items = rows.slice(0, limit)
      return { items, next_cursor: rows.length > limit ? encodeCursor(items[items.length - 1]!.product_id) : null }
    })

    const lowStock = Effect.fn("InventoryQueries.lowStock")(function* (limit: number) {
      return yield* q<StockRecordRow>(
        `SELECT ${stockColumns} FROM stock WHERE available < low_stock_threshold ORDER BY available, product_id LIMIT $1`,
        [limit],
      )
    })

    const stock = Effect.fn("InventoryQueries.stock")(function* (productId: string) {
      const rows = yield* q<StockRecordRow>(`SELECT ${stockColumns} FROM stock WHERE product_id = $1`, [productId])
      return Option.fromNullable(rows[0])
    })

    const ledger = Effect.fn("InventoryQueries.ledger")(function* (
      productId: string,
      limit: number,
      before: string | undefined,
    ) {
      const beforeId = before !== undefined && /^\d+$/.test(before) ? before : null
      const rows = yield* q<{
        id: string
        product_id: string
        movement: string
        adjustment_type: string | null
        quantity: number
        available_before: number
        available_after: number
        reserved_before: number
        reserved_after: number
        reason: string | null
        reference_id: string | null
        created_at: string
      }>(
        `SELECT id::text AS id, product_id, movement, adjustment_type, quantity, available_before, available_after,
                reserved_before, reserved_after, reason, reference_id, ${iso("created_at")}
           FROM stock_ledger WHERE product_id = $1 AND ($2::bigint IS NULL OR id < $2::bigint)
          ORDER BY id DESC LIMIT $3`,
        [productId, beforeId, limit + 1],
      )
      const items = rows.slice(0, limit).map((r) => ({ ...r, id: Number(r.id) }))
      return { items, next_cursor: rows.length > limit ? encodeCursor(String(items[items.length - 1]!.id)) : null }
    })

    const reservation = Effect.fn("InventoryQueries.reservation")(function* (orderId: string) {
      const rows = yield* q<{
        order_id: string
        reservation_id: string | null
        status: "reserved" | "released" | "rejected" | "cancelled_before_create"
        short_product_id: string | null
        requested_qty: number | null
        available_qty: number | null
        created_at: string
        updated_at: string
        expires_at: string | null
        items: Array<{ product_id: string; quantity: number; held: number; fulfilled: number; released: number }> | null
      }>(
        `SELECT r.order_id, r.reservation_id::text AS reservation_id, r.status, r.short_product_id, r.requested_qty,
                r.available_qty, ${iso("r.created_at", "created_at")}, ${iso("r.updated_at", "updated_at")},
                ${iso("r.expires_at", "expires_at")},
                (SELECT json_agg(json_build_object('product_id', l.product_id, 'quantity', l.quantity,
                          'held', CASE WHEN r.status IN ('reserved', 'partially_fulfilled')
                                       THEN l.quantity - l.fulfilled - l.released ELSE 0 END,
                          'fulfilled', l.fulfilled, 'released', l.released) ORDER BY l.product_id)
                   FROM reservation_lines l WHERE l.order_id = r.order_id) AS items
           FROM reservations r WHERE r.order_id = $1`,
        [orderId],
      )
      return Option.map(Option.fromNullable(rows[0]), (r) => ({
        order_id: r.order_id,
        reservation_id: r.reservation_id,
        status: r.status,
        items: r.items ?? [],
        out_of_stock:
          r.short_product_id === null
            ? null
            : {
                product_id: r.short_product_id,
                requested_qty: r.requested_qty ?? 0,
                available_qty: r.available_qty ?? 0,
              },
        expires_at: r.expires_at,
        created_at: r.created_at,
        updated_at: r.updated_at,
      }))
    })

    const idempotentAnswer = Effect.fn("InventoryQueries.idempotentAnswer")(function* (key: string) {
      const rows = yield* q<{ request_hash: string; response_status: number; response_body: string }>(
        `SELECT request_hash, response_status, response_body FROM idempotency_keys WHERE idempotency_key = $1`,
        [key],
      )
      return Option.fromNullable(rows[0])
    })

    const ping = sql`SELECT 1`.pipe(Effect.asVoid)
    const outboxBacklog = q<{ n: number }>(`SELECT count(*)::int AS n FROM outbox`, []).pipe(
      Effect.map((r) => r[0]?.n ?? 0),
    )

    return { page, lowStock, stock, ledger, reservation, idempotentAnswer, ping, outboxBacklog } as const
  }),
}) {}
