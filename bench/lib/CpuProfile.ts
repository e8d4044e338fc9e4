// Where a process's CPU went: a V8 .cpuprofile (node --cpu-prof) in buckets (the Effect runtime, GC,
// the service's own code by folder, kafkajs, pg, Node itself) and its busiest functions, by self time.
import { mkdirSync, readFileSync } from "node:fs"

/** The node flags that make a process write its CPU profile to `dir/name` when it exits. */
export const cpuProfileFlags = (dir: string, name: string): Array<string> => {
  mkdirSync(dir, { recursive: true })
  return ["--cpu-prof", `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}`]
}

interface ProfileNode {
  readonly id: number
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
}
interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

/** The bucket a frame's self time counts in. */
export const bucketOf = (frame: ProfileNode["callFrame"]): string => {
  const { url, functionName } = frame
  if (url === "") {
    if (functionName === "(garbage collector)") return "GC"
    if (functionName === "(idle)") return "idle"
    return "V8 and native (program)"
  }
  const own = /\/(?:dist|src)\/([A-Za-z]+)\//.exec(url)
  if (own !== null && !url.includes("node_modules")) return `own: ${own[1]}`
  if (/node_modules\/effect\//.test(url)) return "Effect runtime"
  if (/node_modules\/@effect\//.test(url)) return `@effect/${/@effect\/([^/]+)/.exec(url)?.[1] ?? "?"}`
  if (/node_modules\/kafkajs\//.test(url)) return "kafkajs"
  if (/node_modules\/(pg|pg-[a-z]+|postgres-[a-z]+)\//.test(url)) return "pg"
  if (url.startsWith("node:")) return "Node internals"
  const dep = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)
  return dep ? `other: ${dep[1]}` : "own: (top)"
}

export interface CpuSummary {
  /** total sampled ms, idle excluded */
  readonly busyMs: number
  readonly buckets: ReadonlyArray<{ readonly bucket: string; readonly ms: number }>
  readonly functions: ReadonlyArray<{ readonly name: string; readonly bucket: string; readonly ms: number }>
}

export const summarizeCpuProfile = (file: string, top = 20): CpuSummary => {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile
  const byId = new Map(profile.nodes.map((n) => [n.id, n]))
  const selfUs = new Map<number, number>()
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0))
  })
  const buckets = new Map<string, number>()
  const functions = new Map<string, { name: string; bucket: string; ms: number }>()
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame
    const bucket = bucketOf(frame)
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + us / 1000)
    const name = `${frame.functionName || "(anonymous)"} ${frame.url.replace(/^.*node_modules\//, "").replace(/^.*\/(dist|src)\//, "$1/")}:${frame.lineNumber + 1}`
    const f = functions.get(name) ?? { name, bucket, ms: 0 }
    f.ms += us / 1000
    functions.set(name, f)
  }
  const sorted = [...buckets].map(([bucket, ms]) => ({ bucket, ms })).sort((a, b) => b.ms - a.ms)
  return {
    busyMs: sorted.filter((b) => b.bucket !== "idle").reduce((n, b) => n + b.ms, 0),
    buckets: sorted,
    functions: [...functions.values()]
      .filter((f) => f.bucket !== "idle")
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top),
  }
}

/** The buckets as a share of the busy time and in µs per order, then the busiest functions. */
export const printCpuSummary = (title: string, summary: CpuSummary, orders?: number): void => {
  const perOrder = (ms: number) => (orders ? `${((ms * 1000) / orders).toFixed(1).padStart(8)} µs/order` : "")
  console.log(
    `${title}: ${(summary.busyMs / 1000).toFixed(1)} s busy${orders ? `, ${perOrder(summary.busyMs).trim()}` : ""}`,
  )
  // buckets under half a percent of the busy time are summed into one line
  const small = summary.buckets.filter((b) => b.bucket !== "idle" && b.ms < summary.busyMs / 200)
  const shown = [
    ...summary.buckets.filter((b) => !small.includes(b)),
    ...(small.length > 0
      ? [{ bucket: `${small.length} more (< 0.5 % each)`, ms: small.reduce((n, b) => n + b.ms, 0) }]
      : []),
  ]
  for (const b of shown) {
    const share = b.bucket === "idle" ? "" : `${((100 * b.ms) / summary.busyMs).toFixed(1).padStart(5)} %`
    console.log(
      `  ${b.bucket.padEnd(28)} ${(b.ms / 1000).toFixed(2).padStart(7)} s ${share.padStart(7)} ${perOrder(b.ms)}`,
    )
  }
  console.log("  busiest functions (self time):")
  for (const f of summary.functions)
    console.log(`  ${(f.ms / 1000).toFixed(2).padStart(7)} s  ${f.bucket.padEnd(22)} ${f.name.slice(0, 90)}`)
}
