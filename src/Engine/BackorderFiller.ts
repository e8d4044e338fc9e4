import { Duration, Effect, Metric, Schedule } from "effect"
import { AppConfig } from "../Config.js"
import { stockKey } from "../Domain/Lifecycle.js"
import { Backorders, type WaitingLine } from "../Store/Backorders.js"
import { Engine } from "./Engine.js"

/** Lines filled per place and round. */
const perPlace = 100

const roundsWithWaiting = Metric.counter("inventory_backorder_fill_rounds_total", {
  description: "rounds that found backorders stock could fill",
  incremental: true,
})

/**
 * Fills the backorders of these lines (oldest order first at each place, as the commit judges them),
 * one order after another, each decided once the one before it is durable. At a place it stops at
 * the first order that still waits afterwards (nothing younger may be filled before it), and it stops
 * altogether at a refused commit: the next round reads the lines again.
 */
export const fillInTurn = (engine: Engine, waiting: ReadonlyArray<WaitingLine>) =>
  Effect.gen(function* () {
    let stoppedAt: string | undefined
    for (const { orderId, productId, locationId } of waiting) {
      const place = stockKey(productId, locationId)
      if (place === stoppedAt) continue
      let waits = true
      const message = {
        _tag: "Fill",
        order: { order_id: orderId },
        productId,
        locationId,
        answer: (left: number) => {
          waits = left > 0
        },
      } as const
      const committed = yield* engine.decide([message]).pipe(
        Effect.flatMap((decided) => decided.durable),
        Effect.as(true),
        Effect.catchAll((e) =>
          Effect.as(Effect.logDebug("a fill was not committed").pipe(Effect.annotateLogs({ reason: e._tag })), false),
        ),
      )
      if (!committed) return
      if (waits) stoppedAt = place
    }
  })

/**
 * Fills backorders where stock has arrived (an adjustment, a count up, a received transfer, a
 * release), oldest order first, through the engine like any other decision: each order's promised
 * units at that place become reserved (`inventory.backorder_filled`). Orders never take units owed
 * to backorders, so what arrives waits for them. The promises are in PostgreSQL, so filling survives
 * restarts and runs once across instances (Backorders); a fill that loses a race (a cancellation
 * first, another instance) finds nothing to fill, or is refused by the commit's checks.
 */
export class BackorderFiller extends Effect.Service<BackorderFiller>()("BackorderFiller", {
  scoped: Effect.gen(function* () {
    const backorders = yield* Backorders
    const engine = yield* Engine
    const { engine: settings } = yield* AppConfig

    /** One round: how many waiting lines it found (0 when another instance holds the lock). */
    const fillOnce = backorders.round(perPlace, (waiting) =>
      fillInTurn(engine, waiting).pipe(
        Effect.zipRight(Metric.increment(roundsWithWaiting)),
        Effect.zipRight(Effect.logDebug("filled backorders").pipe(Effect.annotateLogs({ lines: waiting.length }))),
      ),
    )

    yield* fillOnce.pipe(
      Effect.catchAllCause((cause) => Effect.as(Effect.logWarning("backorder fill failed; trying again", cause), 0)),
      Effect.repeat(Schedule.spaced(Duration.millis(settings.backorderFillMs))),
      Effect.forkScoped,
    )

    /** Fills now (tests and operations): how many waiting lines were looked at. */
    return { fillOnce } as const
  }),
  dependencies: [Backorders.Default],
}) {}
