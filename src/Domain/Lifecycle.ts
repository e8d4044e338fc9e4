import type { ProductId } from "./Ids.js"

// The reservation lifecycle as plain data and functions: what an order holds, which statuses hold
// stock, and the status a step leaves. The commit statement derives the same in SQL (and the
// database's triggers check it); the engine uses these to predict.

/** What one line of an order holds (or asks for, or ships) of one product. */
export interface Line {
  readonly productId: ProductId
  readonly quantity: number
}

/** Where stock is kept; every product is at `default` unless defined elsewhere. */
export const DefaultLocation = "default"

/** What an order holds (or ships) of one product at one location: a line's allocation there. */
export interface HeldLine extends Line {
  readonly locationId: string
  /** units of `quantity` promised, not reserved (filled once stock arrives there) */
  readonly backordered?: number | undefined
}

/** Units of a held line that are reserved (not promised). */
export const reservedOf = (line: HeldLine): number => line.quantity - (line.backordered ?? 0)

/** The key of one stock row in memory: a product at a location (ids never hold control characters). */
export const stockKey = (productId: string, locationId: string): string => `${productId}\u0000${locationId}`

export type OrderStatus =
  | "reserved"
  | "partially_fulfilled"
  | "fulfilled"
  | "released"
  | "expired"
  | "rejected"
  | "cancelled_before_create"

/** A reservation that still holds stock: cancelling, expiring or fulfilling it moves its lines. */
export const isHeld = (status: OrderStatus | "unseen"): boolean =>
  status === "reserved" || status === "partially_fulfilled"

/** An order as recorded (or as memory predicts it once its decided steps are committed). */
export interface KnownOrder {
  /** "unseen": nothing recorded for the order but fulfilments it was refused */
  readonly status: OrderStatus | "unseen"
  readonly reservationId: string | null
  /** what the order still holds, per product and location, in product order (nothing unless it is held) */
  readonly lines: ReadonlyArray<HeldLine>
  /** when it is released unless fulfilled first (ms since the epoch), if ever */
  readonly expiresAt: number | null
  /** the fulfilment ids already decided for it (applied or rejected) */
  readonly fulfillments: ReadonlyArray<string>
}

/** The status a shipment leaves: fulfilled once nothing is held, else partially fulfilled. */
export const statusAfterShipping = (remaining: ReadonlyArray<Line>): "fulfilled" | "partially_fulfilled" =>
  remaining.some((l) => l.quantity > 0) ? "partially_fulfilled" : "fulfilled"
