// The durable ceiling: what writing the service's own rows costs on this machine, with no
// decisions, no actors and no Effect. Consume a chunk, write in one PostgreSQL transaction per
// chunk the rows the service writes for a reserved order (stock deltas with a version bump,
// the reservation, its lines, a ledger row per line, an outbox row per event), publish one
// event per order, delete the outbox rows as the relay does, commit the offsets.
// The run seeds enough stock for every order, so nothing is refused. Env: as the service.
import { randomUUID } from "node:crypto"
import pg from "pg"
import {
  env,
  idempotentProducer,
  orderConsumer,
  partitionsConcurrency,
  serveUntilStopped,
  topics,
  yardstickKafka,
} from "../lib/Yardstick.js"

const chunkSize = Number(env.CONSUMER_CHUNK_SIZE ?? 2000)
const kafka = yardstickKafka("ceiling")
const pool = new pg.Pool({ connectionString: env.DATABASE_URL, max: Number(env.DATABASE_MAX_CONNECTIONS ?? 8) })
const producer = idempotentProducer(kafka)
const { reserved } = topics

interface Order {
  readonly order_id: string
  readonly items: ReadonlyArray<{ product_id: string; quantity: number }>
}

// One writer at a time, as the service's committer: concurrent chunk transactions only compete
// for the same two cores (CEILING_WRITERS raises it).
const writers = Number(env.CEILING_WRITERS ?? 1)
let active = 0
const waiting: Array<() => void> = []
const exclusive = async <A>(f: () => Promise<A>): Promise<A> => {
  if (active >= writers) await new Promise<void>((resolve) => waiting.push(resolve))
  active++
  try {
    return await f()
  } finally {
    active--
    waiting.shift()?.()
  }
}

const writeChunk = (orders: ReadonlyArray<Order>) => exclusive(() => writeRows(orders))

const writeRows = async (orders: ReadonlyArray<Order>) => {
  const deltas = new Map<string, number>()
  const lines: Array<{ o: string; p: string; q: number }> = []
  for (const order of orders) {
    for (const item of order.items) {
      deltas.set(item.product_id, (deltas.get(item.product_id) ?? 0) + item.quantity)
      lines.push({ o: order.order_id, p: item.product_id, q: item.quantity })
    }
  }
  const now = new Date().toISOString()
  const events = orders.map((order) => {
    const reservationId = randomUUID()
    const payload = JSON.stringify({
      reservation_id: reservationId,
      order_id: order.order_id,
      items: order.items,
      reserved_at: now,
    })
    return { i: randomUUID(), rid: reservationId, o: order.order_id, payload }
  })
  const client = await pool.connect()
  try {
    await client.query("BEGIN")
    const products = [...deltas].sort(([a], [b]) => (a < b ? -1 : 1)).map(([p, q]) => ({ p, q }))
    // the reservations and their lines in one statement, then the stock: the balance triggers
    // (migration 0005) check each statement's end, as they check the service's one-statement commit
    await client.query(
      `WITH r AS (
         INSERT INTO reservations (order_id, reservation_id, status)
         SELECT o, rid, 'reserved' FROM json_to_recordset($1::json) AS d(o text, rid uuid)
         ON CONFLICT (order_id) DO NOTHING)
       INSERT INTO reservation_lines (order_id, product_id, quantity)
       SELECT o, p, sum(q) FROM json_to_recordset($2::json) AS d(o text, p text, q int) GROUP BY o, p
       ON CONFLICT DO NOTHING`,
      [JSON.stringify(events.map(({ o, rid }) => ({ o, rid }))), JSON.stringify(lines)],
    )
    await client.query(
      `UPDATE stock s SET available = s.available - d.q, reserved = s.reserved + d.q,
              version = s.version + 1, updated_at = now()
         FROM json_to_recordset($1::json) AS d(p text, q int) WHERE s.product_id = d.p`,
      [JSON.stringify(products)],
    )
    await client.query(
      `INSERT INTO stock_ledger (product_id, movement, quantity, available_before, available_after,
                                 reserved_before, reserved_after, reference_id)
       SELECT p, 'reserve', q, 0, 0, 0, 0, o FROM json_to_recordset($1::json) AS d(o text, p text, q int)`,
      [JSON.stringify(lines)],
    )
    const { rows } = await client.query(
      `INSERT INTO outbox (event_id, event_type, topic, message_key, payload)
       SELECT i, 'inventory.reserved', $2, o, payload FROM json_to_recordset($1::json) AS d(i uuid, o text, payload text)
       RETURNING id`,
      [JSON.stringify(events.map(({ i, o, payload }) => ({ i, o, payload }))), reserved],
    )
    await client.query("COMMIT")
    return { events, outboxIds: rows.map((r: { id: string }) => r.id) }
  } catch (error) {
    await client.query("ROLLBACK")
    throw error
  } finally {
    client.release()
  }
}

await producer.connect()
const consumer = await orderConsumer(kafka, "ceiling")
await consumer.run({
  autoCommit: false,
  eachBatchAutoResolve: false,
  partitionsConsumedConcurrently: partitionsConcurrency,
  eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
    for (let i = 0; i < batch.messages.length; i += chunkSize) {
      const chunk = batch.messages.slice(i, i + chunkSize)
      const orders = chunk.map((m) => JSON.parse(m.value?.toString() ?? "{}") as Order)
      const { events, outboxIds } = await writeChunk(orders)
      for (let j = 0; j < events.length; j += 1000) {
        await producer.send({
          topic: reserved,
          acks: -1,
          messages: events.slice(j, j + 1000).map((e) => ({ key: e.o, value: e.payload, headers: { event_id: e.i } })),
        })
      }
      await pool.query("DELETE FROM outbox WHERE id = ANY($1::bigint[])", [outboxIds])
      const last = chunk[chunk.length - 1]!
      resolveOffset(last.offset)
      await consumer.commitOffsets([
        { topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() },
      ])
      await heartbeat()
    }
  },
})
serveUntilStopped(async () => {
  await consumer.disconnect()
  await producer.disconnect()
  await pool.end()
})
