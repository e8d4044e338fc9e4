import { Effect, Metric } from "effect"
import type { ProductId } from "../Domain/Ids.js"
import { DefaultLocation } from "../Domain/Lifecycle.js"
import type * as Stock from "../Domain/Stock.js"
import type { IdempotencyRow } from "../Store/CommitBatch.js"
import { makeEvent, nowIso } from "../Store/Outbox.js"
import { type Decision, decision } from "./Decision.js"
import { makeDurableWrites, type WriteDeps } from "./DurableWrites.js"
import * as EngineMetrics from "./EngineMetrics.js"
import {
  AlreadyApplied,
  type BackorderLimitBelowPromised,
  BulkRefused,
  type LineRefused,
  type NotEnoughToRemove,
  StaleGeneration,
  type StockMoved,
  type UnknownProduct,
} from "./Errors.js"
import * as Pending from "./Pending.js"
import type { Definition, Move, ProductCell } from "./ProductActor.js"

export interface StockSnapshot extends Stock.StockLevel {
  readonly productId: ProductId
  readonly locationId: string
  readonly threshold: number
  readonly location: string | null
}

export interface Adjustment {
  readonly productId: ProductId
  /** where (default: `default`) */
  readonly locationId?: string | undefined
  /** signed, non-zero; or a cycle count: on hand becomes the counted figure (the difference is recorded) */
  readonly quantity: number | { readonly countedOnHand: number }
  /** compare-and-set: applied only if on hand is still this figure */
  readonly expectedOnHand?: number | undefined
  readonly adjustmentType: string
  readonly reason?: string | undefined
  readonly referenceId?: string | undefined
  /** stored in the same transaction as the change, so a retried request gets the same answer */
  readonly idempotency?:
    | {
        readonly row: (after: AdjustedSnapshot) => IdempotencyRow
        /** checked before every attempt: another request with the same key got there first */
        readonly alreadyDone: Effect.Effect<boolean>
      }
    | undefined
}

/** The stock after an adjustment, and the units it added (negative: removed). */
export interface AdjustedSnapshot extends StockSnapshot {
  readonly quantity: number
}

/** A line of a bulk adjustment once applied: the stock before and after it. */
export interface BulkSnapshot extends AdjustedSnapshot {
  readonly before: StockSnapshot
}

const snapshot = (cell: ProductCell, level: Stock.StockLevel): StockSnapshot => ({
  productId: cell.productId,
  locationId: cell.locationId,
  available: level.available,
  reserved: level.reserved,
  onHand: level.onHand,
  threshold: cell.threshold,
  location: cell.location,
})

