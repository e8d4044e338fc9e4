import { Effect, Fiber } from "effect"
import { describe, expect, it } from "vitest"
import * as Pending from "../../src/Engine/Pending.js"

describe("Pending", () => {
  it("answers every waiter once, and forgets a waiter that was interrupted", async () => {
    const pending = Pending.make<number>()
    const result = await Effect.runPromise(
      Effect.gen(function* () {
        const gone = yield* Effect.fork(Pending.wait(pending))
        const stays = yield* Effect.fork(Pending.wait(pending))
        yield* Effect.yieldNow()
        expect(pending.waiters).toHaveLength(2)
        yield* Fiber.interrupt(gone)
        expect(pending.waiters).toHaveLength(1)
        Pending.succeed(pending, 7)
        Pending.succeed(pending, 8) // a second answer is ignored
        return [yield* Fiber.join(stays), yield* Pending.wait(pending)]
      }),
    )
    expect(result).toEqual([7, 7])
  })
})
