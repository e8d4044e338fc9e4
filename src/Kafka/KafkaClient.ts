import { Effect, LogLevel, Option, Redacted, Runtime, Schedule } from "effect"
import {
  Kafka,
  type KafkaConfig,
  logLevel,
  Partitioners,
  type Producer,
  type SASLOptions,
  type TopicMessages,
} from "kafkajs"
import { AppConfig, type AppConfigShape } from "../Config.js"
import { compressionTypes } from "./Codecs.js"
import { KafkaError } from "./Errors.js"
import "./TimerWarning.js"

// kafkajs logs through its own hook: its warnings and errors go through the Effect logger (the same
// JSON, and LOG_LEVEL applies). These are logged at debug level:
// - a failed fetch, logged by kafkajs on every retry and its crash once more: the consumer logs each
//   crash itself, once per back-off step;
// - conditions that are normal and retried, which a newcomer reads as failures: a fresh broker's
//   coordinator loading or not yet available; a broker not answering (the service logs that itself);
// - "Limiting retries for the idempotent producer may invalidate EoS guarantees": the service limits
//   the producer's retries on purpose. An event leaves the outbox only once Kafka acknowledged it, the
//   relay retries what failed (replacing a wedged producer) and every event carries a stable event_id,
//   so a repeat after a retry is one consumers drop; no Kafka transaction is involved.
const levelOf: Record<number, LogLevel.LogLevel> = {
  1: LogLevel.Error,
  2: LogLevel.Warning,
  4: LogLevel.Info,
  5: LogLevel.Debug,
}
const quietUnlessDebug = (namespace: string, message: string) =>
  (namespace === "Connection" && message.startsWith("Response ")) ||
  (namespace === "Consumer" && (message.startsWith("Crash") || message.startsWith("Restarting"))) ||
  message.includes("coordinator is loading") ||
  message.includes("coordinator is not available") ||
  message.startsWith("Limiting retries for the idempotent producer") ||
  // a broker that does not answer: the service says so itself, once per attempt, naming the brokers
  (namespace === "Connection" && message.startsWith("Connection error")) ||
  (namespace === "BrokerPool" && message.startsWith("Failed to connect to seed broker"))
/** kafkajs's lines through the Effect logger of `runtime`: the same JSON, and LOG_LEVEL applies. */
const logCreator =
  (runtime: Runtime.Runtime<never>) =>
  () =>
  (entry: { namespace: string; level: number; log: { message: string } & Record<string, unknown> }) => {
    const { message, timestamp: _t, logger: _l, ...rest } = entry.log
    const level = quietUnlessDebug(entry.namespace, message) ? LogLevel.Debug : (levelOf[entry.level] ?? LogLevel.Info)
    Runtime.runFork(runtime)(
      Effect.logWithLevel(level, `kafkajs ${entry.namespace}: ${message}`).pipe(Effect.annotateLogs(rest)),
    )
  }

/** Runs a kafkajs promise; a rejection is a KafkaError saying what was being done. */
export const kafkaCall = <A>(doing: string, run: () => Promise<A>): Effect.Effect<A, KafkaError> =>
  Effect.tryPromise({
    try: run,
    catch: (cause) =>
      new KafkaError({ message: `${doing}: ${cause instanceof Error ? cause.message : String(cause)}`, cause }),
  })

/**
 * A broker that does not answer at start is waited for, however long it takes (logged, backing off
 * to 10 s): the HTTP server is up meanwhile, serving reads, and /ready says the consumer is not in
 * its group. Dying instead would take the reads down with it and restart the pod in a loop.
 */
const untilReachable =
  (config: AppConfigShape) =>
  <A>(effect: Effect.Effect<A, KafkaError>): Effect.Effect<A> =>
    effect.pipe(
      Effect.tapError((error) =>
        Effect.logWarning(`Kafka at ${config.kafka.brokers.join(",")} not reachable yet; trying again`).pipe(
          Effect.annotateLogs({ reason: error.message }),
        ),
      ),
      Effect.retry(Schedule.exponential("500 millis").pipe(Schedule.either(Schedule.spaced("10 seconds")))),
      Effect.orDie,
    )