/** Manual stock writes (HTTP), serialized with reservations by going through the product's actor. */
export const makeStockWrites = (deps: WriteDeps) => {
  const { topics, submit, discard } = deps
  const { durably, applyAndCommit } = makeDurableWrites(deps)

  const adjustment = (input: Adjustment, move: Move, after: AdjustedSnapshot): Decision =>
    decision({
      holds: [move.hold],
      changes: [
        {
          _tag: "Adjust",
          productId: input.productId,
          locationId: input.locationId ?? DefaultLocation,
          quantity: after.quantity,
          countedOnHand: typeof input.quantity === "number" ? undefined : input.quantity.countedOnHand,
          expectedOnHand: input.expectedOnHand,
          adjustmentType: input.adjustmentType,
          reason: input.reason ?? null,
          referenceId: input.referenceId ?? null,
        },
      ],
      events: [
        makeEvent(topics, "inventory.adjusted", input.productId, {
          product_id: input.productId,
          location_id: input.locationId ?? DefaultLocation,
          adjustment_type: input.adjustmentType,
          quantity: after.quantity,
          ...(input.reason !== undefined ? { reason: input.reason } : {}),
          ...(input.referenceId !== undefined ? { reference_id: input.referenceId } : {}),
          timestamp: nowIso(),
        }),
      ],
      idempotency: input.idempotency ? [input.idempotency.row(after)] : [],
    })

  const adjust = (input: Adjustment) =>
    durably<AdjustedSnapshot, NotEnoughToRemove | StockMoved | UnknownProduct | AlreadyApplied>(
      "StockWrites.adjust",
      (generation) =>
        Effect.gen(function* () {
          if (input.idempotency && (yield* input.idempotency.alreadyDone)) return yield* new AlreadyApplied()
          const after = yield* applyAndCommit(
            generation,
            generation.send<Move, NotEnoughToRemove | StockMoved | UnknownProduct | StaleGeneration>(
              input.productId,
              (reply) => ({
                _tag: "Adjust",
                location: input.locationId ?? DefaultLocation,
                change: input.quantity,
                expectedOnHand: input.expectedOnHand,
                reply,
              }),
            ),
            (move) => {
              const after = {
                ...snapshot(move.hold.cell, move.after),
                quantity: move.after.onHand - move.before.onHand,
              }
              return { decision: adjustment(input, move, after), result: after }
            },
          )
          yield* Metric.increment(EngineMetrics.adjustments)
          return after
        }),
    )

  /**
   * Applies every line through its product's actor, in order, and commits them as one decision
   * (one ledger row and one event per line, all or nothing). If a line is refused, the lines
   * applied before it are undone in memory (nothing was handed to the committer) and every refused
   * line is reported; should an undo itself be refused (the units were reserved meanwhile), memory
   * is reloaded from PostgreSQL instead.
   */
  const adjustMany = (
    lines: ReadonlyArray<Adjustment>,
    idempotency?: {
      readonly row: (afters: ReadonlyArray<BulkSnapshot>) => IdempotencyRow
      readonly alreadyDone: Effect.Effect<boolean>
    },
  ) =>
    durably<ReadonlyArray<BulkSnapshot>, BulkRefused | AlreadyApplied>("StockWrites.adjustMany", (generation) =>
      Effect.gen(function* () {
        if (idempotency && (yield* idempotency.alreadyDone)) return yield* new AlreadyApplied()
        const outcome = yield* Effect.uninterruptible(
          Effect.gen(function* () {
            const applied: Array<{ readonly line: Adjustment; readonly move: Move }> = []
            const refused: Array<LineRefused> = []
            for (const [index, line] of lines.entries()) {
              const result = yield* Effect.either(
                generation.send<Move, NotEnoughToRemove | StockMoved | UnknownProduct | StaleGeneration>(
                  line.productId,
                  (reply) => ({
                    _tag: "Adjust",
                    location: line.locationId ?? DefaultLocation,
                    change: line.quantity,
                    expectedOnHand: line.expectedOnHand,
                    reply,
                  }),
                ),
              )
              if (result._tag === "Right") applied.push({ line, move: result.right })
              else if (result.left._tag === "StaleGeneration" || result.left._tag === "SqlError") {
                // the lines applied so far are in memory only: start again from the database
                discard(generation, `a bulk adjustment failed: ${result.left._tag}`)
                return yield* Effect.fail(result.left)
              } else refused.push({ index, error: result.left })
            }
            if (refused.length > 0) {
              for (const { move } of applied.reverse()) {
                const undone = yield* Effect.either(
                  generation.send<Move, NotEnoughToRemove | StockMoved | UnknownProduct | StaleGeneration>(
                    move.hold.cell.productId,
                    (reply) => ({
                      _tag: "Adjust",
                      location: move.hold.cell.locationId,
                      change: move.before.onHand - move.after.onHand,
                      givesBack: move.hold,
                      reply,
                    }),
                  ),
                )
                if (undone._tag === "Left") {
                  discard(generation, "a refused bulk adjustment could not be undone in memory")
                  break
                }
              }
              return { refused }
            }
            const afters = applied.map(({ move }) => ({
              ...snapshot(move.hold.cell, move.after),
              quantity: move.after.onHand - move.before.onHand,
              before: snapshot(move.hold.cell, move.before),
            }))
            const parts = applied.map(({ line, move }, i) => adjustment(line, move, afters[i]!))
            const done = yield* submit(
              generation,
              decision({
                holds: parts.flatMap((d) => d.holds),
                changes: parts.flatMap((d) => d.changes),
                events: parts.flatMap((d) => d.events),
                idempotency: idempotency ? [idempotency.row(afters)] : [],
              }),
            )
            return { done, afters }
          }),
        )
        if ("refused" in outcome) return yield* new BulkRefused({ lines: outcome.refused })
        yield* Pending.wait(outcome.done)
        yield* Metric.incrementBy(EngineMetrics.adjustments, lines.length)
        return outcome.afters
      }),
    )

  const definition = (productId: ProductId, locationId: string, definition: Definition, move: Move, created: boolean) =>
    decision({
      holds: [move.hold],
      settings: {
        cell: move.hold.cell,
        created,
        threshold: definition.threshold,
        location: definition.location,
        safetyStock: definition.safetyStock,
        backorderLimit: definition.backorderLimit,
      },
      changes: created ? [{ _tag: "Initial", productId, locationId, quantity: definition.initialQuantity }] : [],
      events: created
        ? [
            makeEvent(topics, "inventory.adjusted", productId, {
              product_id: productId,
              location_id: locationId,
              adjustment_type: "initial",
              quantity: definition.initialQuantity,
              timestamp: nowIso(),
            }),
          ]
        : [],
    })

  /**
   * Creates the product at a location with its initial quantity, or updates threshold, location label
   * or safety stock of an existing one.
   */
  const define = (productId: ProductId, input: Definition, locationId: string = DefaultLocation) =>
    durably<StockSnapshot & { readonly created: boolean }, BackorderLimitBelowPromised>(
      "StockWrites.define",
      (generation) =>
        applyAndCommit(
          generation,
          generation.send<{ move: Move; created: boolean }, BackorderLimitBelowPromised | StaleGeneration>(
            productId,
            (reply) => ({
              _tag: "Define",
              location: locationId,
              definition: input,
              reply,
            }),
          ),
          ({ move, created }) => ({
            decision: definition(productId, locationId, input, move, created),
            result: { ...snapshot(move.hold.cell, move.after), created },
          }),
        ),
    )

  /**
   * A reconciliation repair through the same commit as every other change: the statement sets the
   * product's `reserved` to what its held lines hold (on hand kept, never below it) and writes the
   * `correction` ledger row and its event. Memory cannot predict those figures, so it is reloaded
   * once the repair is committed.
   */
  const correct = (productId: ProductId, reason: string, locationId: string = DefaultLocation) =>
    durably<void, never>("StockWrites.correct", (generation) =>
      Effect.gen(function* () {
        yield* generation.ensure([productId])
        const holds = generation.holds(productId, [locationId])
        if (holds === undefined) return yield* new StaleGeneration()
        const change = { _tag: "Correct", productId, locationId, reason: reason.slice(0, 500) } as const
        const done = yield* submit(generation, decision({ holds, changes: [change] }))
        yield* Pending.wait(done)
        discard(generation, "a reconciliation repair was committed")
      }),
    )

  return { adjust, adjustMany, define, correct } as const
}
