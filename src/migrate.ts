// npm run migrate (in the image: node dist/migrate.js): create the database if missing and apply migrations/*.sql, then exit.
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import { AppConfig, describeConfigError, isConfigError } from "./Config.js"
import { DatabaseLive } from "./Store/Database.js"

const program = Effect.gen(function* () {
  yield* Layer.build(DatabaseLive)
  yield* Console.log("migrations applied")
}).pipe(
  Effect.scoped,
  Effect.provide(AppConfig.Default),
  Effect.catchIf(isConfigError, (error) =>
    Console.error(`bad configuration: ${describeConfigError(error)}`).pipe(
      Effect.andThen(Effect.sync(() => process.exit(1))),
    ),
  ),
)

NodeRuntime.runMain(program)
