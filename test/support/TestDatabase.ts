import { Effect, Redacted } from "effect"
import pg from "pg"
import { ensureDatabase } from "../../src/Store/Database.js"
import { adminDatabaseUrl, uniqueSuffix } from "./Env.js"

/** A database of the suite's own, created on acquire and dropped on release. */
export const freshDatabaseUrl = (label: string) =>
  Effect.acquireRelease(
    Effect.gen(function* () {
      const url = new URL(adminDatabaseUrl)
      url.pathname = `/inv_test_${label}_${uniqueSuffix()}`
      yield* ensureDatabase(Redacted.make(url.toString()))
      return url.toString()
    }),
    (url) =>
      Effect.promise(async () => {
        const client = new pg.Client({ connectionString: adminDatabaseUrl })
        await client.connect()
        const name = new URL(url).pathname.slice(1)
        await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`).catch(() => {})
        await client.end()
      }),
  )
