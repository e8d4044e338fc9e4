import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { InventoryApi } from "./Api.js"

export const HealthHandlersLive = HttpApiBuilder.group(InventoryApi, "health", (handlers) =>
  handlers.handle("health", () => Effect.succeed({ status: "ok" as const })),
)
