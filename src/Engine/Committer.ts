import { Cause, Chunk, Effect, Option, Queue } from "effect"
import { stockKey } from "../Domain/Lifecycle.js"
import type { CommitBatch, Fence, ProductWrite } from "../Store/CommitBatch.js"
import type { StockStore } from "../Store/StockStore.js"
import type { Decision } from "./Decision.js"
import * as EngineMetrics from "./EngineMetrics.js"
import { StaleGeneration } from "./Errors.js"
import type { Generation } from "./Generation.js"
import * as Pending from "./Pending.js"
import { adopt, type ProductCell } from "./ProductActor.js"

interface Entry {
  readonly generation: Generation
  readonly decision: Decision
  readonly done: Pending.Pending<void, StaleGeneration>
  /** when it was handed over (performance.now()) */
  readonly at: number
}

export interface CommitterDeps {
  readonly store: StockStore
  readonly batchSize: number
  /** a commit failed: the generation it was decided in must be replaced */
  readonly discard: (generation: Generation, reason: string) => void
  /** a commit was refused because these partitions were claimed by another member since */
  readonly fenced: (fences: ReadonlyArray<Fence>) => void
  /** events were committed to the outbox */
  readonly committed: () => void
}

/** Every product the decisions act on, once, with whether memory knows its row and what definitions set. */
const productWrites = (decisions: ReadonlyArray<Decision>): Array<ProductWrite & { readonly cell: ProductCell }> => {
  const writes = new Map<ProductCell, ProductWrite & { cell: ProductCell }>()
  const writeOf = (cell: ProductCell) =>
    writes.get(cell) ?? {
      cell,
      productId: cell.productId,
      locationId: cell.locationId,
      exists: cell.version > 0,
      create: false,
    }
  for (const d of decisions) {
    for (const { cell } of d.holds) writes.set(cell, writeOf(cell))
    const s = d.settings
    if (s === undefined) continue
    const w = writeOf(s.cell)
    writes.set(s.cell, {
      ...w,
      create: w.create || s.created,
      ...(s.threshold !== undefined ? { threshold: s.threshold } : {}),
      ...(s.location !== undefined ? { location: s.location } : {}),
      ...(s.safetyStock !== undefined ? { safetyStock: s.safetyStock } : {}),
      ...(s.backorderLimit !== undefined ? { backorderLimit: s.backorderLimit } : {}),
    })
  }
  return [...writes.values()]
}

const fencesOf = (decisions: ReadonlyArray<Decision>): Array<Fence> => {
  const fences = new Map<string, Fence>()
  for (const { fence } of decisions) if (fence !== undefined) fences.set(`${fence.group}/${fence.partition}`, fence)
  return [...fences.values()]
}

/**
 * The longest prefix of `entries` in which no order appears twice: one order's steps are judged one
 * statement after another, each against the rows the step before it committed. A repair (whose
 * figures the statement derives from the product's lines) goes in a statement of its own.
 */
const oneStepPerOrder = (entries: ReadonlyArray<Entry>): number => {
  const orders = new Set<string>()
  for (let i = 0; i < entries.length; i++) {
    const decision = entries[i]!.decision
    if (decision.changes.some((c) => c._tag === "Correct")) return i === 0 ? 1 : i
    const orderId = decision.step?.orderId
    if (orderId === undefined) continue
    if (orders.has(orderId)) return i
    orders.add(orderId)
  }
  return entries.length
}

/**
 * Group commit: the decisions waiting when a statement starts go into it, in the order they were
 * handed over, so a decision never lands before one it depends on.
 */
