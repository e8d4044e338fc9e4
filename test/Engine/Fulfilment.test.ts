import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { harness, invariantViolations } from "../support/Harness.js"
import { cancel, fulfil, of, order, reservationOf, seed, stockOf } from "../support/Orders.js"
import { TestKafka } from "../support/TestKafka.js"

const rfc3339Utc = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/

layer(harness({ label: "fulfil", env: { LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "warning" } }), {
  excludeTestServices: true,
})("fulfilment from Kafka", (it) => {
  /** Sends an order and waits until it is reserved. */
  const reserved = (orderId: string, items: ReadonlyArray<readonly [string, number]>) =>
    Effect.gen(function* () {
      const kafka = yield* TestKafka
      yield* kafka.send(kafka.topics.ordersCreated, orderId, order(orderId, items))
      const events = yield* kafka.waitFor((es) => of(es, kafka.topics.reserved, orderId).length > 0)
      return of(events, kafka.topics.reserved, orderId)[0]!.body.reservation_id as string
    })

  it.effect(
    "ships a whole order: reserved and on hand go down, a fulfil ledger row per line, inventory.fulfilled",
    () =>
      Effect.gen(function* () {
        const kafka = yield* TestKafka
        const sql = yield* SqlClient.SqlClient
        yield* seed("fw-A", 10)
        yield* seed("fw-B", 5)
        const reservationId = yield* reserved("o-fw", [
          ["fw-A", 3],
          ["fw-B", 2],
        ])
        yield* kafka.send(kafka.topics.ordersFulfilled, "o-fw", fulfil("o-fw"))
        const events = yield* kafka.waitFor((es) => of(es, kafka.topics.fulfilled, "o-fw").length > 0)
        const [event] = of(events, kafka.topics.fulfilled, "o-fw")
        expect(event!.eventType).toBe("inventory.fulfilled")
        expect(Object.keys(event!.body).sort()).toEqual([
          "fulfilled_at",
          "fulfillment_id",
          "items",
          "order_id",
          "remaining",
          "reservation_id",
        ])
        expect(event!.body).toMatchObject({
          reservation_id: reservationId,
          order_id: "o-fw",
          fulfillment_id: "o-fw", // defaults to the order id
          items: [
            { product_id: "fw-A", quantity: 3 },
            { product_id: "fw-B", quantity: 2 },
          ],
          remaining: [],
        })
        expect(event!.body.fulfilled_at).toMatch(rfc3339Utc)
        expect(yield* stockOf("fw-A")).toEqual({ available: 7, reserved: 0, on_hand: 7 })
        expect(yield* stockOf("fw-B")).toEqual({ available: 3, reserved: 0, on_hand: 3 })
        const ledger = yield* sql<{ product_id: string; quantity: number; reference_id: string }>`
        SELECT product_id, quantity, reference_id FROM stock_ledger WHERE movement = 'fulfil' AND reference_id = 'o-fw'
         ORDER BY product_id`
        expect(ledger).toEqual([
          { product_id: "fw-A", quantity: 3, reference_id: "o-fw" },
          { product_id: "fw-B", quantity: 2, reference_id: "o-fw" },
        ])
        const reservation = yield* reservationOf("o-fw")
        expect(reservation.status).toBe("fulfilled")
        expect(reservation.lines).toEqual([
          { product_id: "fw-A", quantity: 3, fulfilled: 3, released: 0 },
          { product_id: "fw-B", quantity: 2, fulfilled: 2, released: 0 },
        ])

        // redelivered: nothing changes, nothing is published again (a later order's outcome marks the point)
        yield* kafka.send(kafka.topics.ordersFulfilled, "o-fw", fulfil("o-fw"))
        yield* kafka.send(kafka.topics.ordersFulfilled, "o-fw", fulfil("o-fw", "o-fw", [["fw-A", 1]]))
        yield* reserved("o-fw-after", [["fw-A", 1]])
        yield* kafka.send(kafka.topics.ordersFulfilled, "o-fw", fulfil("o-fw"))
        yield* kafka.send(kafka.topics.ordersCancelled, "o-fw", cancel("o-fw"))
        yield* reserved("o-fw-after-2", [["fw-B", 1]])
        expect(of(kafka.events(), kafka.topics.fulfilled, "o-fw")).toHaveLength(1)
        expect(of(kafka.events(), kafka.topics.fulfillmentRejected, "o-fw")).toHaveLength(0)
        expect(of(kafka.events(), kafka.topics.released, "o-fw")).toHaveLength(0)
        expect(yield* stockOf("fw-A")).toEqual({ available: 6, reserved: 1, on_hand: 7 })
        expect(yield* invariantViolations).toEqual([])
      }),
  )

  it.effect("ships part of an order; a cancellation afterwards releases only the remainder", () =>
    Effect.gen(function* () {
      const kafka = yield* TestKafka
      yield* seed("fp-A", 10)
      yield* seed("fp-B", 10)
      yield* reserved("o-fp", [
        ["fp-A", 4],
        ["fp-B", 2],
      ])
      yield* kafka.send(kafka.topics.ordersFulfilled, "o-fp", fulfil("o-fp", "ship-1", [["fp-A", 1]]))
      const first = yield* kafka.waitFor((es) => of(es, kafka.topics.fulfilled, "o-fp").length > 0)
      expect(of(first, kafka.topics.fulfilled, "o-fp")[0]!.body).toMatchObject({
        fulfillment_id: "ship-1",
        items: [{ product_id: "fp-A", quantity: 1 }],
        remaining: [
          { product_id: "fp-A", quantity: 3 },
          { product_id: "fp-B", quantity: 2 },
        ],
      })
      expect((yield* reservationOf("o-fp")).status).toBe("partially_fulfilled")
      yield* kafka.send(
        kafka.topics.ordersFulfilled,
        "o-fp",
        fulfil("o-fp", "ship-2", [
          ["fp-A", 1],
          ["fp-B", 2],
        ]),
      )
      yield* kafka.waitFor((es) => of(es, kafka.topics.fulfilled, "o-fp").length > 1)
      yield* kafka.send(kafka.topics.ordersCancelled, "o-fp", cancel("o-fp"))
      const events = yield* kafka.waitFor((es) => of(es, kafka.topics.released, "o-fp").length > 0)
      expect(of(events, kafka.topics.released, "o-fp")[0]!.body).toMatchObject({
        items: [{ product_id: "fp-A", quantity: 2 }],
        reason: "cancelled",
      })
      expect(yield* stockOf("fp-A")).toEqual({ available: 8, reserved: 0, on_hand: 8 })
      expect(yield* stockOf("fp-B")).toEqual({ available: 8, reserved: 0, on_hand: 8 })
      const reservation = yield* reservationOf("o-fp")
      expect(reservation.status).toBe("released")
      expect(reservation.lines).toEqual([
        { product_id: "fp-A", quantity: 4, fulfilled: 2, released: 2 },
        { product_id: "fp-B", quantity: 2, fulfilled: 2, released: 0 },
      ])
      expect(yield* invariantViolations).toEqual([])
    }),
  )

  it.effect(
    "refuses what does not fit the reservation, changing nothing: not_reserved, exceeds_held, unknown_line",
    () =>
      Effect.gen(function* () {
        const kafka = yield* TestKafka
        yield* seed("fr-A", 10)
        yield* reserved("o-fr", [["fr-A", 2]])
        yield* kafka.send(kafka.topics.ordersFulfilled, "o-nobody", fulfil("o-nobody"))
        yield* kafka.send(kafka.topics.ordersFulfilled, "o-fr", fulfil("o-fr", "too-many", [["fr-A", 3]]))
        yield* kafka.send(kafka.topics.ordersFulfilled, "o-fr", fulfil("o-fr", "stranger", [["fr-Z", 1]]))
        const events = yield* kafka.waitFor(
          (es) =>
            of(es, kafka.topics.fulfillmentRejected, "o-nobody").length > 0 &&
            of(es, kafka.topics.fulfillmentRejected, "o-fr").length > 1,
        )
        expect(of(events, kafka.topics.fulfillmentRejected, "o-nobody")[0]!.body).toMatchObject({
          order_id: "o-nobody",
          fulfillment_id: "o-nobody",
          reason: "not_reserved",
        })
        const rejected = of(events, kafka.topics.fulfillmentRejected, "o-fr").map((e) => e.body)
        expect(rejected).toContainEqual(
          expect.objectContaining({
            fulfillment_id: "too-many",
            reason: "exceeds_held",
            product_id: "fr-A",
            requested_qty: 3,
            held_qty: 2,
          }),
        )
        expect(rejected).toContainEqual(
          expect.objectContaining({ fulfillment_id: "stranger", reason: "unknown_line", product_id: "fr-Z" }),
        )
        expect(yield* stockOf("fr-A")).toEqual({ available: 8, reserved: 2, on_hand: 10 })
        expect((yield* reservationOf("o-fr")).status).toBe("reserved")
        // a refused fulfilment redelivered is not refused twice; an order created after its fulfilment was
        // refused is still reserved normally
        yield* kafka.send(kafka.topics.ordersFulfilled, "o-nobody", fulfil("o-nobody"))
        yield* reserved("o-nobody", [["fr-A", 1]])
        expect(of(kafka.events(), kafka.topics.fulfillmentRejected, "o-nobody")).toHaveLength(1)
        expect(yield* invariantViolations).toEqual([])
      }),
  )
})
