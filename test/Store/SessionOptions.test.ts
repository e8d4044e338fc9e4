import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { DatabaseLive } from "../../src/Store/Database.js"
import { testConfigLayer } from "../support/TestConfig.js"
import { freshDatabaseUrl } from "../support/TestDatabase.js"

const settingsWith = (vars: Record<string, string>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    // every pooled connection starts with them: two at once are two connections
    return yield* Effect.all(
      [1, 2].map(() =>
        sql<{ workers: string; cost: string; name: string }>`
          SELECT current_setting('max_parallel_workers_per_gather') AS workers,
                 current_setting('random_page_cost') AS cost, current_setting('application_name') AS name,
                 pg_sleep(0.05)`.pipe(Effect.map(([row]) => row!)),
      ),
      { concurrency: 2 },
    )
  }).pipe(
    Effect.provide(
      Layer.unwrapScoped(
        freshDatabaseUrl("session").pipe(
          Effect.map((url) => DatabaseLive.pipe(Layer.provide(testConfigLayer({ DATABASE_URL: url, ...vars })))),
        ),
      ),
    ),
  )

describe("the service's connections", () => {
  it.effect("plan without parallel workers and with in-memory page costs unless told otherwise", () =>
    Effect.gen(function* () {
      const defaults = yield* settingsWith({})
      for (const row of defaults) expect(row).toMatchObject({ workers: "0", cost: "1.1", name: "inventory-service" })
      const own = yield* settingsWith({ DATABASE_SESSION_OPTIONS: "-c random_page_cost=2" })
      for (const row of own) expect(row.cost).toBe("2")
    }).pipe(Effect.scoped),
  )
})
