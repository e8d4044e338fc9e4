import { SqlClient } from "@effect/sql"
import { expect, it, layer } from "@effect/vitest"
import { Context, Deferred, Duration, Effect, Exit, Fiber, Layer, Metric, Schedule, Scope } from "effect"
import { Kafka, logLevel } from "kafkajs"
import { coPartitionedAssigner } from "../../src/Kafka/CoPartitionedAssigner.js"
import { consumerCrashes } from "../../src/Kafka/OrderConsumer.js"
import { StockStore } from "../../src/Store/StockStore.js"
import { testBrokers } from "../support/Env.js"
import { consumerHarnessWith, SuiteEnv } from "../support/Harness.js"
import { order, seed } from "../support/Orders.js"
import { TestKafka } from "../support/TestKafka.js"

// The order consumer on its own, fed by the real broker, over a store the test watches and holds:
// chunking, offsets committed only once durable, and the restart after a crash it cannot retry.
// Each test has a partition of its own, so its committed offset is its own.

const chunkSize = 40

/** What the wrapped store saw and what the test makes it do. */
const store = {
  /** order ids per lookup of a chunk whose ids start with "ch-" */
  chunkLookups: [] as Array<number>,
  /** while set, commits wait for it */
  held: undefined as Deferred.Deferred<void> | undefined,
  /** commits that have waited for it */
  heldCommits: 0,
  /** while true, deciding a chunk with an order "crash-..." is a defect (a bug, not a failed commit) */
  broken: false,
}

const WatchedStore = Layer.effect(
  StockStore,
  Effect.map(StockStore, (real) =>
    StockStore.make({
      ...real,
      lookup: (orderIds, productIds, fulfilling) =>
        Effect.suspend(() => {
          if (orderIds.some((id) => id.startsWith("ch-"))) store.chunkLookups.push(orderIds.length)
          if (store.broken && orderIds.some((id) => id.startsWith("crash-"))) return Effect.die("injected defect")
          return real.lookup(orderIds, productIds, fulfilling)
        }),
      commit: (batch) =>
        Effect.suspend(() => {
          if (store.held === undefined) return Effect.void
          store.heldCommits++
          return Deferred.await(store.held)
        }).pipe(Effect.zipRight(Effect.suspend(() => real.commit(batch)))),
    }),
  ).pipe(Effect.provide(StockStore.Default)),
)

/** The group's committed offset of one partition of orders.created (-1: none yet). */
const committedOffset = (partition: number) =>
  Effect.gen(function* () {
    const env = yield* SuiteEnv
    const kafka = yield* TestKafka
    return yield* Effect.promise(async () => {
      const admin = new Kafka({ brokers: testBrokers, logLevel: logLevel.NOTHING }).admin()
      await admin.connect()
      try {
        const [offsets] = await admin.fetchOffsets({
          groupId: env.KAFKA_GROUP_ID!,
          topics: [kafka.topics.ordersCreated],
        })
        return Number(offsets?.partitions.find((p) => p.partition === partition)?.offset ?? -1)
      } finally {
        await admin.disconnect()
      }
    })
  })

const orders = (prefix: string, n: number, partition: number, productId: string) =>
  Array.from({ length: n }, (_, i) => ({
    key: `${prefix}${i}`,
    value: JSON.stringify(order(`${prefix}${i}`, [[productId, 1]])),
    partition,
  }))

const recorded = (prefix: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ n: number; distinct_orders: number }>`
      SELECT count(*)::int AS n, count(DISTINCT order_id)::int AS distinct_orders
        FROM reservations WHERE order_id LIKE ${`${prefix}%`}`.pipe(Effect.map((rows) => rows[0]!)),
  )

/** Another member claims the partition (as after this one was paused past its session): its epoch moves on. */
const claimedByAnotherMember = (partition: number) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) =>
      sql`UPDATE partition_epochs SET epoch = epoch + 1, owner = 'another-member' WHERE partition = ${partition}`,
  )

const eventually = <E, R>(check: Effect.Effect<boolean, E, R>, what: string, seconds = 60) =>
  check.pipe(
    Effect.flatMap((ok) => (ok ? Effect.void : Effect.fail(`not yet: ${what}`))),
    Effect.retry({ schedule: Schedule.spaced("100 millis"), times: seconds * 10 }),
    Effect.orDie,
  )

/** Waits until the group's committed offset of partition `partition` of orders.created is `offset`. */
const committedUpTo = (partition: number, offset: number, what: string) =>
  eventually(
    Effect.map(committedOffset(partition), (committed) => committed === offset),
    what,
    120,
  )

