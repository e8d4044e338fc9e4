// The raw pipe ceiling: consume orders and produce one event per order, no state, no database.
// What kafkajs and the broker allow on this machine. Env: as the service.
import {
  idempotentProducer,
  orderConsumer,
  partitionsConcurrency,
  serveUntilStopped,
  topics,
  yardstickKafka,
} from "../lib/Yardstick.js"

const kafka = yardstickKafka("rawpipe")
const producer = idempotentProducer(kafka)
const { reserved } = topics

await producer.connect()
const consumer = await orderConsumer(kafka, "rawpipe")
await consumer.run({
  autoCommit: false,
  eachBatchAutoResolve: false,
  partitionsConsumedConcurrently: partitionsConcurrency,
  eachBatch: async ({ batch, resolveOffset }) => {
    const messages = batch.messages.map((m) => {
      const order = JSON.parse(m.value?.toString() ?? "{}")
      return {
        key: m.key,
        value: JSON.stringify({ order_id: order.order_id, items: order.items, reserved_at: new Date().toISOString() }),
      }
    })
    if (messages.length === 0) return
    // one produce call per 1000 events: a whole fetch batch can exceed the broker's request size
    for (let i = 0; i < messages.length; i += 1000)
      await producer.send({ topic: reserved, acks: -1, messages: messages.slice(i, i + 1000) })
    const last = batch.messages[batch.messages.length - 1]!
    resolveOffset(last.offset)
    await consumer.commitOffsets([
      { topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() },
    ])
  },
})
serveUntilStopped(async () => {
  await consumer.disconnect()
  await producer.disconnect()
})
