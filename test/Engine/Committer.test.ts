import { Effect, Scope } from "effect"
import { describe, expect, it } from "vitest"
import { topicsWithSuffix } from "../../src/Config.js"
import type { OrderId, ProductId } from "../../src/Domain/Ids.js"
import { DefaultLocation } from "../../src/Domain/Lifecycle.js"
import type { OrderMessage } from "../../src/Domain/Orders.js"
import { makeCommitter } from "../../src/Engine/Committer.js"
import { type Decision, decision } from "../../src/Engine/Decision.js"
import { Generation } from "../../src/Engine/Generation.js"
import { makeOrderHandling } from "../../src/Engine/OrderHandling.js"
import * as Pending from "../../src/Engine/Pending.js"
import type { CommitBatch, Fence, OrderStep } from "../../src/Store/CommitBatch.js"
import { CommitConflict } from "../../src/Store/Errors.js"
import { StockStore } from "../../src/Store/StockStore.js"
import { makeMemoryStore } from "../support/MemoryStore.js"
import { fulfil, order } from "../support/Orders.js"

const run = <A>(effect: Effect.Effect<A, unknown>) => Effect.runPromise(effect)
const oid = (id: string) => id as OrderId
const P = "P" as ProductId

/** A committer over `store` whose fiber lives as long as the test (its scope is left open). */
const committerOver = (store: StockStore, fenced: (fences: ReadonlyArray<Fence>) => void = () => {}) =>
  run(
    Effect.flatMap(Scope.make(), (scope) =>
      Scope.extend(makeCommitter({ store, batchSize: 100, discard: () => {}, fenced, committed: () => {} }), scope),
    ),
  )

/** Orders served from `default` only, as a shop with one location. */
const oneLocation = {
  strategy: "single_first",
  locations: () => [{ id: DefaultLocation, priority: 100, channels: [], active: true }],
} as const

/** Product P, created with 10 units. */
const createP = (store: StockStore) =>
  store.commit({
    products: [{ productId: P, locationId: DefaultLocation, exists: false, create: true }],
    decisions: [
      {
        changes: [{ _tag: "Initial", productId: P, locationId: DefaultLocation, quantity: 10 }],
        events: [],
        idempotency: [],
      },
    ],
    fences: [],
  })

/** A generation over `store` with P in memory, its actors' fibers run at once. */
const generationWithP = async (store: StockStore) => {
  const generation = new Generation(1, {
    loadStock: store.loadStock,
    mailboxCapacity: 8,
    fork: (effect) => {
      Effect.runFork(effect)
    },
  })
  await run(generation.ensure([P]))
  return generation
}

