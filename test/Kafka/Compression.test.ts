import { expect, layer } from "@effect/vitest"
import { Duration, Effect, Schedule } from "effect"
import { freePort } from "../support/Env.js"
import { harness, processHarness, SuiteEnv } from "../support/Harness.js"
import { corruptLz4Batches, javaConsume, javaProduce, storedCodecs } from "../support/JavaKafka.js"
import { seedHot } from "../support/Load.js"
import { waitForDrain } from "../support/Outcomes.js"
import { startService, stop } from "../support/ServiceProcess.js"
import { TestKafka } from "../support/TestKafka.js"

const order = (id: string) => ({
  key: id,
  value: JSON.stringify({
    order_id: id,
    user_id: "u",
    items_count: 1,
    items: [{ product_id: "hot-0", quantity: 1, price: "1.00" }],
  }),
})

const codecs = ["none", "gzip", "snappy", "lz4", "zstd"] as const

layer(harness({ label: "codecs", env: { KAFKA_COMPRESSION: "zstd" } }), { excludeTestServices: true })(
  "orders compressed by Apache Kafka's Java producer, events compressed with zstd",
  (it) => {
    it.effect(
      "decides an order in every codec and a plain one after them; the JVM reads the zstd events",
      () =>
        Effect.gen(function* () {
          const kafka = yield* TestKafka
          yield* seedHot(100)
          const ids = codecs.map((codec) => `java-${codec}`)
          for (const codec of codecs) yield* javaProduce(kafka.topics.ordersCreated, codec, [order(`java-${codec}`)])
          yield* kafka.send(kafka.topics.ordersCreated, "plain-after", JSON.parse(order("plain-after").value))
          const report = yield* waitForDrain([...ids, "plain-after"], Duration.minutes(1))
          expect(report).toMatchObject({ lost: 0, doubled: 0, missingEvents: 0 })
          expect(Array.from(report.decided.values())).toEqual(Array(ids.length + 1).fill("reserved"))

          const read = yield* javaConsume(kafka.topics.reserved, ids.length + 1)
          expect(read.map((r) => r.key).sort()).toEqual([...ids, "plain-after"].sort())
          expect(JSON.parse(read[0]!.value)).toHaveProperty("reservation_id")
          expect(yield* storedCodecs(kafka.topics.reserved)).toEqual(new Set(["zstd"]))
        }),
      120_000,
    )
  },
)

layer(harness({ label: "lz4events", env: { KAFKA_COMPRESSION: "lz4" } }), { excludeTestServices: true })(
  "events compressed with lz4",
  (it) => {
    it.effect(
      "are read back by the Java client",
      () =>
        Effect.gen(function* () {
          const kafka = yield* TestKafka
          yield* seedHot(100)
          yield* kafka.send(kafka.topics.ordersCreated, "lz4-1", JSON.parse(order("lz4-1").value))
          yield* waitForDrain(["lz4-1"], Duration.minutes(1))
          const read = yield* javaConsume(kafka.topics.reserved, 1)
          expect(read.map((r) => r.key)).toEqual(["lz4-1"])
          expect(yield* storedCodecs(kafka.topics.reserved)).toEqual(new Set(["lz4"]))
        }),
      120_000,
    )
  },
)

layer(processHarness({ label: "unreadable" }), { excludeTestServices: true })("a batch no client can read", (it) => {
  it.effect(
    "makes /ready answer 503 naming the partition and the reason, and counts consumer crashes",
    () =>
      Effect.gen(function* () {
        const kafka = yield* TestKafka
        const env = yield* SuiteEnv
        yield* seedHot(100)
        yield* javaProduce(kafka.topics.ordersCreated, "lz4", [order("corrupt-1")])
        const partitions = yield* corruptLz4Batches(kafka.topics.ordersCreated)
        expect(partitions).toHaveLength(1)
        const port = yield* Effect.promise(freePort)
        const service = yield* startService("unreadable", { ...env, SERVICE_PORT: String(port) })
        const ready = yield* Effect.tryPromise(async () => {
          const response = await fetch(`http://127.0.0.1:${port}/ready`)
          const body = (await response.json()) as { checks?: { consumer?: string } }
          // first "cannot read its partitions: <reason>", then the stalled partitions once looked up
          if (response.status !== 503 || !body.checks?.consumer?.includes(kafka.topics.ordersCreated)) {
            throw new Error(`not yet: ${response.status} ${JSON.stringify(body)}`)
          }
          return body.checks.consumer
        }).pipe(
          Effect.retry({ schedule: Schedule.spaced(Duration.millis(500)), times: 240 }),
          Effect.tapError((error) =>
            Effect.sync(() => console.error(String(error), service.output.slice(-30).join(""))),
          ),
        )
        console.info("/ready while unreadable:", ready)
        expect(ready).toContain(`${kafka.topics.ordersCreated}/${partitions[0]} from offset 0`)
        expect(ready).toMatch(/lz4|LZ4|frame|magic/i)
        const metrics = yield* Effect.promise(() => fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()))
        const crashes = Number(/inventory_consumer_crashes_total(?:\{[^}]*\})? (\d+)/.exec(metrics)?.[1] ?? 0)
        expect(crashes).toBeGreaterThanOrEqual(1)
        const crashLines = service.output
          .join("")
          .split("\n")
          .filter((l) => l.includes("consumer crashed"))
        expect(crashLines.length).toBeLessThanOrEqual(crashes)
        expect(yield* stop(service)).toBe(0)
      }),
    240_000,
  )
})
