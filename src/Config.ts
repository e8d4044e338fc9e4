import { Config, ConfigError, Effect, Record, Redacted, Schema } from "effect"

// Validation happens inside Config.nested so that an error's path names the variable.
const named = <A>(name: string, config: Config.Config<A>) => Config.nested(config, name)

const positiveInt = (name: string, fallback: number) =>
  named(
    name,
    Config.integer().pipe(Config.validate({ message: "must be a positive integer", validation: (n) => n > 0 })),
  ).pipe(Config.withDefault(fallback))

const nonNegativeInt = (name: string, fallback: number) =>
  named(
    name,
    Config.integer().pipe(Config.validate({ message: "must be a whole number, 0 or more", validation: (n) => n >= 0 })),
  ).pipe(Config.withDefault(fallback))

const port = (name: string, fallback: number) =>
  named(
    name,
    Config.integer().pipe(
      Config.validate({
        message: "must be a TCP port (0-65535, 0 = any free port)",
        validation: (n) => n >= 0 && n <= 65535,
      }),
    ),
  ).pipe(Config.withDefault(fallback))

const brokerList = named(
  "KAFKA_BROKERS",
  Config.string().pipe(
    Config.map((raw) =>
      raw
        .split(",")
        .map((s) => s.trim())
        .filter((s) => s.length > 0),
    ),
    Config.validate({
      message: "must be a comma-separated list of host:port",
      validation: (list) => list.length > 0 && list.every((b) => /^[^\s:]+:\d{1,5}$/.test(b)),
    }),
  ),
).pipe(Config.withDefault(["127.0.0.1:9092"]))

const topic = (name: string, fallback: string) =>
  named(
    name,
    Config.string().pipe(
      Config.validate({
        message: "must be a valid Kafka topic name",
        validation: (t) => /^[a-zA-Z0-9._-]{1,249}$/.test(t),
      }),
    ),
  ).pipe(Config.withDefault(fallback))

const LogLevelName = Schema.Literal("all", "trace", "debug", "info", "warning", "error", "fatal", "none")

const optionalSecret = (name: string) => Config.option(Config.redacted(name))

/** Every topic: the variable that names it, and its name by default. The one table of topics. */
export const topicVariables = {
  ordersCreated: ["TOPIC_ORDERS_CREATED", "orders.created"],
  ordersCancelled: ["TOPIC_ORDERS_CANCELLED", "orders.cancelled"],
  ordersFulfilled: ["TOPIC_ORDERS_FULFILLED", "orders.fulfilled"],
  reserved: ["TOPIC_INVENTORY_RESERVED", "inventory.reserved"],
  released: ["TOPIC_INVENTORY_RELEASED", "inventory.released"],
  fulfilled: ["TOPIC_INVENTORY_FULFILLED", "inventory.fulfilled"],
  fulfillmentRejected: ["TOPIC_INVENTORY_FULFILLMENT_REJECTED", "inventory.fulfillment_rejected"],
  outOfStock: ["TOPIC_INVENTORY_OUT_OF_STOCK", "inventory.out_of_stock"],
  adjusted: ["TOPIC_INVENTORY_ADJUSTED", "inventory.adjusted"],
  lowStock: ["TOPIC_INVENTORY_LOW_STOCK", "inventory.low_stock"],
  transferred: ["TOPIC_INVENTORY_TRANSFERRED", "inventory.transferred"],
  backorderFilled: ["TOPIC_INVENTORY_BACKORDER_FILLED", "inventory.backorder_filled"],
  deadLetter: ["TOPIC_DEAD_LETTER", "inventory.dead_letter"],
} as const satisfies Record<string, readonly [string, string]>

export type Topics = { readonly [K in keyof typeof topicVariables]: string }

export const TopicsConfig: Config.Config<Topics> = Config.all(
  Record.map(topicVariables, ([variable, name]) => topic(variable, name)),
)

/** The default names with a suffix: topics of a test suite's or a bench run's own. */
export const topicsWithSuffix = (suffix: string): Topics =>
  Record.map(topicVariables, ([, name]) => `${name}.${suffix}`)

/** The environment that configures `topics`. */
export const topicEnv = (topics: Topics): Record<string, string> =>
  Object.fromEntries(Object.entries(topicVariables).map(([key, [variable]]) => [variable, topics[key as keyof Topics]]))

/** The topics an environment names (defaults where unset), for scripts that read it directly. */
export const topicsFromEnv = (env: Record<string, string | undefined>): Topics =>
  Record.map(topicVariables, ([variable, name]) => env[variable] ?? name)

