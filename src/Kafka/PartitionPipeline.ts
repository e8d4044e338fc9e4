import { Effect, Either } from "effect"
import type { OrderMessage } from "../Domain/Orders.js"
import type { DecidedChunk } from "../Engine/Engine.js"

/**
 * How many orders of one partition may be decided and not yet durable before the consumer waits
 * (beyond the chunk being pushed): one full chunk, so big batches pipeline two chunks deep, while
 * a trickle of small chunks never waits for a commit before the next fetch.
 */
export const maxUndurable = (chunkSize: number) => chunkSize

export interface PipelineDeps {
  readonly chunkSize: number
  readonly run: <A, E>(effect: Effect.Effect<A, E>) => Promise<A>
  /** decides a chunk in memory, only in generation `expected` when given */
  readonly decide: (messages: ReadonlyArray<OrderMessage>, expected?: number) => Effect.Effect<DecidedChunk, unknown>
  /**
   * decides a chunk and waits until it is durable, deciding again until it is; fails only when the
   * partition is no longer this instance's (then nothing after it is acknowledged either)
   */
  readonly process: (messages: ReadonlyArray<OrderMessage>) => Effect.Effect<void, unknown>
  /** the chunk ending at this offset is durable: commit the offset after it (never throws) */
  readonly acknowledge: (lastOffset: string) => Promise<void>
}

/**
 * One partition's chunks, pipelined: the next chunk is decided while the ones before it are being
 * committed, so JavaScript and PostgreSQL work at the same time instead of taking turns. The
 * pipeline outlives a Kafka fetch: the consumer returns to fetch more while the last chunks of
 * the previous fetch are still being committed.
 *
 * Offsets are acknowledged in order and only once durable: each chunk settles on a chain after
 * the one before it. All chunks in flight were decided in one generation; when a chunk turns out
 * not durable (that generation was discarded after a failed commit), it is decided again, and so
 * is every chunk after it (they were decided in the same discarded generation), in order.
 */
export const partitionPipeline = (deps: PipelineDeps) => {
  /** settles after the newest chunk pushed is durable and acknowledged */
  let chain: Promise<void> = Promise.resolve()
  /** chunks pushed and not yet settled, oldest first */
  const inflight: Array<{
    readonly generation: number
    readonly size: number
    readonly settled: Promise<void>
    readonly since: number
  }> = []
  const cap = maxUndurable(deps.chunkSize)
  const undurable = () => inflight.reduce((n, chunk) => n + chunk.size, 0)

  /**
   * A defect while settling (a bug, not a failed commit: those are decided again) stops the
   * pipeline: no later offset is acknowledged past the chunk that failed, and the next push or
   * drain throws it, so the consumer crashes and starts again from the last committed offset.
   */
  let failure: { readonly cause: unknown } | undefined
  const rethrow = () => {
    if (failure !== undefined) throw failure.cause
  }

  const enqueue = (settle: () => Promise<void>, generation: number, size: number) => {
    const settled = chain
      .then(() => (failure === undefined ? settle() : undefined))
      .catch((cause: unknown) => {
        failure ??= { cause }
      })
    chain = settled
    const entry = { generation, size, settled, since: Date.now() }
    inflight.push(entry)
    void settled.then(() => {
      inflight.splice(inflight.indexOf(entry), 1)
    })
    return settled
  }

  /** Decides the chunk and returns once the orders not yet durable are within the cap. */
  const push = async (messages: ReadonlyArray<OrderMessage>, lastOffset: string) => {
    rethrow()
    const decided = await deps.run(Effect.either(deps.decide(messages, inflight[0]?.generation)))
    if (Either.isLeft(decided)) {
      // the generation changed (or the database failed): everything before this chunk first, in order
      await enqueue(
        async () => {
          await deps.run(deps.process(messages))
          await deps.acknowledge(lastOffset)
        },
        -1,
        messages.length,
      )
      rethrow()
      return
    }
    const { durable, generation } = decided.right
    enqueue(
      async () => {
        if (Either.isLeft(await deps.run(Effect.either(durable)))) await deps.run(deps.process(messages))
        await deps.acknowledge(lastOffset)
      },
      generation,
      messages.length,
    )
    while (inflight.length > 1 && undurable() > cap) await inflight[0]!.settled
    rethrow()
  }

  /** Returns once every chunk pushed is durable and acknowledged. */
  const drain = () => chain.then(rethrow)

  /** The chunks not yet durable and acknowledged: how many, their orders, how long the oldest has waited. */
  const backlog = () => ({
    chunks: inflight.length,
    orders: undurable(),
    oldestMs: inflight.length === 0 ? 0 : Date.now() - inflight[0]!.since,
  })

  return { push, drain, backlog } as const
}
