import { readFileSync } from "node:fs"
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { OpaqueText, OrderId, ProductId } from "../Domain/Ids.js"
import { Holder, LedgerEntry, Page, ReconcileReport, Reservation, StockAsOf, StockRecord } from "../Store/Records.js"
import { AdminAuth, admin } from "./AdminAuth.js"
import {
  AdjustmentRequest,
  AdjustmentResult,
  BulkRequest,
  BulkResult,
  ExtendRequest,
  IdempotencyHeader,
  ProductDefinition,
  ReconcileRequest,
} from "./Bodies.js"
import {
  BackorderLimitBelowPromised,
  BulkInvalid,
  BulkRefused,
  ExpiryNotInFuture,
  IdempotencyKeyReused,
  InsufficientStock,
  LocationNotFound,
  NotReady,
  ProductNotFound,
  QuantityNotDefinedByPut,
  ReservationNotFound,
  ReservationNotHeld,
  StockMovedSinceCount,
} from "./Errors.js"
import { LocationsAdminGroup, LocationsGroup } from "./LocationsApi.js"
import { TransfersAdminGroup, TransfersGroup } from "./TransfersApi.js"

/** The OpenAPI document's version is the package's. */
const packageVersion = (
  JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }
).version

/** An Idempotency-Key makes a retried admin write harmless. */

const StockPage = Page(StockRecord)
const HolderPage = Page(Holder)
const LedgerPage = Page(LedgerEntry)

const Limit = Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 1000))
const Cursor = Schema.String.pipe(Schema.maxLength(400))
/** An RFC 3339 time in a query parameter */
const Instant = Schema.DateFromString.pipe(Schema.validDate())
const productPath = Schema.Struct({ product_id: ProductId })
/** Narrows a stock read to one location. */
const AtLocation = Schema.optional(OpaqueText)

// ---- groups