export const AppConfigSchema = Config.all({
  kafka: Config.all({
    brokers: brokerList,
    clientId: Config.string("KAFKA_CLIENT_ID").pipe(Config.withDefault("inventory-service")),
    groupId: Config.string("KAFKA_GROUP_ID").pipe(Config.withDefault("inventory-service-group")),
    ssl: Config.boolean("KAFKA_SSL").pipe(Config.withDefault(false)),
    saslMechanism: Config.option(Config.literal("plain", "scram-sha-256", "scram-sha-512")("KAFKA_SASL_MECHANISM")),
    saslUsername: Config.option(Config.string("KAFKA_SASL_USERNAME")),
    saslPassword: optionalSecret("KAFKA_SASL_PASSWORD"),
    createTopics: Config.boolean("KAFKA_CREATE_TOPICS").pipe(Config.withDefault(true)),
    topicPartitions: positiveInt("KAFKA_TOPIC_PARTITIONS", 6),
    partitionsConsumedConcurrently: positiveInt("KAFKA_PARTITIONS_CONCURRENCY", 6),
    sessionTimeoutMs: positiveInt("KAFKA_SESSION_TIMEOUT_MS", 30000),
    compression: Config.literal(
      "none",
      "gzip",
      "snappy",
      "lz4",
      "zstd",
    )("KAFKA_COMPRESSION").pipe(Config.withDefault("none")),
  }),
  topics: TopicsConfig,
  http: Config.all({
    port: port("SERVICE_PORT", 8083),
    adminToken: optionalSecret("ADMIN_TOKEN"),
    maxBodyBytes: positiveInt("HTTP_MAX_BODY_BYTES", 2_097_152),
  }),
  database: Config.all({
    url: named(
      "DATABASE_URL",
      Config.redacted().pipe(
        Config.validate({
          message: "must be a postgres:// or postgresql:// URL",
          validation: (url) => /^postgres(ql)?:\/\/[^\s]+$/.test(Redacted.value(url)),
        }),
      ),
    ).pipe(Config.withDefault(Redacted.make("postgres://postgres@127.0.0.1:5432/inventory"))),
    ssl: Config.boolean("DATABASE_SSL").pipe(Config.withDefault(false)),
    maxConnections: positiveInt("DATABASE_MAX_CONNECTIONS", 8),
    /** how the instance's connections are named in pg_stat_activity */
    applicationName: Config.string("DATABASE_APPLICATION_NAME").pipe(Config.withDefault("inventory-service")),
    /**
     * Settings every connection starts with (libpq `options`). The service's statements probe by key,
     * batch after batch: parallel workers cost more to start than the scans they would split on a
     * small box, and index probes over a working set in memory are not disk seeks.
     */
    sessionOptions: Config.string("DATABASE_SESSION_OPTIONS").pipe(
      Config.withDefault("-c max_parallel_workers_per_gather=0 -c random_page_cost=1.1"),
    ),
  }),
  engine: Config.all({
    /**
     * Commands an actor's mailbox takes before senders queue behind it (suspended, in order). The
     * waiting commands are bounded by the senders in flight, each waiting for its answer, not by this.
     */
    mailboxCapacity: positiveInt("ACTOR_MAILBOX_CAPACITY", 256),
    actorIdleSeconds: positiveInt("ACTOR_IDLE_SECONDS", 60),
    commitBatchSize: positiveInt("COMMIT_BATCH_SIZE", 2000),
    consumerChunkSize: positiveInt("CONSUMER_CHUNK_SIZE", 2000),
    /** orders decided and not yet durable, across the instance's partitions, before it waits to decide more */
    maxUndurableOrders: positiveInt("MAX_UNDURABLE_ORDERS", 6000),
    maxMessageBytes: positiveInt("MAX_MESSAGE_BYTES", 262144),
    outboxBatchSize: positiveInt("OUTBOX_BATCH_SIZE", 1000),
    readyOutboxLimit: positiveInt("READY_OUTBOX_LIMIT", 10000),
    /** a reservation with nothing fulfilled is released this long after it was made (0: never) */
    reservationTtlSeconds: nonNegativeInt("RESERVATION_TTL_SECONDS", 0),
    /** how an order's lines are spread over locations: one location for all when one can serve them, or each by priority */
    allocationStrategy: Config.literal(
      "single_first",
      "priority",
    )("ALLOCATION_STRATEGY").pipe(Config.withDefault("single_first" as const)),
    /** how often due reservations are looked for */
    expirySweepMs: positiveInt("EXPIRY_SWEEP_MS", 1000),
    /** how often places owing backorders are looked at for stock that can fill them */
    backorderFillMs: positiveInt("BACKORDER_FILL_MS", 500),
    /** how often the books are checked (stock rows, ledger, reservations) */
    reconcileIntervalSeconds: positiveInt("RECONCILE_INTERVAL_SECONDS", 300),
  }),
  /** traces go out over OTLP/HTTP when an endpoint is set (the standard OpenTelemetry variables) */
  tracing: Config.all({
    endpoint: Config.option(Config.string("OTEL_EXPORTER_OTLP_ENDPOINT")),
    serviceName: Config.string("OTEL_SERVICE_NAME").pipe(Config.withDefault("inventory-service")),
  }),
  // any case; "warn" (the spelling most tools use) means warning
  logLevel: named(
    "LOG_LEVEL",
    Config.string().pipe(
      Config.map((level) => {
        const lower = level.trim().toLowerCase()
        return lower === "warn" ? "warning" : lower
      }),
      Config.validate({
        message: `must be one of ${LogLevelName.literals.join(", ")} (or warn), in any case`,
        validation: Schema.is(LogLevelName),
      }),
    ),
  ).pipe(Config.withDefault("info" as const)),
})

export type AppConfigShape = Config.Config.Success<typeof AppConfigSchema>

/** Every setting, read and validated once at start-up. */
export class AppConfig extends Effect.Service<AppConfig>()("AppConfig", {
  effect: AppConfigSchema,
}) {}

/** One line per problem, naming the variable: what an operator needs when start-up fails. */
export const describeConfigError = (error: ConfigError.ConfigError): string =>
  ConfigError.reduceWithContext(error, undefined, {
    andCase: (_, l, r) => [l, r].filter(Boolean).join("; "),
    orCase: (_, l, r) => [l, r].filter(Boolean).join("; "),
    invalidDataCase: (_, path, message) => `${path.join("_")}: ${message}`,
    missingDataCase: (_, path, message) => `${path.join("_")}: ${message}`,
    sourceUnavailableCase: (_, path, message) => `${path.join("_")}: ${message}`,
    unsupportedCase: (_, path, message) => `${path.join("_")}: ${message}`,
  }) ?? String(error)

export const isConfigError = (u: unknown): u is ConfigError.ConfigError => ConfigError.isConfigError(u)
