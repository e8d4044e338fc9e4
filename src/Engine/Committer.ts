import { Cause, Chunk, Effect, Queue } from "effect"
import type { ProductId } from "../Domain/Ids.js"
import * as Stock from "../Domain/Stock.js"
import type { CommitBatch, LedgerRow, ProductWrite, StockStore } from "../Store/StockStore.js"
import { type Decision, ledgerInCommitOrder } from "./Decision.js"
import * as EngineMetrics from "./EngineMetrics.js"
import { StaleGeneration } from "./Errors.js"
import type { Generation } from "./Generation.js"
import * as Pending from "./Pending.js"
import { type ProductCell, settle } from "./ProductActor.js"

interface Entry {
  readonly generation: Generation
  readonly decision: Decision
  readonly done: Pending.Pending<void, StaleGeneration>
}

export interface CommitterDeps {
  readonly store: StockStore
  readonly batchSize: number
  /** a commit failed: the generation it was decided in must be replaced */
  readonly discard: (generation: Generation, reason: string) => void
  /** events were committed to the outbox */
  readonly committed: () => void
}

const mergeWrites = (entries: ReadonlyArray<Entry>): Array<ProductWrite & { readonly cell: ProductCell }> => {
  const merged = new Map<
    ProductCell,
    { delta: Stock.StockLevel; create: boolean; threshold?: number; location?: string | null; safetyStock?: number }
  >()
  for (const { decision } of entries) {
    for (const w of decision.writes) {
      const m = merged.get(w.cell) ?? { delta: Stock.emptyStock, create: false }
      m.delta = {
        available: m.delta.available + w.delta.available,
        reserved: m.delta.reserved + w.delta.reserved,
        onHand: m.delta.onHand + w.delta.onHand,
      }
      if (w.create) m.create = true
      if (w.threshold !== undefined) m.threshold = w.threshold
      if (w.location !== undefined) m.location = w.location
      if (w.safetyStock !== undefined) m.safetyStock = w.safetyStock
      merged.set(w.cell, m)
    }
  }
  return Array.from(merged, ([cell, m]) => ({
    cell,
    productId: cell.productId,
    expectedVersion: cell.version,
    delta: m.delta,
    ...(m.create
      ? {
          create: {
            threshold: m.threshold ?? cell.threshold,
            location: m.location ?? cell.location,
            safetyStock: m.safetyStock ?? cell.safetyStock,
          },
        }
      : {}),
    ...(m.threshold !== undefined ? { threshold: m.threshold } : {}),
    ...(m.location !== undefined ? { location: m.location } : {}),
    ...(m.safetyStock !== undefined ? { safetyStock: m.safetyStock } : {}),
  }))
}

const toBatch = (
  entries: ReadonlyArray<Entry>,
  products: ReadonlyArray<ProductWrite>,
  ledger: ReadonlyArray<LedgerRow>,
): CommitBatch => ({
  products,
  orderInserts: entries.flatMap((e) => e.decision.orderInserts),
  orderUpdates: entries.flatMap((e) => e.decision.orderUpdates),
  fulfillments: entries.flatMap((e) => e.decision.fulfillments),
  ledger,
  outbox: entries.flatMap((e) => e.decision.events),
  idempotency: entries.flatMap((e) => e.decision.idempotency),
})

/**
 * Group commit: every decision waiting when a transaction starts goes into it, in the order
 * the decisions were taken, so a decision never lands before one it depends on.
 */
export const makeCommitter = (deps: CommitterDeps) =>
  Effect.gen(function* () {
    const queue = yield* Queue.unbounded<Entry>()
    const stale = new StaleGeneration()

    const commitEntries = (entries: ReadonlyArray<Entry>) =>
      Effect.gen(function* () {
        const live = entries.filter((e) => !e.generation.closed)
        for (const e of entries) if (e.generation.closed) Pending.fail(e.done, stale)
        const generation = live[0]?.generation
        if (generation === undefined) return
        const products = mergeWrites(live)
        const ledger = ledgerInCommitOrder(live.flatMap((e) => e.decision.ledger))
        const started = performance.now()
        const exit = yield* Effect.exit(deps.store.commit(toBatch(live, products, ledger.rows)))
        if (exit._tag === "Success") {
          for (const p of products) {
            const version = exit.value.get(p.productId as ProductId)
            if (version !== undefined) p.cell.version = version
          }
          for (const [cell, level] of ledger.levels) cell.committed = level
          for (const { decision } of live) for (const w of decision.writes) w.cell.holds--
          for (const e of live) Pending.succeed(e.done, undefined)
          yield* EngineMetrics.commitBatch(live.length, performance.now() - started)
          if (live.some((e) => e.decision.events.length > 0)) deps.committed()
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
        if (conflict._tag === "Some" && conflict.value._tag === "CommitConflict") yield* EngineMetrics.conflict
        yield* Effect.logWarning("commit failed; reloading from the database and deciding again").pipe(
          Effect.annotateLogs({ reason, decisions: live.length }),
        )
        deps.discard(generation, reason)
        for (const e of live) Pending.fail(e.done, stale)
      })

    yield* Queue.takeBetween(queue, 1, deps.batchSize).pipe(
      Effect.flatMap((chunk) => commitEntries(Chunk.toReadonlyArray(chunk))),
      Effect.catchAllCause((cause) => Effect.logError("committer step failed", cause)),
      Effect.forever,
      Effect.forkScoped,
    )

    /**
     * Queues a decision; what it returns completes once it is durable (or fails: decide again).
     * Its changes are no longer tentative: a refusal decided from now on goes into this commit or
     * a later one, so it rests on a level the product really has in its history.
     */
    const submit = (generation: Generation, decision: Decision) =>
      Effect.sync(() => {
        const done = Pending.make<void, StaleGeneration>()
        queue.unsafeOffer({ generation, decision, done })
        for (const w of decision.writes) if (w.check !== true) settle(w.cell, generation.closed)
        return done
      })

    return { submit } as const
  })
