import { ConfigProvider, Effect, Layer } from "effect"
import { AppConfig, AppConfigSchema } from "../../src/Config.js"
import { testBrokers } from "./Env.js"

/** The service's own config, read from a map instead of the environment. */
export const configFromMap = (vars: Record<string, string>) =>
  Effect.withConfigProvider(AppConfigSchema, ConfigProvider.fromMap(new Map(Object.entries(vars))))

export const testConfigLayer = (vars: Record<string, string>) =>
  Layer.effect(
    AppConfig,
    configFromMap({ KAFKA_BROKERS: testBrokers.join(","), LOG_LEVEL: "warning", ...vars }).pipe(
      Effect.map((config) => AppConfig.make(config)),
      Effect.orDie,
    ),
  )
