import { SqlClient } from "@effect/sql"
import { Duration, Effect, Schedule } from "effect"
import type { SeenEvent } from "./TestKafka.js"
import { TestKafka } from "./TestKafka.js"

export interface OutcomeReport {
  readonly orders: number
  /** orders with no row in the database */
  readonly lost: number
  /** orders with more than one distinct outcome event */
  readonly doubled: number
  /** decided orders whose outcome never reached Kafka */
  readonly missingEvents: number
  /** the same event_id delivered more than once (a consumer drops these) */
  readonly duplicateEventsOnWire: number
}

const outcomeTopics = (kafka: TestKafka["Type"]) => new Set([kafka.topics.reserved, kafka.topics.outOfStock])

/** Compares what the database decided with what reached Kafka, per order. */
export const outcomeReport = (orderIds: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const kafka = yield* TestKafka
    const rows = yield* sql<{ order_id: string; status: string }>`SELECT order_id, status FROM reservations`
    const decided = new Map(rows.map((r) => [r.order_id, r.status]))
    const topics = outcomeTopics(kafka)
    const events = kafka.events().filter((e) => topics.has(e.topic))
    const idsByOrder = new Map<string, Set<string>>()
    for (const e of events) idsByOrder.set(e.key, (idsByOrder.get(e.key) ?? new Set()).add(e.eventId))
    const distinct = new Set(events.map((e) => e.eventId))
    return {
      orders: orderIds.length,
      lost: orderIds.filter((id) => !decided.has(id)).length,
      doubled: orderIds.filter((id) => (idsByOrder.get(id)?.size ?? 0) > 1).length,
      // an order cancelled before it arrived never had an outcome to publish
      missingEvents: orderIds.filter((id) => {
        const status = decided.get(id)
        return status !== undefined && status !== "cancelled_before_create" && !idsByOrder.has(id)
      }).length,
      duplicateEventsOnWire: events.length - distinct.size,
      decided,
    } satisfies OutcomeReport & { decided: ReadonlyMap<string, string> }
  })

/** Waits until every order is decided, the outbox is empty and every outcome is on Kafka. */
export const waitForDrain = (
  orderIds: ReadonlyArray<string>,
  timeout: Duration.DurationInput = Duration.minutes(3),
) => {
  let last = "nothing checked yet"
  return Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const [counts] = yield* sql<{ outbox: number }>`SELECT count(*)::int AS outbox FROM outbox`
    const report = yield* outcomeReport(orderIds)
    if (report.lost > 0 || counts!.outbox > 0 || report.missingEvents > 0) {
      const missing = orderIds.filter((id) => !report.decided.has(id)).slice(0, 5)
      last = `decided ${orderIds.length - report.lost}/${orderIds.length} (missing e.g. ${missing.join(", ")}), outbox ${counts!.outbox}, events missing ${report.missingEvents}`
      return yield* Effect.fail(last)
    }
    return report
  }).pipe(
    Effect.retry(Schedule.spaced(Duration.millis(250))),
    Effect.timeoutFail({ duration: timeout, onTimeout: () => new Error(`the service did not drain in time: ${last}`) }),
    Effect.orDie,
  )
}

export type { SeenEvent }
