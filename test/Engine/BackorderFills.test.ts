import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import type { OrderId, ProductId, Quantity } from "../../src/Domain/Ids.js"
import { fillInTurn } from "../../src/Engine/BackorderFiller.js"
import { Engine } from "../../src/Engine/Engine.js"
import { makeMemoryStore } from "../support/MemoryStore.js"
import { testConfigLayer } from "../support/TestConfig.js"

// The filler decides a fill on the order as the store has it, oldest first, and never insists on a
// fill the commit refused. Found by the soak: an instance whose memory of the oldest waiting order was
// older than another instance's steps decided nothing for it, filled the next order instead, and
// retried that refused fill forever (every commit of the instance refused with it).

const pid = "bf-A" as ProductId
const oid = (id: string) => id as OrderId

describe("the backorder filler", () => {
  it.live("fills the oldest order first even when this instance's memory of it is stale", () =>
    Effect.gen(function* () {
      const memory = makeMemoryStore()
      const engine = (label: string) =>
        Engine.DefaultWithoutDependencies.pipe(
          Layer.provide(memory.layer),
          Layer.provide(testConfigLayer({ LOG_LEVEL: "none", KAFKA_GROUP_ID: label })),
        )
      // two instances over one database, each with its own memory
      const a = Context.get(yield* Layer.build(engine("a")), Engine)
      const b = Context.get(yield* Layer.build(engine("b")), Engine)
      yield* a.define(pid, { initialQuantity: 0, backorderLimit: 10 })
      // b hears of o1 first: a fulfilment before the order, refused; b's memory: o1 not seen
      yield* b.process([{ _tag: "Fulfilled", order: { order_id: oid("o1"), fulfillment_id: "early" } }])
      // a reserves o1 then o2: both only promised
      for (const id of ["o1", "o2"])
        yield* a.process([
          { _tag: "Created", order: { order_id: oid(id), items: [{ product_id: pid, quantity: 2 as Quantity }] } },
        ])
      expect(memory.tables.stock.get(pid)).toMatchObject({ available: 0, backordered: 4 })
      // 3 arrive; b fills: o1's 2 first, then 1 of o2's
      yield* a.adjust({ productId: pid, quantity: 3, adjustmentType: "restock" })
      yield* fillInTurn(b, memory.waiting()).pipe(Effect.timeout("5 seconds"))
      const promised = (id: string) => [...(memory.tables.lines.get(oid(id))?.values() ?? [])][0]?.backordered
      expect([promised("o1"), promised("o2")]).toEqual([0, 1])
      expect(memory.violations()).toEqual([])
    }).pipe(Effect.scoped),
  )
})
