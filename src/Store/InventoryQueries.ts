import { SqlClient, SqlSchema } from "@effect/sql"
import type { Statement } from "@effect/sql/Statement"
import { Effect, Option, Schema } from "effect"
import { Holder, LedgerEntryRow, Reservation, StockAsOf, StockRecordRow, TransferRecord } from "./Records.js"

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
    // a product's record: totals over the rows it is grouped from, and each row as a location
    const stockColumns = sql.literal(`product_id, sum(available)::int AS available, sum(reserved)::int AS reserved,
      sum(on_hand)::int AS on_hand, sum(low_stock_threshold)::int AS low_stock_threshold,
      sum(safety_stock)::int AS safety_stock, sum(GREATEST(available - safety_stock, 0))::int AS sellable,
      max(location) FILTER (WHERE location_id = 'default') AS location, max(version)::text AS version,
      to_char(max(updated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS updated_at,
      json_agg(json_build_object('location_id', location_id, 'available', available, 'reserved', reserved,
        'on_hand', on_hand, 'backordered', backordered, 'backorder_limit', backorder_limit,
        'low_stock_threshold', low_stock_threshold, 'safety_stock', safety_stock,
        'sellable', GREATEST(available - safety_stock, 0)) ORDER BY location_id) AS locations`)

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

    /** One location's row as a record: `location_id` says which. */
    const narrowed = sql.literal("min(location_id) AS location_id")

    const pageQuery = all(Schema.Struct({ after: Text, limit: Schema.Number, at: Text }), StockRecordRow, (r) =>
      r.at === null
        ? sql`SELECT ${stockColumns} FROM stock WHERE (${r.after}::text IS NULL OR product_id > ${r.after})
                 GROUP BY product_id ORDER BY product_id LIMIT ${r.limit + 1}`
        : sql`SELECT ${stockColumns}, ${narrowed} FROM stock
                 WHERE (${r.after}::text IS NULL OR product_id > ${r.after}) AND location_id = ${r.at}
                 GROUP BY product_id ORDER BY product_id LIMIT ${r.limit + 1}`,
    )
    /** A page of products, in id order (with `locationId`, only those kept there, with that location's figures). */
    const page = (limit: number, after: string | undefined, locationId?: string) =>
      Effect.map(pageQuery({ after: after ?? null, limit, at: locationId ?? null }), (rows) =>
        paged(rows, limit, (last) => last.product_id),
      )

    /** Products below their threshold at a location, lowest first: one record per such location. */
    const lowStock = all(
      Schema.Struct({ limit: Schema.Number, at: Text }),
      StockRecordRow,
      (r) =>
        sql`SELECT ${stockColumns}, ${narrowed} FROM stock
             WHERE available < low_stock_threshold AND (${r.at}::text IS NULL OR location_id = ${r.at})
             GROUP BY product_id, location_id ORDER BY min(available), product_id, location_id LIMIT ${r.limit}`,
    )

    const stockQuery = one(Schema.Struct({ productId: Schema.String, at: Text }), StockRecordRow, (r) =>
      r.at === null
        ? sql`SELECT ${stockColumns} FROM stock WHERE product_id = ${r.productId} GROUP BY product_id`
        : sql`SELECT ${stockColumns}, ${narrowed} FROM stock WHERE product_id = ${r.productId}
                 AND location_id = ${r.at} GROUP BY product_id`,
    )
    /** A product's record (totals and locations), or one location's; none if it is not kept (there). */
    const stock = (productId: string, locationId?: string) => stockQuery({ productId, at: locationId ?? null })

    /**
     * What the product had at `at`: per location, the last ledger row before it, summed (or one
     * location's); none if it did not exist (there) yet.
     */
    const stockAsOfQuery = one(
      Schema.Struct({ productId: Schema.String, at: Schema.Date, location: Text }),
      StockAsOf,
      (r) =>
        sql`SELECT product_id, sum(available_after)::int AS available, sum(reserved_after)::int AS reserved,
                   sum(available_after + reserved_after)::int AS on_hand, ${r.at}::text AS as_of,
                   ${r.location}::text AS location_id
              FROM (SELECT DISTINCT ON (location_id) product_id, available_after, reserved_after
                      FROM stock_ledger
                     WHERE product_id = ${r.productId} AND created_at <= ${r.at}::timestamptz
                       AND (${r.location}::text IS NULL OR location_id = ${r.location})
                     ORDER BY location_id, id DESC) last
             GROUP BY product_id`,
    )
    const stockAsOf = (productId: string, at: Date, locationId?: string) =>
      stockAsOfQuery({ productId, at, location: locationId ?? null })

    const ledgerQuery = all(
      Schema.Struct({
        productId: Schema.String,
        at: Text,
        before: Text,
        limit: Schema.Number,
        since: Instant,
        until: Instant,
      }),
      LedgerEntryRow,
      (r) =>
        sql`SELECT id, product_id, location_id, movement, adjustment_type, quantity, available_before, available_after,
                   reserved_before, reserved_after, reason, reference_id, ${utc("created_at")} AS created_at
              FROM stock_ledger WHERE product_id = ${r.productId} AND (${r.before}::bigint IS NULL OR id < ${r.before}::bigint)
               AND (${r.at}::text IS NULL OR location_id = ${r.at})
               AND (${r.since}::timestamptz IS NULL OR created_at >= ${r.since}::timestamptz)
               AND (${r.until}::timestamptz IS NULL OR created_at < ${r.until}::timestamptz)
             ORDER BY stock_ledger.id DESC LIMIT ${r.limit + 1}`,
    )
    const ledger = (
      productId: string,
      limit: number,
      before: string | undefined,
      window: {
        readonly since?: Date | undefined
        readonly until?: Date | undefined
        readonly locationId?: string | undefined
      } = {},
    ) =>
      Effect.map(
        ledgerQuery({
          productId,
          at: window.locationId ?? null,
          before: before !== undefined && /^\d+$/.test(before) ? before : null,
          limit,
          since: window.since ?? null,
          until: window.until ?? null,
        }),
        (rows) => paged(rows, limit, (last) => String(last.id)),
      )

    /** The reservations holding some of a product, oldest first; the cursor is the last (time, order) seen. */
    const holdersQuery = all(
      Schema.Struct({
        productId: Schema.String,
        at: Text,
        afterAt: Text,
        afterOrder: Text,
        afterLocation: Text,
        limit: Schema.Number,
      }),
      Holder,
      (r) =>
        sql`SELECT r.order_id, r.reservation_id::text AS reservation_id, r.status,
                   l.quantity - l.fulfilled - l.released AS quantity, l.backordered, l.location_id,
                   ${utc("r.created_at")} AS reserved_at,
                   round(extract(epoch FROM now() - r.created_at)::numeric, 3)::float8 AS age_seconds,
                   ${utc("r.expires_at")} AS expires_at
              FROM reservation_lines l JOIN reservations r USING (order_id)
             WHERE l.product_id = ${r.productId} AND r.status IN ('reserved', 'partially_fulfilled')
               AND l.quantity > l.fulfilled + l.released AND (${r.at}::text IS NULL OR l.location_id = ${r.at})
               AND (${r.afterAt}::timestamptz IS NULL OR (r.created_at, r.order_id, l.location_id)
                    > (${r.afterAt}::timestamptz, ${r.afterOrder}::text, coalesce(${r.afterLocation}::text, '')))
             ORDER BY r.created_at, r.order_id, l.location_id LIMIT ${r.limit + 1}`,
    )
    /** Who holds a product (at a location), oldest first; the cursor is the last (time, order, location) seen. */
    const holders = (productId: string, limit: number, after: string | undefined, locationId?: string) => {
      const [afterAt, afterOrder, afterLocation] = after?.includes("|") ? after.split("|", 3) : [null, null, null]
      const valid = afterAt !== null && !Number.isNaN(Date.parse(afterAt ?? ""))
      return Effect.map(
        holdersQuery({
          productId,
          at: locationId ?? null,
          afterAt: valid ? (afterAt ?? null) : null,
          afterOrder: valid ? (afterOrder ?? null) : null,
          afterLocation: valid ? (afterLocation ?? null) : null,
          limit,
        }),
        (rows) => paged(rows, limit, (last) => `${last.reserved_at}|${last.order_id}|${last.location_id}`),
      )
    }

    const reservation = one(
      Schema.String,
      Reservation,
      (orderId) =>
        sql`SELECT r.order_id, r.reservation_id::text AS reservation_id, r.status,
                 COALESCE((SELECT json_agg(json_build_object('product_id', l.product_id, 'location_id', l.location_id,
                             'quantity', l.quantity,
                             'held', CASE WHEN r.status IN ('reserved', 'partially_fulfilled')
                                          THEN l.quantity - l.fulfilled - l.released ELSE 0 END,
                             'backordered', l.backordered, 'fulfilled', l.fulfilled, 'released', l.released) ORDER BY l.product_id, l.location_id)
                      FROM reservation_lines l WHERE l.order_id = r.order_id), '[]') AS items,
                 CASE WHEN r.short_product_id IS NULL THEN NULL
                      ELSE json_build_object('product_id', r.short_product_id, 'requested_qty', COALESCE(r.requested_qty, 0),
                                             'available_qty', COALESCE(r.available_qty, 0)) END AS out_of_stock,
                 ${utc("r.expires_at")} AS expires_at, ${utc("r.created_at")} AS created_at,
                 ${utc("r.updated_at")} AS updated_at
            FROM reservations r WHERE r.order_id = ${orderId}`,
    )

    const transfer = one(
      Schema.String,
      TransferRecord,
      (id) =>
        sql`SELECT transfer_id::text AS transfer_id, product_id, from_location_id, to_location_id, quantity, received,
                   quantity - received AS in_transit,
                   CASE WHEN received < quantity THEN 'in_transit' ELSE 'received' END AS status, reference_id,
                   ${utc("created_at")} AS created_at, ${utc("updated_at")} AS updated_at
              FROM transfers WHERE transfer_id = ${id}::uuid`,
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
      transfer,
      idempotentAnswer,
      ping,
      outboxBacklog,
    } as const
  }),
}) {}
