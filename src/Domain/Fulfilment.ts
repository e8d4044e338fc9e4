import { Either } from "effect"
import type { ProductId } from "./Ids.js"
import { type HeldLine, reservedOf } from "./Lifecycle.js"

/** `backordered`: more asked for than is reserved, the rest being only promised so far */
export type RejectionReason = "not_reserved" | "exceeds_held" | "unknown_line" | "backordered"

export interface FulfilmentRejected {
  readonly reason: RejectionReason
  readonly productId?: ProductId
  /** the location the refused item named, if it named one */
  readonly locationId?: string
  readonly requested?: number
  readonly held?: number
}

export interface FulfilmentPlan {
  /** what ships now, per product and location */
  readonly shipped: ReadonlyArray<HeldLine>
  /** what stays held afterwards (allocations with nothing left are dropped) */
  readonly remaining: ReadonlyArray<HeldLine>
}

export interface FulfilmentItem {
  readonly product_id: ProductId
  readonly quantity: number
  readonly location_id?: string | undefined
}

const key = (productId: string, locationId: string) => `${productId}\u0000${locationId}`

/**
 * Decides a fulfilment against what the order holds: no `items` ships every held allocation; with
 * `items`, those quantities. An item naming `location_id` ships from that location, within what the
 * line holds there; one without ships from the line's allocations in the order `rank` gives (best
 * priority first), and a product's items together stay within what its line holds over all
 * locations. Only reserved units ship: asking for promised (backordered) ones is refused with
 * `backordered`. Anything else is refused as a whole and changes nothing.
 */
export const planFulfilment = (
  held: ReadonlyArray<HeldLine>,
  items: ReadonlyArray<FulfilmentItem> | undefined,
  rank: (locationId: string) => number = () => 0,
): Either.Either<FulfilmentPlan, FulfilmentRejected> => {
  const holding = held.filter((l) => l.quantity > 0)
  if (holding.length === 0) return Either.left({ reason: "not_reserved" })
  if (items === undefined) {
    const waiting = holding.find((l) => (l.backordered ?? 0) > 0)
    if (waiting === undefined) return Either.right({ shipped: holding, remaining: [] })
    const { productId, locationId, quantity } = waiting
    return Either.left({ reason: "backordered", productId, locationId, requested: quantity, held: reservedOf(waiting) })
  }
  // what may ship (reserved) and what is held at all, per line and per product
  const left = new Map<string, number>()
  const onLineAt = new Map<string, number>()
  const perProduct = new Map<ProductId, { reserved: number; held: number }>()
  for (const l of holding) {
    left.set(key(l.productId, l.locationId), reservedOf(l))
    onLineAt.set(key(l.productId, l.locationId), l.quantity)
    const sum = perProduct.get(l.productId) ?? { reserved: 0, held: 0 }
    perProduct.set(l.productId, { reserved: sum.reserved + reservedOf(l), held: sum.held + l.quantity })
  }
  const wantedAt = new Map<string, HeldLine>()
  const wanted = new Map<ProductId, number>()
  for (const item of items) {
    wanted.set(item.product_id, (wanted.get(item.product_id) ?? 0) + item.quantity)
    if (item.location_id === undefined) continue
    const k = key(item.product_id, item.location_id)
    const before = wantedAt.get(k)?.quantity ?? 0
    wantedAt.set(k, { productId: item.product_id, locationId: item.location_id, quantity: before + item.quantity })
  }
  const beyond = (requested: number, reserved: number, held: number) =>
    requested <= reserved ? undefined : requested <= held ? ("backordered" as const) : ("exceeds_held" as const)
  for (const [k, want] of wantedAt) {
    const onLine = onLineAt.get(k) ?? 0
    const { productId, locationId, quantity: requested } = want
    if (onLine === 0) return Either.left({ reason: "unknown_line", productId, locationId, requested, held: 0 })
    const reserved = left.get(k)!
    const reason = beyond(requested, reserved, onLine)
    if (reason !== undefined)
      return Either.left({
        reason,
        productId,
        locationId,
        requested,
        held: reason === "backordered" ? reserved : onLine,
      })
  }
  for (const [productId, requested] of wanted) {
    const onLine = perProduct.get(productId)
    if (onLine === undefined) return Either.left({ reason: "unknown_line", productId, requested, held: 0 })
    const reason = beyond(requested, onLine.reserved, onLine.held)
    if (reason !== undefined)
      return Either.left({
        reason,
        productId,
        requested,
        held: reason === "backordered" ? onLine.reserved : onLine.held,
      })
  }
  // what ships: named locations first, then the rest of each product from its allocations by rank
  const shipped = new Map<string, HeldLine>()
  const ship = (productId: ProductId, locationId: string, quantity: number) => {
    const k = key(productId, locationId)
    left.set(k, left.get(k)! - quantity)
    const before = shipped.get(k)?.quantity ?? 0
    shipped.set(k, { productId, locationId, quantity: before + quantity })
  }
  for (const w of wantedAt.values()) ship(w.productId, w.locationId, w.quantity)
  const byRank = [...holding].sort((a, b) => rank(a.locationId) - rank(b.locationId))
  for (const [productId, total] of wanted) {
    let rest = total
    for (const w of wantedAt.values()) if (w.productId === productId) rest -= w.quantity
    for (const l of byRank) {
      if (rest === 0) break
      if (l.productId !== productId) continue
      const take = Math.min(rest, left.get(key(productId, l.locationId))!)
      if (take > 0) ship(productId, l.locationId, take)
      rest -= take
    }
  }
  return Either.right({
    shipped: [...shipped.values()],
    remaining: holding
      .map((l) => ({ ...l, quantity: left.get(key(l.productId, l.locationId))! + (l.backordered ?? 0) }))
      .filter((l) => l.quantity > 0),
  })
}
