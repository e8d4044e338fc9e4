import { randomUUID } from "node:crypto"
import { SqlClient } from "@effect/sql"
import { Effect, Queue, Schema } from "effect"
import type { Topics } from "../Config.js"
import type { EventBody, EventType } from "../Domain/Events.js"
import { relayLockKey } from "./AdvisoryLocks.js"
import { preparedStatement } from "./Prepared.js"

/** An event as the outbox holds it: the stable `eventId` travels as a header so consumers can drop repeats. */
export interface OutboxEvent {
  readonly eventId: string
  readonly eventType: string
  readonly topic: string
  readonly key: string
  readonly payload: string
}

/** An outbox row waiting to be published, with its position (a bigint, kept as its text). */
const PendingEvent = Schema.Struct({
  id: Schema.String,
  eventId: Schema.String,
  eventType: Schema.String,
  topic: Schema.String,
  key: Schema.String,
  payload: Schema.String,
})
export type PendingEvent = typeof PendingEvent.Type

const topicOf = (topics: Topics, type: EventType): string => {
  switch (type) {
    case "inventory.reserved":
      return topics.reserved
    case "inventory.released":
      return topics.released
    case "inventory.fulfilled":
      return topics.fulfilled
    case "inventory.fulfillment_rejected":
      return topics.fulfillmentRejected
    case "inventory.out_of_stock":
      return topics.outOfStock
    case "inventory.adjusted":
      return topics.adjusted
    case "inventory.low_stock":
      return topics.lowStock
    case "inventory.transferred":
      return topics.transferred
    case "inventory.backorder_filled":
      return topics.backorderFilled
  }
}

/**
 * An outgoing event, typed by its schema: a missing or misspelt field does not compile. (The body is
 * not encoded at run time: it is built from values the engine already holds in the wire's shape.)
 */
export const makeEvent = <T extends EventType>(
  topics: Topics,
  eventType: T,
  key: string,
  body: EventBody<T>,
): OutboxEvent & { readonly eventType: T } => ({
  eventId: randomUUID(),
  eventType,
  topic: topicOf(topics, eventType),
  key,
  payload: JSON.stringify(body),
})

export const nowIso = () => new Date().toISOString()

/** The oldest events, under the relay lock taken once for the statement: none when another instance holds it. */
const oldestStatement = `
WITH relay AS MATERIALIZED (SELECT pg_try_advisory_xact_lock($1) AS locked)
SELECT id::text AS id, event_id AS "eventId", event_type AS "eventType", topic, message_key AS key, payload
  FROM outbox WHERE (SELECT locked FROM relay) ORDER BY outbox.id LIMIT $2`

// Only one relay at a time may publish, so events leave in commit order whatever the number of instances.

/** The outbox table as the relay sees it, and the doorbell the committer rings after a commit. */
export class Outbox extends Effect.Service<Outbox>()("Outbox", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const doorbell = yield* Queue.sliding<void>(1)
    /** when the doorbell was first rung since the relay last looked (performance.now()) */
    let rungAt: number | undefined

    // Named statements (planned once per connection): the lock and the oldest rows in one round trip
    // (no rows when another instance holds the lock), and the delete of what was published.
    const lockedOldest = preparedStatement(sql, "outbox_oldest", oldestStatement)
    const deletePublished = preparedStatement(sql, "outbox_delete", "DELETE FROM outbox WHERE id = ANY($1::bigint[])")
    const decodeEvents = Schema.decodeUnknown(Schema.Array(PendingEvent))
    const oldest = (limit: number) =>
      lockedOldest([relayLockKey, limit]).pipe(Effect.flatMap(decodeEvents), Effect.catchTag("ParseError", Effect.die))

    /**
     * Under the relay lock, hands the oldest events to `publish` and deletes them once it
     * succeeds. A crash after publishing and before the delete publishes them again: consumers
     * drop the repeat by event_id. Returns how many were published (0: none, or another
     * instance holds the lock).
     */
    const relayOnce = <E, R>(
      limit: number,
      publish: (events: ReadonlyArray<PendingEvent>) => Effect.Effect<void, E, R>,
    ) =>
      sql
        .withTransaction(
          Effect.gen(function* () {
            const rows = yield* oldest(limit)
            if (rows.length === 0) return 0
            yield* publish(rows)
            // by id, not by range: a row committed meanwhile with a lower id has not been published yet
            yield* deletePublished([rows.map((r) => r.id)])
            yield* Effect.annotateCurrentSpan("events", rows.length)
            return rows.length
          }),
        )
        .pipe(Effect.withSpan("Outbox.relayOnce"))

    return {
      relayOnce,
      ring: () => {
        rungAt ??= performance.now()
        doorbell.unsafeOffer(undefined)
      },
      /** when the first commit the relay has not looked for yet rang (and forgets it) */
      takeRungAt: () => {
        const at = rungAt
        rungAt = undefined
        return at
      },
      waitForBell: Queue.take(doorbell),
    } as const
  }),
}) {}
