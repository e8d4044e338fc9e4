import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { freePort } from "../support/Env.js"
import { harness, invariantViolations } from "../support/Harness.js"
import { httpClient } from "../support/Http.js"
import { TestKafka } from "../support/TestKafka.js"

const port = await freePort()
const token = "test-admin-token"

const call = httpClient(port)
const admin = { authorization: `Bearer ${token}` }
const define = (id: string, body: object) => call("PUT", `/inventory/${encodeURIComponent(id)}`, body, admin)
const adjust = (id: string, body: object, headers: Record<string, string> = {}) =>
  call("POST", `/inventory/${encodeURIComponent(id)}/adjustments`, body, { ...admin, ...headers })

const metricValue = (text: string, series: string) => {
  const line = text.split("\n").find((l) => l.startsWith(`${series} `))
  return line === undefined ? 0 : Number(line.slice(series.length + 1))
}

layer(harness({ label: "http", env: { SERVICE_PORT: String(port), ADMIN_TOKEN: token } }), {
  excludeTestServices: true,
})("ops HTTP API", (it) => {
  it.effect("creates, reads and updates a product with exact JSON shapes", () =>
    Effect.gen(function* () {
      const created = yield* define("shape-1", { initial_quantity: 12, low_stock_threshold: 4, location: "A-1" })
      expect(created.status).toBe(200)
      expect(created.json).toEqual({
        product_id: "shape-1",
        available: 12,
        reserved: 0,
        on_hand: 12,
        low_stock_threshold: 4,
        safety_stock: 0,
        sellable: 12,
        location: "A-1",
        version: 1,
        updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/),
        // one location: the totals are its figures
        locations: [
          {
            location_id: "default",
            available: 12,
            reserved: 0,
            on_hand: 12,
            backordered: 0,
            backorder_limit: 0,
            low_stock_threshold: 4,
            safety_stock: 0,
            sellable: 12,
          },
        ],
        created: true,
      })
      // the quantity of an existing product moves only through adjustments: a different one is refused
      const moved = yield* define("shape-1", { initial_quantity: 99, location: "B-2" })
      expect(moved.status).toBe(409)
      expect(moved.json).toMatchObject({ _tag: "QuantityNotDefinedByPut", on_hand: 12, initial_quantity: 99 })
      expect(moved.json.message).toContain("/inventory/shape-1/adjustments")
      // an unknown field is refused by name, not dropped (a first guess: "quantity")
      const guessed = yield* define("shape-2", { quantity: 5 })
      expect(guessed.status).toBe(400)
      expect(guessed.text).toContain("quantity")
      expect((yield* call("GET", "/inventory/shape-2")).status).toBe(404)
      const again = yield* define("shape-1", { initial_quantity: 12, location: "B-2" })
      expect(again.json).toMatchObject({
        available: 12,
        on_hand: 12,
        location: "B-2",
        low_stock_threshold: 4,
        created: false,
      })
      const read = yield* call("GET", "/inventory/shape-1")
      expect(read.status).toBe(200)
      expect(read.json).toMatchObject({ product_id: "shape-1", available: 12, location: "B-2", version: 2 })
      expect(Object.keys(read.json).sort()).toEqual([
        "available",
        "location",
        "locations",
        "low_stock_threshold",
        "on_hand",
        "product_id",
        "reserved",
        "safety_stock",
        "sellable",
        "updated_at",
        "version",
      ])
    }),
  )

  it.effect("keeps a safety stock: shown with the sellable quantity, set and changed by PUT", () =>
    Effect.gen(function* () {
      const created = yield* define("safety-1", { initial_quantity: 12, safety_stock: 5 })
      expect(created.json).toMatchObject({ available: 12, safety_stock: 5, sellable: 7 })
      const raised = yield* define("safety-1", { safety_stock: 20 })
      expect(raised.json).toMatchObject({ available: 12, safety_stock: 20, sellable: 0, created: false })
      expect((yield* call("GET", "/inventory/safety-1")).json).toMatchObject({ safety_stock: 20, sellable: 0 })
      expect((yield* define("safety-1", { safety_stock: -1 })).status).toBe(400)
    }),
  )

  it.effect("round-trips unicode and SQL-looking product ids", () =>
    Effect.gen(function* () {
      for (const id of ["ünï-😀-商品", "x'; DROP TABLE stock; --", 'quote"d', "a/b"]) {
        expect((yield* define(id, { initial_quantity: 1 })).status, id).toBe(200)
        const read = yield* call("GET", `/inventory/${encodeURIComponent(id)}`)
        expect(read.json.product_id, id).toBe(id)
      }
    }),
  )

  it.effect("pages through every product exactly once", () =>
    Effect.gen(function* () {
      for (let i = 0; i < 7; i++) yield* define(`page-${i}`, { initial_quantity: i })
      const seen: Array<string> = []
      let cursor: string | null = null
      do {
        const page: { json: { items: Array<{ product_id: string }>; next_cursor: string | null } } = yield* call(
          "GET",
          `/inventory?limit=3${cursor ? `&cursor=${cursor}` : ""}`,
        )
        seen.push(...page.json.items.map((i) => i.product_id))
        cursor = page.json.next_cursor
      } while (cursor !== null)
      const pages = seen.filter((id) => id.startsWith("page-"))
      expect(pages).toEqual(["page-0", "page-1", "page-2", "page-3", "page-4", "page-5", "page-6"])
      expect(new Set(seen).size).toBe(seen.length)
    }),
  )

  it.effect("lists low stock lowest first, not shadowed by /inventory/{product_id}", () =>
    Effect.gen(function* () {
      yield* define("low-a", { initial_quantity: 3, low_stock_threshold: 10 })
      yield* define("low-b", { initial_quantity: 1, low_stock_threshold: 10 })
      yield* define("low-c", { initial_quantity: 50, low_stock_threshold: 10 })
      const low = yield* call("GET", "/inventory/low-stock?limit=1000")
      expect(low.status).toBe(200)
      const ids = low.json.items.map((i: { product_id: string }) => i.product_id)
      expect(ids.indexOf("low-b")).toBeLessThan(ids.indexOf("low-a"))
      expect(ids).not.toContain("low-c")
      const available = low.json.items.map((i: { available: number }) => i.available)
      expect(available).toEqual([...available].sort((a, b) => a - b))
    }),
  )

  it.effect("adjusts through the engine, once per Idempotency-Key, and publishes inventory.adjusted", () =>
    Effect.gen(function* () {
      const kafka = yield* TestKafka
      yield* define("adj-1", { initial_quantity: 10, low_stock_threshold: 0 })
      const body = { quantity: 5, adjustment_type: "restock", reason: "delivery 42", reference_id: "po-42" }
      const first = yield* adjust("adj-1", body, { "idempotency-key": "key-adj-1" })
      const retry = yield* adjust("adj-1", body, { "idempotency-key": "key-adj-1" })
      expect(first.status).toBe(201)
      expect(first.json).toEqual({
        product_id: "adj-1",
        location_id: "default",
        adjustment_type: "restock",
        quantity: 5,
        available: 15,
        reserved: 0,
        on_hand: 15,
      })
      expect(retry).toEqual(first)
      const reused = yield* adjust("adj-1", { ...body, quantity: 6 }, { "idempotency-key": "key-adj-1" })
      expect(reused.status).toBe(422)
      expect((yield* call("GET", "/inventory/adj-1")).json.available).toBe(15)
      const ledger = yield* call("GET", "/inventory/adj-1/adjustments")
      expect(ledger.json.items.map((e: { movement: string; quantity: number }) => [e.movement, e.quantity])).toEqual([
        ["adjust", 5],
        ["initial", 10],
      ])
      expect(ledger.json.items[0]).toMatchObject({
        adjustment_type: "restock",
        reason: "delivery 42",
        reference_id: "po-42",
        available_before: 10,
        available_after: 15,
      })
      const events = yield* kafka.waitFor(
        (es) => es.filter((e) => e.topic === kafka.topics.adjusted && e.key === "adj-1").length >= 2,
      )
      const restock = events.filter(
        (e) => e.topic === kafka.topics.adjusted && e.key === "adj-1" && e.body.adjustment_type === "restock",
      )
      expect(restock).toHaveLength(1)
      expect(restock[0]!.body).toEqual({
        product_id: "adj-1",
        location_id: "default",
        adjustment_type: "restock",
        quantity: 5,
        reason: "delivery 42",
        reference_id: "po-42",
        timestamp: expect.stringMatching(/Z$/),
      })
    }),
  )

  it.effect("refuses to take stock below zero with 409 and changes nothing", () =>
    Effect.gen(function* () {
      yield* define("neg-1", { initial_quantity: 3 })
      const refused = yield* adjust("neg-1", { quantity: -4, adjustment_type: "damage" })
      expect(refused.status).toBe(409)
      expect(refused.json).toMatchObject({ _tag: "InsufficientStock", product_id: "neg-1", available: 3, requested: 4 })
      expect((yield* call("GET", "/inventory/neg-1")).json).toMatchObject({ available: 3, on_hand: 3, version: 1 })
      expect((yield* call("GET", "/inventory/neg-1/adjustments")).json.items).toHaveLength(1)
    }),
  )

  it.effect("answers 404 with JSON for unknown products, orders and routes", () =>
    Effect.gen(function* () {
      for (const [method, path] of [
        ["GET", "/inventory/missing-1"],
        ["GET", "/inventory/missing-1/adjustments"],
        ["GET", "/reservations/missing-order"],
        ["GET", "/no/such/route"],
      ] as const) {
        const r = yield* call(method, path)
        expect(r.status, path).toBe(404)
        expect(r.contentType, path).toContain("application/json")
        expect(typeof r.json.message, path).toBe("string")
      }
      expect((yield* adjust("missing-1", { quantity: 1, adjustment_type: "restock" })).status).toBe(404)
    }),
  )

  it.effect("shows an order's reservation, and keeps invariants when adjustments race with orders", () =>
    Effect.gen(function* () {
      const kafka = yield* TestKafka
      yield* define("race-1", { initial_quantity: 40 })
      const before = yield* call("GET", "/metrics")
      const orders = Array.from({ length: 30 }, (_, i) => ({
        key: `race-o${i}`,
        value: JSON.stringify({ order_id: `race-o${i}`, items: [{ product_id: "race-1", quantity: 2 }] }),
      }))
      yield* Effect.all(
        [
          kafka.sendMany(kafka.topics.ordersCreated, orders),
          Effect.forEach(
            Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? 3 : -2)),
            (q) => adjust("race-1", { quantity: q, adjustment_type: "correction" }),
            { concurrency: 3 },
          ),
        ],
        { concurrency: 2 },
      )
      yield* kafka.waitFor(
        (es) =>
          new Set(
            es
              .filter(
                (e) =>
                  e.key.startsWith("race-o") &&
                  (e.topic === kafka.topics.reserved || e.topic === kafka.topics.outOfStock),
              )
              .map((e) => e.key),
          ).size === 30,
      )
      expect(yield* invariantViolations).toEqual([])
      const reservation = yield* call("GET", "/reservations/race-o0")
      expect(reservation.status).toBe(200)
      expect(reservation.json).toMatchObject({
        order_id: "race-o0",
        status: expect.stringMatching(/^(reserved|rejected)$/),
      })
      if (reservation.json.status === "reserved")
        expect(reservation.json.items).toEqual([
          {
            product_id: "race-1",
            location_id: "default",
            quantity: 2,
            held: 2,
            backordered: 0,
            fulfilled: 0,
            released: 0,
          },
        ])
      expect(reservation.json.expires_at).toBeNull()
      const after = yield* call("GET", "/metrics")
      const series = 'inventory_orders_total{outcome="reserved"}'
      expect(metricValue(after.text, series)).toBeGreaterThan(metricValue(before.text, series))
    }),
  )

  it.effect("serves Prometheus text, the docs UI and /ready", () =>
    Effect.gen(function* () {
      const metrics = yield* call("GET", "/metrics")
      expect(metrics.status).toBe(200)
      expect(metrics.contentType).toContain("text/plain")
      for (const line of metrics.text.split("\n").filter((l) => l.length > 0)) {
        expect(line).toMatch(
          /^(# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*|[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? [-+0-9.eEInfaN]+)$/,
        )
      }
      for (const name of [
        "inventory_orders_total",
        "http_requests_total",
        "inventory_outbox_backlog",
        "inventory_active_actors",
        "inventory_mailbox_depth",
        "inventory_parked_reservations",
        "inventory_unsettled_changes",
        "inventory_reservation_seconds_bucket",
        "inventory_commit_seconds_bucket",
      ]) {
        expect(metrics.text, name).toContain(name)
      }
      const docs = yield* call("GET", "/docs")
      expect(docs.status).toBe(200)
      expect(docs.text).toContain("swagger")
      const ready = yield* call("GET", "/ready")
      expect(ready.json).toEqual({ status: "ready", checks: { database: "ok", consumer: "ok", outbox: "ok" } })
    }),
  )
})
