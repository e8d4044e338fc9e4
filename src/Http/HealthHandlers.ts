import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import type { AppConfig } from "../Config.js"
import type { ConsumerStatus } from "../ConsumerStatus.js"
import type { InventoryQueries } from "../Store/InventoryQueries.js"
import { InventoryApi } from "./Api.js"
import { NotReady } from "./Errors.js"
import { readiness } from "./Readiness.js"

export const HealthHandlersLive = HttpApiBuilder.group(InventoryApi, "health", (handlers) =>
  Effect.gen(function* () {
    const context = yield* Effect.context<InventoryQueries | ConsumerStatus | AppConfig>()
    return handlers
      .handle("health", () => Effect.succeed({ status: "ok" as const }))
      .handle("ready", () =>
        Effect.gen(function* () {
          const { checks, failing } = yield* readiness
          if (failing.length > 0) {
            return yield* new NotReady({
              message: `not ready: ${failing.map(([k, v]) => `${k} ${v}`).join("; ")}`,
              checks,
            })
          }
          return { status: "ready" as const, checks }
        }).pipe(Effect.provide(context)),
      )
  }),
)
