// Taking a heap snapshot of the service under the bench, and printing where its memory is.
import { mkdirSync, readdirSync, renameSync } from "node:fs"
import { join } from "node:path"
import { type HeapSummary, readHeapSnapshot, summarize } from "./HeapSnapshot.js"

/** The node flags that let `takeHeapSnapshot` ask a process for a snapshot written into `dir`. */
export const heapSnapshotFlags = (dir: string): Array<string> => {
  mkdirSync(dir, { recursive: true })
  return ["--heapsnapshot-signal=SIGUSR2", `--diagnostic-dir=${dir}`]
}

/**
 * Asks a process started with `heapSnapshotFlags(dir)` for a snapshot and waits until it is written
 * (V8 writes it synchronously: the process answers `isAnswering` again once it is done).
 */
export const takeHeapSnapshot = async (
  pid: number,
  dir: string,
  name: string,
  isAnswering: () => Promise<boolean>,
): Promise<string> => {
  const before = new Set(readdirSync(dir))
  process.kill(pid, "SIGUSR2")
  for (;;) {
    await new Promise((r) => setTimeout(r, 500))
    const written = readdirSync(dir).find((f) => !before.has(f) && f.endsWith(".heapsnapshot"))
    if (written !== undefined && (await isAnswering())) {
      const path = join(dir, name)
      renameSync(join(dir, written), path)
      return path
    }
  }
}

/** The constructors and the single objects that retain the most, in MB and, given the products held, bytes per product. */
export const printHeapSummary = (title: string, summary: HeapSummary, products?: number): void => {
  const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1).padStart(8)
  const perProduct = (bytes: number) => (products ? `${Math.round(bytes / products)}`.padStart(9) : "")
  console.log(`${title}: ${mb(summary.totalBytes).trim()} MB reachable`)
  console.log(
    `\nconstructor                                   count   self MB retained MB${products ? "  B/product" : ""}`,
  )
  for (const c of summary.classes) {
    console.log(
      `${c.name.slice(0, 40).padEnd(40)} ${String(c.count).padStart(10)} ${mb(c.selfBytes)} ${mb(c.retainedBytes)}  ${perProduct(c.retainedBytes)}`,
    )
  }
  console.log(`\nobjects retaining the most${products ? "   B/product" : ""}`)
  for (const o of summary.largest) {
    console.log(`${mb(o.retainedBytes)} MB ${perProduct(o.retainedBytes)}  ${o.name.slice(0, 40)}  ← ${o.path}`)
  }
}

/** Takes a snapshot of the running service, keeps it in `dir` as `name`, and prints its summary. */
export const heapReport = async (
  service: { readonly pid: number; readonly port: string },
  dir: string,
  name: string,
  products: number,
): Promise<void> => {
  const isAnswering = () =>
    fetch(`http://127.0.0.1:${service.port}/health`).then(
      (r) => r.ok,
      () => false,
    )
  const path = await takeHeapSnapshot(service.pid, dir, name, isAnswering)
  printHeapSummary(path, summarize(readHeapSnapshot(path)), products)
}
