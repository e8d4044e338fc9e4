import { Either } from "effect"
import {
  type AllocationStrategy,
  candidatesFor,
  type Location,
  requestsOf,
  type SupplyOf,
  servingOrder,
} from "../Domain/Allocation.js"
import type { HeldLine } from "../Domain/Lifecycle.js"
import type { OrderCreated } from "../Domain/Orders.js"
import type { Generation } from "./Generation.js"
import { type LineToReserve, quantityOf } from "./OrderSaga.js"
import type { Move } from "./ProductActor.js"
import { backorderRoom, sellable } from "./ProductCell.js"

// Where an order is served from: its lines with the locations to take each from (the candidates
// for its channel, in the order the strategy prefers), and what the reservation then holds where.

/**
 * What the moves took (and promised), per product and location, in taking order (moves come in
 * product order; a product's pinned and unpinned lines may take from one location: they are added up).
 */
export const heldLinesOf = (moves: ReadonlyArray<Move>): Array<HeldLine> => {
  const lines: Array<HeldLine> = []
  let first = 0 // where the current product's lines start
  for (const move of moves) {
    const { productId, locationId } = move.hold.cell
    if (lines[first]?.productId !== productId) first = lines.length
    let i = first
    while (i < lines.length && lines[i]!.locationId !== locationId) i++
    const promised = (move.promised ?? 0) + (lines[i]?.backordered ?? 0)
    const quantity = quantityOf(move) + (move.promised ?? 0) + (i < lines.length ? lines[i]!.quantity : 0)
    lines[i] =
      promised > 0 ? { productId, locationId, quantity, backordered: promised } : { productId, locationId, quantity }
  }
  return lines
}

/** Routing over the locations as last read, with a strategy. */
export const makeRouting = (strategy: AllocationStrategy, locations: () => ReadonlyArray<Location>) => {
  /** Units sellable at a location as memory sees them now: a preference for allocation, never a decision. */
  const supplyIn =
    (generation: Generation): SupplyOf =>
    (productId, locationId) => {
      const cell = generation.actors.get(productId as never)?.cells.get(locationId)
      return cell === undefined ? undefined : { sellable: sellable(cell), backorderRoom: backorderRoom(cell) }
    }

  // the candidates per channel, worked out once per reading of the locations
  let candidatesRead: ReadonlyArray<Location> | undefined
  const candidatesByChannel = new Map<string | undefined, { candidates: Array<Location>; ids: Array<string> }>()
  const candidatesOf = (channel: string | undefined) => {
    const all = locations()
    if (all !== candidatesRead) {
      candidatesRead = all
      candidatesByChannel.clear()
    }
    let found = candidatesByChannel.get(channel)
    if (found === undefined) {
      const candidates = candidatesFor(all, channel)
      found = { candidates, ids: candidates.map((c) => c.id) }
      candidatesByChannel.set(channel, found)
    }
    return found
  }

  /** Each line with the locations to take it from, in order; or the pinned line no candidate serves. */
  const linesToReserve = (generation: Generation, order: OrderCreated) => {
    const requests = requestsOf(order.items)
    const { candidates, ids } = candidatesOf(order.channel)
    // one place to serve from and nothing pinned: no choice to make
    if (candidates.length <= 1 && requests.every((r) => r.pinned === undefined)) {
      return Either.right(requests.map((r): LineToReserve => ({ ...r, locations: ids })))
    }
    return Either.map(servingOrder(requests, candidates, supplyIn(generation), strategy), (orders) =>
      requests.map((r, i): LineToReserve => ({ productId: r.productId, quantity: r.quantity, locations: orders[i]! })),
    )
  }

  /** Priority of a location for shipping order (best first); unknown ones last. */
  const rank = (locationId: string) => locations().find((l) => l.id === locationId)?.priority ?? Number.MAX_SAFE_INTEGER

  return { linesToReserve, rank } as const
}
