import { Duration, Effect, Metric, Schedule } from "effect"
import { AppConfig } from "../Config.js"
import { DueReservations } from "../Store/DueReservations.js"
import { Engine } from "./Engine.js"

/** Due reservations released per sweep; a full sweep is followed by another at once. */
const sweepLimit = 500

const sweepsWithDue = Metric.counter("inventory_expiry_sweeps_total", {
  description: "sweeps that found due reservations",
  incremental: true,
})

/**
 * Releases reservations whose due time has passed, through the engine like any other decision
 * (the actors, the group commit, `inventory.released` with reason "expired"). The due time is in
 * PostgreSQL, so expiry survives restarts and runs once across instances (DueReservations).
 * An expiry that loses a race (a cancellation, a fulfilment or an extension decided first, here or
 * in another instance) finds the order no longer due, or is refused by the commit's status check.
 */
export class ExpirySweeper extends Effect.Service<ExpirySweeper>()("ExpirySweeper", {
  scoped: Effect.gen(function* () {
    const due = yield* DueReservations
    const engine = yield* Engine
    const { engine: settings } = yield* AppConfig

    /** One sweep: how many due reservations it found (0 when another instance holds the lock). */
    const sweepOnce = due.sweep(sweepLimit, (orderIds) =>
      engine
        .expire(orderIds)
        .pipe(
          Effect.zipRight(Metric.increment(sweepsWithDue)),
          Effect.zipRight(
            Effect.logDebug("expired due reservations").pipe(Effect.annotateLogs({ due: orderIds.length })),
          ),
        ),
    )

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
  dependencies: [DueReservations.Default],
}) {}
