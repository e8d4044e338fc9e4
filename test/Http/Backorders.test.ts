import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { freePort } from "../support/Env.js"
import { harness, invariantViolations } from "../support/Harness.js"
import { httpClient } from "../support/Http.js"
import { cancel, fulfil, of, reservationOf } from "../support/Orders.js"
import { TestKafka } from "../support/TestKafka.js"

// Backorders end to end (design.md, "Stock locations and backorders"): a location promises units
// beyond what it has within its limit; a received transfer fills the promises oldest order first
// (`inventory.backorder_filled`); promised units cannot ship; a cancellation drops them.

const port = await freePort()
const token = "test-admin-token"
const call = httpClient(port)
const admin = { authorization: `Bearer ${token}` }

const created = (orderId: string, quantity: number) => ({
  order_id: orderId,
  items: [{ product_id: "bo-A", quantity, location_id: "shop" }],
})

layer(
  harness({
    label: "backorders",
    env: { SERVICE_PORT: String(port), ADMIN_TOKEN: token, RESERVATION_TTL_SECONDS: "600" },
  }),
  { excludeTestServices: true },
)("backorders", (it) => {
  it.effect(
    "promises within the limit, fills them oldest order first from a received transfer, ships only reserved units",
    () =>
      Effect.gen(function* () {
        const kafka = yield* TestKafka
        yield* call("PUT", "/locations/shop", { priority: 10 }, admin)
        yield* call("PUT", "/locations/depot", { priority: 50 }, admin)
        const negative = yield* call("PUT", "/inventory/bo-A/locations/shop", { backorder_limit: -1 }, admin)
        expect(negative.status).toBe(400)
        expect(negative.text).toContain("backorder_limit")
        const defined = yield* call(
          "PUT",
          "/inventory/bo-A/locations/shop",
          { initial_quantity: 2, backorder_limit: 5 },
          admin,
        )
        expect(defined.json).toMatchObject({ created: true })
        yield* call("PUT", "/inventory/bo-A/locations/depot", { initial_quantity: 10 }, admin)

        // the oldest order takes the 2 there are and is promised 2; the next is promised all it asks
        yield* kafka.send(kafka.topics.ordersCreated, "bo-1", created("bo-1", 4))
        yield* kafka.waitFor((es) => of(es, kafka.topics.reserved, "bo-1").length > 0)
        yield* kafka.send(kafka.topics.ordersCreated, "bo-2", created("bo-2", 2))
        yield* kafka.send(kafka.topics.ordersCreated, "bo-3", created("bo-3", 2))
        const decided = yield* kafka.waitFor(
          (es) =>
            of(es, kafka.topics.reserved, "bo-2").length > 0 && of(es, kafka.topics.outOfStock, "bo-3").length > 0,
        )
        expect(of(decided, kafka.topics.reserved, "bo-1")[0]!.body.items).toEqual([
          {
            product_id: "bo-A",
            quantity: 4,
            backordered: 2,
            allocations: [{ location_id: "shop", quantity: 4, backordered: 2 }],
          },
        ])
        expect(of(decided, kafka.topics.reserved, "bo-2")[0]!.body.items).toMatchObject([
          { quantity: 2, backordered: 2 },
        ])
        // 4 promised of 5: a third order of 2 is over the limit
        expect(of(decided, kafka.topics.outOfStock, "bo-3")[0]!.body).toMatchObject({
          requested_qty: 2,
          available_qty: 0,
        })
        expect((yield* reservationOf("bo-1")).expires_at).toBeNull()
        const shop = (yield* call("GET", "/inventory/bo-A?location_id=shop")).json
        expect(shop.locations).toEqual([
          expect.objectContaining({
            location_id: "shop",
            available: 0,
            reserved: 2,
            backordered: 4,
            backorder_limit: 5,
          }),
        ])
        // who holds it, and each order's lines, say what is only promised
        const holders = (yield* call("GET", "/inventory/bo-A/reservations?location_id=shop")).json.items
        expect(
          holders.map((h: { order_id: string; quantity: number; backordered: number }) => [
            h.order_id,
            h.quantity,
            h.backordered,
          ]),
        ).toEqual([
          ["bo-1", 4, 2],
          ["bo-2", 2, 2],
        ])
        expect((yield* call("GET", "/reservations/bo-1")).json.items).toEqual([
          expect.objectContaining({ location_id: "shop", quantity: 4, held: 4, backordered: 2 }),
        ])
        const below = yield* call("PUT", "/inventory/bo-A/locations/shop", { backorder_limit: 3 }, admin)
        expect(below.status).toBe(409)
        expect(below.json).toMatchObject({ _tag: "BackorderLimitBelowPromised", backordered: 4, backorder_limit: 3 })

        // promised units do not ship
        yield* kafka.send(kafka.topics.ordersFulfilled, "bo-1", fulfil("bo-1", "f-early", [["bo-A", 3]]))
        const rejected = yield* kafka.waitFor((es) => of(es, kafka.topics.fulfillmentRejected, "bo-1").length > 0)
        expect(of(rejected, kafka.topics.fulfillmentRejected, "bo-1")[0]!.body).toMatchObject({
          reason: "backordered",
          product_id: "bo-A",
          requested_qty: 3,
          held_qty: 2,
        })

        // 3 arrive from the depot: bo-1's 2 first, then 1 of bo-2's
        const sent = yield* call(
          "POST",
          "/transfers",
          { product_id: "bo-A", from_location_id: "depot", to_location_id: "shop", quantity: 3 },
          admin,
        )
        yield* call("POST", `/transfers/${sent.json.transfer_id}/receive`, {}, admin)
        const filled = yield* kafka.waitFor(
          (es) =>
            of(es, kafka.topics.backorderFilled, "bo-1").length > 0 &&
            of(es, kafka.topics.backorderFilled, "bo-2").length > 0,
        )
        expect(of(filled, kafka.topics.backorderFilled, "bo-1")[0]!.body).toMatchObject({
          order_id: "bo-1",
          items: [{ product_id: "bo-A", location_id: "shop", quantity: 2 }],
        })
        expect(of(filled, kafka.topics.backorderFilled, "bo-2")[0]!.body.items).toEqual([
          { product_id: "bo-A", location_id: "shop", quantity: 1 },
        ])
        // fully reserved now: its time to live starts
        expect((yield* reservationOf("bo-1")).expires_at).not.toBeNull()
        expect((yield* reservationOf("bo-2")).expires_at).toBeNull()

        // a cancellation returns what was reserved and drops what was promised
        yield* kafka.send(kafka.topics.ordersCancelled, "bo-2", cancel("bo-2"))
        const released = yield* kafka.waitFor((es) => of(es, kafka.topics.released, "bo-2").length > 0)
        expect(of(released, kafka.topics.released, "bo-2")[0]!.body.items).toEqual([
          { product_id: "bo-A", quantity: 1, location_id: "shop", backordered: 1 },
        ])
        yield* kafka.send(kafka.topics.ordersFulfilled, "bo-1", fulfil("bo-1", "f-all"))
        yield* kafka.waitFor((es) => of(es, kafka.topics.fulfilled, "bo-1").length > 0)
        const after = (yield* call("GET", "/inventory/bo-A?location_id=shop")).json
        expect(after.locations).toEqual([
          expect.objectContaining({ location_id: "shop", available: 1, reserved: 0, on_hand: 1, backordered: 0 }),
        ])
        expect(yield* invariantViolations).toEqual([])

        // the reconciliation checks promises: a line changed behind the service's back is found and repaired
        yield* kafka.send(kafka.topics.ordersCreated, "bo-4", created("bo-4", 3))
        yield* kafka.waitFor((es) => of(es, kafka.topics.reserved, "bo-4").length > 0)
        const sql = yield* SqlClient.SqlClient
        yield* sql`UPDATE reservation_lines SET backordered = backordered - 1 WHERE order_id = 'bo-4'`
        const found = yield* call("POST", "/admin/reconcile", {}, admin)
        expect(found.json.drift).toEqual([
          expect.objectContaining({
            product_id: "bo-A",
            location_id: "shop",
            problems: ["reserved 1, active reservations hold 2", "backordered 2, active reservations promise 1"],
          }),
        ])
        const repaired = yield* call("POST", "/admin/reconcile", { repair: true }, admin)
        expect(repaired.json.repaired).toEqual(["bo-A@shop"])
        expect((yield* call("POST", "/admin/reconcile", {}, admin)).json.drift).toEqual([])
        expect(yield* invariantViolations).toEqual([])
      }),
  )
})
