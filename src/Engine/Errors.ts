import { Data } from "effect"
import type { ProductId } from "../Domain/Ids.js"

// The engine's failures, in one place. Expected outcomes that are not faults (a line short of
// stock) are plain tagged values without a stack trace.

/** The generation this command was sent in was discarded after a failed commit: decide again. */
export class StaleGeneration extends Data.TaggedError("StaleGeneration") {}

/** This instance no longer owns the partition the messages came from: another decides them now. */
export class Fenced extends Data.TaggedError("Fenced")<{ readonly partition: number }> {}

/** A line that cannot be reserved (the commit judges the refusal again on the committed level). */
// An expected outcome, not a fault: a plain tagged value (no stack trace to capture).
export class LineShort extends Data.TaggedClass("LineShort")<{
  readonly productId: ProductId
  readonly requested: number
  /** sellable units over `locations` */
  readonly available: number
  /** where the line could have been served from */
  readonly locations: ReadonlyArray<string>
}> {}

export class NotEnoughToRemove extends Data.TaggedError("NotEnoughToRemove")<{
  readonly productId: ProductId
  readonly requested: number
  readonly available: number
}> {}

/** A count taken when on hand was `expected`; it is `onHand` now (stock moved since). */
export class StockMoved extends Data.TaggedError("StockMoved")<{
  readonly onHand: number
  readonly expected: number
}> {}

/** Memory disagrees with itself (release of more than is reserved): the generation must be reloaded. */
export class InconsistentMemory extends Data.TaggedError("InconsistentMemory")<{ readonly productId: ProductId }> {}

/** A backorder limit set below what is already promised at that location. */
export class BackorderLimitBelowPromised extends Data.TaggedError("BackorderLimitBelowPromised")<{
  readonly productId: ProductId
  readonly locationId: string
  readonly backordered: number
  readonly limit: number
}> {}

export class UnknownProduct extends Data.TaggedError("UnknownProduct")<{ readonly productId: ProductId }> {}

/** The request's idempotency key was used meanwhile: its stored answer is the answer. */
export class AlreadyApplied extends Data.TaggedError("AlreadyApplied") {}

/** A line of a bulk request that cannot be applied (nothing of the request is). */
export interface LineRefused {
  readonly index: number
  readonly error: NotEnoughToRemove | StockMoved | UnknownProduct
}

export class BulkRefused extends Data.TaggedError("BulkRefused")<{ readonly lines: ReadonlyArray<LineRefused> }> {}
