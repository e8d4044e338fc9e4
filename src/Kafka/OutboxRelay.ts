import { Duration, Effect, Metric, Schedule } from "effect"
import type { Message } from "kafkajs"
import { AppConfig } from "../Config.js"
import * as EngineMetrics from "../Engine/EngineMetrics.js"
import { Outbox, type PendingEvent } from "../Store/Outbox.js"
import { KafkaClient } from "./KafkaClient.js"

export const eventsPublished = Metric.counter("inventory_events_published_total", { incremental: true })

const byTopic = (events: ReadonlyArray<PendingEvent>) => {
  const topics = new Map<string, Array<Message>>()
  for (const e of events) {
    const messages = topics.get(e.topic) ?? []
    messages.push({ key: e.key, value: e.payload, headers: { event_id: e.eventId, event_type: e.eventType } })
    topics.set(e.topic, messages)
  }
  return Array.from(topics, ([topic, messages]) => ({ topic, messages }))
}

/** Publishes committed events from the outbox, oldest first, one produce call per batch. */
export class OutboxRelay extends Effect.Service<OutboxRelay>()("OutboxRelay", {
  scoped: Effect.gen(function* () {
    const outbox = yield* Outbox
    const kafka = yield* KafkaClient
    const { engine } = yield* AppConfig

    /** when this round began, and when the commit it publishes rang (latency stages) */
    let round = { started: 0, rungAt: undefined as number | undefined }
    const publish = (events: ReadonlyArray<PendingEvent>) =>
      Effect.suspend(() => {
        const read = performance.now()
        const { started, rungAt } = round
        if (rungAt !== undefined) EngineMetrics.timeStage("relay_wakeup", started - rungAt, events.length)
        EngineMetrics.timeStage("relay_read", read - started, events.length)
        return kafka
          .publish(byTopic(events))
          .pipe(
            Effect.zipRight(Metric.incrementBy(eventsPublished, events.length)),
            Effect.ensuring(
              Effect.sync(() => EngineMetrics.timeStage("produce", performance.now() - read, events.length)),
            ),
          )
      })

    const relayOnce = Effect.suspend(() => {
      round = { started: performance.now(), rungAt: outbox.takeRungAt() }
      return outbox.relayOnce(engine.outboxBatchSize, publish)
    })

    const relayLoop = relayOnce.pipe(
      Effect.flatMap((n) =>
        n >= engine.outboxBatchSize
          ? Effect.void
          : outbox.waitForBell.pipe(Effect.timeout(Duration.millis(500)), Effect.ignore),
      ),
      Effect.catchAllCause((cause) =>
        Effect.logWarning("outbox relay failed; retrying", cause).pipe(
          Effect.zipRight(Effect.sleep(Duration.seconds(1))),
        ),
      ),
      Effect.forever,
    )

    yield* Effect.forkScoped(relayLoop)

    // On shutdown, what is committed leaves before the producer closes.
    yield* Effect.addFinalizer(() =>
      relayOnce.pipe(
        Effect.repeat(Schedule.recurWhile((n: number) => n > 0)),
        Effect.timeout(Duration.seconds(10)),
        Effect.zipRight(Effect.logInfo("outbox flushed: every committed event is on Kafka")),
        Effect.catchAllCause((cause) => Effect.logWarning("outbox not fully flushed at shutdown", cause)),
      ),
    )
    return { relayOnce } as const
  }),
  dependencies: [Outbox.Default, KafkaClient.Default],
}) {}
