import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Exit, Scope } from "effect"
import type { ProductId } from "../Domain/Ids.js"
import { type HeldLine, reservedOf } from "../Domain/Lifecycle.js"
import type { InconsistentMemory, LineShort, StaleGeneration } from "./Errors.js"
import type { Generation } from "./Generation.js"
import type { Move } from "./ProductActor.js"

/** A line to reserve, and where it may be served from, in the order to take from. */
export interface LineToReserve {
  readonly productId: ProductId
  readonly quantity: number
  readonly locations: ReadonlyArray<string>
}

/** Product order; a product's pinned lines (one location) before the rest, so a pin is served first. */
const byProduct = (a: LineToReserve, b: LineToReserve) =>
  a.productId < b.productId ? -1 : a.productId > b.productId ? 1 : a.locations.length - b.locations.length

/** A product's lines go to its actor together (a pinned and an unpinned line of it: one all-or-nothing command). */
const byProductGroups = (ordered: ReadonlyArray<LineToReserve>): Array<ReadonlyArray<LineToReserve>> => {
  if (ordered.length === 1) return [ordered]
  const groups: Array<Array<LineToReserve>> = []
  for (const line of ordered) {
    const last = groups[groups.length - 1]
    if (last !== undefined && last[0]!.productId === line.productId) last.push(line)
    else groups.push([line])
  }
  return groups
}

/** Units a move took from (or gave back to) reserved. */
export const quantityOf = (move: Move): number => Math.abs(move.after.reserved - move.before.reserved)

/**
 * Reserves every line or none, in the saga's scope: its one finalizer runs only if the scope
 * closes with a failure, and then releases every allocation taken so far. A short line (or
 * anything else going wrong) thus compensates every line taken before it.
 *
 * Lines are taken in product order, whatever order the order lists them in, so the first short
 * line in that order is the one reported. Each line's actor serves it from its locations (one move
 * per location it took from); the moves come back in product order, each line's in taking order.
 */
export const reserveAll = (
  generation: Generation,
  lines: ReadonlyArray<LineToReserve>,
): Effect.Effect<ReadonlyArray<Move>, LineShort | StaleGeneration | InconsistentMemory | SqlError> =>
  Effect.suspend(() => {
    const ordered = lines.length > 1 ? [...lines].sort(byProduct) : lines
    const taken: Array<Move> = []
    const compensate = Effect.forEach(
      taken,
      (move) =>
        generation
          .send<Move, InconsistentMemory | StaleGeneration>(move.hold.cell.productId, (reply) => ({
            _tag: "Release",
            location: move.hold.cell.locationId,
            quantity: quantityOf(move),
            drops: move.promised,
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
          byProductGroups(ordered),
          (group) =>
            Effect.tap(
              generation.send<ReadonlyArray<Move>, LineShort | StaleGeneration>(group[0]!.productId, (reply) => ({
                _tag: "Reserve",
                lines: group,
                reply,
              })),
              (moves) => {
                for (const move of moves) taken.push(move)
              },
            ),
          { discard: true },
        ),
      (scope, exit) => Scope.close(scope, exit),
    ).pipe(Effect.map(() => taken))
  })

/**
 * Releases what an order holds (a cancellation): every allocation goes back to available where it was
 * taken, and its promises there are dropped.
 */
export const releaseAll = (generation: Generation, lines: ReadonlyArray<HeldLine>) =>
  Effect.forEach(lines, (line) =>
    generation.send<Move, InconsistentMemory | StaleGeneration>(line.productId, (reply) => ({
      _tag: "Release",
      location: line.locationId,
      quantity: reservedOf(line),
      drops: line.backordered,
      reply,
    })),
  )

/** Ships what a fulfilment takes: every unit leaves reserved and on hand at its location. */
export const fulfilAll = (generation: Generation, lines: ReadonlyArray<HeldLine>) =>
  Effect.forEach(lines, (line) =>
    generation.send<Move, InconsistentMemory | StaleGeneration>(line.productId, (reply) => ({
      _tag: "Fulfil",
      location: line.locationId,
      quantity: line.quantity,
      reply,
    })),
  )
