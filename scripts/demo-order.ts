// npm run demo:order -- --product P1 --qty 2            send an order, print its outcome and the stock
// npm run demo:order -- --cancel <order-id>              cancel it, print the release and the stock
// npm run demo:order -- --fulfil <order-id>              ship all it holds (add --product/--qty to ship part)
// Uses the same environment as the service (KAFKA_BROKERS, TOPIC_*, DATABASE_URL).
import { randomUUID } from "node:crypto"
import { parseArgs } from "node:util"
import { Kafka, logLevel, Partitioners } from "kafkajs"
import { topicsFromEnv } from "../src/Config.js"
import "../src/Kafka/TimerWarning.js"
import pg from "pg"

const { values } = parseArgs({
  options: {
    product: { type: "string", multiple: true, default: ["P1"] },
    qty: { type: "string", multiple: true, default: ["1"] },
    order: { type: "string" },
    cancel: { type: "string" },
    fulfil: { type: "string" },
  },
})
const env = process.env
const topics = topicsFromEnv(env)
const created = topics.ordersCreated
const cancelled = topics.ordersCancelled
const fulfilled = topics.ordersFulfilled
const outcomes = [topics.fulfilled, topics.fulfillmentRejected, topics.reserved, topics.outOfStock, topics.released]

const kafka = new Kafka({
  clientId: "demo-order",
  brokers: (env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(","),
  logLevel: logLevel.NOTHING,
})
const orderId = values.cancel ?? values.fulfil ?? values.order ?? `demo-${randomUUID().slice(0, 8)}`
const existing = values.cancel ?? values.fulfil
const products = values.product
const items = products.map((product_id, i) => ({
  product_id,
  quantity: Number(values.qty[i] ?? values.qty[0]),
  price: "9.99",
}))

const consumer = kafka.consumer({ groupId: `demo-${randomUUID()}`, maxWaitTimeInMs: 100 })
await consumer.connect()
await consumer.subscribe({ topics: outcomes, fromBeginning: false })
const outcome = new Promise<{ topic: string; value: string; eventId: string }>((resolve) => {
  void consumer.run({
    eachMessage: async ({ topic, message }) => {
      if (message.key?.toString() === orderId) {
        resolve({ topic, value: message.value?.toString() ?? "", eventId: message.headers?.event_id?.toString() ?? "" })
      }
    },
  })
})
await new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()))

const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })
await producer.connect()
const partial = process.argv.includes("--product")
const [sendTopic, body] = values.cancel
  ? [cancelled, { order_id: orderId, user_id: "demo", reason: "demo", cancelled_at: new Date().toISOString() }]
  : values.fulfil
    ? [
        fulfilled,
        {
          order_id: orderId,
          fulfillment_id: `ship-${randomUUID().slice(0, 8)}`,
          ...(partial ? { items: items.map(({ product_id, quantity }) => ({ product_id, quantity })) } : {}),
          fulfilled_at: new Date().toISOString(),
        },
      ]
    : [
        created,
        { order_id: orderId, user_id: "demo", total: "9.99", currency: "EUR", items_count: items.length, items },
      ]
await producer.send({ topic: sendTopic, messages: [{ key: orderId, value: JSON.stringify(body) }] })
console.log(`sent ${sendTopic}: ${JSON.stringify(body)}`)

const timeout = setTimeout(() => {
  console.error(
    "no outcome within 15 s: is the service running (npm run local)? a cancel of an order that holds nothing publishes nothing",
  )
  process.exit(1)
}, 15_000)
const event = await outcome
clearTimeout(timeout)
console.log(`got  ${event.topic} (event_id ${event.eventId}): ${event.value}`)

const db = new pg.Client({ connectionString: env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/inventory" })
await db.connect()
const stockIds = existing
  ? (await db.query("SELECT product_id FROM reservation_lines WHERE order_id = $1", [orderId])).rows.map(
      (r) => r.product_id,
    )
  : products
const { rows } = await db.query(
  "SELECT product_id, available, reserved, on_hand, version FROM stock WHERE product_id = ANY($1) ORDER BY product_id",
  [stockIds],
)
console.table(rows)
await db.end()
await Promise.all([producer.disconnect(), consumer.disconnect()])
if (!existing) {
  console.log(`ship it with:   npm run demo:order -- --fulfil ${orderId}`)
  console.log(`cancel it with: npm run demo:order -- --cancel ${orderId}`)
}
process.exit(0)
