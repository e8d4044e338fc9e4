import { Schema } from "effect"
import { OpaqueText, ProductId } from "../Domain/Ids.js"

// The bodies admin callers send, and what the adjustment routes answer.

/** Admin bodies refuse fields they do not know (a 400 naming them) rather than dropping them silently. */
const strict = { parseOptions: { onExcessProperty: "error" } } as const

/** What POST /admin/reconcile takes. */
export const ReconcileRequest = Schema.Struct({ repair: Schema.optional(Schema.Boolean) }).annotations(strict)

/** Exactly one of: `seconds` from now, or an absolute `expires_at` (RFC 3339). */
export const ExtendRequest = Schema.Struct({
  seconds: Schema.optional(Schema.Int.pipe(Schema.between(1, 366 * 24 * 3600))),
  expires_at: Schema.optional(Schema.DateFromString.pipe(Schema.validDate())),
})
  .annotations(strict)
  .pipe(
    Schema.filter((r) => (r.seconds === undefined) !== (r.expires_at === undefined), {
      message: () => "give exactly one of seconds or expires_at",
    }),
  )

export const AdjustmentType = Schema.Literal(
  "restock",
  "damage",
  "correction",
  "return",
  "count",
  "shrinkage",
  "transfer",
)

/**
 * `quantity` (signed) adds or removes units; a cycle count (`adjustment_type: "count"`) may give
 * `counted_on_hand` instead, and on hand becomes that figure. `expected_on_hand` makes either
 * compare-and-set: 409 when on hand is no longer that figure.
 */
const adjustmentFields = {
  quantity: Schema.optional(
    Schema.Int.pipe(
      Schema.between(-1_000_000, 1_000_000),
      Schema.filter((n) => n !== 0, { message: () => "must not be zero" }),
    ),
  ),
  counted_on_hand: Schema.optional(Schema.Int.pipe(Schema.between(0, 1_000_000_000))),
  expected_on_hand: Schema.optional(Schema.Int.pipe(Schema.between(0, 1_000_000_000))),
  adjustment_type: AdjustmentType,
  reason: Schema.optional(Schema.String.pipe(Schema.maxLength(500))),
  reference_id: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200))),
  /** where the units are counted or moved (default: `default`) */
  location_id: Schema.optional(OpaqueText),
}

const oneFigure = <
  A extends {
    readonly quantity?: number | undefined
    readonly counted_on_hand?: number | undefined
    readonly adjustment_type: string
  },
  I,
  R,
>(
  schema: Schema.Schema<A, I, R>,
) =>
  schema.pipe(
    Schema.filter((r) => (r.quantity === undefined) !== (r.counted_on_hand === undefined), {
      message: () => "give exactly one of quantity or counted_on_hand",
    }),
    Schema.filter((r) => r.counted_on_hand === undefined || r.adjustment_type === "count", {
      message: () => 'counted_on_hand goes with adjustment_type "count"',
    }),
  )

export const AdjustmentRequest = oneFigure(Schema.Struct(adjustmentFields).annotations(strict))

/** Most lines in one bulk request. */
export const MaxBulkLines = 10_000

export const BulkLine = oneFigure(Schema.Struct({ product_id: ProductId, ...adjustmentFields }).annotations(strict))

/** A bulk adjustment as JSON; the same lines may come as `text/csv`. */
export const BulkRequest = Schema.Struct({
  items: Schema.Array(BulkLine).pipe(Schema.minItems(1), Schema.maxItems(MaxBulkLines)),
  dry_run: Schema.optional(Schema.Boolean),
}).annotations(strict)

const StockFigures = Schema.Struct({ available: Schema.Number, reserved: Schema.Number, on_hand: Schema.Number })

export const BulkResult = Schema.Struct({
  dry_run: Schema.Boolean,
  items: Schema.Array(
    Schema.Struct({
      line: Schema.Number,
      product_id: Schema.String,
      location_id: Schema.String,
      adjustment_type: Schema.String,
      quantity: Schema.Number,
      before: StockFigures,
      after: StockFigures,
    }),
  ),
})

export const AdjustmentResult = Schema.Struct({
  product_id: Schema.String,
  location_id: Schema.String,
  adjustment_type: Schema.String,
  quantity: Schema.Number,
  available: Schema.Number,
  reserved: Schema.Number,
  on_hand: Schema.Number,
})

export const ProductDefinition = Schema.Struct({
  initial_quantity: Schema.optional(Schema.Int.pipe(Schema.between(0, 1_000_000_000))),
  low_stock_threshold: Schema.optional(Schema.Int.pipe(Schema.between(0, 1_000_000_000))),
  safety_stock: Schema.optional(Schema.Int.pipe(Schema.between(0, 1_000_000_000))),
  /** the most units orders may be promised here beyond what is available (default 0: no backorders) */
  backorder_limit: Schema.optional(Schema.Int.pipe(Schema.between(0, 1_000_000_000))),
  location: Schema.optional(Schema.NullOr(Schema.String.pipe(Schema.maxLength(200)))),
}).annotations(strict)

/** The `Idempotency-Key` header of admin writes: a retry with the same key gets the first answer. */
export const IdempotencyHeader = Schema.Struct({
  "idempotency-key": Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200))),
})

/** What POST /transfers takes: units of a product from one location to another. */
export const TransferRequest = Schema.Struct({
  product_id: ProductId,
  from_location_id: OpaqueText,
  to_location_id: OpaqueText,
  quantity: Schema.Int.pipe(Schema.between(1, 1_000_000)),
  reference_id: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200))),
})
  .annotations(strict)
  .pipe(
    Schema.filter(
      (t) => t.from_location_id !== t.to_location_id || "to_location_id: must differ from from_location_id",
    ),
  )

/** What POST /transfers/{transfer_id}/receive takes: how many arrived (default: all still in transit). */
export const ReceiveRequest = Schema.Struct({
  quantity: Schema.optional(Schema.Int.pipe(Schema.between(1, 1_000_000))),
}).annotations(strict)

/** What PUT /locations/{location_id} takes: every field optional, unknown ones refused. */
export const LocationDefinition = Schema.Struct({
  name: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200))),
  priority: Schema.optional(Schema.Int.pipe(Schema.between(0, 1_000_000))),
  channels: Schema.optional(
    Schema.Array(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(100))).pipe(Schema.maxItems(100)),
  ),
  active: Schema.optional(Schema.Boolean),
}).annotations(strict)
