import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Kafka, logLevel } from "kafkajs"
import "../../src/Kafka/TimerWarning.js"
import { testBrokers, uniqueSuffix } from "../support/Env.js"

describe("the project's Kafka broker", () => {
  it.live("takes a message on a fresh topic and hands it back to a consumer", () =>
    Effect.promise(async () => {
      const kafka = new Kafka({ clientId: "smoke", brokers: testBrokers, logLevel: logLevel.NOTHING })
      const admin = kafka.admin()
      await admin.connect()
      const cluster = await admin.describeCluster()
      const configs = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: 4, name: String(cluster.controller), configNames: ["inter.broker.protocol.version"] }],
      })
      const protocol = configs.resources[0]?.configEntries[0]?.configValue
      console.info(
        `kafka smoke: cluster ${cluster.clusterId}, ${cluster.brokers.length} broker(s), protocol ${protocol}`,
      )
      expect(protocol).toMatch(/^3\.9/)

      const topic = `smoke.${uniqueSuffix()}`
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true })
      const producer = kafka.producer()
      await producer.connect()
      await producer.send({ topic, messages: [{ key: "k1", value: "hello inventory" }] })

      const consumer = kafka.consumer({ groupId: `smoke-${uniqueSuffix()}`, maxWaitTimeInMs: 100 })
      await consumer.connect()
      await consumer.subscribe({ topic, fromBeginning: true })
      const received = await new Promise<string>((resolve) => {
        void consumer.run({ eachMessage: async ({ message }) => resolve(message.value?.toString() ?? "") })
      })
      await Promise.all([consumer.disconnect(), producer.disconnect()])
      await admin.deleteTopics({ topics: [topic] })
      await admin.disconnect()
      expect(received).toBe("hello inventory")
    }),
  )
})
