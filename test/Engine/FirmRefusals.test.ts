import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { OrderId, ProductId } from "../../src/Domain/Ids.js"
import type { OrderMessage } from "../../src/Domain/Orders.js"
import { Engine } from "../../src/Engine/Engine.js"
import { engineHarness, invariantViolations } from "../support/Harness.js"

// Found by the soak (out_of_stock on hot products while the product had the quantity in every
// committed state): an order was refused because a concurrent saga held the last units for a
// moment and then gave them back (its next line was short). That hold was never committed, so
// the refusal rested on a state the product never had. A refusal now waits until every hold on
// the product is either handed to the committer or given back.

const SCARCE = "fr-scarce" as ProductId
const EMPTY = "fr-empty" as ProductId

layer(engineHarness({ label: "firm" }), { excludeTestServices: true })("an out_of_stock", (it) => {
  it.effect("rests on committed stock, never on a hold a failing saga gives back", () =>
    Effect.gen(function* () {
      const engine = yield* Engine
      const sql = yield* SqlClient.SqlClient
      yield* engine.define(SCARCE, { initialQuantity: 40 })
      yield* engine.define(EMPTY, { initialQuantity: 0 })
      // doomed orders take a unit of the scarce product, then find the empty one short and give it back;
      // single orders want one unit of the scarce product
      const chunk: Array<OrderMessage> = Array.from({ length: 800 }, (_, n) => ({
        _tag: "Created",
        order: {
          order_id: `fr-${n % 2 === 0 ? "doomed" : "single"}-${n}` as OrderId,
          items: (n % 2 === 0
            ? [
                { product_id: SCARCE, quantity: 1 },
                { product_id: EMPTY, quantity: 1 },
              ]
            : [{ product_id: SCARCE, quantity: 1 }]) as never,
        },
      }))
      // yield after every few steps, so sagas are mid-way while others decide
      for (let i = 0; i < chunk.length; i += 200) {
        yield* engine.process(chunk.slice(i, i + 200)).pipe(Effect.withMaxOpsBeforeYield(16))
      }
      const [reserved] = yield* sql<{ n: number; last: string }>`
        SELECT count(*)::int AS n, max(created_at)::text AS last FROM stock_ledger
         WHERE product_id = ${SCARCE} AND movement = 'reserve'`
      expect(reserved!.n).toBe(40)
      // no refusal on the scarce product is committed before a reservation of it: a refusal is
      // decided only once nothing is left
      const early = yield* sql<{ order_id: string; available_qty: number }>`
        SELECT order_id, available_qty FROM reservations
         WHERE status = 'rejected' AND short_product_id = ${SCARCE} AND created_at < ${reserved!.last}::timestamptz`
      expect(early).toEqual([])
      const refused = yield* sql<{ available_qty: number }>`
        SELECT DISTINCT available_qty FROM reservations WHERE status = 'rejected' AND short_product_id = ${SCARCE}`
      expect(refused).toEqual([{ available_qty: 0 }])
      expect(yield* invariantViolations).toEqual([])
    }),
  )
})
