import { SqlClient } from "@effect/sql"
import { Effect, Layer } from "effect"
import { EngineLive, ServiceLive } from "../../src/Service.js"
import { uniqueSuffix } from "./Env.js"
import { testConfigLayer } from "./TestConfig.js"
import { freshDatabaseUrl } from "./TestDatabase.js"
import { suiteTopics, TestKafka, topicEnv } from "./TestKafka.js"

export interface HarnessOptions {
  readonly label: string
  /** the whole service (consumer + HTTP) or just the engine with its store and relay */
  readonly consume?: boolean
  readonly env?: Record<string, string>
}

/** The real service on its own database, topics and consumer group, plus a TestKafka to drive it. */
export const harness = ({ label, consume = true, env = {} }: HarnessOptions) =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      const suffix = `${label}_${uniqueSuffix()}`
      const url = yield* freshDatabaseUrl(label)
      const topics = suiteTopics(suffix)
      const config = testConfigLayer({
        DATABASE_URL: url,
        KAFKA_GROUP_ID: `inventory-test-${suffix}`,
        KAFKA_CREATE_TOPICS: "false",
        SERVICE_PORT: "0",
        DATABASE_MAX_CONNECTIONS: "4",
        ...topicEnv(topics),
        ...env,
      })
      const kafka = TestKafka.layer(topics)
      const service = (consume ? ServiceLive : EngineLive).pipe(Layer.provideMerge(config))
      // the topics must exist before the service subscribes
      return Layer.provideMerge(service, kafka)
    }),
  )

/** Stock rows and the invariants of design.md, checked in PostgreSQL. */
export const invariantViolations = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  return yield* sql<{ product_id: string; problem: string }>`
    SELECT s.product_id, 'reserved ' || s.reserved || ' but active lines sum to ' || COALESCE(l.held, 0) AS problem
      FROM stock s
      LEFT JOIN (SELECT rl.product_id, sum(rl.quantity) AS held
                   FROM reservation_lines rl JOIN reservations r USING (order_id)
                  WHERE r.status = 'reserved' GROUP BY rl.product_id) l USING (product_id)
     WHERE s.reserved <> COALESCE(l.held, 0)
        OR s.available < 0 OR s.reserved < 0 OR s.on_hand <> s.available + s.reserved`
})
