import { createServer } from "node:http"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { freePort } from "../support/Env.js"
import { processHarness, SuiteEnv } from "../support/Harness.js"
import { httpClient } from "../support/Http.js"
import { order } from "../support/Orders.js"
import { startService, stop } from "../support/ServiceProcess.js"
import { TestKafka } from "../support/TestKafka.js"

// With OTEL_EXPORTER_OTLP_ENDPOINT set, the service exports its spans over OTLP/HTTP (JSON). A
// collector of our own records the span names it receives.

/** An OTLP/HTTP trace receiver on a free port: the names of the spans posted to /v1/traces. */
const collector = Effect.acquireRelease(
  Effect.promise(async () => {
    const names = new Set<string>()
    const server = createServer((request, response) => {
      let body = ""
      request.on("data", (chunk: Buffer) => {
        body += chunk.toString()
      })
      request.on("end", () => {
        if (request.url === "/v1/traces") {
          const sent = JSON.parse(body) as {
            resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<{ name: string }> }> }>
          }
          for (const r of sent.resourceSpans)
            for (const s of r.scopeSpans) for (const span of s.spans) names.add(span.name)
        }
        response.writeHead(200, { "content-type": "application/json" }).end("{}")
      })
    })
    const port = await freePort()
    await new Promise<void>((listening) => server.listen(port, "127.0.0.1", listening))
    return { names, endpoint: `http://127.0.0.1:${port}`, server }
  }),
  ({ server }) => Effect.promise(() => new Promise<void>((closed) => server.close(() => closed()))),
)

layer(processHarness({ label: "tracing" }), { excludeTestServices: true })("tracing", (it) => {
  it.scoped(
    "spans of the commit, the outbox relay, the send to Kafka and an adjustment reach an OTLP endpoint",
    () =>
      Effect.gen(function* () {
        const kafka = yield* TestKafka
        const env = yield* SuiteEnv
        const otlp = yield* collector
        const port = yield* Effect.promise(freePort)
        const service = yield* startService("tracing", {
          ...env,
          SERVICE_PORT: String(port),
          ADMIN_TOKEN: "t",
          OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
          OTEL_BSP_SCHEDULE_DELAY: "100",
        })
        const http = httpClient(port, "t")
        expect((yield* http("PUT", "/inventory/trace-p", { initial_quantity: 10 })).status).toBe(200)
        yield* kafka.send(kafka.topics.ordersCreated, "trace-o1", order("trace-o1", [["trace-p", 2]]))
        yield* kafka.waitFor((events) => events.some((e) => e.topic === kafka.topics.reserved && e.key === "trace-o1"))
        const adjusted = yield* http("POST", "/inventory/trace-p/adjustments", {
          quantity: 3,
          adjustment_type: "restock",
        })
        expect(adjusted.status).toBe(201)
        const wanted = ["StockStore.commit", "Outbox.relayOnce", "KafkaClient.send", "StockWrites.adjust"]
        const seen = yield* Effect.promise(async () => {
          for (let i = 0; i < 100 && !wanted.every((n) => otlp.names.has(n)); i++)
            await new Promise((r) => setTimeout(r, 100))
          return otlp.names
        })
        expect(wanted.filter((n) => !seen.has(n))).toEqual([])
        expect(yield* stop(service)).toBe(0)
      }),
    120_000,
  )
})
