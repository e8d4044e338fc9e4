import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import SwaggerParser from "@apidevtools/swagger-parser"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { freePort } from "../support/Env.js"
import { harness } from "../support/Harness.js"
import { httpClient } from "../support/Http.js"

// What a caller learns before writing anything: the OpenAPI document, and that admin routes stay
// closed on a service started without ADMIN_TOKEN.

const token = "test-admin-token"
const closedPort = await freePort()

layer(harness({ label: "httpnoadmin", env: { SERVICE_PORT: String(closedPort) } }), { excludeTestServices: true })(
  "ops HTTP API without ADMIN_TOKEN",
  (it) => {
    it.effect("publishes an OpenAPI document a standard validator passes, every operation described", () =>
      Effect.gen(function* () {
        const call = httpClient(closedPort)
        const openapi = yield* call("GET", "/openapi.json")
        expect(openapi.status).toBe(200)
        expect(openapi.json.openapi).toMatch(/^3\./)
        expect(Object.keys(openapi.json.paths).sort()).toEqual([
          "/admin/reconcile",
          "/health",
          "/inventory",
          "/inventory/adjustments",
          "/inventory/low-stock",
          "/inventory/{product_id}",
          "/inventory/{product_id}/adjustments",
          "/inventory/{product_id}/locations/{location_id}",
          "/inventory/{product_id}/reservations",
          "/locations",
          "/locations/{location_id}",
          "/ready",
          "/reservations/{order_id}",
          "/reservations/{order_id}/extend",
          "/transfers",
          "/transfers/{transfer_id}",
          "/transfers/{transfer_id}/receive",
        ])
        // a standard validator passes it; every operation says what it does; the version is the package's
        yield* Effect.promise(() => SwaggerParser.validate(structuredClone(openapi.json)))
        const operations = Object.values(
          openapi.json.paths as Record<string, Record<string, { summary?: string; description?: string }>>,
        ).flatMap((methods) => Object.values(methods))
        expect(operations.length).toBeGreaterThanOrEqual(14)
        for (const operation of operations) {
          expect(operation.summary, JSON.stringify(operation).slice(0, 80)).toBeTruthy()
          expect(operation.description, operation.summary).toBeTruthy()
        }
        const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
          version: string
        }
        expect(openapi.json.info.version).toBe(pkg.version)
        // and a standard linter's recommended rules pass it (Redocly CLI, pinned in devDependencies)
        const file = join(mkdtempSync(join(tmpdir(), "openapi-")), "openapi.json")
        writeFileSync(file, JSON.stringify(openapi.json))
        const lint = yield* Effect.async<{ code: number; output: string }>((resume) => {
          execFile(
            "npx",
            ["--no-install", "redocly", "lint", "--extends", "recommended", "--format", "stylish", file],
            (error, stdout, stderr) =>
              resume(
                Effect.succeed({
                  code: error ? ((error.code as number | undefined) ?? 1) : 0,
                  output: stdout + stderr,
                }),
              ),
          )
        })
        expect(lint.output).not.toMatch(/\berror\b/i)
        expect(lint.code, lint.output).toBe(0)
      }),
    )

    it.effect("closes admin routes with 403 whatever the token, and still serves reads", () =>
      Effect.gen(function* () {
        for (const headers of [{}, { authorization: `Bearer ${token}` }, { authorization: "Bearer anything" }]) {
          const r = yield* Effect.promise(() =>
            fetch(`http://127.0.0.1:${closedPort}/inventory/closed-1`, {
              method: "PUT",
              headers: { "content-type": "application/json", ...headers },
              body: JSON.stringify({ initial_quantity: 5 }),
            }).then(async (res) => ({ status: res.status, json: await res.json() })),
          )
          expect(r.status).toBe(403)
          expect((r.json as { _tag: string })._tag).toBe("Forbidden")
        }
        const read = yield* Effect.promise(() =>
          fetch(`http://127.0.0.1:${closedPort}/inventory/closed-1`).then((res) => res.status),
        )
        expect(read).toBe(404)
      }),
    )
  },
)
