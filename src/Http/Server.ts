import { createServer } from "node:http"
import { HttpApiBuilder, HttpApiSwagger, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { AppConfig } from "../Config.js"
import { InventoryQueries } from "../Store/InventoryQueries.js"
import { Locations } from "../Store/Locations.js"
import { AdminHandlersLive } from "./AdminHandlers.js"
import { InventoryApi } from "./Api.js"
import { AdminAuthLive } from "./Auth.js"
import { HealthHandlersLive } from "./HealthHandlers.js"
import { InventoryHandlersLive, ReservationHandlersLive } from "./InventoryHandlers.js"
import { LocationAdminHandlersLive, LocationHandlersLive } from "./LocationHandlers.js"
import { MetricsRouteLive, requestGuard } from "./Observability.js"
import { TransferAdminHandlersLive, TransferHandlersLive } from "./TransferHandlers.js"

const ApiLive = HttpApiBuilder.api(InventoryApi).pipe(
  Layer.provide([
    HealthHandlersLive,
    InventoryHandlersLive,
    ReservationHandlersLive,
    AdminHandlersLive,
    LocationHandlersLive,
    LocationAdminHandlersLive,
    TransferHandlersLive,
    TransferAdminHandlersLive,
  ]),
  Layer.provide(AdminAuthLive),
)

/** The ops HTTP server: the API, /metrics, /openapi.json and /docs. */
export const HttpServerLive = Layer.unwrapEffect(
  Effect.gen(function* () {
    const { http } = yield* AppConfig
    // HttpApiBuilder.serve, except that the guard wraps the app itself (a server middleware
    // only sees responses that were already written), so router errors become JSON too.
    const serve = HttpApiBuilder.httpApp.pipe(
      Effect.map((app) => HttpServer.serve(requestGuard(http.maxBodyBytes)(app))),
      Layer.unwrapEffect,
      Layer.provide([HttpApiBuilder.Router.Live, HttpApiBuilder.Middleware.layer]),
    )
    return serve.pipe(
      Layer.provide(HttpApiSwagger.layer({ path: "/docs" })),
      Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
      Layer.provide(MetricsRouteLive),
      Layer.provide(ApiLive),
      HttpServer.withLogAddress,
      Layer.provide(NodeHttpServer.layer(createServer, { port: http.port, host: "0.0.0.0" })),
    )
  }),
).pipe(Layer.provide([InventoryQueries.Default, Locations.Default]))
