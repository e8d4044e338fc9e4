import { randomUUID } from "node:crypto"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Either } from "effect"
import type { Topics } from "../Config.js"
import { planFulfilment } from "../Domain/Fulfilment.js"
import type { OrderId } from "../Domain/Ids.js"
import type { OrderCancelled, OrderCreated, OrderFulfilled, OrderMessage } from "../Domain/Orders.js"
import * as Stock from "../Domain/Stock.js"
import type { OutboxEvent } from "../Store/Outbox.js"
import { isHeld, type KnownOrder } from "../Store/StockStore.js"
import type { Decision } from "./Decision.js"
import * as EngineMetrics from "./EngineMetrics.js"
import { type InconsistentMemory, StaleGeneration } from "./Errors.js"
import type { Generation } from "./Generation.js"
import {
  cancelledBeforeCreateDecision,
  extendedDecision,
  fulfilledDecision,
  fulfilmentRejectedDecision,
  rejectedDecision,
  releasedDecision,
  reservedDecision,
} from "./OrderDecisions.js"
import { fulfilAll, releaseAll, reserveAll } from "./OrderSaga.js"
import * as Pending from "./Pending.js"
import type { Move } from "./ProductActor.js"

/** What the engine decides: a message from an order topic, or one the service gives itself. */
export type EngineMessage =
  | OrderMessage
  /** the sweeper found the reservation due */
  | { readonly _tag: "Expire"; readonly order: { readonly order_id: OrderId } }
  /** an operator moves the due time; `answer` says whether the reservation was still held */
  | {
      readonly _tag: "Extend"
      readonly order: { readonly order_id: OrderId }
      readonly expiresAt: number
      readonly answer: (held: boolean) => void
    }

export interface OrderHandlingDeps {
  readonly topics: Topics
  readonly ttlSeconds: number
  readonly submit: (generation: Generation, decision: Decision) => Effect.Effect<Pending.Pending<void, StaleGeneration>>
  readonly lowStockEvents: (moves: ReadonlyArray<Move>) => ReadonlyArray<OutboxEvent>
}

export type Handled = Effect.Effect<
  Pending.Pending<void, StaleGeneration> | undefined,
  StaleGeneration | SqlError | InconsistentMemory
>

const stale = new StaleGeneration()

/** Nothing recorded for the order (at most fulfilments refused before it was seen). */
const unseen = (known: KnownOrder | undefined): known is undefined | (KnownOrder & { status: "unseen" }) =>
  known === undefined || known.status === "unseen"

/**
 * How each message moves an order on: the saga over the product actors, the outcome remembered in
 * the generation's order slot, the decision handed to the committer.
 */
