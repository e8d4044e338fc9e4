import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { Engine } from "../../src/Engine/Engine.js"
import { harness, invariantViolations } from "../support/Harness.js"
import { cancel, of, order, pid, seed, stockOf } from "../support/Orders.js"
import { TestKafka } from "../support/TestKafka.js"

const rfc3339Utc = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

layer(
  harness({
    label: "reservations",
    env: { MAX_MESSAGE_BYTES: "4096", LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "warning" },
  }),
  { excludeTestServices: true },
)("reservations from Kafka", (it) => {
  it.effect("reserve every line of an order and publish inventory.reserved in the wire shape", () =>
    Effect.gen(function* () {
      const kafka = yield* TestKafka
      const sql = yield* SqlClient.SqlClient
      yield* seed("happy-A", 10)
      yield* seed("happy-B", 5)
      yield* kafka.send(
        kafka.topics.ordersCreated,
        "o-happy",
        order("o-happy", [
          ["happy-A", 2],
          ["happy-B", 1],
          ["happy-A", 1],
        ]),
      )
      const events = yield* kafka.waitFor((es) => of(es, kafka.topics.reserved, "o-happy").length > 0)
      const [event] = of(events, kafka.topics.reserved, "o-happy")
      expect(Object.keys(event!.body).sort()).toEqual(["items", "order_id", "reservation_id", "reserved_at"])
      expect(event!.body.order_id).toBe("o-happy")
      // held entirely at default: the items of a shop with one location, no allocations
      expect(event!.body.items).toEqual([
        { product_id: "happy-A", quantity: 3 },
        { product_id: "happy-B", quantity: 1 },
      ])
      expect(event!.body.reserved_at).toMatch(rfc3339Utc)
      expect(event!.body.reservation_id).toMatch(uuid)
      expect(event!.eventId).toMatch(uuid)
      expect(event!.eventType).toBe("inventory.reserved")

      expect(yield* stockOf("happy-A")).toEqual({ available: 7, reserved: 3, on_hand: 10 })
      expect(yield* stockOf("happy-B")).toEqual({ available: 4, reserved: 1, on_hand: 5 })
      const [reservation] = yield* sql<{ status: string; reservation_id: string }>`
          SELECT status, reservation_id FROM reservations WHERE order_id = 'o-happy'`
      expect(reservation).toEqual({ status: "reserved", reservation_id: event!.body.reservation_id })
      const lines =
        yield* sql`SELECT product_id, quantity FROM reservation_lines WHERE order_id = 'o-happy' ORDER BY product_id`
      expect(lines).toEqual([
        { product_id: "happy-A", quantity: 3 },
        { product_id: "happy-B", quantity: 1 },
      ])
      const ledger = yield* sql`
          SELECT product_id, movement, quantity, available_before, available_after, reserved_before, reserved_after, reference_id
            FROM stock_ledger WHERE reference_id = 'o-happy' ORDER BY product_id`
      expect(ledger).toEqual([
        {
          product_id: "happy-A",
          movement: "reserve",
          quantity: 3,
          available_before: 10,
          available_after: 7,
          reserved_before: 0,
          reserved_after: 3,
          reference_id: "o-happy",
        },
        {
          product_id: "happy-B",
          movement: "reserve",
          quantity: 1,
          available_before: 5,
          available_after: 4,
          reserved_before: 0,
          reserved_after: 1,
          reference_id: "o-happy",
        },
      ])
    }),
  )

  it.effect("reserve nothing when a later line is short, and report the real available quantity", () =>
    Effect.gen(function* () {
      const kafka = yield* TestKafka
      const sql = yield* SqlClient.SqlClient
      yield* seed("short-A", 10)
      yield* seed("short-B", 1)
      yield* kafka.send(
        kafka.topics.ordersCreated,
        "o-short",
        order("o-short", [
          ["short-A", 4],
          ["short-B", 2],
        ]),
      )
      yield* kafka.send(
        kafka.topics.ordersCreated,
        "o-unknown",
        order("o-unknown", [
          ["short-A", 1],
          ["no-such-product", 1],
        ]),
      )
      const events = yield* kafka.waitFor(
        (es) =>
          of(es, kafka.topics.outOfStock, "o-short").length + of(es, kafka.topics.outOfStock, "o-unknown").length === 2,
      )
      const [short] = of(events, kafka.topics.outOfStock, "o-short")
      expect(short!.body).toEqual({
        order_id: "o-short",
        product_id: "short-B",
        requested_qty: 2,
        available_qty: 1,
        timestamp: expect.stringMatching(rfc3339Utc),
      })
      expect(of(events, kafka.topics.outOfStock, "o-unknown")[0]!.body).toMatchObject({
        product_id: "no-such-product",
        available_qty: 0,
      })
      expect(of(events, kafka.topics.reserved, "o-short")).toHaveLength(0)
      expect(yield* stockOf("short-A")).toEqual({ available: 10, reserved: 0, on_hand: 10 })
      expect(yield* stockOf("short-B")).toEqual({ available: 1, reserved: 0, on_hand: 1 })
      const ledger = yield* sql`SELECT 1 FROM stock_ledger WHERE reference_id IN ('o-short', 'o-unknown')`
      expect(ledger).toHaveLength(0)
      const [row] =
        yield* sql`SELECT status, short_product_id, requested_qty, available_qty FROM reservations WHERE order_id = 'o-short'`
      expect(row).toEqual({ status: "rejected", short_product_id: "short-B", requested_qty: 2, available_qty: 1 })
    }),
  )

  it.effect(
    "reserves only the sellable quantity: an order that fits available but not the safety stock is out of stock",
    () =>
      Effect.gen(function* () {
        const kafka = yield* TestKafka
        const engine = yield* Engine
        yield* engine.define(pid("safe-A"), { initialQuantity: 10, safetyStock: 7 })
        yield* kafka.send(kafka.topics.ordersCreated, "o-safe-1", order("o-safe-1", [["safe-A", 4]]), 0)
        yield* kafka.send(kafka.topics.ordersCreated, "o-safe-2", order("o-safe-2", [["safe-A", 3]]), 0)
        const events = yield* kafka.waitFor(
          (es) =>
            of(es, kafka.topics.outOfStock, "o-safe-1").length + of(es, kafka.topics.reserved, "o-safe-2").length === 2,
        )
        expect(of(events, kafka.topics.outOfStock, "o-safe-1")[0]!.body).toMatchObject({
          product_id: "safe-A",
          requested_qty: 4,
          available_qty: 3,
        })
        expect(yield* stockOf("safe-A")).toEqual({ available: 7, reserved: 3, on_hand: 10 })
      }),
  )

  it.effect("has one effect and one event however often a message is delivered", () =>
    Effect.gen(function* () {
      const kafka = yield* TestKafka
      yield* seed("dup-A", 10)
      for (let i = 0; i < 3; i++)
        yield* kafka.send(kafka.topics.ordersCreated, "o-dup", order("o-dup", [["dup-A", 2]]), 0)
      yield* kafka.send(kafka.topics.ordersCreated, "o-dup-marker", order("o-dup-marker", [["dup-A", 1]]), 0)
      yield* kafka.waitFor((es) => of(es, kafka.topics.reserved, "o-dup-marker").length > 0)
      expect(yield* stockOf("dup-A")).toEqual({ available: 7, reserved: 3, on_hand: 10 })

      for (let i = 0; i < 3; i++) yield* kafka.send(kafka.topics.ordersCancelled, "o-dup", cancel("o-dup"), 0)
      yield* kafka.send(kafka.topics.ordersCancelled, "o-dup-marker", cancel("o-dup-marker"), 0)
      const events = yield* kafka.waitFor((es) => of(es, kafka.topics.released, "o-dup-marker").length > 0)
      expect(of(events, kafka.topics.reserved, "o-dup")).toHaveLength(1)
      expect(of(events, kafka.topics.released, "o-dup")).toHaveLength(1)
      expect(yield* stockOf("dup-A")).toEqual({ available: 10, reserved: 0, on_hand: 10 })
    }),
  )

  it.effect("release exactly what a cancelled order holds; a cancel that comes first blocks the order", () =>
    Effect.gen(function* () {
      const kafka = yield* TestKafka
      const sql = yield* SqlClient.SqlClient
      yield* seed("cancel-A", 10)
      yield* seed("cancel-B", 10)
      yield* seed("cancel-C", 10)
      yield* kafka.send(kafka.topics.ordersCreated, "o-keep", order("o-keep", [["cancel-A", 1]]))
      yield* kafka.send(
        kafka.topics.ordersCreated,
        "o-cancel",
        order("o-cancel", [
          ["cancel-A", 2],
          ["cancel-B", 3],
        ]),
      )
      const reserved = yield* kafka.waitFor(
        (es) =>
          of(es, kafka.topics.reserved, "o-cancel").length > 0 && of(es, kafka.topics.reserved, "o-keep").length > 0,
      )
      const reservationId = of(reserved, kafka.topics.reserved, "o-cancel")[0]!.body.reservation_id
      yield* kafka.send(kafka.topics.ordersCancelled, "o-cancel", cancel("o-cancel"))
      const released = yield* kafka.waitFor((es) => of(es, kafka.topics.released, "o-cancel").length > 0)
      expect(of(released, kafka.topics.released, "o-cancel")[0]!.body).toEqual({
        reservation_id: reservationId,
        order_id: "o-cancel",
        items: [
          { product_id: "cancel-A", quantity: 2, location_id: "default" },
          { product_id: "cancel-B", quantity: 3, location_id: "default" },
        ],
        reason: "cancelled",
        released_at: expect.stringMatching(rfc3339Utc),
      })
      expect(yield* stockOf("cancel-A")).toEqual({ available: 9, reserved: 1, on_hand: 10 })
      expect(yield* stockOf("cancel-B")).toEqual({ available: 10, reserved: 0, on_hand: 10 })

      // cancel first, on partition 0, then the order and a marker behind it on partition 0
      yield* kafka.send(kafka.topics.ordersCancelled, "o-early", cancel("o-early"), 0)
      yield* Effect.gen(function* () {
        const rows = yield* sql`SELECT status FROM reservations WHERE order_id = 'o-early'`
        if (rows.length === 0) return yield* Effect.fail("not yet")
      }).pipe(Effect.retry({ times: 300, schedule: Schedule.spaced("20 millis") }), Effect.orDie)
      yield* kafka.send(kafka.topics.ordersCreated, "o-early", order("o-early", [["cancel-C", 4]]), 0)
      yield* kafka.send(kafka.topics.ordersCreated, "o-early-marker", order("o-early-marker", [["cancel-C", 1]]), 0)
      const after = yield* kafka.waitFor((es) => of(es, kafka.topics.reserved, "o-early-marker").length > 0)
      expect(after.filter((e) => e.key === "o-early")).toHaveLength(0)
      expect(yield* stockOf("cancel-C")).toEqual({ available: 9, reserved: 1, on_hand: 10 })
      const [row] = yield* sql`SELECT status FROM reservations WHERE order_id = 'o-early'`
      expect(row).toEqual({ status: "cancelled_before_create" })
    }),
  )

  it.effect("park every kind of bad message on the dead-letter topic and process what follows it", () =>
    Effect.gen(function* () {
      const kafka = yield* TestKafka
      yield* seed("dlq-A", 10)
      const bad: ReadonlyArray<readonly [string, string | object, RegExp]> = [
        ["not-json", "{this is not json", /not JSON/],
        ["wrong-schema", { hello: "world" }, /order_id/],
        ["zero-qty", order("o-zero", [["dlq-A", 0]]), /quantity/],
        ["negative-qty", order("o-neg", [["dlq-A", -3]]), /quantity/],
        ["fraction-qty", order("o-frac", [["dlq-A", 1.5]]), /quantity/],
        ["huge-qty", order("o-huge", [["dlq-A", 1e12]]), /quantity/],
        ["empty-product", order("o-empty-p", [["", 1]]), /product_id/],
        ["absurd-product", order("o-absurd", [["x".repeat(500), 1]]), /product_id/],
        ["no-lines", { order_id: "o-none", items: [] }, /items/],
        [
          "too-big",
          { order_id: "o-big", items: [{ product_id: "dlq-A", quantity: 1 }], pad: "x".repeat(5000) },
          /exceeds the limit/,
        ],
      ]
      for (const [key, value] of bad) yield* kafka.send(kafka.topics.ordersCreated, key, value, 1)
      yield* kafka.send(kafka.topics.ordersCancelled, "bad-cancel", { reason: "no order id" }, 1)
      yield* kafka.send(kafka.topics.ordersCreated, "o-after-poison", order("o-after-poison", [["dlq-A", 1]]), 1)
      const events = yield* kafka.waitFor(
        (es) =>
          of(es, kafka.topics.reserved, "o-after-poison").length > 0 &&
          es.filter((e) => e.topic === kafka.topics.deadLetter).length >= bad.length + 1,
      )
      const parked = events.filter((e) => e.topic === kafka.topics.deadLetter)
      for (const [key, value, reason] of bad) {
        const letter = parked.find((e) => e.key === key)
        expect(letter, key).toBeDefined()
        expect(letter!.headers.dlq_reason, key).toMatch(reason)
        expect(letter!.headers.dlq_source_topic).toBe(kafka.topics.ordersCreated)
        expect(letter!.headers.dlq_source_partition).toBe("1")
        expect(letter!.headers.dlq_source_offset).toMatch(/^\d+$/)
        expect(letter!.raw?.toString()).toBe(typeof value === "string" ? value : JSON.stringify(value))
      }
      expect(parked.find((e) => e.key === "bad-cancel")!.headers.dlq_source_topic).toBe(kafka.topics.ordersCancelled)
      expect(yield* stockOf("dlq-A")).toEqual({ available: 9, reserved: 1, on_hand: 10 })
    }),
  )

  it.effect("publish inventory.low_stock once when available crosses below the threshold", () =>
    Effect.gen(function* () {
      const kafka = yield* TestKafka
      yield* seed("low-A", 10, 5)
      for (const [id, q] of [
        ["o-low-1", 3],
        ["o-low-2", 3],
        ["o-low-3", 1],
      ] as const) {
        yield* kafka.send(kafka.topics.ordersCreated, id, order(id, [["low-A", q]]), 2)
      }
      yield* kafka.waitFor((es) => of(es, kafka.topics.reserved, "o-low-3").length > 0)
      const events = yield* kafka.waitFor((es) => of(es, kafka.topics.lowStock, "low-A").length > 0)
      // 10 -> 7 (not below 5) -> 4 (crosses) -> 3 (already below: no second event)
      expect(of(events, kafka.topics.lowStock, "low-A").map((e) => e.body)).toEqual([
        {
          product_id: "low-A",
          location_id: "default",
          available: 4,
          low_stock_threshold: 5,
          timestamp: expect.stringMatching(rfc3339Utc),
        },
      ])
    }),
  )

  it.effect("keep every invariant of design.md in PostgreSQL, on a load of their own", () =>
    Effect.gen(function* () {
      // its own orders (not only what earlier tests left): alone, it still has something to check
      const kafka = yield* TestKafka
      yield* seed("inv-A", 20)
      yield* seed("inv-B", 5)
      const ids = Array.from({ length: 30 }, (_, i) => `o-inv-${i}`)
      for (const [i, id] of ids.entries())
        yield* kafka.send(
          kafka.topics.ordersCreated,
          id,
          order(id, [
            ["inv-A", 1 + (i % 2)],
            ["inv-B", 1],
          ]),
        )
      const decided = yield* kafka.waitFor((es) =>
        ids.every((id) => of(es, kafka.topics.reserved, id).length + of(es, kafka.topics.outOfStock, id).length > 0),
      )
      // inv-B has room for five of the thirty: cancel one that got it
      const held = ids.find((id) => of(decided, kafka.topics.reserved, id).length > 0)!
      yield* kafka.send(kafka.topics.ordersCancelled, held, cancel(held))
      yield* kafka.waitFor((es) => of(es, kafka.topics.released, held).length > 0)
      expect(yield* stockOf("inv-B")).toEqual({ available: 1, reserved: 4, on_hand: 5 })
      expect(yield* invariantViolations).toEqual([])
    }),
  )
})
