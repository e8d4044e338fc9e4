import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Exit, Scope } from "effect"
import type { ProductId } from "../Domain/Ids.js"
import type { InconsistentMemory, LineShort, StaleGeneration } from "./Errors.js"
import type { Generation } from "./Generation.js"
import type { Move } from "./ProductActor.js"

export interface SagaLine {
  readonly productId: ProductId
  readonly quantity: number
}

const byProduct = (a: SagaLine, b: SagaLine) => (a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : 0)

/**
 * Reserves every line or none, in the saga's scope: its one finalizer runs only if the scope
 * closes with a failure, and then releases every line taken so far. A short line (or anything
 * else going wrong) thus compensates every line taken before it.
 *
 * Lines are taken in product order, whatever order the order lists them in: a short line waits
 * until the holds other sagas have on its product are settled (so a refusal never rests on a hold
 * that is given back a moment later), and with one order for all sagas no two of them can wait
 * for each other. The first short line in that order is the one reported. The moves come back in
 * the order of `lines`.
 */
export const reserveAll = (
  generation: Generation,
  lines: ReadonlyArray<SagaLine>,
): Effect.Effect<ReadonlyArray<Move>, LineShort | StaleGeneration | InconsistentMemory | SqlError> =>
  Effect.suspend(() => {
    const ordered = lines.length > 1 ? [...lines].sort(byProduct) : lines
    const taken: Array<Move> = []
    const compensate = Effect.forEach(
      taken,
      (move, i) =>
        generation
          .send<Move, InconsistentMemory | StaleGeneration>(move.cell.productId, (reply) => ({
            _tag: "Release",
            quantity: ordered[i]!.quantity,
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
export const releaseAll = (generation: Generation, lines: ReadonlyArray<SagaLine>) =>
  Effect.forEach(lines, (line) =>
    generation.send<Move, InconsistentMemory | StaleGeneration>(line.productId, (reply) => ({
      _tag: "Release",
      quantity: line.quantity,
      compensation: false,
      reply,
    })),
  )

/** Ships what a fulfilment takes: every line leaves reserved and on hand. */
export const fulfilAll = (generation: Generation, lines: ReadonlyArray<SagaLine>) =>
  Effect.forEach(lines, (line) =>
    generation.send<Move, InconsistentMemory | StaleGeneration>(line.productId, (reply) => ({
      _tag: "Fulfil",
      quantity: line.quantity,
      reply,
    })),
  )
