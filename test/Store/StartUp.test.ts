import { readdirSync } from "node:fs"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { root, spawnService } from "../../scripts/lib/ChildService.js"
import { databaseUrlFor, dropDatabase, withClient } from "../../scripts/lib/Databases.js"
import { adminDatabaseUrl, freePort, uniqueSuffix } from "../support/Env.js"
import { processHarness, SuiteEnv } from "../support/Harness.js"
import { startService, stop } from "../support/ServiceProcess.js"

const migrationIds = readdirSync(`${root}migrations`)
  .filter((file) => /^\d+_.+\.sql$/.test(file))
  .map((file) => Number(file.split("_")[0]))

/** The URL of a database that does not exist yet, and its removal afterwards. */
const databaseNotCreatedYet = Effect.acquireRelease(
  Effect.sync(() => databaseUrlFor(adminDatabaseUrl, `inv_test_race_${uniqueSuffix()}`)),
  (url) => Effect.promise(() => dropDatabase(adminDatabaseUrl, new URL(url).pathname.slice(1))),
)

const query = (url: string, text: string) =>
  Effect.promise(() => withClient(url, async (c) => (await c.query(text)).rows as Array<Record<string, unknown>>))

/** Runs a script of the project to its end: exit code and everything it printed. */
const runScript = (script: string, env: Record<string, string>) =>
  Effect.promise(async () => {
    const { output, exited } = spawnService(env, { script, keep: 100_000 })
    const code = await exited
    return { code, output: output.join("") }
  })

const appliedMigrations = (url: string) =>
  query(url, "SELECT migration_id, count(*)::int AS n FROM effect_sql_migrations GROUP BY 1 ORDER BY 1")

layer(processHarness({ label: "startup" }), { excludeTestServices: true })("instances starting together", (it) => {
  it.scoped(
    "three instances started at once on a database that does not exist yet all become ready; each migration runs once",
    () =>
      Effect.gen(function* () {
        const env = yield* SuiteEnv
        for (let round = 0; round < 3; round++) {
          const url = yield* databaseNotCreatedYet
          const instances = yield* Effect.all(
            ["a", "b", "c"].map((name) => startService(`race-${round}-${name}`, { ...env, DATABASE_URL: url })),
            { concurrency: "unbounded" },
          )
          expect(yield* Effect.all(instances.map(stop))).toEqual([0, 0, 0])
          expect(yield* appliedMigrations(url)).toEqual(migrationIds.map((id) => ({ migration_id: id, n: 1 })))
        }
      }),
    240_000,
  )

  it.scoped(
    "npm run migrate beside an instance that is starting: both succeed",
    () =>
      Effect.gen(function* () {
        const env = yield* SuiteEnv
        const url = yield* databaseNotCreatedYet
        const [migrated, service] = yield* Effect.all(
          [
            runScript("src/migrate.ts", { DATABASE_URL: url }),
            startService("beside-migrate", { ...env, DATABASE_URL: url }),
          ],
          { concurrency: "unbounded" },
        )
        expect(migrated.code, migrated.output).toBe(0)
        expect(yield* stop(service)).toBe(0)
        expect(yield* appliedMigrations(url)).toEqual(migrationIds.map((id) => ({ migration_id: id, n: 1 })))
      }),
    120_000,
  )

  it.effect(
    "a fatal start-up error is one log line naming what failed, no stack trace, exit code 1",
    () =>
      Effect.gen(function* () {
        const env = yield* SuiteEnv
        const closed = yield* Effect.promise(freePort)
        const { code, output } = yield* runScript("src/main.ts", {
          ...env,
          DATABASE_URL: `postgres://postgres@127.0.0.1:${closed}/inventory`,
        })
        expect(code).toBe(1)
        const fatal = output.split("\n").filter((line) => line.includes('"FATAL"'))
        expect(fatal).toHaveLength(1)
        const { message } = JSON.parse(fatal[0]!) as { message: string }
        expect(message).toContain("DATABASE_URL")
        expect(message).toContain(`ECONNREFUSED 127.0.0.1:${closed}`)
        expect(output).not.toMatch(/^\s+at /m)
      }),
    60_000,
  )

  it.effect(
    "with the broker away, HTTP comes up at once: /health 200, reads served, /ready 503 naming Kafka; SIGTERM exits 0",
    () =>
      Effect.gen(function* () {
        const env = yield* SuiteEnv
        const [closed, port] = yield* Effect.promise(() => Promise.all([freePort(), freePort()]))
        const { child, exited } = spawnService({
          ...env,
          KAFKA_BROKERS: `127.0.0.1:${closed}`,
          SERVICE_PORT: String(port),
        })
        const get = (path: string) =>
          fetch(`http://127.0.0.1:${port}${path}`).then(async (r) => ({ status: r.status, text: await r.text() }))
        const health = yield* Effect.promise(async () => {
          for (let i = 0; i < 150; i++) {
            const answer = await get("/health").catch(() => undefined)
            if (answer !== undefined) return answer
            await new Promise((r) => setTimeout(r, 200))
          }
          return { status: 0, text: "never answered" }
        })
        expect(health.status).toBe(200)
        expect((yield* Effect.promise(() => get("/inventory?limit=1"))).status).toBe(200)
        const ready = yield* Effect.promise(() => get("/ready"))
        expect(ready.status).toBe(503)
        expect(ready.text).toContain(`Kafka at 127.0.0.1:${closed}`)
        child.kill("SIGTERM")
        expect(yield* Effect.promise(() => exited)).toBe(0)
      }),
    60_000,
  )
})
