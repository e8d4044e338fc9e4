import { Data, Either } from "effect"

/** A product's stock. Invariant: every field >= 0 and onHand = available + reserved. */
export interface StockLevel {
  readonly available: number
  readonly reserved: number
  readonly onHand: number
}

/** Fewer units available than asked for (a reservation, or a removal). */
export class Shortfall extends Data.TaggedClass("Shortfall")<{
  readonly requested: number
  readonly available: number
}> {}

export class ReleaseExceedsReserved extends Data.TaggedClass("ReleaseExceedsReserved")<{
  readonly requested: number
  readonly reserved: number
}> {}

export const emptyStock: StockLevel = { available: 0, reserved: 0, onHand: 0 }

export const stockOf = (onHand: number): StockLevel => ({ available: onHand, reserved: 0, onHand })

export const isValid = (s: StockLevel): boolean =>
  Number.isSafeInteger(s.available) &&
  Number.isSafeInteger(s.reserved) &&
  s.available >= 0 &&
  s.reserved >= 0 &&
  s.onHand === s.available + s.reserved

/** Moves `quantity` from available to reserved, or says how much is available. */
export const reserve = (s: StockLevel, quantity: number): Either.Either<StockLevel, Shortfall> =>
  quantity <= s.available
    ? Either.right({ available: s.available - quantity, reserved: s.reserved + quantity, onHand: s.onHand })
    : Either.left(new Shortfall({ requested: quantity, available: s.available }))

/** Moves `quantity` back from reserved to available. */
export const release = (s: StockLevel, quantity: number): Either.Either<StockLevel, ReleaseExceedsReserved> =>
  quantity <= s.reserved
    ? Either.right({ available: s.available + quantity, reserved: s.reserved - quantity, onHand: s.onHand })
    : Either.left(new ReleaseExceedsReserved({ requested: quantity, reserved: s.reserved }))

/** Ships `quantity` of what is reserved: it leaves reserved and on hand (available is unchanged). */
export const fulfil = (s: StockLevel, quantity: number): Either.Either<StockLevel, ReleaseExceedsReserved> =>
  quantity <= s.reserved
    ? Either.right({ available: s.available, reserved: s.reserved - quantity, onHand: s.onHand - quantity })
    : Either.left(new ReleaseExceedsReserved({ requested: quantity, reserved: s.reserved }))

/** Adds (or, negative, removes) units on hand; never takes what is reserved. */
export const adjust = (s: StockLevel, delta: number): Either.Either<StockLevel, Shortfall> =>
  s.available + delta >= 0
    ? Either.right({ available: s.available + delta, reserved: s.reserved, onHand: s.onHand + delta })
    : Either.left(new Shortfall({ requested: -delta, available: s.available }))

/** True once per crossing: from at-or-above the threshold to below it. */
export const crossesBelow = (before: StockLevel, after: StockLevel, threshold: number): boolean =>
  before.available >= threshold && after.available < threshold

export const difference = (before: StockLevel, after: StockLevel): StockLevel => ({
  available: after.available - before.available,
  reserved: after.reserved - before.reserved,
  onHand: after.onHand - before.onHand,
})

export const plus = (a: StockLevel, b: StockLevel): StockLevel => ({
  available: a.available + b.available,
  reserved: a.reserved + b.reserved,
  onHand: a.onHand + b.onHand,
})

export const minus = (a: StockLevel, b: StockLevel): StockLevel => ({
  available: a.available - b.available,
  reserved: a.reserved - b.reserved,
  onHand: a.onHand - b.onHand,
})

/** Lines of one product are summed, in the order each product first appears. */
export const sumLines = <P extends string>(
  items: ReadonlyArray<{ readonly product_id: P; readonly quantity: number }>,
): Array<{ readonly productId: P; readonly quantity: number }> => {
  const totals = new Map<P, number>()
  for (const item of items) totals.set(item.product_id, (totals.get(item.product_id) ?? 0) + item.quantity)
  return Array.from(totals, ([productId, quantity]) => ({ productId, quantity }))
}
