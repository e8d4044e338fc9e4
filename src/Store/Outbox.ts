import { randomUUID } from "node:crypto"
import { SqlClient } from "@effect/sql"
import { Effect, Queue } from "effect"
import type { Topics } from "../Config.js"
import type { EventBody, EventType } from "../Domain/Events.js"

/** An event as the outbox holds it: the stable `eventId` travels as a header so consumers can drop repeats. */
export interface OutboxEvent {
  readonly eventId: string
  readonly eventType: string
  readonly topic: string
  readonly key: string
  readonly payload: string
}

/** An outbox row waiting to be published, with its position. */
export interface PendingEvent extends OutboxEvent {
  readonly id: string
}

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

// Only one relay at a time may publish, so events leave in commit order whatever the number of instances.
export const relayLockKey = 0x1f_4e_27_01

/** The outbox table as the relay sees it, and the doorbell the committer rings after a commit. */
export class Outbox extends Effect.Service<Outbox>()("Outbox", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const doorbell = yield* Queue.sliding<void>(1)

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
      sql.withTransaction(
        Effect.gen(function* () {
          const [lock] = yield* sql<{ locked: boolean }>`SELECT pg_try_advisory_xact_lock(${relayLockKey}) AS locked`
          if (!lock?.locked) return 0
          const rows = yield* sql<{
            id: string
            event_id: string
            event_type: string
            topic: string
            message_key: string
            payload: string
          }>`SELECT id, event_id, event_type, topic, message_key, payload FROM outbox ORDER BY id LIMIT ${limit}`
          if (rows.length === 0) return 0
          yield* publish(
            rows.map((r) => ({
              id: r.id,
              eventId: r.event_id,
              eventType: r.event_type,
              topic: r.topic,
              key: r.message_key,
              payload: r.payload,
            })),
          )
          // by id, not by range: a row committed meanwhile with a lower id has not been published yet
          yield* sql.unsafe("DELETE FROM outbox WHERE id = ANY($1::bigint[])", [rows.map((r) => r.id)] as never)
          return rows.length
        }),
      )

    return {
      relayOnce,
      ring: () => doorbell.unsafeOffer(undefined),
      waitForBell: Queue.take(doorbell),
    } as const
  }),
}) {}
