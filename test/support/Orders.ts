import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { ProductId } from "../../src/Domain/Ids.js"
import { Engine } from "../../src/Engine/Engine.js"
import type { SeenEvent } from "./TestKafka.js"

// Messages in the order service's wire shape, and what tests ask PostgreSQL about them.

export const pid = (s: string) => s as ProductId

export const order = (orderId: string, items: ReadonlyArray<readonly [string, number]>) => ({
  order_id: orderId,
  user_id: "u-1",
  total: "10.00",
  currency: "EUR",
  items_count: items.length,
  items: items.map(([product_id, quantity]) => ({ product_id, quantity, price: "1.00" })),
})

export const cancel = (orderId: string) => ({
  order_id: orderId,
  user_id: "u-1",
  reason: "changed mind",
  cancelled_at: new Date().toISOString(),
})

export const fulfil = (orderId: string, fulfillmentId?: string, items?: ReadonlyArray<readonly [string, number]>) => ({
  order_id: orderId,
  ...(fulfillmentId !== undefined ? { fulfillment_id: fulfillmentId } : {}),
  ...(items !== undefined ? { items: items.map(([product_id, quantity]) => ({ product_id, quantity })) } : {}),
  fulfilled_at: new Date().toISOString(),
})

export const of = (events: ReadonlyArray<SeenEvent>, topic: string, key: string) =>
  events.filter((e) => e.topic === topic && e.key === key)

export const stockOf = (productId: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<{ available: number; reserved: number; on_hand: number }>`
      SELECT available, reserved, on_hand FROM stock WHERE product_id = ${productId}`
    return row
  })

export const seed = (productId: string, quantity: number, threshold = 0) =>
  Effect.flatMap(Engine, (engine) => engine.define(pid(productId), { initialQuantity: quantity, threshold }))

/** An order's row and its lines (ordered, held, fulfilled, released), as PostgreSQL has them. */
export const reservationOf = (orderId: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql<{ status: string; expires_at: Date | null }>`
      SELECT status, expires_at FROM reservations WHERE order_id = ${orderId}`
    const lines = yield* sql<{ product_id: string; quantity: number; fulfilled: number; released: number }>`
      SELECT product_id, quantity, fulfilled, released FROM reservation_lines WHERE order_id = ${orderId} ORDER BY product_id`
    return { ...row, lines }
  })
