import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"
import type { OrderId, ProductId } from "../../src/Domain/Ids.js"
import type { OrderMessage } from "../../src/Domain/Orders.js"
import { sumLines } from "../../src/Domain/Stock.js"
import { Engine } from "../../src/Engine/Engine.js"
import { engineHarness, invariantViolations } from "../support/Harness.js"
import { assertScenarios, runInterleaved } from "../support/Interleave.js"

const HOT = ["h0", "h1", "h2"] as const

const scenario = fc.record({
  stock: fc.tuple(fc.nat(20), fc.nat(20), fc.nat(20)),
  orders: fc.array(
    fc.record({
      lines: fc.array(fc.record({ product: fc.constantFrom(0, 1, 2), quantity: fc.integer({ min: 1, max: 5 }) }), {
        minLength: 1,
        maxLength: 4,
      }),
      deliveries: fc.integer({ min: 1, max: 2 }),
      cancels: fc.integer({ min: 0, max: 2 }),
    }),
    { minLength: 1, maxLength: 40 },
  ),
  adjustments: fc.array(
    fc.record({ product: fc.constantFrom(0, 1, 2), quantity: fc.integer({ min: -6, max: 6 }).filter((n) => n !== 0) }),
    {
      maxLength: 6,
    },
  ),
  seed: fc.integer(),
  chunks: fc.integer({ min: 1, max: 6 }),
})

let run = 0

layer(engineHarness({ label: "interleave" }), { excludeTestServices: true })("random interleavings", (it) => {
  it.effect(
    "keep no-oversell, all-or-nothing and exactly-once, checked in PostgreSQL",
    () => assertScenarios(scenario, check, 12),
    180_000,
  )

  // Found by the soak: sagas of one chunk interleave (the runtime yields to other fibers), a saga can
  // complete after a later one on the same product, and a saga undone by a short line leaves no
  // ledger row although later moves saw its hold. The ledger must still replay to the rows.
  it.effect("write a ledger that replays to the rows however the sagas of a chunk interleave", () =>
    Effect.gen(function* () {
      const engine = yield* Engine
      const products = ["lp0", "lp1", "lp2", "lp3"] as Array<ProductId>
      yield* Effect.forEach(products, (p) => engine.define(p, { initialQuantity: 3000 }))
      let x = 7
      const next = (n: number) => {
        x = (x * 1103515245 + 12345) >>> 0
        return x % n
      }
      const messages: Array<OrderMessage> = Array.from({ length: 4000 }, (_, n) => ({
        _tag: "Created",
        order: {
          order_id: `lp-o${n}` as OrderId,
          items: products.map((product_id) => ({ product_id, quantity: 1 + next(3) })) as never,
        },
      }))
      yield* engine.process(messages)
      const violations = yield* invariantViolations
      expect(violations.slice(0, 3)).toEqual([])
    }),
  )

  it.effect("notice a row changed by someone else (version check) and decide again on fresh stock", () =>
    Effect.gen(function* () {
      const engine = yield* Engine
      const sql = yield* SqlClient.SqlClient
      const p = "elsewhere-P" as ProductId
      const created = (order_id: string, quantity: number): OrderMessage => ({
        _tag: "Created",
        order: { order_id: order_id as OrderId, items: [{ product_id: p, quantity: quantity as never }] as never },
      })
      yield* engine.define(p, { initialQuantity: 10 })
      yield* engine.process([created("else-1", 3)])
      expect(engine.inMemory(p)).toEqual({ available: 7, reserved: 3, onHand: 10 })
      // another instance restocks the product behind this one's back
      yield* sql`UPDATE stock SET available = available + 10, on_hand = on_hand + 10, version = version + 1 WHERE product_id = ${p}`
      yield* engine.process([created("else-2", 15)])
      const rows = yield* sql`SELECT order_id, status FROM reservations WHERE order_id LIKE 'else-%' ORDER BY order_id`
      expect(rows).toEqual([
        { order_id: "else-1", status: "reserved" },
        { order_id: "else-2", status: "reserved" },
      ])
      const [stock] = yield* sql`SELECT available, reserved, on_hand FROM stock WHERE product_id = ${p}`
      expect(stock).toEqual({ available: 2, reserved: 18, on_hand: 20 })
      expect(engine.inMemory(p)).toEqual({ available: 2, reserved: 18, onHand: 20 })
    }),
  )
})

const check = (s: typeof scenario extends fc.Arbitrary<infer T> ? T : never) =>
  Effect.gen(function* () {
    const engine = yield* Engine
    const sql = yield* SqlClient.SqlClient
    const tag = `r${++run}`
    const product = (i: number) => `${tag}-${HOT[i]}` as ProductId
    yield* Effect.forEach([0, 1, 2], (i) => engine.define(product(i), { initialQuantity: s.stock[i]!, threshold: 3 }))

    const messages: Array<OrderMessage> = []
    s.orders.forEach((o, n) => {
      const order_id = `${tag}-o${n}` as OrderId
      const items = o.lines.map((l) => ({ product_id: product(l.product), quantity: l.quantity as never }))
      for (let d = 0; d < o.deliveries; d++)
        messages.push({ _tag: "Created", order: { order_id, items: items as never } })
      for (let c = 0; c < o.cancels; c++) messages.push({ _tag: "Cancelled", order: { order_id } })
    })
    // any interleaving of an order's messages, in concurrent chunks, adjustments meanwhile
    const onHandChange = yield* runInterleaved(messages, {
      seed: s.seed,
      chunks: s.chunks,
      adjustments: s.adjustments,
      product,
    })

    expect(yield* invariantViolations).toEqual([])
    const rows = yield* sql<{
      order_id: string
      status: string
      lines: Array<{ product_id: string; quantity: number }> | null
    }>`
      SELECT r.order_id, r.status,
             (SELECT json_agg(json_build_object('product_id', l.product_id, 'quantity', l.quantity) ORDER BY l.product_id)
                FROM reservation_lines l WHERE l.order_id = r.order_id) AS lines
        FROM reservations r WHERE r.order_id LIKE ${`${tag}-%`}`
    const byId = new Map(rows.map((r) => [r.order_id, r]))
    expect(rows.length).toBe(s.orders.length)
    s.orders.forEach((o, n) => {
      const row = byId.get(`${tag}-o${n}`)!
      const wanted = sumLines(o.lines.map((l) => ({ product_id: product(l.product), quantity: l.quantity })))
        .map((l) => ({ product_id: l.productId, quantity: l.quantity }))
        .sort((a, b) => a.product_id.localeCompare(b.product_id))
      if (row.status === "reserved" || row.status === "released") expect(row.lines).toEqual(wanted)
      else expect(row.lines).toBeNull()
      if (o.cancels > 0) expect(row.status).not.toBe("reserved")
    })
    const stock = yield* sql<{ product_id: string; available: number; reserved: number; on_hand: number }>`
      SELECT product_id, available, reserved, on_hand FROM stock WHERE product_id LIKE ${`${tag}-%`} ORDER BY product_id`
    expect(stock.map((r) => r.on_hand)).toEqual([0, 1, 2].map((i) => s.stock[i]! + onHandChange[i]!))
    // memory is a fast path that must agree with the truth once everything is committed
    for (const row of stock) {
      const memory = engine.inMemory(row.product_id as ProductId)
      if (memory) expect(memory).toEqual({ available: row.available, reserved: row.reserved, onHand: row.on_hand })
    }
  })
