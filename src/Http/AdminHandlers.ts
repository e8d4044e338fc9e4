import { HttpApiBuilder } from "@effect/platform"
import { Effect, Option, Schema } from "effect"
import type { ProductId } from "../Domain/Ids.js"
import { DefaultLocation } from "../Domain/Lifecycle.js"
import { Engine } from "../Engine/Engine.js"
import { InventoryQueries } from "../Store/InventoryQueries.js"
import { Locations } from "../Store/Locations.js"
import { Reconciliation } from "../Store/Reconciliation.js"
import { InventoryApi } from "./Api.js"
import { AdjustmentResult, type ProductDefinition } from "./Bodies.js"
import { bulkAdjust } from "./BulkAdjustments.js"
import {
  BackorderLimitBelowPromised,
  ExpiryNotInFuture,
  InsufficientStock,
  QuantityNotDefinedByPut,
  ReservationNotFound,
  ReservationNotHeld,
  StockMovedSinceCount,
} from "./Errors.js"
import { requestHash, storedAnswer, withKeyLock } from "./Idempotency.js"
import { notFound } from "./InventoryHandlers.js"
import { knownLocation as knownLocationIn } from "./LocationHandlers.js"

const decodeStored = Schema.decodeUnknownSync(Schema.parseJson(AdjustmentResult))

