import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc, Layer, Option } from "effect"
import type { Location } from "../../src/Domain/Allocation.js"
import type { OrderId, ProductId } from "../../src/Domain/Ids.js"
import { stockKey } from "../../src/Domain/Lifecycle.js"
import { fillInTurn } from "../../src/Engine/BackorderFiller.js"
import { Engine } from "../../src/Engine/Engine.js"
import type { Transfer } from "../../src/Engine/Transfers.js"
import { lifecycleMessages, lifecycleOrders, runInterleaved } from "../support/Interleave.js"
import { makeMemoryStore } from "../support/MemoryStore.js"
import { testConfigLayer } from "../support/TestConfig.js"

// Random lifecycles with stock at several locations, lines pinned (to a real location or to none that
// exists), backorders within random limits, transfers sent and received, adjustments at either place,
// and the filler turning promises into reservations, all at once, over the in-memory store: invariants
// 1-6 per product and location, 7 (promises add up and stay within the limit), 8 (a line's allocations
// add up to it), 9 (on hand over the locations plus what is in transit is what came in less what
// shipped), no promise left where stock could fill it, and memory = the store.

const locations: ReadonlyArray<Location> = [
  { id: "a", priority: 10, channels: [], active: true },
  { id: "b", priority: 20, channels: [], active: true },
  { id: "default", priority: 100, channels: [], active: true },
]
const places = ["a", "b"] as const

const scenario = fc.record({
  strategy: fc.constantFrom("single_first", "priority"),
  stock: fc.array(fc.nat(8), { minLength: 6, maxLength: 6 }),
  limits: fc.array(fc.oneof(fc.constant(0), fc.nat(4)), { minLength: 6, maxLength: 6 }),
  orders: lifecycleOrders(10),
  pins: fc.array(fc.option(fc.constantFrom("a", "b", "nowhere"), { nil: undefined, freq: 3 }), { maxLength: 30 }),
  adjustments: fc.array(
    fc.record({
      product: fc.constantFrom(0, 1, 2),
      at: fc.constantFrom(...places),
      quantity: fc.integer({ min: -3, max: 5 }),
    }),
    { maxLength: 3 },
  ),
  transfers: fc.array(
    fc.record({
      product: fc.constantFrom(0, 1, 2),
      from: fc.constantFrom(...places),
      to: fc.constantFrom("a", "b", "default"),
      quantity: fc.integer({ min: 1, max: 4 }),
      parts: fc.integer({ min: 0, max: 2 }),
    }),
    { maxLength: 3 },
  ),
  seed: fc.integer(),
  chunks: fc.integer({ min: 1, max: 4 }),
})

const product = (i: number) => `l${i}` as ProductId

