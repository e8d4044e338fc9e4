import type { Topics } from "../Config.js"
import type { FulfilmentPlan, FulfilmentRejected } from "../Domain/Fulfilment.js"
import type { OrderId, ProductId } from "../Domain/Ids.js"
import { DefaultLocation, type HeldLine, statusAfterShipping } from "../Domain/Lifecycle.js"
import type { OrderCreated, OrderFulfilled } from "../Domain/Orders.js"
import { makeEvent, nowIso } from "../Store/Outbox.js"
import { type Decision, decision } from "./Decision.js"
import type { Hold, Move } from "./ProductActor.js"

// What an order message decides, as intents for the commit (which derives and judges the rows and
// builds the events that follow from them): plain functions over what the actors answered.

const holdsOf = (moves: ReadonlyArray<Move>): Array<Hold> => moves.map((m) => m.hold)

/**
 * The reserved event's items: one per product (a product's lines are adjacent), with where its units
 * are held and, when some are only promised, how many (per item and per allocation). An order held
 * entirely at `default` gets the items of a shop with one location: no `allocations`.
 */
const reservedItems = (lines: ReadonlyArray<HeldLine>) => {
  if (lines.every((l) => l.locationId === DefaultLocation && !l.backordered)) {
    const items: Array<{ product_id: ProductId; quantity: number }> = []
    for (const l of lines) {
      const last = items[items.length - 1]
      if (last?.product_id === l.productId) last.quantity += l.quantity
      else items.push({ product_id: l.productId, quantity: l.quantity })
    }
    return items
  }
  type Allocation = { location_id: string; quantity: number; backordered?: number }
  type Item = { product_id: ProductId; quantity: number; allocations: Array<Allocation>; backordered?: number }
  const items: Array<Item> = []
  for (const l of lines) {
    const last = items[items.length - 1]
    const promised = l.backordered ?? 0
    const allocation: Allocation = { location_id: l.locationId, quantity: l.quantity }
    if (promised > 0) allocation.backordered = promised
    if (last?.product_id === l.productId) {
      last.quantity += l.quantity
      last.allocations.push(allocation)
      if (promised > 0) last.backordered = (last.backordered ?? 0) + promised
    } else {
      const item: Item = { product_id: l.productId, quantity: l.quantity, allocations: [allocation] }
      if (promised > 0) item.backordered = promised
      items.push(item)
    }
  }
  return items
}

/** Every line was reserved, at the locations `lines` say. */
export const reservedDecision = (
  topics: Topics,
  order: OrderCreated,
  reservationId: string,
  lines: ReadonlyArray<HeldLine>,
  moves: ReadonlyArray<Move>,
  expiresAt: number | null,
): Decision =>
  decision({
    holds: holdsOf(moves),
    step: { _tag: "Reserve", orderId: order.order_id, reservationId, lines, expiresAt },
    events: [
      makeEvent(topics, "inventory.reserved", order.order_id, {
        reservation_id: reservationId,
        order_id: order.order_id,
        items: reservedItems(lines),
        reserved_at: nowIso(),
      }),
    ],
  })

/** A line was short: nothing reserved; the commit reports the level it stands on (`inventory.out_of_stock`). */
export const rejectedDecision = (
  order: OrderCreated,
  short: { readonly productId: ProductId; readonly requested: number; readonly locations: ReadonlyArray<string> },
  holds: ReadonlyArray<Hold>,
): Decision =>
  decision({
    holds,
    step: {
      _tag: "Refuse",
      orderId: order.order_id,
      productId: short.productId,
      locations: short.locations,
      requested: short.requested,
    },
  })

/** A cancellation or an expiry releases all the order still holds (`inventory.released`, built by the commit). */
export const releasedDecision = (orderId: OrderId, moves: ReadonlyArray<Move>, reason: "cancelled" | "expired") =>
  decision({ holds: holdsOf(moves), step: { _tag: "Release", orderId, reason } })

/** A cancellation came first: remembered, so the order is never reserved when it arrives. */
export const cancelledBeforeCreateDecision = (orderId: OrderId): Decision =>
  decision({ step: { _tag: "CancelFirst", orderId } })

/** A fulfilment ships `plan.shipped` (`inventory.fulfilled`, with what remains, built by the commit). */
export const fulfilledDecision = (
  order: OrderFulfilled,
  fulfillmentId: string,
  plan: FulfilmentPlan,
  moves: ReadonlyArray<Move>,
): Decision =>
  decision({
    holds: holdsOf(moves),
    step: {
      _tag: "Ship",
      orderId: order.order_id,
      fulfillmentId,
      items: order.items === undefined ? undefined : plan.shipped,
      to: statusAfterShipping(plan.remaining),
      at: order.fulfilled_at ?? nowIso(),
    },
  })

/** A fulfilment that does not fit what the order holds: nothing changes, the refusal is published. */
export const fulfilmentRejectedDecision = (
  topics: Topics,
  orderId: OrderId,
  fulfillmentId: string,
  rejected: FulfilmentRejected,
): Decision =>
  decision({
    step: { _tag: "RejectFulfilment", orderId, fulfillmentId, ...rejected },
    events: [
      makeEvent(topics, "inventory.fulfillment_rejected", orderId, {
        order_id: orderId,
        fulfillment_id: fulfillmentId,
        reason: rejected.reason,
        ...(rejected.productId !== undefined ? { product_id: rejected.productId } : {}),
        ...(rejected.locationId !== undefined ? { location_id: rejected.locationId } : {}),
        ...(rejected.requested !== undefined ? { requested_qty: rejected.requested } : {}),
        ...(rejected.held !== undefined ? { held_qty: rejected.held } : {}),
        timestamp: nowIso(),
      }),
    ],
  })

/**
 * Stock arrived where the order's lines wait for it: `lines` (what each now reserves) become reserved
 * (`inventory.backorder_filled`, built by the commit); `expiresAt` once nothing is promised any more.
 */
export const filledDecision = (
  orderId: OrderId,
  lines: ReadonlyArray<HeldLine>,
  moves: ReadonlyArray<Move>,
  expiresAt: number | null,
): Decision => decision({ holds: holdsOf(moves), step: { _tag: "Fill", orderId, lines, expiresAt } })

/** The due time of a held reservation moves. */
export const extendedDecision = (orderId: OrderId, expiresAt: number): Decision =>
  decision({ step: { _tag: "Extend", orderId, expiresAt } })
