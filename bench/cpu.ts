// Where a CPU profile's time went: `npm run bench:cpu -- <file.cpuprofile> [--orders N] [--top N]`.
// Buckets (Effect runtime, GC, own code by folder, kafkajs, pg, Node) and the busiest functions.
import { parseArgs } from "node:util"
import { printCpuSummary, summarizeCpuProfile } from "./lib/CpuProfile.js"

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { orders: { type: "string" }, top: { type: "string", default: "20" } },
})
const file = positionals[0]
if (file === undefined) throw new Error("usage: npm run bench:cpu -- <file.cpuprofile> [--orders N] [--top N]")
printCpuSummary(
  file,
  summarizeCpuProfile(file, Number(values.top)),
  values.orders === undefined ? undefined : Number(values.orders),
)
