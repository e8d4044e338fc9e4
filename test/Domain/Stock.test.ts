import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import * as Stock from "../../src/Domain/Stock.js"

const level = fc
  .record({ available: fc.nat(1000), reserved: fc.nat(1000) })
  .map(({ available, reserved }) => ({ available, reserved, onHand: available + reserved }))

const op = fc.oneof(
  fc.record({ kind: fc.constant("reserve" as const), q: fc.integer({ min: 1, max: 50 }) }),
  fc.record({ kind: fc.constant("release" as const), q: fc.integer({ min: 1, max: 50 }) }),
  fc.record({ kind: fc.constant("adjust" as const), q: fc.integer({ min: -50, max: 50 }) }),
  fc.record({ kind: fc.constant("fulfil" as const), q: fc.integer({ min: 1, max: 50 }) }),
)

const step = (s: Stock.StockLevel, o: { kind: "reserve" | "release" | "adjust" | "fulfil"; q: number }) => {
  const next: Either.Either<Stock.StockLevel, unknown> =
    o.kind === "reserve"
      ? Stock.reserve(s, o.q)
      : o.kind === "release"
        ? Stock.release(s, o.q)
        : o.kind === "fulfil"
          ? Stock.fulfil(s, o.q)
          : Stock.adjust(s, o.q)
  return Either.getOrElse(next, () => s)
}

describe("stock arithmetic", () => {
  it.prop(
    "reserve succeeds exactly when enough is available, and keeps the books balanced",
    [level, fc.integer({ min: 1, max: 2000 })],
    ([s, q]) => {
      const next = Stock.reserve(s, q)
      expect(Either.isRight(next)).toBe(q <= s.available)
      if (Either.isRight(next)) {
        expect(Stock.isValid(next.right)).toBe(true)
        expect(next.right.onHand).toBe(s.onHand)
        expect(next.right.reserved).toBe(s.reserved + q)
      } else {
        expect(next.left.available).toBe(s.available)
      }
    },
  )

  it.prop(
    "fulfil ships only what is reserved: reserved and on hand go down together, available stays",
    [level, fc.integer({ min: 1, max: 2000 })],
    ([s, q]) => {
      const next = Stock.fulfil(s, q)
      expect(Either.isRight(next)).toBe(q <= s.reserved)
      if (Either.isRight(next)) {
        expect(Stock.isValid(next.right)).toBe(true)
        expect(next.right).toEqual({ available: s.available, reserved: s.reserved - q, onHand: s.onHand - q })
      }
    },
  )

  it.prop(
    "release undoes reserve",
    [level.chain((s) => fc.tuple(fc.constant(s), fc.integer({ min: 0, max: s.available }))).filter(([, q]) => q > 0)],
    ([[s, q]]) => {
      // every case reserves: q is at most what is available
      const reserved = Either.getOrThrow(Stock.reserve(s, q))
      expect(Stock.release(reserved, q)).toEqual(Either.right(s))
    },
  )

  it.prop(
    "adjust never takes reserved units and never goes below zero",
    [level, fc.integer({ min: -2000, max: 2000 })],
    ([s, d]) => {
      const next = Stock.adjust(s, d)
      expect(Either.isRight(next)).toBe(s.available + d >= 0)
      if (Either.isRight(next)) {
        expect(Stock.isValid(next.right)).toBe(true)
        expect(next.right.reserved).toBe(s.reserved)
      }
    },
  )

  it.prop("any sequence of operations keeps every invariant", [level, fc.array(op, { maxLength: 200 })], ([s, ops]) => {
    let current = s
    for (const o of ops) {
      current = step(current, o)
      expect(Stock.isValid(current)).toBe(true)
    }
  })

  it.prop(
    "low stock is reported once per crossing, not on every order",
    [fc.nat(30), fc.array(op, { maxLength: 100 })],
    ([threshold, ops]) => {
      let current = Stock.stockOf(100)
      let crossings = 0
      let below = current.available < threshold
      let expected = 0
      for (const o of ops) {
        const next = step(current, o)
        if (Stock.crossesBelow(current, next, threshold)) crossings++
        const nowBelow = next.available < threshold
        if (!below && nowBelow) expected++
        below = nowBelow
        current = next
      }
      expect(crossings).toBe(expected)
    },
  )

  it.prop(
    "lines of one product are summed, totals kept, first appearance first",
    [
      fc.array(
        fc.record({ product_id: fc.constantFrom("a", "b", "c", "d"), quantity: fc.integer({ min: 1, max: 9 }) }),
        { minLength: 1 },
      ),
    ],
    ([items]) => {
      const lines = Stock.sumLines(items)
      expect(new Set(lines.map((l) => l.productId)).size).toBe(lines.length)
      expect(lines.map((l) => l.productId)).toEqual([...new Set(items.map((i) => i.product_id))])
      for (const l of lines) {
        expect(l.quantity).toBe(items.filter((i) => i.product_id === l.productId).reduce((n, i) => n + i.quantity, 0))
      }
    },
  )
})
