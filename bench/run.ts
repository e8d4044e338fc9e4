// npm run bench [-- --quick] [--orders N] [--products N] [--lines N] [--dist uniform,hot,zipf]
//                 [--systems service,ceiling,original,rawpipe] [--rates 1000,5000,10000] [--memory] [--runs N]
//                 [--input-compression none|gzip|snappy|lz4|zstd] [--lifecycle false]
//                 [--locations 5] [--strategies single_first,priority]
// End-to-end throughput of the real service (compiled, as the image runs it) against the durable
// ceiling of its own rows, a port of the original design and the raw Kafka pipe; latency at
// fixed offered rates; memory; invariants checked after every run.
import { execFileSync } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import { cpus } from "node:os"
import { join } from "node:path"
import pg from "pg"
import { root } from "../scripts/lib/ChildService.js"
import { type Topics, topicEnv, topicsWithSuffix } from "../src/Config.js"
import * as EngineMetrics from "../src/Engine/EngineMetrics.js"
import { compressionTypes } from "../src/Kafka/Codecs.js"
import { cpuProfileFlags, printCpuSummary, summarizeCpuProfile } from "./lib/CpuProfile.js"
import { heapReport, heapSnapshotFlags } from "./lib/HeapReport.js"
import { sampledStage, scrapeStages, stageBudget } from "./lib/LatencyBudget.js"
import { lifecycleRun } from "./lib/Lifecycle.js"
import { invariants, postgresCpuSeconds, serviceHistograms, writeCounters, writesPerOrder } from "./lib/Measures.js"
import { median, observe, percentile } from "./lib/Observer.js"
import {
  budgetSeconds,
  CPU_DIR,
  DISTS,
  HEAP_DIR,
  INPUT_COMPRESSION,
  LINES,
  LOCATIONS,
  ORDERS,
  PRODUCTS,
  quick,
  RATE_SECONDS,
  RATES,
  RAWPIPE_ORDERS,
  RUNS,
  STRATEGIES,
  SYSTEMS,
  scripts,
  values,
  WARMUP_SECONDS,
} from "./lib/Options.js"
import {
  cpuMicrosPerOrder,
  type LatencyRow,
  postgresCpuMicrosPerOrder,
  printSummary,
  type Results,
  ratiosOf,
  renderHtml,
  type ThroughputRow,
  throughputSvg,
} from "./lib/Report.js"
import {
  createDatabase,
  createTopics,
  databaseUrl,
  deleteTopics,
  dropDatabase,
  ensureBroker,
  producer,
  startService,
} from "./lib/Setup.js"
import { type Distribution, makeWorkload } from "./lib/Workload.js"

ensureBroker()
// the service runs as users run it: compiled JavaScript, as in the Docker image
if (SYSTEMS.includes("service") || values.memory)
  execFileSync("npm", ["run", "-s", "build"], { cwd: root, stdio: "inherit" })

const log = (...args: Array<unknown>) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...args)
let serial = 0

/** A database and topics of the run's own, migrated, with stock for the workload. */
const prepare = async (label: string, stock: (client: pg.Client) => Promise<void>) => {
  const suffix = `bench_${label}_${Date.now().toString(36)}_${serial++}`
  const dbName = `inv_${suffix}`
  const topics = topicsWithSuffix(suffix)
  await createDatabase(dbName)
  await createTopics(Object.values(topics), 6)
  const url = databaseUrl(dbName)
  execFileSync(process.execPath, ["--import", "tsx", "src/migrate.ts"], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: url },
    stdio: "ignore",
  })
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  await stock(client)
  const env = {
    ...topicEnv(topics),
    DATABASE_URL: url,
    KAFKA_GROUP_ID: `inventory-${suffix}`,
    KAFKA_CREATE_TOPICS: "false",
    SERVICE_PORT: String(20000 + Math.floor(Math.random() * 20000)),
  }
  const cleanup = async () => {
    await client.end()
    await deleteTopics(Object.values(topics))
    await dropDatabase(dbName)
  }
  return { env, topics, client, cleanup }
}

/**
 * Most orders succeed, and every product in demand runs out near the end of the run (`share` of
 * the demand; the ceiling gets all of it, since it decides nothing). No low-stock threshold, so
 * every distribution emits one event per order and events/s compare.
 */
