import { describe, expect, it } from "@effect/vitest"
import { Either, FastCheck as fc } from "effect"
import { planFulfilment } from "../../src/Domain/Fulfilment.js"
import type { ProductId } from "../../src/Domain/Ids.js"
import type { Line } from "../../src/Domain/Lifecycle.js"

const product = fc.constantFrom("A", "B", "C", "D").map((p) => p as ProductId)
const held = fc.uniqueArray(fc.record({ productId: product, quantity: fc.integer({ min: 0, max: 5 }) }), {
  selector: (l) => l.productId,
  maxLength: 4,
})
const items = fc.option(
  fc.array(fc.record({ product_id: product, quantity: fc.integer({ min: 1, max: 6 }) }), {
    minLength: 1,
    maxLength: 5,
  }),
  { nil: undefined },
)

const total = (lines: ReadonlyArray<Line>, productId: ProductId) =>
  lines.filter((l) => l.productId === productId).reduce((n, l) => n + l.quantity, 0)

describe("fulfilment decisions", () => {
  it.prop(
    "a fulfilment ships within what is held, and what ships plus what remains is what was held",
    [held, items],
    ([lines, wanted]) => {
      const plan = planFulfilment(lines, wanted)
      const holding = lines.filter((l) => l.quantity > 0)
      if (Either.isLeft(plan)) {
        const { reason, productId, requested, held: onLine } = plan.left
        if (holding.length === 0) expect(reason).toBe("not_reserved")
        else if (reason === "unknown_line") expect(total(holding, productId!)).toBe(0)
        else {
          expect(reason).toBe("exceeds_held")
          expect(requested!).toBeGreaterThan(onLine!)
          expect(onLine).toBe(total(holding, productId!))
        }
        return
      }
      expect(holding.length).toBeGreaterThan(0)
      for (const line of holding) {
        const shipped = total(plan.right.shipped, line.productId)
        expect(shipped).toBeLessThanOrEqual(line.quantity)
        expect(shipped + total(plan.right.remaining, line.productId)).toBe(line.quantity)
        if (wanted === undefined) expect(shipped).toBe(line.quantity)
        else
          expect(shipped).toBe(
            wanted.filter((i) => i.product_id === line.productId).reduce((n, i) => n + i.quantity, 0),
          )
      }
      expect(plan.right.remaining.every((l) => l.quantity > 0)).toBe(true)
    },
  )
})
