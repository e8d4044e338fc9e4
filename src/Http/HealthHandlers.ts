import { HttpApiBuilder } from "@effect/platform"
import { Duration, Effect, Exit } from "effect"
import { AppConfig } from "../Config.js"
import { ConsumerStatus } from "../ConsumerStatus.js"
import { InventoryQueries } from "../Store/InventoryQueries.js"
import { InventoryApi } from "./Api.js"
import { NotReady } from "./Errors.js"

export const HealthHandlersLive = HttpApiBuilder.group(InventoryApi, "health", (handlers) =>
  Effect.gen(function* () {
    const queries = yield* InventoryQueries
    const consumer = yield* ConsumerStatus
    const { engine, kafka } = yield* AppConfig
    return handlers
      .handle("health", () => Effect.succeed({ status: "ok" as const }))
      .handle("ready", () =>
        Effect.gen(function* () {
          const database = yield* Effect.exit(queries.ping.pipe(Effect.timeout(Duration.seconds(2))))
          const backlog = Exit.isSuccess(database) ? yield* queries.outboxBacklog : -1
          const joined = consumer.joined()
          const unreadable = consumer.unreadable()
          const checks: Record<string, string> = {
            database: Exit.isSuccess(database) ? "ok" : "unreachable",
            consumer: unreadable ?? (joined ? "ok" : `not in its group yet (Kafka at ${kafka.brokers.join(",")})`),
            outbox:
              backlog < 0
                ? "unknown"
                : backlog <= engine.readyOutboxLimit
                  ? "ok"
                  : `backlog ${backlog} > ${engine.readyOutboxLimit}`,
          }
          const failing = Object.entries(checks).filter(([, v]) => v !== "ok")
          if (failing.length > 0) {
            return yield* new NotReady({
              message: `not ready: ${failing.map(([k, v]) => `${k} ${v}`).join("; ")}`,
              checks,
            })
          }
          return { status: "ready" as const, checks }
        }),
      )
  }),
)
