import { Either } from "effect"
import type { ProductId } from "./Ids.js"
import type { Line } from "./Lifecycle.js"

export type RejectionReason = "not_reserved" | "exceeds_held" | "unknown_line"

export interface FulfilmentRejected {
  readonly reason: RejectionReason
  readonly productId?: ProductId
  readonly requested?: number
  readonly held?: number
}

export interface FulfilmentPlan {
  /** what ships now, one entry per product, in the order the fulfilment named them */
  readonly shipped: ReadonlyArray<Line>
  /** what stays held afterwards (lines with nothing left are dropped) */
  readonly remaining: ReadonlyArray<Line>
}

/**
 * Decides a fulfilment against what the order holds: no `items` ships every held line; with
 * `items`, those quantities (summed per product), each within what its line holds. Anything else
 * is refused as a whole and changes nothing.
 */
export const planFulfilment = (
  held: ReadonlyArray<Line>,
  items: ReadonlyArray<{ readonly product_id: ProductId; readonly quantity: number }> | undefined,
): Either.Either<FulfilmentPlan, FulfilmentRejected> => {
  const holding = held.filter((l) => l.quantity > 0)
  if (holding.length === 0) return Either.left({ reason: "not_reserved" })
  if (items === undefined) return Either.right({ shipped: holding, remaining: [] })
  const wanted = new Map<ProductId, number>()
  for (const item of items) wanted.set(item.product_id, (wanted.get(item.product_id) ?? 0) + item.quantity)
  const heldOf = new Map(holding.map((l) => [l.productId, l.quantity]))
  for (const [productId, requested] of wanted) {
    const onLine = heldOf.get(productId)
    if (onLine === undefined) return Either.left({ reason: "unknown_line", productId, requested, held: 0 })
    if (requested > onLine) return Either.left({ reason: "exceeds_held", productId, requested, held: onLine })
  }
  return Either.right({
    shipped: Array.from(wanted, ([productId, quantity]) => ({ productId, quantity })),
    remaining: holding
      .map((l) => ({ productId: l.productId, quantity: l.quantity - (wanted.get(l.productId) ?? 0) }))
      .filter((l) => l.quantity > 0),
  })
}