const seedFor =
  (demand: Map<number, number>, products: number, share = 0.95, locations = 1) =>
  async (client: pg.Client) => {
    const quantities = Array.from({ length: products }, (_, i) => Math.floor((demand.get(i) ?? 0) * share))
    if (locations === 1) {
      await client.query(
        `INSERT INTO stock (product_id, available, reserved, on_hand, low_stock_threshold)
         SELECT 'p' || (t.i - 1), t.q, 0, t.q, 0 FROM unnest($1::int[]) WITH ORDINALITY AS t(q, i)`,
        [quantities],
      )
      return
    }
    // locations loc-1 (best priority) to loc-N, each product's stock spread evenly over them
    await client.query(
      `INSERT INTO locations (location_id, name, priority) SELECT 'loc-' || n, 'loc-' || n, 10 * n FROM generate_series(1, $1) n`,
      [locations],
    )
    await client.query(
      `INSERT INTO stock (product_id, location_id, available, reserved, on_hand, low_stock_threshold)
       SELECT 'p' || (t.i - 1), 'loc-' || n, x.q, 0, x.q, 0
         FROM unnest($1::int[]) WITH ORDINALITY AS t(q, i) CROSS JOIN generate_series(1, $2) n
        CROSS JOIN LATERAL (SELECT t.q / $2 + CASE WHEN n <= t.q % $2 THEN 1 ELSE 0 END AS q) x`,
      [quantities, locations],
    )
  }

/** Where a throughput run's stock is kept: one location, or spread over several with a strategy. */
interface Placement {
  readonly locations: number
  readonly strategy?: string
}

const eventTopics = (topics: Topics) => [topics.reserved, topics.outOfStock, topics.lowStock]

const throughputRun = async (
  system: string,
  distribution: Distribution,
  placement: Placement = { locations: 1 },
): Promise<ThroughputRow> => {
  const orders = system === "rawpipe" ? RAWPIPE_ORDERS : ORDERS
  const workload = makeWorkload({ orders, products: PRODUCTS, maxLines: LINES, distribution, prefix: "o" })
  const lines = workload.orders.reduce((n, o) => n + o.lines, 0)
  const run = await prepare(
    system,
    seedFor(workload.demand, PRODUCTS, system === "ceiling" ? 1 : 0.95, placement.locations),
  )
  const label =
    placement.locations === 1 ? system : `${system} (${placement.locations} locations, ${placement.strategy})`
  const p = await producer()
  for (let i = 0; i < workload.orders.length; i += 2000) {
    await p.send({
      topic: run.topics.ordersCreated,
      compression: compressionTypes[INPUT_COMPRESSION],
      messages: workload.orders.slice(i, i + 2000),
    })
  }
  await p.disconnect()
  const observer = await observe(eventTopics(run.topics), `obs-${Date.now()}`)
  const writesBefore = await writeCounters(run.client)
  const heapDir = system === "service" ? HEAP_DIR : undefined
  const cpuDir = system === "service" ? CPU_DIR : undefined
  const cpuProfile = `service-${distribution}-${Date.now()}.cpuprofile`
  const env = placement.strategy === undefined ? run.env : { ...run.env, ALLOCATION_STRATEGY: placement.strategy }
  const service = await startService(env, scripts[system], [
    ...(heapDir ? heapSnapshotFlags(heapDir) : []),
    ...(cpuDir ? cpuProfileFlags(cpuDir, cpuProfile) : []),
  ])
  // the clock starts at the first outcome: start-up and the consumer group join are not throughput
  while (observer.count() === 0) {
    service.assertRunning()
    await new Promise((r) => setTimeout(r, 10))
  }
  const started = performance.now()
  const postgresCpuBefore = postgresCpuSeconds()
  let last = 0
  let tick = 0
  while (observer.count() < orders && (performance.now() - started) / 1000 < budgetSeconds[system]!) {
    service.assertRunning()
    await new Promise((r) => setTimeout(r, 50))
    if (++tick % 20 === 0) {
      const count = observer.count()
      log(`${label}/${distribution}: ${count}/${orders} outcomes, ${count - last}/s now`)
      last = count
    }
  }
  const completed = observer.count()
  const seconds = (performance.now() - started) / 1000
  const postgresCpu = postgresCpuSeconds() - postgresCpuBefore
  const row: Omit<ThroughputRow, "rowsPerOrder" | "walBytesPerOrder"> = {
    system: label,
    distribution,
    ordersPerSecond: completed / seconds,
    linesPerSecond: (lines * completed) / orders / seconds,
    eventsPerSecond: observer.events() / seconds,
    completed,
    orders,
    seconds,
    peakRssMb: service.peakRssMb(),
    cpuSeconds: service.cpuSeconds(),
    postgresCpuSeconds: postgresCpu,
    invariants: system === "rawpipe" ? "n/a" : await invariants(run.client, system),
    duplicateEventIds: observer.duplicateEventIds(),
  }
  if (heapDir) {
    const name = `service-${distribution}-${Date.now()}.heapsnapshot`
    await heapReport({ pid: service.pid, port: run.env.SERVICE_PORT! }, heapDir, name, PRODUCTS)
  }
  await service.stop()
  if (cpuDir) printCpuSummary(join(cpuDir, cpuProfile), summarizeCpuProfile(join(cpuDir, cpuProfile)), completed)
  // a stopped service has flushed its statistics
  const writes = await writesPerOrder(run.client, writesBefore, completed)
  await observer.stop()
  await run.cleanup()
  const result = { ...row, ...writes }
  log(
    `${label}/${distribution}: ${Math.round(row.ordersPerSecond)} orders/s, ${Math.round(cpuMicrosPerOrder(result))} µs CPU/order, ` +
      `${Math.round(postgresCpuMicrosPerOrder(result))} µs PostgreSQL CPU/order, ` +
      `${result.rowsPerOrder.toFixed(1)} rows and ${Math.round(result.walBytesPerOrder)} B WAL/order, invariants ${row.invariants}`,
  )
  return result
}

