import { describe, expect, it } from "vitest"
import { sampledStage, stageBudget } from "../../bench/lib/LatencyBudget.js"

const buckets = (counts: ReadonlyArray<[number, number]>) => counts.map(([le, count]) => ({ le, count }))

describe("latency budget", () => {
  it("reads a stage's quantiles from the window between two scrapes, inside the bucket they fall in", () => {
    // before: 100 samples all under 1 ms; after: 100 more, all between 10 and 20 ms
    const before = new Map([
      [
        "commit",
        buckets([
          [0.001, 100],
          [0.01, 100],
          [0.02, 100],
          [Infinity, 100],
        ]),
      ],
    ])
    const after = new Map([
      [
        "commit",
        buckets([
          [0.001, 100],
          [0.01, 100],
          [0.02, 200],
          [Infinity, 200],
        ]),
      ],
    ])
    const [commit] = stageBudget(before, after, ["fetch", "commit"])
    expect(commit!.stage).toBe("commit")
    expect(commit!.samples).toBe(100)
    expect(commit!.p50).toBeCloseTo(15, 5)
    expect(commit!.p99).toBeCloseTo(19.9, 5)
  })

  it("skips stages the service never reported and takes raw samples as they are", () => {
    expect(stageBudget(new Map(), new Map(), ["fetch"])).toEqual([])
    const observer = sampledStage("observer", [5, 1, 3, 2, 4])
    expect(observer).toEqual({ stage: "observer", samples: 5, p50: 3, p99: 5 })
  })
})
