import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Engine } from "../../src/Engine/Engine.js"
import { harness, invariantViolations } from "../support/Harness.js"
import { cancel, of, pid } from "../support/Orders.js"
import { TestKafka } from "../support/TestKafka.js"

// Stock at more than one location, end to end over Kafka: allocation over the candidates, fulfilment
// and release where the units were taken, refusals that name the line (design.md, "Stock locations").

const at = (productId: string, locationId: string, quantity: number) =>
  Effect.flatMap(Engine, (engine) => engine.define(pid(productId), { initialQuantity: quantity }, locationId))

const levels = (productId: string) =>
  Effect.flatMap(
    SqlClient.SqlClient,
    (sql) => sql<{ location_id: string; available: number; reserved: number; on_hand: number }>`
      SELECT location_id, available, reserved, on_hand FROM stock WHERE product_id = ${productId} ORDER BY location_id`,
  )

/** Locations east (priority 10) and west (20), known to the engine's routing at once. */
const eastAndWest = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`INSERT INTO locations (location_id, name, priority) VALUES ('east', 'East', 10), ('west', 'West', 20)
             ON CONFLICT (location_id) DO NOTHING`
  yield* Effect.flatMap(Engine, (engine) => engine.refreshLocations)
})

type Item = { product_id: string; quantity: number; location_id?: string }
const created = (orderId: string, items: ReadonlyArray<Item>, channel?: string) => ({
  order_id: orderId,
  items,
  ...(channel !== undefined ? { channel } : {}),
})
const fulfilled = (orderId: string, fulfillmentId: string, items: ReadonlyArray<Item>) => ({
  order_id: orderId,
  fulfillment_id: fulfillmentId,
  items,
})

