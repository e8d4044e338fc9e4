import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Exit } from "effect"
import type { ProductId } from "../Domain/Ids.js"
import type { Generation } from "./Generation.js"
import type { InconsistentMemory, LineShort, Move, StaleGeneration } from "./ProductActor.js"

export interface SagaLine {
  readonly productId: ProductId
  readonly quantity: number
}

/**
 * Reserves every line or none. Each line is acquired in the saga's scope with a release
 * that runs only if the scope closes with a failure: a short line (or anything else going
 * wrong) compensates every line taken before it. Lines go in order, so the first short
 * line is the one reported.
 */
export const reserveAll = (
  generation: Generation,
  lines: ReadonlyArray<SagaLine>,
): Effect.Effect<ReadonlyArray<Move>, LineShort | StaleGeneration | InconsistentMemory | SqlError> =>
  Effect.scoped(
    Effect.forEach(lines, (line) =>
      Effect.acquireRelease(
        generation.send<Move, LineShort | StaleGeneration>(line.productId, (reply) => ({
          _tag: "Reserve",
          quantity: line.quantity,
          reply,
        })),
        (_, exit) =>
          Exit.isSuccess(exit)
            ? Effect.void
            : generation
                .send<Move, InconsistentMemory | StaleGeneration>(line.productId, (reply) => ({
                  _tag: "Release",
                  quantity: line.quantity,
                  compensation: true,
                  reply,
                }))
                .pipe(Effect.ignore),
      ),
    ),
  )

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
