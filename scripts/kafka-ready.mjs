// Waits until a real kafkajs client can describe the cluster: an open port is not a ready broker.
// Usage: node scripts/kafka-ready.mjs 127.0.0.1:9092 [timeoutSeconds]
import { Kafka, logLevel } from "kafkajs"

// kafkajs 2.2.4 sets a timer with a negative delay, which Node 24+ warns about (src/Kafka/TimerWarning.ts);
// this probe prints nothing but its verdict.
process.removeAllListeners("warning")

const [broker = "127.0.0.1:9092", timeoutArg = "60"] = process.argv.slice(2)
const deadline = Date.now() + Number(timeoutArg) * 1000
const kafka = new Kafka({
  clientId: "kafka-ready",
  brokers: [broker],
  logLevel: logLevel.NOTHING,
  retry: { retries: 0 },
})

let lastError = "no attempt"
while (Date.now() < deadline) {
  const admin = kafka.admin()
  try {
    await admin.connect()
    const cluster = await admin.describeCluster()
    await admin.disconnect()
    console.log(JSON.stringify({ broker, clusterId: cluster.clusterId, brokers: cluster.brokers.length }))
    process.exit(0)
  } catch (error) {
    lastError = error instanceof Error ? error.message : String(error)
    await admin.disconnect().catch(() => {})
    await new Promise((resolve) => setTimeout(resolve, 500))
  }
}
console.error(`kafka-ready: ${broker} not ready: ${lastError}`)
process.exit(1)
