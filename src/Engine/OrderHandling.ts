import { randomUUID } from "node:crypto"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Either } from "effect"
import type { Topics } from "../Config.js"
import type { AllocationStrategy, Location } from "../Domain/Allocation.js"
import { planFulfilment } from "../Domain/Fulfilment.js"
import type { OrderId, ProductId } from "../Domain/Ids.js"
import { type HeldLine, isHeld, type KnownOrder } from "../Domain/Lifecycle.js"
import type { OrderCancelled, OrderCreated, OrderFulfilled, OrderMessage } from "../Domain/Orders.js"
import type { Fence } from "../Store/CommitBatch.js"
import type { Decision } from "./Decision.js"
import * as EngineMetrics from "./EngineMetrics.js"
import { InconsistentMemory, StaleGeneration } from "./Errors.js"
import type { Generation } from "./Generation.js"
import {
  cancelledBeforeCreateDecision,
  extendedDecision,
  filledDecision,
  fulfilledDecision,
  fulfilmentRejectedDecision,
  rejectedDecision,
  releasedDecision,
  reservedDecision,
} from "./OrderDecisions.js"
import { heldLinesOf, makeRouting } from "./OrderRouting.js"
import { fulfilAll, releaseAll, reserveAll } from "./OrderSaga.js"
import * as Pending from "./Pending.js"
import type { Move } from "./ProductActor.js"

/** What the engine decides: a message from an order topic, or one the service gives itself. */
export type EngineMessage =
  | OrderMessage
  /** the sweeper found the reservation due */
  | { readonly _tag: "Expire"; readonly order: { readonly order_id: OrderId } }
  /** stock waits where the order's line has promised units: the filler found it */
  | {
      readonly _tag: "Fill"
      readonly order: { readonly order_id: OrderId }
      readonly productId: ProductId
      readonly locationId: string
      /** how many units the line still promises there once this fill is committed */
      readonly answer: (left: number) => void
    }
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
  readonly strategy: AllocationStrategy
  /** every location, as last read */
  readonly locations: () => ReadonlyArray<Location>
  readonly submit: (generation: Generation, decision: Decision) => Effect.Effect<Pending.Pending<void, StaleGeneration>>
}

export type Handled = Effect.Effect<
  Pending.Pending<void, StaleGeneration> | undefined,
  StaleGeneration | SqlError | InconsistentMemory
>

/** A decision, and the order as it is once the decision is committed. */
interface Outcome {
  readonly decision: Decision
  readonly next: KnownOrder
}

type Decided = Effect.Effect<Outcome | undefined, StaleGeneration | SqlError | InconsistentMemory>

const stale = new StaleGeneration()

/** Nothing recorded for the order (at most fulfilments refused before it was seen). */
const unseen = (known: KnownOrder | undefined): known is undefined | (KnownOrder & { status: "unseen" }) =>
  known === undefined || known.status === "unseen"

const nothingElse = { reservationId: null, lines: [], expiresAt: null, fulfillments: [] } as const

/**
 * How each message moves an order on: the saga over the product actors, the decision handed to the
 * committer, and only then the outcome remembered in the generation's order slot and the order's
 * next message let in.
 */
