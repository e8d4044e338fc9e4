import { Effect, FastCheck as fc, Runtime } from "effect"
import type { ProductId } from "../../src/Domain/Ids.js"
import { Engine } from "../../src/Engine/Engine.js"
import type { EngineMessage } from "../../src/Engine/OrderHandling.js"

/**
 * Shuffles `messages` deterministically from `seed` (any interleaving of an order's messages), cuts
 * them into `chunks` decided concurrently, and runs `adjustments` at the same time. Returns how much
 * on hand each product index was adjusted by (refused adjustments count nothing).
 */
export const runInterleaved = (
  messages: Array<EngineMessage>,
  options: {
    readonly seed: number
    readonly chunks: number
    readonly adjustments: ReadonlyArray<{ readonly product: number; readonly quantity: number }>
    readonly product: (index: number) => ProductId
  },
) =>
  Effect.gen(function* () {
    const engine = yield* Engine
    let x = options.seed >>> 0 || 1
    for (let i = messages.length - 1; i > 0; i--) {
      x = (x * 1103515245 + 12345) >>> 0
      const j = x % (i + 1)
      ;[messages[i], messages[j]] = [messages[j]!, messages[i]!]
    }
    const size = Math.ceil(messages.length / options.chunks)
    const chunks = Array.from({ length: options.chunks }, (_, i) => messages.slice(i * size, (i + 1) * size))
    const adjusted = [0, 0, 0]
    yield* Effect.all(
      [
        Effect.forEach(chunks, (chunk) => engine.process(chunk), { concurrency: "unbounded", discard: true }),
        Effect.forEach(
          options.adjustments,
          (a) =>
            engine
              .adjust({ productId: options.product(a.product), quantity: a.quantity, adjustmentType: "correction" })
              .pipe(
                Effect.tap(() =>
                  Effect.sync(() => {
                    adjusted[a.product]! += a.quantity
                  }),
                ),
                Effect.ignore,
              ),
          { concurrency: "unbounded", discard: true },
        ),
      ],
      { concurrency: "unbounded" },
    )
    return adjusted
  })

/** Checks `property` on `runs` scenarios drawn from `arbitrary`, in the test's own runtime (engine, database). */
export const assertScenarios = <T, E, R>(
  arbitrary: fc.Arbitrary<T>,
  property: (scenario: T) => Effect.Effect<void, E, R>,
  runs: number,
) =>
  Effect.flatMap(Effect.runtime<R>(), (runtime) =>
    Effect.promise(() =>
      fc.assert(
        fc.asyncProperty(arbitrary, (s) => Runtime.runPromise(runtime)(property(s))),
        { numRuns: runs, endOnFailure: true },
      ),
    ),
  )