const kafkaConfig = (config: AppConfigShape, runtime: Runtime.Runtime<never>): KafkaConfig => {
  const { kafka } = config
  const sasl: SASLOptions | undefined = Option.match(kafka.saslMechanism, {
    onNone: () => undefined,
    onSome: (mechanism) =>
      ({
        mechanism,
        username: Option.getOrElse(kafka.saslUsername, () => ""),
        password: Option.match(kafka.saslPassword, { onNone: () => "", onSome: Redacted.value }),
      }) as SASLOptions,
  })
  return {
    clientId: kafka.clientId,
    brokers: [...kafka.brokers],
    ssl: kafka.ssl,
    ...(sasl ? { sasl } : {}),
    logLevel: logLevel.WARN,
    logCreator: logCreator(runtime),
    connectionTimeout: 3000,
    requestTimeout: 30000,
    retry: { initialRetryTime: 200, maxRetryTime: 5000, retries: 8 },
  }
}

/** The Kafka client, an idempotent producer (replaced when it fails), and the topics the service uses. */
export class KafkaClient extends Effect.Service<KafkaClient>()("KafkaClient", {
  scoped: Effect.gen(function* () {
    const config = yield* AppConfig
    const kafka = new Kafka(kafkaConfig(config, yield* Effect.runtime<never>()))
    if (config.kafka.createTopics) {
      yield* Effect.acquireUseRelease(
        Effect.sync(() => kafka.admin()),
        (admin) =>
          kafkaCall(`cannot create topics on ${config.kafka.brokers.join(",")}`, async () => {
            await admin.connect()
            const existing = new Set(await admin.listTopics())
            const wanted = Object.values(config.topics).filter((t) => !existing.has(t))
            if (wanted.length > 0) {
              await admin.createTopics({
                waitForLeaders: true,
                topics: wanted.map((topic) => ({ topic, numPartitions: config.kafka.topicPartitions })),
              })
            }
            return wanted
          }),
        (admin) => Effect.promise(() => admin.disconnect().catch(() => {})),
      ).pipe(
        Effect.tap((created) => (created.length > 0 ? Effect.logInfo("created topics", created) : Effect.void)),
        untilReachable(config),
      )
    }
    // Idempotent: a retry within one producer session is not duplicated by the broker. Retries are
    // bounded so that a producer wedged by a broker crash (out-of-order sequence, unknown producer
    // id) is replaced instead of retrying forever; what it had not delivered is sent again by the
    // caller, and consumers drop the repeat by event_id.
    const connect = async () => {
      const p = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
        retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5000 },
      })
      await p.connect()
      return p
    }
    let current: Producer = yield* kafkaCall(
      `cannot connect a producer to ${config.kafka.brokers.join(",")}`,
      connect,
    ).pipe(untilReachable(config))
    yield* Effect.addFinalizer(() => Effect.promise(() => current.disconnect().catch(() => {})))

    /** Sends with the current producer; on failure replaces it, then fails so the caller retries. */
    const send = <A>(use: (producer: Producer) => Promise<A>) =>
      kafkaCall("produce failed", () => use(current)).pipe(
        Effect.tapError((error) =>
          Effect.gen(function* () {
            yield* Effect.logWarning("produce failed; replacing the producer", error.message)
            const old = current
            yield* Effect.promise(() => old.disconnect().catch(() => {}))
            current = yield* kafkaCall("cannot connect a producer", connect).pipe(Effect.orElseSucceed(() => old))
          }),
        ),
      )

    const compression = compressionTypes[config.kafka.compression]
    /** Publishes durably (acks from all in-sync replicas), compressed with KAFKA_COMPRESSION. */
    const publish = (topicMessages: Array<TopicMessages>) =>
      send((producer) => producer.sendBatch({ acks: -1, compression, topicMessages })).pipe(
        Effect.withSpan("KafkaClient.send", {
          attributes: { messages: topicMessages.reduce((n, t) => n + t.messages.length, 0) },
        }),
      )
    return { kafka, publish } as const
  }),
}) {}