export const AdminHandlersLive = HttpApiBuilder.group(InventoryApi, "admin", (handlers) =>
  Effect.gen(function* () {
    const engine = yield* Engine
    const queries = yield* InventoryQueries
    const locations = yield* Locations
    const reconciliation = yield* Reconciliation

    const record = (productId: string, locationId?: string) =>
      queries
        .stock(productId, locationId)
        .pipe(Effect.flatMap(Option.match({ onNone: () => Effect.die("product vanished"), onSome: Effect.succeed })))

    const knownLocation = (locationId: string | undefined) => knownLocationIn(locations, locationId)

    /** Defines the product at a location: created with its initial quantity, or its settings changed. */
    const define = (productId: ProductId, locationId: string, payload: typeof ProductDefinition.Type) =>
      Effect.gen(function* () {
        // the quantity of an existing product moves only through adjustments (they leave a trace)
        const existing = yield* queries.stock(productId, locationId)
        if (
          Option.isSome(existing) &&
          payload.initial_quantity !== undefined &&
          payload.initial_quantity !== existing.value.on_hand
        )
          return yield* new QuantityNotDefinedByPut({
            message: `${JSON.stringify(productId)} exists with ${existing.value.on_hand} on hand${locationId === DefaultLocation ? "" : ` at ${JSON.stringify(locationId)}`}; PUT does not change the quantity of an existing product: POST /inventory/${productId}/adjustments (a count: {"adjustment_type": "count", "counted_on_hand": ${payload.initial_quantity}${locationId === DefaultLocation ? "" : `, "location_id": ${JSON.stringify(locationId)}`}})`,
            product_id: productId,
            on_hand: existing.value.on_hand,
            initial_quantity: payload.initial_quantity,
          })
        const result = yield* engine
          .define(
            productId,
            {
              initialQuantity: payload.initial_quantity ?? 0,
              threshold: payload.low_stock_threshold,
              location: payload.location,
              safetyStock: payload.safety_stock,
              backorderLimit: payload.backorder_limit,
            },
            locationId,
          )
          .pipe(
            Effect.catchTag("BackorderLimitBelowPromised", (e) =>
              Effect.fail(
                new BackorderLimitBelowPromised({
                  message: `${JSON.stringify(productId)} at ${JSON.stringify(locationId)} has ${e.backordered} backordered; backorder_limit ${e.limit} is below that (it may drop to ${e.backordered} now, lower once they are filled or cancelled)`,
                  product_id: productId,
                  location_id: locationId,
                  backordered: e.backordered,
                  backorder_limit: e.limit,
                }),
              ),
            ),
          )
        yield* Effect.logInfo(result.created ? "product created" : "product updated").pipe(
          Effect.annotateLogs({ product_id: productId, location_id: locationId }),
        )
        return result.created
      })

    return handlers
      .handle("define", ({ path, payload }) =>
        Effect.gen(function* () {
          const created = yield* define(path.product_id, DefaultLocation, payload)
          return { ...(yield* record(path.product_id)), created }
        }),
      )
      .handle("defineAt", ({ path, payload }) =>
        Effect.gen(function* () {
          yield* knownLocation(path.location_id)
          const created = yield* define(path.product_id, path.location_id, payload)
          return { ...(yield* record(path.product_id, path.location_id)), created }
        }),
      )
      .handle("bulkAdjust", bulkAdjust(engine, queries))
      .handle("lastReconcile", () =>
        Effect.flatMap(reconciliation.last, (last) => (last ? Effect.succeed(last) : reconciliation.run())).pipe(
          Effect.orDie,
        ),
      )
      .handle("reconcile", ({ payload }) =>
        reconciliation
          .run(
            payload.repair === true
              ? (productId, locationId, problems) =>
                  engine.correct(productId as ProductId, `reconciliation: ${problems.join("; ")}`, locationId)
              : undefined,
          )
          .pipe(Effect.orDie),
      )
      .handle("extend", ({ path, payload }) =>
        Effect.gen(function* () {
          const expiresAt = payload.expires_at ?? new Date(Date.now() + (payload.seconds ?? 0) * 1000)
          if (expiresAt.getTime() <= Date.now()) {
            return yield* new ExpiryNotInFuture({
              message: `expires_at ${expiresAt.toISOString()} is not in the future`,
              expires_at: expiresAt.toISOString(),
            })
          }
          const held = yield* engine.extend(path.order_id, expiresAt)
          const reservation = yield* queries.reservation(path.order_id).pipe(Effect.orDie)
          if (Option.isNone(reservation)) {
            return yield* new ReservationNotFound({
              message: `no order with id ${JSON.stringify(path.order_id)} has been seen`,
              order_id: path.order_id,
            })
          }
          if (!held) {
            return yield* new ReservationNotHeld({
              message: `the reservation of order ${JSON.stringify(path.order_id)} is ${reservation.value.status}, no longer held`,
              order_id: path.order_id,
              status: reservation.value.status,
            })
          }
          yield* Effect.logInfo("reservation extended").pipe(
            Effect.annotateLogs({ order_id: path.order_id, expires_at: expiresAt.toISOString() }),
          )
          return reservation.value
        }),
      )
      .handle("adjust", ({ path, payload, headers }) => {
        const key = headers["idempotency-key"]
        const hash = requestHash([path.product_id, payload])
        const stored = (k: string) => storedAnswer(queries, k, hash, decodeStored)
        const apply = Effect.gen(function* () {
          if (key !== undefined) {
            const previous = yield* stored(key)
            if (Option.isSome(previous)) return previous.value
          }
          yield* knownLocation(payload.location_id)
          const render = (after: {
            locationId: string
            available: number
            reserved: number
            onHand: number
            quantity: number
          }) => ({
            product_id: path.product_id,
            location_id: after.locationId,
            adjustment_type: payload.adjustment_type,
            quantity: after.quantity,
            available: after.available,
            reserved: after.reserved,
            on_hand: after.onHand,
          })
          const after = yield* engine.adjust({
            productId: path.product_id,
            locationId: payload.location_id ?? DefaultLocation,
            quantity:
              payload.counted_on_hand !== undefined ? { countedOnHand: payload.counted_on_hand } : payload.quantity!,
            expectedOnHand: payload.expected_on_hand,
            adjustmentType: payload.adjustment_type,
            reason: payload.reason,
            referenceId: payload.reference_id,
            idempotency:
              key === undefined
                ? undefined
                : {
                    row: (snapshot) => ({
                      key,
                      requestHash: hash,
                      status: 201,
                      body: JSON.stringify(render(snapshot)),
                    }),
                    alreadyDone: queries.idempotentAnswer(key).pipe(Effect.map(Option.isSome)),
                  },
          })
          return render(after)
        })
        return withKeyLock(key, apply).pipe(
          Effect.catchTags({
            UnknownProduct: () => Effect.fail(notFound(path.product_id)),
            StockMoved: (e) =>
              Effect.fail(
                new StockMovedSinceCount({
                  message: `on hand of ${JSON.stringify(path.product_id)} is ${e.onHand}, not the expected ${e.expected}: stock moved since the count`,
                  product_id: path.product_id,
                  on_hand: e.onHand,
                  expected_on_hand: e.expected,
                }),
              ),
            NotEnoughToRemove: (e) =>
              Effect.fail(
                new InsufficientStock({
                  message: `cannot remove ${e.requested} of ${JSON.stringify(path.product_id)}: only ${e.available} available`,
                  product_id: path.product_id,
                  available: e.available,
                  requested: e.requested,
                }),
              ),
            AlreadyApplied: () =>
              stored(key!).pipe(
                Effect.flatMap(
                  Option.match({ onNone: () => Effect.die("stored answer vanished"), onSome: Effect.succeed }),
                ),
              ),
          }),
        )
      })
  }),
)