layer(consumerHarnessWith({ label: "consumer", env: { CONSUMER_CHUNK_SIZE: String(chunkSize) } }, WatchedStore), {
  excludeTestServices: true,
})("the order consumer", (it) => {
  it.effect("cuts a fetch into chunks of CONSUMER_CHUNK_SIZE and decides every order once", () =>
    Effect.gen(function* () {
      const kafka = yield* TestKafka
      yield* seed("ch-p", 10_000)
      yield* kafka.sendMany(kafka.topics.ordersCreated, orders("ch-", 200, 0, "ch-p"))
      yield* eventually(
        Effect.map(recorded("ch-"), (r) => r.n === 200),
        "200 orders recorded",
      )
      expect(Math.max(...store.chunkLookups)).toBe(chunkSize) // a full fetch is cut at the chunk size
      expect(store.chunkLookups.every((n) => n <= chunkSize)).toBe(true)
      expect(yield* recorded("ch-")).toEqual({ n: 200, distinct_orders: 200 })
      yield* committedUpTo(0, 200, "offset 200 committed")
    }),
  )

  it.effect("commits an offset only once the orders before it are durable in PostgreSQL", () =>
    Effect.gen(function* () {
      const kafka = yield* TestKafka
      yield* seed("held-p", 10_000)
      const before = yield* committedOffset(1)
      store.held = yield* Deferred.make<void>()
      yield* kafka.sendMany(kafka.topics.ordersCreated, orders("held-", 60, 1, "held-p"))
      // decided in memory (their reservations are held), but not committed: the offset stays
      yield* Effect.sleep(Duration.seconds(2))
      expect(yield* recorded("held-")).toEqual({ n: 0, distinct_orders: 0 })
      expect(yield* committedOffset(1)).toBe(before)
      yield* Deferred.succeed(store.held, undefined)
      store.held = undefined
      yield* committedUpTo(1, 60, "offset 60 committed")
      expect(yield* recorded("held-")).toEqual({ n: 60, distinct_orders: 60 })
    }),
  )

  it.effect(
    "starts again after a crash it cannot retry, from the last committed offset, losing and doubling nothing",
    () =>
      Effect.gen(function* () {
        const kafka = yield* TestKafka
        yield* seed("crash-p", 10_000)
        yield* kafka.sendMany(kafka.topics.ordersCreated, orders("crash-ok-", 20, 2, "crash-p"))
        yield* committedUpTo(2, 20, "the first 20 committed")
        const crashesBefore = (yield* Metric.value(consumerCrashes)).count
        store.broken = true
        yield* kafka.sendMany(kafka.topics.ordersCreated, orders("crash-", 30, 2, "crash-p"))
        yield* eventually(
          Effect.map(Metric.value(consumerCrashes), (c) => c.count > crashesBefore),
          "the consumer crashed",
          120,
        )
        expect(yield* committedOffset(2)).toBe(20) // nothing past the orders that failed
        store.broken = false
        yield* committedUpTo(2, 50, "offset 50 committed after the restart")
        expect(yield* recorded("crash-")).toEqual({ n: 50, distinct_orders: 50 })
      }),
  )

  it.effect(
    "a partition another member claimed meanwhile: its commits are refused, the member rejoins at once, no crash",
    () =>
      Effect.gen(function* () {
        const kafka = yield* TestKafka
        yield* seed("fence-p", 10_000)
        const crashesBefore = (yield* Metric.value(consumerCrashes)).count
        // another member claims partition 2 (as after this one was paused past its session): what this
        // member decides from it now carries an epoch that moved on
        yield* claimedByAnotherMember(2)
        yield* kafka.sendMany(kafka.topics.ordersCreated, orders("fence-", 20, 2, "fence-p"))
        yield* Effect.sleep(Duration.seconds(2)) // decided, and refused at commit
        // the next chunk finds the partition's pipeline stopped: the member rejoins its group, claims the
        // partition again and decides both chunks from the last committed offset
        yield* kafka.sendMany(kafka.topics.ordersCreated, orders("fence-late-", 10, 2, "fence-p"))
        yield* committedUpTo(2, 80, "offset 80 committed after the rejoin")
        expect(yield* recorded("fence-")).toEqual({ n: 30, distinct_orders: 30 })
        expect((yield* Metric.value(consumerCrashes)).count).toBe(crashesBefore)
      }),
  )

  it.effect("the same when no other message comes: the partition is read again and the fence surfaces", () =>
    Effect.gen(function* () {
      const kafka = yield* TestKafka
      const crashesBefore = (yield* Metric.value(consumerCrashes)).count
      yield* claimedByAnotherMember(2)
      yield* kafka.sendMany(kafka.topics.ordersCreated, orders("quiet-", 10, 2, "fence-p"))
      yield* committedUpTo(2, 90, "offset 90 committed after the rejoin")
      expect(yield* recorded("quiet-")).toEqual({ n: 10, distinct_orders: 10 })
      expect((yield* Metric.value(consumerCrashes)).count).toBe(crashesBefore)
    }),
  )
})

