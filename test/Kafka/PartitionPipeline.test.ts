import { setFlagsFromString } from "node:v8"
import { runInNewContext } from "node:vm"
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import type { OrderId } from "../../src/Domain/Ids.js"
import type { OrderMessage } from "../../src/Domain/Orders.js"
import type { DecidedChunk } from "../../src/Engine/Engine.js"
import { StaleGeneration } from "../../src/Engine/Errors.js"
import * as Pending from "../../src/Engine/Pending.js"
import { partitionPipeline } from "../../src/Kafka/PartitionPipeline.js"
import { makeSignal } from "../../src/Kafka/Signal.js"
import { makeUndurableBudget } from "../../src/Kafka/UndurableBudget.js"

// The pipeline between one partition's chunks and the engine, with an engine whose commits the
// test completes by hand: offsets are acknowledged in order and only once durable.

const chunk = (n: number, from = 0): Array<OrderMessage> =>
  Array.from({ length: n }, (_, i) => ({
    _tag: "Cancelled",
    order: { order_id: `o${from + i}` as OrderId },
  }))

const harness = (limit: number, budget = makeUndurableBudget(limit)) => {
  const commits: Array<Pending.Pending<void, StaleGeneration>> = []
  const acknowledged: Array<string> = []
  const processed: Array<number> = []
  const stoppedAt: Array<string> = []
  let generation = 1
  const pipeline = partitionPipeline({
    budget,
    run: Effect.runPromise,
    decide: (_messages, expected) =>
      Effect.suspend(() => {
        if (expected !== undefined && expected !== generation) return Effect.fail(new StaleGeneration())
        const done = Pending.make<void, StaleGeneration>()
        commits.push(done)
        return Effect.succeed({ generation, durable: Pending.wait(done) } satisfies DecidedChunk)
      }),
    process: (messages) =>
      Effect.sync(() => {
        processed.push(messages.length)
      }),
    acknowledge: async (offset) => {
      acknowledged.push(offset)
    },
    stopped: (from) => {
      stoppedAt.push(from)
    },
  })
  const tick = () => new Promise((resolve) => setTimeout(resolve, 5))
  return { pipeline, budget, commits, acknowledged, processed, stoppedAt, tick, newGeneration: () => generation++ }
}

