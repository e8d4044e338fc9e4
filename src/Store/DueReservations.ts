import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { OrderId } from "../Domain/Ids.js"
import { expirySweepLockKey, whileHolding } from "./AdvisoryLocks.js"

/**
 * The reservations whose due time has passed, read through the partial index on the due time (no
 * scan of the table per tick). One instance sweeps at a time: a sweep holds an advisory lock on its
 * own connection until what it released is durable (a killed sweeper's session ends and frees it).
 */
export class DueReservations extends Effect.Service<DueReservations>()("DueReservations", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    /** Hands up to `limit` due orders to `release` under the lock: how many (0 when another instance sweeps). */
    const sweep = <E, R>(limit: number, release: (due: ReadonlyArray<OrderId>) => Effect.Effect<void, E, R>) =>
      whileHolding(sql, expirySweepLockKey, 0, (connection) =>
        Effect.gen(function* () {
          const due: ReadonlyArray<{ order_id: OrderId }> = yield* connection.execute(
            `SELECT order_id FROM reservations r
              WHERE status = 'reserved' AND expires_at <= now()
                -- a reservation still waiting for promised units does not expire
                AND NOT EXISTS (SELECT 1 FROM reservation_lines l WHERE l.order_id = r.order_id AND l.backordered > 0)
              ORDER BY expires_at LIMIT $1`,
            [limit],
            undefined,
          )
          if (due.length > 0) yield* release(due.map((r) => r.order_id))
          return due.length
        }),
      )

    return { sweep } as const
  }),
}) {}
