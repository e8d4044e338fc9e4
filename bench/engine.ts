// npm run bench:engine [-- --orders 50000 --products 10000 --chunk 1000 --parallel 4]
// The engine alone, in-process (no Kafka consumer): what deciding and committing costs.
import { parseArgs } from "node:util"
import { SqlClient } from "@effect/sql"
import { ConfigProvider, Effect, Layer, Logger, LogLevel } from "effect"
import { AppConfig, AppConfigSchema } from "../src/Config.js"
import type { OrderId, ProductId } from "../src/Domain/Ids.js"
import type { OrderMessage } from "../src/Domain/Orders.js"
import { Engine } from "../src/Engine/Engine.js"
import { EngineLive } from "../src/Service.js"
import { createDatabase, databaseUrl, dropDatabase } from "./lib/Setup.js"
import { rng } from "./lib/Workload.js"

const { values } = parseArgs({
  options: {
    orders: { type: "string", default: "50000" },
    products: { type: "string", default: "10000" },
    chunk: { type: "string", default: "1000" },
    parallel: { type: "string", default: "4" },
  },
})
const ORDERS = Number(values.orders)
const PRODUCTS = Number(values.products)
const random = rng(7)
const rand = (n: number) => Math.floor(random() * n)

const dbName = `inventory_engine_${Date.now().toString(36)}`
await createDatabase(dbName)
const config = Layer.effect(
  AppConfig,
  Effect.map(
    Effect.withConfigProvider(
      AppConfigSchema,
      ConfigProvider.fromMap(
        new Map([
          ["DATABASE_URL", databaseUrl(dbName)],
          ["KAFKA_CREATE_TOPICS", "false"],
        ]),
      ),
    ),
    AppConfig.make,
  ),
)

const messages: Array<OrderMessage> = Array.from({ length: ORDERS }, (_, i) => ({
  _tag: "Created",
  order: {
    order_id: `o${i}` as OrderId,
    items: Array.from({ length: 1 + rand(5) }, () => ({
      product_id: `p${rand(PRODUCTS)}` as ProductId,
      quantity: (1 + rand(3)) as never,
    })) as never,
  },
}))

const program = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const engine = yield* Engine
  yield* sql`INSERT INTO stock (product_id, available, reserved, on_hand) SELECT 'p' || i, 20, 0, 20 FROM generate_series(0, ${PRODUCTS - 1}) i`
  const chunk = Number(values.chunk)
  const chunks = Array.from({ length: Math.ceil(ORDERS / chunk) }, (_, i) => messages.slice(i * chunk, (i + 1) * chunk))
  const started = performance.now()
  yield* Effect.forEach(chunks, (c) => engine.process(c), { concurrency: Number(values.parallel), discard: true })
  const seconds = (performance.now() - started) / 1000
  ;(globalThis as { gc?: () => void }).gc?.()
  console.log(
    `live heap after the run: ${Math.round(process.memoryUsage().heapUsed / 1e6)} MB with ${engine.activeActors()} actors`,
  )
  console.log(
    `engine only: ${ORDERS} orders in ${seconds.toFixed(2)} s = ${Math.round(ORDERS / seconds)} orders/s; rss ${Math.round(process.memoryUsage().rss / 1e6)} MB`,
  )
})

await Effect.runPromise(
  program.pipe(
    Effect.provide(EngineLive.pipe(Layer.provide(config))),
    Effect.provide(Logger.minimumLogLevel(LogLevel.Warning)),
    Effect.scoped,
  ) as Effect.Effect<void>,
)
await dropDatabase(dbName)
process.exit(0)