/** Orders offered at a fixed rate; latency from produce to the first outcome event, after a warm-up. */
const latencyRun = async (rate: number): Promise<LatencyRow> => {
  const total = rate * (WARMUP_SECONDS + RATE_SECONDS)
  const workload = makeWorkload({
    orders: total,
    products: PRODUCTS,
    maxLines: LINES,
    distribution: "uniform",
    prefix: `l${rate}-`,
  })
  const run = await prepare(`latency${rate}`, seedFor(workload.demand, PRODUCTS))
  const observer = await observe(eventTopics(run.topics), `obs-${Date.now()}`)
  const service = await startService(run.env, scripts.service)
  await new Promise((r) => setTimeout(r, 3000)) // let the consumer join before the clock starts
  const p = await producer()
  const sentAt = new Map<string, number>()
  const started = performance.now()
  const measuredFrom = started + WARMUP_SECONDS * 1000
  let stagesBefore: Promise<Awaited<ReturnType<typeof scrapeStages>>> | undefined
  let sent = 0
  while (sent < total) {
    if (stagesBefore === undefined && performance.now() >= measuredFrom)
      stagesBefore = scrapeStages(run.env.SERVICE_PORT!)
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate))
    if (due > sent) {
      const batch = workload.orders.slice(sent, due)
      const now = performance.now()
      for (const o of batch) sentAt.set(o.key, now)
      await p.send({ topic: run.topics.ordersCreated, messages: batch })
      sent = due
    }
    await new Promise((r) => setTimeout(r, 5))
  }
  const producedIn = (performance.now() - started) / 1000
  const deadline = performance.now() + 60_000
  while (observer.count() < total && performance.now() < deadline) {
    service.assertRunning()
    await new Promise((r) => setTimeout(r, 100))
  }
  const stagesAfter = await scrapeStages(run.env.SERVICE_PORT!)
  const samples = [...sentAt]
    .filter(([, at]) => at >= measuredFrom)
    .map(([key, at]) => ({ at, ms: (observer.firstSeen.get(key) ?? Number.POSITIVE_INFINITY) - at }))
  const latencies = samples.map((x) => x.ms).sort((a, b) => a - b)
  // the share of it before the outcome event was produced (clock of this machine, ms resolution)
  const toProduced = [...sentAt]
    .filter(([, at]) => at >= measuredFrom)
    .map(([key, at]) => (observer.producedAt.get(key) ?? Number.POSITIVE_INFINITY) - (performance.timeOrigin + at))
    .sort((a, b) => a - b)
  log(
    `latency at ${rate}/s to the outcome event produced: p50 ${percentile(toProduced, 50).toFixed(1)} ms, p99 ${percentile(toProduced, 99).toFixed(1)} ms`,
  )
  // where it went: the service's stages over the measured window, then the bench's observer (from the
  // outcome event's produce time to this consumer seeing it)
  const observed = [...sentAt]
    .filter(([, at]) => at >= measuredFrom)
    .flatMap(([key]) => {
      const seen = observer.firstSeen.get(key)
      const produced = observer.producedAt.get(key)
      return seen === undefined || produced === undefined ? [] : [performance.timeOrigin + seen - produced]
    })
  const stages = [
    ...stageBudget((await stagesBefore) ?? new Map(), stagesAfter, EngineMetrics.stages),
    sampledStage("observer", observed),
  ]
  for (const st of stages)
    log(
      `latency at ${rate}/s, stage ${st.stage}: p50 ${st.p50.toFixed(1)} ms, p99 ${st.p99.toFixed(1)} ms (${st.samples} samples)`,
    )
  // per second of the measured window: p50 and p99 of the orders sent in it
  const seconds = new Map<number, Array<number>>()
  for (const { at, ms } of samples) {
    const second = Math.floor((at - measuredFrom) / 1000)
    seconds.set(second, [...(seconds.get(second) ?? []), ms])
  }
  const series = [...seconds]
    .sort(([a], [b]) => a - b)
    .map(([second, values]) => {
      const sorted = values.sort((a, b) => a - b)
      return { second, p50: percentile(sorted, 50), p99: percentile(sorted, 99) }
    })
  await p.disconnect()
  const inside = await serviceHistograms(run.env.SERVICE_PORT!)
  await service.stop()
  await observer.stop()
  await run.cleanup()
  log(`latency at ${rate}/s inside the service (whole run, histogram buckets): ${inside}`)
  const row = {
    rate,
    achieved: total / producedIn,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    max: latencies[latencies.length - 1] ?? 0,
    series,
    stages,
    unobserved: latencies.filter((ms) => !Number.isFinite(ms)).length,
  }
  log(
    `latency at ${rate}/s: p50 ${row.p50.toFixed(1)} ms, p99 ${row.p99.toFixed(1)} ms, max ${row.max.toFixed(1)} ms` +
      (row.unobserved > 0 ? `; ${row.unobserved} of ${latencies.length} outcomes not seen within 60 s` : ""),
  )
  return row
}