export const makeOrderHandling = ({ topics, ttlSeconds, strategy, locations, submit }: OrderHandlingDeps) => {
  const { linesToReserve, rank } = makeRouting(strategy, locations)
  const dueTime = () => (ttlSeconds > 0 ? Date.now() + ttlSeconds * 1000 : null)

  /** The order is refused on a line short over `locations`: the refusal rests on the product there. */
  const refuse = (
    generation: Generation,
    order: OrderCreated,
    short: Parameters<typeof rejectedDecision>[1],
    fulfillments: ReadonlyArray<string>,
  ): Decided => {
    const holds = generation.holds(short.productId, short.locations)
    if (holds === undefined) return Effect.fail(new InconsistentMemory({ productId: short.productId }))
    return Effect.as(EngineMetrics.countOrder("out_of_stock"), {
      decision: rejectedDecision(order, short, holds),
      next: { ...nothingElse, status: "rejected", fulfillments },
    })
  }

  /**
   * Marks the order as being decided, so that other messages of the same order wait; hands what the
   * body decided to the committer, then publishes the order's new state, then wakes the waiters
   * (hand over before you wake: the order's next step is decided on this one and queued after it).
   * A body that decides nothing (or fails) leaves the order as it was.
   */
  const deciding = (
    generation: Generation,
    orderId: OrderId,
    previous: KnownOrder | undefined,
    fence: Fence | undefined,
    body: Decided,
  ) => {
    const done = Pending.make<void>()
    const mark = { _tag: "Deciding", done } as const
    generation.orders.set(orderId, mark)
    return body.pipe(
      Effect.flatMap((outcome) =>
        outcome === undefined
          ? Effect.succeed(undefined)
          : Effect.map(submit(generation, fence ? { ...outcome.decision, fence } : outcome.decision), (pending) => {
              if (generation.orders.get(orderId) === mark) {
                generation.orders.set(orderId, { _tag: "Decided", ...outcome.next, pending })
              }
              return pending
            }),
      ),
      Effect.ensuring(
        Effect.sync(() => {
          if (generation.orders.get(orderId) === mark) {
            if (previous === undefined) generation.orders.delete(orderId)
            else generation.orders.set(orderId, { _tag: "Decided", ...previous })
          }
          Pending.succeed(done, undefined)
        }),
      ),
    )
  }

  const reserveOrder = (generation: Generation, order: OrderCreated, known: KnownOrder | undefined): Decided => {
    const fulfillments = known?.fulfillments ?? []
    const planned = linesToReserve(generation, order)
    if (Either.isLeft(planned)) {
      const { productId, requested, unknownLocation } = planned.left
      const short = { productId: productId as ProductId, requested, locations: [unknownLocation] }
      return refuse(generation, order, short, fulfillments)
    }
    return Effect.matchEffect(reserveAll(generation, planned.right), {
      onFailure: (failure) =>
        failure._tag === "LineShort" ? refuse(generation, order, failure, fulfillments) : Effect.fail(failure),
      onSuccess: (moves) => {
        const lines = heldLinesOf(moves)
        const reservationId = randomUUID()
        // the time to live starts once every unit is reserved (nothing only promised)
        const expiresAt = lines.some((l) => l.backordered) ? null : dueTime()
        return Effect.as(EngineMetrics.countOrder("reserved"), {
          decision: reservedDecision(topics, order, reservationId, lines, moves, expiresAt),
          next: { status: "reserved", reservationId, lines, expiresAt, fulfillments },
        })
      },
    })
  }

  /** Releases what a held order still holds (a cancellation, or an expiry that is due). */
  const release = (generation: Generation, orderId: OrderId, known: KnownOrder, reason: "cancelled" | "expired") =>
    Effect.map(
      releaseAll(generation, known.lines),
      (moves): Outcome => ({
        decision: releasedDecision(orderId, moves, reason),
        next: { ...known, status: reason === "expired" ? "expired" : "released", lines: [] },
      }),
    ).pipe(Effect.tap(() => EngineMetrics.countOrder(reason === "expired" ? "expired" : "released")))

  const cancelOrder = (generation: Generation, order: OrderCancelled, known: KnownOrder | undefined): Decided => {
    const orderId = order.order_id
    if (unseen(known)) {
      return Effect.as(EngineMetrics.countOrder("cancelled_before_create"), {
        decision: cancelledBeforeCreateDecision(orderId),
        next: { ...nothingElse, status: "cancelled_before_create", fulfillments: known?.fulfillments ?? [] },
      })
    }
    return isHeld(known.status) ? release(generation, orderId, known, "cancelled") : Effect.succeed(undefined)
  }

  const fulfilOrder = (generation: Generation, order: OrderFulfilled, known: KnownOrder | undefined): Decided => {
    const orderId = order.order_id
    const fulfillmentId = order.fulfillment_id ?? orderId
    if (known?.fulfillments.includes(fulfillmentId)) return Effect.as(EngineMetrics.countOrder("duplicate"), undefined)
    const plan = planFulfilment(known !== undefined && isHeld(known.status) ? known.lines : [], order.items, rank)
    const remembered: KnownOrder = {
      ...(known ?? { ...nothingElse, status: "unseen" }),
      fulfillments: [...(known?.fulfillments ?? []), fulfillmentId],
    }
    if (Either.isLeft(plan)) {
      return Effect.as(EngineMetrics.countOrder("fulfillment_rejected"), {
        decision: fulfilmentRejectedDecision(topics, orderId, fulfillmentId, plan.left),
        next: remembered,
      })
    }
    const { shipped, remaining } = plan.right
    return Effect.map(
      fulfilAll(generation, shipped),
      (moves): Outcome => ({
        decision: fulfilledDecision(order, fulfillmentId, plan.right, moves),
        next: { ...remembered, status: remaining.length === 0 ? "fulfilled" : "partially_fulfilled", lines: remaining },
      }),
    ).pipe(Effect.tap(() => EngineMetrics.countOrder("fulfilled")))
  }

  /** Promised units of the order's line at a place become reserved, as many as are there now. */
  const fillOrder = (
    generation: Generation,
    message: Extract<EngineMessage, { _tag: "Fill" }>,
    known: KnownOrder | undefined,
  ): Decided => {
    const { productId, locationId } = message
    const line = known?.lines.find((l) => l.productId === productId && l.locationId === locationId)
    if (known === undefined || !isHeld(known.status) || !line?.backordered) {
      message.answer(0)
      return Effect.succeed(undefined)
    }
    return Effect.map(
      generation.send<Move | undefined, StaleGeneration>(productId, (reply) => ({
        _tag: "Fill",
        location: locationId,
        quantity: line.backordered!,
        reply,
      })),
      (move): Outcome | undefined => {
        const filled = -(move?.promised ?? 0)
        message.answer(line.backordered! - filled)
        if (move === undefined) return undefined
        const lines = known.lines.map((l): HeldLine => {
          if (l !== line) return l
          const { backordered: _, ...rest } = l
          return filled < line.backordered! ? { ...rest, backordered: line.backordered! - filled } : rest
        })
        const whole = lines.every((l) => !l.backordered)
        const expiresAt = whole ? dueTime() : null
        return {
          decision: filledDecision(
            message.order.order_id,
            [{ productId, locationId, quantity: filled }],
            [move],
            expiresAt,
          ),
          // as the commit keeps it: a new due time once fully reserved, else the one it had
          next: { ...known, lines, expiresAt: expiresAt ?? known.expiresAt },
        }
      },
    ).pipe(Effect.tap((o) => (o === undefined ? Effect.void : EngineMetrics.countOrder("backorder_filled"))))
  }

  /** Due: still reserved with nothing fulfilled or promised, and the due time memory knows has passed. */
  const expireOrder = (generation: Generation, orderId: OrderId, known: KnownOrder | undefined): Decided =>
    known?.status === "reserved" &&
    known.expiresAt !== null &&
    known.expiresAt <= Date.now() &&
    known.lines.every((l) => !l.backordered)
      ? release(generation, orderId, known, "expired")
      : Effect.succeed(undefined)

  const extendOrder = (message: Extract<EngineMessage, { _tag: "Extend" }>, known: KnownOrder | undefined): Decided =>
    Effect.sync(() => {
      const held = known !== undefined && isHeld(known.status)
      message.answer(held)
      if (!held) return undefined
      return {
        decision: extendedDecision(message.order.order_id, message.expiresAt),
        next: { ...known, expiresAt: message.expiresAt },
      }
    }).pipe(Effect.tap((d) => (d === undefined ? Effect.void : EngineMetrics.countOrder("extended"))))

  /** Decides one message in `generation`; returns the commit to wait for, if it changes anything. */
  const handle = (
    generation: Generation,
    message: EngineMessage,
    stored: ReadonlyMap<OrderId, KnownOrder>,
    fence?: Fence,
  ): Handled =>
    Effect.suspend(() => {
      // combinators rather than a generator: this runs once per message
      const orderId = message.order.order_id
      const slot = generation.orders.get(orderId)
      if (slot?._tag === "Deciding") {
        // another message of this order is being decided: after it, look again
        return Effect.zipRight(
          Pending.wait(slot.done),
          Effect.suspend(() => (generation.closed ? Effect.fail(stale) : handle(generation, message, stored, fence))),
        )
      }
      const known = message._tag === "Fill" ? (stored.get(orderId) ?? slot) : (slot ?? stored.get(orderId))
      // a repeat changes nothing, but is acknowledged only once what the order decided is durable
      const inFlight = slot?._tag === "Decided" ? slot.pending : undefined
      if (message._tag === "Created" && !unseen(known)) {
        return Effect.as(EngineMetrics.countOrder("duplicate"), inFlight)
      }
      // suspended: the body runs only once the order is marked as being decided
      const body: Decided = Effect.suspend(() =>
        message._tag === "Created"
          ? reserveOrder(generation, message.order, known)
          : message._tag === "Cancelled"
            ? cancelOrder(generation, message.order, known)
            : message._tag === "Fulfilled"
              ? fulfilOrder(generation, message.order, known)
              : message._tag === "Expire"
                ? expireOrder(generation, orderId, known)
                : message._tag === "Fill"
                  ? fillOrder(generation, message, known)
                  : extendOrder(message, known),
      )
      return Effect.map(deciding(generation, orderId, known, fence, body), (pending) => pending ?? inFlight)
    })

  return { handle } as const
}
