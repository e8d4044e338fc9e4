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

/** The hot products at each of `locations` (created, best priority first), `each` units at every one. */
export const seedHotAt = (locations: ReadonlyArray<string>, each: number) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.gen(function* () {
      yield* sql`INSERT INTO locations (location_id, name, priority)
                 SELECT l, l, 10 * o FROM unnest(${locations}::text[]) WITH ORDINALITY AS t(l, o)
                 ON CONFLICT (location_id) DO NOTHING`
      yield* sql`
        INSERT INTO stock (product_id, location_id, available, reserved, on_hand, low_stock_threshold)
        SELECT 'hot-' || i, l, ${each}, 0, ${each}, 10
          FROM generate_series(0, ${HOT - 1}) AS i CROSS JOIN unnest(${locations}::text[]) AS l`
    }),
  )

export const seedHot = (each: number) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql`
      INSERT INTO stock (product_id, available, reserved, on_hand, low_stock_threshold)
      SELECT 'hot-' || i, ${each}, 0, ${each}, 10 FROM generate_series(0, ${HOT - 1}) AS i`,
  )
