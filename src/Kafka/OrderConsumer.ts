import { Duration, Effect, Either, Exit, Metric, Runtime, Schedule } from "effect"
import type { Batch, Consumer, EachBatchPayload, KafkaMessage } from "kafkajs"
import { AppConfig } from "../Config.js"
import { decodeOrderMessage, type OrderKind, type OrderMessage } from "../Domain/Orders.js"
import { Engine } from "../Engine/Engine.js"
import { type DeadLetter, DeadLetters } from "./DeadLetters.js"
import { KafkaClient } from "./KafkaClient.js"
import { OutboxRelay } from "./OutboxRelay.js"

export const messagesConsumed = Metric.counter("inventory_messages_consumed_total", { incremental: true })

export interface ConsumerStatus {
  readonly joined: boolean
  readonly lag: ReadonlyMap<string, number>
}

/**
 * Consumes orders.created and orders.cancelled as one group. An offset is committed only
 * after everything before it is durable: decided and committed in PostgreSQL, or parked on
 * the dead-letter topic.
 */
export class OrderConsumer extends Effect.Service<OrderConsumer>()("OrderConsumer", {
  scoped: Effect.gen(function* () {
    const config = yield* AppConfig
    const { kafka } = yield* KafkaClient
    const engine = yield* Engine
    const deadLetters = yield* DeadLetters
    yield* OutboxRelay // started before and stopped after the consumer: it flushes what we committed
    const runtime = yield* Effect.runtime<never>()
    const { topics } = config
    const chunkSize = config.engine.consumerChunkSize
    let joined = false
    const lag = new Map<string, number>()

    const heartbeatEvery = Duration.millis(Math.min(3_000, Math.floor(config.kafka.sessionTimeoutMs / 5)))

    const kindOf = (topic: string): OrderKind => (topic === topics.ordersCreated ? "Created" : "Cancelled")

    const handleChunk = (batch: Batch, messages: ReadonlyArray<KafkaMessage>, heartbeat: () => Promise<void>) =>
      Effect.gen(function* () {
        const kind = kindOf(batch.topic)
        const good: Array<OrderMessage> = []
        const bad: Array<DeadLetter> = []
        for (const message of messages) {
          const decoded = decodeOrderMessage(kind, message.value, config.engine.maxMessageBytes)
          if (Either.isRight(decoded)) good.push(decoded.right)
          else bad.push({ topic: batch.topic, partition: batch.partition, message, reason: decoded.left })
        }
        // kafkajs has no background heartbeat: keep the membership alive while we work.
        yield* Effect.promise(heartbeat).pipe(
          Effect.ignore,
          Effect.repeat(Schedule.spaced(heartbeatEvery)),
          Effect.delay(heartbeatEvery),
          Effect.forkScoped,
        )
        yield* deadLetters
          .park(bad)
          .pipe(
            Effect.retry(Schedule.exponential(Duration.millis(100)).pipe(Schedule.upTo(Duration.minutes(1)))),
            Effect.orDie,
          )
        if (good.length > 0) yield* engine.process(good)
        yield* Metric.incrementBy(messagesConsumed, messages.length)
      }).pipe(Effect.scoped)

    const eachBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) => {
      for (let i = 0; i < batch.messages.length; i += chunkSize) {
        if (!isRunning() || isStale()) return
        const chunk = batch.messages.slice(i, i + chunkSize)
        const last = chunk[chunk.length - 1]!
        await Runtime.runPromise(runtime)(handleChunk(batch, chunk, heartbeat))
        resolveOffset(last.offset)
        await consumer.commitOffsets([
          { topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() },
        ])
        lag.set(`${batch.topic}/${batch.partition}`, Math.max(0, Number(batch.highWatermark) - Number(last.offset) - 1))
        await heartbeat()
      }
    }

    const consumer: Consumer = kafka.consumer({
      groupId: config.kafka.groupId,
      sessionTimeout: config.kafka.sessionTimeoutMs,
      rebalanceTimeout: 60_000,
      heartbeatInterval: Math.min(3_000, Math.floor(config.kafka.sessionTimeoutMs / 5)),
      maxWaitTimeInMs: 100,
      minBytes: 1,
      maxBytes: 16 * 1024 * 1024,
      allowAutoTopicCreation: false,
    })
    consumer.on(consumer.events.GROUP_JOIN, () => {
      joined = true
    })
    consumer.on(consumer.events.REBALANCING, () => {
      joined = false
    })
    const start = Effect.tryPromise(async () => {
      await consumer.connect()
      await consumer.subscribe({ topics: [topics.ordersCreated, topics.ordersCancelled], fromBeginning: true })
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: config.kafka.partitionsConsumedConcurrently,
        eachBatch,
      })
    })

    // kafkajs restarts a crashed consumer only after retriable errors; after another one (say
    // "Failed to find group coordinator" while the broker restarts) it stays down. Not here: the
    // service starts it again, with backoff, until it runs or the service stops.
    let stopping = false
    consumer.on(consumer.events.CRASH, (event) => {
      joined = false
      const restartedByKafkajs = event.payload.restart
      Runtime.runFork(runtime)(
        Effect.gen(function* () {
          yield* Effect.logError(
            restartedByKafkajs ? "consumer crashed; kafkajs restarts it" : "consumer crashed; starting it again",
            String(event.payload.error),
          )
          if (restartedByKafkajs) return
          yield* Effect.sleep(Duration.seconds(1))
          if (stopping) return
          yield* start.pipe(
            Effect.tapError((error) => Effect.logWarning("consumer restart failed; retrying", String(error))),
            Effect.retry({
              schedule: Schedule.exponential(Duration.millis(500)).pipe(
                Schedule.either(Schedule.spaced(Duration.seconds(5))),
              ),
              while: () => !stopping,
            }),
            Effect.ignore,
          )
        }),
      )
    })

    yield* Effect.acquireRelease(
      start.pipe(Effect.orDie),
      // kafkajs finishes the batch in flight before it leaves the group.
      () =>
        Effect.suspend(() => {
          stopping = true
          return Effect.promise(() => consumer.disconnect())
        }).pipe(
          Effect.timeout(Duration.seconds(30)),
          Effect.exit,
          Effect.tap((exit) =>
            Exit.isFailure(exit) ? Effect.logWarning("consumer did not stop in time") : Effect.void,
          ),
        ),
    )
    yield* Effect.logInfo("consuming orders").pipe(
      Effect.annotateLogs({ topics: [topics.ordersCreated, topics.ordersCancelled], group: config.kafka.groupId }),
    )

    return { status: (): ConsumerStatus => ({ joined, lag }) } as const
  }),
}) {}
