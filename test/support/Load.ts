import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

export const HOT = 5

/** Orders of 1-3 lines over a few hot products, as Kafka messages. */
export const makeOrders = (prefix: string, count: number, seed: number) => {
  let x = seed
  const next = (n: number) => {
    x = (x + 0x6d2b79f5) | 0
    let t = Math.imul(x ^ (x >>> 15), 1 | x)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * n)
  }
  return Array.from({ length: count }, (_, i) => {
    const order_id = `${prefix}-${i}`
    const items = Array.from({ length: 1 + next(3) }, () => ({
      product_id: `hot-${next(HOT)}`,
      quantity: 1 + next(3),
      price: "1.00",
    }))
    return { key: order_id, value: JSON.stringify({ order_id, user_id: "u", items_count: items.length, items }) }
  })
}

export const seedHot = (each: number) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql`
      INSERT INTO stock (product_id, available, reserved, on_hand, low_stock_threshold)
      SELECT 'hot-' || i, ${each}, 0, ${each}, 10 FROM generate_series(0, ${HOT - 1}) AS i`,
  )
