import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Exit, Scope } from "effect"
import type { Line } from "../Domain/Lifecycle.js"
import type { InconsistentMemory, LineShort, StaleGeneration } from "./Errors.js"
import type { Generation } from "./Generation.js"
import type { Move } from "./ProductActor.js"

const byProduct = (a: Line, b: Line) => (a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0)

/**
 * Reserves every line or none, in the saga's scope: its one finalizer runs only if the scope
 * closes with a failure, and then releases every line taken so far. A short line (or anything
 * else going wrong) thus compensates every line taken before it.
 *
 * Lines are taken in product order, whatever order the order lists them in, so the first short
 * line in that order is the one reported. The moves come back in the order of `lines`.
 */
export const reserveAll = (
  generation: Generation,
  lines: ReadonlyArray<Line>,
): Effect.Effect<ReadonlyArray<Move>, LineShort | StaleGeneration | InconsistentMemory | SqlError> =>
  Effect.suspend(() => {
    const ordered = lines.length > 1 ? [...lines].sort(byProduct) : lines
    const taken: Array<Move> = []
    const compensate = Effect.forEach(
      taken,
      (move, i) =>
        generation
          .send<Move, InconsistentMemory | StaleGeneration>(move.hold.cell.productId, (reply) => ({
            _tag: "Release",
            quantity: ordered[i]!.quantity,
            givesBack: move.hold,
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
        Effect.forEach(
          ordered,
          (line) =>
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
          { discard: true },
        ),
      (scope, exit) => Scope.close(scope, exit),
    ).pipe(Effect.map(() => (ordered === lines ? taken : lines.map((line) => taken[ordered.indexOf(line)]!))))
  })

/** Releases what an order holds (a cancellation): every line goes back to available. */
export const releaseAll = (generation: Generation, lines: ReadonlyArray<Line>) =>
  Effect.forEach(lines, (line) =>
    generation.send<Move, InconsistentMemory | StaleGeneration>(line.productId, (reply) => ({
      _tag: "Release",
      quantity: line.quantity,
      reply,
    })),
  )

/** Ships what a fulfilment takes: every line leaves reserved and on hand. */
export const fulfilAll = (generation: Generation, lines: ReadonlyArray<Line>) =>
  Effect.forEach(lines, (line) =>
    generation.send<Move, InconsistentMemory | StaleGeneration>(line.productId, (reply) => ({
      _tag: "Fulfil",
      quantity: line.quantity,
      reply,
    })),
  )