describe("the committer", () => {
  it("names the partitions a commit was refused for (fenced), so nothing is decided from them again", async () => {
    const store = {
      commit: () => Effect.fail(new CommitConflict({ reason: "partition fenced", productIds: ["g/3", "P"] })),
    } as unknown as StockStore
    const refused: Array<Fence> = []
    const committer = await committerOver(store, (fences) => refused.push(...fences))
    const generation = new Generation(1, { loadStock: () => Effect.succeed([]), mailboxCapacity: 8, fork: () => {} })
    const mine: Fence = { group: "g", partition: 3, epoch: 7 }
    const other: Fence = { group: "g", partition: 4, epoch: 2 }
    const submitted = await run(
      Effect.forEach([mine, other], (fence, i) =>
        committer.submit(generation, decision({ step: { _tag: "CancelFirst", orderId: oid(`f${i}`) }, fence })),
      ),
    )
    for (const done of submitted) await run(Effect.either(Pending.wait(done)))
    expect(refused).toEqual([mine])
  }, 10_000)

  it("commits one order's steps one statement after another, in the order they were handed over", async () => {
    const batches: Array<CommitBatch> = []
    const store = {
      commit: (batch: CommitBatch) =>
        Effect.sync(() => {
          batches.push(batch)
          return new Map<ProductId, number>()
        }).pipe(Effect.delay("20 millis")),
    } as unknown as StockStore
    const committer = await committerOver(store)
    const generation = new Generation(1, { loadStock: () => Effect.succeed([]), mailboxCapacity: 8, fork: () => {} })
    const step = (orderId: string, tag: "CancelFirst" | "Extend"): OrderStep =>
      tag === "CancelFirst" ? { _tag: tag, orderId: oid(orderId) } : { _tag: tag, orderId: oid(orderId), expiresAt: 1 }
    // the first statement starts at once; the rest wait behind it and are taken together
    const steps = [step("a", "CancelFirst"), step("b", "CancelFirst"), step("b", "Extend"), step("c", "CancelFirst")]
    const done = await run(Effect.forEach(steps, (s) => committer.submit(generation, decision({ step: s }))))
    await Promise.all(done.map((d) => run(Pending.wait(d))))
    const orders = batches.map((b) => b.decisions.map((d) => `${d.step?.orderId}:${d.step?._tag}`))
    for (const b of orders) expect(new Set(b.map((s) => s.split(":")[0])).size).toBe(b.length)
    expect(orders.flat()).toEqual(["a:CancelFirst", "b:CancelFirst", "b:Extend", "c:CancelFirst"])
  }, 10_000)

  it("receives an order's next step only after the step before it, however long handing over takes", async () => {
    // seed 603: the create of an order was decided, its waiters woken, and its two fulfilments
    // decided and queued before the create reached the committer: the statement then wrote the
    // second fulfilment on the order as inserted and left a unit reserved that no line held
    const memory = makeMemoryStore()
    const store = await run(Effect.provide(StockStore, memory.layer))
    const committer = await committerOver(store)
    await run(createP(store))
    const generation = await generationWithP(store)
    const handedOver: Array<string> = []
    // handing the create over takes a while (the fiber yields, another runs): its next steps wait
    const submit = (g: Generation, d: Decision) =>
      Effect.zipRight(
        d.step?._tag === "Reserve" ? Effect.sleep("50 millis") : Effect.yieldNow(),
        Effect.suspend(() => {
          handedOver.push(`${d.step?._tag}${d.step?._tag === "Ship" ? ` ${d.step.to}` : ""}`)
          return committer.submit(g, d)
        }),
      )
    const { handle } = makeOrderHandling({ topics: topicsWithSuffix(""), ttlSeconds: 0, ...oneLocation, submit })
    const messages: Array<OrderMessage> = [
      { _tag: "Created", order: order("s603", [["P", 3]]) as never },
      { _tag: "Fulfilled", order: fulfil("s603", "first", [["P", 1]]) as never },
      { _tag: "Fulfilled", order: fulfil("s603", "rest", [["P", 2]]) as never },
    ]
    const stored = new Map()
    const pending = await run(
      Effect.forEach(messages, (m) => handle(generation, m, stored), { concurrency: "unbounded" }),
    )
    await Promise.all(pending.map((p) => (p === undefined ? undefined : run(Pending.wait(p)))))
    expect(handedOver).toEqual(["Reserve", "Ship partially_fulfilled", "Ship fulfilled"])
    expect(memory.violations()).toEqual([])
    expect(memory.tables.orders.get(oid("s603"))?.status).toBe("fulfilled")
    expect(memory.tables.stock.get(P)).toMatchObject({ available: 7, reserved: 0, onHand: 7 })
  }, 10_000)

  it("lands the work of two writers that share a product, and each memory adopts the row as committed", async () => {
    // two instances (or an instance and the expiry sweeper) over one database: each decided on the
    // level it read, each commit is judged on the row as it is then
    const memory = makeMemoryStore()
    const store = await run(Effect.provide(StockStore, memory.layer))
    await run(createP(store))
    const instance = async () => {
      const committer = await committerOver(store)
      const generation = await generationWithP(store)
      const { handle } = makeOrderHandling({
        topics: topicsWithSuffix(""),
        ttlSeconds: 0,
        ...oneLocation,
        submit: committer.submit,
      })
      const reserve = (id: string, quantity: number) =>
        run(
          Effect.flatMap(
            handle(generation, { _tag: "Created", order: order(id, [["P", quantity]]) as never }, new Map()),
            (done) => (done === undefined ? Effect.void : Pending.wait(done)),
          ),
        )
      const level = () => generation.actors.get(P)?.cells.get(DefaultLocation)?.level
      return { reserve, level }
    }
    const a = await instance()
    const b = await instance() // both read 10 available
    await a.reserve("a1", 3)
    await b.reserve("b1", 2) // decided on 10, the row has 7: it lands
    expect(memory.tables.stock.get(P)).toMatchObject({ available: 5, reserved: 5, onHand: 10 })
    expect(b.level()).toEqual({ available: 5, reserved: 5, onHand: 10 })
    await a.reserve("a2", 5) // a's memory said 7, the row had 5: it lands, and a sees what b did
    expect(a.level()).toEqual({ available: 0, reserved: 10, onHand: 10 })
    expect(memory.tables.orders.get(oid("b1"))?.status).toBe("reserved")
    expect(memory.violations()).toEqual([])
  }, 10_000)
})
