import { readFileSync } from "node:fs"
import {
  HttpApi,
  HttpApiEndpoint,
  HttpApiGroup,
  HttpApiMiddleware,
  HttpApiSchema,
  HttpApiSecurity,
  OpenApi,
} from "@effect/platform"
import { Schema } from "effect"
import { OrderId, ProductId } from "../Domain/Ids.js"

/** The OpenAPI document's version is the package's. */
const packageVersion = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
).version

// ---- errors that reach a client: one JSON shape, {error, message, ...details}

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

// ---- shapes

/** Admin bodies refuse fields they do not know (a 400 naming them) rather than dropping them silently. */
const strict = { parseOptions: { onExcessProperty: "error" } } as const

export const StockRecord = Schema.Struct({
  product_id: Schema.String,
  available: Schema.Number,
  reserved: Schema.Number,
  on_hand: Schema.Number,
  low_stock_threshold: Schema.Number,
  safety_stock: Schema.Number,
  /** what orders may still reserve: available - safety_stock, never below 0 */
  sellable: Schema.Number,
  location: Schema.NullOr(Schema.String),
  version: Schema.Number,
  updated_at: Schema.String,
})

/** What a product had at a moment (`as_of`), replayed from its ledger. */
export const StockAsOf = Schema.Struct({
  product_id: Schema.String,
  available: Schema.Number,
  reserved: Schema.Number,
  on_hand: Schema.Number,
  as_of: Schema.String,
})

export const StockPage = Schema.Struct({
  items: Schema.Array(StockRecord),
  next_cursor: Schema.NullOr(Schema.String),
})

/** A reservation holding some of a product. */
export const Holder = Schema.Struct({
  order_id: Schema.String,
  reservation_id: Schema.NullOr(Schema.String),
  status: Schema.Literal("reserved", "partially_fulfilled"),
  /** what it still holds of this product */
  quantity: Schema.Number,
  reserved_at: Schema.String,
  age_seconds: Schema.Number,
  expires_at: Schema.NullOr(Schema.String),
})

export const HolderPage = Schema.Struct({
  items: Schema.Array(Holder),
  next_cursor: Schema.NullOr(Schema.String),
})

const Level = Schema.Struct({ available: Schema.Number, reserved: Schema.Number })

/** The last reconciliation: every product whose books did not add up, and what was repaired. */
export const ReconcileReport = Schema.Struct({
  checked_at: Schema.String,
  duration_ms: Schema.Number,
  products_checked: Schema.Number,
  drift: Schema.Array(
    Schema.Struct({
      product_id: Schema.String,
      problems: Schema.Array(Schema.String),
      row: Schema.Struct({ ...Level.fields, on_hand: Schema.Number }),
      ledger: Schema.NullOr(Level),
      held: Schema.Number,
    }),
  ),
  repaired: Schema.Array(Schema.String),
})

export const LedgerEntry = Schema.Struct({
  id: Schema.Number,
  product_id: Schema.String,
  movement: Schema.String,
  adjustment_type: Schema.NullOr(Schema.String),
  quantity: Schema.Number,
  available_before: Schema.Number,
  available_after: Schema.Number,
  reserved_before: Schema.Number,
  reserved_after: Schema.Number,
  reason: Schema.NullOr(Schema.String),
  reference_id: Schema.NullOr(Schema.String),
  created_at: Schema.String,
})

export const LedgerPage = Schema.Struct({ items: Schema.Array(LedgerEntry), next_cursor: Schema.NullOr(Schema.String) })

export const ReservationStatus = Schema.Literal(
  "reserved",
  "partially_fulfilled",
  "fulfilled",
  "released",
  "expired",
  "rejected",
  "cancelled_before_create",
)

