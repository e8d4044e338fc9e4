import { NodeRuntime } from "@effect/platform-node"
import { Cause, Console, Effect, Layer, Logger, LogLevel } from "effect"
import { AppConfig, describeConfigError, isConfigError } from "./Config.js"
import { exitOnFailure } from "./Fatal.js"
import { ServiceLive } from "./Service.js"
import { TracingLive } from "./Tracing.js"

const LoggingLive = Layer.unwrapEffect(
  AppConfig.pipe(
    Effect.map(({ logLevel }) =>
      Layer.merge(Logger.json, Logger.minimumLogLevel(LogLevel.fromLiteral(capitalize(logLevel)))),
    ),
  ),
)

function capitalize(level: string): LogLevel.Literal {
  return (level.charAt(0).toUpperCase() + level.slice(1)) as LogLevel.Literal
}

const program = Layer.launch(ServiceLive).pipe(
  // a start-up failure (or a later fatal one) ends the service with one clear line and exit code 1
  Effect.catchAllCause((cause) => (Cause.isInterruptedOnly(cause) ? Effect.void : exitOnFailure(cause))),
  Effect.provide(TracingLive),
  Effect.provide(LoggingLive),
  Effect.provide(AppConfig.Default),
  Effect.catchIf(isConfigError, (error) =>
    Console.error(`inventory-service: bad configuration: ${describeConfigError(error)}`).pipe(
      Effect.zipRight(Effect.sync(() => process.exit(1))),
    ),
  ),
)

NodeRuntime.runMain(program, { disablePrettyLogger: true })
