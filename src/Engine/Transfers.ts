import { Effect } from "effect"
import type { ProductId } from "../Domain/Ids.js"
import type { IdempotencyRow } from "../Store/CommitBatch.js"
import { makeEvent, nowIso } from "../Store/Outbox.js"
import { decision } from "./Decision.js"
import { makeDurableWrites, type WriteDeps } from "./DurableWrites.js"
import {
  AlreadyApplied,
  type NotEnoughToRemove,
  type StaleGeneration,
  type StockMoved,
  type UnknownProduct,
} from "./Errors.js"
import type { Move } from "./ProductActor.js"

/** A transfer as it is recorded: what was sent, and how much of it is still on its way. */
export interface Transfer {
  readonly transferId: string
  readonly productId: ProductId
  readonly from: string
  readonly to: string
  readonly quantity: number
  readonly inTransit: number
}

export interface TransferRequest extends Omit<Transfer, "inTransit"> {
  readonly referenceId?: string | undefined
  /** stored in the same transaction as the transfer, so a retried request gets the same answer */
  readonly idempotency?: { readonly row: IdempotencyRow; readonly alreadyDone: Effect.Effect<boolean> } | undefined
}

type AdjustErrors = NotEnoughToRemove | StockMoved | UnknownProduct | StaleGeneration

/**
 * Stock moving between a product's locations, through the product's actor (serialized with its
 * reservations) and the one commit: sending takes the units off the source's available and on hand
 * and records them in transit; receiving adds them at the destination (starting the product's stock
 * there if it was not kept there). PostgreSQL judges both: the source must have them available, and
 * no more can arrive than is still in transit.
 */
export const makeTransfers = (deps: WriteDeps) => {
  const { topics } = deps
  const { durably, applyAndCommit } = makeDurableWrites(deps)
  const event = (t: Omit<Transfer, "inTransit">, quantity: number, status: "in_transit" | "received") =>
    makeEvent(topics, "inventory.transferred", t.productId, {
      transfer_id: t.transferId,
      product_id: t.productId,
      from_location_id: t.from,
      to_location_id: t.to,
      quantity,
      status,
      timestamp: nowIso(),
    })

  const send = (t: TransferRequest) =>
    durably<void, NotEnoughToRemove | StockMoved | UnknownProduct | AlreadyApplied>("Transfers.send", (generation) =>
      Effect.gen(function* () {
        if (t.idempotency && (yield* t.idempotency.alreadyDone)) return yield* new AlreadyApplied()
        yield* applyAndCommit(
          generation,
          generation.send<Move, AdjustErrors>(t.productId, (reply) => ({
            _tag: "Adjust",
            location: t.from,
            change: -t.quantity,
            reply,
          })),
          (move) => ({
            decision: decision({
              holds: [move.hold],
              changes: [
                {
                  _tag: "TransferOut",
                  productId: t.productId,
                  locationId: t.from,
                  toLocationId: t.to,
                  transferId: t.transferId,
                  quantity: t.quantity,
                  referenceId: t.referenceId ?? null,
                },
              ],
              events: [event(t, t.quantity, "in_transit")],
              idempotency: t.idempotency ? [t.idempotency.row] : [],
            }),
            result: undefined,
          }),
        )
      }),
    )

  /** Receives what `quantity` says of the transfer `load` reads (as committed, again on every attempt). */
  const receive = <E extends { readonly _tag: string }>(
    load: Effect.Effect<Transfer, E>,
    quantity: (t: Transfer) => Effect.Effect<number, E>,
  ) =>
    durably<{ readonly transfer: Transfer; readonly received: number }, E>("Transfers.receive", (generation) =>
      Effect.gen(function* () {
        const t = yield* load
        const n = yield* quantity(t)
        yield* applyAndCommit(
          generation,
          generation.send<Move, AdjustErrors>(t.productId, (reply) => ({
            _tag: "Adjust",
            location: t.to,
            change: n,
            createIfMissing: true,
            reply,
          })),
          (move) => ({
            decision: decision({
              holds: [move.hold],
              settings: move.created === true ? { cell: move.hold.cell, created: true } : undefined,
              changes: [
                { _tag: "TransferIn", productId: t.productId, locationId: t.to, transferId: t.transferId, quantity: n },
              ],
              events: [event(t, n, "received")],
            }),
            result: undefined,
          }),
        ).pipe(
          // adding units is never refused by the actor: any of these is a defect
          Effect.catchTags({ NotEnoughToRemove: Effect.die, StockMoved: Effect.die, UnknownProduct: Effect.die }),
        )
        return { transfer: t, received: n }
      }),
    )

  return { send, receive } as const
}
