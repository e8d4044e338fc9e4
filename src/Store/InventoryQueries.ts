import { SqlClient, SqlSchema } from "@effect/sql"
import type { Statement } from "@effect/sql/Statement"
import { Effect, Option, Schema } from "effect"
import { Holder, LedgerEntryRow, Reservation, StockAsOf, StockRecordRow } from "./Records.js"

// Read side for HTTP: committed rows only, never an actor. Every query is a tagged template and
// every row is decoded by its schema in Records.ts. SQL and decoding errors are defects here: the
// HTTP layer answers 500 without details, and the log has them.

/** Cursors are opaque to clients: base64url of the last key seen. */
const encodeCursor = (key: string) => Buffer.from(key, "utf8").toString("base64url")
export const decodeCursor = (cursor: string | undefined): string | undefined =>
  cursor === undefined ? undefined : Buffer.from(cursor, "base64url").toString("utf8")

/** `limit + 1` rows asked for: the extra one says whether there is a next page. */
const paged = <A>(rows: ReadonlyArray<A>, limit: number, keyOf: (last: A) => string) => {
  const items = rows.slice(0, limit)
  const last = items[items.length - 1]
  return { items, next_cursor: rows.length > limit && last !== undefined ? encodeCursor(keyOf(last)) : null }
}

const Text = Schema.NullOr(Schema.String)
const Instant = Schema.NullOr(Schema.Date)
const Answer = Schema.Struct({
  request_hash: Schema.String,
  response_status: Schema.Number,
  response_body: Schema.String,
})

