import { readFileSync } from "node:fs"
import { NodeSdk } from "@effect/opentelemetry"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Layer, Option } from "effect"
import { AppConfig } from "./Config.js"

const serviceVersion = (
  JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }
).version

/**
 * Spans (`Effect.fn` / `Effect.withSpan`: the commit, the outbox relay, sends to Kafka, stock
 * adjustments, SQL statements) exported over OTLP/HTTP to `OTEL_EXPORTER_OTLP_ENDPOINT`, batched.
 * Off, and free of exporters, when the variable is unset. The exporter reads the other standard
 * variables itself (OTEL_EXPORTER_OTLP_HEADERS, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, OTEL_BSP_*).
 */
export const TracingLive = Layer.unwrapEffect(
  Effect.map(AppConfig, ({ tracing }) =>
    Option.match(tracing.endpoint, {
      onNone: () => Layer.empty,
      onSome: (endpoint) =>
        NodeSdk.layer(() => ({
          resource: { serviceName: tracing.serviceName, serviceVersion },
          spanProcessor: new BatchSpanProcessor(
            new OTLPTraceExporter({ url: `${endpoint.replace(/\/$/, "")}/v1/traces` }),
          ),
        })).pipe(Layer.tap(() => Effect.logInfo("exporting traces over OTLP").pipe(Effect.annotateLogs({ endpoint })))),
    }),
  ),
)
