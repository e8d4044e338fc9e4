import { expect, layer } from "@effect/vitest"
import { Duration, Effect, Fiber } from "effect"
import { invariantViolations, processHarness, SuiteEnv } from "../support/Harness.js"
import { makeOrders, seedHot } from "../support/Load.js"
import { outcomeReport, waitForDrain } from "../support/Outcomes.js"
import { kill9, startService, stop } from "../support/ServiceProcess.js"
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

layer(processHarness({ label: "crash", env: { KAFKA_SESSION_TIMEOUT_MS: "6000" } }), { excludeTestServices: true })(
  "kill -9 under load",
  (it) => {
    it.effect(
      "loses nothing and doubles nothing across repeated crashes",
      () =>
        Effect.gen(function* () {
          const kafka = yield* TestKafka
          const env = yield* SuiteEnv
          yield* seedHot(1500)
          const orders = makeOrders("crash", 4000, 11)
          const producing = yield* Effect.forEach(
            Array.from({ length: 10 }, (_, i) => orders.slice(i * 400, (i + 1) * 400)),
            (slice) =>
              Effect.zipRight(kafka.sendMany(kafka.topics.ordersCreated, slice), Effect.sleep(Duration.millis(300))),
            { discard: true },
          ).pipe(Effect.fork)
          let kills = 0
          for (let i = 0; i < 4; i++) {
            const service = yield* startService(`crash-${i}`, env)
            yield* Effect.sleep(Duration.millis(400 + ((i * 337) % 1200))) // spread, and the same every run
            yield* kill9(service)
            kills++
          }
          yield* Fiber.join(producing)
          const survivor = yield* startService("survivor", env)
          const report = yield* waitForDrain(orders.map((o) => o.key))
          console.info(`kill -9 x${kills}:`, JSON.stringify(report))
          expect(yield* stop(survivor)).toBe(0)
          expect(yield* invariantViolations).toEqual([])
          expect(report).toMatchObject({ lost: 0, doubled: 0, missingEvents: 0 })
          expect(yield* outcomeReport(orders.map((o) => o.key))).toMatchObject({ lost: 0, doubled: 0 })
        }),
      300_000,
    )
  },
)
