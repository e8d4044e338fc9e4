import { SqlClient } from "@effect/sql"
import { Effect, Option } from "effect"
import type { OrderStatus } from "./StockStore.js"

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

    /** What the product had at `at`, from the last ledger row before it; none if it did not exist yet. */
    const stockAsOf = Effect.fn("InventoryQueries.stockAsOf")(function* (productId: string, at: Date) {
      const rows = yield* q<{ available: number; reserved: number }>(
        `SELECT available_after AS available, reserved_after AS reserved FROM stock_ledger
          WHERE product_id = $1 AND created_at <= $2 ORDER BY id DESC LIMIT 1`,
        [productId, at.toISOString()],
      )
      return Option.map(Option.fromNullable(rows[0]), (r) => ({
        product_id: productId,
        available: r.available,
        reserved: r.reserved,
        on_hand: r.available + r.reserved,
        as_of: at.toISOString(),
      }))
    })

    const ledger = Effect.fn("InventoryQueries.ledger")(function* (
      productId: string,
      limit: number,
      before: string | undefined,
      window: { readonly since?: Date | undefined; readonly until?: Date | undefined } = {},
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
            AND ($4::timestamptz IS NULL OR created_at >= $4) AND ($5::timestamptz IS NULL OR created_at < $5)
          ORDER BY stock_ledger.id DESC LIMIT $3`,
        [productId, beforeId, limit + 1, window.since?.toISOString() ?? null, window.until?.toISOString() ?? null],
      )
      const items = rows.slice(0, limit).map((r) => ({ ...r, id: Number(r.id) }))
      return { items, next_cursor: rows.length > limit ? encodeCursor(String(items[items.length - 1]!.id)) : null }
    })

    /** The reservations holding some of a product, oldest first; the cursor is the last (time, order) seen. */
    const holders = Effect.fn("InventoryQueries.holders")(function* (
      productId: string,
      limit: number,
      after: string | undefined,
    ) {
      const [afterAt, afterOrder] = after?.includes("|") ? after.split("|", 2) : [null, null]
      const valid = afterAt !== null && !Number.isNaN(Date.parse(afterAt ?? ""))
      const rows = yield* q<{
        order_id: string
        reservation_id: string | null
        status: "reserved" | "partially_fulfilled"
        quantity: number
        reserved_at: string
        age_seconds: number
        expires_at: string | null
      }>(
        `SELECT r.order_id, r.reservation_id::text AS reservation_id, r.status,
                l.quantity - l.fulfilled - l.released AS quantity, ${iso("r.created_at", "reserved_at")},
                extract(epoch FROM now() - r.created_at)::float8 AS age_seconds, ${iso("r.expires_at", "expires_at")}
           FROM reservation_lines l JOIN reservations r USING (order_id)
          WHERE l.product_id = $1 AND r.status IN ('reserved', 'partially_fulfilled')
            AND l.quantity > l.fulfilled + l.released
            AND ($2::timestamptz IS NULL OR (r.created_at, r.order_id) > ($2::timestamptz, $3::text))
          ORDER BY r.created_at, r.order_id LIMIT $4`,
        [productId, valid ? afterAt : null, valid ? afterOrder : null, limit + 1],
      )
      const items = rows.slice(0, limit).map((r) => ({ ...r, age_seconds: Math.round(r.age_seconds * 1000) / 1000 }))
      const last = items[items.length - 1]
      return {
        items,
        next_cursor: rows.length > limit && last ? encodeCursor(`${last.reserved_at}|${last.order_id}`) : null,
      }
    })

    const reservation = Effect.fn("InventoryQueries.reservation")(function* (orderId: string) {
      const rows = yield* q<{
        order_id: string
        reservation_id: string | null
        status: OrderStatus
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

    return {
      page,
      lowStock,
      stock,
      stockAsOf,
      ledger,
      holders,
      reservation,
      idempotentAnswer,
      ping,
      outboxBacklog,
    } as const
  }),
}) {}
