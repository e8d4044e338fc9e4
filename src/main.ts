import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer, Logger, LogLevel } from "effect"
import { AppConfig, describeConfigError, isConfigError } from "./Config.js"
import { ServiceLive } from "./Service.js"

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

const MainLive = ServiceLive.pipe(Layer.provideMerge(LoggingLive), Layer.provideMerge(AppConfig.Default))

const program = Layer.launch(MainLive).pipe(
  Effect.catchIf(isConfigError, (error) =>
    Console.error(`inventory-service: bad configuration: ${describeConfigError(error)}`).pipe(
      Effect.zipRight(Effect.sync(() => process.exit(1))),
    ),
  ),
)

NodeRuntime.runMain(program, { disablePrettyLogger: true })
