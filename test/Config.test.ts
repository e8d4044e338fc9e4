import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Redacted } from "effect"
import { describeConfigError } from "../src/Config.js"
import { configFromMap } from "./support/TestConfig.js"

describe("configuration", () => {
  it.effect("has the wire contract's defaults", () =>
    Effect.gen(function* () {
      const config = yield* configFromMap({})
      expect(config.kafka.brokers).toEqual(["127.0.0.1:9092"])
      expect(config.kafka.groupId).toBe("inventory-service-group")
      expect(config.http.port).toBe(8083)
      expect(config.topics.deadLetter).toBe("inventory.dead_letter")
      expect(Redacted.value(config.database.url)).toBe("postgres://postgres@127.0.0.1:5432/inventory")
      expect(String(config.database.url)).not.toContain("postgres://")
    }),
  )

  it.effect("accepts LOG_LEVEL in any case, and warn for warning", () =>
    Effect.gen(function* () {
      expect((yield* configFromMap({ LOG_LEVEL: "warn" })).logLevel).toBe("warning")
      expect((yield* configFromMap({ LOG_LEVEL: "WARN" })).logLevel).toBe("warning")
      expect((yield* configFromMap({ LOG_LEVEL: "Debug" })).logLevel).toBe("debug")
    }),
  )

  it.effect.each<[string, string, string]>([
    ["SERVICE_PORT", "eighty", "SERVICE_PORT: Expected an integer"],
    ["SERVICE_PORT", "70000", "SERVICE_PORT: must be a TCP port"],
    ["KAFKA_BROKERS", "localhost", "KAFKA_BROKERS: must be a comma-separated list of host:port"],
    ["DATABASE_URL", "mysql://x", "DATABASE_URL: must be a postgres"],
    ["TOPIC_DEAD_LETTER", "bad topic!", "TOPIC_DEAD_LETTER: must be a valid Kafka topic name"],
    ["LOG_LEVEL", "loud", "LOG_LEVEL: must be one of"],
    ["COMMIT_BATCH_SIZE", "0", "COMMIT_BATCH_SIZE: must be a positive integer"],
  ])("rejects %s=%s with a line naming the variable", ([name, value, expected]) =>
    Effect.gen(function* () {
      const result = yield* Effect.either(configFromMap({ [name]: value }))
      expect(Either.isLeft(result)).toBe(true)
      if (Either.isLeft(result)) expect(describeConfigError(result.left)).toContain(expected)
    }),
  )
})
