import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { freePort } from "../support/Env.js"
import { harness } from "../support/Harness.js"
import { httpClient } from "../support/Http.js"
import { cancel, fulfil, of, seed } from "../support/Orders.js"
import { TestKafka } from "../support/TestKafka.js"

const port = await freePort()
const token = "test-admin-token"
const call = httpClient(port, token)

const PRODUCTS = Array.from({ length: 20 }, (_, i) => `rc-${i}`)

layer(harness({ label: "reconcile", env: { SERVICE_PORT: String(port), ADMIN_TOKEN: token } }), {
  excludeTestServices: true,
})("continuous reconciliation", (it) => {
  it.effect(
    "finds no drift after a mixed load, reports rows corrupted behind the service's back, and repairs them",
    () =>
      Effect.gen(function* () {
        const kafka = yield* TestKafka
        const sql = yield* SqlClient.SqlClient
        for (const p of PRODUCTS) yield* seed(p, 2_000)
        let x = 3
        const next = (n: number) => {
          x = (x * 1103515245 + 12345) >>> 0
          return x % n
        }
        const ids = Array.from({ length: 10_000 }, (_, i) => `rc-o${i}`)
        yield* kafka.sendMany(
          kafka.topics.ordersCreated,
          ids.map((id) => ({
            key: id,
            value: JSON.stringify({
              order_id: id,
              items: Array.from({ length: 1 + next(3) }, () => ({
                product_id: PRODUCTS[next(20)],
                quantity: 1 + next(3),
              })),
            }),
          })),
        )
        const decided = (es: ReturnType<typeof kafka.events>, id: string) =>
          of(es, kafka.topics.reserved, id).length + of(es, kafka.topics.outOfStock, id).length > 0
        yield* kafka.waitFor((es) => ids.every((id) => decided(es, id)))
        yield* kafka.sendMany(
          kafka.topics.ordersCancelled,
          ids.filter((_, i) => i % 5 === 0).map((id) => ({ key: id, value: JSON.stringify(cancel(id)) })),
        )
        yield* kafka.sendMany(
          kafka.topics.ordersFulfilled,
          ids.filter((_, i) => i % 5 === 1).map((id) => ({ key: id, value: JSON.stringify(fulfil(id)) })),
        )
        const settled = (es: ReturnType<typeof kafka.events>, id: string) =>
          of(es, kafka.topics.released, id).length +
            of(es, kafka.topics.fulfilled, id).length +
            of(es, kafka.topics.fulfillmentRejected, id).length >
          0
        // every reserved order that was cancelled or shipped has its release or shipment
        yield* kafka.waitFor((es) =>
          ids
            .filter((_, i) => i % 5 < 2)
            .every((id) => of(es, kafka.topics.reserved, id).length === 0 || settled(es, id)),
        )
        const clean = yield* call("POST", "/admin/reconcile", {})
        expect(clean.status).toBe(200)
        expect(clean.json).toMatchObject({ drift: [], repaired: [] })
        expect(clean.json.products_checked).toBeGreaterThanOrEqual(20)

        // behind the service's back: a stock row, a reservation line and a ledger row
        yield* sql`UPDATE stock SET available = available + 5, on_hand = on_hand + 5 WHERE product_id = 'rc-0'`
        const [line] = yield* sql<{ order_id: string; product_id: string }>`
        SELECT l.order_id, l.product_id FROM reservation_lines l JOIN reservations r USING (order_id)
         WHERE r.status = 'reserved' AND l.product_id NOT IN ('rc-0', 'rc-2') ORDER BY l.product_id LIMIT 1`
        yield* sql`UPDATE reservation_lines SET quantity = quantity + 1
                  WHERE order_id = ${line!.order_id} AND product_id = ${line!.product_id}`
        yield* sql`UPDATE stock_ledger SET available_after = available_after + 2
                  WHERE id = (SELECT max(id) FROM stock_ledger WHERE product_id = 'rc-2')`
        const found = yield* call("POST", "/admin/reconcile", {})
        const corrupted = ["rc-0", line!.product_id, "rc-2"].sort()
        expect(found.json.drift.map((d: { product_id: string }) => d.product_id)).toEqual(corrupted)
        const lineDrift = found.json.drift.find((d: { product_id: string }) => d.product_id === line!.product_id)
        expect(lineDrift.problems.join()).toContain("active reservations hold")
        expect((yield* call("GET", "/admin/reconcile")).json.checked_at).toBe(found.json.checked_at)
        const metrics = yield* call("GET", "/metrics")
        expect(metrics.text).toMatch(/^inventory_reconciliation_drift_products 3$/m)

        const repaired = yield* call("POST", "/admin/reconcile", { repair: true })
        expect(repaired.json.repaired).toEqual(corrupted)
        expect((yield* call("POST", "/admin/reconcile", {})).json.drift).toEqual([])
        const ledger = yield* call("GET", `/inventory/${line!.product_id}/adjustments?limit=1`)
        expect(ledger.json.items[0]).toMatchObject({ movement: "adjust", adjustment_type: "correction" })
        yield* kafka.waitFor(
          (es) =>
            es.filter((e) => e.topic === kafka.topics.adjusted && e.body.adjustment_type === "correction").length === 3,
        )
        // the engine picks the repaired rows up (their version moved) and goes on deciding on them
        yield* kafka.send(
          kafka.topics.ordersCreated,
          "rc-after",
          JSON.stringify({ order_id: "rc-after", items: [{ product_id: line!.product_id, quantity: 1 }] }),
        )
        yield* kafka.waitFor((es) => decided(es, "rc-after"))
        expect((yield* call("POST", "/admin/reconcile", {})).json.drift).toEqual([])
      }),
  )
})
