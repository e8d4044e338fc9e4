import { Duration, Effect, Metric, Schedule } from "effect"
import { AppConfig } from "../Config.js"
import { Backorders } from "../Store/Backorders.js"
import { Engine } from "./Engine.js"

/** Lines filled per place and round; a round that found that many looks again at once. */
const perPlace = 100

const roundsWithWaiting = Metric.counter("inventory_backorder_fill_rounds_total", {
  description: "rounds that found backorders stock could fill",
  incremental: true,
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
      engine
        .fillBackorders(waiting)
        .pipe(
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
