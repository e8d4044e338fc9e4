import { HttpApiBuilder } from "@effect/platform"
import { Effect, Option } from "effect"
import { decodeCursor, InventoryQueries } from "../Store/InventoryQueries.js"
import { InventoryApi } from "./Api.js"
import { ProductNotFound, ReservationNotFound } from "./Errors.js"

const defaultLimit = 100

export const notFound = (productId: string) =>
  new ProductNotFound({ message: `no product with id ${JSON.stringify(productId)}`, product_id: productId })

export const InventoryHandlersLive = HttpApiBuilder.group(InventoryApi, "inventory", (handlers) =>
  Effect.gen(function* () {
    const queries = yield* InventoryQueries
    /** The product's stock record, or ProductNotFound. */
    const existing = (productId: string) =>
      Effect.flatMap(
        queries.stock(productId),
        Option.match({ onNone: () => Effect.fail(notFound(productId)), onSome: Effect.succeed }),
      )
    return handlers
      .handle("list", ({ urlParams }) => queries.page(urlParams.limit ?? defaultLimit, decodeCursor(urlParams.cursor)))
      .handle("lowStock", ({ urlParams }) =>
        Effect.map(queries.lowStock(urlParams.limit ?? defaultLimit), (items) => ({ items })),
      )
      .handle("get", ({ path, urlParams }) => {
        const asOf = urlParams.as_of
        if (asOf === undefined) return existing(path.product_id)
        return Effect.flatMap(
          queries.stockAsOf(path.product_id, asOf),
          Option.match({
            onNone: () =>
              Effect.fail(
                new ProductNotFound({
                  message: `no product with id ${JSON.stringify(path.product_id)} existed at ${asOf.toISOString()}`,
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
          queries.holders(path.product_id, urlParams.limit ?? defaultLimit, decodeCursor(urlParams.cursor)),
        ),
      )
      .handle("ledger", ({ path, urlParams }) =>
        Effect.zipRight(
          existing(path.product_id),
          queries.ledger(path.product_id, urlParams.limit ?? defaultLimit, decodeCursor(urlParams.cursor), {
            since: urlParams.since,
            until: urlParams.until,
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