export const Reservation = Schema.Struct({
  order_id: Schema.String,
  reservation_id: Schema.NullOr(Schema.String),
  status: ReservationStatus,
  /** per line: ordered (`quantity`), still `held`, `fulfilled` (shipped) and `released` */
  items: Schema.Array(
    Schema.Struct({
      product_id: Schema.String,
      quantity: Schema.Number,
      held: Schema.Number,
      fulfilled: Schema.Number,
      released: Schema.Number,
    }),
  ),
  out_of_stock: Schema.NullOr(
    Schema.Struct({ product_id: Schema.String, requested_qty: Schema.Number, available_qty: Schema.Number }),
  ),
  /** when a reservation with nothing fulfilled is released by itself; null: never */
  expires_at: Schema.NullOr(Schema.String),
  created_at: Schema.String,
  updated_at: Schema.String,
})

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
      adjustment_type: Schema.String,
      quantity: Schema.Number,
      before: StockFigures,
      after: StockFigures,
    }),
  ),
})

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

export const AdjustmentResult = Schema.Struct({
  product_id: Schema.String,
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
  location: Schema.optional(Schema.NullOr(Schema.String.pipe(Schema.maxLength(200)))),
}).annotations(strict)

const Limit = Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 1000))
const Cursor = Schema.String.pipe(Schema.maxLength(400))
/** An RFC 3339 time in a query parameter */
const Instant = Schema.DateFromString.pipe(Schema.validDate())
const productPath = Schema.Struct({ product_id: ProductId })

// ---- authentication

export class AdminAuth extends HttpApiMiddleware.Tag<AdminAuth>()("AdminAuth", {
  failure: Schema.Union(Unauthorized, Forbidden),
  security: { bearer: HttpApiSecurity.bearer },
}) {}

// ---- groups

export class HealthGroup extends HttpApiGroup.make("health")
  .add(
    HttpApiEndpoint.get("health", "/health")
      .annotate(OpenApi.Summary, "Liveness")
      .annotate(OpenApi.Description, "200 while the process serves. Public.")
      .addSuccess(Schema.Struct({ status: Schema.Literal("ok") })),
  )
  .add(
    HttpApiEndpoint.get("ready", "/ready")
      .annotate(OpenApi.Summary, "Readiness")
      .annotate(
        OpenApi.Description,
        '200 when PostgreSQL answers, the consumer is in its group and the outbox backlog is under READY_OUTBOX_LIMIT; else 503 NotReady with `checks` naming what fails, e.g. {"_tag":"NotReady","message":"not ready: consumer not in its group yet","checks":{...}}. Public.',
      )
      .addSuccess(
        Schema.Struct({
          status: Schema.Literal("ready"),
          checks: Schema.Record({ key: Schema.String, value: Schema.String }),
        }),
      )
      .addError(NotReady),
  ) {}

