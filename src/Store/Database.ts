import { readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { SqlError } from "@effect/sql/SqlError"
import { PgClient, PgMigrator } from "@effect/sql-pg"
import { Effect, Layer, Redacted } from "effect"
import pg from "pg"
import { AppConfig } from "../Config.js"
import { migrationLockKey } from "./AdvisoryLocks.js"
import { DatabaseUnavailable } from "./Errors.js"

const migrationsDir = fileURLToPath(new URL("../../migrations/", import.meta.url))

/** The numbered .sql files in migrations/, the schema's single source of truth. */
const sqlMigrations = (dir: string = migrationsDir) =>
  PgMigrator.fromRecord(
    Object.fromEntries(
      readdirSync(dir)
        .filter((file) => /^\d+_.+\.sql$/.test(file))
        .map((file) => {
          const text = readFileSync(`${dir}${file}`, "utf8")
          return [file.replace(/\.sql$/, ""), SqlClient.SqlClient.pipe(Effect.flatMap((sql) => sql.unsafe(text)))]
        }),
    ),
  )

/** Creates the database named in the URL when it does not exist yet (connecting to `postgres`). */
export const ensureDatabase = (url: Redacted.Redacted<string>, ssl = false) =>
  Effect.tryPromise({
    try: async () => {
      const target = new URL(Redacted.value(url))
      const name = decodeURIComponent(target.pathname.replace(/^\//, "")) || "postgres"
      const admin = new URL(target)
      admin.pathname = "/postgres"
      const client = new pg.Client({
        connectionString: admin.toString(),
        ssl: ssl ? { rejectUnauthorized: false } : false,
      })
      await client.connect()
      try {
        const found = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name])
        if (found.rowCount === 0) {
          await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`).catch((error: { code?: string }) => {
            // Another instance starting beside us created it first: 42P04 when it had committed,
            // 23505 (pg_database_datname_index) when both were creating it at the same moment.
            if (error.code !== "42P04" && error.code !== "23505") throw error
          })
        }
      } finally {
        await client.end()
      }
      return name
    },
    catch: (cause) => new DatabaseUnavailable({ reason: messageOf(cause) }),
  })

const messageOf = (cause: unknown): string =>
  cause instanceof AggregateError && cause.errors.length > 0
    ? cause.errors.map(messageOf).join("; ")
    : cause instanceof Error
      ? cause.message || cause.name
      : String(cause)

// Any fixed key: instances (and `npm run migrate`) starting together take turns, so each
// migration runs once and nobody races to create the migrations table.

/**
 * Applies migrations/*.sql under a PostgreSQL advisory lock held by one reserved connection
 * for the whole run; a crashed holder's session ends and frees the lock.
 */
export const migrate = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const connection = yield* sql.reserve
  yield* connection.executeRaw("SELECT pg_advisory_lock($1)", [migrationLockKey])
  yield* Effect.addFinalizer(() =>
    connection.executeRaw("SELECT pg_advisory_unlock($1)", [migrationLockKey]).pipe(Effect.ignore),
  )
  return yield* PgMigrator.run({ loader: sqlMigrations() })
}).pipe(Effect.scoped, Effect.provide(NodeContext.layer))

/** A pool for `config`, handed out once one connection answers (within 5 s) and ended with the scope. */
const connectedPool = (config: pg.PoolConfig) =>
  Effect.acquireRelease(
    Effect.suspend(() => {
      const pool = new pg.Pool(config)
      // a pooled connection that breaks while idle is dropped by the pool; the next query opens another
      pool.on("error", () => {})
      return Effect.tryPromise({
        try: () => pool.query("SELECT 1").then(() => pool),
        catch: (cause) => new SqlError({ cause, message: `PgClient: Failed to connect: ${messageOf(cause)}` }),
      }).pipe(
        Effect.timeoutFail({
          duration: "5 seconds",
          onTimeout: () => new SqlError({ cause: undefined, message: "PgClient: Connection timed out" }),
        }),
        // closed in the background: ending waits for a connection attempt that may never answer
        Effect.tapError(() => Effect.sync(() => void pool.end().catch(() => {}))),
      )
    }),
    (pool) => Effect.promise(() => pool.end()).pipe(Effect.timeoutOption("1 second")),
  )

/** PgClient for the configured database, created and migrated before anyone uses it. */
export const DatabaseLive = Layer.unwrapEffect(
  Effect.gen(function* () {
    const { database } = yield* AppConfig
    yield* ensureDatabase(database.url, database.ssl)
    const client = PgClient.layerFromPool({
      acquire: connectedPool({
        connectionString: Redacted.value(database.url),
        ssl: database.ssl ? { rejectUnauthorized: false } : false,
        max: database.maxConnections,
        application_name: database.applicationName,
        options: database.sessionOptions,
      }),
      applicationName: database.applicationName,
    })
    return Layer.provideMerge(Layer.effectDiscard(migrate), client)
  }),
)
