import { Effect, Scope } from "effect"
import { describe, expect, it } from "vitest"
import type { ProductId } from "../../src/Domain/Ids.js"
import * as Stock from "../../src/Domain/Stock.js"
import { makeCommitter } from "../../src/Engine/Committer.js"
import { decision, ledgerOf, writeOf } from "../../src/Engine/Decision.js"
import { Generation } from "../../src/Engine/Generation.js"
import * as Pending from "../../src/Engine/Pending.js"
import * as ProductActor from "../../src/Engine/ProductActor.js"
import type { CommitBatch, StockStore } from "../../src/Store/StockStore.js"

// Found by the soak: a move's before/after is what memory held when it was applied, which can
// include the hold of a saga later undone (it writes no ledger row), and sagas complete out of
// order. The committer writes each product's ledger rows in the order their moves were applied,
// rebased on what the row holds once earlier commits have landed, so the ledger replays.

const run = <A>(effect: Effect.Effect<A, unknown>) => Effect.runPromise(effect)

/** Applies a command to the cell with the actor's own code; the move it answers, or the failure. */
const applied = (
  cell: ProductActor.ProductCell,
  command: (reply: ProductActor.Reply<ProductActor.Move, unknown>) => ProductActor.Command,
) => {
  let answer: Effect.Effect<ProductActor.Move, unknown> | undefined
  ProductActor.apply(
    cell,
    command((result) => {
      answer = result
    }),
    false,
  )
  return run(answer!)
}
const reserve = (cell: ProductActor.ProductCell, quantity: number) =>
  applied(cell, (reply) => ({ _tag: "Reserve", quantity, reply: reply as never }))
const undo = (cell: ProductActor.ProductCell, quantity: number) =>
  applied(cell, (reply) => ({ _tag: "Release", quantity, compensation: true, reply: reply as never }))

const harness = async () => {
  const batches: Array<CommitBatch> = []
  const store = {
    commit: (batch: CommitBatch) =>
      Effect.sync(() => {
        batches.push(batch)
        return new Map(batch.products.map((p) => [p.productId, p.expectedVersion + 1]))
      }).pipe(Effect.delay("20 millis")),
  } as unknown as StockStore
  // the committer's fiber lives as long as this scope, which the test leaves open
  const committer = await run(
    Effect.flatMap(Scope.make(), (scope) =>
      Scope.extend(makeCommitter({ store, batchSize: 100, discard: () => {}, committed: () => {} }), scope),
    ),
  )
  const generation = new Generation(1, { loadStock: () => Effect.succeed([]), mailboxCapacity: 8, fork: () => {} })
  const cell = ProductActor.cellFromRow("P" as ProductId, {
    productId: "P" as ProductId,
    ...Stock.stockOf(10),
    threshold: 0,
    location: null,
    version: 1,
    safetyStock: 0,
  })
  const commit = async (moves: ReadonlyArray<ProductActor.Move>) => {
    // behind a decision being committed, so that the committer takes them as one batch
    const ahead = await run(committer.submit(generation, decision({})))
    const done = await run(
      Effect.forEach(moves, (m) =>
        committer.submit(generation, decision({ writes: [writeOf(m)], ledger: [ledgerOf(m, "reserve", 1)] })),
      ),
    )
    await run(Pending.wait(ahead))
    await Promise.all(done.map((d) => run(Pending.wait(d))))
  }
  const chain = () =>
    batches
      .flatMap((b) => b.ledger)
      .map((r) => `${r.before.available}/${r.before.reserved}→${r.after.available}/${r.after.reserved}`)
  return { cell, commit, chain }
}

describe("committer ledger", () => {
  it("writes a product's ledger rows in the order their moves were applied, not the order sagas completed", async () => {
    const { cell, commit, chain } = await harness()
    const first = await reserve(cell, 2)
    const second = await reserve(cell, 3)
    await commit([second, first]) // the second saga completed first
    expect(chain()).toEqual(["10/0→8/2", "8/2→5/5"])
  }, 10_000)

  it("leaves out the hold of a saga undone meanwhile, and starts the next commit where the last one ended", async () => {
    const { cell, commit, chain } = await harness()
    await reserve(cell, 2) // a saga's hold, undone below: no ledger row
    const kept = await reserve(cell, 3) // applied while that hold was in memory: 8/2→5/5
    await undo(cell, 2)
    await commit([kept])
    await commit([await reserve(cell, 1)])
    expect(chain()).toEqual(["10/0→7/3", "7/3→6/4"])
  }, 10_000)
})
