import { createServer } from "node:http"
import { HttpApiBuilder, HttpMiddleware } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { AppConfig } from "../Config.js"
import { InventoryApi } from "./Api.js"
import { HealthHandlersLive } from "./HealthHandlers.js"

const ApiLive = HttpApiBuilder.api(InventoryApi).pipe(Layer.provide(HealthHandlersLive))

export const HttpServerLive = Layer.unwrapEffect(
  Effect.gen(function* () {
    const { http } = yield* AppConfig
    return HttpApiBuilder.serve(HttpMiddleware.logger).pipe(
      Layer.provide(ApiLive),
      Layer.provide(NodeHttpServer.layer(createServer, { port: http.port, host: "0.0.0.0" })),
    )
  }),
)
