import type { StageLatency } from "./LatencyBudget.js"
import type { LifecycleRow } from "./Lifecycle.js"
// A self-contained HTML report with inline SVG charts: no script, no network.

export interface ThroughputRow {
  readonly system: string
  readonly distribution: string
  readonly ordersPerSecond: number
  readonly linesPerSecond: number
  /** events on the outcome and low-stock topics per second */
  readonly eventsPerSecond: number
  readonly completed: number
  readonly orders: number
  readonly seconds: number
  readonly peakRssMb: number
  readonly cpuSeconds: number
  /** PostgreSQL's CPU seconds over the run (absent in results from before it was measured) */
  readonly postgresCpuSeconds?: number
  readonly invariants: string
  readonly duplicateEventIds: number
  /** rows inserted, updated or deleted in PostgreSQL per order decided */
  readonly rowsPerOrder: number
  /** WAL bytes per order decided */
  readonly walBytesPerOrder: number
}
export interface LatencyRow {
  readonly rate: number
  readonly achieved: number
  readonly p50: number
  readonly p95: number
  readonly p99: number
  readonly max: number
  /** orders of the measured window whose outcome was not seen within 60 s of the last one offered (their latency is unknown) */
  readonly unobserved?: number
  /** per second of the measured window: p50 and p99 of the orders offered in it */
  readonly series: ReadonlyArray<{ readonly second: number; readonly p50: number; readonly p99: number }>
  /** where the latency went, stage by stage (absent in results from before it was measured) */
  readonly stages?: ReadonlyArray<StageLatency>
}

export interface Results {
  readonly startedAt: string
  readonly machine: string
  /** the Node.js version the service and its yardsticks ran on */
  readonly runtime: string
  readonly options: Record<string, unknown>
  readonly throughput: ReadonlyArray<ThroughputRow>
  readonly latency: ReadonlyArray<LatencyRow>
  readonly memory: ReadonlyArray<{ readonly scenario: string; readonly products: number; readonly peakRssMb: number }>
  /** the lifecycle workload (absent in results from before it existed) */
  readonly lifecycle?: ReadonlyArray<LifecycleRow>
  readonly ratios: Record<string, number>
}

/** The system process's user+sys CPU (from its start) per order decided. */
export const cpuMicrosPerOrder = (t: ThroughputRow): number => microsPerOrder(t.cpuSeconds, t.completed)

/** PostgreSQL's user+sys CPU over the run per order decided. */
export const postgresCpuMicrosPerOrder = (t: ThroughputRow): number =>
  microsPerOrder(t.postgresCpuSeconds ?? 0, t.completed)

const microsPerOrder = (seconds: number, orders: number) => (orders === 0 ? 0 : (seconds * 1e6) / orders)

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!)

const bars = (title: string, unit: string, data: ReadonlyArray<{ label: string; value: number; color: string }>) => {
  const max = Math.max(1, ...data.map((d) => d.value))
  const rowH = 26
  const width = 720
  const labelW = 220
  const height = data.length * rowH + 40
  const rows = data
    .map((d, i) => {
      const w = ((width - labelW - 90) * d.value) / max
      const y = 30 + i * rowH
      return `<text x="${labelW - 8}" y="${y + 16}" text-anchor="end" font-size="13">${esc(d.label)}</text>
<rect x="${labelW}" y="${y + 3}" width="${w.toFixed(1)}" height="18" fill="${d.color}"/>
<text x="${labelW + w + 6}" y="${y + 16}" font-size="12">${Math.round(d.value).toLocaleString("en")} ${unit}</text>`
    })
    .join("\n")
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<text x="0" y="18" font-size="15" font-weight="bold">${esc(title)}</text>${rows}</svg>`
}

const colors: Record<string, string> = {
  service: "#2b7a4b",
  ceiling: "#c9a227",
  original: "#b5523b",
  rawpipe: "#4a6fa5",
}

/** Latency over the measured window of each offered rate: p99 solid, p50 dashed, log scale. */
export const latencySvg = (latency: ReadonlyArray<LatencyRow>) => {
  const width = 720
  const height = 260
  const left = 60
  const top = 30
  const plotW = width - left - 150
  const plotH = height - top - 40
  const points = latency.flatMap((l) => l.series)
  if (points.length === 0) return ""
  const seconds = Math.max(1, ...points.map((p) => p.second))
  const finite = points.flatMap((p) => [p.p50, p.p99]).filter(Number.isFinite)
  const maxMs = Math.max(10, ...finite)
  const y = (ms: number) => top + plotH - (plotH * Math.log10(1 + Math.min(ms, maxMs))) / Math.log10(1 + maxMs)
  const x = (second: number) => left + (plotW * second) / seconds
  const palette = ["#2b7a4b", "#8a5fb0", "#b5523b", "#4a6fa5"]
  const lines = latency
    .map((l, i) => {
      const color = palette[i % palette.length]!
      const path = (pick: (p: { p50: number; p99: number }) => number) =>
        l.series.map((p, j) => `${j === 0 ? "M" : "L"}${x(p.second).toFixed(1)},${y(pick(p)).toFixed(1)}`).join(" ")
      return `<path d="${path((p) => p.p99)}" fill="none" stroke="${color}" stroke-width="2"/>
<path d="${path((p) => p.p50)}" fill="none" stroke="${color}" stroke-width="1" stroke-dasharray="4 3"/>
<text x="${left + plotW + 10}" y="${top + 16 + i * 18}" font-size="12" fill="${color}">${l.rate}/s offered</text>`
    })
    .join("\n")
  const ticks = [1, 10, 100, 1000, 10000]
    .filter((t) => t <= maxMs)
    .map((t) => `<text x="${left - 6}" y="${y(t) + 4}" text-anchor="end" font-size="11">${t} ms</text>`)
    .join("")
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<text x="0" y="18" font-size="15" font-weight="bold">Latency over time (p99 solid, p50 dashed; seconds after warm-up)</text>
<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#ccc"/>${ticks}${lines}
<text x="${left}" y="${height - 12}" font-size="11">0 s</text><text x="${left + plotW}" y="${height - 12}" font-size="11" text-anchor="end">${seconds} s</text></svg>`
}