layer(harness({ label: "locations", env: { LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "warning" } }), {
  excludeTestServices: true,
})("stock at several locations", (it) => {
  it.effect("splits an order over two locations, fulfils from each, and releases the rest where it was taken", () =>
    Effect.gen(function* () {
      const kafka = yield* TestKafka
      yield* eastAndWest
      yield* at("split-A", "east", 3)
      yield* at("split-A", "west", 5)
      // single_first: no location can serve 6 alone, so the line splits, best priority first
      yield* kafka.send(
        kafka.topics.ordersCreated,
        "o-split",
        created("o-split", [{ product_id: "split-A", quantity: 6 }]),
      )
      const reserved = yield* kafka.waitFor((es) => of(es, kafka.topics.reserved, "o-split").length > 0)
      expect(of(reserved, kafka.topics.reserved, "o-split")[0]!.body.items).toEqual([
        {
          product_id: "split-A",
          quantity: 6,
          allocations: [
            { location_id: "east", quantity: 3 },
            { location_id: "west", quantity: 3 },
          ],
        },
      ])
      // from the named location
      yield* kafka.send(
        kafka.topics.ordersFulfilled,
        "o-split",
        fulfilled("o-split", "f-west", [{ product_id: "split-A", quantity: 2, location_id: "west" }]),
      )
      const first = yield* kafka.waitFor((es) => of(es, kafka.topics.fulfilled, "o-split").length > 0)
      expect(of(first, kafka.topics.fulfilled, "o-split")[0]!.body).toMatchObject({
        items: [{ product_id: "split-A", quantity: 2, location_id: "west" }],
        remaining: [
          { product_id: "split-A", quantity: 3, location_id: "east" },
          { product_id: "split-A", quantity: 1, location_id: "west" },
        ],
      })
      // without a location: from the allocation's best-priority location first
      yield* kafka.send(
        kafka.topics.ordersFulfilled,
        "o-split",
        fulfilled("o-split", "f-any", [{ product_id: "split-A", quantity: 2 }]),
      )
      const second = yield* kafka.waitFor((es) => of(es, kafka.topics.fulfilled, "o-split").length > 1)
      expect(of(second, kafka.topics.fulfilled, "o-split")[1]!.body.items).toEqual([
        { product_id: "split-A", quantity: 2, location_id: "east" },
      ])
      // the rest goes back where it was taken
      yield* kafka.send(kafka.topics.ordersCancelled, "o-split", cancel("o-split"))
      const released = yield* kafka.waitFor((es) => of(es, kafka.topics.released, "o-split").length > 0)
      expect(of(released, kafka.topics.released, "o-split")[0]!.body.items).toEqual([
        { product_id: "split-A", quantity: 1, location_id: "east" },
        { product_id: "split-A", quantity: 1, location_id: "west" },
      ])
      expect(yield* levels("split-A")).toEqual([
        { location_id: "east", available: 1, reserved: 0, on_hand: 1 },
        { location_id: "west", available: 3, reserved: 0, on_hand: 3 },
      ])
      expect(yield* invariantViolations).toEqual([])
    }),
  )

  it.effect("serves a whole order from one location when one can (single_first), and honours a pin", () =>
    Effect.gen(function* () {
      const kafka = yield* TestKafka
      yield* eastAndWest
      yield* at("one-A", "east", 1)
      yield* at("one-A", "west", 5)
      yield* at("one-B", "east", 5)
      yield* at("one-B", "west", 5)
      yield* kafka.send(
        kafka.topics.ordersCreated,
        "o-one",
        created("o-one", [
          { product_id: "one-A", quantity: 2 },
          { product_id: "one-B", quantity: 2 },
        ]),
      )
      yield* kafka.send(
        kafka.topics.ordersCreated,
        "o-pin",
        created("o-pin", [{ product_id: "one-B", quantity: 1, location_id: "east" }]),
      )
      const events = yield* kafka.waitFor(
        (es) => of(es, kafka.topics.reserved, "o-one").length > 0 && of(es, kafka.topics.reserved, "o-pin").length > 0,
      )
      // east is first by priority but cannot serve one-A in full: west serves both lines
      expect(of(events, kafka.topics.reserved, "o-one")[0]!.body.items).toEqual([
        { product_id: "one-A", quantity: 2, allocations: [{ location_id: "west", quantity: 2 }] },
        { product_id: "one-B", quantity: 2, allocations: [{ location_id: "west", quantity: 2 }] },
      ])
      expect(of(events, kafka.topics.reserved, "o-pin")[0]!.body.items).toEqual([
        { product_id: "one-B", quantity: 1, allocations: [{ location_id: "east", quantity: 1 }] },
      ])
      expect(yield* invariantViolations).toEqual([])
    }),
  )

  it.effect("refuses an order pinned to an unknown location as out of stock on that line, not a dead letter", () =>
    Effect.gen(function* () {
      const kafka = yield* TestKafka
      yield* at("pin-A", "default", 5)
      yield* kafka.send(
        kafka.topics.ordersCreated,
        "o-nowhere",
        created("o-nowhere", [
          { product_id: "pin-A", quantity: 1 },
          { product_id: "pin-A", quantity: 2, location_id: "atlantis" },
        ]),
      )
      const events = yield* kafka.waitFor((es) => of(es, kafka.topics.outOfStock, "o-nowhere").length > 0)
      expect(of(events, kafka.topics.outOfStock, "o-nowhere")[0]!.body).toMatchObject({
        product_id: "pin-A",
        requested_qty: 2,
        available_qty: 0,
      })
      expect(of(events, kafka.topics.deadLetter, "o-nowhere")).toEqual([])
      expect(yield* levels("pin-A")).toEqual([{ location_id: "default", available: 5, reserved: 0, on_hand: 5 }])
    }),
  )

  it.effect("rejects a fulfilment that asks a location for more than the order holds there", () =>
    Effect.gen(function* () {
      const kafka = yield* TestKafka
      yield* eastAndWest
      yield* at("ask-A", "east", 2)
      yield* at("ask-A", "west", 2)
      yield* kafka.send(kafka.topics.ordersCreated, "o-ask", created("o-ask", [{ product_id: "ask-A", quantity: 3 }]))
      yield* kafka.waitFor((es) => of(es, kafka.topics.reserved, "o-ask").length > 0)
      yield* kafka.send(
        kafka.topics.ordersFulfilled,
        "o-ask",
        fulfilled("o-ask", "f-too-much", [{ product_id: "ask-A", quantity: 2, location_id: "west" }]),
      )
      const events = yield* kafka.waitFor((es) => of(es, kafka.topics.fulfillmentRejected, "o-ask").length > 0)
      expect(of(events, kafka.topics.fulfillmentRejected, "o-ask")[0]!.body).toMatchObject({
        reason: "exceeds_held",
        product_id: "ask-A",
        location_id: "west",
        requested_qty: 2,
        held_qty: 1,
      })
      expect(yield* invariantViolations).toEqual([])
    }),
  )
})