export class HealthGroup extends HttpApiGroup.make("health")
  .annotate(OpenApi.Description, "Liveness and readiness probes, and the Prometheus metrics. Public.")
  .add(
    HttpApiEndpoint.get("health", "/health")
      .annotateContext(
        OpenApi.annotations({ summary: "Liveness", description: "200 while the process serves. Public." }),
      )
      .addSuccess(Schema.Struct({ status: Schema.Literal("ok") })),
  )
  .add(
    HttpApiEndpoint.get("ready", "/ready")
      .annotateContext(
        OpenApi.annotations({
          summary: "Readiness",
          description:
            '200 when PostgreSQL answers, the consumer is in its group and the outbox backlog is under READY_OUTBOX_LIMIT; else 503 NotReady with `checks` naming what fails, e.g. {"_tag":"NotReady","message":"not ready: consumer not in its group yet","checks":{...}}. Public.',
        }),
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
  .annotate(
    OpenApi.Description,
    "Stock reads: levels, low stock, who holds a product, the ledger, stock as of a time. Public.",
  )
  .add(
    HttpApiEndpoint.get("list", "/inventory")
      .annotateContext(
        OpenApi.annotations({
          summary: "List stock, page by page",
          description:
            "Every product's stock record (totals and `locations`) in product id order; with `location_id`, the products kept there, with that location's figures; pass `next_cursor` back as `cursor` for the next page. 400 for a bad `limit` or `cursor`. Public.",
        }),
      )
      .setUrlParams(
        Schema.Struct({ limit: Schema.optional(Limit), cursor: Schema.optional(Cursor), location_id: AtLocation }),
      )
      .addSuccess(StockPage),
  )
  .add(
    HttpApiEndpoint.get("lowStock", "/inventory/low-stock")
      .annotateContext(
        OpenApi.annotations({
          summary: "Products below their low-stock threshold",
          description:
            "One record per product and location below the location's threshold (`location_id` says which), lowest available first; `location_id` narrows to one location. Public.",
        }),
      )
      .setUrlParams(Schema.Struct({ limit: Schema.optional(Limit), location_id: AtLocation }))
      .addSuccess(Schema.Struct({ items: Schema.Array(StockRecord) })),
  )
  .add(
    HttpApiEndpoint.get("get", "/inventory/:product_id")
      .annotateContext(
        OpenApi.annotations({
          summary: "A product's stock, now or as of a time",
          description:
            "The stock record: totals over the product's locations and each location's figures (`locations`); `location_id` narrows it to one location. With `as_of` (RFC 3339) what the product had then (at that location), from its ledger. 404 ProductNotFound (also when it did not exist, or was not kept there, at `as_of`), 400 for a malformed time. Public.",
        }),
      )
      .setPath(productPath)
      .setUrlParams(Schema.Struct({ as_of: Schema.optional(Instant), location_id: AtLocation }))
      .addSuccess(Schema.Union(StockRecord, StockAsOf))
      .addError(ProductNotFound),
  )
  .add(
    HttpApiEndpoint.get("holders", "/inventory/:product_id/reservations")
      .annotateContext(
        OpenApi.annotations({
          summary: "Who holds a product's stock",
          description:
            "The reservations still holding some of the product, oldest first, one entry per location they hold it at (`location_id`; the query parameter narrows to one), with quantity, age and due time; paged. 404 ProductNotFound. Public.",
        }),
      )
      .setPath(productPath)
      .setUrlParams(
        Schema.Struct({ limit: Schema.optional(Limit), cursor: Schema.optional(Cursor), location_id: AtLocation }),
      )
      .addSuccess(HolderPage)
      .addError(ProductNotFound),
  )
  .add(
    HttpApiEndpoint.get("ledger", "/inventory/:product_id/adjustments")
      .annotateContext(
        OpenApi.annotations({
          summary: "A product's ledger",
          description:
            "Every stock movement (initial, reserve, release, fulfil, adjust) with before/after, newest first; `since`/`until` bound it in time; paged. 404 ProductNotFound. Public.",
        }),
      )
      .setPath(productPath)
      .setUrlParams(
        Schema.Struct({
          limit: Schema.optional(Limit),
          cursor: Schema.optional(Cursor),
          since: Schema.optional(Instant),
          until: Schema.optional(Instant),
          location_id: AtLocation,
        }),
      )
      .addSuccess(LedgerPage)
      .addError(ProductNotFound),
  ) {}

export class AdminGroup extends HttpApiGroup.make("admin")
  .annotate(
    OpenApi.Description,
    "Stock writes for operations staff (define, adjust, bulk adjust and count, extend a reservation, reconcile): bearer ADMIN_TOKEN.",
  )
  .add(
    HttpApiEndpoint.put("define", "/inventory/:product_id")
      .annotateContext(
        OpenApi.annotations({
          summary: "Create a product, or change its settings",
          description: admin(
            "Creates the product with `initial_quantity`, or changes threshold, safety stock, backorder limit or location of an existing one. A different `initial_quantity` for an existing product is 409 QuantityNotDefinedByPut (quantities move through adjustments); a `backorder_limit` below what is already backordered is 409 BackorderLimitBelowPromised; a negative figure or an unknown field is 400.",
          ),
        }),
      )
      .setPath(productPath)
      .setPayload(ProductDefinition)
      .addSuccess(Schema.Struct({ ...StockRecord.fields, created: Schema.Boolean }))
      .addError(QuantityNotDefinedByPut)
      .addError(BackorderLimitBelowPromised),
  )
  .add(
    HttpApiEndpoint.put("defineAt", "/inventory/:product_id/locations/:location_id")
      .annotateContext(
        OpenApi.annotations({
          summary: "Keep a product at a location, or change its settings there",
          description: admin(
            "As PUT /inventory/{product_id}, for one location (PUT /inventory/{product_id} means `default`): creates the product's stock there with `initial_quantity`, or changes threshold, safety stock, backorder limit or label. 404 LocationNotFound for a location that does not exist; 409 QuantityNotDefinedByPut or BackorderLimitBelowPromised; a negative figure or an unknown field is 400.",
          ),
        }),
      )
      .setPath(Schema.Struct({ product_id: ProductId, location_id: OpaqueText }))
      .setPayload(ProductDefinition)
      .addSuccess(Schema.Struct({ ...StockRecord.fields, created: Schema.Boolean }))
      .addError(QuantityNotDefinedByPut)
      .addError(BackorderLimitBelowPromised)
      .addError(LocationNotFound),
  )
  .add(
    HttpApiEndpoint.post("adjust", "/inventory/:product_id/adjustments")
      .annotateContext(
        OpenApi.annotations({
          summary: "Adjust a product's stock",
          description: admin(
            'Adds or removes units (`quantity`), or records a cycle count (`counted_on_hand`), through the product\'s actor; `expected_on_hand` makes it compare-and-set. 409 InsufficientStock {"available":3,"requested":4,...} or StockMovedSinceCount; 404 ProductNotFound; 422 IdempotencyKeyReused. An Idempotency-Key makes a retry harmless.',
          ),
        }),
      )
      .setPath(productPath)
      .setHeaders(IdempotencyHeader)
      .setPayload(AdjustmentRequest)
      .addSuccess(AdjustmentResult, { status: 201 })
      .addError(ProductNotFound)
      .addError(LocationNotFound)
      .addError(InsufficientStock)
      .addError(StockMovedSinceCount)
      .addError(IdempotencyKeyReused),
  )
  .add(
    HttpApiEndpoint.post("bulkAdjust", "/inventory/adjustments")
      .annotateContext(
        OpenApi.annotations({
          summary: "Adjust many products at once (JSON or CSV)",
          description: admin(
            'Up to 10,000 lines, all or nothing; `dry_run` answers before/after of every line and applies nothing. 409 BulkRefused lists every line that cannot be applied, e.g. {"failures":[{"line":3,"product_id":"P1","reason":"unknown product"}]}; 400 BulkInvalid names the line and column of malformed CSV.',
          ),
        }),
      )
      .setUrlParams(Schema.Struct({ dry_run: Schema.optional(Schema.BooleanFromString) }))
      .setHeaders(IdempotencyHeader)
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
      .annotateContext(
        OpenApi.annotations({
          summary: "The last reconciliation report",
          description: admin(
            "Products whose stock row, ledger and reservations do not agree, as of the last check (runs one if none ran yet).",
          ),
        }),
      )
      .addSuccess(ReconcileReport),
  )
  .add(
    HttpApiEndpoint.post("reconcile", "/admin/reconcile")
      .annotateContext(
        OpenApi.annotations({
          summary: "Check the books now (and repair)",
          description: admin(
            'Checks every product now; with {"repair": true} corrects the drifting ones through correction ledger rows and their events.',
          ),
        }),
      )
      .setPayload(ReconcileRequest)
      .addSuccess(ReconcileReport),
  )
  .add(
    HttpApiEndpoint.post("extend", "/reservations/:order_id/extend")
      .annotateContext(
        OpenApi.annotations({
          summary: "Move a reservation's due time",
          description: admin(
            '`{seconds}` from now or `{expires_at}`. 409 ReservationNotHeld {"status":"expired",...} when it no longer holds stock; 400 for a time not in the future; 404 ReservationNotFound.',
          ),
        }),
      )
      .setPath(Schema.Struct({ order_id: OrderId }))
      .setPayload(ExtendRequest)
      .addSuccess(Reservation)
      .addError(ReservationNotFound)
      .addError(ReservationNotHeld)
      .addError(ExpiryNotInFuture),
  )
  .middleware(AdminAuth) {}

export class ReservationsGroup extends HttpApiGroup.make("reservations")
  .annotate(OpenApi.Description, "An order's reservation as the service recorded it. Public.")
  .add(
    HttpApiEndpoint.get("get", "/reservations/:order_id")
      .annotateContext(
        OpenApi.annotations({
          summary: "An order's reservation",
          description:
            "Its status, every line with held / fulfilled / released quantities, the refusal if it was out of stock, and its due time. 404 ReservationNotFound if the order was never seen. Public.",
        }),
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
  .add(LocationsGroup)
  .add(LocationsAdminGroup)
  .add(TransfersGroup)
  .add(TransfersAdminGroup)
  .annotate(OpenApi.Title, "Inventory service")
  .annotate(OpenApi.Version, packageVersion)
  // OpenAPI 3.1 wants a URL or an SPDX identifier; the platform's type knows only the URL
  .annotate(OpenApi.License, {
    name: "Proprietary",
    identifier: "LicenseRef-Proprietary",
  } as OpenApi.OpenAPISpecLicense)
  .annotate(OpenApi.Servers, [{ url: "/", description: "the service that serves this document" }])
  .annotate(
    OpenApi.Description,
    "Stock reservations for orders from Kafka; stock queries and corrections for operations staff.",
  ) {}
