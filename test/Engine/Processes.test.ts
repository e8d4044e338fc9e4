import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { invariantViolations, processHarness, SuiteEnv } from "../support/Harness.js"
import { makeOrders, seedHot } from "../support/Load.js"
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
})

// kill -9 under load is the fault suite's (test/Faults, npm run test:faults; in CI too).
