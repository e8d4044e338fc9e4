import { randomUUID } from "node:crypto"
import { hostname } from "node:os"
import { Cause, Duration, Effect, Either, Exit, Metric, Option, Runtime, Schedule } from "effect"
import type { Batch, Consumer, EachBatchPayload, KafkaMessage } from "kafkajs"
import { AppConfig } from "../Config.js"
import { ConsumerStatus } from "../ConsumerStatus.js"
import { decodeOrderMessage, type OrderKind, type OrderMessage } from "../Domain/Orders.js"
import { Engine, type PartitionOwnership } from "../Engine/Engine.js"
import * as EngineMetrics from "../Engine/EngineMetrics.js"
import { untilDurable } from "../Engine/Retryable.js"
import { describeFailure } from "../Fatal.js"
import type { Fence } from "../Store/CommitBatch.js"
import { Fencing } from "../Store/Fencing.js"
import { coPartitionedAssigner } from "./CoPartitionedAssigner.js"
import { type DeadLetter, DeadLetters } from "./DeadLetters.js"
import { KafkaClient, kafkaCall } from "./KafkaClient.js"
import { OutboxRelay } from "./OutboxRelay.js"
import { partitionPipeline } from "./PartitionPipeline.js"
import { makeSignal } from "./Signal.js"
import { stalledPartitions } from "./StalledPartitions.js"
import { makeUndurableBudget } from "./UndurableBudget.js"

export const messagesConsumed = Metric.counter("inventory_messages_consumed_total", { incremental: true })

/** What a heartbeat answers while the group is rebalancing (kafkajs's own `isRebalancing`). */
const rebalancingErrors = new Set(["REBALANCE_IN_PROGRESS", "NOT_COORDINATOR_FOR_GROUP", "ILLEGAL_GENERATION"])

/** What `promise` gives, or `otherwise` when it has not settled within `ms`. */
const within = <A>(promise: Promise<A>, ms: number, otherwise: A): Promise<A> =>
  Promise.race([promise, new Promise<A>((done) => setTimeout(() => done(otherwise), ms).unref())])

/**
 * Thrown to kafkajs when a partition's commits were refused because another member claimed it: the
 * member's view of the group is stale. kafkajs rejoins at once on an error of this type (as when a
 * heartbeat answers ILLEGAL_GENERATION), instead of retrying the batch with back-off and crashing.
 */
class AssignmentMovedOn extends Error {
  readonly type = "ILLEGAL_GENERATION"
  constructor(partition: string) {
    super(`${partition} was claimed by another member: rejoining the group`)
  }
}

const isFenced = (error: unknown): boolean =>
  Runtime.isFiberFailure(error) &&
  Option.exists(
    Cause.failureOption(error[Runtime.FiberFailureCauseId]),
    (e) => (e as { _tag?: unknown })._tag === "Fenced",
  )

export const consumerCrashes = Metric.counter("inventory_consumer_crashes_total", {
  description: "times the Kafka consumer crashed and was started again",
  incremental: true,
})

/**
 * Consumes orders.created, orders.cancelled and orders.fulfilled as one group, partition p of
 * each topic to the same member, whose claim on p fences its commits. An offset is committed only
 * after everything before it is durable: decided and committed in PostgreSQL, or parked on the
 * dead-letter topic.
 */
