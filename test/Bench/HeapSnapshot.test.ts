import { execFileSync } from "node:child_process"
import { mkdtempSync, readdirSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { readHeapSnapshot, summarize } from "../../bench/lib/HeapSnapshot.js"

// A process that holds a known structure: a Shelf whose Map holds 20,000 Items, each with its own
// array of 100 numbers (about 800 bytes of elements), and nothing else of that size.
const holder = `
class Item { constructor(i) { this.id = i; this.values = Array.from({ length: 100 }, (_, k) => k + i + 0.5) } }
class Shelf { constructor() { this.items = new Map() } }
globalThis.shelf = new Shelf()
for (let i = 0; i < 20000; i++) globalThis.shelf.items.set("p" + i, new Item(i))
require("node:v8").writeHeapSnapshot(process.argv[1])
`

describe("heap snapshot summary", () => {
  it("attributes what a structure holds to its constructor and to the object that retains it", () => {
    const dir = mkdtempSync(join(tmpdir(), "heap-"))
    const file = join(dir, "held.heapsnapshot")
    execFileSync(process.execPath, ["-e", holder, file])
    expect(readdirSync(dir)).toEqual(["held.heapsnapshot"])
    const summary = summarize(readHeapSnapshot(file), 10)
    const byName = new Map(summary.classes.map((c) => [c.name, c]))
    const item = byName.get("Item")!
    expect(item.count).toBe(20_000)
    // each Item retains its own array of 100 doubles: at least 800 bytes of elements
    expect(item.retainedBytes).toBeGreaterThan(20_000 * 800)
    // the Shelf retains every Item, so it is the largest single object and retains at least as much
    expect(byName.get("Shelf")!.retainedBytes).toBeGreaterThanOrEqual(item.retainedBytes)
    expect(summary.largest[0]!.name).toBe("Shelf")
    expect(summary.totalBytes).toBeGreaterThan(byName.get("Shelf")!.retainedBytes)
  })
})
