import { SqlClient, SqlSchema } from "@effect/sql"
import { Duration, Effect, Metric, Schedule, Schema } from "effect"
import { AppConfig } from "../Config.js"
import { type Drift, ReconcileReport } from "./Records.js"

// Continuous reconciliation: do the books add up? Per product and location, in one read of committed rows
// (a single statement sees one snapshot, and every commit is one statement, so nothing is seen
// half-written): the row balances (on_hand = available + reserved), the ledger's last row ends
// at the row, and `reserved` is what active reservations still hold. It never touches an actor
// and never writes: a repair is the engine's, through the same commit as every other change.

const driftProducts = Metric.gauge("inventory_reconciliation_drift_products", {
  description: "products whose books did not add up at the last reconciliation",
})
const lastRun = Metric.gauge("inventory_reconciliation_last_run_timestamp_seconds", {
  description: "when the last reconciliation finished (unix seconds)",
})

/** A product whose books may not add up, as the check reads it. */
const CheckedRow = Schema.Struct({
  product_id: Schema.String,
  location_id: Schema.String,
  available: Schema.Number,
  reserved: Schema.Number,
  on_hand: Schema.Number,
  ledger_available: Schema.NullOr(Schema.Number),
  ledger_reserved: Schema.NullOr(Schema.Number),
  held: Schema.Number,
  backordered: Schema.Number,
  backorder_limit: Schema.Number,
  promised: Schema.Number,
})
export class Reconciliation extends Effect.Service<Reconciliation>()("Reconciliation", {
  scoped: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const config = yield* AppConfig
    let last: ReconcileReport | undefined

    const suspects = SqlSchema.findAll({
      Request: Schema.Void,
      Result: CheckedRow,
      execute: () => sql`SELECT s.product_id, s.location_id, s.available, s.reserved, s.on_hand,
       g.available_after AS ledger_available, g.reserved_after AS ledger_reserved, COALESCE(h.held, 0)::int AS held,
       s.backordered, s.backorder_limit, COALESCE(h.promised, 0)::int AS promised
  FROM stock s
  LEFT JOIN LATERAL (SELECT available_after, reserved_after FROM stock_ledger l
                      WHERE l.product_id = s.product_id AND l.location_id = s.location_id
                      ORDER BY l.id DESC LIMIT 1) g ON true
  LEFT JOIN (SELECT l.product_id, l.location_id, sum(l.quantity - l.fulfilled - l.released - l.backordered) AS held,
                    sum(l.backordered) AS promised
               FROM reservation_lines l JOIN reservations r USING (order_id)
              WHERE r.status IN ('reserved', 'partially_fulfilled') GROUP BY l.product_id, l.location_id) h
    USING (product_id, location_id)
 WHERE s.on_hand <> s.available + s.reserved OR g.available_after IS NULL
    OR g.available_after <> s.available OR g.reserved_after <> s.reserved OR s.reserved <> COALESCE(h.held, 0)
    OR s.backordered <> COALESCE(h.promised, 0) OR s.backordered > s.backorder_limit
 ORDER BY s.product_id, s.location_id`,
    })
    // units in transit: every transfer's units left a source once and arrived no more than once
    const transfersOff = SqlSchema.findAll({
      Request: Schema.Void,
      Result: ReconcileReport.fields.transfer_drift.value,
      execute: () => sql`SELECT product_id, coalesce(t.sent, 0)::int AS sent, coalesce(t.received, 0)::int AS received,
       coalesce(g.ledger_out, 0)::int AS ledger_out, coalesce(g.ledger_in, 0)::int AS ledger_in
  FROM (SELECT product_id, sum(quantity) AS sent, sum(received) AS received FROM transfers GROUP BY product_id) t
  FULL JOIN (SELECT product_id, -sum(quantity) FILTER (WHERE movement = 'transfer_out') AS ledger_out,
                    sum(quantity) FILTER (WHERE movement = 'transfer_in') AS ledger_in
               FROM stock_ledger WHERE movement IN ('transfer_out', 'transfer_in') GROUP BY product_id) g
 USING (product_id)
 WHERE coalesce(t.sent, 0) <> coalesce(g.ledger_out, 0) OR coalesce(t.received, 0) <> coalesce(g.ledger_in, 0)
 ORDER BY product_id`,
    })
    const counted = SqlSchema.findAll({
      Request: Schema.Void,
      Result: Schema.Struct({ checked: Schema.Number }),
      execute: () => sql`SELECT count(*)::int AS checked FROM stock`,
    })
    const check = Effect.gen(function* () {
      const started = performance.now()
      const rows = yield* suspects(undefined)
      const [{ checked } = { checked: 0 }] = yield* counted(undefined)
      const drift = rows.map((r): Drift => {
        const problems: Array<string> = []
        if (r.on_hand !== r.available + r.reserved) problems.push("on_hand is not available + reserved")
        if (r.ledger_available === null) problems.push("no ledger row")
        else if (r.ledger_available !== r.available || r.ledger_reserved !== r.reserved)
          problems.push(
            `the ledger ends at ${r.ledger_available}/${r.ledger_reserved}, the row is ${r.available}/${r.reserved}`,
          )
        if (r.reserved !== r.held) problems.push(`reserved ${r.reserved}, active reservations hold ${r.held}`)
        if (r.backordered !== r.promised)
          problems.push(`backordered ${r.backordered}, active reservations promise ${r.promised}`)
        if (r.backordered > r.backorder_limit)
          problems.push(`backordered ${r.backordered} over the backorder limit ${r.backorder_limit}`)
        return {
          product_id: r.product_id,
          location_id: r.location_id,
          problems,
          row: { available: r.available, reserved: r.reserved, on_hand: r.on_hand },
          ledger: r.ledger_available === null ? null : { available: r.ledger_available, reserved: r.ledger_reserved! },
          held: r.held,
        }
      })
      const transferDrift = yield* transfersOff(undefined)
      return { drift, transferDrift, checked, ms: performance.now() - started }
    })

    /**
     * Checks every product and, given `repair` (the engine's correction, through the same commit as
     * every other change), corrects those that drift; the report is kept.
     */
    const run = <E>(
      repair?: (productId: string, locationId: string, problems: ReadonlyArray<string>) => Effect.Effect<void, E>,
    ) =>
      Effect.gen(function* () {
        const { drift, transferDrift, checked, ms } = yield* check
        for (const d of drift)
          yield* Effect.logWarning("stock books do not add up").pipe(
            Effect.annotateLogs({
              product_id: d.product_id,
              location_id: d.location_id,
              problems: d.problems.join("; "),
            }),
          )
        const repaired: Array<string> = []
        if (repair !== undefined) {
          for (const d of drift) {
            yield* repair(d.product_id, d.location_id, d.problems)
            repaired.push(d.location_id === "default" ? d.product_id : `${d.product_id}@${d.location_id}`)
          }
        }
        const report: ReconcileReport = {
          checked_at: new Date().toISOString(),
          duration_ms: Math.round(ms),
          products_checked: checked,
          drift,
          transfer_drift: transferDrift,
          repaired,
        }
        last = report
        for (const t of transferDrift)
          yield* Effect.logWarning("transfers and ledger disagree").pipe(Effect.annotateLogs({ ...t }))
        yield* Metric.set(driftProducts, (repair !== undefined ? 0 : drift.length) + transferDrift.length)
        yield* Metric.set(lastRun, Date.now() / 1000)
        return report
      })

    yield* run().pipe(
      Effect.catchAllCause((cause) => Effect.logWarning("reconciliation failed", cause)),
      Effect.repeat(Schedule.spaced(Duration.seconds(config.engine.reconcileIntervalSeconds))),
      Effect.delay(Duration.seconds(config.engine.reconcileIntervalSeconds)),
      Effect.forkScoped,
    )

    return { run, last: Effect.sync(() => last) } as const
  }),
}) {}
