import { Schema } from "effect"

// The committed rows as the read side gives them out: one schema per record, used both to decode
// what PostgreSQL returns (every read path) and, by the HTTP API, to describe its answers.
// Columns that PostgreSQL returns as text (bigint ids and versions) decode from strings here.

/** A bigint column: pg hands it over as a string, the record carries a number. */
export const BigintColumn = Schema.NumberFromString.pipe(Schema.int())

/** A product's stock at one location. */
export const LocationStock = Schema.Struct({
  location_id: Schema.String,
  available: Schema.Number,
  reserved: Schema.Number,
  on_hand: Schema.Number,
  /** units promised to orders beyond what was available, within `backorder_limit` */
  backordered: Schema.Number,
  backorder_limit: Schema.Number,
  low_stock_threshold: Schema.Number,
  safety_stock: Schema.Number,
  sellable: Schema.Number,
})

/**
 * A product's stock: the totals over its locations (thresholds and safety stock summed too), and
 * each location's own figures; narrowed to one location, that location's row (`location_id` set).
 */
export const StockRecord = Schema.Struct({
  product_id: Schema.String,
  available: Schema.Number,
  reserved: Schema.Number,
  on_hand: Schema.Number,
  low_stock_threshold: Schema.Number,
  safety_stock: Schema.Number,
  /** what orders may still reserve: available - safety_stock, never below 0 (per location, summed) */
  sellable: Schema.Number,
  /** the free-text label of where the product sits (its `default` row's) */
  location: Schema.NullOr(Schema.String),
  version: Schema.Number,
  updated_at: Schema.String,
  /** set when the record is one location's */
  location_id: Schema.optional(Schema.String),
  locations: Schema.Array(LocationStock),
})
export const StockRecordRow = Schema.Struct({
  ...StockRecord.fields,
  version: BigintColumn,
  location_id: Schema.optionalWith(Schema.String, { nullable: true, exact: true }),
})

/** What a product had at a moment (`as_of`), replayed from its ledger. */
export const StockAsOf = Schema.Struct({
  product_id: Schema.String,
  /** set when narrowed to one location */
  location_id: Schema.optionalWith(Schema.String, { nullable: true, exact: true }),
  available: Schema.Number,
  reserved: Schema.Number,
  on_hand: Schema.Number,
  as_of: Schema.String,
})

/** A reservation holding some of a product. */
export const Holder = Schema.Struct({
  order_id: Schema.String,
  reservation_id: Schema.NullOr(Schema.String),
  status: Schema.Literal("reserved", "partially_fulfilled"),
  /** what it still holds of this product, at `location_id` */
  quantity: Schema.Number,
  /** of `quantity`, the units promised rather than reserved */
  backordered: Schema.Number,
  location_id: Schema.String,
  reserved_at: Schema.String,
  age_seconds: Schema.Number,
  expires_at: Schema.NullOr(Schema.String),
})

export const LedgerEntry = Schema.Struct({
  id: Schema.Number,
  product_id: Schema.String,
  location_id: Schema.String,
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
export const LedgerEntryRow = Schema.Struct({ ...LedgerEntry.fields, id: BigintColumn })

export const ReservationStatus = Schema.Literal(
  "reserved",
  "partially_fulfilled",
  "fulfilled",
  "released",
  "expired",
  "rejected",
  "cancelled_before_create",
)
export type ReservationStatus = typeof ReservationStatus.Type

/** An order's line at one location (a line split over locations has one per location). */
export const ReservationLine = Schema.Struct({
  product_id: Schema.String,
  location_id: Schema.String,
  quantity: Schema.Number,
  held: Schema.Number,
  /** of what it holds, the units promised rather than reserved */
  backordered: Schema.Number,
  fulfilled: Schema.Number,
  released: Schema.Number,
})

export const Reservation = Schema.Struct({
  order_id: Schema.String,
  reservation_id: Schema.NullOr(Schema.String),
  status: ReservationStatus,
  /** per line: ordered (`quantity`), still `held`, `fulfilled` (shipped) and `released` */
  items: Schema.Array(ReservationLine),
  out_of_stock: Schema.NullOr(
    Schema.Struct({ product_id: Schema.String, requested_qty: Schema.Number, available_qty: Schema.Number }),
  ),
  /** when a reservation with nothing fulfilled is released by itself; null: never */
  expires_at: Schema.NullOr(Schema.String),
  created_at: Schema.String,
  updated_at: Schema.String,
})

const Level = Schema.Struct({ available: Schema.Number, reserved: Schema.Number })

/** A product whose books do not add up, and why. */
export const Drift = Schema.Struct({
  product_id: Schema.String,
  location_id: Schema.String,
  problems: Schema.Array(Schema.String),
  row: Schema.Struct({ ...Level.fields, on_hand: Schema.Number }),
  ledger: Schema.NullOr(Level),
  held: Schema.Number,
})
export type Drift = typeof Drift.Type

/** The last reconciliation: every product whose books did not add up, and what was repaired. */
export const ReconcileReport = Schema.Struct({
  checked_at: Schema.String,
  duration_ms: Schema.Number,
  products_checked: Schema.Number,
  drift: Schema.Array(Drift),
  /**
   * products whose transfers and ledger disagree: what left the sources (`transfer_out`) is not what the
   * transfers sent, or what arrived (`transfer_in`) is not what they received (nothing repairs these)
   */
  transfer_drift: Schema.Array(
    Schema.Struct({
      product_id: Schema.String,
      sent: Schema.Number,
      received: Schema.Number,
      ledger_out: Schema.Number,
      ledger_in: Schema.Number,
    }),
  ),
  /** products corrected by this run (only when repair was asked for) */
  repaired: Schema.Array(Schema.String),
})
export type ReconcileReport = typeof ReconcileReport.Type

/** A page of records and the opaque cursor of the next one (null on the last page). */
export const Page = <A, I, R>(item: Schema.Schema<A, I, R>) =>
  Schema.Struct({ items: Schema.Array(item), next_cursor: Schema.NullOr(Schema.String) })

/** Units of a product sent from one location to another; `in_transit` is what has not arrived yet. */
export const TransferRecord = Schema.Struct({
  transfer_id: Schema.String,
  product_id: Schema.String,
  from_location_id: Schema.String,
  to_location_id: Schema.String,
  quantity: Schema.Number,
  received: Schema.Number,
  in_transit: Schema.Number,
  status: Schema.Literal("in_transit", "received"),
  reference_id: Schema.NullOr(Schema.String),
  created_at: Schema.String,
  updated_at: Schema.String,
})

/** A place stock is kept, and how orders are routed to it. */
export const LocationRecord = Schema.Struct({
  location_id: Schema.String,
  name: Schema.String,
  /** lower first */
  priority: Schema.Number,
  /** the sales channels it serves; empty: every channel */
  channels: Schema.Array(Schema.String),
  active: Schema.Boolean,
  updated_at: Schema.String,
})
