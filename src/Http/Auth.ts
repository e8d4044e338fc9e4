import { createHash, timingSafeEqual } from "node:crypto"
import { HttpServerRequest } from "@effect/platform"
import { Effect, Layer, Option, Redacted } from "effect"
import { AppConfig } from "../Config.js"
import { AdminAuth } from "./AdminAuth.js"
import { Forbidden, Unauthorized } from "./Errors.js"

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest()

/**
 * Admin routes: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time. The header is
 * read here because the bearer scheme alone accepts a missing header (as "") and any prefix.
 * Without ADMIN_TOKEN the routes are closed (403): secure by default.
 */
export const AdminAuthLive = Layer.effect(
  AdminAuth,
  Effect.gen(function* () {
    const { http } = yield* AppConfig
    const expected = Option.map(http.adminToken, (token) => digest(Redacted.value(token)))
    if (Option.isNone(expected)) yield* Effect.logWarning("ADMIN_TOKEN is not set: admin routes answer 403")
    return {
      bearer: () =>
        Effect.gen(function* () {
          if (Option.isNone(expected)) {
            return yield* new Forbidden({ message: "admin routes are disabled: ADMIN_TOKEN is not set on the server" })
          }
          const request = yield* HttpServerRequest.HttpServerRequest
          const header = request.headers.authorization
          if (header === undefined || header.trim() === "") {
            return yield* new Unauthorized({ message: "missing Authorization header: expected 'Bearer <token>'" })
          }
          const match = /^Bearer +(\S+)$/i.exec(header.trim())
          if (match === null)
            return yield* new Unauthorized({ message: "malformed Authorization header: expected 'Bearer <token>'" })
          if (!timingSafeEqual(digest(match[1]!), expected.value))
            return yield* new Unauthorized({ message: "invalid token" })
        }),
    }
  }),
)
