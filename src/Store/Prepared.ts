import { SqlClient } from "@effect/sql"
import type { SqlError } from "@effect/sql/SqlError"
import { Effect, Option } from "effect"

/**
 * A named statement: each connection parses and plans it once and keeps the plan, where an unnamed
 * statement (what `sql` templates send) is planned again on every call, a fixed cost that small
 * batches pay in full. Runs on the fiber's transaction when there is one, else on a pooled connection.
 */
export const preparedStatement =
  <Row>(sql: SqlClient.SqlClient, name: string, text: string) =>
  (params: ReadonlyArray<unknown>): Effect.Effect<ReadonlyArray<Row>, SqlError> =>
    Effect.serviceOption(SqlClient.TransactionConnection).pipe(
      Effect.flatMap(
        Option.match({
          onNone: () => sql.reserve,
          onSome: ([connection]) => Effect.succeed(connection),
        }),
      ),
      // node-postgres takes a query config in place of the text: its name makes the statement prepared
      Effect.flatMap((connection) => connection.executeRaw({ name, text } as never, params)),
      Effect.map((result) => (result as { readonly rows: ReadonlyArray<Row> }).rows),
      Effect.scoped,
    )
