import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export const HOT = 5

/** Orders of 1-3 lines over a few hot products, as Kafka messages; with `pins`, some lines pinned to one of them. */
export const makeOrders = (prefix: string, count: number, seed: number, pins: ReadonlyArray<string> = []) => {
  let x = seed
  const next = (n: number) => {
    x = (x + 0x6d2b79f5) | 0
    let t = Math.imul(x ^ (x >>> 15), 1 | x)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n)
  }
  return Array.from({ length: count }, (_, i) => {
    const order_id = `${prefix}-${i}`
    const items = Array.from({ length: 1 + next(3) }, () => {
      const item = { product_id: `hot-${next(HOT)}`, quantity: 1 + next(3), price: "1.00" }
      const pin = pins.length > 0 && next(4) === 0 ? pins[next(pins.length)] : undefined
      return pin === undefined ? item : { ...item, location_id: pin }
    })
    return { key: order_id, value: JSON.stringify({ order_id, user_id: "u", items_count: items.length, items }) }
  })
}

/**
 * The hot products at each of `locations` (created, best priority first), `each` units at every one;
 * with `backorderLimit`, that many units may be promised beyond them at every one.
 */
export const seedHotAt = (locations: ReadonlyArray<string>, each: number, backorderLimit = 0) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.gen(function* () {
      yield* sql`INSERT INTO locations (location_id, name, priority)
                 SELECT l, l, 10 * o FROM unnest(${locations}::text[]) WITH ORDINALITY AS t(l, o)
                 ON CONFLICT (location_id) DO NOTHING`
      yield* sql`
        INSERT INTO stock (product_id, location_id, available, reserved, on_hand, low_stock_threshold, backorder_limit)
        SELECT 'hot-' || i, l, ${each}, 0, ${each}, 10, ${backorderLimit}
          FROM generate_series(0, ${HOT - 1}) AS i CROSS JOIN unnest(${locations}::text[]) AS l`
    }),
  )

/**
 * A delivery wherever promises wait: every place with backorders receives what it owes (an adjustment
 * through the service at `port`, which the filler then hands to the oldest orders). How many places.
 */
export const restockBackorders = (port: number, token: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.gen(function* () {
      const owed = yield* sql<{ product_id: string; location_id: string; owed: number }>`
        SELECT product_id, location_id, backordered - greatest(0, available - safety_stock) AS owed
          FROM stock WHERE backordered > greatest(0, available - safety_stock)`
      for (const o of owed) {
        const response = yield* Effect.promise(() =>
          fetch(`http://127.0.0.1:${port}/inventory/${o.product_id}/adjustments`, {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
            body: JSON.stringify({
              adjustment_type: "restock",
              quantity: o.owed,
              location_id: o.location_id,
              reason: "restock for backorders",
            }),
          }),
        )
        if (!response.ok) {
          const text = yield* Effect.promise(() => response.text())
          return yield* Effect.die(new Error(`restock refused: ${response.status} ${text}`))
        }
      }
      return owed.length
    }),
  )

export const seedHot = (each: number) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql`
      INSERT INTO stock (product_id, available, reserved, on_hand, low_stock_threshold)
      SELECT 'hot-' || i, ${each}, 0, ${each}, 10 FROM generate_series(0, ${HOT - 1}) AS i`,
  )
