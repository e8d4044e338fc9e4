import { Either, ParseResult, Schema } from "effect"
import { OpaqueText, OrderId, ProductId, Quantity } from "./Ids.js"

export const MaxLinesPerOrder = 1000

export const OrderLine = Schema.Struct({
  product_id: ProductId,
  quantity: Quantity,
  price: Schema.optional(Schema.Union(Schema.String, Schema.Number)),
  /** pins the line to a location (created), or names where its units ship from (fulfilled) */
  location_id: Schema.optional(OpaqueText),
})

/** `orders.created`: only the fields this service relies on are required. */
export const OrderCreated = Schema.Struct({
  order_id: OrderId,
  user_id: Schema.optional(Schema.Union(Schema.String, Schema.Number)),
  total: Schema.optional(Schema.Union(Schema.String, Schema.Number)),
  currency: Schema.optional(Schema.String),
  items_count: Schema.optional(Schema.Number),
  /** the sales channel: only locations serving it (or every channel) are candidates */
  channel: Schema.optional(OpaqueText),
  items: Schema.NonEmptyArray(OrderLine).pipe(Schema.maxItems(MaxLinesPerOrder)),
})
export type OrderCreated = typeof OrderCreated.Type

/** `orders.cancelled` carries no items: the service knows what the order holds. */
export const OrderCancelled = Schema.Struct({
  order_id: OrderId,
  user_id: Schema.optional(Schema.Union(Schema.String, Schema.Number)),
  reason: Schema.optional(Schema.NullOr(Schema.String)),
  cancelled_at: Schema.optional(Schema.String),
})
export type OrderCancelled = typeof OrderCancelled.Type

/** `orders.fulfilled`: no `items` ships every held line; `fulfillment_id` defaults to the order id. */
export const OrderFulfilled = Schema.Struct({
  order_id: OrderId,
  fulfillment_id: Schema.optional(OpaqueText),
  items: Schema.optional(Schema.NonEmptyArray(OrderLine).pipe(Schema.maxItems(MaxLinesPerOrder))),
  fulfilled_at: Schema.optional(Schema.String),
})
export type OrderFulfilled = typeof OrderFulfilled.Type

/** A message from one of the order topics, decoded. */
export type OrderMessage =
  | { readonly _tag: "Created"; readonly order: OrderCreated }
  | { readonly _tag: "Cancelled"; readonly order: OrderCancelled }
  | { readonly _tag: "Fulfilled"; readonly order: OrderFulfilled }

export type OrderKind = OrderMessage["_tag"]

const decodeCreated = Schema.decodeUnknownEither(OrderCreated, { errors: "first" })
const decodeCancelled = Schema.decodeUnknownEither(OrderCancelled, { errors: "first" })
const decodeFulfilled = Schema.decodeUnknownEither(OrderFulfilled, { errors: "first" })

/** Decodes a message value, or gives a one-line reason fit for a dead-letter header. */
export const decodeOrderMessage = (
  kind: OrderKind,
  value: Buffer | null,
  maxBytes: number,
): Either.Either<OrderMessage, string> => {
  if (value === null || value.length === 0) return Either.left("empty message value")
  if (value.length > maxBytes) return Either.left(`message of ${value.length} bytes exceeds the limit of ${maxBytes}`)
  let json: unknown
  try {
    json = JSON.parse(value.toString("utf8"))
  } catch (error) {
    return Either.left(`not JSON: ${error instanceof Error ? error.message : String(error)}`)
  }
  const decoded =
    kind === "Created"
      ? Either.map(decodeCreated(json), (order): OrderMessage => ({ _tag: "Created", order }))
      : kind === "Cancelled"
        ? Either.map(decodeCancelled(json), (order): OrderMessage => ({ _tag: "Cancelled", order }))
        : Either.map(decodeFulfilled(json), (order): OrderMessage => ({ _tag: "Fulfilled", order }))
  return Either.mapLeft(decoded, (error) =>
    `schema: ${ParseResult.ArrayFormatter.formatErrorSync(error)
      .map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`)
      .join("; ")}`.slice(0, 500),
  )
}
