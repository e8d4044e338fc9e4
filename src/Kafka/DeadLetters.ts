import { Effect, Metric } from "effect"
import type { KafkaMessage } from "kafkajs"
import { AppConfig } from "../Config.js"
import { KafkaClient } from "./KafkaClient.js"

export interface DeadLetter {
  readonly topic: string
  readonly partition: number
  readonly message: KafkaMessage
  readonly reason: string
}

export const deadLettered = Metric.counter("inventory_dead_letters_total", {
  description: "messages parked on the dead-letter topic",
  incremental: true,
})

/** Parks messages that cannot be processed, with the original bytes and where they came from. */
export class DeadLetters extends Effect.Service<DeadLetters>()("DeadLetters", {
  effect: Effect.gen(function* () {
    const kafka = yield* KafkaClient
    const { topics } = yield* AppConfig

    const park = Effect.fn("DeadLetters.park")(function* (letters: ReadonlyArray<DeadLetter>) {
      if (letters.length === 0) return
      yield* kafka.publish([
        {
          topic: topics.deadLetter,
          messages: letters.map(({ topic, partition, message, reason }) => ({
            key: message.key,
            value: message.value,
            headers: {
              ...message.headers,
              dlq_reason: reason,
              dlq_source_topic: topic,
              dlq_source_partition: String(partition),
              dlq_source_offset: message.offset,
              dlq_parked_at: new Date().toISOString(),
            },
          })),
        },
      ])
      yield* Metric.incrementBy(deadLettered, letters.length)
      yield* Effect.logWarning("messages parked on the dead-letter topic").pipe(
        Effect.annotateLogs({
          count: letters.length,
          reasons: letters.slice(0, 5).map((l) => `${l.topic}/${l.partition}@${l.message.offset}: ${l.reason}`),
        }),
      )
    })

    return { park } as const
  }),
  dependencies: [KafkaClient.Default],
}) {}
