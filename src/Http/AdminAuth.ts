import { HttpApiMiddleware, HttpApiSecurity } from "@effect/platform"
import { Schema } from "effect"
import { Forbidden, Unauthorized } from "./Errors.js"

/** The admin routes' guard: a bearer token (Auth.ts checks it). */
export class AdminAuth extends HttpApiMiddleware.Tag<AdminAuth>()("AdminAuth", {
  failure: Schema.Union(Unauthorized, Forbidden),
  security: { bearer: HttpApiSecurity.bearer },
}) {}

/** Who may call an admin route, said in its description. */
export const admin = (description: string) =>
  `${description} Admin: needs \`Authorization: Bearer <ADMIN_TOKEN>\` (401 without or with a wrong one, 403 when the service has no token).`
