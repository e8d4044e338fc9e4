import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { DatabaseLive } from "../../src/Store/Database.js"
import { preparedStatement } from "../../src/Store/Prepared.js"
import { testConfigLayer } from "../support/TestConfig.js"
import { freshDatabaseUrl } from "../support/TestDatabase.js"

const Database = Layer.unwrapScoped(
  freshDatabaseUrl("prepared").pipe(
    Effect.map((url) => DatabaseLive.pipe(Layer.provideMerge(testConfigLayer({ DATABASE_URL: url })))),
  ),
).pipe(Layer.orDie)

layer(Database, { excludeTestServices: true })("a named statement", (it) => {
  it.effect("runs in the fiber's transaction when there is one, and is prepared under its name", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const transactionId = preparedStatement<{ id: string }>(sql, "test_txid", "SELECT txid_current()::text AS id")
      const [inside, outside] = yield* sql.withTransaction(
        Effect.gen(function* () {
          const [named] = yield* transactionId([])
          const [plain] = yield* sql<{ id: string }>`SELECT txid_current()::text AS id`
          return [named!.id, plain!.id] as const
        }),
      )
      expect(inside).toBe(outside)
      // outside a transaction too (a connection of the pool): the session lists it among its prepared statements
      const seen = preparedStatement<{ n: number }>(
        sql,
        "test_prepared",
        "SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name = 'test_prepared'",
      )
      yield* seen([])
      const [again] = yield* sql.withTransaction(seen([]))
      expect(again!.n).toBe(1)
    }),
  )
})
