import { createServer } from "node:http"
import { HttpApiBuilder, HttpApiSwagger, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { AppConfig } from "../Config.js"
import { InventoryQueries } from "../Store/InventoryQueries.js"
import { AdminHandlersLive } from "./AdminHandlers.js"
import { InventoryApi } from "./Api.js"
import { AdminAuthLive } from "./Auth.js"
import { HealthHandlersLive } from "./HealthHandlers.js"
import { InventoryHandlersLive, ReservationHandlersLive } from "./InventoryHandlers.js"
import { MetricsRouteLive, requestGuard } from "./Observability.js"

const ApiLive = HttpApiBuilder.api(InventoryApi).pipe(
  Layer.provide([HealthHandlersLive, InventoryHandlersLive, ReservationHandlersLive, AdminHandlersLive]),
  Layer.provide(AdminAuthLive),
)

/** The ops HTTP server: the API, /metrics, /openapi.json and /docs. */
export const HttpServerLive = Layer.unwrapEffect(
  Effect.gen(function* () {
    const { http } = yield* AppConfig
    return HttpApiBuilder.serve(requestGuard(http.maxBodyBytes)).pipe(
      Layer.provide(HttpApiSwagger.layer({ path: "/docs" })),
      Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
      Layer.provide(MetricsRouteLive),
      Layer.provide(ApiLive),
      HttpServer.withLogAddress,
      Layer.provide(NodeHttpServer.layer(createServer, { port: http.port, host: "0.0.0.0" })),
    )
  }),
).pipe(Layer.provide(InventoryQueries.Default))
