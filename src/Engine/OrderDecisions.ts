import type { Topics } from "../Config.js"
import { makeEvent, nowIso, type OutboxEvent } from "../Domain/Events.js"
import type { OrderId } from "../Domain/Ids.js"
import type { OrderCreated } from "../Domain/Orders.js"
import type { KnownOrder } from "../Store/StockStore.js"
import { checkOf, type Decision, decision, ledgerOf, writeOf } from "./Decision.js"
import type { SagaLine } from "./OrderSaga.js"
import type { LineShort, Move } from "./ProductActor.js"

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
): Decision =>
  decision({
    writes: moves.map(writeOf),
    ledger: moves.map((m, i) => ledgerOf(m, "reserve", lines[i]!.quantity, { referenceId: order.order_id })),
    orderInserts: [{ orderId: order.order_id, status: "reserved", reservationId, lines }],
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

/** A cancellation released what the order held. */
export const releasedDecision = (
  topics: Topics,
  orderId: OrderId,
  known: KnownOrder,
  moves: ReadonlyArray<Move>,
): Decision =>
  decision({
    writes: moves.map(writeOf),
    ledger: moves.map((m, i) => ledgerOf(m, "release", known.lines[i]!.quantity, { referenceId: orderId })),
    orderReleases: [orderId],
    events: [
      makeEvent(topics, "inventory.released", orderId, {
        // only a reserved order is released, and every reservation has its id
        reservation_id: known.reservationId ?? "",
        order_id: orderId,
        items: known.lines.map((l) => ({ product_id: l.productId, quantity: l.quantity })),
        reason: "cancelled",
        released_at: nowIso(),
      }),
    ],
  })

/** A cancellation came first: remembered, so the order is never reserved when it arrives. */
export const cancelledBeforeCreateDecision = (orderId: OrderId): Decision =>
  decision({ orderInserts: [{ orderId, status: "cancelled_before_create", reservationId: null, lines: [] }] })
