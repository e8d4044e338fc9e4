import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"
import type { OrderId, ProductId } from "../../src/Domain/Ids.js"
import { Engine } from "../../src/Engine/Engine.js"
import { engineAtRest, engineHarness, invariantViolations } from "../support/Harness.js"
import { assertScenarios, type LifecycleStep, lifecycleMessages, runInterleaved } from "../support/Interleave.js"

// Random interleavings of everything that moves a reservation, on three hot products: creates
// (some delivered twice), fulfilments whole and partial (some redelivered), cancellations,
// extensions, expiries (an extension into the past, then the expiry; the sweeper runs too) and
// adjustments, shuffled and decided in concurrent chunks.

const line = fc.record({ product: fc.constantFrom(0, 1, 2), quantity: fc.integer({ min: 1, max: 4 }) })
const step = fc.constantFrom<LifecycleStep>("fulfil", "fulfil-part", "cancel", "extend", "expire")

const scenario = fc.record({
  stock: fc.tuple(fc.nat(25), fc.nat(25), fc.nat(25)),
  orders: fc.array(
    fc.record({
      lines: fc.array(line, { minLength: 1, maxLength: 3 }),
      deliveries: fc.integer({ min: 1, max: 2 }),
      steps: fc.array(step, { maxLength: 3 }),
    }),
    { minLength: 1, maxLength: 30 },
  ),
  adjustments: fc.array(
    fc.record({ product: fc.constantFrom(0, 1, 2), quantity: fc.integer({ min: -6, max: 6 }).filter((n) => n !== 0) }),
    { maxLength: 5 },
  ),
  seed: fc.integer(),
  chunks: fc.integer({ min: 1, max: 5 }),
})

let run = 0

layer(engineHarness({ label: "lifecycle", env: { EXPIRY_SWEEP_MS: "50" } }), { excludeTestServices: true })(
  "random lifecycles",
  (it) => {
    it.effect(
      "keep invariants 1-6, each order one coherent story, memory equal to PostgreSQL",
      () => assertScenarios(scenario, check, 15),
      180_000,
    )
  },
)

const check = (s: typeof scenario extends fc.Arbitrary<infer T> ? T : never) =>
  Effect.gen(function* () {
    const engine = yield* Engine
    const sql = yield* SqlClient.SqlClient
    const tag = `l${++run}`
    const product = (i: number) => `${tag}-p${i}` as ProductId
    yield* Effect.forEach([0, 1, 2], (i) => engine.define(product(i), { initialQuantity: s.stock[i]! }))

    const messages = lifecycleMessages(s.orders, (n) => `${tag}-o${n}` as OrderId, product)
    // any interleaving of an order's messages, in concurrent chunks, adjustments meanwhile
    const adjusted = yield* runInterleaved(messages, {
      seed: s.seed,
      chunks: s.chunks,
      adjustments: s.adjustments,
      product,
    })
    yield* Effect.sleep("120 millis") // let the sweeper take what fell due
    yield* engineAtRest // and commit it: memory is compared with the rows below

    expect(yield* invariantViolations).toEqual([])
    const orders = yield* sql<{ order_id: string; status: string; fulfilled: number; released: number; held: number }>`
      SELECT r.order_id, r.status, COALESCE(sum(l.fulfilled), 0)::int AS fulfilled, COALESCE(sum(l.released), 0)::int AS released,
             COALESCE(sum(l.quantity - l.fulfilled - l.released), 0)::int AS held
        FROM reservations r LEFT JOIN reservation_lines l USING (order_id)
       WHERE r.order_id LIKE ${`${tag}-%`} GROUP BY r.order_id, r.status`
    expect(orders.length).toBe(s.orders.length)
    for (const o of orders) {
      // each status tells one story of the order's lines
      if (o.status === "reserved") expect([o.fulfilled, o.released]).toEqual([0, 0])
      if (o.status === "partially_fulfilled") expect(o.fulfilled > 0 && o.held > 0 && o.released === 0).toBe(true)
      if (o.status === "fulfilled") expect([o.held, o.released]).toEqual([0, 0])
      if (o.status === "expired") expect([o.fulfilled, o.held]).toEqual([0, 0])
      if (o.status === "released") expect(o.held).toBe(0)
      if (o.status === "rejected") expect(o.fulfilled + o.released + o.held).toBe(0)
    }
    // on hand moved only by adjustments and what shipped
    const stock = yield* sql<{ product_id: string; available: number; reserved: number; on_hand: number }>`
      SELECT product_id, available, reserved, on_hand FROM stock WHERE product_id LIKE ${`${tag}-%`} ORDER BY product_id`
    const shipped = yield* sql<{ product_id: string; n: number }>`
      SELECT product_id, sum(fulfilled)::int AS n FROM reservation_lines WHERE product_id LIKE ${`${tag}-%`} GROUP BY product_id`
    const shippedOf = new Map(shipped.map((r) => [r.product_id, r.n]))
    expect(stock.map((r) => r.on_hand)).toEqual(
      [0, 1, 2].map((i) => s.stock[i]! + adjusted[i]! - (shippedOf.get(product(i)) ?? 0)),
    )
    for (const row of stock) {
      const memory = engine.inMemory(row.product_id as ProductId)
      if (memory) expect(memory).toEqual({ available: row.available, reserved: row.reserved, onHand: row.on_hand })
    }
  })
