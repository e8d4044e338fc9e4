import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { freePort } from "../support/Env.js"
import { harness, invariantViolations } from "../support/Harness.js"
import { httpClient } from "../support/Http.js"
import { of } from "../support/Orders.js"
import { TestKafka } from "../support/TestKafka.js"

const port = await freePort()
const token = "test-admin-token"
const call = httpClient(port)
const admin = { authorization: `Bearer ${token}` }

layer(harness({ label: "transfers", env: { SERVICE_PORT: String(port), ADMIN_TOKEN: token } }), {
  excludeTestServices: true,
})("transfers between locations", (it) => {
  it.effect("sends units in transit, receives them in parts at the destination, and keeps every book", () =>
    Effect.gen(function* () {
      const kafka = yield* TestKafka
      yield* call("PUT", "/locations/hub", { priority: 10 }, admin)
      yield* call("PUT", "/locations/store-1", { priority: 20 }, admin)
      yield* call("PUT", "/inventory/tr-A/locations/hub", { initial_quantity: 10 }, admin)
      const body = { product_id: "tr-A", from_location_id: "hub", to_location_id: "store-1", quantity: 6 }
      const sent = yield* call("POST", "/transfers", body, { ...admin, "idempotency-key": "tr-key-1" })
      expect(sent.status).toBe(201)
      expect(sent.json).toMatchObject({
        product_id: "tr-A",
        from_location_id: "hub",
        to_location_id: "store-1",
        quantity: 6,
        received: 0,
        in_transit: 6,
        status: "in_transit",
      })
      const id = sent.json.transfer_id as string
      // a retry with the key is the same transfer, not a second one
      const retried = yield* call("POST", "/transfers", body, { ...admin, "idempotency-key": "tr-key-1" })
      expect(retried.json.transfer_id).toBe(id)
      // off the source at once: 4 left there, none at the destination yet
      const during = yield* call("GET", "/inventory/tr-A")
      expect(during.json).toMatchObject({ on_hand: 4, available: 4 })
      const first = yield* call("POST", `/transfers/${id}/receive`, { quantity: 2 }, admin)
      expect(first.status).toBe(200)
      expect(first.json).toMatchObject({ received: 2, in_transit: 4, status: "in_transit" })
      const tooMany = yield* call("POST", `/transfers/${id}/receive`, { quantity: 5 }, admin)
      expect(tooMany.status).toBe(409)
      expect(tooMany.json).toMatchObject({ _tag: "NotInTransit", in_transit: 4, requested: 5 })
      const rest = yield* call("POST", `/transfers/${id}/receive`, {}, admin)
      expect(rest.json).toMatchObject({ received: 6, in_transit: 0, status: "received" })
      expect((yield* call("GET", `/transfers/${id}`)).json).toMatchObject({ status: "received" })
      const after = yield* call("GET", "/inventory/tr-A")
      expect(after.json).toMatchObject({ on_hand: 10, available: 10 })
      expect(
        after.json.locations.map((l: { location_id: string; on_hand: number }) => [l.location_id, l.on_hand]),
      ).toEqual([
        ["hub", 4],
        ["store-1", 6],
      ])
      const ledger = yield* call("GET", "/inventory/tr-A/adjustments")
      expect(
        ledger.json.items.map((e: { location_id: string; movement: string; quantity: number }) => [
          e.location_id,
          e.movement,
          e.quantity,
        ]),
      ).toEqual([
        ["store-1", "transfer_in", 4],
        ["store-1", "transfer_in", 2],
        ["hub", "transfer_out", -6],
        ["hub", "initial", 10],
      ])
      const events = yield* kafka.waitFor((es) => of(es, kafka.topics.transferred, "tr-A").length >= 3)
      expect(of(events, kafka.topics.transferred, "tr-A").map((e) => [e.body.status, e.body.quantity])).toEqual([
        ["in_transit", 6],
        ["received", 2],
        ["received", 4],
      ])
      expect(yield* invariantViolations).toEqual([])
    }),
  )

  it.effect("refuses bad transfers by field: same place, unknown location, more than available, unknown transfer", () =>
    Effect.gen(function* () {
      yield* call("PUT", "/locations/hub", { priority: 10 }, admin)
      yield* call("PUT", "/inventory/tr-B/locations/hub", { initial_quantity: 3 }, admin)
      const same = yield* call(
        "POST",
        "/transfers",
        { product_id: "tr-B", from_location_id: "hub", to_location_id: "hub", quantity: 1 },
        admin,
      )
      expect(same.status).toBe(400)
      expect(same.text).toContain("to_location_id")
      const nowhere = yield* call(
        "POST",
        "/transfers",
        { product_id: "tr-B", from_location_id: "hub", to_location_id: "atlantis", quantity: 1 },
        admin,
      )
      expect(nowhere.status).toBe(404)
      expect(nowhere.json).toMatchObject({ _tag: "LocationNotFound", location_id: "atlantis" })
      const short = yield* call(
        "POST",
        "/transfers",
        { product_id: "tr-B", from_location_id: "hub", to_location_id: "default", quantity: 4 },
        admin,
      )
      expect(short.status).toBe(409)
      expect(short.json).toMatchObject({ _tag: "InsufficientStock", available: 3, requested: 4 })
      const unknown = yield* call("POST", `/transfers/${crypto.randomUUID()}/receive`, {}, admin)
      expect(unknown.status).toBe(404)
      expect(unknown.json).toMatchObject({ _tag: "TransferNotFound" })
      expect((yield* call("GET", "/inventory/tr-B")).json).toMatchObject({ on_hand: 3 })
    }),
  )

  it.effect("the reconciliation finds transfers that disagree with the ledger", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* call("PUT", "/locations/hub", { priority: 10 }, admin)
      yield* call("PUT", "/inventory/tr-C/locations/hub", { initial_quantity: 5 }, admin)
      const sent = yield* call(
        "POST",
        "/transfers",
        { product_id: "tr-C", from_location_id: "hub", to_location_id: "default", quantity: 2 },
        admin,
      )
      const clean = yield* call("POST", "/admin/reconcile", {}, admin)
      expect(clean.json.transfer_drift).toEqual([])
      // behind the service's back: a unit marked received that never arrived
      yield* sql`UPDATE transfers SET received = 1 WHERE transfer_id = ${sent.json.transfer_id}::uuid`
      const report = yield* call("POST", "/admin/reconcile", {}, admin)
      expect(report.json.transfer_drift).toEqual([
        { product_id: "tr-C", sent: 2, received: 1, ledger_out: 2, ledger_in: 0 },
      ])
    }),
  )
})
