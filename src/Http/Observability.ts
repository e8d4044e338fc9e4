import { HttpApiBuilder, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Cause, Effect, Metric, Option } from "effect"
import { collectDefaultMetrics, Registry } from "prom-client"
import type { AppConfig } from "../Config.js"
import { ConsumerStatus } from "../ConsumerStatus.js"
import { Engine } from "../Engine/Engine.js"
import type { InventoryQueries } from "../Store/InventoryQueries.js"
import { render } from "./Prometheus.js"
import { readiness } from "./Readiness.js"

export const httpRequests = Metric.counter("http_requests_total", {
  description: "HTTP requests by route and status",
  incremental: true,
})

const outboxBacklog = Metric.gauge("inventory_outbox_backlog", { description: "events committed and not yet on Kafka" })

/** A route's shape for labels: ids replaced, so label cardinality stays bounded. */
const routeOf = (path: string): string => {
  const p = path.split("?")[0] ?? ""
  if (/^\/inventory\/[^/]+\/adjustments\/?$/.test(p)) return "/inventory/{product_id}/adjustments"
  if (/^\/inventory\/[^/]+\/reservations\/?$/.test(p)) return "/inventory/{product_id}/reservations"
  if (p === "/inventory/low-stock" || p === "/inventory/adjustments") return p
  if (/^\/inventory\/[^/]+\/?$/.test(p)) return "/inventory/{product_id}"
  if (/^\/reservations\/[^/]+\/?$/.test(p)) return "/reservations/{order_id}"
  if (/^\/reservations\/[^/]+\/extend\/?$/.test(p)) return "/reservations/{order_id}/extend"
  if (["/health", "/ready", "/inventory", "/metrics", "/openapi.json", "/docs", "/admin/reconcile"].includes(p))
    return p
  return "other"
}

// The process and runtime figures people expect from a Node service (resident memory, heap, GC
// pauses, event-loop delay, CPU, open handles): prom-client's default collectors, in a registry
// of their own, appended to the service's metrics.
const processMetrics = new Registry()
collectDefaultMetrics({ register: processMetrics })

/** GET /metrics: Prometheus text, with the gauges that are read at scrape time. */
export const MetricsRouteLive = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function* () {
    const engine = yield* Engine
    const consumer = yield* ConsumerStatus
    const context = yield* Effect.context<InventoryQueries | ConsumerStatus | AppConfig>()
    yield* router.get(
      "/metrics",
      Effect.gen(function* () {
        // each owner sets its own gauges; the outbox backlog is read here, from the database
        yield* engine.refreshGauges
        yield* consumer.refreshGauges
        const { backlog } = yield* readiness.pipe(Effect.provide(context))
        yield* Metric.set(outboxBacklog, backlog)
        const runtime = yield* Effect.promise(() => processMetrics.metrics())
        return HttpServerResponse.text(`${render(yield* Metric.snapshot)}${runtime}`, {
          contentType: "text/plain; version=0.0.4; charset=utf-8",
        })
      }),
    )
  }),
)

const jsonError = (status: number, error: string, message: string) =>
  HttpServerResponse.unsafeJson({ _tag: error, error, message }, { status })

/**
 * Around every request: a body cap (413), JSON for unknown routes (404) and for anything
 * unexpected (500, details only in the log), and the request counter.
 */
export const requestGuard =
  (maxBodyBytes: number) =>
  <E, R>(app: Effect.Effect<HttpServerResponse.HttpServerResponse, E, R>) =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const length = Number(request.headers["content-length"] ?? 0)
      let response: HttpServerResponse.HttpServerResponse =
        length > maxBodyBytes
          ? jsonError(413, "PayloadTooLarge", `request body of ${length} bytes exceeds the limit of ${maxBodyBytes}`)
          : yield* app.pipe(
              HttpServerRequest.withMaxBodySize(Option.some(maxBodyBytes)),
              Effect.catchAllCause((cause) =>
                Effect.gen(function* () {
                  const failure = Cause.squash(cause) as { _tag?: string } | undefined
                  if (failure?._tag === "RouteNotFound")
                    return jsonError(404, "NotFound", `no route ${request.method} ${request.url.split("?")[0]}`)
                  if (failure?._tag === "RequestError")
                    return jsonError(400, "BadRequest", "the request body could not be read")
                  // a client that hung up (or a server shutting down) interrupts its request: not a failure
                  if (Cause.isInterruptedOnly(cause)) {
                    yield* Effect.logDebug("request abandoned before it was answered")
                    return jsonError(499, "ClientClosedRequest", "the request was abandoned before it was answered")
                  }
                  yield* Effect.logError("request failed", cause)
                  return jsonError(500, "InternalError", "the server failed to answer; the failure is logged")
                }),
              ),
            )
      // every answer is JSON, also the router's own bare ones
      if (response.status >= 400 && response.body._tag === "Empty") {
        response =
          response.status === 404
            ? jsonError(404, "NotFound", `no route ${request.method} ${request.url.split("?")[0]}`)
            : response.status === 400
              ? jsonError(400, "BadRequest", "the request could not be read: check the JSON body and its content type")
              : jsonError(response.status, "Error", `request failed with status ${response.status}`)
      }
      yield* Metric.update(
        httpRequests.pipe(
          Metric.tagged("method", request.method),
          Metric.tagged("route", routeOf(request.url)),
          Metric.tagged("status", String(response.status)),
        ),
        1,
      )
      return response
    })
