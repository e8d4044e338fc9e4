import { SqlClient } from "@effect/sql"
import { Context, Effect, Layer } from "effect"
import { type AppConfig, topicEnv, topicsWithSuffix } from "../../src/Config.js"
import { ConsumerStatus } from "../../src/ConsumerStatus.js"
import { Engine } from "../../src/Engine/Engine.js"
import { DeadLetters } from "../../src/Kafka/DeadLetters.js"
import { KafkaClient } from "../../src/Kafka/KafkaClient.js"
import { OrderConsumer } from "../../src/Kafka/OrderConsumer.js"
import { OutboxRelay } from "../../src/Kafka/OutboxRelay.js"
import { EngineLive, ServiceLive } from "../../src/Service.js"
import { DatabaseLive } from "../../src/Store/Database.js"
import { Outbox } from "../../src/Store/Outbox.js"
import type { StockStore } from "../../src/Store/StockStore.js"
import { testBrokers, uniqueSuffix } from "./Env.js"
import { testConfigLayer } from "./TestConfig.js"
import { freshDatabaseUrl } from "./TestDatabase.js"
import { TestKafka } from "./TestKafka.js"

export interface HarnessOptions {
  readonly label: string
  readonly env?: Record<string, string>
}

/** The environment a child process of the service needs to join this suite's database, topics and group. */
export class SuiteEnv extends Context.Tag("SuiteEnv")<SuiteEnv, Record<string, string>>() {}

/** `layer` on the suite's own database, topics and consumer group, plus a TestKafka to drive it. */
const suite = <ROut, E>({ label, env = {} }: HarnessOptions, layer: Layer.Layer<ROut, E, AppConfig>) =>
  Layer.unwrapScoped(
    Effect.gen(function* () {
      const suffix = `${label}_${uniqueSuffix()}`
      const url = yield* freshDatabaseUrl(label)
      const topics = topicsWithSuffix(suffix)
      const vars = {
        KAFKA_BROKERS: testBrokers.join(","),
        DATABASE_URL: url,
        KAFKA_GROUP_ID: `inventory-test-${suffix}`,
        KAFKA_CREATE_TOPICS: "false",
        SERVICE_PORT: "0",
        DATABASE_MAX_CONNECTIONS: "4",
        ...topicEnv(topics),
        ...env,
      }
      // the topics must exist before the service subscribes
      const kafka = Layer.merge(TestKafka.layer(topics), Layer.succeed(SuiteEnv, vars))
      // the suite's own connections have a name of their own: a fault that cuts the service's spares them
      const own = testConfigLayer({ ...vars, DATABASE_APPLICATION_NAME: "inventory-tests" })
      return Layer.provideMerge(layer.pipe(Layer.provideMerge(own)), kafka)
    }),
  )

/** The whole service in-process: consumer, HTTP, engine. */
export const harness = (options: HarnessOptions) => suite(options, ServiceLive)

/** The engine with its store and outbox relay, driven directly. */
export const engineHarness = (options: HarnessOptions) => suite(options, EngineLive)

/** The engine over a store the test wraps, with its outbox relay and dead letters. */
const engineWith = (store: Layer.Layer<StockStore, never, SqlClient.SqlClient | AppConfig>) =>
  Layer.mergeAll(
    Engine.DefaultWithoutDependencies.pipe(Layer.provide(store), Layer.provide(Outbox.Default)),
    OutboxRelay.Default,
    DeadLetters.Default,
  ).pipe(Layer.provideMerge(KafkaClient.Default), Layer.provideMerge(DatabaseLive))

/** The engine over a store the test wraps (to inject failures), driven directly. */
export const engineHarnessWith = (
  options: HarnessOptions,
  store: Layer.Layer<StockStore, never, SqlClient.SqlClient | AppConfig>,
) => suite(options, engineWith(store))

/** The order consumer over that engine: the Kafka side fed by real messages, the store wrapped by the test. */
export const consumerHarnessWith = (
  options: HarnessOptions,
  store: Layer.Layer<StockStore, never, SqlClient.SqlClient | AppConfig>,
) =>
  suite(
    options,
    OrderConsumer.Default.pipe(Layer.provideMerge(ConsumerStatus.Default), Layer.provideMerge(engineWith(store))),
  )

/** Only the migrated database and topics: the service runs as child processes. */
export const processHarness = (options: HarnessOptions) => suite(options, DatabaseLive)

/**
 * Waits until the engine is at rest: no mail, nothing parked, no change in flight, nothing queued for
 * or in the committer, twice in a row 50 ms apart (a sweep that found something due is over). Only
 * then may memory be compared with PostgreSQL: while a commit is in flight memory is ahead of it, by
 * design. Gives up after 10 s (the comparison after it then shows what was still moving).
 */
export const engineAtRest = Effect.gen(function* () {
  const engine = yield* Engine
  const idle = () => {
    const c = engine.census()
    return c.mail + c.parked + c.unsettled + c.queued + c.committing === 0
  }
  let quiet = 0
  for (let waited = 0; quiet < 2 && waited < 10_000; waited += 50) {
    yield* Effect.sleep("50 millis")
    quiet = idle() ? quiet + 1 : 0
  }
})

