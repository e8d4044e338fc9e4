import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import { planFulfilment } from "../../src/Domain/Fulfilment.js"
import type { ProductId } from "../../src/Domain/Ids.js"
import type { HeldLine } from "../../src/Domain/Lifecycle.js"

const product = fc.constantFrom("A", "B", "C", "D").map((p) => p as ProductId)
const location = fc.constantFrom("default", "east", "west")
const held = fc.uniqueArray(
  fc.record({ productId: product, locationId: location, quantity: fc.integer({ min: 0, max: 5 }) }),
  { selector: (l) => `${l.productId}/${l.locationId}`, maxLength: 6 },
)
const items = fc.option(
  fc.array(
    fc.record(
      { product_id: product, quantity: fc.integer({ min: 1, max: 6 }), location_id: location },
      { requiredKeys: ["product_id", "quantity"] },
    ),
    { minLength: 1, maxLength: 5 },
  ),
  { nil: undefined },
)
const rank = (l: string) => ["west", "default", "east"].indexOf(l)

const total = (lines: ReadonlyArray<HeldLine>, productId: ProductId, locationId?: string) =>
  lines
    .filter((l) => l.productId === productId && (locationId === undefined || l.locationId === locationId))
    .reduce((n, l) => n + l.quantity, 0)

describe("fulfilment decisions", () => {
  it.prop(
    "a fulfilment ships within what is held at each location, and what ships plus what remains is what was held",
    [held, items],
    ([lines, wanted]) => {
      const plan = planFulfilment(lines, wanted, rank)
      const holding = lines.filter((l) => l.quantity > 0)
      if (Either.isLeft(plan)) {
        const { reason, productId, locationId, requested, held: onLine } = plan.left
        if (holding.length === 0) expect(reason).toBe("not_reserved")
        else if (reason === "unknown_line") expect(total(holding, productId!, locationId)).toBe(0)
        else {
          expect(reason).toBe("exceeds_held")
          expect(requested!).toBeGreaterThan(onLine!)
          expect(onLine).toBe(total(holding, productId!, locationId))
        }
        return
      }
      expect(holding.length).toBeGreaterThan(0)
      for (const line of holding) {
        const shipped = total(plan.right.shipped, line.productId, line.locationId)
        expect(shipped).toBeLessThanOrEqual(line.quantity)
        expect(shipped + total(plan.right.remaining, line.productId, line.locationId)).toBe(line.quantity)
        if (wanted === undefined) expect(shipped).toBe(line.quantity)
        else {
          const named = wanted.filter((i) => i.product_id === line.productId && i.location_id === line.locationId)
          expect(shipped).toBeGreaterThanOrEqual(named.reduce((n, i) => n + i.quantity, 0))
          const all = wanted.filter((i) => i.product_id === line.productId).reduce((n, i) => n + i.quantity, 0)
          expect(total(plan.right.shipped, line.productId)).toBe(all)
        }
      }
      expect(plan.right.remaining.every((l) => l.quantity > 0)).toBe(true)
    },
  )

  it("ships a line's units from its best-priority location first unless an item names one", () => {
    const lines: Array<HeldLine> = [
      { productId: "A" as ProductId, locationId: "east", quantity: 3 },
      { productId: "A" as ProductId, locationId: "west", quantity: 2 },
    ]
    const plan = Either.getOrThrow(planFulfilment(lines, [{ product_id: "A" as ProductId, quantity: 3 }], rank))
    expect(plan.shipped).toEqual([
      { productId: "A", locationId: "west", quantity: 2 },
      { productId: "A", locationId: "east", quantity: 1 },
    ])
    const named = planFulfilment(lines, [{ product_id: "A" as ProductId, quantity: 3, location_id: "west" }], rank)
    expect(Either.getLeft(named)).toMatchObject({ _tag: "Some", value: { reason: "exceeds_held", held: 2 } })
  })
})