export const throughputSvg = (r: Results) =>
  bars(
    "End-to-end throughput (orders/s)",
    "orders/s",
    r.throughput.map((t) => ({
      label: `${t.system} / ${t.distribution}`,
      value: t.ordersPerSecond,
      color: colors[t.system] ?? "#777",
    })),
  )

const table = (head: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string | number>>) =>
  `<table><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr>${rows
    .map((row) => `<tr>${row.map((c) => `<td>${esc(String(c))}</td>`).join("")}</tr>`)
    .join("")}</table>`

export const renderHtml = (r: Results) => {
  return `<!doctype html><html><head><meta charset="utf-8"><title>inventory-service benchmark ${esc(r.startedAt)}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:900px}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f3f3f3}</style></head><body>
<h1>inventory-service benchmark</h1><p>${esc(r.startedAt)} on ${esc(r.machine)} (${esc(r.runtime)}); options ${esc(JSON.stringify(r.options))}</p>
${throughputSvg(r)}
${table(
  [
    "system",
    "distribution",
    "orders/s",
    "events/s",
    "lines/s",
    "completed",
    "seconds",
    "peak RSS MB",
    "CPU s",
    "CPU µs/order",
    "PostgreSQL CPU µs/order",
    "rows/order",
    "WAL B/order",
    "invariants",
    "dup event ids",
  ],
  r.throughput.map((t) => [
    t.system,
    t.distribution,
    Math.round(t.ordersPerSecond),
    Math.round(t.eventsPerSecond),
    Math.round(t.linesPerSecond),
    `${t.completed}/${t.orders}`,
    t.seconds.toFixed(1),
    Math.round(t.peakRssMb),
    t.cpuSeconds.toFixed(1),
    Math.round(cpuMicrosPerOrder(t)),
    Math.round(postgresCpuMicrosPerOrder(t)),
    (t.rowsPerOrder ?? 0).toFixed(1),
    Math.round(t.walBytesPerOrder ?? 0),
    t.invariants,
    t.duplicateEventIds,
  ]),
)}
<h2>Ratios</h2>${table(
    ["ratio", "value"],
    Object.entries(r.ratios).map(([k, v]) => [k, v.toFixed(2)]),
  )}
${
  r.latency.length > 0
    ? bars(
        "p99 latency by offered rate (ms)",
        "ms",
        r.latency.map((l) => ({ label: `${l.rate} orders/s offered`, value: l.p99, color: "#8a5fb0" })),
      )
    : ""
}
${latencySvg(r.latency)}
${table(
  ["offered/s", "achieved/s", "p50 ms", "p95 ms", "p99 ms", "max ms"],
  r.latency.map((l) => [
    l.rate,
    Math.round(l.achieved),
    l.p50.toFixed(1),
    l.p95.toFixed(1),
    l.p99.toFixed(1),
    l.max.toFixed(1),
  ]),
)}
${latencyBudgetHtml(r.latency)}
<h2>Memory</h2>${table(
    ["scenario", "products touched", "peak RSS MB"],
    r.memory.map((m) => [m.scenario, m.products, Math.round(m.peakRssMb)]),
  )}
</body></html>`
}

