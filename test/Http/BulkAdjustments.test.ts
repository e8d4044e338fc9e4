import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { freePort } from "../support/Env.js"
import { harness, invariantViolations } from "../support/Harness.js"
import { httpClient } from "../support/Http.js"
import { TestKafka } from "../support/TestKafka.js"

const port = await freePort()
const token = "test-admin-token"
const call = httpClient(port, token)
const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
  call("POST", path, body, typeof body === "string" ? { "content-type": "text/csv", ...headers } : headers)

const P = Array.from({ length: 10 }, (_, i) => `bulk-${i}`)

const books = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const stock =
    yield* sql`SELECT product_id, available, reserved, on_hand FROM stock WHERE product_id LIKE 'bulk-%' ORDER BY product_id`
  const [ledger] = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM stock_ledger WHERE product_id LIKE 'bulk-%'`
  return { stock, ledger: ledger!.n }
})

layer(harness({ label: "bulk", env: { SERVICE_PORT: String(port), ADMIN_TOKEN: token } }), {
  excludeTestServices: true,
})("bulk adjustments", (it) => {
  it.effect(
    "apply all or nothing: one bad line in 1,000 and an unknown product change nothing, every bad line listed",
    () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        for (const p of P) yield* call("PUT", `/inventory/${p}`, { initial_quantity: 10 })
        const before = yield* books
        const items = Array.from({ length: 1000 }, (_, i) => ({
          product_id: P[i % 10],
          quantity: 1,
          adjustment_type: "restock",
        }))
        items[499] = { product_id: "bulk-3", quantity: -500, adjustment_type: "damage" }
        items[799] = { product_id: "bulk-nope", quantity: 1, adjustment_type: "restock" }
        const refused = yield* post("/inventory/adjustments", { items })
        expect(refused.status).toBe(409)
        expect(refused.json._tag).toBe("BulkRefused")
        expect(refused.json.failures).toEqual([
          { line: 500, product_id: "bulk-3", reason: expect.stringContaining("cannot remove 500") },
          { line: 800, product_id: "bulk-nope", reason: "unknown product" },
        ])
        expect(yield* books).toEqual(before)
        // the dry run meets the same refusals
        const dry = yield* post("/inventory/adjustments", { items, dry_run: true })
        expect(dry.status).toBe(409)
        expect(dry.json.failures.map((f: { line: number }) => f.line)).toEqual([500, 800])
        expect(yield* sql`SELECT 1 FROM stock WHERE product_id = 'bulk-nope'`).toEqual([])
      }),
  )

  it.effect(
    "a dry run predicts exactly what the real run does; one ledger row and one event per line; a key replays",
    () =>
      Effect.gen(function* () {
        const kafka = yield* TestKafka
        const items = Array.from({ length: 200 }, (_, i) => ({
          product_id: P[i % 10],
          quantity: i % 4 === 0 ? -1 : 2,
          adjustment_type: i % 4 === 0 ? "damage" : "restock",
          reference_id: `bulk-ref-${i}`,
        }))
        items.push({ product_id: "bulk-0", counted_on_hand: 100, adjustment_type: "count" } as never)
        const before = yield* books
        const dry = yield* post("/inventory/adjustments", { items, dry_run: true })
        expect(dry.status).toBe(200)
        expect(dry.json.dry_run).toBe(true)
        expect(yield* books).toEqual(before)
        const real = yield* post("/inventory/adjustments", { items }, { "idempotency-key": "bulk-key-1" })
        expect(real.status).toBe(200)
        expect(real.json.dry_run).toBe(false)
        expect(real.json.items).toEqual(dry.json.items)
        expect(real.json.items.at(-1)).toMatchObject({ line: 201, adjustment_type: "count", after: { on_hand: 100 } })
        expect((yield* books).ledger).toBe(before.ledger + 201)
        yield* kafka.waitFor(
          (es) =>
            es.filter(
              (e) => e.topic === kafka.topics.adjusted && String(e.body.reference_id ?? "").startsWith("bulk-ref-"),
            ).length === 200,
        )
        const again = yield* post("/inventory/adjustments", { items }, { "idempotency-key": "bulk-key-1" })
        expect(again.json).toEqual(real.json)
        expect((yield* books).ledger).toBe(before.ledger + 201)
        const reused = yield* post(
          "/inventory/adjustments",
          { items: items.slice(1) },
          { "idempotency-key": "bulk-key-1" },
        )
        expect(reused.status).toBe(422)
        expect(yield* invariantViolations).toEqual([])
      }),
  )

  it.effect("take CSV, and name the line and column of what is wrong in it", () =>
    Effect.gen(function* () {
      const before = yield* books
      const csv = [
        "product_id,quantity,adjustment_type,reason",
        'bulk-1,5,restock,"delivery 42, dock B"',
        "bulk-2,-1,damage,",
        "",
      ].join("\r\n")
      const applied = yield* post("/inventory/adjustments", csv)
      expect(applied.status).toBe(200)
      expect(applied.json.items.map((i: { line: number; quantity: number }) => [i.line, i.quantity])).toEqual([
        [2, 5],
        [3, -1],
      ])
      expect((yield* books).ledger).toBe(before.ledger + 2)
      const dry = yield* post("/inventory/adjustments?dry_run=true", csv)
      expect(dry.json.dry_run).toBe(true)
      const badHeader = yield* post("/inventory/adjustments", "product,qty,type\nbulk-1,1,restock")
      expect(badHeader.status).toBe(400)
      expect(badHeader.json.errors[0]).toMatchObject({ line: 1 })
      const badLines = yield* post(
        "/inventory/adjustments",
        "product_id,quantity,adjustment_type\nbulk-1,1,restock\nbulk-1,1.5,restock\nbulk-1,2,teleport\nbulk-1,0,restock",
      )
      expect(badLines.status).toBe(400)
      expect(badLines.json.errors).toEqual([
        { line: 3, column: "quantity", message: expect.stringContaining("whole number") },
        { line: 4, column: "adjustment_type", message: expect.any(String) },
        { line: 5, column: "quantity", message: expect.stringContaining("zero") },
      ])
      const tooMany = [
        "product_id,quantity,adjustment_type",
        ...Array.from({ length: 10_001 }, () => "bulk-1,1,restock"),
      ]
      const big = yield* post("/inventory/adjustments", tooMany.join("\n"))
      expect(big.status).toBe(400)
      expect(big.json.errors[0].message).toContain("more than 10000 lines")
      expect((yield* books).ledger).toBe(before.ledger + 2)
    }),
  )

  it.effect("keeps the invariants with bulk requests racing each other and live orders on the same products", () =>
    Effect.gen(function* () {
      const kafka = yield* TestKafka
      const orders = Array.from({ length: 600 }, (_, i) => ({
        key: `bulk-o${i}`,
        value: JSON.stringify({ order_id: `bulk-o${i}`, items: [{ product_id: P[i % 10], quantity: 1 + (i % 3) }] }),
      }))
      const bulk = (n: number) =>
        post("/inventory/adjustments", {
          items: Array.from({ length: 100 }, (_, i) => ({
            product_id: P[(i + n) % 10],
            quantity: i % 2 === 0 ? 3 : -1,
            adjustment_type: i % 2 === 0 ? "restock" : "damage",
          })),
        })
      const [answers] = yield* Effect.all(
        [
          Effect.all([bulk(0), bulk(1), bulk(2), bulk(3)], { concurrency: "unbounded" }),
          kafka.sendMany(kafka.topics.ordersCreated, orders),
        ],
        { concurrency: "unbounded" },
      )
      for (const a of answers) expect([200, 409]).toContain(a.status)
      yield* kafka.waitFor((es) =>
        orders.every((o) =>
          es.some((e) => e.key === o.key && (e.topic === kafka.topics.reserved || e.topic === kafka.topics.outOfStock)),
        ),
      )
      expect(yield* invariantViolations).toEqual([])
    }),
  )
})
