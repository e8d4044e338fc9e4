import { Effect, Redacted } from "effect"
import { databaseUrlFor, dropDatabase } from "../../scripts/lib/Databases.js"
import { ensureDatabase } from "../../src/Store/Database.js"
import { adminDatabaseUrl, uniqueSuffix } from "./Env.js"

/** A database of the suite's own, created on acquire and dropped on release. */
export const freshDatabaseUrl = (label: string) =>
  Effect.acquireRelease(
    Effect.gen(function* () {
      const url = databaseUrlFor(adminDatabaseUrl, `inv_test_${label}_${uniqueSuffix()}`)
      yield* ensureDatabase(Redacted.make(url))
      return url
    }),
    (url) => Effect.promise(() => dropDatabase(adminDatabaseUrl, new URL(url).pathname.slice(1)).catch(() => {})),
  )