describe("partition pipeline", () => {
  it("acknowledges in order, each offset only once its chunk and every one before it is durable", async () => {
    const { pipeline, commits, acknowledged, tick } = harness(100)
    await pipeline.push(chunk(10), "9")
    await pipeline.push(chunk(10, 10), "19")
    await pipeline.push(chunk(10, 20), "29")
    expect(commits).toHaveLength(3)
    Pending.succeed(commits[1]!, undefined) // the second is durable before the first
    await tick()
    expect(acknowledged).toEqual([])
    Pending.succeed(commits[0]!, undefined)
    await tick()
    expect(acknowledged).toEqual(["9", "19"])
    Pending.succeed(commits[2]!, undefined)
    await pipeline.drain()
    expect(acknowledged).toEqual(["9", "19", "29"])
  })

  it("small chunks do not wait for a commit; a chunk beyond the budget waits to be decided until orders are durable", async () => {
    const { pipeline, budget, commits, tick } = harness(100)
    for (let i = 0; i < 5; i++) await pipeline.push(chunk(10, i * 10), String(i * 10 + 9)) // 50 undurable: no wait
    let returned = false
    const big = pipeline.push(chunk(100, 50), "149").then(() => {
      returned = true
    })
    await tick()
    expect(returned).toBe(false) // 150 undurable > 100
    expect(commits).toHaveLength(5) // not decided yet: its orders wait in Kafka, not in memory
    expect(budget.used()).toBe(50)
    for (const c of commits.slice(0, 5)) Pending.succeed(c, undefined)
    await big
    expect(returned).toBe(true)
    expect(commits).toHaveLength(6)
    expect(budget.used()).toBe(100)
  })

  it("the budget is the instance's: one partition's undurable orders hold back another's next chunk", async () => {
    const budget = makeUndurableBudget(100)
    const first = harness(100, budget)
    const second = harness(100, budget)
    await first.pipeline.push(chunk(80), "79")
    let returned = false
    const waiting = second.pipeline.push(chunk(40, 80), "39").then(() => {
      returned = true
    })
    await first.tick()
    expect(returned).toBe(false) // 120 > 100
    Pending.succeed(first.commits[0]!, undefined)
    await waiting
    expect(second.commits).toHaveLength(1)
    Pending.succeed(second.commits[0]!, undefined)
    await first.pipeline.drain()
    await second.pipeline.drain()
    expect(budget.used()).toBe(0)
  })

  it("a chunk whose deciding dies gives its room in the budget back", async () => {
    const budget = makeUndurableBudget(100)
    const pipeline = partitionPipeline({
      budget,
      run: Effect.runPromise,
      decide: () => Effect.die(new Error("a bug")),
      process: () => Effect.void,
      acknowledge: async () => {},
      stopped: () => {},
    })
    await expect(pipeline.push(chunk(60), "59")).rejects.toThrow("a bug")
    expect(budget.used()).toBe(0)
  })

  it("a push waiting for room returns when told to stop waiting (a rebalance); its chunk settles in order", async () => {
    const { pipeline, commits, acknowledged, tick } = harness(100)
    await pipeline.push(chunk(60), "59")
    const rebalancing = makeSignal()
    let returned = false
    const big = pipeline.push(chunk(100, 60), "159", rebalancing).then(() => {
      returned = true
    })
    await tick()
    expect(returned).toBe(false) // 160 undurable > 100
    rebalancing.fire()
    await big
    expect(acknowledged).toEqual([]) // returned with both chunks still in flight
    Pending.succeed(commits[1]!, undefined)
    Pending.succeed(commits[0]!, undefined)
    await pipeline.drain()
    expect(acknowledged).toEqual(["59", "159"])
    expect(rebalancing.listening()).toBe(0)
  })

  it("a push leaves nothing behind on a rebalance signal that never fires: its chunk can be collected", async () => {
    setFlagsFromString("--expose-gc")
    const gc = runInNewContext("gc") as () => void
    const { pipeline, commits, tick } = harness(100)
    const rebalancing = makeSignal()
    const pushed: Array<WeakRef<object>> = []
    for (let i = 0; i < 20; i++) {
      const messages = chunk(60, i * 60)
      pushed.push(new WeakRef(messages))
      const returned = pipeline.push(messages, String(i * 60 + 59), rebalancing)
      await tick()
      Pending.succeed(commits[i]!, undefined) // durable: the push returns (it waited for room from the second on)
      await returned
    }
    await pipeline.drain()
    await tick()
    gc()
    // every chunk is gone (the pipeline may still hold its last): nothing holds the pushes' closures
    expect(pushed.filter((ref) => ref.deref() !== undefined).length).toBeLessThanOrEqual(1)
    expect(rebalancing.listening()).toBe(0)
  })

  it("a chunk whose generation was discarded is processed again, in order, before it is acknowledged", async () => {
    const { pipeline, commits, acknowledged, processed, newGeneration } = harness(100)
    await pipeline.push(chunk(10), "9")
    newGeneration() // the next push cannot join the chunk in flight: it waits for it, then is processed
    Pending.fail(commits[0]!, new StaleGeneration())
    await pipeline.push(chunk(7, 10), "16")
    expect(processed).toEqual([10, 7])
    expect(acknowledged).toEqual(["9", "16"])
  })

  it("an offset commit that does not answer holds back no chunk; then only the newest durable offset is sent", async () => {
    const acknowledged: Array<string> = []
    let answer = () => {}
    const pipeline = partitionPipeline({
      budget: makeUndurableBudget(100),
      run: Effect.runPromise,
      decide: () => Effect.succeed({ generation: 1, durable: Effect.void } satisfies DecidedChunk),
      process: () => Effect.void,
      acknowledge: (offset) => {
        acknowledged.push(offset)
        return new Promise<void>((resolve) => {
          answer = resolve
        })
      },
      stopped: () => {},
    })
    for (let i = 0; i < 20; i++) await pipeline.push(chunk(10, i * 10), String(i * 10 + 9))
    await new Promise((resolve) => setTimeout(resolve, 5))
    expect(pipeline.backlog()).toMatchObject({ chunks: 0, orders: 0 }) // all durable, the first commit unanswered
    expect(pipeline.backlog().acknowledgingMs).toBeGreaterThanOrEqual(0)
    expect(acknowledged).toEqual(["9"])
    let drained = false
    const drain = pipeline.drain().then(() => {
      drained = true
    })
    await new Promise((resolve) => setTimeout(resolve, 5))
    expect(drained).toBe(false) // a drain waits for the offsets too
    answer()
    await new Promise((resolve) => setTimeout(resolve, 5))
    expect(acknowledged).toEqual(["9", "199"])
    answer()
    await drain
    expect(acknowledged).toEqual(["9", "199"])
  })

  it("a defect while settling stops the acknowledgements and surfaces at the next push", async () => {
    const { pipeline, commits, acknowledged, stoppedAt, tick } = harness(100)
    await pipeline.push(chunk(10, 100), "109")
    await pipeline.push(chunk(10, 110), "119")
    Pending.complete(commits[0]!, Effect.die(new Error("a bug")))
    Pending.succeed(commits[1]!, undefined)
    await tick()
    expect(acknowledged).toEqual([]) // nothing past the chunk that failed
    expect(stoppedAt).toEqual(["100"]) // the partition is read again from the failed chunk, once
    await expect(pipeline.push(chunk(10, 120), "129")).rejects.toThrow("a bug")
    await expect(pipeline.drain()).rejects.toThrow("a bug")
  })
})
