import { Schema } from "effect"

// Opaque text ids: any printable unicode, bounded, never blank. Quotes and SQL-looking text
// are fine (every query is parameterised); control characters and absurd lengths are not.
export const OpaqueText = Schema.String.pipe(
  Schema.minLength(1),
  Schema.maxLength(200),
  Schema.filter((s) => s.trim().length > 0, { message: () => "must not be blank" }),
  // biome-ignore lint/suspicious/noControlCharactersInRegex: rejecting control characters is the point
  Schema.filter((s) => !/[\u0000-\u001f\u007f]/.test(s), { message: () => "must not contain control characters" }),
)

export const ProductId = OpaqueText.pipe(Schema.brand("ProductId"))
export type ProductId = typeof ProductId.Type

export const OrderId = OpaqueText.pipe(Schema.brand("OrderId"))
export type OrderId = typeof OrderId.Type

export const MaxQuantity = 1_000_000

/** A positive whole number of units on one order line. */
export const Quantity = Schema.Int.pipe(Schema.between(1, MaxQuantity), Schema.brand("Quantity"))
export type Quantity = typeof Quantity.Type
