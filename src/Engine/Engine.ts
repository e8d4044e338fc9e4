import type { SqlError } from "@effect/sql/SqlError"
import { Duration, Effect, FiberSet, Metric, Schedule } from "effect"
import { AppConfig } from "../Config.js"
import type { OrderId, ProductId } from "../Domain/Ids.js"
import { DefaultLocation } from "../Domain/Lifecycle.js"
import type * as Stock from "../Domain/Stock.js"
import type { Fence } from "../Store/CommitBatch.js"
import { Outbox } from "../Store/Outbox.js"
import { StockStore } from "../Store/StockStore.js"
import { makeCommitter } from "./Committer.js"
import * as EngineMetrics from "./EngineMetrics.js"
import { Fenced, type InconsistentMemory, StaleGeneration } from "./Errors.js"
import { Generation } from "./Generation.js"
import { type EngineMessage, makeOrderHandling } from "./OrderHandling.js"
import * as Pending from "./Pending.js"
import { untilDurable } from "./Retryable.js"
import { makeStockWrites } from "./StockWrites.js"
import { makeTransfers } from "./Transfers.js"

/** A partition of the order topics this instance consumes: `fence` is its epoch while it owns it. */
export interface PartitionOwnership {
  readonly partition: number
  readonly fence: () => Fence | undefined
}

/** A chunk decided in memory, in `generation`: `durable` succeeds once all it changed is committed. */
export interface DecidedChunk {
  readonly generation: number
  readonly durable: Effect.Effect<void, StaleGeneration>
}

/** Orders decided concurrently within one chunk of messages. */
const sagaConcurrency = 64

/**
 * Decided orders remembered in memory, so that a chunk whose lookup ran before another chunk's
 * commit still sees those orders; older ones are found in PostgreSQL (and the reservations
 * primary key backstops the rest).
 */
const recentOrders = 50_000

