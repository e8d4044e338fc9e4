import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Effect, Exit, Layer } from "effect"
import { DatabaseLive } from "../../src/Store/Database.js"
import { testConfigLayer } from "../support/TestConfig.js"
import { freshDatabaseUrl } from "../support/TestDatabase.js"

const SuiteDatabase = Layer.unwrapScoped(
  freshDatabaseUrl("migrations").pipe(
    Effect.map((url) => DatabaseLive.pipe(Layer.provide(testConfigLayer({ DATABASE_URL: url })))),
  ),
)

layer(SuiteDatabase, { excludeTestServices: true })("migrations", (it) => {
  it.effect("create every table the engine needs on a fresh database", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const tables = yield* sql<{ name: string }>`
          SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`
      expect(tables.map((t) => t.name)).toEqual(
        expect.arrayContaining([
          "idempotency_keys",
          "outbox",
          "reservation_lines",
          "reservations",
          "stock",
          "stock_ledger",
        ]),
      )
    }),
  )

  it.effect("reject an oversold or unbalanced stock row", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`INSERT INTO stock (product_id, available, reserved, on_hand) VALUES ('P-ok', 5, 2, 7)`
      const oversold = yield* Effect.exit(
        sql`UPDATE stock SET available = available - 6, reserved = reserved + 6 WHERE product_id = 'P-ok'`,
      )
      const unbalanced = yield* Effect.exit(
        sql`INSERT INTO stock (product_id, available, reserved, on_hand) VALUES ('P-bad', 5, 2, 8)`,
      )
      expect(Exit.isFailure(oversold)).toBe(true)
      expect(Exit.isFailure(unbalanced)).toBe(true)
      const [row] = yield* sql<{ available: number }>`SELECT available FROM stock WHERE product_id = 'P-ok'`
      expect(row?.available).toBe(5)
    }),
  )
})
