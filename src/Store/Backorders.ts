import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { OrderId, ProductId } from "../Domain/Ids.js"
import { backorderFillLockKey, whileHolding } from "./AdvisoryLocks.js"

/** An order's line with units promised at a place where stock now waits. */
export interface WaitingLine {
  readonly orderId: OrderId
  readonly productId: ProductId
  readonly locationId: string
}

/**
 * The backorders stock could fill now: at every place that owes promises and has units beyond its
 * safety stock, the held lines with promised units there, oldest order first (the order the commit
 * judges fills in). Read through the partial indexes on promised rows (no scan per tick). One instance
 * fills at a time: a round holds an advisory lock on its own connection until its fills are durable.
 */
export class Backorders extends Effect.Service<Backorders>()("Backorders", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    /** Hands the waiting lines (up to `perPlace` per place) to `fill` under the lock: how many (0 when another instance fills). */
    const round = <E, R>(perPlace: number, fill: (waiting: ReadonlyArray<WaitingLine>) => Effect.Effect<void, E, R>) =>
      whileHolding(sql, backorderFillLockKey, 0, (connection) =>
        Effect.gen(function* () {
          const rows: ReadonlyArray<{ order_id: OrderId; product_id: ProductId; location_id: string }> =
            yield* connection.execute(
              `SELECT w.order_id, s.product_id, s.location_id FROM stock s
                CROSS JOIN LATERAL (
                  SELECT l.order_id, r.created_at FROM reservation_lines l JOIN reservations r ON r.order_id = l.order_id
                   WHERE l.product_id = s.product_id AND l.location_id = s.location_id AND l.backordered > 0
                     AND r.status IN ('reserved', 'partially_fulfilled')
                   ORDER BY r.created_at, r.order_id LIMIT $1) w
                WHERE s.backordered > 0 AND s.available > s.safety_stock
                ORDER BY s.product_id, s.location_id, w.created_at, w.order_id`,
              [perPlace],
              undefined,
            )
          if (rows.length > 0)
            yield* fill(rows.map((r) => ({ orderId: r.order_id, productId: r.product_id, locationId: r.location_id })))
          return rows.length
        }),
      )

    return { round } as const
  }),
}) {}
