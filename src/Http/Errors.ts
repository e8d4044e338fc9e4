import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

// The errors that reach an HTTP client, one JSON shape: {error, message, ...details}; the status
// is part of each class. The engine and the store have their own errors; the handlers map them here.

export class ProductNotFound extends Schema.TaggedError<ProductNotFound>()(
  "ProductNotFound",
  { message: Schema.String, product_id: Schema.String },
  HttpApiSchema.annotations({ status: 404 }),
) {}

export class ReservationNotFound extends Schema.TaggedError<ReservationNotFound>()(
  "ReservationNotFound",
  { message: Schema.String, order_id: Schema.String },
  HttpApiSchema.annotations({ status: 404 }),
) {}

export class ReservationNotHeld extends Schema.TaggedError<ReservationNotHeld>()(
  "ReservationNotHeld",
  { message: Schema.String, order_id: Schema.String, status: Schema.String },
  HttpApiSchema.annotations({ status: 409 }),
) {}

export class ExpiryNotInFuture extends Schema.TaggedError<ExpiryNotInFuture>()(
  "ExpiryNotInFuture",
  { message: Schema.String, expires_at: Schema.String },
  HttpApiSchema.annotations({ status: 400 }),
) {}

export class QuantityNotDefinedByPut extends Schema.TaggedError<QuantityNotDefinedByPut>()(
  "QuantityNotDefinedByPut",
  { message: Schema.String, product_id: Schema.String, on_hand: Schema.Number, initial_quantity: Schema.Number },
  HttpApiSchema.annotations({ status: 409 }),
) {}

export class BackorderLimitBelowPromised extends Schema.TaggedError<BackorderLimitBelowPromised>()(
  "BackorderLimitBelowPromised",
  {
    message: Schema.String,
    product_id: Schema.String,
    location_id: Schema.String,
    backordered: Schema.Number,
    backorder_limit: Schema.Number,
  },
  HttpApiSchema.annotations({ status: 409 }),
) {}

export class InsufficientStock extends Schema.TaggedError<InsufficientStock>()(
  "InsufficientStock",
  { message: Schema.String, product_id: Schema.String, available: Schema.Number, requested: Schema.Number },
  HttpApiSchema.annotations({ status: 409 }),
) {}

export class StockMovedSinceCount extends Schema.TaggedError<StockMovedSinceCount>()(
  "StockMovedSinceCount",
  { message: Schema.String, product_id: Schema.String, on_hand: Schema.Number, expected_on_hand: Schema.Number },
  HttpApiSchema.annotations({ status: 409 }),
) {}

export class IdempotencyKeyReused extends Schema.TaggedError<IdempotencyKeyReused>()(
  "IdempotencyKeyReused",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 422 }),
) {}

export class Unauthorized extends Schema.TaggedError<Unauthorized>()(
  "Unauthorized",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 401 }),
) {}

export class Forbidden extends Schema.TaggedError<Forbidden>()(
  "Forbidden",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 403 }),
) {}

export class NotReady extends Schema.TaggedError<NotReady>()(
  "NotReady",
  { message: Schema.String, checks: Schema.Record({ key: Schema.String, value: Schema.String }) },
  HttpApiSchema.annotations({ status: 503 }),
) {}

export class BulkInvalid extends Schema.TaggedError<BulkInvalid>()(
  "BulkInvalid",
  {
    message: Schema.String,
    errors: Schema.Array(Schema.Struct({ line: Schema.Number, column: Schema.String, message: Schema.String })),
  },
  HttpApiSchema.annotations({ status: 400 }),
) {}

export class BulkRefused extends Schema.TaggedError<BulkRefused>()(
  "BulkRefused",
  {
    message: Schema.String,
    failures: Schema.Array(Schema.Struct({ line: Schema.Number, product_id: Schema.String, reason: Schema.String })),
  },
  HttpApiSchema.annotations({ status: 409 }),
) {}

export class TransferNotFound extends Schema.TaggedError<TransferNotFound>()(
  "TransferNotFound",
  { message: Schema.String, transfer_id: Schema.String },
  HttpApiSchema.annotations({ status: 404 }),
) {}

export class NotInTransit extends Schema.TaggedError<NotInTransit>()(
  "NotInTransit",
  { message: Schema.String, transfer_id: Schema.String, in_transit: Schema.Number, requested: Schema.Number },
  HttpApiSchema.annotations({ status: 409 }),
) {}

export class LocationNotFound extends Schema.TaggedError<LocationNotFound>()(
  "LocationNotFound",
  { message: Schema.String, location_id: Schema.String },
  HttpApiSchema.annotations({ status: 404 }),
) {}
