import { Context, Duration, Effect, Layer, Schedule } from "effect"
import { Kafka, type KafkaMessage, logLevel, Partitioners } from "kafkajs"
import "../../src/Kafka/TimerWarning.js"
import type { Topics } from "../../src/Config.js"
import { testBrokers, uniqueSuffix } from "./Env.js"

export interface SeenEvent {
  readonly topic: string
  readonly key: string
  readonly eventId: string
  readonly eventType: string
  readonly body: Record<string, unknown>
  readonly raw: Buffer | null
  readonly headers: Record<string, string>
}

/** A producer for orders and a consumer that records every inventory event, on the real broker. */
export class TestKafka extends Context.Tag("TestKafka")<
  TestKafka,
  {
    readonly topics: Topics
    readonly send: (
      topic: string,
      key: string,
      value: string | Buffer | object,
      partition?: number,
    ) => Effect.Effect<void>
    readonly sendMany: (
      topic: string,
      messages: ReadonlyArray<{ key: string; value: string; partition?: number }>,
    ) => Effect.Effect<void>
    readonly events: () => ReadonlyArray<SeenEvent>
    /** every event on the output topics now, read afresh from the beginning by a consumer of its own */
    readonly readAll: Effect.Effect<ReadonlyArray<SeenEvent>>
    readonly waitFor: (
      predicate: (events: ReadonlyArray<SeenEvent>) => boolean,
      timeout?: Duration.DurationInput,
    ) => Effect.Effect<ReadonlyArray<SeenEvent>>
  }
>() {
  static readonly layer = (topics: Topics) =>
    Layer.scoped(
      TestKafka,
      Effect.gen(function* () {
        // patient retries: the fault suite takes the broker away for seconds at a time
        const kafka = new Kafka({
          clientId: "test",
          brokers: testBrokers,
          logLevel: logLevel.NOTHING,
          retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 2000 },
        })
        const admin = kafka.admin()
        // A broker that just started may not lead every new partition yet: retry until it does.
        yield* Effect.tryPromise(async () => {
          await admin.connect()
          const existing = new Set(await admin.listTopics())
          const missing = Object.values(topics).filter((topic) => !existing.has(topic))
          if (missing.length > 0) {
            await admin.createTopics({
              waitForLeaders: true,
              topics: missing.map((topic) => ({ topic, numPartitions: 3 })),
            })
          }
          const metadata = await admin.fetchTopicMetadata({ topics: Object.values(topics) })
          if (metadata.topics.some((t) => t.partitions.length !== 3 || t.partitions.some((p) => p.leader < 0))) {
            throw new Error("partitions without a leader yet")
          }
        }).pipe(Effect.retry({ schedule: Schedule.spaced("500 millis"), times: 40 }), Effect.orDie)
        yield* Effect.addFinalizer(() =>
          Effect.promise(async () => {
            await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => {})
            await admin.disconnect()
          }),
        )
        const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
        yield* Effect.acquireRelease(
          Effect.promise(() => producer.connect()),
          () => Effect.promise(() => producer.disconnect()),
        )
        const outputs = [
          topics.reserved,
          topics.released,
          topics.fulfilled,
          topics.fulfillmentRejected,
          topics.outOfStock,
          topics.adjusted,
          topics.lowStock,
          topics.transferred,
          topics.backorderFilled,
          topics.deadLetter,
        ]
        const seenOf = (topic: string, message: KafkaMessage): SeenEvent => {
          const headers = Object.fromEntries(
            Object.entries(message.headers ?? {}).map(([k, v]) => [k, v?.toString() ?? ""]),
          )
          let body: Record<string, unknown> = {}
          try {
            body = JSON.parse(message.value?.toString() ?? "{}")
          } catch {}
          return {
            topic,
            key: message.key?.toString() ?? "",
            eventId: headers.event_id ?? "",
            eventType: headers.event_type ?? "",
            body,
            raw: message.value,
            headers,
          }
        }
        const seen: Array<SeenEvent> = []
        const consumer = kafka.consumer({ groupId: `test-observer-${uniqueSuffix()}`, maxWaitTimeInMs: 50 })
        yield* Effect.acquireRelease(
          Effect.promise(async () => {
            await consumer.connect()
            await consumer.subscribe({ topics: outputs, fromBeginning: true })
            await consumer.run({
              eachMessage: async ({ topic, message }) => {
                seen.push(seenOf(topic, message))
              },
            })
          }),
          () => Effect.promise(() => consumer.disconnect()),
        )
        const readAll = Effect.promise(async () => {
          const admin = kafka.admin()
          await admin.connect()
          const ends = new Map<string, bigint>()
          try {
            for (const topic of outputs)
              for (const p of await admin.fetchTopicOffsets(topic)) ends.set(`${topic}/${p.partition}`, BigInt(p.high))
          } finally {
            await admin.disconnect()
          }
          const pending = new Set([...ends].filter(([, high]) => high > 0n).map(([key]) => key))
          const all: Array<SeenEvent> = []
          const reader = kafka.consumer({ groupId: `test-reader-${uniqueSuffix()}`, maxWaitTimeInMs: 50 })
          await reader.connect()
          try {
            await reader.subscribe({ topics: outputs, fromBeginning: true })
            await new Promise<void>((resolve) => {
              if (pending.size === 0) return resolve()
              void reader.run({
                eachMessage: async ({ topic, partition, message }) => {
                  const key = `${topic}/${partition}`
                  if (BigInt(message.offset) >= (ends.get(key) ?? 0n)) return
                  all.push(seenOf(topic, message))
                  if (BigInt(message.offset) + 1n >= ends.get(key)!) pending.delete(key)
                  if (pending.size === 0) resolve()
                },
              })
            })
          } finally {
            await reader.disconnect()
          }
          return all
        })
        return {
          topics,
          send: (topic, key, value, partition) =>
            Effect.promise(() =>
              producer.send({
                topic,
                messages: [
                  {
                    key,
                    value: typeof value === "string" || Buffer.isBuffer(value) ? value : JSON.stringify(value),
                    ...(partition !== undefined ? { partition } : {}),
                  },
                ],
              }),
            ).pipe(Effect.asVoid),
          sendMany: (topic, messages) =>
            Effect.tryPromise(async () => {
              for (let i = 0; i < messages.length; i += 500) {
                await producer.send({ topic, messages: messages.slice(i, i + 500) })
              }
            }).pipe(Effect.retry({ schedule: Schedule.spaced("500 millis"), times: 120 }), Effect.orDie),
          events: () => seen,
          readAll,
          waitFor: (predicate, timeout = Duration.seconds(60)) =>
            Effect.suspend(() => (predicate(seen) ? Effect.succeed(seen) : Effect.fail("not yet" as const))).pipe(
              Effect.retry(Schedule.spaced("50 millis")),
              Effect.timeoutFail({
                duration: timeout,
                onTimeout: () =>
                  new Error(
                    `events never matched; saw ${seen.length}: ${JSON.stringify(seen.slice(-5).map((e) => [e.topic, e.key, e.body]))}`,
                  ),
              }),
              Effect.orDie,
            ),
        }
      }),
    )
}
