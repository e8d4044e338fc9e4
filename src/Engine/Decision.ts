import type { DecisionIntents, Fence } from "../Store/CommitBatch.js"
import type { Hold, ProductCell } from "./ProductActor.js"

/** A product's settings as a definition changes them (and whether it created the product). */
export interface Settings {
  readonly cell: ProductCell
  readonly created: boolean
  readonly threshold?: number | undefined
  readonly location?: string | null | undefined
  readonly safetyStock?: number | undefined
  readonly backorderLimit?: number | undefined
}

/**
 * Everything one message, cancellation or adjustment decides, committed all together or not at all:
 * its intents, the holds it took from the actors (the products the commit writes and memory then
 * adopts; settled once the commit is over), and the partition epoch it was decided under, if any.
 */
export interface Decision extends DecisionIntents {
  readonly holds: ReadonlyArray<Hold>
  readonly settings?: Settings | undefined
  readonly fence?: Fence | undefined
}

export const decision = (parts: Partial<Decision>): Decision => ({
  holds: [],
  changes: [],
  events: [],
  idempotency: [],
  ...parts,
})
