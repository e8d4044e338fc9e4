import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Exit, Scope } from "effect"
import type { ProductId } from "../Domain/Ids.js"
import type { Generation } from "./Generation.js"
import type { InconsistentMemory, LineShort, Move, StaleGeneration } from "./ProductActor.js"

export interface SagaLine {
  readonly productId: ProductId
  readonly quantity: number
}

/**
 * Reserves every line or none, in the saga's scope: its one finalizer runs only if the scope
 * closes with a failure, and then releases every line taken so far. A short line (or anything
 * else going wrong) thus compensates every line taken before it. Lines go in order, so the first
 * short line is the one reported.
 */
export const reserveAll = (
  generation: Generation,
  lines: ReadonlyArray<SagaLine>,
): Effect.Effect<ReadonlyArray<Move>, LineShort | StaleGeneration | InconsistentMemory | SqlError> =>
  Effect.suspend(() => {
    const taken: Array<Move> = []
    const compensate = Effect.forEach(
      taken,
      (move, i) =>
        generation
          .send<Move, InconsistentMemory | StaleGeneration>(move.cell.productId, (reply) => ({
            _tag: "Release",
            quantity: lines[i]!.quantity,
            compensation: true,
            reply,
          }))
          .pipe(Effect.ignore),
      { discard: true },
    )
    // The saga's scope is made and closed here rather than provided through the context
    // (Effect.scoped): same semantics, without a context update per order.
    return Effect.acquireUseRelease(
      Effect.tap(Scope.make(), (scope) =>
        Scope.addFinalizerExit(scope, (exit) => (Exit.isSuccess(exit) ? Effect.void : compensate)),
      ),
      () =>
        Effect.forEach(lines, (line) =>
          Effect.tap(
            generation.send<Move, LineShort | StaleGeneration>(line.productId, (reply) => ({
              _tag: "Reserve",
              quantity: line.quantity,
              reply,
            })),
            (move) => {
              taken.push(move)
            },
          ),
        ),
      (scope, exit) => Scope.close(scope, exit),
    )
  })

/** Releases what an order holds (a cancellation): every line goes back to available. */
export const releaseAll = (generation: Generation, lines: ReadonlyArray<SagaLine>) =>
  Effect.forEach(lines, (line) =>
    generation.send<Move, InconsistentMemory | StaleGeneration>(line.productId, (reply) => ({
      _tag: "Release",
      quantity: line.quantity,
      compensation: false,
      reply,
    })),
  )
