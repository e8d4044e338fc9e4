import { execFileSync, spawnSync } from "node:child_process"
import { readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { parse } from "yaml"
import { freePort } from "../support/Env.js"
import { harness } from "../support/Harness.js"
import { of, order, seed } from "../support/Orders.js"
import { TestKafka } from "../support/TestKafka.js"

// The Grafana dashboard and Prometheus config under deploy/: they parse, and every metric the
// dashboard queries is one the running service exports.

const port = await freePort()
const dashboard = JSON.parse(
  readFileSync(new URL("../../deploy/grafana/dashboards/inventory.json", import.meta.url), "utf8"),
)
interface AlertRule {
  readonly alert: string
  readonly expr: string
  readonly annotations: { readonly runbook_url: string }
}

/** Runs promtool (Debian's `prometheus` package), installing it first where it is missing and we may. */
const promtool = (args: ReadonlyArray<string>) =>
  Effect.sync(() => {
    const found = spawnSync("promtool", ["--version"]).status === 0
    if (!found && process.getuid?.() === 0) {
      execFileSync(
        "bash",
        ["-c", "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus"],
        {
          stdio: "ignore",
        },
      )
    }
    const run = spawnSync("promtool", [...args], { encoding: "utf8" })
    if (run.error)
      throw new Error(`promtool is not installed (Debian: apt-get install prometheus): ${run.error.message}`)
    if (run.status !== 0) throw new Error(`promtool ${args.join(" ")} failed:\n${run.stdout}${run.stderr}`)
    return run.stdout + run.stderr
  })

const promql = /\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?=\s*(\{|\[|\)|$))/g
const notMetrics = new Set([
  "le",
  "by",
  "without",
  "sum",
  "rate",
  "max",
  "min",
  "histogram_quantile",
  "instance",
  "increase",
  "deriv",
  "time",
])

/** The metric families a PromQL expression reads (a histogram's _bucket/_sum/_count read its family). */
const metricsOf = (expr: string) =>
  [...expr.matchAll(promql)].map((m) => m[1]!).filter((name) => !notMetrics.has(name) && /_/.test(name))

layer(harness({ label: "dashboard", env: { SERVICE_PORT: String(port), ADMIN_TOKEN: "t" } }), {
  excludeTestServices: true,
})("the dashboard", (it) => {
  it.effect("queries only metrics the service exports, and the deploy configs parse", () =>
    Effect.gen(function* () {
      const kafka = yield* TestKafka
      // some of everything: an order, a poison message, a reconciliation
      yield* seed("dash-P", 5)
      yield* kafka.send(kafka.topics.ordersCreated, "dash-o", order("dash-o", [["dash-P", 1]]))
      yield* kafka.send(kafka.topics.ordersCreated, "dash-bad", "not json")
      yield* kafka.waitFor(
        (es) =>
          of(es, kafka.topics.reserved, "dash-o").length > 0 && of(es, kafka.topics.deadLetter, "dash-bad").length > 0,
      )
      yield* Effect.promise(() =>
        fetch(`http://127.0.0.1:${port}/admin/reconcile`, {
          method: "POST",
          headers: { authorization: "Bearer t", "content-type": "application/json" },
          body: "{}",
        }),
      )
      const text = yield* Effect.promise(() => fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()))
      const families = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!))
      const queried = dashboard.panels.flatMap((p: { targets: Array<{ expr: string }> }) =>
        p.targets.flatMap((t) => metricsOf(t.expr)),
      )
      expect(queried.length).toBeGreaterThan(15)
      const family = (name: string) => name.replace(/_(bucket|sum|count)$/, "")
      expect(queried.filter((name: string) => !families.has(name) && !families.has(family(name)))).toEqual([])
      const titles = dashboard.panels.map((p: { title: string }) => p.title.toLowerCase()).join(" | ")
      for (const topic of [
        "orders/s",
        "lag",
        "commit latency",
        "mailbox",
        "outbox",
        "dead letters",
        "drift",
        "memory",
        "gc",
        "event-loop",
        "cpu",
        "handles",
      ])
        expect(titles).toContain(topic)
      const prometheus = parse(readFileSync(new URL("../../deploy/prometheus/prometheus.yml", import.meta.url), "utf8"))
      expect(prometheus.scrape_configs[0].metrics_path).toBe("/metrics")
      expect(prometheus.rule_files).toEqual(["/etc/prometheus/alerts.yml"])
      // the alert rules: promtool passes them, they read only exported metrics, each has its runbook
      const rulesFile = fileURLToPath(new URL("../../deploy/prometheus/alerts.yml", import.meta.url))
      expect(yield* promtool(["check", "rules", rulesFile])).toMatch(/SUCCESS: 8 rules found/)
      const rules = (parse(readFileSync(rulesFile, "utf8")).groups as Array<{ rules: Array<AlertRule> }>).flatMap(
        (g) => g.rules,
      )
      const alerted = rules.flatMap((r) => [...r.expr.matchAll(/\b(?:inventory|http)_[a-z_]+\b/g)].map((m) => m[0]))
      expect(new Set(alerted).size).toBeGreaterThanOrEqual(8)
      expect(alerted.filter((name) => !families.has(name) && !families.has(family(name)))).toEqual([])
      const runbook = readFileSync(new URL("../../docs/operations.md", import.meta.url), "utf8")
      for (const rule of rules) {
        const anchor = rule.annotations.runbook_url.split("#")[1]!
        expect(anchor).toBe(rule.alert.toLowerCase())
        expect(runbook, rule.alert).toContain(`### ${rule.alert}`)
      }
      const compose = parse(readFileSync(new URL("../../docker-compose.yml", import.meta.url), "utf8"))
      expect(compose.services.grafana.profiles).toEqual(["observability"])
      expect(compose.services.prometheus.profiles).toEqual(["observability"])
    }),
  )
})
