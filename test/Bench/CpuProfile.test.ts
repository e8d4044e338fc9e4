import { execFileSync } from "node:child_process"
import { mkdtempSync, readdirSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "vitest"
import { bucketOf, cpuProfileFlags, summarizeCpuProfile } from "../../bench/lib/CpuProfile.js"

// A process that spends its time in one named function for about 300 ms, then exits.
const spinner = `
function spinInOwnCode(ms) { const end = Date.now() + ms; let x = 0; while (Date.now() < end) x += Math.sqrt(x + 1); return x }
spinInOwnCode(300)
`

describe("CPU profile buckets", () => {
  it("counts a process's busy time in the function that spent it", () => {
    const dir = mkdtempSync(join(tmpdir(), "cpu-"))
    execFileSync(process.execPath, [...cpuProfileFlags(dir, "spin.cpuprofile"), "-e", spinner])
    expect(readdirSync(dir)).toEqual(["spin.cpuprofile"])
    const summary = summarizeCpuProfile(join(dir, "spin.cpuprofile"), 5)
    expect(summary.busyMs).toBeGreaterThan(250)
    const top = summary.functions[0]!
    expect(top.name).toContain("spinInOwnCode")
    expect(top.ms).toBeGreaterThan(200)
  })

  it("puts frames in the bucket of the code they run", () => {
    const frame = (url: string, functionName = "f") => ({ url, functionName, lineNumber: 0 })
    expect(bucketOf(frame("", "(garbage collector)"))).toBe("GC")
    expect(bucketOf(frame("", "(idle)"))).toBe("idle")
    expect(bucketOf(frame("file:///app/node_modules/effect/dist/esm/internal/fiberRuntime.js"))).toBe("Effect runtime")
    expect(bucketOf(frame("file:///app/node_modules/@effect/sql-pg/dist/esm/PgClient.js"))).toBe("@effect/sql-pg")
    expect(bucketOf(frame("file:///app/node_modules/kafkajs/src/consumer/batch.js"))).toBe("kafkajs")
    expect(bucketOf(frame("file:///app/node_modules/pg-protocol/dist/parser.js"))).toBe("pg")
    expect(bucketOf(frame("file:///app/dist/Engine/ProductActor.js"))).toBe("own: Engine")
    expect(bucketOf(frame("node:internal/streams/readable"))).toBe("Node internals")
  })
})
