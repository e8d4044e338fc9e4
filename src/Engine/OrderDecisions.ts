import type { Topics } from "../Config.js"
import type { FulfilmentPlan, FulfilmentRejected, HeldLine } from "../Domain/Fulfilment.js"
import type { OrderId } from "../Domain/Ids.js"
import type { OrderCreated, OrderFulfilled } from "../Domain/Orders.js"
import { makeEvent, nowIso, type OutboxEvent } from "../Store/Outbox.js"
import type { KnownOrder, OrderStatus } from "../Store/StockStore.js"
import { checkOf, type Decision, decision, ledgerOf, writeOf } from "./Decision.js"
import type { LineShort } from "./Errors.js"
import type { SagaLine } from "./OrderSaga.js"
import type { Move } from "./ProductActor.js"

// What an order message decides, as the rows and events to commit together: plain functions
// over what the actors answered (the engine runs the saga and remembers the outcome).

/** Every line was reserved. */
export const reservedDecision = (
  topics: Topics,
  order: OrderCreated,
  reservationId: string,
  lines: ReadonlyArray<SagaLine>,
  moves: ReadonlyArray<Move>,
  lowStock: ReadonlyArray<OutboxEvent>,
  expiresAt: number | null,
): Decision =>
  decision({
    writes: moves.map(writeOf),
    ledger: moves.map((m, i) => ledgerOf(m, "reserve", lines[i]!.quantity, { referenceId: order.order_id })),
    orderInserts: [{ orderId: order.order_id, status: "reserved", reservationId, lines, expiresAt }],
    events: [
      makeEvent(topics, "inventory.reserved", order.order_id, {
        reservation_id: reservationId,
        order_id: order.order_id,
        items: lines.map((l) => ({ product_id: l.productId, quantity: l.quantity })),
        reserved_at: nowIso(),
      }),
      ...lowStock,
    ],
  })

/** A line was short: nothing reserved, the real available quantity reported (re-checked at commit). */
export const rejectedDecision = (topics: Topics, order: OrderCreated, short: LineShort): Decision => {
  const productId = short.cell.productId
  return decision({
    writes: [checkOf(short.cell)],
    orderInserts: [
      {
        orderId: order.order_id,
        status: "rejected",
        reservationId: null,
        lines: [],
        expiresAt: null,
        short: { productId, requested: short.requested, available: short.available },
      },
    ],
    events: [
      makeEvent(topics, "inventory.out_of_stock", order.order_id, {
        order_id: order.order_id,
        product_id: productId,
        requested_qty: short.requested,
        available_qty: short.available,
        timestamp: nowIso(),
      }),
    ],
  })
}

/** A cancellation or an expiry released what the order still held. */
export const releasedDecision = (
  topics: Topics,
  orderId: OrderId,
  known: KnownOrder,
  moves: ReadonlyArray<Move>,
  reason: "cancelled" | "expired",
): Decision =>
  decision({
    writes: moves.map(writeOf),
    ledger: moves.map((m, i) =>
      ledgerOf(m, "release", known.lines[i]!.quantity, {
        referenceId: orderId,
        reason: reason === "expired" ? "expired" : null,
      }),
    ),
    orderUpdates: [
      {
        orderId,
        from: known.status as OrderStatus,
        held: known.lines,
        to: reason === "expired" ? "expired" : "released",
        lines: known.lines.map((l) => ({ productId: l.productId, fulfilled: 0, released: l.quantity })),
        // an expiry stands only if nobody moved the due time meanwhile
        ...(reason === "expired" ? { expiresAt: { expected: known.expiresAt, next: known.expiresAt } } : {}),
      },
    ],
    events: [
      makeEvent(topics, "inventory.released", orderId, {
        // only a reserved order is released, and every reservation has its id
        reservation_id: known.reservationId ?? "",
        order_id: orderId,
        items: known.lines.map((l) => ({ product_id: l.productId, quantity: l.quantity })),
        reason,
        released_at: nowIso(),
      }),
    ],
  })

/** A cancellation came first: remembered, so the order is never reserved when it arrives. */
export const cancelledBeforeCreateDecision = (orderId: OrderId): Decision =>
  decision({
    orderInserts: [{ orderId, status: "cancelled_before_create", reservationId: null, lines: [], expiresAt: null }],
  })

const items = (lines: ReadonlyArray<HeldLine>) => lines.map((l) => ({ product_id: l.productId, quantity: l.quantity }))

/** A fulfilment shipped `plan.shipped`: it leaves reserved and on hand; the rest stays held. */
export const fulfilledDecision = (
  topics: Topics,
  order: OrderFulfilled,
  fulfillmentId: string,
  known: KnownOrder,
  plan: FulfilmentPlan,
  moves: ReadonlyArray<Move>,
): Decision =>
  decision({
    writes: moves.map(writeOf),
    ledger: moves.map((m, i) =>
      ledgerOf(m, "fulfil", plan.shipped[i]!.quantity, { referenceId: order.order_id, reason: fulfillmentId }),
    ),
    orderUpdates: [
      {
        orderId: order.order_id,
        from: known.status as OrderStatus,
        held: known.lines,
        to: plan.remaining.length === 0 ? "fulfilled" : "partially_fulfilled",
        lines: plan.shipped.map((l) => ({ productId: l.productId, fulfilled: l.quantity, released: 0 })),
      },
    ],
    fulfillments: [{ orderId: order.order_id, fulfillmentId, outcome: "fulfilled" }],
    events: [
      makeEvent(topics, "inventory.fulfilled", order.order_id, {
        reservation_id: known.reservationId ?? "",
        order_id: order.order_id,
        fulfillment_id: fulfillmentId,
        items: items(plan.shipped),
        remaining: items(plan.remaining),
        fulfilled_at: order.fulfilled_at ?? nowIso(),
      }),
    ],
  })

/** A fulfilment that does not fit what the order holds: nothing changes, the refusal is published. */
export const fulfilmentRejectedDecision = (
  topics: Topics,
  orderId: OrderId,
  fulfillmentId: string,
  rejected: FulfilmentRejected,
): Decision =>
  decision({
    fulfillments: [{ orderId, fulfillmentId, outcome: "rejected" }],
    events: [
      makeEvent(topics, "inventory.fulfillment_rejected", orderId, {
        order_id: orderId,
        fulfillment_id: fulfillmentId,
        reason: rejected.reason,
        ...(rejected.productId !== undefined ? { product_id: rejected.productId } : {}),
        ...(rejected.requested !== undefined ? { requested_qty: rejected.requested } : {}),
        ...(rejected.held !== undefined ? { held_qty: rejected.held } : {}),
        timestamp: nowIso(),
      }),
    ],
  })

/** The due time of a held reservation moved. */
export const extendedDecision = (orderId: OrderId, known: KnownOrder, expiresAt: number): Decision =>
  decision({
    orderUpdates: [
      {
        orderId,
        from: known.status as OrderStatus,
        held: known.lines,
        to: known.status as OrderStatus,
        lines: [],
        expiresAt: { expected: known.expiresAt, next: expiresAt },
      },
    ],
  })
