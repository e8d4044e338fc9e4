import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { freePort } from "../support/Env.js"
import { harness, invariantViolations } from "../support/Harness.js"
import { httpClient } from "../support/Http.js"
import { cancel, fulfil, of, order, reservationOf, seed, stockOf } from "../support/Orders.js"
import { TestKafka } from "../support/TestKafka.js"

const port = await freePort()
const token = "test-admin-token"
const call = httpClient(port, token)
const extend = (orderId: string, body: unknown) =>
  call("POST", `/reservations/${encodeURIComponent(orderId)}/extend`, body)

layer(
  harness({
    label: "expiry",
    env: {
      RESERVATION_TTL_SECONDS: "2",
      EXPIRY_SWEEP_MS: "100",
      SERVICE_PORT: String(port),
      ADMIN_TOKEN: token,
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "warning",
    },
  }),
  { excludeTestServices: true },
)("reservation expiry", (it) => {
  it.effect("releases a due reservation with reason expired; an extended one stays held", () =>
    Effect.gen(function* () {
      const kafka = yield* TestKafka
      yield* seed("ex-A", 10)
      yield* kafka.send(kafka.topics.ordersCreated, "o-ex", order("o-ex", [["ex-A", 3]]))
      yield* kafka.send(kafka.topics.ordersCreated, "o-kept", order("o-kept", [["ex-A", 2]]))
      yield* kafka.waitFor((es) => of(es, kafka.topics.reserved, "o-kept").length > 0)
      const before = yield* reservationOf("o-ex")
      expect(before.status).toBe("reserved")
      expect(before.expires_at).not.toBeNull()

      const extended = yield* extend("o-kept", { seconds: 3600 })
      expect(extended.status).toBe(200)
      expect(Date.parse(extended.json.expires_at)).toBeGreaterThan(Date.now() + 3_500_000)
      expect(extended.json.items).toEqual([
        { product_id: "ex-A", location_id: "default", quantity: 2, held: 2, backordered: 0, fulfilled: 0, released: 0 },
      ])

      const events = yield* kafka.waitFor((es) => of(es, kafka.topics.released, "o-ex").length > 0)
      expect(of(events, kafka.topics.released, "o-ex")[0]!.body).toMatchObject({
        order_id: "o-ex",
        items: [{ product_id: "ex-A", quantity: 3 }],
        reason: "expired",
      })
      expect((yield* reservationOf("o-ex")).status).toBe("expired")
      expect(yield* stockOf("ex-A")).toEqual({ available: 8, reserved: 2, on_hand: 10 })
      expect((yield* reservationOf("o-kept")).status).toBe("reserved")

      // an expired reservation cannot be extended, cancelled or fulfilled
      const late = yield* extend("o-ex", { seconds: 60 })
      expect(late.status).toBe(409)
      expect(late.json).toMatchObject({ _tag: "ReservationNotHeld", status: "expired" })
      yield* kafka.send(kafka.topics.ordersCancelled, "o-ex", cancel("o-ex"))
      yield* kafka.send(kafka.topics.ordersFulfilled, "o-ex", fulfil("o-ex"))
      yield* kafka.waitFor((es) => of(es, kafka.topics.fulfillmentRejected, "o-ex").length > 0)
      expect(of(kafka.events(), kafka.topics.released, "o-ex")).toHaveLength(1)
      expect(yield* invariantViolations).toEqual([])
    }),
  )

  it.effect("answers 400 for a time not in the future or a malformed body, 404 for an unknown order", () =>
    Effect.gen(function* () {
      const past = yield* extend("o-kept", { expires_at: "2020-01-01T00:00:00Z" })
      expect(past.status).toBe(400)
      expect(past.json._tag).toBe("ExpiryNotInFuture")
      expect((yield* extend("o-kept", { seconds: 10, expires_at: "2030-01-01T00:00:00Z" })).status).toBe(400)
      expect((yield* extend("o-kept", {})).status).toBe(400)
      expect((yield* extend("o-kept", { seconds: -5 })).status).toBe(400)
      expect((yield* extend("o-unknown", { seconds: 60 })).status).toBe(404)
    }),
  )

  it.effect("races with fulfilments and cancellations end with exactly one winner per order", () =>
    Effect.gen(function* () {
      const kafka = yield* TestKafka
      yield* seed("race-A", 1000)
      const ids = Array.from({ length: 60 }, (_, i) => `o-race-${i}`)
      for (const id of ids) yield* kafka.send(kafka.topics.ordersCreated, id, order(id, [["race-A", 2]]))
      yield* kafka.waitFor((es) => ids.every((id) => of(es, kafka.topics.reserved, id).length > 0))
      // about when they fall due: a third are fulfilled, a third cancelled, the rest left to expire
      yield* Effect.sleep("1900 millis")
      for (const [i, id] of ids.entries()) {
        if (i % 3 === 0) yield* kafka.send(kafka.topics.ordersFulfilled, id, fulfil(id))
        if (i % 3 === 1) yield* kafka.send(kafka.topics.ordersCancelled, id, cancel(id))
      }
      const settled = (id: string, es: ReturnType<typeof kafka.events>) =>
        of(es, kafka.topics.released, id).length +
        of(es, kafka.topics.fulfilled, id).length +
        of(es, kafka.topics.fulfillmentRejected, id).length
      yield* kafka.waitFor((es) => ids.every((id) => settled(id, es) > 0))
      yield* Effect.sleep("500 millis") // a second outcome, if there were one, would show by now
      const events = kafka.events()
      let fulfilled = 0
      for (const [i, id] of ids.entries()) {
        const released = of(events, kafka.topics.released, id)
        const shipped = of(events, kafka.topics.fulfilled, id)
        expect(released.length + shipped.length).toBe(1)
        const { status } = yield* reservationOf(id)
        if (shipped.length === 1) {
          fulfilled++
          expect(status).toBe("fulfilled")
        } else {
          expect(status).toBe(released[0]!.body.reason === "expired" ? "expired" : "released")
          // a fulfilment that lost to the expiry is refused
          if (i % 3 === 0) expect(of(events, kafka.topics.fulfillmentRejected, id)).toHaveLength(1)
          if (i % 3 === 2) expect(released[0]!.body.reason).toBe("expired")
        }
      }
      expect(yield* stockOf("race-A")).toEqual({
        available: 1000 - 2 * fulfilled,
        reserved: 0,
        on_hand: 1000 - 2 * fulfilled,
      })
      expect(yield* invariantViolations).toEqual([])
    }),
  )
})
