import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { freePort } from "../support/Env.js"
import { harness } from "../support/Harness.js"
import { httpClient } from "../support/Http.js"

const port = await freePort()
const token = "test-admin-token"

const call = httpClient(port)
const admin = { authorization: `Bearer ${token}` }
const put = (id: string, body: object, headers: Record<string, string> = admin) =>
  call("PUT", `/locations/${encodeURIComponent(id)}`, body, headers)

layer(harness({ label: "locations", env: { SERVICE_PORT: String(port), ADMIN_TOKEN: token } }), {
  excludeTestServices: true,
})("locations over HTTP", (it) => {
  it.effect("has a default location from the first start on", () =>
    Effect.gen(function* () {
      const read = yield* call("GET", "/locations/default")
      expect(read.status).toBe(200)
      expect(read.json).toEqual({
        location_id: "default",
        name: "default",
        priority: 100,
        channels: [],
        active: true,
        updated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z$/),
      })
    }),
  )

  it.effect("creates a location with defaults, changes only the fields given, lists best priority first", () =>
    Effect.gen(function* () {
      const created = yield* put("east", { name: "East warehouse", priority: 10, channels: ["web"] })
      expect(created.status).toBe(200)
      expect(created.json).toMatchObject({
        location_id: "east",
        name: "East warehouse",
        priority: 10,
        channels: ["web"],
        active: true,
        created: true,
      })
      const bare = yield* put("shop-1", {})
      expect(bare.json).toMatchObject({ name: "shop-1", priority: 100, channels: [], active: true, created: true })
      const closed = yield* put("east", { active: false })
      expect(closed.json).toMatchObject({ name: "East warehouse", priority: 10, channels: ["web"], active: false })
      expect(closed.json.created).toBe(false)
      const everyChannel = yield* put("east", { channels: [] })
      expect(everyChannel.json).toMatchObject({ channels: [], active: false })
      const list = yield* call("GET", "/locations")
      expect(list.status).toBe(200)
      const ids = (list.json as Array<{ location_id: string }>).map((l) => l.location_id)
      expect(ids.indexOf("east")).toBeLessThan(ids.indexOf("default"))
      expect(ids.indexOf("default")).toBeLessThan(ids.indexOf("shop-1"))
    }),
  )

  it.effect("refuses bad input by field, unknown locations by id, and writes without the token", () =>
    Effect.gen(function* () {
      const negative = yield* put("west", { priority: -1 })
      expect(negative.status).toBe(400)
      expect(negative.text).toContain("priority")
      const unknownField = yield* put("west", { prio: 1 })
      expect(unknownField.status).toBe(400)
      expect(unknownField.text).toContain("prio")
      const blankChannel = yield* put("west", { channels: [""] })
      expect(blankChannel.status).toBe(400)
      expect(blankChannel.text).toContain("channels")
      const missing = yield* call("GET", "/locations/west")
      expect(missing.status).toBe(404)
      expect(missing.json).toMatchObject({ _tag: "LocationNotFound", location_id: "west" })
      expect((yield* put("west", {}, {})).status).toBe(401)
      expect((yield* call("GET", "/locations/west")).status).toBe(404)
    }),
  )

  it.effect(
    "keeps a product at several locations: totals and locations on read, location_id on every stock read and write",
    () =>
      Effect.gen(function* () {
        yield* put("north", { priority: 5 })
        yield* put("south", { priority: 50 })
        const unknown = yield* call("PUT", "/inventory/multi-1/locations/atlantis", { initial_quantity: 1 }, admin)
        expect(unknown.status).toBe(404)
        expect(unknown.json).toMatchObject({ _tag: "LocationNotFound", location_id: "atlantis" })
        const north = yield* call(
          "PUT",
          "/inventory/multi-1/locations/north",
          { initial_quantity: 7, safety_stock: 2 },
          admin,
        )
        expect(north.status).toBe(200)
        expect(north.json).toMatchObject({
          product_id: "multi-1",
          location_id: "north",
          on_hand: 7,
          sellable: 5,
          created: true,
        })
        yield* call("PUT", "/inventory/multi-1/locations/south", { initial_quantity: 3 }, admin)
        const all = yield* call("GET", "/inventory/multi-1")
        expect(all.status).toBe(200)
        expect(all.json).toMatchObject({ product_id: "multi-1", available: 10, reserved: 0, on_hand: 10, sellable: 8 })
        expect(all.json.location_id).toBeUndefined()
        expect(all.json.locations).toEqual([
          {
            location_id: "north",
            available: 7,
            reserved: 0,
            on_hand: 7,
            backordered: 0,
            backorder_limit: 0,
            low_stock_threshold: 0,
            safety_stock: 2,
            sellable: 5,
          },
          expect.objectContaining({ location_id: "south", available: 3, on_hand: 3, sellable: 3 }),
        ])
        const narrowed = yield* call("GET", "/inventory/multi-1?location_id=south")
        expect(narrowed.json).toMatchObject({ product_id: "multi-1", location_id: "south", on_hand: 3 })
        expect((yield* call("GET", "/inventory/multi-1?location_id=default")).status).toBe(404)
        // adjustments where the units are, and nowhere else
        const restock = yield* call(
          "POST",
          "/inventory/multi-1/adjustments",
          { adjustment_type: "restock", quantity: 4, location_id: "south" },
          admin,
        )
        expect(restock.status).toBe(201)
        expect(restock.json).toMatchObject({ location_id: "south", quantity: 4, on_hand: 7 })
        const nowhere = yield* call(
          "POST",
          "/inventory/multi-1/adjustments",
          { adjustment_type: "restock", quantity: 4, location_id: "atlantis" },
          admin,
        )
        expect(nowhere.status).toBe(404)
        expect(nowhere.json).toMatchObject({ _tag: "LocationNotFound", location_id: "atlantis" })
        const csv = yield* call(
          "POST",
          "/inventory/adjustments",
          "product_id,quantity,adjustment_type,reason,location_id\nmulti-1,-2,damage,dropped,north\nmulti-1,1,restock,,south\n",
          { ...admin, "content-type": "text/csv" },
        )
        expect(csv.status).toBe(200)
        expect(
          csv.json.items.map((i: { location_id: string; quantity: number }) => [i.location_id, i.quantity]),
        ).toEqual([
          ["north", -2],
          ["south", 1],
        ])
        const ledger = yield* call("GET", "/inventory/multi-1/adjustments?location_id=north")
        expect(
          ledger.json.items.map((e: { location_id: string; movement: string }) => [e.location_id, e.movement]),
        ).toEqual([
          ["north", "adjust"],
          ["north", "initial"],
        ])
        const after = yield* call("GET", "/inventory/multi-1")
        expect(after.json).toMatchObject({ on_hand: 13 })
        const list = yield* call("GET", "/inventory?location_id=north&limit=1000")
        expect(list.json.items.map((i: { product_id: string }) => i.product_id)).toContain("multi-1")
        const asOf = yield* call("GET", `/inventory/multi-1?location_id=south&as_of=${new Date().toISOString()}`)
        expect(asOf.json).toMatchObject({ product_id: "multi-1", location_id: "south", on_hand: 8 })
      }),
  )
})
