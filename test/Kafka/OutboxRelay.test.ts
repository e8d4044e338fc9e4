import { randomUUID } from "node:crypto"
import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Fiber, Schedule } from "effect"
import { relayLockKey } from "../../src/Store/AdvisoryLocks.js"
import { Outbox } from "../../src/Store/Outbox.js"
import { engineHarness } from "../support/Harness.js"
import { TestKafka } from "../support/TestKafka.js"

// The outbox relay on its own (it polls every 500 ms besides its doorbell): events leave in the order
// they were committed (per key, so per partition), each once, and only one relay publishes at a time
// across instances.

layer(engineHarness({ label: "relay" }), { excludeTestServices: true })("the outbox relay", (it) => {
  const insert = (topic: string, key: string, n: number) =>
    Effect.flatMap(SqlClient.SqlClient, (sql) => {
      const eventId = randomUUID()
      return sql`INSERT INTO outbox (event_id, event_type, topic, message_key, payload)
                 VALUES (${eventId}, 'inventory.adjusted', ${topic}, ${key}, ${JSON.stringify({ product_id: key, n })})`
    })

  it.effect("publishes in commit order per key, each event once, and empties the outbox", () =>
    Effect.gen(function* () {
      const kafka = yield* TestKafka
      const sql = yield* SqlClient.SqlClient
      for (let n = 0; n < 300; n++) yield* insert(kafka.topics.adjusted, `relay-k${n % 7}`, n)
      const seen = yield* kafka.waitFor(
        (es) => es.filter((e) => e.topic === kafka.topics.adjusted && e.key.startsWith("relay-k")).length >= 300,
      )
      const mine = seen.filter((e) => e.topic === kafka.topics.adjusted && e.key.startsWith("relay-k"))
      expect(new Set(mine.map((e) => e.eventId)).size).toBe(300)
      for (let k = 0; k < 7; k++) {
        const order = mine.filter((e) => e.key === `relay-k${k}`).map((e) => Number(e.body.n))
        expect(order).toEqual([...order].sort((a, b) => a - b))
      }
      // a batch is deleted in the transaction that published it, which commits just after Kafka
      // acknowledged it: the outbox empties a moment after the last event is seen
      const left = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM outbox`.pipe(
        Effect.flatMap(([row]) => (row!.n === 0 ? Effect.succeed(0) : Effect.fail(row!.n))),
        Effect.retry({ schedule: Schedule.spaced("100 millis"), times: 50 }),
        Effect.catchAll((n) => Effect.succeed(n)),
      )
      expect(left).toBe(0)
    }),
  )

  it.effect("does not publish while another relay holds the lock, and publishes once it is let go", () =>
    Effect.gen(function* () {
      const kafka = yield* TestKafka
      const sql = yield* SqlClient.SqlClient
      // another instance's relay: the lock held in a transaction of its own for a while
      const other = yield* sql
        .withTransaction(
          Effect.zipRight(sql`SELECT pg_advisory_xact_lock(${relayLockKey})`, Effect.sleep("1500 millis")),
        )
        .pipe(Effect.fork)
      yield* Effect.sleep("200 millis")
      for (let n = 0; n < 20; n++) yield* insert(kafka.topics.adjusted, "relay-held", n)
      // a relay of this instance finds the lock taken and publishes nothing
      const found = yield* Effect.flatMap(Outbox, (outbox) => outbox.relayOnce(100, () => Effect.void)).pipe(
        Effect.provide(Outbox.Default),
      )
      expect(found).toBe(0)
      yield* Effect.sleep("600 millis")
      expect(kafka.events().filter((e) => e.key === "relay-held")).toEqual([])
      yield* Fiber.join(other)
      const seen = yield* kafka.waitFor((es) => es.filter((e) => e.key === "relay-held").length >= 20)
      expect(seen.filter((e) => e.key === "relay-held").map((e) => Number(e.body.n))).toEqual(
        Array.from({ length: 20 }, (_, n) => n),
      )
    }),
  )
})