export class InventoryQueries extends Effect.Service<InventoryQueries>()("InventoryQueries", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const utc = (column: string) =>
      sql.literal(`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`)
    const stockColumns = sql.literal(`product_id, available, reserved, on_hand, low_stock_threshold, safety_stock,
      GREATEST(available - safety_stock, 0) AS sellable, location, version,
      to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS updated_at`)

    /** A query whose parameters are encoded and whose rows are decoded by schemas; failures are defects. */
    const all =
      <RA, RI, A, I>(
        Request: Schema.Schema<RA, RI>,
        Result: Schema.Schema<A, I>,
        execute: (request: RI) => Statement<object>,
      ) =>
      (request: RA) =>
        SqlSchema.findAll({ Request, Result, execute })(request).pipe(Effect.orDie)
    const one = <RA, RI, A, I>(
      Request: Schema.Schema<RA, RI>,
      Result: Schema.Schema<A, I>,
      execute: (request: RI) => Statement<object>,
    ) => {
      const query = all(Request, Result, execute)
      return (request: RA) => Effect.map(query(request), (rows) => Option.fromNullable(rows[0]))
    }

    const pageQuery = all(
      Schema.Struct({ after: Text, limit: Schema.Number }),
      StockRecordRow,
      (r) =>
        sql`SELECT ${stockColumns} FROM stock WHERE (${r.after}::text IS NULL OR product_id > ${r.after})
           ORDER BY product_id LIMIT ${r.limit + 1}`,
    )
    const page = (limit: number, after: string | undefined) =>
      Effect.map(pageQuery({ after: after ?? null, limit }), (rows) => paged(rows, limit, (last) => last.product_id))

    const lowStock = all(
      Schema.Number,
      StockRecordRow,
      (limit) =>
        sql`SELECT ${stockColumns} FROM stock WHERE available < low_stock_threshold
           ORDER BY available, product_id LIMIT ${limit}`,
    )

    const stock = one(
      Schema.String,
      StockRecordRow,
      (productId) => sql`SELECT ${stockColumns} FROM stock WHERE product_id = ${productId}`,
    )

    /** What the product had at `at`, from the last ledger row before it; none if it did not exist yet. */
    const stockAsOfQuery = one(
      Schema.Struct({ productId: Schema.String, at: Schema.Date }),
      StockAsOf,
      (r) =>
        sql`SELECT product_id, available_after AS available, reserved_after AS reserved,
                 available_after + reserved_after AS on_hand, ${r.at}::text AS as_of
            FROM stock_ledger WHERE product_id = ${r.productId} AND created_at <= ${r.at}::timestamptz
           ORDER BY id DESC LIMIT 1`,
    )
    const stockAsOf = (productId: string, at: Date) => stockAsOfQuery({ productId, at })

    const ledgerQuery = all(
      Schema.Struct({ productId: Schema.String, before: Text, limit: Schema.Number, since: Instant, until: Instant }),
      LedgerEntryRow,
      (r) =>
        sql`SELECT id, product_id, movement, adjustment_type, quantity, available_before, available_after,
                   reserved_before, reserved_after, reason, reference_id, ${utc("created_at")} AS created_at
              FROM stock_ledger WHERE product_id = ${r.productId} AND (${r.before}::bigint IS NULL OR id < ${r.before}::bigint)
               AND (${r.since}::timestamptz IS NULL OR created_at >= ${r.since}::timestamptz)
               AND (${r.until}::timestamptz IS NULL OR created_at < ${r.until}::timestamptz)
             ORDER BY stock_ledger.id DESC LIMIT ${r.limit + 1}`,
    )
    const ledger = (
      productId: string,
      limit: number,
      before: string | undefined,
      window: { readonly since?: Date | undefined; readonly until?: Date | undefined } = {},
    ) =>
      Effect.map(
        ledgerQuery({
          productId,
          before: before !== undefined && /^\d+$/.test(before) ? before : null,
          limit,
          since: window.since ?? null,
          until: window.until ?? null,
        }),
        (rows) => paged(rows, limit, (last) => String(last.id)),
      )

    /** The reservations holding some of a product, oldest first; the cursor is the last (time, order) seen. */
    const holdersQuery = all(
      Schema.Struct({ productId: Schema.String, afterAt: Text, afterOrder: Text, limit: Schema.Number }),
      Holder,
      (r) =>
        sql`SELECT r.order_id, r.reservation_id::text AS reservation_id, r.status,
                   l.quantity - l.fulfilled - l.released AS quantity, ${utc("r.created_at")} AS reserved_at,
                   round(extract(epoch FROM now() - r.created_at)::numeric, 3)::float8 AS age_seconds,
                   ${utc("r.expires_at")} AS expires_at
              FROM reservation_lines l JOIN reservations r USING (order_id)
             WHERE l.product_id = ${r.productId} AND r.status IN ('reserved', 'partially_fulfilled')
               AND l.quantity > l.fulfilled + l.released
               AND (${r.afterAt}::timestamptz IS NULL OR (r.created_at, r.order_id) > (${r.afterAt}::timestamptz, ${r.afterOrder}::text))
             ORDER BY r.created_at, r.order_id LIMIT ${r.limit + 1}`,
    )
    const holders = (productId: string, limit: number, after: string | undefined) => {
      const [afterAt, afterOrder] = after?.includes("|") ? after.split("|", 2) : [null, null]
      const valid = afterAt !== null && !Number.isNaN(Date.parse(afterAt ?? ""))
      return Effect.map(
        holdersQuery({
          productId,
          afterAt: valid ? (afterAt ?? null) : null,
          afterOrder: valid ? (afterOrder ?? null) : null,
          limit,
        }),
        (rows) => paged(rows, limit, (last) => `${last.reserved_at}|${last.order_id}`),
      )
    }

    const reservation = one(
      Schema.String,
      Reservation,
      (orderId) =>
        sql`SELECT r.order_id, r.reservation_id::text AS reservation_id, r.status,
                 COALESCE((SELECT json_agg(json_build_object('product_id', l.product_id, 'quantity', l.quantity,
                             'held', CASE WHEN r.status IN ('reserved', 'partially_fulfilled')
                                          THEN l.quantity - l.fulfilled - l.released ELSE 0 END,
                             'fulfilled', l.fulfilled, 'released', l.released) ORDER BY l.product_id)
                      FROM reservation_lines l WHERE l.order_id = r.order_id), '[]') AS items,
                 CASE WHEN r.short_product_id IS NULL THEN NULL
                      ELSE json_build_object('product_id', r.short_product_id, 'requested_qty', COALESCE(r.requested_qty, 0),
                                             'available_qty', COALESCE(r.available_qty, 0)) END AS out_of_stock,
                 ${utc("r.expires_at")} AS expires_at, ${utc("r.created_at")} AS created_at,
                 ${utc("r.updated_at")} AS updated_at
            FROM reservations r WHERE r.order_id = ${orderId}`,
    )

    const idempotentAnswer = one(
      Schema.String,
      Answer,
      (key) =>
        sql`SELECT request_hash, response_status, response_body FROM idempotency_keys WHERE idempotency_key = ${key}`,
    )

    const ping = sql`SELECT 1`.pipe(Effect.asVoid)
    const backlog = one(
      Schema.Void,
      Schema.Struct({ n: Schema.Number }),
      () => sql`SELECT count(*)::int AS n FROM outbox`,
    )
    const outboxBacklog = Effect.map(backlog(undefined), Option.match({ onNone: () => 0, onSome: (r) => r.n }))

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
