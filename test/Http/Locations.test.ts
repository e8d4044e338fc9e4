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
})