export class InventoryGroup extends HttpApiGroup.make("inventory")
  .add(
    HttpApiEndpoint.get("list", "/inventory")
      .annotate(OpenApi.Summary, "List stock, page by page")
      .annotate(
        OpenApi.Description,
        "Every product's stock record in product id order; pass `next_cursor` back as `cursor` for the next page. 400 for a bad `limit` or `cursor`. Public.",
      )
      .setUrlParams(Schema.Struct({ limit: Schema.optional(Limit), cursor: Schema.optional(Cursor) }))
      .addSuccess(StockPage),
  )
  .add(
    HttpApiEndpoint.get("lowStock", "/inventory/low-stock")
      .annotate(OpenApi.Summary, "Products below their low-stock threshold")
      .annotate(OpenApi.Description, "Lowest available first. Public.")
      .setUrlParams(Schema.Struct({ limit: Schema.optional(Limit) }))
      .addSuccess(Schema.Struct({ items: Schema.Array(StockRecord) })),
  )
  .add(
    HttpApiEndpoint.get("get", "/inventory/:product_id")
      .annotate(OpenApi.Summary, "A product's stock, now or as of a time")
      .annotate(
        OpenApi.Description,
        "The stock record; with `as_of` (RFC 3339) what the product had then, from its ledger. 404 ProductNotFound (also when it did not exist yet at `as_of`), 400 for a malformed time. Public.",
      )
      .setPath(productPath)
      .setUrlParams(Schema.Struct({ as_of: Schema.optional(Instant) }))
      .addSuccess(Schema.Union(StockRecord, StockAsOf))
      .addError(ProductNotFound),
  )
  .add(
    HttpApiEndpoint.get("holders", "/inventory/:product_id/reservations")
      .annotate(OpenApi.Summary, "Who holds a product's stock")
      .annotate(
        OpenApi.Description,
        "The reservations still holding some of the product, oldest first, with quantity, age and due time; paged. 404 ProductNotFound. Public.",
      )
      .setPath(productPath)
      .setUrlParams(Schema.Struct({ limit: Schema.optional(Limit), cursor: Schema.optional(Cursor) }))
      .addSuccess(HolderPage)
      .addError(ProductNotFound),
  )
  .add(
    HttpApiEndpoint.get("ledger", "/inventory/:product_id/adjustments")
      .annotate(OpenApi.Summary, "A product's ledger")
      .annotate(
        OpenApi.Description,
        "Every stock movement (initial, reserve, release, fulfil, adjust) with before/after, newest first; `since`/`until` bound it in time; paged. 404 ProductNotFound. Public.",
      )
      .setPath(productPath)
      .setUrlParams(
        Schema.Struct({
          limit: Schema.optional(Limit),
          cursor: Schema.optional(Cursor),
          since: Schema.optional(Instant),
          until: Schema.optional(Instant),
        }),
      )
      .addSuccess(LedgerPage)
      .addError(ProductNotFound),
  ) {}