/** The latency budget: one row per stage, p50 / p99 at each offered rate. */
const latencyBudgetHtml = (latency: ReadonlyArray<LatencyRow>) => {
  const measured = latency.filter((l) => (l.stages ?? []).length > 0)
  if (measured.length === 0) return ""
  const stageNames = [...new Set(measured.flatMap((l) => (l.stages ?? []).map((s) => s.stage)))]
  return `<h2>Latency budget</h2>${table(
    ["stage", ...measured.flatMap((l) => [`p50 ms @ ${l.rate}/s`, `p99 ms @ ${l.rate}/s`])],
    stageNames.map((name) => [
      name,
      ...measured.flatMap((l) => {
        const st = l.stages?.find((s) => s.stage === name)
        return st === undefined ? ["", ""] : [st.p50.toFixed(1), st.p99.toFixed(1)]
      }),
    ]),
  )}`
}

/** Each system against the others, per distribution, and hot against uniform for the service. */
export const ratiosOf = (throughput: ReadonlyArray<ThroughputRow>, distributions: ReadonlyArray<string>) => {
  const rateOf = (system: string, dist: string) =>
    throughput.find((t) => t.system === system && t.distribution === dist)?.ordersPerSecond
  const ratios: Record<string, number> = {}
  for (const dist of distributions) {
    const us = rateOf("service", dist)
    const original = rateOf("original", dist)
    const raw = rateOf("rawpipe", dist)
    const ceiling = rateOf("ceiling", dist)
    if (us && ceiling) ratios[`service / ceiling (${dist})`] = us / ceiling
    if (us && original) ratios[`service / original (${dist})`] = us / original
    if (us && raw) ratios[`service / raw pipe (${dist})`] = us / raw
  }
  const uniform = rateOf("service", "uniform")
  const hot = rateOf("service", "hot")
  if (uniform && hot) ratios["hot / uniform (service)"] = hot / uniform
  return ratios
}

/** The run's table, latency, memory, lifecycle and ratios lines on stdout. */
export const printSummary = (results: Results) => {
  const { throughput, latency, memory, lifecycle = [], ratios } = results
  console.log(`\n${results.runtime}`)
  console.log(
    "system     distribution   orders/s   events/s   lines/s  completed         peak RSS  CPU s  µs/order  rows/order  WAL/order  invariants",
  )
  for (const t of throughput) {
    console.log(
      `${t.system.padEnd(10)} ${t.distribution.padEnd(12)} ${String(Math.round(t.ordersPerSecond)).padStart(9)} ${String(Math.round(t.eventsPerSecond)).padStart(10)} ${String(Math.round(t.linesPerSecond)).padStart(9)}  ${`${t.completed}/${t.orders}`.padEnd(16)} ${String(Math.round(t.peakRssMb)).padStart(6)} MB ${t.cpuSeconds.toFixed(1).padStart(6)}  ${String(Math.round(cpuMicrosPerOrder(t))).padStart(8)}  ${t.rowsPerOrder.toFixed(1).padStart(10)}  ${`${Math.round(t.walBytesPerOrder)} B`.padStart(9)}  ${t.invariants}`,
    )
  }
  for (const l of latency)
    console.log(
      `latency @ ${l.rate}/s offered (${Math.round(l.achieved)}/s achieved): p50 ${l.p50.toFixed(1)} ms  p95 ${l.p95.toFixed(1)} ms  p99 ${l.p99.toFixed(1)} ms  max ${l.max.toFixed(1)} ms` +
        (l.unobserved ? `  (${l.unobserved} outcomes not seen within 60 s: above capacity)` : ""),
    )
  for (const l of latency)
    for (const st of l.stages ?? [])
      console.log(
        `  stage @ ${l.rate}/s: ${st.stage.padEnd(15)} p50 ${st.p50.toFixed(1).padStart(7)} ms  p99 ${st.p99.toFixed(1).padStart(7)} ms`,
      )
  for (const m of memory) console.log(`memory: ${m.scenario}: peak RSS ${Math.round(m.peakRssMb)} MB`)
  for (const l of lifecycle)
    console.log(
      `lifecycle: ${l.orders} orders reserved at ${Math.round(l.reservedPerSecond)}/s (from service start); ${l.fulfilments} fulfilments + ${l.cancellations} cancellations settled at ${Math.round(l.settledPerSecond)}/s; ${l.expiries} expiries, the last released ${l.maxExpiryLagSeconds.toFixed(1)} s after falling due; peak RSS ${Math.round(l.peakRssMb)} MB; invariants ${l.invariants}`,
    )
  for (const [k, v] of Object.entries(ratios)) console.log(`${k}: ${v.toFixed(2)}`)
}
