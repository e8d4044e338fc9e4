import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Duration, Effect, Schedule } from "effect"
import { invariantViolations, processHarness, SuiteEnv } from "../support/Harness.js"
import { makeOrders, seedHot } from "../support/Load.js"
import { cancel, fulfil, of } from "../support/Orders.js"
import { waitForDrain } from "../support/Outcomes.js"
import { kill9, startService, stop } from "../support/ServiceProcess.js"
import { TestKafka } from "../support/TestKafka.js"

layer(
  processHarness({
    label: "expiryprocs",
    env: { KAFKA_SESSION_TIMEOUT_MS: "6000", RESERVATION_TTL_SECONDS: "4", EXPIRY_SWEEP_MS: "100" },
  }),
  { excludeTestServices: true },
)("expiry across instances", (it) => {
  it.effect(
    "two instances sweeping, one killed mid-sweep: every due reservation released once; fulfilled and cancelled ones never",
    () =>
      Effect.gen(function* () {
        const kafka = yield* TestKafka
        const env = yield* SuiteEnv
        const sql = yield* SqlClient.SqlClient
        yield* seedHot(100_000)
        const [a, b] = yield* Effect.all([startService("A", env), startService("B", env)], { concurrency: 2 })
        const orders = makeOrders("exp", 1500, 5)
        const ids = orders.map((o) => o.key)
        yield* kafka.sendMany(kafka.topics.ordersCreated, orders)
        yield* waitForDrain(ids)
        // a third shipped, a third cancelled, the rest left to expire
        yield* kafka.sendMany(
          kafka.topics.ordersFulfilled,
          ids.filter((_, i) => i % 3 === 0).map((id) => ({ key: id, value: JSON.stringify(fulfil(id)) })),
        )
        yield* kafka.sendMany(
          kafka.topics.ordersCancelled,
          ids.filter((_, i) => i % 3 === 1).map((id) => ({ key: id, value: JSON.stringify(cancel(id)) })),
        )
        // kill one instance while reservations fall due, start another in its place
        yield* Effect.sleep(Duration.millis(3_500))
        yield* kill9(a!)
        const c = yield* startService("C", env)
        yield* sql<{ n: number }>`
          SELECT count(*)::int AS n FROM reservations WHERE status = 'reserved' OR status = 'partially_fulfilled'`.pipe(
          Effect.flatMap(([row]) => (row!.n === 0 ? Effect.void : Effect.fail(`${row!.n} still held`))),
          Effect.retry(Schedule.spaced(Duration.millis(250))),
          Effect.timeout(Duration.minutes(2)),
        )
        yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM outbox`.pipe(
          Effect.flatMap(([row]) => (row!.n === 0 ? Effect.void : Effect.fail("outbox not empty"))),
          Effect.retry(Schedule.spaced(Duration.millis(250))),
          Effect.timeout(Duration.minutes(1)),
        )
        yield* Effect.sleep(Duration.seconds(1)) // the last events reach the test's consumer
        expect(yield* Effect.all([stop(b!), stop(c)])).toEqual([0, 0])

        const statuses = new Map(
          (yield* sql<{ order_id: string; status: string }>`SELECT order_id, status FROM reservations`).map((r) => [
            r.order_id,
            r.status,
          ]),
        )
        const events = kafka.events()
        const counts = { expired: 0, released: 0, fulfilled: 0 }
        for (const [i, id] of ids.entries()) {
          const released = new Map(of(events, kafka.topics.released, id).map((e) => [e.eventId, e.body]))
          const shipped = new Set(of(events, kafka.topics.fulfilled, id).map((e) => e.eventId))
          const status = statuses.get(id)
          expect(released.size + shipped.size, `${id} (${status})`).toBe(1)
          if (status === "fulfilled") expect(shipped.size).toBe(1)
          else expect([...released.values()][0]!.reason).toBe(status === "expired" ? "expired" : "cancelled")
          if (i % 3 === 2) expect(status).toBe("expired")
          counts[status as keyof typeof counts]++
        }
        console.info("expiry across instances:", JSON.stringify(counts))
        expect(yield* invariantViolations).toEqual([])
      }),
    240_000,
  )
})