const check = (s: typeof scenario extends fc.Arbitrary<infer T> ? T : never) => {
  const memory = makeMemoryStore(locations)
  const engineLayer = Engine.DefaultWithoutDependencies.pipe(
    Layer.provide(memory.layer),
    Layer.provide(
      testConfigLayer({ LOG_LEVEL: "none", ALLOCATION_STRATEGY: s.strategy, RESERVATION_TTL_SECONDS: "3600" }),
    ),
  )
  return Effect.gen(function* () {
    const engine = yield* Engine
    const initial = [0, 0, 0]
    for (const i of [0, 1, 2])
      for (const [k, at] of places.entries()) {
        const quantity = s.stock[i * 2 + k]!
        yield* engine.define(product(i), { initialQuantity: quantity, backorderLimit: s.limits[i * 2 + k]! }, at)
        initial[i]! += quantity
      }
    const messages = lifecycleMessages(s.orders, (n) => `o${n}` as OrderId, product)
    // pin the k-th line of all orders to s.pins[k]
    let k = 0
    for (const m of messages)
      if (m._tag === "Created" && k < s.pins.length)
        (m.order as unknown as { items: Array<object> }).items = m.order.items.map((item) => {
          const pin = s.pins[k++]
          return pin === undefined ? item : { ...item, location_id: pin }
        })
    const transfer = (t: (typeof s.transfers)[number], n: number) =>
      Effect.gen(function* () {
        if (t.from === t.to) return
        const transferId = `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`
        const sent = yield* Effect.either(
          engine.sendTransfer({
            transferId,
            productId: product(t.product),
            from: t.from,
            to: t.to,
            quantity: t.quantity,
          }),
        )
        if (sent._tag === "Left") return
        const load = Effect.sync(
          (): Transfer => ({
            transferId,
            productId: product(t.product),
            from: t.from,
            to: t.to,
            quantity: t.quantity,
            inTransit: t.quantity - (memory.tables.transfers.get(transferId)?.received ?? 0),
          }),
        )
        for (let part = 0; part < t.parts; part++)
          yield* engine
            .receiveTransfer(load, (x) =>
              x.inTransit === 0
                ? Effect.fail({ _tag: "NothingLeft" as const })
                : Effect.succeed(part + 1 < t.parts ? 1 : x.inTransit),
            )
            .pipe(Effect.ignore)
      })
    const [adjusted] = yield* Effect.all(
      [
        runInterleaved(messages, {
          seed: s.seed,
          chunks: s.chunks,
          adjustments: s.adjustments.filter((a) => a.quantity !== 0),
          product,
        }),
        Effect.forEach(s.transfers, transfer, { concurrency: "unbounded", discard: true }),
        // the filler, meanwhile
        Effect.repeatN(
          Effect.suspend(() => fillInTurn(engine, memory.waiting())),
          3,
        ),
      ],
      { concurrency: "unbounded" },
    )
    // a delivery at every place where promises wait, then the filler until nothing it could fill is left
    for (const row of [...memory.tables.stock.values()].filter((r) => (r.backordered ?? 0) > 1)) {
      const quantity = (row.backordered ?? 0) - 1
      yield* engine.adjust({
        productId: row.productId,
        locationId: row.locationId,
        quantity,
        adjustmentType: "received",
      })
      adjusted[Number(row.productId.slice(1))]! += quantity
    }
    for (let round = 0; round < 5 && memory.waiting().length > 0; round++) yield* fillInTurn(engine, memory.waiting())
    expect(memory.waiting()).toEqual([])
    expect(memory.violations()).toEqual([])
    expect(memory.tables.orders.size).toBe(s.orders.length)
    for (const [id, order] of memory.tables.orders) {
      const lines = [...(memory.tables.lines.get(id)?.values() ?? [])]
      const held = lines.reduce((n, l) => n + l.quantity - l.fulfilled - l.released, 0)
      // a reservation with promises has no due time (unless extended); a fully reserved one has one
      const extended = s.orders[Number(id.slice(1))]!.steps.some((step) => step === "extend" || step === "expire")
      if (lines.some((l) => l.backordered > 0) && !extended) expect(order.expiresAt).toBeNull()
      if (order.status === "reserved" && lines.every((l) => l.backordered === 0)) expect(order.expiresAt).not.toBeNull()
      if (order.status === "rejected" || order.status === "cancelled_before_create") expect(lines).toEqual([])
      if (order.status === "fulfilled" || order.status === "released" || order.status === "expired")
        expect(held).toBe(0)
      // invariant 8: the order's allocations add up to what it asked for, per product
      if (lines.length > 0) {
        const asked = new Map<string, number>()
        for (const l of s.orders[Number(id.slice(1))]!.lines)
          asked.set(product(l.product), (asked.get(product(l.product)) ?? 0) + l.quantity)
        const allocated = new Map<string, number>()
        for (const l of lines) allocated.set(l.productId, (allocated.get(l.productId) ?? 0) + l.quantity)
        expect(allocated).toEqual(asked)
        for (const l of lines) expect(["a", "b", "default"]).toContain(l.locationId)
      }
    }
    for (const i of [0, 1, 2]) {
      const rows = [...memory.tables.stock.values()].filter((r) => r.productId === product(i))
      const onHand = rows.reduce((n, r) => n + r.onHand, 0)
      const inTransit = [...memory.tables.transfers.values()]
        .filter((t) => t.productId === product(i))
        .reduce((n, t) => n + t.quantity - t.received, 0)
      const shipped = memory.tables.ledger
        .filter((r) => r.key.startsWith(`${product(i)}\u0000`) && r.movement === "fulfil")
        .reduce((n, r) => n + r.quantity, 0)
      // invariant 9
      expect(onHand + inTransit).toBe(initial[i]! + adjusted[i]! - shipped)
      for (const r of rows) {
        expect(Option.some(engine.inMemory(product(i), r.locationId))).toEqual(
          Option.some({ available: r.available, reserved: r.reserved, onHand: r.onHand }),
        )
        expect(engine.promisedInMemory(product(i), r.locationId)).toBe(r.backordered)
      }
      expect(memory.tables.stock.get(stockKey(product(i), "nowhere"))).toBeUndefined()
    }
  }).pipe(
    Effect.provide(engineLayer),
    Effect.scoped,
    Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("the case did not finish in 10 s") }),
  )
}

describe("random lifecycles at several locations over the in-memory store", () => {
  it.live(
    "keep invariants 1-9 per location, fill every promise they can, and memory = the store, over 500 interleavings",
    () =>
      Effect.flatMap(Effect.runtime<never>(), () =>
        Effect.promise(() =>
          fc.assert(
            fc.asyncProperty(scenario, (s) => Effect.runPromise(check(s))),
            { numRuns: 500, endOnFailure: true },
          ),
        ),
      ),
  )
})
