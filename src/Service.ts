import { Layer } from "effect"
import { Engine } from "./Engine/Engine.js"
import { ExpirySweeper } from "./Engine/ExpirySweeper.js"
import { HttpServerLive } from "./Http/Server.js"
import { DeadLetters } from "./Kafka/DeadLetters.js"
import { KafkaClient } from "./Kafka/KafkaClient.js"
import { OrderConsumer } from "./Kafka/OrderConsumer.js"
import { OutboxRelay } from "./Kafka/OutboxRelay.js"
import { DatabaseLive } from "./Store/Database.js"
import { Reconciliation } from "./Store/Reconciliation.js"

/** The engine and what it stands on: migrated database, Kafka client, outbox relay; the expiry sweeper and reconciliation. */
export const EngineLive = Layer.mergeAll(
  ExpirySweeper.Default,
  Reconciliation.Default,
  OutboxRelay.Default,
  DeadLetters.Default,
).pipe(Layer.provideMerge(Engine.Default), Layer.provideMerge(KafkaClient.Default), Layer.provideMerge(DatabaseLive))

/** The whole service, given its configuration: HTTP, the order consumer and everything beneath. */
export const ServiceLive = HttpServerLive.pipe(
  Layer.provideMerge(OrderConsumer.Default),
  Layer.provideMerge(EngineLive),
)