export class OrderConsumer extends Effect.Service<OrderConsumer>()("OrderConsumer", {
  scoped: Effect.gen(function* () {
    const config = yield* AppConfig
    const { kafka } = yield* KafkaClient
    const engine = yield* Engine
    const deadLetters = yield* DeadLetters
    const status = yield* ConsumerStatus
    const fencing = yield* Fencing
    yield* OutboxRelay // started before and stopped after the consumer: it flushes what we committed
    const runtime = yield* Effect.runtime<never>()
    const { topics } = config
    const chunkSize = config.engine.consumerChunkSize

    const rebalanceTimeoutMs = Math.max(10_000, config.kafka.sessionTimeoutMs)
    const heartbeatEvery = Duration.millis(Math.min(3_000, Math.floor(config.kafka.sessionTimeoutMs / 5)))

    const subscribed = [topics.ordersCreated, topics.ordersCancelled, topics.ordersFulfilled]
    const kindOf = (topic: string): OrderKind =>
      topic === topics.ordersCreated ? "Created" : topic === topics.ordersCancelled ? "Cancelled" : "Fulfilled"

    /** Decodes a chunk; what cannot be decoded is parked on the dead-letter topic. */
    const decodeChunk = (batch: Batch, messages: ReadonlyArray<KafkaMessage>) =>
      Effect.gen(function* () {
        const kind = kindOf(batch.topic)
        const good: Array<OrderMessage> = []
        const bad: Array<DeadLetter> = []
        for (const message of messages) {
          const decoded = decodeOrderMessage(kind, message.value, config.engine.maxMessageBytes)
          if (Either.isRight(decoded)) good.push(decoded.right)
          else bad.push({ topic: batch.topic, partition: batch.partition, message, reason: decoded.left })
        }
        yield* deadLetters
          .park(bad)
          .pipe(
            Effect.retry(Schedule.exponential(Duration.millis(100)).pipe(Schedule.upTo(Duration.minutes(1)))),
            Effect.orDie,
          )
        yield* Metric.incrementBy(messagesConsumed, messages.length)
        return good
      })

    const run = Runtime.runPromise(runtime)
    let stopping = false
    // exported from the start (at 0), so an alert on its increase sees the first crash too
    yield* Metric.incrementBy(consumerCrashes, 0)

    // Fencing: on every assignment the member claims its partitions (in PostgreSQL; the epoch of a
    // partition another instance held moves on) before it decides anything from them; each decision
    // carries the epoch, and a commit whose epoch moved on (another instance claimed the partition
    // since) is refused. The claimant is this process, not its Kafka member id: a consumer started
    // again here (a new member) that gets its partitions back keeps their epochs, so what it decided
    // before lands.
    const instance = `${hostname()}/${process.pid}/${randomUUID()}`
    let fences: Promise<ReadonlyMap<number, Fence>> = Promise.resolve(new Map())
    let current: ReadonlyMap<number, Fence> = new Map()
    const ownership = (partition: number): PartitionOwnership => ({ partition, fence: () => current.get(partition) })

    /** one pipeline per partition, kept across fetches (and rebalances) so offsets stay in order */
    const pipelines = new Map<string, ReturnType<typeof partitionPipeline>>()
    const budget = makeUndurableBudget(config.engine.maxUndurableOrders)
    const latestHighWatermark = new Map<string, string>()
    // made from the partition alone: a closure of the batch that first met the partition would keep
    // that batch's messages for as long as the pipeline lives
    const pipelineOf = (topic: string, partition: number) => {
      const key = `${topic}/${partition}`
      const highWatermark = () => latestHighWatermark.get(key) ?? "0"
      let pipeline = pipelines.get(key)
      if (pipeline === undefined) {
        pipeline = partitionPipeline({
          budget,
          run,
          decide: (messages, expected) => engine.decide(messages, expected, ownership(partition)),
          process: (messages) => engine.processFrom(messages, ownership(partition)),
          acknowledge: (lastOffset) => {
            const offset = (BigInt(lastOffset) + 1n).toString()
            status.setLag(key, Math.max(0, Number(highWatermark()) - Number(lastOffset) - 1))
            // A refused commit (the broker is away, the group is rebalancing) loses nothing: the
            // next commit of this partition covers it, or the orders come again and are found decided.
            // One that does not answer is given up after a while, like a refused one: a commit left
            // hanging (a connection the broker's restart left half-open) would stall the partition.
            const refused = (reason: string) =>
              run(Effect.logDebug("offset commit refused", reason).pipe(Effect.annotateLogs({ partition: key })))
            const commit = consumer.commitOffsets([{ topic, partition, offset }]).then(
              () => true,
              (error) => refused(String(error)).then(() => true),
            )
            return within(commit, offsetCommitLimitMs, false).then((answered) =>
              answered ? undefined : refused(`no answer within ${offsetCommitLimitMs} ms`),
            )
          },
          // read the partition again: its next chunk meets the failure (a fence: rejoin; else a crash)
          stopped: (from) => {
            try {
              consumer.seek({ topic, partition, offset: from })
            } catch {
              // not running: the consumer starting again reads from the last committed offset anyway
            }
          },
        })
        pipelines.set(key, pipeline)
      }
      return pipeline
    }
    /** how long an offset commit may go unanswered before it counts as refused */
    const offsetCommitLimitMs = 10_000

    // A partition whose decided chunks stay not durable for a minute is stuck somewhere: said, with
    // what waits, every 30 s while it lasts (nothing else would show it: the member stays in its group).
    yield* Effect.sync(() => {
      for (const [key, pipeline] of pipelines) {
        const backlog = pipeline.backlog()
        if (backlog.oldestMs > 60_000)
          void run(
            Effect.logWarning("decided orders not durable for over a minute").pipe(
              Effect.annotateLogs({ partition: key, ...backlog, engine: engine.census() }),
            ),
          )
      }
    }).pipe(Effect.repeat(Schedule.spaced(Duration.seconds(30))), Effect.forkScoped)
    const inBatch = new Set<Promise<void>>()
    /** how long a stop waits for what was decided to become durable before it leaves the group anyway */
    const drainLimitMs = 20_000
    /**
     * How long a member waits for its decided chunks to become durable before it rejoins a rebalance:
     * a third of the rebalance timeout, so that noticing the rebalance (a heartbeat), the chunk being
     * decided and the join itself fit in the rest. Chunks still in flight go on committing meanwhile.
     */
    const rebalanceDrainMs = rebalanceTimeoutMs / 3
    /** every chunk decided so far is durable and its offset committed (or refused) */
    const drainAll = () => Promise.allSettled([...inBatch, ...[...pipelines.values()].map((p) => p.drain())])

    /**
     * The heartbeat error that said the group is rebalancing, seen by any batch in progress (and
     * when), until the member has rejoined: every batch ends at its next chunk, and each throws it
     * back to kafkajs, which rejoins at once. The rest of the group waits for this member (up to the
     * rebalance timeout; a member later than that is dropped, and its rejoin costs another round).
     */
    let rebalance: { readonly error: Error; readonly since: number } | undefined
    /** fires when a rebalance is noticed: a batch waiting for room in its pipeline stops waiting */
    let rebalanceNoticed = makeSignal()

    const eachBatch = async ({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload) => {
      const receivedAt = Date.now()
      for (const m of batch.messages) EngineMetrics.timeStage("fetch", receivedAt - Number(m.timestamp))
      await fences // the assignment's partitions are claimed before anything is decided from them
      const key = `${batch.topic}/${batch.partition}`
      latestHighWatermark.set(key, batch.highWatermark)
      const pipeline = pipelineOf(batch.topic, batch.partition)
      // kafkajs has no background heartbeat: keep the membership alive while we work.
      const beat = setInterval(
        () =>
          void heartbeat().catch((error: Error & { type?: string }) => {
            if (rebalancingErrors.has(error.type ?? "") && rebalance === undefined) {
              rebalance = { error, since: Date.now() }
              rebalanceNoticed.fire()
            }
          }),
        Duration.toMillis(heartbeatEvery),
      )
      const work = (async () => {
        for (let i = 0; i < batch.messages.length; i += chunkSize) {
          if (stopping || rebalance !== undefined || !isRunning() || isStale()) break
          const chunk = batch.messages.slice(i, i + chunkSize)
          const lastOffset = chunk[chunk.length - 1]!.offset
          EngineMetrics.timeStage("queue", Date.now() - receivedAt, chunk.length)
          await pipeline.push(await run(decodeChunk(batch, chunk)), lastOffset, rebalanceNoticed)
          // decided: the next fetch starts after it; its offset is committed once it is durable
          resolveOffset(lastOffset)
        }
        // a stop waits until what was decided is durable (bounded by the stop); a rebalance waits a
        // while, then lets kafkajs rejoin in time (a member late for it is dropped from the group): the
        // chunks still in flight go on, and are decided again by the partition's next owner if it moves
        if (stopping || !isRunning()) await pipeline.drain()
        else if (rebalance !== undefined || isStale()) await within(pipeline.drain(), rebalanceDrainMs, undefined)
      })()
      inBatch.add(work)
      try {
        await work
      } catch (error) {
        pipelines.delete(key) // it stopped: the restarted (or rejoined) consumer starts a fresh one
        throw isFenced(error) ? new AssignmentMovedOn(key) : error
      } finally {
        inBatch.delete(work)
        clearInterval(beat)
      }
      // kafkajs rejoins on this error at once, without waiting for a heartbeat of its own
      if (rebalance !== undefined && !stopping) throw rebalance.error
    }

    const consumer: Consumer = kafka.consumer({
      groupId: config.kafka.groupId,
      sessionTimeout: config.kafka.sessionTimeoutMs,
      // how long the group waits for a member to rejoin a rebalance before it goes on without it
      rebalanceTimeout: rebalanceTimeoutMs,
      heartbeatInterval: Math.min(3_000, Math.floor(config.kafka.sessionTimeoutMs / 5)),
      maxWaitTimeInMs: 100,
      minBytes: 1,
      maxBytes: 16 * 1024 * 1024,
      allowAutoTopicCreation: false,
      retry: { retries: 5, restartOnFailure: async () => false },
      partitionAssigners: [coPartitionedAssigner],
    })
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
      /** how long since a batch of this member noticed the rebalance, if one did */
      const rejoinMs = rebalance === undefined ? undefined : Date.now() - rebalance.since
      rebalance = undefined
      rebalanceNoticed = makeSignal()
      if (stopping) {
        // a member leaving decides nothing more: it claims nothing (a claim would fence the member
        // that takes its partitions over) and what it still commits under its old epochs is refused
        current = new Map()
        fences = Promise.resolve(current)
        return
      }
      status.setJoined(true)
      const partitions = [...new Set(Object.values(payload.memberAssignment).flat())]
      // pipelines of partitions that moved elsewhere are dropped: what they still decide is fenced
      for (const key of pipelines.keys()) {
        if (!partitions.includes(Number(key.slice(key.lastIndexOf("/") + 1)))) pipelines.delete(key)
      }
      fences = run(
        fencing.claim(config.kafka.groupId, instance, partitions).pipe(
          Effect.tap(() =>
            Effect.logInfo("partitions claimed").pipe(
              Effect.annotateLogs({ partitions, joinMs: payload.duration, rejoinMs, leader: payload.isLeader }),
            ),
          ),
          Effect.retry(untilDurable),
          Effect.orDie,
        ),
      ).then((claimed) => {
        current = claimed
        return claimed
      })
    })
    consumer.on(consumer.events.REBALANCING, () => status.setJoined(false))
    const start = kafkaCall("cannot start the order consumer", async () => {
      await consumer.connect()
      await consumer.subscribe({ topics: subscribed, fromBeginning: true })
      await consumer.run({
        autoCommit: false,
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: config.kafka.partitionsConsumedConcurrently,
        eachBatch,
      })
    })

    // The service, not kafkajs, starts a crashed consumer again (kafkajs would not after some
    // errors, say "Failed to find group coordinator" while the broker restarts or a batch it cannot
    // decode, and would retry others every second forever). It backs off from 1 s to 5 s while the
    // consumer keeps crashing (a broker back after a few seconds costs seconds, not minutes), and
    // /ready names what it cannot read until a fetch succeeds again.
    const maxBackoffSeconds = 5
    let crashes = 0
    consumer.on(consumer.events.FETCH, () => {
      crashes = 0
      status.setUnreadable(undefined)
    })
    consumer.on(consumer.events.CRASH, (event) => {
      status.setJoined(false)
      const streak = ++crashes
      const backoff = Duration.seconds(Math.min(maxBackoffSeconds, 2 ** (streak - 1)))
      const reason = describeFailure(event.payload.error)
      status.setUnreadable(`cannot read its partitions: ${reason}`)
      // Which partitions are stuck is looked up beside the back-off, so a slow lookup (the broker
      // is down) never delays the restart.
      const report = Effect.gen(function* () {
        yield* Metric.increment(consumerCrashes)
        const stalled = yield* stalledPartitions(kafka, config.kafka.groupId, subscribed)
        if (stalled.length > 0 && status.unreadable() !== undefined)
          status.setUnreadable(`cannot read ${stalled.join(", ")}: ${reason}`)
        yield* Effect.logError(`consumer crashed; starting it again in ${Duration.format(backoff)}`).pipe(
          Effect.annotateLogs({ reason, crashes: streak, stalled }),
        )
      })
      const restart = Effect.gen(function* () {
        yield* Effect.sleep(backoff)
        if (stopping) return
        yield* start.pipe(
          Effect.tapError((error) => Effect.logWarning("consumer restart failed; retrying", error.message)),
          Effect.retry({
            schedule: Schedule.exponential(Duration.millis(500)).pipe(
              Schedule.either(Schedule.spaced(Duration.seconds(5))),
            ),
            while: () => !stopping,
          }),
          Effect.ignore,
        )
      })
      Runtime.runFork(runtime)(Effect.all([report, restart], { concurrency: 2, discard: true }))
    })

    yield* Effect.acquireRelease(start.pipe(Effect.orDie), () =>
      Effect.logInfo(
        "stopping: intake paused; what was decided is being committed and its offsets acknowledged, then the group is left",
      ).pipe(
        Effect.zipRight(
          Effect.promise(async () => {
            // stop fetching, let what was decided become durable and its offsets committed while
            // still in the group, then leave it
            stopping = true
            try {
              consumer.pause(subscribed.map((topic) => ({ topic })))
            } catch {
              // not running (it crashed and waits to start again): nothing is being fetched
            }
            // The group is left even when the drain takes too long (a commit refused over and over):
            // a member that leaves hands its partitions over at once, one that only vanishes holds
            // them for its whole session. What was not durable is decided again by their next owner.
            const drained = await within(
              drainAll().then(() => true),
              drainLimitMs,
              false,
            )
            await consumer.disconnect()
            return drained
          }).pipe(
            // a release runs uninterruptibly: without this the timeout could not cut the wait short
            Effect.interruptible,
            Effect.timeout(Duration.seconds(30)),
            Effect.exit,
            Effect.tap((exit) =>
              Exit.isFailure(exit)
                ? Effect.logWarning("consumer did not leave its group in time")
                : exit.value
                  ? Effect.logInfo("consumer stopped: every decided order committed, offsets acknowledged, group left")
                  : Effect.logWarning(
                      "consumer left its group before every decided order was durable: their partitions' next owner decides them again",
                    ),
            ),
          ),
        ),
      ),
    )
    yield* Effect.logInfo("consuming orders").pipe(
      Effect.annotateLogs({ topics: subscribed, group: config.kafka.groupId }),
    )

    return {} as const
  }),
  dependencies: [Fencing.Default],
}) {}
