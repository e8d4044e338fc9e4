import { Data } from "effect"

/** A Kafka operation failed: what was attempted, and why (kafkajs's error as the cause). */
export class KafkaError extends Data.TaggedError("KafkaError")<{ readonly message: string; readonly cause: unknown }> {}