export class Engine extends Effect.Service<Engine>()("Engine", {
  scoped: Effect.gen(function* () {
    const config = yield* AppConfig
    const store = yield* StockStore
    const outbox = yield* Outbox
    const runFork = yield* FiberSet.makeRuntime<never, void, never>()
    const { topics } = config
    let generations = 0
    const newGeneration = () =>
      new Generation(++generations, {
        loadStock: store.loadStock,
        mailboxCapacity: config.engine.mailboxCapacity,
        fork: (effect) => {
          runFork(effect)
        },
      })
    let current = newGeneration()

    const discard = (generation: Generation, reason: string) => {
      if (generation !== current) return
      generation.close()
      current = newGeneration()
      // through the service's runtime, so the JSON logger and LOG_LEVEL apply
      runFork(
        Effect.logInfo("engine memory discarded").pipe(Effect.annotateLogs({ generation: generation.id, reason })),
      )
    }

    // Epochs a commit was refused under: their partitions are no longer this instance's, whatever its
    // consumer still believes until it rejoins the group (deciding them again would be refused forever).
    const revoked = new WeakSet<Fence>()
    const committer = yield* makeCommitter({
      store,
      batchSize: config.engine.commitBatchSize,
      discard,
      fenced: (fences) => {
        for (const fence of fences) revoked.add(fence)
      },
      committed: outbox.ring,
    })

    const writeDeps = { discard, topics, current: () => current, submit: committer.submit, retry: untilDurable }
    const stockWrites = makeStockWrites(writeDeps)
    const transfers = makeTransfers(writeDeps)
    // where stock is kept: read at start and every few seconds, so a location's changes reach routing
    let locations = yield* store.loadLocations
    const refreshLocations = Effect.asVoid(
      Effect.tap(store.loadLocations, (loaded) => {
        locations = loaded
      }),
    )
    // read once above; again every 5 s from then on
    yield* refreshLocations.pipe(
      Effect.catchAll((error) => Effect.logWarning("reading locations failed", error)),
      Effect.delay(Duration.seconds(5)),
      Effect.forever,
      Effect.forkScoped,
    )
    const { handle } = makeOrderHandling({
      topics,
      ttlSeconds: config.engine.reservationTtlSeconds,
      strategy: config.engine.allocationStrategy,
      locations: () => locations,
      submit: committer.submit,
    })

    /**
     * Decides a chunk in memory and hands its changes to the committer; what it returns says when
     * they are durable. With `expected`, only in that generation (else StaleGeneration), so that
     * pipelined chunks of one partition are never decided across a reload out of order. With a
     * partition, only while this instance owns it (else Fenced): each decision carries the epoch.
     */
    const decideOnce = (messages: ReadonlyArray<EngineMessage>, expected?: number, partition?: PartitionOwnership) =>
      Effect.gen(function* () {
        const started = performance.now()
        const generation = current
        if (expected !== undefined && generation.id !== expected) return yield* new StaleGeneration()
        const fence = partition?.fence()
        if (partition !== undefined && (fence === undefined || revoked.has(fence)))
          return yield* new Fenced({ partition: partition.partition })
        // a fill is decided on the order as PostgreSQL has it: the filler found it there, and this
        // instance's memory of it may be older than another instance's steps
        const unknownOrders = [
          ...new Set(
            messages
              .filter((m) => m._tag === "Fill" || !generation.orders.has(m.order.order_id))
              .map((m) => m.order.order_id),
          ),
        ]
        // One round trip: the orders already recorded, and the stock of products not in memory
        // (those of every new order; a duplicate among them loads a product it did not need).
        const products = generation.missing(
          messages.flatMap((m) =>
            m._tag === "Created" && !generation.orders.has(m.order.order_id)
              ? m.order.items.map((i) => i.product_id)
              : [],
          ),
        )
        const fulfilling =
          unknownOrders.length > 0 ? messages.filter((m) => m._tag === "Fulfilled").map((m) => m.order.order_id) : []
        const lookupStarted = performance.now()
        const { known: stored, stock } = yield* store.lookup(unknownOrders, products, fulfilling)
        generation.adopt(products, stock)
        const decideStarted = performance.now()
        EngineMetrics.timeStage("lookup", decideStarted - lookupStarted, messages.length)
        // A few workers take the messages in order (cheaper than a fiber per message); many
        // orders are in flight at once, so actors and the committer see batches, not single hops.
        // A message that fails does not interrupt its siblings (an order interrupted between its
        // saga and its submission would leave holds in memory nobody commits or gives back): the
        // others finish, and then the chunk fails and is decided again (what was decided waits).
        const pending: Array<Pending.Pending<void, StaleGeneration> | undefined> = []
        let failure: { readonly error: StaleGeneration | SqlError | InconsistentMemory } | undefined
        let next = 0
        const worker = Effect.suspend(() => {
          const i = next++
          return i >= messages.length
            ? Effect.succeed(false)
            : handle(generation, messages[i]!, stored, fence).pipe(
                Effect.map((done) => {
                  pending[i] = done
                  return true
                }),
                Effect.catchAll((error) => {
                  failure ??= { error }
                  // A message that failed half-way (a fulfilment whose second product disagreed with
                  // memory, a cancellation whose second product could not be loaded) may have changed
                  // memory it will not commit or give back: discard it now, not after the siblings, since
                  // a sibling's short reservation parked behind such a change would wait for it forever
                  // (the discard answers parked commands StaleGeneration).
                  if (error._tag !== "StaleGeneration") discard(generation, `a message failed: ${error._tag}`)
                  return Effect.succeed(true)
                }),
              )
        }).pipe(Effect.repeat({ while: (more) => more }))
        yield* Effect.all(
          Array.from({ length: Math.min(sagaConcurrency, messages.length) }, () => worker),
          {
            concurrency: "unbounded",
            discard: true,
          },
        )
        // the chunk is decided again, from the database (the generation was discarded at the failure)
        if (failure !== undefined) return yield* Effect.fail(failure.error)
        EngineMetrics.timeStage("decide", performance.now() - decideStarted, messages.length)
        const waits = pending.filter((done) => done !== undefined)
        const durable = Effect.forEach(waits, Pending.wait, { discard: true }).pipe(
          Effect.tap(() => generation.trimOrders(recentOrders)),
          Effect.zipRight(
            Effect.suspend(() => Metric.update(EngineMetrics.reservationSeconds, (performance.now() - started) / 1000)),
          ),
        )
        return { generation: generation.id, durable } satisfies DecidedChunk
      })

    const processOnce = (messages: ReadonlyArray<EngineMessage>, partition?: PartitionOwnership) =>
      Effect.flatMap(decideOnce(messages, undefined, partition), (decided) => decided.durable)

    /**
     * Decides a chunk of order messages and returns once every resulting change is durable.
     * A failed commit or an unreachable database means: reload, decide the chunk again. Fails only
     * when the partition the messages came from is no longer this instance's.
     */
    const processFrom = Effect.fn("Engine.process")(function* (
      messages: ReadonlyArray<EngineMessage>,
      partition?: PartitionOwnership,
    ) {
      yield* processOnce(messages, partition).pipe(
        Effect.tapError((e) => Effect.logDebug("deciding again").pipe(Effect.annotateLogs({ reason: e._tag }))),
        Effect.retry(untilDurable),
        Effect.catchIf((e): e is Exclude<typeof e, Fenced> => e._tag !== "Fenced", Effect.die),
      )
    })
    /** The same, for messages the service gives itself (no partition: never fenced). */
    const process = (messages: ReadonlyArray<EngineMessage>) =>
      processFrom(messages).pipe(Effect.catchTag("Fenced", Effect.die))

    /** The engine's gauges, set from what memory holds now (after a sweep, and when /metrics is read). */
    const refreshGauges = Effect.suspend(() => {
      const { mail, parked, unsettled } = current.census()
      return Effect.all(
        [
          Metric.set(EngineMetrics.activeActors, current.actors.size),
          Metric.set(EngineMetrics.mailboxDepth, mail),
          Metric.set(EngineMetrics.parkedReservations, parked),
          Metric.set(EngineMetrics.unsettledChanges, unsettled),
        ],
        { discard: true },
      )
    })

    // Passivation: idle actors with nothing in flight leave memory.
    yield* Effect.sync(() => current.sweep(config.engine.actorIdleSeconds * 1000)).pipe(
      Effect.zipRight(refreshGauges),
      Effect.repeat(Schedule.spaced(Duration.seconds(Math.max(1, config.engine.actorIdleSeconds / 4)))),
      Effect.forkScoped,
    )

    /** Releases the reservations among these that are due (the sweeper found them). */
    const expire = (orderIds: ReadonlyArray<OrderId>) =>
      process(orderIds.map((order_id) => ({ _tag: "Expire", order: { order_id } }) as const))

    /** Moves the due time of a held reservation; false when it is no longer held (or never was). */
    const extend = (orderId: OrderId, expiresAt: Date) =>
      Effect.suspend(() => {
        let held = false
        const answer = (h: boolean) => {
          held = h
        }
        const message = {
          _tag: "Extend",
          order: { order_id: orderId },
          expiresAt: expiresAt.getTime(),
          answer,
        } as const
        return Effect.map(process([message]), () => held)
      })

    return {
      process,
      processFrom,
      decide: decideOnce,
      expire,
      extend,
      adjust: stockWrites.adjust,
      adjustMany: stockWrites.adjustMany,
      define: stockWrites.define,
      correct: stockWrites.correct,
      sendTransfer: transfers.send,
      receiveTransfer: transfers.receive,
      /** reads the locations again now (a change made here reaches routing at once, elsewhere within seconds) */
      refreshLocations,
      refreshGauges,
      /** product actors in memory now */
      activeActors: () => current.actors.size,
      /** mail waiting, reservations parked and changes in doubt, across the actors, and what waits for the committer (diagnostics) */
      census: () => ({ ...current.census(), ...committer.state() }),
      /** what memory holds for a product, if its actor is alive (diagnostics and tests) */
      inMemory: (productId: ProductId, locationId: string = DefaultLocation): Stock.StockLevel | undefined =>
        current.actors.get(productId)?.cells.get(locationId)?.level,
      /** units memory believes promised at a place, if the product's actor is alive (tests) */
      promisedInMemory: (productId: ProductId, locationId: string = DefaultLocation): number | undefined =>
        current.actors.get(productId)?.cells.get(locationId)?.backordered,
    } as const
  }),
  dependencies: [StockStore.Default, Outbox.Default],
}) {}