export const makeCommitter = (deps: CommitterDeps) =>
  Effect.gen(function* () {
    const queue = yield* Queue.unbounded<Entry>()
    const stale = new StaleGeneration()
    /** taken from the queue but left for the next statement (a second step of an order) */
    let carried: Array<Entry> = []
    /** the statement running now: since when, and how many decisions it carries */
    let running: { readonly since: number; readonly decisions: number } | undefined

    const settle = (entries: ReadonlyArray<Entry>) => {
      for (const { decision } of entries) for (const hold of decision.holds) hold.settle()
    }

    const commitEntries = (entries: ReadonlyArray<Entry>) =>
      Effect.gen(function* () {
        for (const e of entries) if (e.generation.closed) Pending.fail(e.done, stale)
        const live = entries.filter((e) => !e.generation.closed)
        settle(entries.filter((e) => e.generation.closed))
        const generation = live[0]?.generation
        if (generation === undefined) return
        const decisions = live.map((e) => e.decision)
        const products = productWrites(decisions)
        const batch: CommitBatch = { products, decisions, fences: fencesOf(decisions) }
        const started = performance.now()
        for (const e of live) EngineMetrics.timeStage("committer_wait", started - e.at)
        running = { since: Date.now(), decisions: decisions.length }
        const exit = yield* Effect.exit(deps.store.commit(batch))
        running = undefined
        if (exit._tag === "Success") {
          // memory adopts the rows as committed before anything parked is applied again on them
          for (const { decision } of live) for (const hold of decision.holds) hold.land()
          for (const p of products) {
            const row = exit.value.get(stockKey(p.productId, p.locationId))
            if (row !== undefined) adopt(p.cell, row)
          }
        }
        settle(live)
        if (exit._tag === "Success") {
          for (const e of live) Pending.succeed(e.done, undefined)
          const millis = performance.now() - started
          EngineMetrics.timeStage("commit", millis, live.length)
          yield* EngineMetrics.commitBatch(live.length, millis)
          deps.committed()
          return
        }
        const failure = Cause.squash(exit.cause)
        const conflict = Cause.failureOption(exit.cause)
        const reason =
          conflict._tag === "Some" && conflict.value._tag === "CommitConflict"
            ? `CommitConflict: ${conflict.value.reason} (${conflict.value.productIds.join(",")})`
            : failure instanceof Error
              ? `${failure.name}: ${failure.message}`
              : String(failure)
        if (conflict._tag === "Some" && conflict.value._tag === "CommitConflict") {
          yield* EngineMetrics.conflict
          const { productIds } = conflict.value
          if (conflict.value.reason === "partition fenced")
            deps.fenced(batch.fences.filter((f) => productIds.includes(`${f.group}/${f.partition}`)))
        }
        yield* Effect.logWarning("commit failed; reloading from the database and deciding again").pipe(
          Effect.annotateLogs({ reason, decisions: live.length }),
        )
        deps.discard(generation, reason)
        for (const e of live) Pending.fail(e.done, stale)
      })

    const nextBatch = Effect.suspend(() => {
      if (carried.length >= deps.batchSize) return Effect.succeed(carried)
      const wanted = deps.batchSize - carried.length
      const take = carried.length > 0 ? Queue.takeUpTo(queue, wanted) : Queue.takeBetween(queue, 1, wanted)
      return Effect.map(take, (chunk) => [...carried, ...Chunk.toReadonlyArray(chunk)])
    })

    yield* nextBatch.pipe(
      Effect.flatMap((entries) => {
        const cut = oneStepPerOrder(entries)
        carried = entries.slice(cut)
        return commitEntries(entries.slice(0, cut))
      }),
      Effect.catchAllCause((cause) => Effect.logError("committer step failed", cause)),
      Effect.forever,
      Effect.forkScoped,
    )

    /**
     * Queues a decision; what it returns completes once it is durable (or fails: decide again). Its
     * changes are handed over: a refusal decided from now on goes into a later commit than they do.
     */
    const submit = (generation: Generation, decision: Decision) =>
      Effect.sync(() => {
        const done = Pending.make<void, StaleGeneration>()
        queue.unsafeOffer({ generation, decision, done, at: performance.now() })
        for (const hold of decision.holds) hold.handOver()
        return done
      })

    /** What waits for the committer: decisions queued, and the statement running (diagnostics). */
    const state = () => ({
      // (a queue's size is negative while its taker waits: nothing is queued then)
      queued: Math.max(0, queue.unsafeSize().pipe(Option.getOrElse(() => 0))) + carried.length,
      committingMs: running === undefined ? 0 : Date.now() - running.since,
      committing: running?.decisions ?? 0,
    })

    return { submit, state } as const
  })
