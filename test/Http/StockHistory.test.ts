import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { freePort } from "../support/Env.js"
import { harness, invariantViolations } from "../support/Harness.js"
import { httpClient } from "../support/Http.js"
import { cancel, fulfil, of, order } from "../support/Orders.js"
import { TestKafka } from "../support/TestKafka.js"

const port = await freePort()
const token = "test-admin-token"
const admin = { authorization: `Bearer ${token}` }
const call = httpClient(port)

/** A moment strictly between what came before and what comes after (commit times are microseconds). */
const instant = Effect.promise(async () => {
  await new Promise((r) => setTimeout(r, 20))
  const at = new Date().toISOString()
  await new Promise((r) => setTimeout(r, 20))
  return at
})

layer(harness({ label: "history", env: { SERVICE_PORT: String(port), ADMIN_TOKEN: token } }), {
  excludeTestServices: true,
})("operations: who holds a product, what it had when, cycle counts", (it) => {
  it.effect("lists the reservations holding a product, oldest first, page by page", () =>
    Effect.gen(function* () {
      const kafka = yield* TestKafka
      expect((yield* call("PUT", "/inventory/wh-P", { initial_quantity: 50 }, admin)).status).toBe(200)
      for (const [id, qty] of [
        ["wh-1", 2],
        ["wh-2", 3],
        ["wh-3", 4],
        ["wh-4", 5],
      ] as const) {
        yield* kafka.send(kafka.topics.ordersCreated, id, order(id, [["wh-P", qty]]))
        yield* kafka.waitFor((es) => of(es, kafka.topics.reserved, id).length > 0)
      }
      yield* kafka.send(kafka.topics.ordersCancelled, "wh-2", cancel("wh-2"))
      yield* kafka.send(kafka.topics.ordersFulfilled, "wh-3", fulfil("wh-3", "s1", [["wh-P", 1]]))
      yield* kafka.send(kafka.topics.ordersFulfilled, "wh-4", fulfil("wh-4"))
      yield* kafka.waitFor(
        (es) =>
          of(es, kafka.topics.released, "wh-2").length > 0 &&
          of(es, kafka.topics.fulfilled, "wh-3").length > 0 &&
          of(es, kafka.topics.fulfilled, "wh-4").length > 0,
      )
      const all = yield* call("GET", "/inventory/wh-P/reservations")
      expect(all.status).toBe(200)
      expect(
        all.json.items.map((h: { order_id: string; quantity: number; status: string }) => [
          h.order_id,
          h.quantity,
          h.status,
        ]),
      ).toEqual([
        ["wh-1", 2, "reserved"],
        ["wh-3", 3, "partially_fulfilled"],
      ])
      expect(all.json.items[0].age_seconds).toBeGreaterThanOrEqual(0)
      expect(all.json.next_cursor).toBeNull()
      const first = yield* call("GET", "/inventory/wh-P/reservations?limit=1")
      expect(first.json.items.map((h: { order_id: string }) => h.order_id)).toEqual(["wh-1"])
      const second = yield* call("GET", `/inventory/wh-P/reservations?limit=1&cursor=${first.json.next_cursor}`)
      expect(second.json.items.map((h: { order_id: string }) => h.order_id)).toEqual(["wh-3"])
      expect(second.json.next_cursor).toBeNull()
      expect((yield* call("GET", "/inventory/wh-nothing/reservations")).status).toBe(404)
      expect(yield* invariantViolations).toEqual([])
    }),
  )

  it.effect("answers what a product had at a given time, and the ledger between two times", () =>
    Effect.gen(function* () {
      const kafka = yield* TestKafka
      const before = yield* instant
      yield* call("PUT", "/inventory/asof-P", { initial_quantity: 10 }, admin)
      const created = yield* instant
      yield* call("POST", "/inventory/asof-P/adjustments", { quantity: 5, adjustment_type: "restock" }, admin)
      const restocked = yield* instant
      yield* kafka.send(kafka.topics.ordersCreated, "asof-o", order("asof-o", [["asof-P", 3]]))
      yield* kafka.waitFor((es) => of(es, kafka.topics.reserved, "asof-o").length > 0)
      const reserved = yield* instant
      const at = (t: string) => call("GET", `/inventory/asof-P?as_of=${encodeURIComponent(t)}`)
      expect((yield* at(created)).json).toEqual({
        product_id: "asof-P",
        available: 10,
        reserved: 0,
        on_hand: 10,
        as_of: created,
      })
      expect((yield* at(restocked)).json).toMatchObject({ available: 15, reserved: 0, on_hand: 15 })
      expect((yield* at(reserved)).json).toMatchObject({ available: 12, reserved: 3, on_hand: 15 })
      const early = yield* at(before)
      expect(early.status).toBe(404)
      expect(early.json.message).toContain("existed at")
      expect((yield* call("GET", "/inventory/asof-P?as_of=yesterday")).status).toBe(400)
      const window = yield* call(
        "GET",
        `/inventory/asof-P/adjustments?since=${encodeURIComponent(created)}&until=${encodeURIComponent(restocked)}`,
      )
      expect(window.json.items.map((r: { movement: string; quantity: number }) => [r.movement, r.quantity])).toEqual([
        ["adjust", 5],
      ])
      expect((yield* call("GET", "/inventory/asof-P/adjustments?since=not-a-time")).status).toBe(400)
    }),
  )

  it.effect("counts stock: on hand set to the counted figure, compare-and-set refused once stock moved", () =>
    Effect.gen(function* () {
      const kafka = yield* TestKafka
      yield* call("PUT", "/inventory/cc-P", { initial_quantity: 20 }, admin)
      yield* kafka.send(kafka.topics.ordersCreated, "cc-o", order("cc-o", [["cc-P", 4]]))
      yield* kafka.waitFor((es) => of(es, kafka.topics.reserved, "cc-o").length > 0)
      const count = (body: object) => call("POST", "/inventory/cc-P/adjustments", body, admin)
      // 17 counted where the books say 20: 3 written off, what is reserved stays reserved
      const counted = yield* count({ adjustment_type: "count", counted_on_hand: 17, expected_on_hand: 20 })
      expect(counted.status).toBe(201)
      expect(counted.json).toEqual({
        product_id: "cc-P",
        location_id: "default",
        adjustment_type: "count",
        quantity: -3,
        available: 13,
        reserved: 4,
        on_hand: 17,
      })
      const stale = yield* count({ adjustment_type: "count", counted_on_hand: 15, expected_on_hand: 20 })
      expect(stale.status).toBe(409)
      expect(stale.json).toMatchObject({ _tag: "StockMovedSinceCount", on_hand: 17, expected_on_hand: 20 })
      // without expected_on_hand the count simply applies; a count below what is reserved is refused
      expect((yield* count({ adjustment_type: "count", counted_on_hand: 18 })).json).toMatchObject({ quantity: 1 })
      expect((yield* count({ adjustment_type: "count", counted_on_hand: 3 })).status).toBe(409)
      // malformed: both or neither figure, a count figure on another type
      expect((yield* count({ adjustment_type: "count", counted_on_hand: 5, quantity: 1 })).status).toBe(400)
      expect((yield* count({ adjustment_type: "count" })).status).toBe(400)
      expect((yield* count({ adjustment_type: "restock", counted_on_hand: 5 })).status).toBe(400)
      const ledger = yield* call("GET", "/inventory/cc-P/adjustments?limit=2")
      expect(
        ledger.json.items.map((r: { adjustment_type: string; quantity: number }) => [r.adjustment_type, r.quantity]),
      ).toEqual([
        ["count", 1],
        ["count", -3],
      ])
      expect(yield* invariantViolations).toEqual([])
    }),
  )

  it.effect("as of instants captured during a recorded load, the answer is the row as it was then", () =>
    Effect.gen(function* () {
      const kafka = yield* TestKafka
      const sql = yield* SqlClient.SqlClient
      yield* call("PUT", "/inventory/asof-L", { initial_quantity: 200 }, admin)
      const captured: Array<{ at: string; row: unknown }> = []
      for (let burst = 0; burst < 6; burst++) {
        const ids = Array.from({ length: 5 }, (_, i) => `asof-l${burst}-${i}`)
        for (const [i, id] of ids.entries())
          yield* kafka.send(kafka.topics.ordersCreated, id, order(id, [["asof-L", 1 + (i % 2)]]))
        if (burst % 2 === 1)
          yield* kafka.send(kafka.topics.ordersCancelled, `asof-l${burst - 1}-0`, cancel(`asof-l${burst - 1}-0`))
        yield* call("POST", "/inventory/asof-L/adjustments", { quantity: burst + 1, adjustment_type: "restock" }, admin)
        // quiet before the capture: every order and cancellation of the burst is decided
        yield* kafka.waitFor(
          (es) =>
            ids.every((id) => of(es, kafka.topics.reserved, id).length > 0) &&
            (burst % 2 === 0 || of(es, kafka.topics.released, `asof-l${burst - 1}-0`).length > 0),
        )
        yield* Effect.sleep(`${5 + ((burst * 7) % 25)} millis`)
        const [row] = yield* sql<{ at: string; available: number; reserved: number; on_hand: number }>`
          SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at, available, reserved, on_hand
            FROM stock WHERE product_id = 'asof-L'`
        const { at, ...figures } = row!
        captured.push({ at, row: figures })
      }
      for (const { at, row } of captured) {
        const answer = yield* call("GET", `/inventory/asof-L?as_of=${encodeURIComponent(at)}`)
        expect({
          available: answer.json.available,
          reserved: answer.json.reserved,
          on_hand: answer.json.on_hand,
        }).toEqual(row)
      }
    }),
  )
})
