import { readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { PgClient, PgMigrator } from "@effect/sql-pg"
import { Effect, Layer, Redacted } from "effect"
import pg from "pg"
import { AppConfig } from "../Config.js"

const migrationsDir = fileURLToPath(new URL("../../migrations/", import.meta.url))

/** The numbered .sql files in migrations/, the schema's single source of truth. */
export const sqlMigrations = (dir: string = migrationsDir) =>
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
            if (error.code !== "42P04") throw error // created concurrently by someone else: fine
          })
        }
      } finally {
        await client.end()
      }
      return name
    },
    catch: (cause) => new Error(`cannot reach or create the database in DATABASE_URL: ${String(cause)}`),
  })

/** PgClient for the configured database, created and migrated before anyone uses it. */
export const DatabaseLive = Layer.unwrapEffect(
  Effect.gen(function* () {
    const { database } = yield* AppConfig
    yield* ensureDatabase(database.url, database.ssl).pipe(Effect.orDie)
    const client = PgClient.layer({
      url: database.url,
      ssl: database.ssl ? { rejectUnauthorized: false } : false,
      maxConnections: database.maxConnections,
      applicationName: "inventory-service",
      transformResultNames: (name) => name,
    })
    const migrate = PgMigrator.layer({ loader: sqlMigrations() }).pipe(Layer.provide(NodeContext.layer))
    return Layer.provideMerge(migrate, client)
  }),
)
