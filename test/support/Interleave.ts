import { Effect, FastCheck as fc, Runtime } from "effect"
import type { OrderId, ProductId } from "../../src/Domain/Ids.js"
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
    /** at a location (default: `default`) */
    readonly adjustments: ReadonlyArray<{ readonly product: number; readonly quantity: number; readonly at?: string }>
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
              .adjust({
                productId: options.product(a.product),
                locationId: a.at,
                quantity: a.quantity,
                adjustmentType: "correction",
              })
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

/** What happens to an order after it is created, in a lifecycle scenario. */
export type LifecycleStep = "fulfil" | "fulfil-part" | "cancel" | "extend" | "expire"

/** Up to `maxOrders` random orders on three products: lines, deliveries of the creation, then steps. */
export const lifecycleOrders = (maxOrders: number) =>
  fc.array(
    fc.record({
      lines: fc.array(fc.record({ product: fc.constantFrom(0, 1, 2), quantity: fc.integer({ min: 1, max: 4 }) }), {
        minLength: 1,
        maxLength: 3,
      }),
      deliveries: fc.integer({ min: 1, max: 2 }),
      steps: fc.array(fc.constantFrom<LifecycleStep>("fulfil", "fulfil-part", "cancel", "extend", "expire"), {
        maxLength: 3,
      }),
    }),
    { minLength: 1, maxLength: maxOrders },
  )

/**
 * The messages of random order lifecycles: each order created (perhaps twice), then its steps;
 * an expiry is an extension into the past followed by the sweeper's message.
 */
export const lifecycleMessages = (
  orders: ReadonlyArray<{
    readonly lines: ReadonlyArray<{ readonly product: number; readonly quantity: number }>
    readonly deliveries: number
    readonly steps: ReadonlyArray<LifecycleStep>
  }>,
  orderId: (n: number) => OrderId,
  product: (index: number) => ProductId,
): Array<EngineMessage> => {
  const messages: Array<EngineMessage> = []
  orders.forEach((o, n) => {
    const order_id = orderId(n)
    const items = o.lines.map((l) => ({ product_id: product(l.product), quantity: l.quantity as never }))
    for (let d = 0; d < o.deliveries; d++)
      messages.push({ _tag: "Created", order: { order_id, items: items as never } })
    o.steps.forEach((kind, k) => {
      const answer = () => {}
      if (kind === "fulfil") messages.push({ _tag: "Fulfilled", order: { order_id, fulfillment_id: `f${k % 2}` } })
      if (kind === "fulfil-part")
        messages.push({
          _tag: "Fulfilled",
          order: { order_id, fulfillment_id: `f${k % 2}`, items: [{ ...items[0]!, quantity: 1 as never }] as never },
        })
      if (kind === "cancel") messages.push({ _tag: "Cancelled", order: { order_id } })
      if (kind === "extend")
        messages.push({ _tag: "Extend", order: { order_id }, expiresAt: Date.now() + 3_600_000, answer })
      if (kind === "expire") {
        messages.push({ _tag: "Extend", order: { order_id }, expiresAt: Date.now() - 1, answer })
        messages.push({ _tag: "Expire", order: { order_id } })
      }
    })
  })
  return messages
}
