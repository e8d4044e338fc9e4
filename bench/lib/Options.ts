// The bench's command line (see the README's "Benchmark" section) and what follows from it.
import { parseArgs } from "node:util"
import { type CompressionName, compressionTypes } from "../../src/Kafka/Codecs.js"
import type { Distribution } from "./Workload.js"

// Read once, when the bench starts.
export const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    orders: { type: "string" },
    products: { type: "string" },
    lines: { type: "string", default: "5" },
    dist: { type: "string" },
    systems: { type: "string", default: "service,ceiling,original,rawpipe" },
    rates: { type: "string" },
    "rate-seconds": { type: "string" },
    memory: { type: "boolean", default: false },
    runs: { type: "string", default: "1" },
    "original-seconds": { type: "string", default: "30" },
    "input-compression": { type: "string", default: "none" },
    lifecycle: { type: "string", default: "true" },
    "heap-snapshot": { type: "boolean", default: false },
    "cpu-prof": { type: "boolean", default: false },
    locations: { type: "string", default: "1" },
    strategies: { type: "string", default: "single_first,priority" },
  },
})
export const INPUT_COMPRESSION = values["input-compression"] as CompressionName
if (!(INPUT_COMPRESSION in compressionTypes)) {
  throw new Error(`--input-compression must be one of ${Object.keys(compressionTypes).join(", ")}`)
}
export const quick = values.quick
/** `--locations N` (N > 1): the service also runs uniform with every product's stock spread over N locations */
export const LOCATIONS = Number(values.locations)
/** the allocation strategies those runs use, one run each */
export const STRATEGIES = values.strategies.split(",").filter(Boolean)
if (!Number.isInteger(LOCATIONS) || LOCATIONS < 1) throw new Error("--locations must be a whole number, 1 or more")
for (const s of STRATEGIES)
  if (s !== "single_first" && s !== "priority") throw new Error(`--strategies: unknown strategy ${s}`)
export const ORDERS = Number(values.orders ?? (quick ? 20000 : 200000))
export const PRODUCTS = Number(values.products ?? (quick ? 10000 : 100000))
export const LINES = Number(values.lines)
export const DISTS = (values.dist ?? (quick ? "uniform,hot" : "uniform,hot,zipf"))
  .split(",")
  .filter(Boolean) as Array<Distribution>
export const SYSTEMS = values.systems.split(",")
export const RATES = (values.rates ?? (quick ? "1000,5000" : "1000,5000,10000")).split(",").filter(Boolean).map(Number)
export const RATE_SECONDS = Number(values["rate-seconds"] ?? (quick ? 10 : 30))
export const WARMUP_SECONDS = quick ? 3 : 5
// the raw pipe is so fast that the service's order count would time a fraction of a second
export const RAWPIPE_ORDERS = Math.max(ORDERS, quick ? 600_000 : 1_000_000)
export const RUNS = Number(values.runs)
/** where the service's heap snapshots go (`--heap-snapshot`: one after each of its throughput runs) */
export const HEAP_DIR = values["heap-snapshot"] ? "bench/results/heap" : undefined
/** where the service's CPU profiles go (`--cpu-prof`: one per throughput run, written when it stops) */
export const CPU_DIR = values["cpu-prof"] ? "bench/results/cpu" : undefined
export const scripts: Record<string, string> = {
  service: "dist/main.js",
  ceiling: "bench/ceiling/main.ts",
  original: "bench/original/main.ts",
  rawpipe: "bench/rawpipe/main.ts",
}
export const budgetSeconds: Record<string, number> = {
  service: 600,
  ceiling: 600,
  original: Number(values["original-seconds"]),
  rawpipe: 300,
}