/** 1,000,000 distinct products touched: passivation must keep memory bounded. */
const memoryRun = async () => {
  const products = 1_000_000
  const orders = 250_000
  const run = await prepare("memory", async (client) => {
    await client.query(
      `INSERT INTO stock (product_id, available, reserved, on_hand) SELECT 'm' || i, 5, 0, 5 FROM generate_series(0, ${products - 1}) i`,
    )
  })
  const p = await producer()
  for (let i = 0; i < orders; i += 2000) {
    const messages = Array.from({ length: Math.min(2000, orders - i) }, (_, j) => {
      const n = i + j
      const items = [0, 1, 2, 3].map((k) => ({ product_id: `m${n * 4 + k}`, quantity: 1 }))
      return { key: `m${n}`, value: JSON.stringify({ order_id: `m${n}`, items }) }
    })
    await p.send({ topic: run.topics.ordersCreated, messages })
  }
  await p.disconnect()
  const observer = await observe([run.topics.reserved, run.topics.outOfStock], `obs-${Date.now()}`)
  const service = await startService({ ...run.env, ACTOR_IDLE_SECONDS: "5" }, scripts.service)
  const actors = async () => {
    const text = await fetch(`http://127.0.0.1:${run.env.SERVICE_PORT}/metrics`).then((r) => r.text())
    return Number(/^inventory_active_actors (\d+)/m.exec(text)?.[1] ?? -1)
  }
  while (observer.count() < orders) {
    service.assertRunning()
    await new Promise((r) => setTimeout(r, 2000))
    log(
      `memory: ${observer.count()}/${orders} orders, ${await actors()} actors in memory, RSS ${Math.round(service.rssMb())} MB (peak ${Math.round(service.peakRssMb())} MB)`,
    )
  }
  await new Promise((r) => setTimeout(r, 8000)) // idle actors passivate
  const idle = { actors: await actors(), rssMb: service.rssMb() }
  log(`memory: after 8 s idle: ${idle.actors} actors in memory, RSS ${Math.round(idle.rssMb)} MB`)
  const row = {
    scenario: `1,000,000 distinct products (ACTOR_IDLE_SECONDS=5); after 8 s idle ${idle.actors} actors, RSS ${Math.round(idle.rssMb)} MB`,
    products,
    peakRssMb: service.peakRssMb(),
  }
  await service.stop()
  await observer.stop()
  await run.cleanup()
  return row
}

