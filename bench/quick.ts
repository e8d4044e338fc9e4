// npm run bench:quick [-- --orders 50000 --products 10000 --partitions 6]
// Pre-produces orders of 1-5 lines, starts the real service as a child process, and times
// until every order's outcome event is on Kafka. Invariants are checked in PostgreSQL after.
import { parseArgs } from "node:util"
import pg from "pg"
import { topicEnv, topicsWithSuffix } from "../src/Config.js"
import {
  createDatabase,
  createTopics,
  databaseUrl,
  deleteTopics,
  dropDatabase,
  ensureBroker,
  kafka,
  producer,
  startService,
  withAdminDb,
} from "./lib/Setup.js"
import { rng } from "./lib/Workload.js"

ensureBroker()
const { values } = parseArgs({
  options: {
    orders: { type: "string", default: "50000" },
    products: { type: "string", default: "10000" },
    partitions: { type: "string", default: "6" },
    stock: { type: "string", default: "20" },
    keep: { type: "boolean", default: false },
  },
})
const ORDERS = Number(values.orders)
const PRODUCTS = Number(values.products)
const PARTITIONS = Number(values.partitions)

const suffix = `bench_${Date.now().toString(36)}`
const topics = topicsWithSuffix(suffix)
const dbName = `inventory_${suffix}`
const url = databaseUrl(dbName)
const log = (...args: Array<unknown>) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...args)

const random = rng(42)
const rand = (n: number) => Math.floor(random() * n)

await createDatabase(dbName)
await createTopics(Object.values(topics), PARTITIONS)
const env = {
  ...topicEnv(topics),
  DATABASE_URL: url,
  KAFKA_GROUP_ID: `inventory-${suffix}`,
  KAFKA_CREATE_TOPICS: "false",
  SERVICE_PORT: String(20000 + rand(20000)),
}

// Migrate (the service does it at start) and seed stock: most orders succeed, some products run out.
const migrate = await startService(env)
await migrate.stop()
const db = new pg.Client({ connectionString: url })
await db.connect()
await db.query(
  `INSERT INTO stock (product_id, available, reserved, on_hand, low_stock_threshold)
   SELECT 'p' || i, $1::int, 0, $1::int, 5 FROM generate_series(0, $2::int - 1) AS i`,
  [Number(values.stock), PRODUCTS],
)

log(`producing ${ORDERS} orders (1-5 lines over ${PRODUCTS} products) to ${PARTITIONS} partitions`)
const p = await producer()
let lines = 0
const produceStarted = performance.now()
for (let i = 0; i < ORDERS; i += 1000) {
  const messages = []
  for (let j = i; j < Math.min(ORDERS, i + 1000); j++) {
    const items = Array.from({ length: 1 + rand(5) }, () => ({
      product_id: `p${rand(PRODUCTS)}`,
      quantity: 1 + rand(3),
      price: "1.00",
    }))
    lines += items.length
    messages.push({
      key: `o${j}`,
      value: JSON.stringify({ order_id: `o${j}`, user_id: "u", items_count: items.length, items }),
    })
  }
  await p.send({ topic: topics.ordersCreated, messages })
}
await p.disconnect()
log(`produced in ${((performance.now() - produceStarted) / 1000).toFixed(1)} s`)

const outcomes = new Set<string>()
let firstOutcomeAt = 0
const observer = kafka.consumer({ groupId: `observer-${suffix}`, maxWaitTimeInMs: 50 })
await observer.connect()
await observer.subscribe({
  topics: [topics.reserved, topics.outOfStock],
  fromBeginning: true,
})
await observer.run({
  eachBatch: async ({ batch }) => {
    if (firstOutcomeAt === 0) firstOutcomeAt = performance.now()
    for (const m of batch.messages) outcomes.add(m.key?.toString() ?? "")
  },
})

const service = await startService(env)
const started = performance.now()
let last = 0
let tick = 0
while (outcomes.size < ORDERS) {
  service.assertRunning()
  await new Promise((r) => setTimeout(r, 20))
  const elapsed = (performance.now() - started) / 1000
  if (++tick % 50 === 0) {
    log(`${outcomes.size}/${ORDERS} outcomes, ${Math.round(outcomes.size - last)}/s now`)
    last = outcomes.size
  }
  if (elapsed > 600) throw new Error("did not drain within 10 minutes")
}
const drained = performance.now()
const total = (drained - started) / 1000
// throughput over the draining itself: from the first outcome to the last (start-up and group join excluded)
const seconds = (drained - firstOutcomeAt) / 1000
const rss = service.peakRssMb()
const exitCode = await service.stop()
await observer.disconnect()

const { rows: violations } = await db.query(`
  SELECT count(*)::int AS n FROM stock s
   LEFT JOIN (SELECT product_id, sum(quantity - fulfilled - released) AS held FROM reservation_lines JOIN reservations USING (order_id)
               WHERE status IN ('reserved', 'partially_fulfilled') GROUP BY product_id) l USING (product_id)
   WHERE s.reserved <> COALESCE(l.held, 0) OR s.on_hand <> s.available + s.reserved`)
const { rows: statuses } = await db.query(
  `SELECT status, count(*)::int AS n FROM reservations GROUP BY status ORDER BY status`,
)
await db.end()

console.log("")
console.log(`runtime           node ${process.version}`)
console.log(`orders            ${ORDERS} (${lines} lines, ${PRODUCTS} products)`)
console.log(
  `drain time        ${total.toFixed(2)} s from service start (${(total - seconds).toFixed(2)} s to the first outcome)`,
)
console.log(`throughput        ${Math.round(ORDERS / seconds)} orders/s, ${Math.round(lines / seconds)} lines/s`)
console.log(`outcomes          ${statuses.map((r) => `${r.status} ${r.n}`).join(", ")}`)
console.log(`peak RSS          ${rss.toFixed(0)} MB`)
console.log(`invariants        ${violations[0].n === 0 ? "hold" : `${violations[0].n} products VIOLATE`}`)
console.log(`service exit      ${exitCode}`)

if (!values.keep) {
  await deleteTopics(Object.values(topics))
  await dropDatabase(dbName)
}
await withAdminDb(async () => {})
process.exit(violations[0].n === 0 && exitCode === 0 ? 0 : 1)