export const makeOrderHandling = ({ topics, ttlSeconds, submit, lowStockEvents }: OrderHandlingDeps) => {
  const decided = (generation: Generation, orderId: OrderId, known: KnownOrder) =>
    generation.orders.set(orderId, { _tag: "Decided", ...known })

  /** Hands the decision to the committer; the order's slot remembers it until it is durable. */
  const submitFor = (generation: Generation, orderId: OrderId, outcome: Decision) =>
    Effect.map(submit(generation, outcome), (done) => {
      const slot = generation.orders.get(orderId)
      if (slot?._tag === "Decided") slot.pending = done
      return done
    })

  /**
   * Marks the order as being decided, so that other messages of the same order wait for it.
   * Whatever the body does not decide (nothing to do, or a failure) leaves the order as it was.
   */
  const deciding = <A, E, R>(
    generation: Generation,
    orderId: OrderId,
    previous: KnownOrder | undefined,
    body: Effect.Effect<A, E, R>,
  ) => {
    const done = Pending.make<void>()
    const mark = { _tag: "Deciding", done } as const
    generation.orders.set(orderId, mark)
    return body.pipe(
      Effect.ensuring(
        Effect.sync(() => {
          if (generation.orders.get(orderId) === mark) {
            if (previous === undefined) generation.orders.delete(orderId)
            else decided(generation, orderId, previous)
          }
          Pending.succeed(done, undefined)
        }),
      ),
    )
  }

  const nothingElse = { reservationId: null, lines: [], expiresAt: null, fulfillments: [] } as const

  const reserveOrder = (generation: Generation, order: OrderCreated, known: KnownOrder | undefined) => {
    const lines = Stock.sumLines(order.items)
    const fulfillments = known?.fulfillments ?? []
    return Effect.matchEffect(reserveAll(generation, lines), {
      onFailure: (failure) => {
        if (failure._tag !== "LineShort") return Effect.fail(failure)
        decided(generation, order.order_id, { ...nothingElse, status: "rejected", fulfillments })
        return Effect.as(EngineMetrics.countOrder("out_of_stock"), rejectedDecision(topics, order, failure))
      },
      onSuccess: (moves) => {
        const reservationId = randomUUID()
        const expiresAt = ttlSeconds > 0 ? Date.now() + ttlSeconds * 1000 : null
        decided(generation, order.order_id, { status: "reserved", reservationId, lines, expiresAt, fulfillments })
        return Effect.as(
          EngineMetrics.countOrder("reserved"),
          reservedDecision(topics, order, reservationId, lines, moves, lowStockEvents(moves), expiresAt),
        )
      },
    })
  }

  /** Releases what a held order still holds (a cancellation, or an expiry that is due). */
  const release = (generation: Generation, orderId: OrderId, known: KnownOrder, reason: "cancelled" | "expired") =>
    Effect.map(releaseAll(generation, known.lines), (moves) => {
      decided(generation, orderId, { ...known, status: reason === "expired" ? "expired" : "released", lines: [] })
      return releasedDecision(topics, orderId, known, moves, reason)
    }).pipe(Effect.tap(() => EngineMetrics.countOrder(reason === "expired" ? "expired" : "released")))

  const cancelOrder = (generation: Generation, order: OrderCancelled, known: KnownOrder | undefined) => {
    const orderId = order.order_id
    if (unseen(known)) {
      decided(generation, orderId, {
        ...nothingElse,
        status: "cancelled_before_create",
        fulfillments: known?.fulfillments ?? [],
      })
      return Effect.as(EngineMetrics.countOrder("cancelled_before_create"), cancelledBeforeCreateDecision(orderId))
    }
    return isHeld(known.status) ? release(generation, orderId, known, "cancelled") : Effect.succeed(undefined)
  }

  const fulfilOrder = (generation: Generation, order: OrderFulfilled, known: KnownOrder | undefined) => {
    const orderId = order.order_id
    const fulfillmentId = order.fulfillment_id ?? orderId
    if (known?.fulfillments.includes(fulfillmentId)) return Effect.as(EngineMetrics.countOrder("duplicate"), undefined)
    const plan = planFulfilment(known !== undefined && isHeld(known.status) ? known.lines : [], order.items)
    const remembered: KnownOrder = {
      ...(known ?? { ...nothingElse, status: "unseen" }),
      fulfillments: [...(known?.fulfillments ?? []), fulfillmentId],
    }
    if (Either.isLeft(plan)) {
      decided(generation, orderId, remembered)
      return Effect.as(
        EngineMetrics.countOrder("fulfillment_rejected"),
        fulfilmentRejectedDecision(topics, orderId, fulfillmentId, plan.left),
      )
    }
    const held = known!
    return Effect.map(fulfilAll(generation, plan.right.shipped), (moves) => {
      const done = plan.right.remaining.length === 0
      decided(generation, orderId, {
        ...remembered,
        status: done ? "fulfilled" : "partially_fulfilled",
        lines: plan.right.remaining,
      })
      return fulfilledDecision(topics, order, fulfillmentId, held, plan.right, moves)
    }).pipe(Effect.tap(() => EngineMetrics.countOrder("fulfilled")))
  }

  /** Due: still reserved with nothing fulfilled, and the due time memory knows has passed. */
  const expireOrder = (generation: Generation, orderId: OrderId, known: KnownOrder | undefined) =>
    known?.status === "reserved" && known.expiresAt !== null && known.expiresAt <= Date.now()
      ? release(generation, orderId, known, "expired")
      : Effect.succeed(undefined)

  const extendOrder = (
    generation: Generation,
    message: Extract<EngineMessage, { _tag: "Extend" }>,
    known: KnownOrder | undefined,
  ) =>
    Effect.sync(() => {
      const held = known !== undefined && isHeld(known.status)
      message.answer(held)
      if (!held) return undefined
      decided(generation, message.order.order_id, { ...known, expiresAt: message.expiresAt })
      return extendedDecision(message.order.order_id, known, message.expiresAt)
    }).pipe(Effect.tap((d) => (d === undefined ? Effect.void : EngineMetrics.countOrder("extended"))))

  /** Decides one message in `generation`; returns the commit to wait for, if it changes anything. */
  const handle = (generation: Generation, message: EngineMessage, stored: ReadonlyMap<OrderId, KnownOrder>): Handled =>
    Effect.suspend(() => {
      // combinators rather than a generator: this runs once per message
      const orderId = message.order.order_id
      const slot = generation.orders.get(orderId)
      if (slot?._tag === "Deciding") {
        // another message of this order is being decided: after it, look again
        return Effect.zipRight(
          Pending.wait(slot.done),
          Effect.suspend(() => (generation.closed ? Effect.fail(stale) : handle(generation, message, stored))),
        )
      }
      const known = slot ?? stored.get(orderId)
      // a repeat changes nothing, but is acknowledged only once what the order decided is durable
      const inFlight = slot?._tag === "Decided" ? slot.pending : undefined
      if (message._tag === "Created" && !unseen(known)) {
        return Effect.as(EngineMetrics.countOrder("duplicate"), inFlight)
      }
      // suspended: the body runs (and records what it decided) only once the order is marked as deciding
      const body: Effect.Effect<Decision | undefined, StaleGeneration | SqlError | InconsistentMemory> = Effect.suspend(
        () =>
          message._tag === "Created"
            ? reserveOrder(generation, message.order, known)
            : message._tag === "Cancelled"
              ? cancelOrder(generation, message.order, known)
              : message._tag === "Fulfilled"
                ? fulfilOrder(generation, message.order, known)
                : message._tag === "Expire"
                  ? expireOrder(generation, orderId, known)
                  : extendOrder(generation, message, known),
      )
      return Effect.flatMap(deciding(generation, orderId, known, body), (outcome) =>
        outcome === undefined ? Effect.succeed(inFlight) : submitFor(generation, orderId, outcome),
      )
    })

  return { handle } as const
}