const throughput: Array<ThroughputRow> = []
for (const distribution of DISTS) {
  for (const system of SYSTEMS) {
    const runs: Array<ThroughputRow> = []
    for (let i = 0; i < RUNS; i++) runs.push(await throughputRun(system, distribution))
    const mid = median(runs.map((r) => r.ordersPerSecond))
    throughput.push(runs.find((r) => r.ordersPerSecond === mid) ?? runs[0]!)
  }
}
// stock over several locations: the service alone, uniform, one run per allocation strategy (beside a
// single-location run of the same source in the same invocation)
if (LOCATIONS > 1 && SYSTEMS.includes("service")) {
  for (const strategy of STRATEGIES) {
    const runs: Array<ThroughputRow> = []
    for (let i = 0; i < RUNS; i++)
      runs.push(await throughputRun("service", "uniform", { locations: LOCATIONS, strategy }))
    const mid = median(runs.map((r) => r.ordersPerSecond))
    throughput.push(runs.find((r) => r.ordersPerSecond === mid) ?? runs[0]!)
  }
}
const latency: Array<LatencyRow> = []
if (SYSTEMS.includes("service")) for (const rate of RATES) latency.push(await latencyRun(rate))
const memory = values.memory ? [await memoryRun()] : []
const lifecycle =
  SYSTEMS.includes("service") && values.lifecycle !== "false"
    ? [
        await lifecycleRun(
          { prepare, invariants: (client) => invariants(client, "service"), log },
          {
            orders: quick ? 20_000 : 100_000,
            products: PRODUCTS,
            ttlSeconds: quick ? 45 : 120,
            script: scripts.service!,
          },
        ),
      ]
    : []

const ratios = ratiosOf(throughput, DISTS)

const results: Results = {
  startedAt: new Date().toISOString(),
  machine: `${cpus().length} cores (${cpus()[0]?.model ?? "?"}), node ${process.version}`,
  runtime: `node ${process.version}`,
  options: {
    inputCompression: INPUT_COMPRESSION,
    quick,
    orders: ORDERS,
    products: PRODUCTS,
    lines: LINES,
    distributions: DISTS,
    systems: SYSTEMS,
    rates: RATES,
    runs: RUNS,
  },
  throughput,
  latency,
  memory,
  lifecycle,
  ratios,
}
mkdirSync(`${root}bench/results`, { recursive: true })
const stamp = results.startedAt.replace(/[:.]/g, "-")
writeFileSync(`${root}bench/results/${stamp}.json`, JSON.stringify(results, null, 2))
writeFileSync(`${root}bench/results/report.html`, renderHtml(results))
// the latest full run is kept in the repository for the README; quick and partial runs are not
if (!quick && values.systems === "service,ceiling,original,rawpipe" && values.orders === undefined) {
  writeFileSync(`${root}bench/results/latest.json`, JSON.stringify(results, null, 2))
  writeFileSync(`${root}bench/results/latest.html`, renderHtml(results))
  writeFileSync(`${root}bench/results/latest-throughput.svg`, throughputSvg(results))
}

printSummary(results)
console.log(`\nresults: bench/results/${stamp}.json, report: bench/results/report.html`)
process.exit(
  throughput.every((t) => t.invariants === "hold" || t.invariants === "n/a") &&
    lifecycle.every((l) => l.invariants === "hold")
    ? 0
    : 1,
)
