import { Schema } from "effect"

// The produced wire contract (JSON, snake_case, RFC 3339 UTC), kept from the original service: the
// schemas only (pure). Events are made into outbox rows, with their ids, topics and times, in Store/Outbox.ts.
const Item = Schema.Struct({ product_id: Schema.String, quantity: Schema.Number })
/** Units of a product at one location (released, shipped, still held). */
const LocatedItem = Schema.Struct({
  ...Item.fields,
  location_id: Schema.optional(Schema.String),
  /** a release: promised units dropped (besides `quantity` returned to stock) */
  backordered: Schema.optional(Schema.Number),
})
/** Part of a reserved line held at one location. */
const Allocation = Schema.Struct({
  location_id: Schema.String,
  quantity: Schema.Number,
  backordered: Schema.optional(Schema.Number),
})

export const InventoryReserved = Schema.Struct({
  reservation_id: Schema.String,
  order_id: Schema.String,
  /** one per product; `allocations`: where its units are held, in taking order */
  items: Schema.Array(
    Schema.Struct({
      ...Item.fields,
      allocations: Schema.optional(Schema.Array(Allocation)),
      /** units of `quantity` promised rather than reserved (only when there are any) */
      backordered: Schema.optional(Schema.Number),
    }),
  ),
  reserved_at: Schema.String,
})
export const InventoryReleased = Schema.Struct({
  reservation_id: Schema.String,
  order_id: Schema.String,
  items: Schema.Array(LocatedItem),
  /** why: "cancelled" (orders.cancelled) or "expired" (its due time passed); new, so optional for readers */
  reason: Schema.optional(Schema.Literal("cancelled", "expired")),
  released_at: Schema.String,
})
export const InventoryFulfilled = Schema.Struct({
  reservation_id: Schema.String,
  order_id: Schema.String,
  fulfillment_id: Schema.String,
  items: Schema.Array(LocatedItem),
  /** what the reservation still holds afterwards */
  remaining: Schema.Array(LocatedItem),
  fulfilled_at: Schema.String,
})
export const InventoryFulfillmentRejected = Schema.Struct({
  order_id: Schema.String,
  fulfillment_id: Schema.String,
  reason: Schema.Literal("not_reserved", "exceeds_held", "unknown_line", "backordered"),
  product_id: Schema.optional(Schema.String),
  location_id: Schema.optional(Schema.String),
  requested_qty: Schema.optional(Schema.Number),
  held_qty: Schema.optional(Schema.Number),
  timestamp: Schema.String,
})
export const InventoryOutOfStock = Schema.Struct({
  order_id: Schema.String,
  product_id: Schema.String,
  requested_qty: Schema.Number,
  available_qty: Schema.Number,
  timestamp: Schema.String,
})
export const InventoryAdjusted = Schema.Struct({
  product_id: Schema.String,
  location_id: Schema.optional(Schema.String),
  adjustment_type: Schema.String,
  quantity: Schema.Number,
  reason: Schema.optional(Schema.String),
  reference_id: Schema.optional(Schema.String),
  timestamp: Schema.String,
})
export const InventoryLowStock = Schema.Struct({
  product_id: Schema.String,
  location_id: Schema.optional(Schema.String),
  available: Schema.Number,
  low_stock_threshold: Schema.Number,
  timestamp: Schema.String,
})
export const InventoryTransferred = Schema.Struct({
  transfer_id: Schema.String,
  product_id: Schema.String,
  from_location_id: Schema.String,
  to_location_id: Schema.String,
  /** sent (`in_transit`), or received now (`received`) */
  quantity: Schema.Number,
  status: Schema.Literal("in_transit", "received"),
  timestamp: Schema.String,
})

export const InventoryBackorderFilled = Schema.Struct({
  order_id: Schema.String,
  reservation_id: Schema.String,
  /** the units that became reserved now, per product and location */
  items: Schema.Array(Schema.Struct({ ...Item.fields, location_id: Schema.String })),
  timestamp: Schema.String,
})

/** Each event type with the schema of its body. */
export const EventBodies = {
  "inventory.reserved": InventoryReserved,
  "inventory.released": InventoryReleased,
  "inventory.fulfilled": InventoryFulfilled,
  "inventory.fulfillment_rejected": InventoryFulfillmentRejected,
  "inventory.out_of_stock": InventoryOutOfStock,
  "inventory.adjusted": InventoryAdjusted,
  "inventory.low_stock": InventoryLowStock,
  "inventory.transferred": InventoryTransferred,
  "inventory.backorder_filled": InventoryBackorderFilled,
} as const

export type EventType = keyof typeof EventBodies

/** The JSON body of an event of this type, as its schema encodes it. */
export type EventBody<T extends EventType> = Schema.Schema.Encoded<(typeof EventBodies)[T]>
