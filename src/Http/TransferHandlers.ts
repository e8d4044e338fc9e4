import { randomUUID } from "node:crypto"
import { HttpApiBuilder } from "@effect/platform"
import { Effect, Option, Schema } from "effect"
import type { ProductId } from "../Domain/Ids.js"
import { Engine } from "../Engine/Engine.js"
import type { Transfer } from "../Engine/Transfers.js"
import { InventoryQueries } from "../Store/InventoryQueries.js"
import { Locations } from "../Store/Locations.js"
import { TransferRecord } from "../Store/Records.js"
import { InventoryApi } from "./Api.js"
import { InsufficientStock, NotInTransit, TransferNotFound } from "./Errors.js"
import { requestHash, storedAnswer, withKeyLock } from "./Idempotency.js"
import { notFound } from "./InventoryHandlers.js"
import { knownLocation } from "./LocationHandlers.js"

const decodeStored = Schema.decodeUnknownSync(Schema.parseJson(TransferRecord))

/** The transfer as recorded, or TransferNotFound. */
const recorded = (queries: InventoryQueries, transferId: string) =>
  Effect.flatMap(
    queries.transfer(transferId),
    Option.match({
      onNone: () =>
        Effect.fail(
          new TransferNotFound({
            message: `no transfer with id ${JSON.stringify(transferId)}`,
            transfer_id: transferId,
          }),
        ),
      onSome: Effect.succeed,
    }),
  )

export const TransferHandlersLive = HttpApiBuilder.group(InventoryApi, "transfers", (handlers) =>
  Effect.gen(function* () {
    const queries = yield* InventoryQueries
    return handlers.handle("get", ({ path }) => recorded(queries, path.transfer_id))
  }),
)

export const TransferAdminHandlersLive = HttpApiBuilder.group(InventoryApi, "transfersAdmin", (handlers) =>
  Effect.gen(function* () {
    const engine = yield* Engine
    const queries = yield* InventoryQueries
    const locations = yield* Locations
    const located = (locationId: string) => knownLocation(locations, locationId)
    const stored = (transferId: string) => Effect.orDie(recorded(queries, transferId))

    return handlers
      .handle("send", ({ payload, headers }) => {
        const key = headers["idempotency-key"]
        const hash = requestHash(["transfer", payload])
        const apply = Effect.gen(function* () {
          if (key !== undefined) {
            const previous = yield* storedAnswer(queries, key, hash, decodeStored)
            if (Option.isSome(previous)) return previous.value
          }
          yield* located(payload.from_location_id)
          yield* located(payload.to_location_id)
          const transferId = randomUUID()
          const now = new Date().toISOString()
          // the answer as it will be once committed (stored with the transfer for a retry with the key)
          const answer: typeof TransferRecord.Type = {
            transfer_id: transferId,
            product_id: payload.product_id,
            from_location_id: payload.from_location_id,
            to_location_id: payload.to_location_id,
            quantity: payload.quantity,
            received: 0,
            in_transit: payload.quantity,
            status: "in_transit",
            reference_id: payload.reference_id ?? null,
            created_at: now,
            updated_at: now,
          }
          yield* engine.sendTransfer({
            transferId,
            productId: payload.product_id,
            from: payload.from_location_id,
            to: payload.to_location_id,
            quantity: payload.quantity,
            referenceId: payload.reference_id,
            idempotency:
              key === undefined
                ? undefined
                : {
                    row: { key, requestHash: hash, status: 201, body: JSON.stringify(answer) },
                    alreadyDone: queries.idempotentAnswer(key).pipe(Effect.map(Option.isSome)),
                  },
          })
          yield* Effect.logInfo("transfer sent").pipe(
            Effect.annotateLogs({ transfer_id: transferId, product_id: payload.product_id }),
          )
          return yield* stored(transferId)
        })
        return withKeyLock(key, apply).pipe(
          Effect.catchTags({
            UnknownProduct: () => Effect.fail(notFound(payload.product_id, payload.from_location_id)),
            StockMoved: (e) => Effect.die(e),
            NotEnoughToRemove: (e) =>
              Effect.fail(
                new InsufficientStock({
                  message: `cannot send ${e.requested} of ${JSON.stringify(payload.product_id)} from ${JSON.stringify(payload.from_location_id)}: only ${e.available} available`,
                  product_id: payload.product_id,
                  available: e.available,
                  requested: e.requested,
                }),
              ),
            AlreadyApplied: () =>
              storedAnswer(queries, key!, hash, decodeStored).pipe(
                Effect.flatMap(
                  Option.match({ onNone: () => Effect.die("stored answer vanished"), onSome: Effect.succeed }),
                ),
              ),
          }),
        )
      })
      .handle("receive", ({ path, payload }) =>
        Effect.gen(function* () {
          const load = Effect.map(
            recorded(queries, path.transfer_id),
            (r): Transfer => ({
              transferId: r.transfer_id,
              productId: r.product_id as ProductId,
              from: r.from_location_id,
              to: r.to_location_id,
              quantity: r.quantity,
              inTransit: r.in_transit,
            }),
          )
          const quantity = (t: Transfer) => {
            const wanted = payload.quantity ?? t.inTransit
            return wanted > 0 && wanted <= t.inTransit
              ? Effect.succeed(wanted)
              : Effect.fail(
                  new NotInTransit({
                    message: `transfer ${t.transferId} has ${t.inTransit} in transit; cannot receive ${wanted}`,
                    transfer_id: t.transferId,
                    in_transit: t.inTransit,
                    requested: wanted,
                  }),
                )
          }
          const { received } = yield* engine.receiveTransfer<TransferNotFound | NotInTransit>(load, quantity)
          yield* Effect.logInfo("transfer received").pipe(
            Effect.annotateLogs({ transfer_id: path.transfer_id, quantity: received }),
          )
          return yield* stored(path.transfer_id)
        }),
      )
  }),
)
