import { SqlClient } from "@effect/sql"
import { Duration, Effect, Metric, Schedule } from "effect"
import { AppConfig } from "../Config.js"
import type { OrderId } from "../Domain/Ids.js"
import { Engine } from "./Engine.js"

// Any fixed key, distinct from the migrations' one: one instance sweeps at a time.
const sweepLockKey = 7_246_301_016

/** Due reservations released per sweep; a full sweep is followed by another at once. */
const sweepLimit = 500

const sweepsWithDue = Metric.counter("inventory_expiry_sweeps_total", {
  description: "sweeps that found due reservations",
  incremental: true,
})

/**
 * Releases reservations whose due time has passed, through the engine like any other decision
 * (the actors, the group commit, `inventory.released` with reason "expired"). The due time is in
 * PostgreSQL, so expiry survives restarts; the sweep reads it through a partial index on the due
 * time. One instance sweeps at a time: the sweep holds a PostgreSQL advisory lock on its own
 * connection until what it released is durable (a killed sweeper's session ends and frees it).
 * An expiry that loses a race (a cancellation, a fulfilment or an extension decided first, here or
 * in another instance) finds the order no longer due, or is refused by the commit's status check.
 */
export class ExpirySweeper extends Effect.Service<ExpirySweeper>()("ExpirySweeper", {
  scoped: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const engine = yield* Engine
    const { engine: settings } = yield* AppConfig

    /** One sweep: how many due reservations it found (0 when another instance holds the lock). */
    const sweepOnce = Effect.gen(function* () {
      const connection = yield* sql.reserve
      const [lock] = yield* connection.execute("SELECT pg_try_advisory_lock($1) AS locked", [sweepLockKey], undefined)
      if (lock?.locked !== true) return 0
      yield* Effect.addFinalizer(() =>
        connection.executeRaw("SELECT pg_advisory_unlock($1)", [sweepLockKey]).pipe(Effect.ignore),
      )
      const due: ReadonlyArray<{ order_id: OrderId }> = yield* connection.execute(
        `SELECT order_id FROM reservations
          WHERE status = 'reserved' AND expires_at <= now() ORDER BY expires_at LIMIT $1`,
        [sweepLimit],
        undefined,
      )
      if (due.length === 0) return 0
      yield* engine.expire(due.map((r) => r.order_id))
      yield* Metric.increment(sweepsWithDue)
      yield* Effect.logDebug("expired due reservations").pipe(Effect.annotateLogs({ due: due.length }))
      return due.length
    }).pipe(Effect.scoped)

    yield* sweepOnce.pipe(
      Effect.catchAllCause((cause) => Effect.as(Effect.logWarning("expiry sweep failed; trying again", cause), 0)),
      // a full sweep means more are due: sweep again at once
      Effect.repeat({ while: (found) => found >= sweepLimit }),
      Effect.repeat(Schedule.spaced(Duration.millis(settings.expirySweepMs))),
      Effect.forkScoped,
    )

    /** Sweeps now (tests and operations): how many due reservations were released. */
    return { sweepOnce } as const
  }),
}) {}
