// Where a heap snapshot's memory is: `npm run bench:heap -- <file.heapsnapshot> [--products N] [--top N]`.
// Prints the constructors that retain the most and the single objects that do, in MB and, given
// the number of products the service held, in bytes per product.
import { parseArgs } from "node:util"
import { printHeapSummary } from "./lib/HeapReport.js"
import { readHeapSnapshot, summarize } from "./lib/HeapSnapshot.js"

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { products: { type: "string" }, top: { type: "string", default: "25" } },
})
const file = positionals[0]
if (file === undefined) throw new Error("usage: npm run bench:heap -- <file.heapsnapshot> [--products N] [--top N]")
printHeapSummary(
  file,
  summarize(readHeapSnapshot(file), Number(values.top)),
  values.products === undefined ? undefined : Number(values.products),
)