/**
 * Stock rows and the invariants of design.md, checked in PostgreSQL per product and location; and the
 * ledger replays to the rows: each product's rows at a location, in id order, start where the row before ended, and the last one
 * ends at the stock row; on hand moves only by the initial quantity, adjustments and fulfilments
 * (invariant 6), and what the ledger shipped is what the reservation lines say was fulfilled.
 */
export const invariantViolations = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  return yield* sql<{ product_id: string; problem: string }>`
    SELECT s.product_id, 'reserved ' || s.reserved || ', backordered ' || s.backordered || ' (limit '
           || s.backorder_limit || ') at ' || s.location_id || ' but active lines there reserve '
           || COALESCE(l.held, 0) || ' and promise ' || COALESCE(l.promised, 0) AS problem
      FROM stock s
      LEFT JOIN (SELECT rl.product_id, rl.location_id,
                        sum(rl.quantity - rl.fulfilled - rl.released - rl.backordered) AS held,
                        sum(rl.backordered) AS promised
                   FROM reservation_lines rl JOIN reservations r USING (order_id)
                  WHERE r.status IN ('reserved', 'partially_fulfilled') GROUP BY rl.product_id, rl.location_id) l
        USING (product_id, location_id)
     WHERE s.reserved <> COALESCE(l.held, 0)
        -- invariant 7: promises add up and stay within the limit
        OR s.backordered <> COALESCE(l.promised, 0) OR s.backordered > s.backorder_limit
        OR s.available < 0 OR s.reserved < 0 OR s.on_hand <> s.available + s.reserved
    UNION ALL
    SELECT product_id, 'ledger row ' || id || ' (' || movement || ' ' || quantity || ') starts from '
           || available_before || '/' || reserved_before || ', the row before ended at ' || prev_a || '/' || prev_r
      FROM (SELECT *, lag(available_after) OVER w AS prev_a, lag(reserved_after) OVER w AS prev_r
              FROM stock_ledger WINDOW w AS (PARTITION BY product_id, location_id ORDER BY id)) g
     WHERE prev_a IS NOT NULL AND (available_before <> prev_a OR reserved_before <> prev_r)
    UNION ALL
    SELECT s.product_id, 'the ledger at ' || s.location_id || ' ends at ' || g.available_after || '/' || g.reserved_after
           || ', the row is ' || s.available || '/' || s.reserved
      FROM stock s
      JOIN (SELECT DISTINCT ON (product_id, location_id) * FROM stock_ledger ORDER BY product_id, location_id, id DESC) g
        USING (product_id, location_id)
     WHERE g.available_after <> s.available OR g.reserved_after <> s.reserved
    UNION ALL
    SELECT product_id, 'ledger row ' || id || ' (' || movement || ' ' || quantity || ') changes on hand by '
           || (available_after + reserved_after - available_before - reserved_before)
      FROM stock_ledger
     WHERE available_after + reserved_after - available_before - reserved_before
           <> CASE WHEN movement = 'fulfil' THEN -quantity
                   WHEN movement IN ('adjust', 'initial', 'transfer_out', 'transfer_in') THEN quantity ELSE 0 END
    UNION ALL
    -- invariant 9: what left a location for another is in transit or arrived, as the transfers say
    SELECT product_id, 'transfers sent ' || coalesce(sent, 0) || ' and received ' || coalesce(received, 0)
           || ', the ledger ' || coalesce(ledger_out, 0) || ' out and ' || coalesce(ledger_in, 0) || ' in'
      FROM (SELECT product_id, sum(quantity) AS sent, sum(received) AS received FROM transfers GROUP BY product_id) t
      FULL JOIN (SELECT product_id, -sum(quantity) FILTER (WHERE movement = 'transfer_out') AS ledger_out,
                        sum(quantity) FILTER (WHERE movement = 'transfer_in') AS ledger_in
                   FROM stock_ledger WHERE movement IN ('transfer_out', 'transfer_in') GROUP BY product_id) g
     USING (product_id)
     WHERE coalesce(sent, 0) <> coalesce(ledger_out, 0) OR coalesce(received, 0) <> coalesce(ledger_in, 0)
    UNION ALL
    SELECT product_id, 'lines record ' || COALESCE(lines, 0) || ' fulfilled at ' || location_id || ', the ledger '
           || COALESCE(shipped, 0)
      FROM (SELECT product_id, location_id, sum(fulfilled) AS lines FROM reservation_lines
             GROUP BY product_id, location_id) l
      FULL JOIN (SELECT product_id, location_id, sum(quantity) AS shipped FROM stock_ledger WHERE movement = 'fulfil'
                  GROUP BY product_id, location_id) g USING (product_id, location_id)
     WHERE COALESCE(lines, 0) <> COALESCE(shipped, 0)
    UNION ALL
    SELECT r.order_id, r.status || ' with ' || t.held || ' held, ' || t.shipped || ' shipped, ' || t.released
           || ' released of ' || t.quantity
      FROM reservations r
      CROSS JOIN LATERAL (SELECT coalesce(sum(quantity), 0) AS quantity, coalesce(sum(fulfilled), 0) AS shipped,
                                 coalesce(sum(released), 0) AS released,
                                 coalesce(sum(quantity - fulfilled - released), 0) AS held
                            FROM reservation_lines l WHERE l.order_id = r.order_id) t
     WHERE NOT inventory_status_agrees(r.status, t.quantity, t.shipped, t.released, t.held)`
})
