import type { SqlClient } from "@effect/sql"
import { Effect } from "effect"

// Every PostgreSQL advisory lock the service takes, in one place, so no two can collide.

/** Held by the one instance applying migrations. */
export const migrationLockKey = 7_246_301_015

/** Held (for a transaction) by the one instance relaying the outbox. */
export const relayLockKey = 0x1f_4e_27_01

/** Held by the one instance sweeping due reservations. */
export const expirySweepLockKey = 7_246_301_016

/** Held by the one instance filling backorders. */
export const backorderFillLockKey = 7_246_301_017

/** A connection of the pool reserved for one holder of a session lock (`sql.reserve`). */
type Connection = Effect.Effect.Success<SqlClient.SqlClient["reserve"]>

/**
 * Runs `use` on a reserved connection while it holds the session lock `key`, released at the end;
 * `orElse` when another session holds it. A holder that dies ends its session, which frees the lock.
 */
export const whileHolding = <A, E, R>(
  sql: SqlClient.SqlClient,
  key: number,
  orElse: A,
  use: (connection: Connection) => Effect.Effect<A, E, R>,
) =>
  Effect.gen(function* () {
    const connection = yield* sql.reserve
    const [lock] = yield* connection.execute("SELECT pg_try_advisory_lock($1) AS locked", [key], undefined)
    if (lock?.locked !== true) return orElse
    yield* Effect.addFinalizer(() => connection.executeRaw("SELECT pg_advisory_unlock($1)", [key]).pipe(Effect.ignore))
    return yield* use(connection)
  }).pipe(Effect.scoped)
