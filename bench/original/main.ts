// A faithful TypeScript port of the original Go service's approach, for comparison only:
// one transaction per order line with SELECT ... FOR UPDATE, a ledger insert per line, one
// synchronous produce per event, best-effort rollback of earlier lines. Its defects are kept
// on purpose (no idempotency, offsets auto-committed). Like sarama's one ConsumeClaim goroutine
// per claimed partition on a pgx pool, it consumes every partition concurrently, one message at
// a time within a partition, on a connection pool. Env: as the service.
import { randomUUID } from "node:crypto"
import { Partitioners } from "kafkajs"
import pg from "pg"
import {
  env,
  orderConsumer,
  partitionsConcurrency,
  serveUntilStopped,
  topics,
  yardstickKafka,
} from "../lib/Yardstick.js"

const kafka = yardstickKafka("original")
// The original keeps no reservation lines: the service's balance triggers (migration 0005) are
// switched off for its sessions, as they do not apply to its rows.
const pool = new pg.Pool({
  connectionString: env.DATABASE_URL,
  max: 10,
  options: "-c session_replication_role=replica",
})
const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner })

const reserveLine = async (productId: string, quantity: number) => {
  const client = await pool.connect()
  try {
    await client.query("BEGIN")
    const { rows } = await client.query("SELECT available FROM stock WHERE product_id = $1 FOR UPDATE", [productId])
    const available = rows[0]?.available
    if (available === undefined || available < quantity) throw new Error("insufficient inventory")
    await client.query(
      "UPDATE stock SET available = available - $1, reserved = reserved + $1, version = version + 1, updated_at = now() WHERE product_id = $2",
      [quantity, productId],
    )
    await client.query(
      `INSERT INTO stock_ledger (product_id, movement, quantity, available_before, available_after, reserved_before, reserved_after, reason, reference_id)
       VALUES ($1, 'reserve', $2, $3, $4, 0, 0, 'Order reservation', $1)`,
      [productId, quantity, available, available - quantity],
    )
    await client.query("COMMIT")
  } catch (error) {
    await client.query("ROLLBACK")
    throw error
  } finally {
    client.release()
  }
}

const releaseLine = async (productId: string, quantity: number) => {
  await pool.query(
    "UPDATE stock SET available = available + $1, reserved = reserved - $1, version = version + 1 WHERE product_id = $2",
    [quantity, productId],
  )
}

const handle = async (order: { order_id: string; items: Array<{ product_id: string; quantity: number }> }) => {
  const taken: Array<{ product_id: string; quantity: number }> = []
  for (const item of order.items) {
    try {
      await reserveLine(item.product_id, item.quantity)
      taken.push(item)
    } catch {
      for (const t of taken) await releaseLine(t.product_id, t.quantity).catch(() => {})
      await producer.send({
        topic: topics.outOfStock,
        messages: [
          {
            key: order.order_id,
            value: JSON.stringify({
              order_id: order.order_id,
              product_id: item.product_id,
              requested_qty: item.quantity,
              available_qty: 0,
              timestamp: new Date().toISOString(),
            }),
          },
        ],
      })
      return
    }
  }
  await producer.send({
    topic: topics.reserved,
    messages: [
      {
        key: order.order_id,
        value: JSON.stringify({
          reservation_id: randomUUID(),
          order_id: order.order_id,
          items: taken,
          reserved_at: new Date().toISOString(),
        }),
      },
    ],
  })
}

await producer.connect()
const consumer = await orderConsumer(kafka, "original")
await consumer.run({
  partitionsConsumedConcurrently: partitionsConcurrency,
  eachMessage: async ({ message }) => {
    try {
      await handle(JSON.parse(message.value?.toString() ?? "{}"))
    } catch {}
  },
})
serveUntilStopped(async () => {
  await consumer.disconnect()
  await producer.disconnect()
  await pool.end()
})