export class AdminGroup extends HttpApiGroup.make("admin")
  .add(
    HttpApiEndpoint.put("define", "/inventory/:product_id")
      .annotate(OpenApi.Summary, "Create a product, or change its settings")
      .annotate(
        OpenApi.Description,
        "Creates the product with `initial_quantity`, or changes threshold, safety stock or location of an existing one. A different `initial_quantity` for an existing product is 409 QuantityNotDefinedByPut (quantities move through adjustments); unknown fields are 400. Admin: needs `Authorization: Bearer <ADMIN_TOKEN>` (401 without or with a wrong one, 403 when the service has no token).",
      )
      .setPath(productPath)
      .setPayload(ProductDefinition)
      .addSuccess(Schema.Struct({ ...StockRecord.fields, created: Schema.Boolean }))
      .addError(QuantityNotDefinedByPut),
  )
  .add(
    HttpApiEndpoint.post("adjust", "/inventory/:product_id/adjustments")
      .annotate(OpenApi.Summary, "Adjust a product's stock")
      .annotate(
        OpenApi.Description,
        'Adds or removes units (`quantity`), or records a cycle count (`counted_on_hand`), through the product\'s actor; `expected_on_hand` makes it compare-and-set. 409 InsufficientStock {"available":3,"requested":4,...} or StockMovedSinceCount; 404 ProductNotFound; 422 IdempotencyKeyReused. An Idempotency-Key makes a retry harmless. Admin: needs `Authorization: Bearer <ADMIN_TOKEN>` (401 without or with a wrong one, 403 when the service has no token).',
      )
      .setPath(productPath)
      .setHeaders(
        Schema.Struct({
          "idempotency-key": Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200))),
        }),
      )
      .setPayload(AdjustmentRequest)
      .addSuccess(AdjustmentResult, { status: 201 })
      .addError(ProductNotFound)
      .addError(InsufficientStock)
      .addError(StockMovedSinceCount)
      .addError(IdempotencyKeyReused),
  )
  .add(
    HttpApiEndpoint.post("bulkAdjust", "/inventory/adjustments")
      .annotate(OpenApi.Summary, "Adjust many products at once (JSON or CSV)")
      .annotate(
        OpenApi.Description,
        'Up to 10,000 lines, all or nothing; `dry_run` answers before/after of every line and applies nothing. 409 BulkRefused lists every line that cannot be applied, e.g. {"failures":[{"line":3,"product_id":"P1","reason":"unknown product"}]}; 400 BulkInvalid names the line and column of malformed CSV. Admin: needs `Authorization: Bearer <ADMIN_TOKEN>` (401 without or with a wrong one, 403 when the service has no token).',
      )
      .setUrlParams(Schema.Struct({ dry_run: Schema.optional(Schema.BooleanFromString) }))
      .setHeaders(
        Schema.Struct({
          "idempotency-key": Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200))),
        }),
      )
      .setPayload(
        Schema.Union(
          BulkRequest,
          Schema.String.pipe(HttpApiSchema.withEncoding({ kind: "Text", contentType: "text/csv" })),
        ),
      )
      .addSuccess(BulkResult)
      .addError(BulkInvalid)
      .addError(BulkRefused)
      .addError(IdempotencyKeyReused),
  )
  .add(
    HttpApiEndpoint.get("lastReconcile", "/admin/reconcile")
      .annotate(OpenApi.Summary, "The last reconciliation report")
      .annotate(
        OpenApi.Description,
        "Products whose stock row, ledger and reservations do not agree, as of the last check (runs one if none ran yet). Admin: needs `Authorization: Bearer <ADMIN_TOKEN>` (401 without or with a wrong one, 403 when the service has no token).",
      )
      .addSuccess(ReconcileReport),
  )
  .add(
    HttpApiEndpoint.post("reconcile", "/admin/reconcile")
      .annotate(OpenApi.Summary, "Check the books now (and repair)")
      .annotate(
        OpenApi.Description,
        'Checks every product now; with {"repair": true} corrects the drifting ones through correction ledger rows and their events. Admin: needs `Authorization: Bearer <ADMIN_TOKEN>` (401 without or with a wrong one, 403 when the service has no token).',
      )
      .setPayload(Schema.Struct({ repair: Schema.optional(Schema.Boolean) }).annotations(strict))
      .addSuccess(ReconcileReport),
  )
  .add(
    HttpApiEndpoint.post("extend", "/reservations/:order_id/extend")
      .annotate(OpenApi.Summary, "Move a reservation's due time")
      .annotate(
        OpenApi.Description,
        '`{seconds}` from now or `{expires_at}`. 409 ReservationNotHeld {"status":"expired",...} when it no longer holds stock; 400 for a time not in the future; 404 ReservationNotFound. Admin: needs `Authorization: Bearer <ADMIN_TOKEN>` (401 without or with a wrong one, 403 when the service has no token).',
      )
      .setPath(Schema.Struct({ order_id: OrderId }))
      .setPayload(ExtendRequest)
      .addSuccess(Reservation)
      .addError(ReservationNotFound)
      .addError(ReservationNotHeld)
      .addError(ExpiryNotInFuture),
  )
  .middleware(AdminAuth) {}

export class ReservationsGroup extends HttpApiGroup.make("reservations").add(
  HttpApiEndpoint.get("get", "/reservations/:order_id")
    .annotate(OpenApi.Summary, "An order's reservation")
    .annotate(
      OpenApi.Description,
      "Its status, every line with held / fulfilled / released quantities, the refusal if it was out of stock, and its due time. 404 ReservationNotFound if the order was never seen. Public.",
    )
    .setPath(Schema.Struct({ order_id: OrderId }))
    .addSuccess(Reservation)
    .addError(ReservationNotFound),
) {}

export class InventoryApi extends HttpApi.make("inventory")
  .add(HealthGroup)
  .add(InventoryGroup)
  .add(AdminGroup)
  .add(ReservationsGroup)
  .annotate(OpenApi.Title, "Inventory service")
  .annotate(OpenApi.Version, packageVersion)
  .annotate(
    OpenApi.Description,
    "Stock reservations for orders from Kafka; stock queries and corrections for operations staff.",
  ) {}
