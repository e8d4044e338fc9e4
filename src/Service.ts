import { Layer } from "effect"
import { ConsumerStatus } from "./ConsumerStatus.js"
import { BackorderFiller } from "./Engine/BackorderFiller.js"
import { Engine } from "./Engine/Engine.js"
import { ExpirySweeper } from "./Engine/ExpirySweeper.js"
import { HttpServerLive } from "./Http/Server.js"
import { DeadLetters } from "./Kafka/DeadLetters.js"
import { KafkaClient } from "./Kafka/KafkaClient.js"
import { OrderConsumer } from "./Kafka/OrderConsumer.js"
import { OutboxRelay } from "./Kafka/OutboxRelay.js"
import { DatabaseLive } from "./Store/Database.js"
import { Reconciliation } from "./Store/Reconciliation.js"

/**
 * The engine and what it stands on: migrated database, Kafka client, outbox relay; the expiry
 * sweeper, the backorder filler and reconciliation.
 */
export const EngineLive = Layer.mergeAll(
  ExpirySweeper.Default,
  BackorderFiller.Default,
  Reconciliation.Default,
  OutboxRelay.Default,
  DeadLetters.Default,
).pipe(Layer.provideMerge(Engine.Default), Layer.provideMerge(KafkaClient.Default), Layer.provideMerge(DatabaseLive))

/**
 * The whole service, given its configuration. The HTTP server stands on PostgreSQL alone and is
 * built beside the Kafka side (client, outbox relay, dead letters, consumer), not after it: with the
 * broker away it serves /health, reads and admin writes, and /ready says the consumer is not in its
 * group.
 */
export const ServiceLive = Layer.merge(
  HttpServerLive,
  OrderConsumer.Default.pipe(
    Layer.provideMerge(Layer.mergeAll(OutboxRelay.Default, DeadLetters.Default)),
    Layer.provideMerge(KafkaClient.Default),
  ),
).pipe(
  Layer.provideMerge(
    Layer.mergeAll(ExpirySweeper.Default, BackorderFiller.Default, Reconciliation.Default, ConsumerStatus.Default).pipe(
      Layer.provideMerge(Engine.Default),
    ),
  ),
  Layer.provideMerge(DatabaseLive),
)
