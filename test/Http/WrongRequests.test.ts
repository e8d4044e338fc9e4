import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { freePort } from "../support/Env.js"
import { harness } from "../support/Harness.js"
import { httpClient } from "../support/Http.js"

// Requests a caller gets wrong: each answered with a status and a JSON body that names the problem,
// and nothing changed.

const port = await freePort()
const token = "test-admin-token"
const call = httpClient(port)
const admin = { authorization: `Bearer ${token}` }
const adjust = (id: string, body: object) =>
  call("POST", `/inventory/${encodeURIComponent(id)}/adjustments`, body, admin)

layer(harness({ label: "httpbad", env: { SERVICE_PORT: String(port), ADMIN_TOKEN: token } }), {
  excludeTestServices: true,
})("ops HTTP API, wrong requests", (it) => {
  it.effect.each([
    ["GET", "/inventory?limit=0", undefined, "limit"],
    ["GET", "/inventory?limit=1001", undefined, "limit"],
    ["GET", "/inventory?limit=abc", undefined, "limit"],
    ["GET", "/inventory/low-stock?limit=-1", undefined, "limit"],
    ["POST", "/inventory/bad-1/adjustments", { quantity: 0, adjustment_type: "restock" }, "quantity"],
    ["POST", "/inventory/bad-1/adjustments", { quantity: 1.5, adjustment_type: "restock" }, "quantity"],
    ["POST", "/inventory/bad-1/adjustments", { quantity: 1 }, "adjustment_type"],
    ["POST", "/inventory/bad-1/adjustments", { quantity: 1, adjustment_type: "magic" }, "adjustment_type"],
    ["POST", "/inventory/bad-1/adjustments", "{not json", ""],
    ["PUT", "/inventory/bad-1", { initial_quantity: -1 }, "initial_quantity"],
  ] as const)("answers 400 naming the problem: %s %s", ([method, path, body, field]) =>
    Effect.gen(function* () {
      const r = yield* call(method, path, body, admin)
      expect(r.status).toBe(400)
      expect(r.contentType).toContain("application/json")
      if (field !== "") expect(JSON.stringify(r.json.issues ?? r.json)).toContain(field)
    }),
  )

  it.effect("caps request bodies (413)", () =>
    Effect.gen(function* () {
      const r = yield* adjust("cap-1", { quantity: 1, adjustment_type: "restock", reason: "x".repeat(2_200_000) })
      expect(r.status).toBe(413)
      expect(r.json._tag).toBe("PayloadTooLarge")
    }),
  )

  it.effect.each([
    ["no header", {}],
    ["empty header", { authorization: "" }],
    ["empty bearer", { authorization: "Bearer " }],
    ["wrong scheme", { authorization: `Basic ${token}` }],
    ["wrong token", { authorization: "Bearer not-the-token" }],
    ["token without scheme", { authorization: token }],
  ] as const)("answers 401 to admin writes with %s", ([, headers]) =>
    Effect.gen(function* () {
      const r = yield* call(
        "POST",
        "/inventory/auth-1/adjustments",
        { quantity: 1, adjustment_type: "restock" },
        headers,
      )
      expect(r.status).toBe(401)
      expect(r.json._tag).toBe("Unauthorized")
      const put = yield* call("PUT", "/inventory/auth-1", { initial_quantity: 1 }, headers)
      expect(put.status).toBe(401)
      expect((yield* call("GET", "/inventory/auth-1")).status).toBe(404)
    }),
  )
})
