import { Effect, Metric, MetricBoundaries, MetricLabel } from "effect"

const outcomes = [
  "reserved",
  "out_of_stock",
  "released",
  "duplicate",
  "cancelled_before_create",
  "fulfilled",
  "fulfillment_rejected",
  "expired",
  "extended",
  "backorder_filled",
] as const
type Outcome = (typeof outcomes)[number]

const ordersTotal = Metric.counter("inventory_orders_total", {
  description: "order messages by outcome",
  incremental: true,
})

// Built once: a tagged metric made per call hashes its key every time (seen in the profile).
const byOutcome = Object.fromEntries(
  outcomes.map((outcome) => [outcome, Metric.increment(Metric.tagged(ordersTotal, "outcome", outcome))]),
) as Record<Outcome, Effect.Effect<void>>

/** Counts one order message with its outcome. */
export const countOrder = (outcome: Outcome): Effect.Effect<void> => byOutcome[outcome]

export const versionConflicts = Metric.counter("inventory_version_conflicts_total", {
  description: "commits refused by their checks: memory predicted wrong (reload and decide again)",
  incremental: true,
})

export const commitSize = Metric.histogram(
  "inventory_commit_decisions",
  MetricBoundaries.exponential({ start: 1, factor: 2, count: 12 }),
  "decisions per PostgreSQL transaction",
)

export const commitSeconds = Metric.histogram(
  "inventory_commit_seconds",
  MetricBoundaries.exponential({ start: 0.0005, factor: 2, count: 14 }),
  "duration of one group-commit transaction",
)

export const reservationSeconds = Metric.histogram(
  "inventory_reservation_seconds",
  MetricBoundaries.exponential({ start: 0.0005, factor: 2, count: 16 }),
  "from taking an order message to its decision being durable",
)

export const activeActors = Metric.gauge("inventory_active_actors", { description: "product actors in memory" })
export const mailboxDepth = Metric.gauge("inventory_mailbox_depth", {
  description: "commands waiting in actor mailboxes",
})
export const parkedReservations = Metric.gauge("inventory_parked_reservations", {
  description: "short reservations waiting for changes in doubt on their product to settle",
})
export const unsettledChanges = Metric.gauge("inventory_unsettled_changes", {
  description: "changes applied in memory and neither handed to the committer nor given back",
})

export const commitBatch = (decisions: number, millis: number) =>
  Effect.zipRight(Metric.update(commitSize, decisions), Metric.update(commitSeconds, millis / 1000))

export const conflict = Metric.increment(versionConflicts)

export const adjustments = Metric.counter("inventory_adjustments_total", { incremental: true })

/** The stages an order passes through, from its message's produce time to its outcome event produced. */
export const stages = [
  "fetch",
  "queue",
  "lookup",
  "decide",
  "committer_wait",
  "commit",
  "relay_wakeup",
  "relay_read",
  "produce",
] as const
export type Stage = (typeof stages)[number]

export const stageSeconds = Metric.histogram(
  "inventory_stage_seconds",
  MetricBoundaries.exponential({ start: 0.0001, factor: 1.5, count: 32 }),
  "time an order spends in each stage (one sample per order, or per event for the relay's stages)",
)
// One label array per stage, made once: the histogram caches its hook by the array's identity.
const stageLabels: Record<string, ReadonlyArray<MetricLabel.MetricLabel>> = Object.fromEntries(
  stages.map((s) => [s, [MetricLabel.make("stage", s)]]),
)

/** Records that `count` orders (or events) spent `millis` in a stage; callable outside an Effect. */
export const timeStage = (stage: Stage, millis: number, count = 1) => {
  const seconds = millis / 1000
  const labels = stageLabels[stage]!
  for (let i = 0; i < count; i++) stageSeconds.unsafeUpdate(seconds, labels)
}
