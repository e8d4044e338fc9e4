import { HttpApiBuilder } from "@effect/platform"
import { Effect, Option } from "effect"
import { decodeCursor, InventoryQueries } from "../Store/InventoryQueries.js"
import { InventoryApi } from "./Api.js"
import { ProductNotFound, ReservationNotFound } from "./Errors.js"

const defaultLimit = 100

export const notFound = (productId: string, locationId?: string) =>
  new ProductNotFound({
    message:
      locationId === undefined
        ? `no product with id ${JSON.stringify(productId)}`
        : `no product with id ${JSON.stringify(productId)} at location ${JSON.stringify(locationId)}`,
    product_id: productId,
  })

export const InventoryHandlersLive = HttpApiBuilder.group(InventoryApi, "inventory", (handlers) =>
  Effect.gen(function* () {
    const queries = yield* InventoryQueries
    /** The product's stock record (at a location), or ProductNotFound. */
    const existing = (productId: string, locationId?: string) =>
      Effect.flatMap(
        queries.stock(productId, locationId),
        Option.match({ onNone: () => Effect.fail(notFound(productId, locationId)), onSome: Effect.succeed }),
      )
    return handlers
      .handle("list", ({ urlParams }) =>
        queries.page(urlParams.limit ?? defaultLimit, decodeCursor(urlParams.cursor), urlParams.location_id),
      )
      .handle("lowStock", ({ urlParams }) =>
        Effect.map(
          queries.lowStock({ limit: urlParams.limit ?? defaultLimit, at: urlParams.location_id ?? null }),
          (items) => ({
            items,
          }),
        ),
      )
      .handle("get", ({ path, urlParams }) => {
        const { as_of: asOf, location_id: at } = urlParams
        if (asOf === undefined) return existing(path.product_id, at)
        return Effect.flatMap(
          queries.stockAsOf(path.product_id, asOf, at),
          Option.match({
            onNone: () =>
              Effect.fail(
                new ProductNotFound({
                  message: `no product with id ${JSON.stringify(path.product_id)} existed${at === undefined ? "" : ` at location ${JSON.stringify(at)}`} at ${asOf.toISOString()}`,
                  product_id: path.product_id,
                }),
              ),
            onSome: Effect.succeed,
          }),
        )
      })
      .handle("holders", ({ path, urlParams }) =>
        Effect.zipRight(
          existing(path.product_id),
          queries.holders(
            path.product_id,
            urlParams.limit ?? defaultLimit,
            decodeCursor(urlParams.cursor),
            urlParams.location_id,
          ),
        ),
      )
      .handle("ledger", ({ path, urlParams }) =>
        Effect.zipRight(
          existing(path.product_id),
          queries.ledger(path.product_id, urlParams.limit ?? defaultLimit, decodeCursor(urlParams.cursor), {
            since: urlParams.since,
            until: urlParams.until,
            locationId: urlParams.location_id,
          }),
        ),
      )
  }),
)

export const ReservationHandlersLive = HttpApiBuilder.group(InventoryApi, "reservations", (handlers) =>
  Effect.gen(function* () {
    const queries = yield* InventoryQueries
    return handlers.handle("get", ({ path }) =>
      queries.reservation(path.order_id).pipe(
        Effect.flatMap(
          Option.match({
            onNone: () =>
              Effect.fail(
                new ReservationNotFound({
                  message: `no order with id ${JSON.stringify(path.order_id)} has been seen`,
                  order_id: path.order_id,
                }),
              ),
            onSome: Effect.succeed,
          }),
        ),
      ),
    )
  }),
)
