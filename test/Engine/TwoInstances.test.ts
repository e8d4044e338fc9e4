import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, FastCheck as fc, Layer } from "effect"
import type { OrderId, ProductId } from "../../src/Domain/Ids.js"
import { Engine } from "../../src/Engine/Engine.js"
import { type LifecycleStep, lifecycleMessages, lifecycleOrders } from "../support/Interleave.js"
import { makeMemoryStore } from "../support/MemoryStore.js"
import { testConfigLayer } from "../support/TestConfig.js"

// Two instances over one store, the partition moving between them (as a rebalance moves it): each
// chunk of an order's messages, in order, goes to one instance or the other (sometimes with the chunk
// before it again, as an offset not committed before the move is), so what one instance remembers of
// an order or a product is stale once the other has moved it on. Whatever each remembers, the store
// must end with one story per order. (A soak run, seed 602, once ended an order partially_fulfilled
// with nothing left to ship; the store now also refuses an order move decided on a stale memory of
// the order's lines — test/Store/Commit.test.ts — and this property covers the instances around it.)

const scenario = fc.record({
  stock: fc.tuple(fc.nat(15), fc.nat(15), fc.nat(15)),
  orders: lifecycleOrders(8),
  /** per chunk: how many messages, which instance, and whether the chunk before is delivered again */
  cuts: fc.array(fc.record({ size: fc.integer({ min: 1, max: 4 }), to: fc.constantFrom(0, 1), again: fc.boolean() }), {
    minLength: 1,
    maxLength: 40,
  }),
})

const product = (i: number) => `t${i}` as ProductId

const check = (s: typeof scenario extends fc.Arbitrary<infer T> ? T : never) => {
  const memory = makeMemoryStore()
  const instance = Layer.fresh(
    Engine.DefaultWithoutDependencies.pipe(
      Layer.provide(memory.layer),
      Layer.provide(testConfigLayer({ LOG_LEVEL: "none" })),
    ),
  )
  // the second instance lives in the case's scope too (its committer runs until the case ends)
  const second = Effect.map(Layer.build(instance), (context) => Context.get(context, Engine))
  return Effect.gen(function* () {
    const a = yield* Engine
    const b = yield* second
    yield* Effect.forEach([0, 1, 2], (i) => a.define(product(i), { initialQuantity: s.stock[i]! }))
    const messages = lifecycleMessages(s.orders, (n) => `o${n}` as OrderId, product)
    // the partition's messages in order, chunk by chunk, to one instance or the other; a chunk whose
    // offset was not committed before the partition moved is delivered again
    let at = 0
    let previous: typeof messages = []
    for (const cut of s.cuts) {
      if (at >= messages.length) break
      const chunk = messages.slice(at, at + cut.size)
      at += cut.size
      const engine = cut.to === 0 ? a : b
      yield* engine.process(cut.again ? [...previous, ...chunk] : chunk)
      previous = chunk
    }
    if (at < messages.length) yield* a.process(messages.slice(at))
    expect(memory.violations()).toEqual([])
    for (const [id, order] of memory.tables.orders) {
      const lines = [...(memory.tables.lines.get(id)?.values() ?? [])]
      const sum = (f: (l: (typeof lines)[number]) => number) => lines.reduce((n, l) => n + f(l), 0)
      const [shipped, released, held] = [
        sum((l) => l.fulfilled),
        sum((l) => l.released),
        sum((l) => l.quantity - l.fulfilled - l.released),
      ]
      const story = `${id}: ${order.status} shipped ${shipped} released ${released} held ${held}`
      if (order.status === "reserved") expect([shipped, released], story).toEqual([0, 0])
      if (order.status === "partially_fulfilled") expect(shipped > 0 && held > 0, story).toBe(true)
      if (order.status === "fulfilled") expect([held, released], story).toEqual([0, 0])
      if (order.status === "expired") expect([shipped, held], story).toEqual([0, 0])
      if (order.status === "released") expect(held, story).toBe(0)
      for (const l of lines) expect(l.fulfilled + l.released <= l.quantity, story).toBe(true)
    }
  }).pipe(
    Effect.provide(instance),
    Effect.scoped,
    // a case that never finishes (instances deciding against each other forever) fails, and shrinks
    Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error("the case did not finish in 30 s") }),
  )
}

/**
 * Found by this property in CI: instance A, holding a stale memory of two products, fulfils an order
 * whose first line it ships and whose second it cannot (memory disagrees with itself); meanwhile a new
 * order short on the first product is parked behind that never-settled shipment, and the chunk waited
 * for it forever. A failing message now discards memory at once, which answers parked commands.
 */
const parkedBehindAFailedSaga = {
  stock: [1, 6, 13] as [number, number, number],
  orders: [
    {
      lines: [
        { product: 1, quantity: 1 },
        { product: 1, quantity: 1 },
      ],
      deliveries: 2,
      steps: ["extend", "extend"],
    },
    {
      lines: [
        { product: 1, quantity: 2 },
        { product: 2, quantity: 1 },
      ],
      deliveries: 2,
      steps: ["extend", "fulfil"],
    },
    {
      lines: [
        { product: 1, quantity: 4 },
        { product: 1, quantity: 3 },
      ],
      deliveries: 1,
      steps: ["fulfil-part", "cancel", "expire"],
    },
    {
      lines: [
        { product: 1, quantity: 1 },
        { product: 2, quantity: 1 },
      ],
      deliveries: 1,
      steps: ["fulfil-part", "cancel"],
    },
  ] as Array<{
    lines: Array<{ product: number; quantity: number }>
    deliveries: number
    steps: Array<LifecycleStep>
  }>,
  cuts: [
    { size: 3, to: 0, again: false },
    { size: 4, to: 1, again: false },
    { size: 3, to: 0, again: false },
  ],
}

describe("two instances over one store, the partition moving between them", () => {
  it.live("do not wait forever for a shipment a failed fulfilment never settles", () => check(parkedBehindAFailedSaga))

  it.live("end with one story per order, whatever each remembered", () =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(scenario, (s) => Effect.runPromise(check(s))),
        { numRuns: 300, endOnFailure: true },
      ),
    ),
  )
})
