import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { invariantViolations, processHarness, SuiteEnv } from "../support/Harness.js"
import { makeOrders, seedHot, seedHotAt } from "../support/Load.js"
import { waitForDrain } from "../support/Outcomes.js"
import { startService, stop } from "../support/ServiceProcess.js"
import { TestKafka } from "../support/TestKafka.js"

layer(processHarness({ label: "twoinstances", env: { KAFKA_SESSION_TIMEOUT_MS: "6000" } }), {
  excludeTestServices: true,
})("two instances in one group", (it) => {
  it.effect(
    "share hot products and stay correct: invariants hold, every order has exactly one outcome",
    () =>
      Effect.gen(function* () {
        const kafka = yield* TestKafka
        const env = yield* SuiteEnv
        yield* seedHot(1200)
        const [a, b] = yield* Effect.all([startService("A", env), startService("B", env)], { concurrency: 2 })
        const orders = makeOrders("two", 3000, 7)
        yield* kafka.sendMany(kafka.topics.ordersCreated, orders)
        const report = yield* waitForDrain(orders.map((o) => o.key))
        console.info("two instances:", JSON.stringify(report))
        expect(yield* Effect.all([stop(a!), stop(b!)])).toEqual([0, 0])
        expect(yield* invariantViolations).toEqual([])
        expect(report).toMatchObject({ lost: 0, doubled: 0, missingEvents: 0 })
      }),
    240_000,
  )

  it.effect(
    "share hot products kept at two locations, some lines pinned, and every allocation adds up",
    () =>
      Effect.gen(function* () {
        const kafka = yield* TestKafka
        const env = yield* SuiteEnv
        const sql = yield* SqlClient.SqlClient
        yield* sql`TRUNCATE stock, reservations, reservation_lines, stock_ledger, outbox, fulfillments CASCADE`
        yield* seedHotAt(["east", "west"], 400)
        const [a, b] = yield* Effect.all([startService("A", env), startService("B", env)], { concurrency: 2 })
        const orders = makeOrders("split", 3000, 11, ["east", "west"])
        yield* kafka.sendMany(kafka.topics.ordersCreated, orders)
        const report = yield* waitForDrain(orders.map((o) => o.key))
        console.info("two instances, two locations:", JSON.stringify(report))
        expect(yield* Effect.all([stop(a!), stop(b!)])).toEqual([0, 0])
        expect(yield* invariantViolations).toEqual([])
        expect(report).toMatchObject({ lost: 0, doubled: 0, missingEvents: 0 })
        // invariant 8: each reserved order's lines hold, per product, what it asked for; pins are kept
        const asked = new Map(
          orders.map((o) => [
            o.key,
            JSON.parse(o.value).items as Array<{ product_id: string; quantity: number; location_id?: string }>,
          ]),
        )
        const lines = yield* sql<{ order_id: string; product_id: string; location_id: string; quantity: number }>`
          SELECT order_id, product_id, location_id, quantity FROM reservation_lines WHERE order_id LIKE 'split-%'`
        const held = new Map<string, number>()
        for (const l of lines)
          held.set(`${l.order_id}/${l.product_id}`, (held.get(`${l.order_id}/${l.product_id}`) ?? 0) + l.quantity)
        const reserved = new Set(lines.map((l) => l.order_id))
        expect(reserved.size).toBeGreaterThan(100)
        for (const id of reserved) {
          const want = new Map<string, number>()
          for (const i of asked.get(id)!) want.set(i.product_id, (want.get(i.product_id) ?? 0) + i.quantity)
          for (const [p, q] of want) expect(held.get(`${id}/${p}`), `${id} ${p}`).toBe(q)
          for (const i of asked.get(id)!)
            if (i.location_id !== undefined)
              expect(
                lines
                  .filter((l) => l.order_id === id && l.product_id === i.product_id && l.location_id === i.location_id)
                  .reduce((n, l) => n + l.quantity, 0),
              ).toBeGreaterThanOrEqual(i.quantity)
        }
      }),
    240_000,
  )
})

// kill -9 under load is the fault suite's (test/Faults, npm run test:faults; in CI too).
