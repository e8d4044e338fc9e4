import { SqlClient } from "@effect/sql"
import { expect, layer } from "@effect/vitest"
import { Cause, Effect, Exit, Layer } from "effect"
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

  it.effect("update a stock row in place: heap-only, no index entry per commit", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`INSERT INTO stock (product_id, available, reserved, on_hand) VALUES ('H-1', 50, 0, 50)`
      const hot = yield* sql.withTransaction(
        Effect.gen(function* () {
          for (let i = 0; i < 3; i++)
            yield* sql`UPDATE stock SET available = available - 1, on_hand = on_hand - 1, version = version + 1
                        WHERE product_id = 'H-1'`
          const [row] = yield* sql<{ n: number }>`
            SELECT pg_stat_get_xact_tuples_hot_updated('stock'::regclass)::int AS n`
          return row!.n
        }),
      )
      expect(hot).toBe(3)
    }),
  )

  it.effect("write one index entry per ledger row and per outbox row: only the indexes something reads", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const indexes = yield* sql<{ table: string; index: string }>`
        SELECT tablename AS table, indexname AS index FROM pg_indexes
         WHERE tablename IN ('stock_ledger', 'outbox') ORDER BY tablename, indexname`
      expect(indexes.map((i) => `${i.table}.${i.index}`)).toEqual([
        "outbox.outbox_pkey",
        "stock_ledger.stock_ledger_product_idx",
      ])
      // the ledger's id still comes from its sequence, one per row
      yield* sql`INSERT INTO stock_ledger (product_id, movement, quantity, available_before, available_after,
                   reserved_before, reserved_after) VALUES ('L-1', 'initial', 5, 0, 5, 0, 0), ('L-1', 'reserve', 1, 5, 4, 0, 1)`
      const [ids] = yield* sql<{
        n: number
      }>`SELECT count(DISTINCT id)::int AS n FROM stock_ledger WHERE product_id = 'L-1'`
      expect(ids!.n).toBe(2)
    }),
  )

  it.effect("reject an oversold or unbalanced stock row", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      yield* sql`INSERT INTO stock (product_id, available, reserved, on_hand) VALUES ('P-ok', 5, 0, 5)`
      const oversold = yield* Effect.exit(
        sql`UPDATE stock SET available = available - 6, on_hand = on_hand - 6 WHERE product_id = 'P-ok'`,
      )
      const unbalanced = yield* Effect.exit(
        sql`INSERT INTO stock (product_id, available, reserved, on_hand) VALUES ('P-bad', 5, 0, 6)`,
      )
      expect(Exit.isFailure(oversold)).toBe(true)
      expect(Exit.isFailure(unbalanced)).toBe(true)
      const [row] = yield* sql<{ available: number }>`SELECT available FROM stock WHERE product_id = 'P-ok'`
      expect(row?.available).toBe(5)
    }),
  )

  it.effect("abort a statement whose books do not add up: reserved against held lines, status against lines", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const code = (exit: Exit.Exit<unknown, { readonly cause?: unknown }>) =>
        Exit.isFailure(exit) ? (Cause.squash(exit.cause) as { cause?: { code?: string } }).cause?.code : "committed"
      yield* sql`INSERT INTO stock (product_id, available, reserved, on_hand) VALUES ('B-1', 5, 0, 5)`
      // a unit reserved that no line holds
      const heldByNobody = yield* Effect.exit(
        sql`UPDATE stock SET available = available - 1, reserved = reserved + 1 WHERE product_id = 'B-1'`,
      )
      expect(code(heldByNobody)).toBe("IV409")
      // the same unit with the line that holds it, in one statement: the books add up
      yield* sql`WITH r AS (INSERT INTO reservations (order_id, reservation_id, status)
                            VALUES ('B-o', gen_random_uuid(), 'reserved')),
                      l AS (INSERT INTO reservation_lines (order_id, product_id, quantity) VALUES ('B-o', 'B-1', 1))
                 UPDATE stock SET available = available - 1, reserved = reserved + 1 WHERE product_id = 'B-1'`
      // a status its lines do not tell: fulfilled with the unit still held
      const fulfilledButHeld = yield* Effect.exit(
        sql`UPDATE reservations SET status = 'fulfilled' WHERE order_id = 'B-o'`,
      )
      expect(code(fulfilledButHeld)).toBe("IV409")
      const [row] = yield* sql<{ reserved: number }>`SELECT reserved FROM stock WHERE product_id = 'B-1'`
      expect(row?.reserved).toBe(1)
    }),
  )
})