/** The members of a consumer group, as the broker sees them. */
const groupMembers = (groupId: string) =>
  Effect.promise(async () => {
    const admin = new Kafka({ brokers: testBrokers, logLevel: logLevel.NOTHING }).admin()
    await admin.connect()
    try {
      const { groups } = await admin.describeGroups([groupId])
      return groups[0]?.members.length ?? 0
    } finally {
      await admin.disconnect()
    }
  })

/**
 * A consumer of its own (in a scope the test closes) that has decided `n` orders of partition 0 whose
 * commit the store holds: what its stop has to drain.
 */
const memberWithHeldCommit = (label: string, prefix: string, n: number) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(consumerHarnessWith({ label }, WatchedStore), scope)
    yield* Effect.gen(function* () {
      const kafka = yield* TestKafka
      yield* seed(`${prefix}p`, 10_000)
      store.heldCommits = 0
      store.held = yield* Deferred.make<void>()
      yield* kafka.sendMany(kafka.topics.ordersCreated, orders(prefix, n, 0, `${prefix}p`))
      yield* eventually(
        Effect.sync(() => store.heldCommits > 0),
        "orders decided, their commit held",
      )
    }).pipe(Effect.provide(context))
    return { scope, context, groupId: Context.get(context, SuiteEnv).KAFKA_GROUP_ID! }
  })

it.live(
  "a stop whose decided orders cannot become durable still leaves the group (its partitions move at once)",
  () =>
    Effect.gen(function* () {
      const { scope, groupId } = yield* memberWithHeldCommit("consumerstop", "stop-", 30)
      expect(yield* groupMembers(groupId)).toBe(1)
      // the drain gives up after its limit and the member leaves; without leaving it would stay in the
      // group for its session (30 s) after the stop's own 30 s timeout
      yield* Scope.close(scope, Exit.void)
      expect(yield* groupMembers(groupId)).toBe(0)
      store.held = undefined
    }),
  120_000,
)

it.live(
  "a member that is stopping and rejoins a rebalance claims nothing (it would fence the member taking over)",
  () =>
    Effect.gen(function* () {
      // decided and handed to the pipeline, the fetch done: the member idles while its stop drains
      const { scope, context, groupId } = yield* memberWithHeldCommit("consumerleaving", "leaving-", 10)
      const { topics } = Context.get(context, TestKafka)
      const sql = Context.get(context, SqlClient.SqlClient)
      // the member taking over has claimed the partitions; the leaving one is still in the group, draining
      yield* sql`UPDATE partition_epochs SET epoch = epoch + 1, owner = 'member-taking-over' WHERE group_id = ${groupId}`
      const stop = yield* Effect.fork(Scope.close(scope, Exit.void))
      const joined = yield* Deferred.make<void>()
      const other = new Kafka({ brokers: testBrokers, logLevel: logLevel.NOTHING }).consumer({
        groupId,
        sessionTimeout: 10_000,
        partitionAssigners: [coPartitionedAssigner],
      })
      yield* Effect.promise(async () => {
        other.on(other.events.GROUP_JOIN, () => Deferred.unsafeDone(joined, Exit.void))
        await other.connect()
        await other.subscribe({ topics: [topics.ordersCreated, topics.ordersCancelled, topics.ordersFulfilled] })
        await other.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => {} })
      })
      // the group's rebalance: the leaving member rejoins it (its drain waits for the held commit)
      yield* Deferred.await(joined)
      yield* Effect.sleep(Duration.seconds(2))
      const owners = yield* sql<{
        owner: string
      }>`SELECT DISTINCT owner FROM partition_epochs WHERE group_id = ${groupId}`
      expect(owners.map((r) => r.owner)).toEqual(["member-taking-over"])
      store.held = undefined
      yield* Fiber.join(stop)
      yield* Effect.promise(() => other.disconnect())
    }),
  120_000,
)
