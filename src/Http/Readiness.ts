import { Duration, Effect, Exit, Metric } from "effect"
import { AppConfig } from "../Config.js"
import { ConsumerStatus } from "../ConsumerStatus.js"
import { InventoryQueries } from "../Store/InventoryQueries.js"

const ready = Metric.gauge("inventory_ready", {
  description:
    "1 while GET /ready would answer 200 (database reachable, consumer in its group, outbox backlog under READY_OUTBOX_LIMIT)",
})

/** What GET /ready checks, each "ok" or why not; the same figures set `inventory_ready` for /metrics. */
export const readiness = Effect.gen(function* () {
  const queries = yield* InventoryQueries
  const consumer = yield* ConsumerStatus
  const { engine, kafka } = yield* AppConfig
  const database = yield* Effect.exit(queries.ping.pipe(Effect.timeout(Duration.seconds(2))))
  const backlog = Exit.isSuccess(database) ? yield* queries.outboxBacklog.pipe(Effect.orElseSucceed(() => -1)) : -1
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
  yield* Metric.set(ready, failing.length === 0 ? 1 : 0)
  return { checks, failing, backlog }
})
