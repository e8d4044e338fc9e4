import { Duration, Effect } from "effect"
import type { Kafka } from "kafkajs"
import { kafkaCall } from "./KafkaClient.js"

/**
 * The partitions of `topics` with orders waiting beyond the group's committed offset: the ones a
 * crash in the fetch leaves unread (kafkajs does not say which partition's batch it failed to
 * decode). Empty when the broker does not answer within 10 s.
 */
export const stalledPartitions = (kafka: Kafka, groupId: string, topics: ReadonlyArray<string>) =>
  kafkaCall("cannot read the group's offsets", async () => {
    const admin = kafka.admin()
    await admin.connect()
    try {
      const committed = await admin.fetchOffsets({ groupId, topics: [...topics] })
      const stalled: Array<string> = []
      for (const { topic, partitions } of committed) {
        const ends = new Map((await admin.fetchTopicOffsets(topic)).map((p) => [p.partition, p]))
        for (const { partition, offset } of partitions) {
          const end = ends.get(partition)
          if (end === undefined) continue
          // no committed offset yet (-1): the group starts from the earliest message
          const from = BigInt(offset) < 0n ? BigInt(end.low) : BigInt(offset)
          if (from < BigInt(end.high)) stalled.push(`${topic}/${partition} from offset ${from}`)
        }
      }
      return stalled
    } finally {
      await admin.disconnect()
    }
  }).pipe(
    Effect.timeout(Duration.seconds(10)),
    Effect.orElseSucceed((): Array<string> => []),
  )
