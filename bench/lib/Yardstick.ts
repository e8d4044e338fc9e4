// What the comparison systems (ceiling, original, raw pipe) share: the service's environment,
// a Kafka client on its brokers, the /health the bench waits for, and a clean stop on SIGTERM.
import { createServer } from "node:http"
import { Kafka, logLevel, Partitioners } from "kafkajs"
import { topicsFromEnv } from "../../src/Config.js"
import "../../src/Kafka/TimerWarning.js"

export const env = process.env

export const topics = topicsFromEnv(env)

export const yardstickKafka = (clientId: string) =>
  new Kafka({ clientId, brokers: (env.KAFKA_BROKERS ?? "127.0.0.1:9092").split(","), logLevel: logLevel.NOTHING })

/** Partitions consumed at once, as the service does (KAFKA_PARTITIONS_CONCURRENCY). */
export const partitionsConcurrency = Number(env.KAFKA_PARTITIONS_CONCURRENCY ?? 6)

/** A consumer of orders.created in the run's group, connected and subscribed from the start, fetching as the service does. */
export const orderConsumer = async (kafka: Kafka, name: string) => {
  const consumer = kafka.consumer({
    groupId: env.KAFKA_GROUP_ID ?? name,
    maxWaitTimeInMs: 100,
    maxBytes: 16 * 1024 * 1024,
  })
  await consumer.connect()
  await consumer.subscribe({ topics: [topics.ordersCreated], fromBeginning: true })
  return consumer
}

/** An idempotent producer, as the service's. */
export const idempotentProducer = (kafka: Kafka) =>
  kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, idempotent: true, maxInFlightRequests: 1 })

/** Answers /health on SERVICE_PORT; on SIGTERM or SIGINT runs `stop` and exits 0. */
export const serveUntilStopped = (stop: () => Promise<unknown>) => {
  createServer((_, res) => res.end('{"status":"ok"}')).listen(Number(env.SERVICE_PORT ?? 8083), "127.0.0.1")
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, async () => {
      await stop()
      process.exit(0)
    })
  }
}
